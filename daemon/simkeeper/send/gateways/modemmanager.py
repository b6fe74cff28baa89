"""A modem on this host through ModemManager's D-Bus API (``org.freedesktop.ModemManager1``),
spoken with jeepney: ``Messaging.Create`` makes the SMS object, ``Sms.Send`` sends it, and its
``State`` property says whether it left (no delivery report is asked for: ``sent`` is proof).

The system bus is used, or ``$DBUS_SYSTEM_BUS_ADDRESS`` where set (the tests' private bus).
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import suppress
from datetime import datetime
from typing import Any

from simkeeper.core.model import Gateway
from simkeeper.engine.ussd import decode
from simkeeper.send.gateways.client import GatewayError, GatewayTimeout, Inbound, Outcome

SERVICE = "org.freedesktop.ModemManager1"
ROOT = "/org/freedesktop/ModemManager1"
MODEM = "org.freedesktop.ModemManager1.Modem"
MESSAGING = "org.freedesktop.ModemManager1.Modem.Messaging"
SMS = "org.freedesktop.ModemManager1.Sms"
USSD = "org.freedesktop.ModemManager1.Modem.Modem3gpp.Ussd"
USSD_USER_RESPONSE = 3  # MMModem3gppUssdSessionState: the network waits for our answer
# MMSmsState: 1 stored (created, never sent: after a crash before Send), 4 sending, 5 sent.
SMS_STATES = {0: "pending", 1: "missing", 4: "pending", 5: "sent"}
RECEIVED = 3  # MMSmsState: received in full (2 is "receiving": parts still to come)
DELIVER = 1  # MMSmsPduType: a text to us (2 submit: ours; 3 status report)


class ModemManagerClient:
    """One modem under ModemManager: the first one, or the one with ``modem``'s equipment id."""

    def __init__(self, gateway: Gateway, timeout: float) -> None:
        self.modem = gateway.modem
        self.timeout = timeout

    def _call(
        self, path: str, interface: str, method: str, sig: str = "", body: tuple[Any, ...] = ()
    ) -> tuple[Any, ...]:
        from jeepney import DBusAddress, new_method_call
        from jeepney.io.blocking import open_dbus_connection
        from jeepney.wrappers import DBusErrorResponse, unwrap_msg

        address = DBusAddress(path, bus_name=SERVICE, interface=interface)
        try:
            with open_dbus_connection(bus="SYSTEM") as conn:
                reply = conn.send_and_get_reply(
                    new_method_call(address, method, sig, body), timeout=self.timeout
                )
            return tuple(unwrap_msg(reply))
        except DBusErrorResponse as e:
            raise GatewayError(f"ModemManager: {e.name}", refused=True) from None
        except TimeoutError:
            raise GatewayTimeout("ModemManager did not answer in time") from None
        except Exception as e:  # no bus, no ModemManager
            raise GatewayError(f"ModemManager did not answer ({type(e).__name__})") from None

    def _property(self, path: str, interface: str, name: str) -> Any:
        (value,) = self._call(
            path, "org.freedesktop.DBus.Properties", "Get", "ss", (interface, name)
        )
        return value[1]

    def _modem_path(self) -> str:
        (objects,) = self._call(ROOT, "org.freedesktop.DBus.ObjectManager", "GetManagedObjects")
        for path, interfaces in sorted(objects.items()):
            if MODEM not in interfaces:
                continue
            equipment = interfaces[MODEM].get("EquipmentIdentifier", ("s", ""))[1]
            if self.modem == "any" or equipment == self.modem:
                return str(path)
        raise GatewayError(f"ModemManager has no modem {self.modem!r}", refused=True)

    def send(
        self, msg_id: str, to: str, text: str, sim: int | None, keep_ref: Callable[[str], None]
    ) -> Outcome:
        """Create the SMS object, hand its path to ``keep_ref`` (recorded before the next
        step), then ``Sms.Send`` it and read its State."""
        modem = self._modem_path()
        props = {"number": ("s", to), "text": ("s", text)}
        (path,) = self._call(modem, MESSAGING, "Create", "a{sv}", (props,))
        keep_ref(str(path))
        self._call(str(path), SMS, "Send")
        return self.state(msg_id, str(path), to, text)

    def state(self, msg_id: str, ref: str | None, to: str, text: str) -> Outcome:
        """The State of SMS object ``ref``; ``missing`` when it never was created."""
        if not ref:
            return Outcome("missing", reports=False)
        try:
            value = self._property(ref, SMS, "State")
        except GatewayError as e:
            if e.refused:  # the object is gone (UnknownObject): never sent by us
                return Outcome("missing", reports=False)
            raise
        return Outcome(SMS_STATES.get(int(value), "failed"), ref=ref, reports=False)

    def ussd(self, code: str, replies: tuple[str, ...] = ()) -> str:
        """``Ussd.Initiate`` the code, ``Respond`` with each of ``replies`` in turn (a menu),
        and return the last reply decoded (some modems hand over the hex of UCS-2 or GSM 7-bit).
        A session left open (a menu we did not finish, an error midway) is cancelled."""
        modem = self._modem_path()
        done = False
        try:
            (reply,) = self._call(modem, USSD, "Initiate", "s", (code,))
            for answer in replies:
                (reply,) = self._call(modem, USSD, "Respond", "s", (answer,))
            done = True
        finally:
            if not done or self._waiting(modem):
                self._cancel(modem)
        return decode(str(reply))

    def _waiting(self, modem: str) -> bool:
        try:
            return int(self._property(modem, USSD, "State")) == USSD_USER_RESPONSE
        except GatewayError:
            return False

    def _cancel(self, modem: str) -> None:
        with suppress(GatewayError):  # nothing open, or ModemManager is gone: nothing to tidy
            self._call(modem, USSD, "Cancel")

    def received(self, since: datetime | None) -> list[Inbound]:
        """The modem's received texts (``Messaging.List``, each Sms object's State 3 and
        PduType 1), newer than ``since``; ``ref`` is made from the sender, time and words (the
        object's path is not kept: ModemManager numbers its objects anew after a restart)."""
        modem = self._modem_path()
        (paths,) = self._call(modem, MESSAGING, "List")
        found = []
        for path in paths:
            try:
                props = self._all(str(path))
            except GatewayError as e:
                if e.refused:  # deleted between List and now
                    continue
                raise
            text = self._text(str(path), props)
            if text is not None and (since is None or text.at > since):
                found.append(text)
        return found

    def _all(self, path: str) -> dict[str, Any]:
        (props,) = self._call(path, "org.freedesktop.DBus.Properties", "GetAll", "s", (SMS,))
        return {k: v[1] for k, v in props.items()}

    def _text(self, path: str, props: dict[str, Any]) -> Inbound | None:
        if int(props.get("State", 0)) != RECEIVED or int(props.get("PduType", 0)) != DELIVER:
            return None
        try:
            at = datetime.fromisoformat(str(props.get("Timestamp", "")))
        except ValueError:
            return None
        if at.tzinfo is None:
            return None  # a time without its offset cannot be placed
        return Inbound(
            sender=str(props.get("Number", "")),
            text=str(props.get("Text", "")),
            at=at,
            ref=f"mm:{self.modem}:{_digest(props, at)}",
        )


def _digest(props: dict[str, Any], at: datetime) -> str:
    import hashlib

    key = "\x00".join((str(props.get("Number", "")), at.isoformat(), str(props.get("Text", ""))))
    return hashlib.sha256(key.encode()).hexdigest()[:24]
