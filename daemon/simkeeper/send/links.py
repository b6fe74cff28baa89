"""Signed links for the web face: one-tap actions in reminders, and the page tokens.

An action token binds a number (E.164), a deadline, an action (``renewed`` or ``snooze``) and
an expiry, and reveals none of them: it is ``base64url(nonce || AES-256-GCM(payload))``, the
payload a fixed 22 bytes (version, action, deadline, expiry, the number's digits as one integer),
so every token has the same 67 characters whatever the number. The GCM tag is checked in
constant time by :mod:`cryptography`; a token in any spelling but the canonical one is refused.
The encryption key is derived from the web key by HMAC with a purpose label, so it is never the
key that makes the page tokens. Links sent before this form (``base64url(fields) "."
base64url(mac)``, readable) keep working until they expire: :func:`verify` still checks them,
and no new one is made. It expires at the end of the number's last overdue stage
(``after_deadline``), or :data:`DEFAULT_VALID_DAYS` after the deadline for a number without
stages. The status page and the calendar feed each have a token of their own, derived from the
same key.

The key is 32 random bytes in ``web.key`` beside the state database (mode 0600, created on
first use atomically), or comes from the credential ``SIMKEEPER_WEB_KEY`` found like a notify
secret (:mod:`.secrets`). Everything here is pure apart from :func:`load_key`; the key never
appears in logs, output or the database.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import secrets
import struct
from contextlib import suppress
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Literal, cast

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from simkeeper.config.secrets import Secrets

Action = Literal["renewed", "snooze"]
ACTIONS: tuple[Action, ...] = ("renewed", "snooze")
Page = Literal["status", "calendar"]
KEY_FILE = "web.key"
KEY_CREDENTIAL = "SIMKEEPER_WEB_KEY"
DEFAULT_VALID_DAYS = 30  # a number without after_deadline stages: links work 30 days past it
_SEP = "|"  # the fields of a legacy (readable, HMAC-signed) token
_VERSION = 1
_PAYLOAD = struct.Struct(">BBiQQ")  # version, action, deadline (ordinal), expiry (Unix), digits
_NONCE = 12
_TOKEN_BYTES = _NONCE + _PAYLOAD.size + 16  # nonce, ciphertext, GCM tag
_AAD = b"simkeeper action link v1"


class BadToken(ValueError):
    """A token that is forged, altered, malformed or expired."""


@dataclass(frozen=True)
class Claim:
    """What a valid action token says."""

    number: str  # E.164
    deadline: date
    action: Action
    expires: datetime  # UTC


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(key: bytes, message: bytes) -> bytes:
    return hmac.new(key, message, hashlib.sha256).digest()


def expiry(deadline: date, stages: tuple[int, ...] = ()) -> datetime:
    """When a link for ``deadline`` stops working: the end (UTC) of the day of the last overdue
    stage (``stages`` are days after the deadline), else :data:`DEFAULT_VALID_DAYS` after it.

    UTC midnight after the day, plus a day, so it is past the day's end in every zone."""
    last = max(stages, default=DEFAULT_VALID_DAYS)
    return datetime.combine(deadline + timedelta(days=last + 2), time(0), UTC)


def _cipher(key: bytes) -> AESGCM:
    """The link cipher: its key derived from the web key for this one purpose."""
    return AESGCM(_mac(key, b"simkeeper: action link encryption"))


def sign(key: bytes, claim: Claim) -> str:
    """The token for ``claim``: opaque, always the same length."""
    digits = claim.number.removeprefix("+")
    if not digits.isdigit() or len(digits) > 15:
        raise ValueError("not an E.164 number")
    payload = _PAYLOAD.pack(
        _VERSION,
        ACTIONS.index(claim.action),
        claim.deadline.toordinal(),
        int(claim.expires.timestamp()),
        int(digits),
    )
    nonce = secrets.token_bytes(_NONCE)
    return _b64(nonce + _cipher(key).encrypt(nonce, payload, _AAD))


def verify(key: bytes, token: str, now: datetime) -> Claim:
    """The claim of ``token`` if it is authentic and has not expired; else :class:`BadToken`
    (the reason is for logs, never the key). A legacy signed token is checked as it was."""
    claim = _verify_legacy(key, token) if "." in token else _open(key, token)
    if now >= claim.expires:
        raise BadToken("expired")
    return claim


