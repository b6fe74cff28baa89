"""Real receivers on 127.0.0.1 for delivery tests, and pytest fixtures that start them.

Nothing here mocks Apprise: simkeeper sends through Apprise over real sockets to these servers.

* :class:`SMTPReceiver`: an aiosmtpd server keeping every message (envelope recipients, parsed
  subject and body), optionally with AUTH so an Apprise ``mailto://user:pass@`` login succeeds
  and the credentials it used are recorded.
* :class:`HTTPReceiver`: a threaded HTTP server recording every request (method, path, headers,
  body) that answers as a ``json://`` endpoint, an ntfy server (``ntfy://``) and an SMSEagle SMS
  gateway (JSON-RPC ``POST /jsonrpc/sms``, as ``smseagle://TOKEN@127.0.0.1:PORT/+PHONE`` sends
  it). Its ``status`` (200, 500, ...) can be changed while it runs; ``hang`` makes it wait
  before answering and ``delay`` slows every answer, both bounded by :data:`MAX_HANG`.
* :class:`RefusingPort`: a port on 127.0.0.1 that refuses connections.

Use them as context managers, or through the fixtures defined at the end. To get the fixtures
in a test module, without touching ``conftest.py``, either name the module as a plugin::

    pytest_plugins = ["receivers"]          # fixtures smtp_server, http_receiver, ...
    from receivers import HTTPReceiver      # classes, when a test builds its own

or import the fixtures by name (pytest finds fixtures among a module's globals)::

    from receivers import http_receiver, smtp_server  # noqa: F401

then ask for them as arguments (ruff then wants ``# noqa: F401`` and ``F811``).

This module has no assertions of its own, hence PYTEST_DONT_REWRITE: pytest may load it as a
plugin after a test module imported it, without warning that it cannot rewrite it.
"""

from __future__ import annotations

import base64
import email
import email.header
import email.policy
import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

MAX_HANG = 15.0  # no receiver ever holds a request longer than this
HOST = "127.0.0.1"


def free_port() -> int:
    """A port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def wait_for(predicate: Callable[[], Any], timeout: float = 10.0, step: float = 0.02) -> bool:
    """Poll ``predicate`` until it is true or ``timeout`` seconds pass; return its last truth."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(step)
    return bool(predicate())


# -- SMTP -----------------------------------------------------------------------------------


@dataclass
class Mail:
    """One message the SMTP server accepted."""

    sender: str
    recipients: list[str]
    message: Message
    raw: bytes
    login: str | None = None  # the AUTH user of the session, if it logged in

    @property
    def subject(self) -> str:
        raw = self.message["Subject"] or ""
        return str(email.header.make_header(email.header.decode_header(raw)))

    @property
    def body(self) -> str:
        """The text/plain part (else the first part), decoded."""
        part = self.message
        if part.is_multipart():
            parts = [p for p in part.walk() if not p.is_multipart()]
            part = next((p for p in parts if p.get_content_type() == "text/plain"), parts[0])
        payload = part.get_payload(decode=True) or b""
        return payload.decode(part.get_content_charset() or "utf-8", "replace")


class _MailHandler:
    def __init__(self, receiver: SMTPReceiver):
        self.receiver = receiver

    async def handle_DATA(self, server, session, envelope) -> str:
        raw = envelope.original_content or envelope.content
        message = email.message_from_bytes(raw)
        login = session.auth_data.login.decode() if session.authenticated else None
        mail = Mail(envelope.mail_from, list(envelope.rcpt_tos), message, raw, login)
        with self.receiver.lock:
            self.receiver.mails.append(mail)
        return "250 OK"


