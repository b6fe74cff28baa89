"""Sending through Apprise: one target at a time, concurrently, each bounded by a timeout.

This is the only module that imports Apprise, and it does so lazily, so commands that never
send (``upcoming``, ``history``) start fast. Apprise's own logger is held at WARNING because its
DEBUG output prints URLs and tokens; everything said about a target goes through the redactor.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from types import ModuleType
from typing import Any
from urllib.parse import unquote

from simkeeper.core.model import Target
from simkeeper.core.redact import Redactor
from simkeeper.core.urls import split_url
from simkeeper.send.apprise_private import fresh_pools, load_schemes
from simkeeper.texts.templates import Message

MAX_WORKERS = 8
MAX_ERROR = 300


@dataclass(frozen=True)
class Outcome:
    """The result of one send: ok, or the reason it failed (already redacted)."""

    ok: bool
    error: str | None = None


_registered = False


def _apprise(schemes: Iterable[str] = ()) -> ModuleType:
    """Apprise, with the plugins of ``schemes`` loaded (see
    :func:`~simkeeper.send.apprise_private.load_schemes`)."""
    global _registered
    import apprise

    if load_schemes(schemes):
        _registered = False  # console:// went with the table: registered again

    quiet = logging.getLogger("apprise")
    quiet.setLevel(logging.WARNING)
    # Apprise's log lines echo URLs and tokens: what it says about a send is read from its
    # per-call results instead, and passed through our redactor.
    quiet.propagate = False
    if not quiet.handlers:
        quiet.addHandler(logging.NullHandler())
    if not _registered:
        from apprise.decorators import notify

        notify(on="console", name="Console (standard output)")(_console)  # type: ignore[no-untyped-call]
        os.register_at_fork(after_in_child=fresh_pools)
        _registered = True
    return apprise


def _console(body: str, title: str, notify_type: str, *args: object, **kwargs: object) -> bool:
    """``console://``: print the message to standard output (for trying simkeeper out)."""
    print(f"--- {title}\n{body}\n---" if title else body, flush=True)
    return True


def _asset(apprise: ModuleType) -> Any:
    # In-memory storage: the service has no writable home, and nothing needs to persist.
    return apprise.AppriseAsset(storage_mode=apprise.PersistentStoreMode.MEMORY)


def url_problem(url: str) -> str | None:
    """Why Apprise cannot use ``url`` (unknown scheme, missing parts), or None if it can."""
    scheme = url.split("://", 1)[0].lower() if "://" in url else ""
    if not scheme:
        return "not an Apprise URL (expected scheme://...)"
    apprise = _apprise([scheme])
    from apprise.manager_plugins import NotificationManager

    if scheme not in NotificationManager():  # type: ignore[no-untyped-call]
        return f'unknown notification scheme "{scheme}://"'
    login = login_problem(url)
    if login:
        return login
    with apprise.LogCapture(level=logging.WARNING, fmt="%(message)s") as captured:
        plugin = apprise.Apprise.instantiate(url, asset=_asset(apprise))
    if plugin is None:
        said = [line for line in captured.getvalue().splitlines() if "://" not in line]
        why = f" ({said[0].strip().rstrip(': ')})" if said else ""
        return f"Apprise cannot use this {scheme}:// URL: a part is missing or malformed{why}"
    return None


# Schemes whose login travels in a protocol that cannot carry every character: SMTP AUTH in
# Python's smtplib is ASCII only; HTTP Basic auth (requests) is Latin-1.
_ASCII_LOGIN = {"mailto", "mailtos"}
_LATIN1_LOGIN = {"json", "jsons", "xml", "xmls", "form", "forms", "ntfy", "ntfys"}