def _open(key: bytes, token: str) -> Claim:
    try:
        raw = _unb64(token)
    except (binascii.Error, ValueError):
        raise BadToken("malformed") from None
    if len(raw) != _TOKEN_BYTES or _b64(raw) != token:
        raise BadToken("not in canonical form")  # one spelling per token
    try:
        payload = _cipher(key).decrypt(raw[:_NONCE], raw[_NONCE:], _AAD)
    except InvalidTag:
        raise BadToken("bad signature") from None
    version, action, deadline, expires, digits = _PAYLOAD.unpack(payload)
    if version != _VERSION or action >= len(ACTIONS):
        raise BadToken("unknown version or action")
    try:
        return Claim(
            f"+{digits}",
            date.fromordinal(deadline),
            ACTIONS[action],
            datetime.fromtimestamp(expires, UTC),
        )
    except (ValueError, OverflowError, OSError):
        raise BadToken("malformed") from None


def sign_legacy(key: bytes, claim: Claim) -> str:
    """A token in the form links had before they were encrypted (readable, HMAC-signed): made
    only by the tests that prove such links still work until they expire."""
    fields = _SEP.join(
        [
            claim.number,
            claim.deadline.isoformat(),
            claim.action,
            str(int(claim.expires.timestamp())),
        ]
    ).encode("utf-8")
    return f"{_b64(fields)}.{_b64(_mac(key, b'action:' + fields))}"


def _verify_legacy(key: bytes, token: str) -> Claim:
    encoded, dot, mac = token.partition(".")
    try:
        fields = _unb64(encoded)
        given = _unb64(mac)
    except (binascii.Error, ValueError):
        raise BadToken("malformed") from None
    if not dot or _b64(fields) != encoded or _b64(given) != mac:
        raise BadToken("not in canonical form")  # one token per claim: no altered spelling
    if not hmac.compare_digest(given, _mac(key, b"action:" + fields)):
        raise BadToken("bad signature")
    try:
        number, deadline, action, expires = fields.decode("utf-8").split(_SEP)
        claim = Claim(
            number,
            date.fromisoformat(deadline),
            cast(Action, action),
            datetime.fromtimestamp(int(expires), UTC),
        )
    except (ValueError, UnicodeDecodeError, OverflowError):
        raise BadToken("malformed") from None
    if claim.action not in ACTIONS:
        raise BadToken("unknown action")
    return claim


def action_links(
    base_url: str, key: bytes, number: str, deadline: date, stages: tuple[int, ...] = ()
) -> tuple[tuple[Action, str], ...]:
    """The "I renewed it" and "remind me tomorrow" links of a reminder, as (action, URL)."""
    expires = expiry(deadline, stages)
    return tuple(
        (action, f"{base_url}/r/{sign(key, Claim(number, deadline, action, expires))}")
        for action in ACTIONS
    )


def page_url(base_url: str, key: bytes, page: Page) -> str:
    """The address of the status page or the calendar feed, with its token."""
    path = "/" if page == "status" else "/calendar.ics"
    return f"{base_url}{path}?token={page_token(key, page)}"


def page_token(key: bytes, page: Page) -> str:
    """The token of the status page or the calendar feed."""
    return _b64(_mac(key, f"page:{page}".encode()))


def page_allowed(key: bytes, page: Page, token: str) -> bool:
    """Whether ``token`` opens ``page`` (constant-time)."""
    return hmac.compare_digest(token.encode("utf-8", "replace"), page_token(key, page).encode())


def load_key(config_path: Path, state_folder: Path, env: dict[str, str] | None = None) -> bytes:
    """The link key: the credential ``SIMKEEPER_WEB_KEY`` if there is one, else ``web.key`` in
    the state folder, created (0600, atomically) on first use."""
    found = Secrets(config_path, os.environ if env is None else env).lookup(KEY_CREDENTIAL)
    if found.value:
        return hashlib.sha256(found.value.encode("utf-8")).digest()
    return _key_file(state_folder / KEY_FILE)


def _key_file(path: Path) -> bytes:
    """The key in ``path``; a new one written first if there is none (a racing process that
    wrote it first wins, and both read the same key)."""
    try:
        return _read_key(path)
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    temp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_hex(32) + "\n")
            f.flush()
            os.fsync(f.fileno())
        with suppress(FileExistsError):  # another process made it meanwhile: use that one
            os.link(temp, path)
    finally:
        temp.unlink(missing_ok=True)
    return _read_key(path)


def _read_key(path: Path) -> bytes:
    text = path.read_text(encoding="ascii").strip()
    try:
        key = bytes.fromhex(text)
    except ValueError:
        key = b""
    if len(key) < 16:
        raise OSError(f"{path} does not hold a key (64 hex digits); delete it to make a new one")
    return key
