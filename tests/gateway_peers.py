"""Real protocol peers on this machine for the autopilot's gateways.

* :class:`SmsGatewayPeer`: an HTTP server on 127.0.0.1 implementing SMS Gateway for Android's
  API exactly as its Python client (``android-sms-gateway``) calls it: ``POST /messages`` (Basic
  auth, JSON ``{id, phoneNumbers, textMessage: {text}, simNumber, withDeliveryReport}``) and
  ``GET /messages/{id}`` (``{id, state, recipients: [{phoneNumber, state}]}``, 404 for an id it
  never had). ``mode`` picks the behaviour: ``deliver`` (Pending, then Delivered on the next
  GET), ``sent`` (Sent, no report ever), ``fail`` (Failed on the next GET), ``pending`` (never
  moves), ``hang`` (keeps the message, then holds the answer), ``error`` (answers 500 without
  keeping it), ``error-kept`` (keeps it, then answers 500). Every POST is appended to a JSON
  lines file, so a test can count sends across killed processes.
* :class:`ModemManagerPeer`: python-dbusmock's ModemManager template on a private
  ``dbus-daemon`` bus, with our ``mm_messaging.py`` template adding a modem's Messaging and Sms
  objects whose ``Send`` succeeds, fails or stalls (with ``ussd``, our ``mm_ussd.py`` on top:
  the modem's ``Modem3gpp.Ussd`` answering a balance code).

PYTEST_DONT_REWRITE
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import shutil
import signal
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

MAX_HANG = 15.0
HOST = "127.0.0.1"
HERE = Path(__file__).parent
ROOT = HERE.parent
DBUSMOCK_PATH = ROOT / ".venv" / "dbusmock"  # pip install --target (Makefile): no dbus-python
SYSTEM_PYTHON = "/usr/bin/python3"  # Debian's, with python3-dbus for the mock's side


class SmsGatewayPeer:
    """SMS Gateway for Android's local server API, on 127.0.0.1."""

    def __init__(self, log: Path, user: str = "sms", password: str = "pw", mode: str = "deliver"):
        self.log = log
        self.user, self.password, self.mode = user, password, mode
        self.messages: dict[str, dict[str, Any]] = {}
        self.lock = threading.Lock()
        self.release = threading.Event()
        peer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def _auth(self) -> bool:
                want = base64.b64encode(f"{peer.user}:{peer.password}".encode()).decode()
                if self.headers.get("Authorization") != f"Basic {want}":
                    self._json(401, {"message": "unauthorized"})
                    return False
                return True

            def _json(self, code: int, body: dict[str, Any]) -> None:
                data = json.dumps(body).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                # The client was killed or gave up: what it sent is logged.
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    self.wfile.write(data)

            def do_POST(self) -> None:
                if not self._auth() or not self.path.startswith("/messages"):
                    return
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with peer.lock:
                    with open(peer.log, "a") as f:
                        f.write(json.dumps(body) + "\n")
                    mode = peer.mode
                    if mode != "error":
                        peer.messages[body["id"]] = {"body": body, "state": "Pending", "gets": 0}
                if mode == "hang":
                    peer.release.wait(MAX_HANG)
                if mode in ("error", "error-kept"):
                    self._json(500, {"message": "internal error"})
                    return
                self._json(200, peer.state_of(body["id"]))

            def do_GET(self) -> None:
                if not self._auth():
                    return
                msg_id = self.path.rsplit("/", 1)[-1]
                with peer.lock:
                    found = peer.messages.get(msg_id)
                    if found is None:
                        self._json(404, {"message": "message not found"})
                        return
                    found["gets"] += 1
                    found["state"] = {
                        "deliver": "Delivered",
                        "sent": "Sent",
                        "fail": "Failed",
                    }.get(peer.mode, found["state"])
                    if peer.mode == "error-kept":
                        found["state"] = "Delivered"  # it did go out, the answer was lost
                    body = peer.state_of(msg_id)
                self._json(200, body)

        self.server = ThreadingHTTPServer((HOST, 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]

    def state_of(self, msg_id: str) -> dict[str, Any]:
        m = self.messages[msg_id]
        to = m["body"]["phoneNumbers"][0]
        recipient = {"phoneNumber": to, "state": m["state"]}
        if m["state"] == "Failed":
            recipient["error"] = "RESULT_ERROR_GENERIC_FAILURE"
        return {"id": msg_id, "state": m["state"], "recipients": [recipient]}

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def posts(self) -> list[dict[str, Any]]:
        """Every message POSTed, across restarts of simkeeper."""
        if not self.log.exists():
            return []
        return [json.loads(line) for line in self.log.read_text().splitlines() if line]

    def __enter__(self) -> SmsGatewayPeer:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


def dbus_available() -> str | None:
    """Why the ModemManager peer cannot run here (None when it can)."""
    if not shutil.which("dbus-daemon"):
        return "dbus-daemon is missing (apt-get install dbus-daemon)"
    if not Path(SYSTEM_PYTHON).exists():
        return f"{SYSTEM_PYTHON} is missing"
    probe = subprocess.run([SYSTEM_PYTHON, "-c", "import dbus"], capture_output=True)
    if probe.returncode:
        return "python3-dbus is missing (apt-get install python3-dbus)"
    if not (DBUSMOCK_PATH / "dbusmock" / "templates" / "modemmanager.py").exists():
        return f"python-dbusmock is missing from {DBUSMOCK_PATH} (make .venv/bin/simkeeper)"
    return None


class ModemManagerPeer:
    """A private bus with python-dbusmock's ModemManager and our Messaging template on it."""

    def __init__(
        self,
        folder: Path,
        mode: str = "ok",
        ussd: dict[str, str] | None = None,
        received: tuple[tuple[str, str, str], ...] = (),
    ):
        self.folder = folder
        self.mode = mode
        self.sent_log = folder / "mm-sent.jsonl"
        # With ``ussd`` (MM_USSD_* settings, see tests/mm_ussd.py) the modem also answers USSD.
        self.ussd = ussd
        self.ussd_log = folder / "mm-ussd.jsonl"
        self.received = [list(r) for r in received]  # texts on the modem when it comes up

    def __enter__(self) -> ModemManagerPeer:
        conf = self.folder / "bus.conf"
        socket = self.folder / "bus.sock"
        conf.write_text(
            f"""<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path={socket}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <allow own="*"/>
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
  </policy>
</busconfig>
"""
        )
        self.bus = subprocess.Popen(
            ["dbus-daemon", f"--config-file={conf}", "--nofork", "--print-address"],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        assert self.bus.stdout is not None
        self.address = self.bus.stdout.readline().strip()
        env = {
            **os.environ,
            "DBUS_SYSTEM_BUS_ADDRESS": self.address,
            "PYTHONPATH": f"{DBUSMOCK_PATH}:{HERE}",
            "MM_PEER_MODE": self.mode,
            "MM_PEER_LOG": str(self.sent_log),
            "MM_PEER_RECEIVED": json.dumps(self.received),
        }
        template = "mm_messaging.py"
        if self.ussd is not None:
            env.update(self.ussd, MM_USSD_LOG=str(self.ussd_log))
            template = "mm_ussd.py"
        self.mock = subprocess.Popen(
            [
                SYSTEM_PYTHON,
                "-m",
                "dbusmock",
                "--system",
                "--template",
                str(HERE / template),
            ],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=open(self.folder / "dbusmock.log", "w"),
        )
        self._wait_ready(env)
        return self

    def _wait_ready(self, env: dict[str, str]) -> None:
        deadline = time.monotonic() + 20
        probe = (
            "from jeepney import DBusAddress, new_method_call\n"
            "from jeepney.io.blocking import open_dbus_connection\n"
            "from jeepney.wrappers import unwrap_msg\n"
            "c = open_dbus_connection(bus='SYSTEM')\n"
            "a = DBusAddress('/org/freedesktop/ModemManager1', bus_name="
            "'org.freedesktop.ModemManager1', interface='org.freedesktop.DBus.ObjectManager')\n"
            "r = c.send_and_get_reply(new_method_call(a, 'GetManagedObjects'), timeout=2)\n"
            "assert '/org/freedesktop/ModemManager1/Modems/0' in unwrap_msg(r)[0]\n"
        )
        python = str(ROOT / ".venv" / "bin" / "python")
        while time.monotonic() < deadline:
            done = subprocess.run([python, "-c", probe], env=env, capture_output=True)
            if done.returncode == 0:
                return
            time.sleep(0.2)
        raise RuntimeError(
            "the ModemManager mock did not come up: " + (self.folder / "dbusmock.log").read_text()
        )

    def receive(self, number: str, text: str, timestamp: str) -> str:
        """A text arrives at the modem (the mock's ``Receive``): its Sms object's path."""
        from jeepney import DBusAddress, new_method_call
        from jeepney.io.blocking import open_dbus_connection
        from jeepney.wrappers import unwrap_msg

        address = DBusAddress(
            "/org/freedesktop/ModemManager1/Modems/0",
            bus_name="org.freedesktop.ModemManager1",
            interface="org.simkeeper.Test.Inbox",
        )
        with open_dbus_connection(bus=self.address) as conn:
            msg = new_method_call(address, "Receive", "sss", (number, text, timestamp))
            return str(unwrap_msg(conn.send_and_get_reply(msg, timeout=5))[0])

    def sent(self) -> list[dict[str, Any]]:
        """Every Sms.Send the mock answered (or stalled on)."""
        if not self.sent_log.exists():
            return []
        return [json.loads(line) for line in self.sent_log.read_text().splitlines() if line]

    def ussd_calls(self) -> list[dict[str, Any]]:
        """Every USSD call the mock answered (Initiate, Respond, Cancel), in order."""
        if not self.ussd_log.exists():
            return []
        return [json.loads(line) for line in self.ussd_log.read_text().splitlines() if line]

    def __exit__(self, *exc: object) -> None:
        for proc in (self.mock, self.bus):
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
