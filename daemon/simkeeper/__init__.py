"""simkeeper: keeps prepaid SIM and eSIM numbers alive with timely reminders."""

__version__ = "0.1.0"