class SMTPReceiver:
    """An aiosmtpd server on 127.0.0.1 that keeps every message it gets.

    With ``users={"login": "password"}`` it offers AUTH (PLAIN/LOGIN, without TLS, as a local
    relay might) and accepts only those credentials; every attempt is kept in ``logins``.
    """

    def __init__(self, users: dict[str, str] | None = None) -> None:
        self.mails: list[Mail] = []
        self.logins: list[tuple[str, str]] = []
        self.users = users
        self.lock = threading.Lock()
        self.port = 0
        self.controller: Controller | None = None

    def _authenticate(self, server, session, envelope, mechanism, auth_data) -> AuthResult:
        if not isinstance(auth_data, LoginPassword):
            return AuthResult(success=False, handled=False)
        login, password = auth_data.login.decode(), auth_data.password.decode()
        self.logins.append((login, password))
        ok = self.users is not None and self.users.get(login) == password
        return AuthResult(success=ok, auth_data=auth_data)

    def start(self) -> SMTPReceiver:
        extra: dict[str, Any] = {}
        if self.users is not None:
            extra = {"authenticator": self._authenticate, "auth_require_tls": False}
        for _ in range(5):  # the free port may be taken between the probe and the bind
            self.port = free_port()
            self.controller = Controller(
                _MailHandler(self), hostname=HOST, port=self.port, ready_timeout=10, **extra
            )
            try:
                self.controller.start()
                return self
            except (OSError, RuntimeError):
                continue
        raise RuntimeError("could not start the SMTP receiver")

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    def __enter__(self) -> SMTPReceiver:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def url(self, to: str = "me@example.com", user: str = "", password: str = "") -> str:
        """An Apprise ``mailto://`` URL that sends here, unencrypted (``mode=insecure``)."""
        auth = f"{user}:{password}@" if user else ""
        return f"mailto://{auth}{HOST}:{self.port}?to={to}&from=simkeeper@example.com&mode=insecure"


# -- HTTP (json, ntfy, SMSEagle) --------------------------------------------------------------


@dataclass
class Request:
    """One complete HTTP request the receiver got."""

    method: str
    path: str  # with the query string, as sent
    headers: dict[str, str]
    body: bytes
    at: float  # time.monotonic() when the body had arrived

    @property
    def route(self) -> str:
        """The path without its query string."""
        return self.path.split("?", 1)[0]

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")

    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def message(self) -> str:
        """The notification text, whichever service shape the request has."""
        data = self.json()
        if "params" in data:  # SMSEagle JSON-RPC
            return data["params"]["message"]
        return data.get("message", "")

    @property
    def title(self) -> str:
        return self.json().get("title", "")


