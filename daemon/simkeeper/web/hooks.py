"""``/hooks/NAME/SECRET``: where SMS Gateway for Android posts the texts its SIMs receive.

A thin edge over :func:`simkeeper.app.inbound.webhook`, which checks the address's secret, the
signature and its time and takes the text. A refused post is answered 4xx (never 500) and
counted against the sender's address like a bad link token; the log names the gateway and
the outcome, never the secret, the signature or the text.
"""

from __future__ import annotations

import logging

from simkeeper.web.wsgi import Request, Response, Site

log = logging.getLogger("simkeeper.web")
TEXT = "text/plain; charset=utf-8"
PREFIX = "/hooks/"


def hook(site: Site, request: Request) -> Response:
    """POST of a webhook: 200 with what its text came to, or the 4xx of its refusal."""
    from simkeeper.app.inbound import webhook

    if request.method != "POST":
        return Response(405, b"POST only\n", TEXT, (("Allow", "POST"),))
    now = site.clock()
    path = request.path[len(PREFIX) :]
    hooked = webhook(site.config, path, request.headers, request.body, now)
    name = path.split("/", 1)[0]
    log.info("webhook %s: %s", name if site.config.gateway(name) else "?", hooked.outcome)
    if hooked.status < 400:  # a good post is always taken, so junk cannot lock the phone out
        return Response(hooked.status, f"{hooked.outcome}\n".encode(), TEXT)
    if site.limiter.blocked(request.remote, now):
        return Response(429, b"too many refused requests\n", TEXT)
    site.limiter.bad(request.remote, now)
    return Response(hooked.status, f"{hooked.outcome}\n".encode(), TEXT)
