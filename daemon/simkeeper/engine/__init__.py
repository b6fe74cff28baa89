"""The pure rules: deadlines, due reminders, balance runways. No clock, no I/O: ``now`` is
always a parameter. Imports only ``core``.
"""
