"""Keeping secrets out of everything simkeeper prints, logs or stores.

Apprise URLs carry passwords, API tokens, custom headers and phone numbers. Apprise's own
``url(privacy=True)`` masks only the parts it knows about, so simkeeper treats every part of a
target URL except its scheme and host as secret, and scrubs those strings from any text.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import parse_qsl, unquote

from simkeeper.core.urls import split_url

MASK = "****"
_MIN_SECRET = 3  # shorter fragments ("to", "1") would garble text without protecting anything
_INLINE_HINTS = re.compile(r"(pass|secret|token|key|auth|pwd)", re.I)
_PHONE = re.compile(r"\+?[\d\s().-]{7,}")


def url_secrets(url: str, substituted: Iterable[str] = ()) -> tuple[str, ...]:
    """The substrings of ``url`` that must never be shown: credentials, path, query values.

    ``substituted`` are the values that came from ``${VAR}`` references; they are secret too.
    """
    found = {v for v in substituted if v}
    try:
        parts = split_url(url)
    except ValueError:
        return tuple(sorted({*found, url}, key=len, reverse=True))
    found.update(_userinfo_secrets(parts.netloc))
    found.update(seg for seg in parts.path.split("/") if seg)
    found.update(_query_secrets(parts.query))
    found.update({unquote(s) for s in found})
    found.update(re.split(r"[,\s]+", " ".join(found)))
    # Plugins print a phone number written with separators (+1-555-555-0123) as bare digits.
    found.update(re.sub(r"\D", "", s) for s in list(found) if _PHONE.fullmatch(s))
    return tuple(sorted((s for s in found if len(s) >= _MIN_SECRET), key=len, reverse=True))


def _userinfo_secrets(netloc: str) -> set[str]:
    """The user, password and whole ``user:password`` of a netloc, if it has any."""
    if "@" not in netloc:
        return set()
    userinfo = netloc.rsplit("@", 1)[0]
    user, _, password = userinfo.partition(":")
    # an account ID beside a token is a credential too
    return {user, password, userinfo}


def _query_secrets(query: str) -> set[str]:
    """The values of a query string that may be secret: every non-empty one, and an empty
    one whose key is a header (``+``/``-``) or hints at a password or token."""
    found: set[str] = set()
    for key, value in parse_qsl(query, keep_blank_values=True):
        if key.startswith(("+", "-")) or _INLINE_HINTS.search(key) or value:
            found.add(value)
    return found


def inline_secret(raw_url: str) -> bool:
    """Whether a URL as written in the config holds a password or token literally."""
    literal = re.sub(r"\$\{[^}]*\}", "", raw_url)
    try:
        parts = split_url(literal)
    except ValueError:
        return True
    if "@" in parts.netloc:
        user, colon, password = parts.netloc.rsplit("@", 1)[0].partition(":")
        if password or (user and not colon):  # a password, or a token as user (ntfy, smseagle)
            return True
    # ntfy's auth=basic|token only names the kind of login
    if any(_INLINE_HINTS.search(k) and v and k != "auth" for k, v in parse_qsl(parts.query)):
        return True
    return any(len(seg) >= 16 and seg.isalnum() for seg in parts.path.split("/"))


def display_url(url: str) -> str:
    """A target URL safe to show: only its scheme and host (``mailtos://smtp.example.com``)."""
    try:
        parts = split_url(url)
        host = parts.hostname or ""
    except ValueError:
        return "<unparseable url>"
    return f"{parts.scheme}://{host}" if parts.scheme else "<url>"


class Redactor:
    """Replaces every known secret in a text with ``****``."""

    def __init__(self, secrets: Iterable[str] = ()):
        self._secrets = tuple(sorted({s for s in secrets if len(s) >= _MIN_SECRET}, key=len)[::-1])

    def __call__(self, text: str) -> str:
        for secret in self._secrets:
            if secret in text:
                text = text.replace(secret, MASK)
        return text


# A phone number in free text (a carrier's reply often repeats it): nine digits or more, with
# single spaces at most between them. Dates (2026-12-07) and amounts (12.50) stay as written.
_PHONE_RUN = re.compile(r"\+?\d(?: ?\d){8,}")


def mask_phones(text: str) -> str:
    """``text`` with every phone number in it masked: the first two and last two digits kept."""

    def masked(match: re.Match[str]) -> str:
        digits = [c for c in match.group(0) if c.isdigit()]
        plus = "+" if match.group(0).startswith("+") else ""
        return plus + "".join(digits[:2]) + "*" * (len(digits) - 4) + "".join(digits[-2:])

    return _PHONE_RUN.sub(masked, text)
