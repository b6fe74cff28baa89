"""The daemon: its loop and signals, the due index and work, the forked sending worker and
the reload acknowledgement.
"""
