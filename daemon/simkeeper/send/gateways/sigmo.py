"""A Sigmo server (https://github.com/damonto/sigmo): a web UI and REST API over the
ModemManager modems of its host, spoken with ``requests`` under the gateway's timeout.

Its routes (``internal/app/router/router.go``), all under ``/api/v1`` with the API token as
``Authorization: Bearer`` when the server asks for one:

* ``GET /modems``: the modems, each ``{"id": IMEI, ...}``;
* ``POST /modems/{id}/messages`` ``{"to", "text"}``: send, answered ``{"to"}`` once the modem
  has sent it (no id of the message: ``sent`` is the proof, no report comes);
* ``GET /modems/{id}/messages``: one message per conversation, the newest;
  ``GET /modems/{id}/messages/{participant}``: that conversation, each message
  ``{"id", "sender", "recipient", "text", "timestamp", "status", "incoming"}``;
* ``POST /modems/{id}/ussd`` ``{"action": "initialize" | "reply", "code"}``: ``{"reply"}``.

Errors come as ``{"error_code", "message"}`` with a 4xx or 5xx.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any
from urllib.parse import quote

from simkeeper.core.model import Gateway
from simkeeper.send.gateways.client import GatewayError, Inbound, Outcome

API = "/api/v1"
_REFUSED = (400, 401, 403, 404, 422)  # it said no: nothing was sent
USSD_TIMEOUT = 60.0  # seconds: Sigmo waits up to a minute for the network's reply


class SigmoClient:
    """One Sigmo server and one of its modems (the first, or ``modem``'s IMEI)."""

    def __init__(self, gateway: Gateway, timeout: float) -> None:
        import requests

        self.url = gateway.url + API
        self.modem = gateway.modem
        self.timeout = timeout
        self.session = requests.Session()
        if gateway.password:
            self.session.headers["Authorization"] = f"Bearer {gateway.password}"
        self._id: str | None = None

    def _ask(self, method: str, path: str, body: Any = None, timeout: float = 0.0) -> Any:
        """One request; its JSON answer, or a :class:`GatewayError` saying what went wrong
        (never the token, never the URL's query)."""
        try:
            r = self.session.request(
                method, self.url + path, json=body, timeout=timeout or self.timeout
            )
        except Exception as e:  # connection errors, timeouts
            raise GatewayError(f"Sigmo did not answer ({type(e).__name__})") from None
        if r.status_code >= 400:
            code = _error_code(r)
            raise GatewayError(
                f"Sigmo answered HTTP {r.status_code}{code}", refused=r.status_code in _REFUSED
            )
        if r.status_code == 204 or not r.content:
            return None
        try:
            return r.json()
        except ValueError:
            raise GatewayError("Sigmo answered something other than JSON") from None

    def _modem_id(self) -> str:
        if self._id is None:
            modems = self._ask("GET", "/modems")
            ids = [str(m.get("id", "")) for m in modems or [] if isinstance(m, dict)]
            wanted = [i for i in ids if self.modem in ("any", i)]
            if not wanted:
                raise GatewayError(f"Sigmo has no modem {self.modem!r}", refused=True)
            self._id = wanted[0]
        return self._id

    def _modem_path(self, tail: str) -> str:
        return f"/modems/{quote(self._modem_id(), safe='')}{tail}"

    def send(
        self, msg_id: str, to: str, text: str, sim: int | None, keep_ref: Callable[[str], None]
    ) -> Outcome:
        """``POST /modems/{id}/messages``: answered once the modem sent it."""
        path = self._modem_path("/messages")
        self._ask("POST", path, {"to": to, "text": text})
        return Outcome("sent", reports=False)

    def state(self, msg_id: str, ref: str | None, to: str, text: str) -> Outcome:
        """Whether the conversation with ``to`` holds our text as sent (Sigmo keeps no id of
        ours: the text is looked for); ``missing`` when it does not."""
        for m in self._thread(to):
            if not m.get("incoming") and m.get("text") == text:
                state = "sent" if m.get("status") in ("sent", "delivered") else "pending"
                return Outcome(state, reports=False)
        return Outcome("missing", reports=False)

    def ussd(self, code: str, replies: tuple[str, ...] = ()) -> str:
        """Run USSD ``code``, answer each menu step with the next of ``replies``; the final
        reply. A timeout raises :class:`GatewayError` with ``refused=False``."""
        path = self._modem_path("/ussd")
        answer = self._ask("POST", path, {"action": "initialize", "code": code}, USSD_TIMEOUT)
        for step in replies:
            answer = self._ask("POST", path, {"action": "reply", "code": step}, USSD_TIMEOUT)
        return str((answer or {}).get("reply", ""))

    def received(self, since: datetime | None) -> list[Inbound]:
        """Incoming messages newer than ``since``, from each conversation in full (its newest
        message, which the list shows, is not always its latest to arrive: a text's time is
        the network's, so none is skipped by it)."""
        found: list[Inbound] = []
        for head in self._ask("GET", self._modem_path("/messages")) or []:
            if not isinstance(head, dict):
                continue
            other = head.get("sender") if head.get("incoming") else head.get("recipient")
            for m in self._thread(str(other or "")):
                text = self._inbound(m, since)
                if text is not None:
                    found.append(text)
        return found

    def _thread(self, participant: str) -> list[dict[str, Any]]:
        if not participant:
            return []
        path = self._modem_path(f"/messages/{quote(participant, safe='')}")
        return [m for m in self._ask("GET", path) or [] if isinstance(m, dict)]

    def _inbound(self, m: dict[str, Any], since: datetime | None) -> Inbound | None:
        at = _when(m)
        if not m.get("incoming") or at is None or (since and at <= since):
            return None
        return Inbound(
            sender=str(m.get("sender", "")),
            text=str(m.get("text", "")),
            at=at,
            ref=f"sigmo:{self._modem_id()}:{m.get('id')}",
        )


def _when(m: Any) -> datetime | None:
    """A message's ``timestamp`` (RFC 3339, UTC) as an aware time, if it has a valid one."""
    raw = m.get("timestamp") if isinstance(m, dict) else None
    if not isinstance(raw, str):
        return None
    try:
        at = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        return None
    return at if at.tzinfo else None


def _error_code(r: Any) -> str:
    """``: error_code`` from Sigmo's error body, when it has one."""
    try:
        code = r.json().get("error_code")
    except Exception:
        return ""
    return f": {code}" if isinstance(code, str) and code.isidentifier() else ""