def login_problem(url: str) -> str | None:
    """Why the user or password in ``url`` cannot be sent by its protocol, or None.

    Never quotes the login itself: only which protocol and which character set.
    """
    parts = split_url(url)
    scheme = parts.scheme.lower()
    if "@" not in parts.netloc:
        return None
    login = unquote(parts.netloc.rsplit("@", 1)[0])
    for schemes, charset, protocol in (
        (_ASCII_LOGIN, "ascii", "SMTP AUTH (Python's smtplib) carries only ASCII"),
        (_LATIN1_LOGIN, "latin-1", "HTTP Basic auth carries only Latin-1"),
    ):
        if scheme in schemes:
            try:
                login.encode(charset)
            except UnicodeEncodeError:
                return (
                    f"the user name or password of this {scheme}:// target cannot be sent: "
                    f"{protocol}; use a password made of such characters"
                )
    return None


TIMED_OUT = "timed out after"  # how a send's error starts when the target did not answer in time


def timed_out(error: str | None) -> bool:
    """Whether a recorded send error says the target did not answer in time: it may still
    have got the message, so sending it again may make a repeat."""
    return bool(error) and TIMED_OUT in (error or "")


def send(target: Target, message: Message, timeout: float, redact: Redactor) -> Outcome:
    """Send ``message`` to one target and say whether it arrived."""
    apprise = _apprise([scheme_of(target.url)])
    try:
        client = apprise.Apprise(asset=_asset(apprise))
        plugin = apprise.Apprise.instantiate(target.url, asset=_asset(apprise))
        if plugin is None or not client.add(plugin):
            return Outcome(False, "Apprise rejected the URL (check it with 'simkeeper check')")
        body, body_format = body_for(plugin, message, apprise.NotifyFormat)
        result = client.notify(
            body=body, title=message.title, body_format=body_format, timeout=timeout
        )
    except Exception as e:  # any plugin error is a failed send, never a crash
        return Outcome(False, _clip(redact(f"{type(e).__name__}: {e}")))
    if result:
        return Outcome(True)
    if result.status == apprise.AppriseResultStatus.TIMEOUT:
        return Outcome(False, f"{TIMED_OUT} {timeout:g} s")
    reasons = [
        entry.message
        for service in result.results
        for entry in service.logs()
        if entry.level in ("WARNING", "ERROR", "CRITICAL")
    ]
    if any(s.status == apprise.AppriseResultStatus.TIMEOUT for s in result.results):
        reasons.append(f"{TIMED_OUT} {timeout:g} s")
    reason = "; ".join(dict.fromkeys(r.strip() for r in reasons if r.strip()))
    return Outcome(False, _clip(redact(reason or f"delivery failed ({result.status.name})")))


def body_for(plugin: Any, message: Message, formats: Any) -> tuple[str, Any]:
    """The body a target renders right, and its format.

    A target whose own format is HTML (email, unless its URL says ``format=text``) gets the
    escaped HTML form, so the mail has a text and an HTML part that both keep the lines apart.
    Every other target gets the plain text, declared as text, so Apprise escapes it for the
    target's format (Markdown, ...) instead of passing markup through.
    """
    if plugin.resolve_format(None) == formats.HTML:
        return message.as_html, formats.HTML
    return message.body, formats.TEXT


def send_all(
    jobs: Iterable[tuple[Target, Message]], timeout: float, redact: Redactor
) -> Iterator[tuple[Target, Outcome]]:
    """Send every job concurrently; yield each ``(target, outcome)`` as it completes.
    ``timeout`` is for targets without their own (``[[notify]]`` ``timeout``)."""
    jobs = list(jobs)
    if not jobs:
        return
    _apprise(scheme_of(t.url) for t, _ in jobs)  # once, before the threads
    with ThreadPoolExecutor(max_workers=min(MAX_WORKERS, len(jobs))) as pool:
        futures = {pool.submit(send, t, m, t.send_timeout(timeout), redact): t for t, m in jobs}
        for future in as_completed(futures):
            yield futures[future], future.result()


def scheme_of(url: str) -> str:
    """The scheme of a notify URL (``json`` of ``json://host/path``)."""
    return url.split("://", 1)[0].lower() if "://" in url else ""


def _clip(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= MAX_ERROR else text[: MAX_ERROR - 1] + "…"
