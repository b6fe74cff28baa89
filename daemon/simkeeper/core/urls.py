"""The one guard every URL passes before it reaches Apprise, the heartbeat or a gateway.

``urllib.parse`` raises ``ValueError`` for some malformed URLs (``json://[::1:9/x``: an
unclosed IPv6 bracket) and only when a part is read for others (a port out of range or not a
number). :func:`split_url` reads every part at once, so a URL that passed it is safe to take
apart anywhere later; config validation turns :func:`url_syntax_problem` into a config error
with the key path and a fix.
"""

from __future__ import annotations

from urllib.parse import SplitResult, urlsplit


class BadUrl(ValueError):
    """A URL that cannot be taken apart; the message says why without quoting it."""


def split_url(url: str) -> SplitResult:
    """``urlsplit(url)`` with its host and port already read: raises :class:`BadUrl`, never
    a bare ``ValueError`` later."""
    try:
        parts = urlsplit(url)
        _ = parts.hostname, parts.port
    except ValueError as e:
        raise BadUrl(_why(str(e))) from None
    return parts


def url_syntax_problem(url: str) -> str | None:
    """Why ``url`` cannot be taken apart, or None when it can."""
    try:
        split_url(url)
    except BadUrl as e:
        return str(e)
    return None


def _why(error: str) -> str:
    """urllib's reason in words that never quote the URL (it may hold a secret)."""
    if "IPv6" in error:
        return "is not a valid URL: a [ or ] without its pair (an IPv6 host is written [::1])"
    if "Port" in error or "port" in error:
        return "is not a valid URL: its port must be a number from 0 to 65535"
    return "is not a valid URL"
