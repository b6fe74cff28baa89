"""``/healthz`` and ``/metrics``: what a monitor asks of the web face.

Both are rendered here from what the application layer computes (:func:`.app.health`,
:func:`.app.metrics`); neither holds a secret or a phone number, so neither needs a token (a
reverse proxy may still keep them to the monitor's address).
"""

from __future__ import annotations

from simkeeper.web.wsgi import Request, Response, Site

TEXT = "text/plain; charset=utf-8"
PROMETHEUS = "text/plain; version=0.0.4; charset=utf-8"


def healthz(site: Site, request: Request) -> Response:
    """``/healthz``: 200 ``ok`` when the last pass is recent and nothing due is unsent; 503
    with the reasons, one a line, otherwise."""
    from simkeeper import app

    if request.method not in ("GET", "HEAD"):
        return site.error(request, 405)
    health = app.health(site.config, site.clock(), site.translator(request), site.board)
    if health.ok:
        return Response(200, b"ok\n", TEXT)
    return Response(503, "".join(f"{r}\n" for r in health.reasons).encode("utf-8"), TEXT)


def metrics(site: Site, request: Request) -> Response:
    """``/metrics``: the Prometheus text format."""
    from simkeeper import app
    from simkeeper.app.inbound import inbound_figures
    from simkeeper.present.probes import exposition

    if request.method not in ("GET", "HEAD"):
        return site.error(request, 405)
    figures = app.metrics(site.config, site.clock(), site.board) + inbound_figures(site.config)
    text = exposition(figures)
    return Response(200, text.encode("utf-8"), PROMETHEUS)
