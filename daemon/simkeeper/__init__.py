"""simkeeper: keeps prepaid SIM and eSIM numbers alive with timely reminders."""

__version__ = "0.8.0"  # the one place; pyproject.toml, --version and the CHANGELOG follow it