@dataclass
class HTTPReceiver:
    """A threaded HTTP server on 127.0.0.1 recording every request.

    ``status``: what it answers (200, or e.g. 500 to fail); may be changed while running.
    ``hang``: seconds to wait before answering (a dead-but-listening service).
    ``delay``: seconds every answer takes (to make sends take time); a ``(low, high)`` tuple
    picks a random delay in that range for each request.
    ``sms_token``: if set, the SMSEagle emulation rejects any other access token, as the
    gateway does.
    ``basic``: if set, ``{user: password}`` for HTTP Basic auth (decoded as Latin-1, as the
    standard says): any other login is answered 401. Every login tried is kept in ``logins``.
    The waits end early when the receiver is closed, and never exceed :data:`MAX_HANG`.
    """

    status: int = 200
    hang: float = 0.0
    delay: float | tuple[float, float] = 0.0
    sms_token: str | None = None
    basic: dict[str, str] | None = None
    requests: list[Request] = field(default_factory=list)
    logins: list[tuple[str, str]] = field(default_factory=list)
    incomplete: int = 0  # requests whose body was cut off (the sender died mid-send)

    def __post_init__(self) -> None:
        import random

        receiver = self
        self.lock = threading.Lock()
        self.closing = threading.Event()
        self.arrived = threading.Event()  # set on the first complete request
        self._random = random.Random(1234)

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            timeout = MAX_HANG

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                try:
                    body = self.rfile.read(length)
                except OSError:
                    body = b""
                if len(body) < length:
                    with receiver.lock:
                        receiver.incomplete += 1
                    self.close_connection = True
                    return
                request = Request(
                    self.command, self.path, dict(self.headers), body, time.monotonic()
                )
                with receiver.lock:
                    receiver.requests.append(request)
                    status = receiver.status
                    if receiver.basic is not None and not receiver.authorized(request):
                        status = 401
                    wait = min(receiver.hang + receiver._pick_delay(), MAX_HANG)
                receiver.arrived.set()
                if wait:
                    receiver.closing.wait(wait)
                reply = receiver.reply(request, status)
                data = json.dumps(reply).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except OSError:  # the sender gave up (timeout) or died
                    self.close_connection = True

            do_POST = do_PUT = do_GET = _handle

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer((HOST, 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def authorized(self, request: Request) -> bool:
        """Whether ``request`` carries one of the ``basic`` logins (recording what it tried)."""
        kind, _, token = request.headers.get("Authorization", "").partition(" ")
        if kind.lower() != "basic":
            return False
        try:
            user, _, password = base64.b64decode(token).decode("latin-1").partition(":")
        except ValueError:
            return False
        self.logins.append((user, password))
        return self.basic is not None and self.basic.get(user) == password

    def _pick_delay(self) -> float:
        if isinstance(self.delay, tuple):
            return self._random.uniform(*self.delay)
        return self.delay

    def reply(self, request: Request, status: int) -> dict[str, Any]:
        """The JSON body a real service answers with."""
        n = len(self.requests)
        if request.route == "/jsonrpc/sms":
            # SMSEagle API v2 JSON-RPC, responsetype "extended": a result object per message.
            try:
                token = request.json()["params"]["access_token"]
            except (ValueError, KeyError, TypeError):
                token = None
            if status != 200:
                return {"result": {"error_text": "Internal error", "status": "error"}}
            if self.sms_token is not None and token != self.sms_token:
                return {"result": {"error_text": "Invalid login or password", "status": "error"}}
            return {"result": {"message_id": str(n), "status": "ok"}}
        if status != 200:
            return {"code": status, "error": "receiver told to fail"}
        try:
            data = request.json()
        except ValueError:
            data = {}
        if isinstance(data, dict) and "topic" in data:  # ntfy publish
            return {"id": f"m{n}", "time": int(time.time()), "event": "message", **data}
        return {"ok": True}

    def start(self) -> HTTPReceiver:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.closing.set()
        self.server.shutdown()
        self.server.server_close()

    def __enter__(self) -> HTTPReceiver:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def clear(self) -> None:
        with self.lock:
            self.requests.clear()
        self.arrived.clear()

    # what was received

    def to(self, route: str) -> list[Request]:
        """The requests sent to ``route`` (path without query)."""
        return [r for r in list(self.requests) if r.route == route]

    @property
    def messages(self) -> list[str]:
        """The notification text of every request, in order."""
        return [r.message for r in list(self.requests)]

    @property
    def bodies(self) -> list[str]:
        return [r.text for r in list(self.requests)]

    # Apprise URLs that send here

    def json_url(self, path: str = "hook", query: str = "") -> str:
        return f"json://{HOST}:{self.port}/{path}" + (f"?{query}" if query else "")

    def ntfy_url(self, topic: str = "sims", query: str = "") -> str:
        return f"ntfy://{HOST}:{self.port}/{topic}" + (f"?{query}" if query else "")

    def smseagle_url(self, token: str = "gatewaytoken", phone: str = "+447700900123") -> str:
        """Plain http (``smseagle://``, not ``smseagles://``), as a LAN gateway may be."""
        return f"smseagle://{token}@{HOST}:{self.port}/{phone}"


class RefusingPort:
    """A port on 127.0.0.1 bound but not listening: every connection is refused at once."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind((HOST, 0))
        self.port = self.sock.getsockname()[1]

    def __enter__(self) -> RefusingPort:
        return self

    def __exit__(self, *exc: object) -> None:
        self.sock.close()


# -- fixtures -------------------------------------------------------------------------------


@pytest.fixture
def smtp_server() -> Iterator[SMTPReceiver]:
    """A running SMTP receiver without AUTH."""
    with SMTPReceiver() as server:
        yield server


@pytest.fixture
def http_receiver() -> Iterator[HTTPReceiver]:
    """A running HTTP receiver answering 200."""
    with HTTPReceiver() as receiver:
        yield receiver


@pytest.fixture
def make_http_receiver() -> Iterator[Callable[..., HTTPReceiver]]:
    """A factory: ``make_http_receiver(status=500, hang=..., delay=...)`` starts another HTTP
    receiver, stopped at the end of the test."""
    started: list[HTTPReceiver] = []

    def make(**kwargs: Any) -> HTTPReceiver:
        receiver = HTTPReceiver(**kwargs).start()
        started.append(receiver)
        return receiver

    yield make
    for receiver in started:
        receiver.stop()
