"""Real receivers on 127.0.0.1 for delivery tests: an SMTP server and an HTTP recorder.

The HTTP recorder answers as a json:// or ntfy:// endpoint and as an SMSEagle SMS gateway
(JSON-RPC on ``/jsonrpc/sms``). It can be told to fail (HTTP 500) or to hang (bounded), so
tests see real failures, retries and timeouts, never a mocked Apprise.
"""

from __future__ import annotations

import email
import json
import socket
import threading
import time
from dataclasses import dataclass, field
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from aiosmtpd.controller import Controller

MAX_HANG = 15.0


def free_port() -> int:
    """A port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Mail:
    """One message the SMTP server accepted."""

    sender: str
    recipients: list[str]
    message: Message

    @property
    def subject(self) -> str:
        return str(email.header.make_header(email.header.decode_header(self.message["Subject"])))

    @property
    def body(self) -> str:
        part = self.message
        if part.is_multipart():
            part = next(p for p in part.walk() if p.get_content_type() == "text/plain")
        payload = part.get_payload(decode=True)
        return payload.decode(part.get_content_charset() or "utf-8")


class _MailHandler:
    def __init__(self, box: list[Mail]):
        self.box = box

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.original_content or envelope.content)
        self.box.append(Mail(envelope.mail_from, list(envelope.rcpt_tos), message))
        return "250 OK"


class SMTPReceiver:
    """An aiosmtpd server on 127.0.0.1 that keeps every message it gets."""

    def __init__(self) -> None:
        self.mails: list[Mail] = []
        self.port = free_port()
        self.controller = Controller(_MailHandler(self.mails), hostname="127.0.0.1", port=self.port)

    def __enter__(self) -> SMTPReceiver:
        self.controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.controller.stop()

    def url(self, to: str = "me@example.com") -> str:
        """An Apprise mailto:// URL that sends here, unencrypted."""
        return f"mailto://127.0.0.1:{self.port}?to={to}&from=simkeeper@example.com&mode=insecure"


@dataclass
class Request:
    """One HTTP request the recorder got."""

    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")

    def json(self) -> dict:
        return json.loads(self.body)


@dataclass
class HTTPReceiver:
    """A threaded HTTP server on 127.0.0.1 that records requests.

    ``status`` is what it answers (200 or e.g. 500); ``hang`` seconds it waits before
    answering (bounded by MAX_HANG so a test can never hang for ever); ``delay`` a short wait
    on every request, to make sends take time.
    """

    status: int = 200
    hang: float = 0.0
    delay: float = 0.0
    requests: list[Request] = field(default_factory=list)

    def __post_init__(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                time.sleep(min(receiver.hang, MAX_HANG) + receiver.delay)
                receiver.requests.append(Request(self.path, dict(self.headers), body))
                if self.path.startswith("/jsonrpc/sms"):
                    reply = {"result": {"message_id": len(receiver.requests), "status": "ok"}}
                else:
                    reply = {"ok": receiver.status == 200}
                data = json.dumps(reply).encode()
                self.send_response(receiver.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_PUT = do_POST

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> HTTPReceiver:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    @property
    def bodies(self) -> list[str]:
        return [r.text for r in self.requests]

    def json_url(self, path: str = "hook") -> str:
        return f"json://127.0.0.1:{self.port}/{path}"

    def ntfy_url(self, topic: str = "sims") -> str:
        return f"ntfy://127.0.0.1:{self.port}/{topic}"

    def smseagle_url(self, token: str = "gatewaytoken", phone: str = "+447700900123") -> str:
        return f"smseagle://{token}@127.0.0.1:{self.port}/{phone}"


def wait_for(predicate, timeout: float = 10.0, step: float = 0.05) -> bool:
    """Poll ``predicate`` until it is true or ``timeout`` seconds pass."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(step)
    return bool(predicate())
