"""SMS Gateway for Android's ``sms:received`` webhook: its signature checked and its body read.

The app POSTs JSON ``{"deviceId", "event": "sms:received", "id", "webhookId", "payload":
{"messageId", "message", "phoneNumber", "simNumber", "receivedAt"}}``, signed with the key
set in the app: ``X-Timestamp`` (Unix seconds) and ``X-Signature``, the hex HMAC-SHA256 of the
raw body followed by the timestamp. The payload is read with the gateway's own Python client's
model (``android_sms_gateway.webhooks.SmsReceivedPayload``).

The address it posts to carries a secret of its own, derived from the signing key (see
:func:`path_secret`), so a guessed address is refused before any body is read.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from simkeeper.core.model import Gateway
from simkeeper.send.gateways.client import Inbound

REPLAY_WINDOW = 300  # seconds either side of now a signed timestamp may lie
MAX_BODY = 65536  # bytes: one text's event is far smaller


class Rejected(Exception):
    """A webhook refused: ``status`` is the 4xx to answer, ``reason`` what ``/metrics`` and
    the log say (never the key, the signature or the text)."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


@dataclass(frozen=True)
class Event:
    """A verified webhook: its event name and, for ``sms:received``, the text."""

    event: str
    text: Inbound | None


def path_secret(gateway: Gateway) -> str:
    """The secret part of the gateway's webhook address (``/hooks/NAME/SECRET``): derived from
    its signing key, so nothing more is configured and a new key makes a new address."""
    mac = hmac.new(
        gateway.signing_key.encode(), b"simkeeper webhook " + gateway.name.encode(), "sha256"
    )
    return mac.hexdigest()[:32]


def verify(gateway: Gateway, headers: dict[str, str], body: bytes, now: datetime) -> Event:
    """The event of a signed ``body``; :class:`Rejected` (401 unsigned or badly signed, 401
    outside the replay window, 400 malformed, 413 too large) otherwise."""
    if len(body) > MAX_BODY:
        raise Rejected(413, "too-large")
    stamp = headers.get("x-timestamp", "")
    signature = headers.get("x-signature", "")
    if not stamp or not signature:
        raise Rejected(401, "unsigned")
    want = hmac.new(gateway.signing_key.encode(), body + stamp.encode(), hashlib.sha256)
    if not hmac.compare_digest(want.hexdigest(), signature.strip().lower()):
        raise Rejected(401, "bad-signature")
    if not stamp.isdigit() or len(stamp) > 12:
        raise Rejected(401, "bad-timestamp")
    if abs(now.timestamp() - int(stamp)) > REPLAY_WINDOW:
        raise Rejected(401, "stale")
    return _event(body)


def _event(body: bytes) -> Event:
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise Rejected(400, "malformed") from None
    if not isinstance(data, dict) or not isinstance(data.get("event"), str):
        raise Rejected(400, "malformed")
    if data["event"] != "sms:received":
        return Event(data["event"], None)  # another event it was set up for: nothing to read
    return Event("sms:received", _text(data))


def _text(data: dict[str, Any]) -> Inbound:
    from android_sms_gateway.webhooks import SmsReceivedPayload

    payload = data.get("payload")
    if not isinstance(payload, dict):
        raise Rejected(400, "malformed")
    # Older apps send no "sender" (the client's model wants it): it is the phone number.
    payload = {"sender": payload.get("phoneNumber"), **payload}
    try:
        sms = SmsReceivedPayload.from_dict(payload)
    except (KeyError, TypeError, ValueError, AttributeError):
        raise Rejected(400, "malformed") from None
    fields = (sms.phone_number, sms.message, sms.message_id)
    at = sms.received_at
    if not all(isinstance(f, str) for f in fields) or not isinstance(at, datetime) or not at.tzinfo:
        raise Rejected(400, "malformed")
    sim = sms.sim_number if isinstance(sms.sim_number, int) and 0 < sms.sim_number < 10 else None
    # The app's message id is made from the text (its documentation: it may repeat), so with
    # the time it was received it names one text: the same on a retried post and on the app
    # posting its inbox again (under new event ids).
    return Inbound(
        sender=sms.phone_number,
        text=sms.message,
        at=at,
        ref=f"sms-gate:{sms.message_id}:{at.isoformat()}",
        sim=sim,
    )
