"""The status report and its renderings: text and JSON views, /healthz and /metrics figures,
the calendar feed and the board of next deadlines.
"""
