"""A python-dbusmock template: ModemManager (dbusmock's own ``modemmanager`` template) with one
modem whose ``Modem.Messaging`` and ``Sms`` objects behave as ModemManager's do.

``Messaging.Create(a{sv})`` makes an SMS object (State 1, stored) and returns its path;
``Sms.Send()`` sends it: with ``MM_PEER_MODE=ok`` the State becomes 5 (sent), ``fail`` answers
a ModemManager error and leaves it stored, ``stall`` holds the answer 3 s (the client times out)
and then sends it. Every Send that sent is appended to ``$MM_PEER_LOG`` (JSON lines), so the
tests count sends across killed simkeeper processes.

Received texts are SMS objects as ModemManager makes them: State 3 (received), PduType 1
(deliver), Number, Text and Timestamp (ISO 8601 with its offset); ``Messaging.List`` returns
them with the ones created. A test puts one there with ``Receive(number, text, timestamp)`` on
the modem's :data:`INJECT` interface (not ModemManager's: the mock's own door), or lists them
in ``$MM_PEER_RECEIVED`` (JSON ``[[number, text, timestamp], ...]``) before the mock starts.

Loaded by Debian's python3 (it has dbus-python) with python-dbusmock on its PYTHONPATH.
"""

import json
import os
import time

import dbus
from dbusmock import mockobject
from dbusmock.templates import modemmanager

BUS_NAME = modemmanager.BUS_NAME
MAIN_OBJ = modemmanager.MAIN_OBJ
MAIN_IFACE = modemmanager.MAIN_IFACE
SYSTEM_BUS = True
IS_OBJECT_MANAGER = False

MODEM_PATH = "/org/freedesktop/ModemManager1/Modems/0"
MESSAGING = "org.freedesktop.ModemManager1.Modem.Messaging"
SMS = "org.freedesktop.ModemManager1.Sms"
EQUIPMENT_ID = "356938035643809"
INJECT = "org.simkeeper.Test.Inbox"


def _log(entry):
    with open(os.environ["MM_PEER_LOG"], "a") as f:
        f.write(json.dumps(entry) + "\n")


def _send(self):
    mode = os.environ.get("MM_PEER_MODE", "ok")
    number = str(self.Get(SMS, "Number"))
    text = str(self.Get(SMS, "Text"))
    if mode == "fail":
        raise dbus.exceptions.DBusException(
            "Couldn't send SMS", name="org.freedesktop.ModemManager1.Error.Core.Failed"
        )
    if mode == "stall":
        time.sleep(3)
    _log({"path": str(self.__dbus_object_path__), "number": number, "text": text})
    self.UpdateProperties(SMS, {"State": dbus.UInt32(5)})


def _free_path():
    n = 0
    while f"/org/freedesktop/ModemManager1/SMS/{n}" in mockobject.objects:
        n += 1
    return f"/org/freedesktop/ModemManager1/SMS/{n}"


def _receive(self, number, text, timestamp):
    """A text arrives: an Sms object in State 3 (received), PduType 1 (deliver)."""
    path = _free_path()
    self.AddObject(
        path,
        SMS,
        {
            "State": dbus.UInt32(3),
            "PduType": dbus.UInt32(1),
            "Number": dbus.String(number),
            "Text": dbus.String(text),
            "Timestamp": dbus.String(timestamp),
        },
        [],
    )
    return dbus.ObjectPath(path)


def _create(self, props):
    path = _free_path()
    self.AddObject(
        path,
        SMS,
        {
            "State": dbus.UInt32(1),
            "PduType": dbus.UInt32(2),
            "Number": dbus.String(props.get("number", "")),
            "Text": dbus.String(props.get("text", "")),
            "DeliveryReportRequest": dbus.Boolean(False),
        },
        [("Send", "", "", _send)],
    )
    return dbus.ObjectPath(path)


def _list(self):
    return [
        dbus.ObjectPath(p)
        for p in mockobject.objects
        if p.startswith("/org/freedesktop/ModemManager1/SMS/")
    ]


def load(mock, parameters):
    modemmanager.load(mock, parameters)
    mock.AddObject(
        MODEM_PATH,
        modemmanager.MODEM_IFACE,
        {
            "State": dbus.Int32(modemmanager.MMModemState.STATE_REGISTERED),
            "EquipmentIdentifier": dbus.String(EQUIPMENT_ID),
            "Model": dbus.String("E1750"),
        },
        [],
    )
    modem = mockobject.objects[MODEM_PATH]
    modem.AddProperties(MESSAGING, {"Messages": dbus.Array([], signature="o")})
    modem.AddMethods(
        MESSAGING,
        [
            ("Create", "a{sv}", "o", _create),
            ("List", "", "ao", _list),
        ],
    )
    modem.AddMethods(INJECT, [("Receive", "sss", "o", _receive)])
    for number, text, timestamp in json.loads(os.environ.get("MM_PEER_RECEIVED", "[]")):
        _receive(modem, number, text, timestamp)
