"""The machine and systemd: paths, writable folders, sd_notify, logging, time zones, the
install of units and the example config, malloc tuning. Imports only ``core``.
"""
