"""A Sigmo server's REST API on 127.0.0.1, as its routes define it (damonto/sigmo,
``internal/app/router/router.go`` and the handlers it names), for the ``sigmo`` gateway kind.

Under ``/api/v1``, behind ``Authorization: Bearer TOKEN`` when the peer has a token (401
``invalid_token`` otherwise, as ``middleware/auth.go``):

* ``GET /modems``: ``[{"id": IMEI, "name", "number", "state", ...}]``;
* ``POST /modems/{id}/messages`` ``{"to", "text"}``: ``{"to"}`` (400 ``recipient_required`` /
  ``text_required``); the message is kept as sent;
* ``GET /modems/{id}/messages``: the newest message of each conversation, newest first;
* ``GET /modems/{id}/messages/{participant}``: the conversation, oldest first; each message
  ``{"id", "sender", "recipient", "text", "timestamp", "status", "incoming", "routed"}``;
* ``POST /modems/{id}/ussd`` ``{"action": "initialize" | "reply", "code"}``: ``{"reply"}``
  (400 ``execute_ussd_invalid_request`` for another action, ``ussd_session_not_ready`` for a
  reply without a session);
* an unknown modem: 404 ``modem_not_found``. Errors are ``{"error_code", "message",
  "request_id"}``.

PYTEST_DONT_REWRITE
"""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote

HOST = "127.0.0.1"
IMEI = "356938035643809"
OWN = "+447700900001"  # the modem's SIM


class SigmoPeer:
    """Sigmo's API with one modem; ``ussd_menu`` maps a code (or a reply) to its answer."""

    def __init__(self, token: str = "", ussd_menu: dict[str, str] | None = None):
        self.token = token
        self.ussd_menu = ussd_menu or {}
        self.messages: list[dict[str, Any]] = []
        self.requests: list[tuple[str, str, dict[str, str]]] = []  # method, path, headers
        self.session = False
        self.lock = threading.Lock()
        peer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def _json(self, code: int, body: Any) -> None:
                data = json.dumps(body).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _error(self, code: int, error_code: str, message: str) -> None:
                self._json(code, {"error_code": error_code, "message": message, "request_id": "r1"})

            def _allowed(self) -> bool:
                peer.requests.append((self.command, self.path, dict(self.headers)))
                if not peer.token:
                    return True
                if self.headers.get("Authorization") == f"Bearer {peer.token}":
                    return True
                self._error(401, "invalid_token", "missing or invalid token")
                return False

            def _route(self) -> tuple[str, str] | None:
                """(modem id, the rest) of ``/api/v1/modems/{id}/...``."""
                parts = self.path.split("?", 1)[0].split("/")
                if parts[:4] != ["", "api", "v1", "modems"] or len(parts) < 5:
                    return None
                if unquote(parts[4]) != IMEI:
                    self._error(404, "modem_not_found", "modem not found")
                    return ("", "")
                return IMEI, "/".join(parts[5:])

            def _body(self) -> dict[str, Any]:
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                try:
                    data = json.loads(raw or b"{}")
                except ValueError:
                    return {}
                return data if isinstance(data, dict) else {}

            def do_GET(self) -> None:
                if not self._allowed():
                    return
                if self.path.split("?")[0] == "/api/v1/modems":
                    self._json(200, [peer.modem()])
                    return
                route = self._route()
                if route is None:
                    self._error(404, "not_found", "not found")
                    return
                modem, rest = route
                if not modem:
                    return
                if rest == "messages":
                    self._json(200, peer.conversations())
                elif rest.startswith("messages/"):
                    self._json(200, peer.thread(unquote(rest[len("messages/") :])))
                else:
                    self._error(404, "not_found", "not found")

            def do_POST(self) -> None:
                if not self._allowed():
                    return
                route = self._route()
                if route is None:
                    self._error(404, "not_found", "not found")
                    return
                modem, rest = route
                if not modem:
                    return
                body = self._body()
                if rest == "messages":
                    self._send(body)
                elif rest == "ussd":
                    self._ussd(body)
                else:
                    self._error(404, "not_found", "not found")

            def _send(self, body: dict[str, Any]) -> None:
                to, text = str(body.get("to") or ""), str(body.get("text") or "")
                if not to.strip():
                    self._error(400, "recipient_required", "recipient is required")
                    return
                if not text.strip():
                    self._error(400, "text_required", "text is required")
                    return
                peer.add(OWN, to, text, datetime.now(UTC), incoming=False, status="sent")
                self._json(200, {"to": to})

            def _ussd(self, body: dict[str, Any]) -> None:
                action, code = body.get("action"), str(body.get("code") or "")
                if action not in ("initialize", "reply") or not code:
                    self._error(400, "execute_ussd_invalid_request", "invalid request")
                    return
                if action == "reply" and not peer.session:
                    self._error(400, "ussd_session_not_ready", "ussd session not ready")
                    return
                peer.session = True
                self._json(200, {"reply": peer.ussd_menu.get(code, "Unknown code")})

        self.server = ThreadingHTTPServer((HOST, 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def modem(self) -> dict[str, Any]:
        return {"id": IMEI, "name": "EM7455", "number": OWN, "state": "registered"}

    def add(
        self, sender: str, recipient: str, text: str, at: datetime, incoming: bool, status: str
    ) -> int:
        with self.lock:
            msg_id = len(self.messages) + 1
            self.messages.append(
                {
                    "id": msg_id,
                    "sender": sender,
                    "recipient": recipient,
                    "text": text,
                    "timestamp": at.astimezone(UTC).isoformat().replace("+00:00", "Z"),
                    "status": status,
                    "incoming": incoming,
                    "routed": False,
                }
            )
            return msg_id

    def receive(self, sender: str, text: str, at: datetime) -> int:
        """A text arrives at the modem's SIM."""
        return self.add(sender, OWN, text, at, incoming=True, status="received")

    def _other(self, m: dict[str, Any]) -> str:
        return m["sender"] if m["incoming"] else m["recipient"]

    def conversations(self) -> list[dict[str, Any]]:
        with self.lock:
            newest: dict[str, dict[str, Any]] = {}
            for m in self.messages:
                newest[self._other(m)] = m
            return sorted(newest.values(), key=lambda m: -m["id"])

    def thread(self, participant: str) -> list[dict[str, Any]]:
        with self.lock:
            return [m for m in self.messages if self._other(m) == participant]

    def __enter__(self) -> SigmoPeer:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
