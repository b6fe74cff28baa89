"""The command line: every command a thin layer over :mod:`simkeeper.app`."""
