"""The web face: the WSGI base, the route table, the page handlers, /healthz and /metrics,
the server, socket activation and the bad-token limiter (pages in ``pages/``).
"""
