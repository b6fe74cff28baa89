"""A python-dbusmock template: our ``mm_messaging`` ModemManager (one modem) whose modem also
has ModemManager's ``Modem.Modem3gpp.Ussd`` interface, answering as a carrier would.

``Initiate(s command) -> s reply`` and ``Respond(s response) -> s reply``, with the ``State``
property (1 idle, 2 active, 3 user-response) as ModemManager keeps it. ``$MM_USSD_MODE``:

* ``reply``: Initiate returns ``$MM_USSD_REPLY`` as it is (plain text, or the hex of UCS-2 or
  of packed GSM 7-bit, as some modems hand it over);
* ``menu``: Initiate returns ``$MM_USSD_MENU`` and waits for an answer (State 3); Respond
  returns ``$MM_USSD_REPLY`` when answered ``$MM_USSD_CHOICE`` (default ``1``), else an error;
* ``timeout``: Initiate holds its answer ``$MM_USSD_HOLD`` seconds (default 3: the client has
  given up by then);
* ``error``: Initiate answers a ModemManager error, as a network that rejects the code does.

Every call is appended to ``$MM_USSD_LOG`` (JSON lines). Loaded by Debian's python3 (it has
dbus-python) with python-dbusmock and this folder on its PYTHONPATH.
"""

import json
import os
import time

import dbus
import mm_messaging
from dbusmock import mockobject

BUS_NAME = mm_messaging.BUS_NAME
MAIN_OBJ = mm_messaging.MAIN_OBJ
MAIN_IFACE = mm_messaging.MAIN_IFACE
SYSTEM_BUS = True
IS_OBJECT_MANAGER = False

USSD = "org.freedesktop.ModemManager1.Modem.Modem3gpp.Ussd"
IDLE, ACTIVE, USER_RESPONSE = 1, 2, 3


def _log(entry):
    path = os.environ.get("MM_USSD_LOG")
    if path:
        with open(path, "a") as f:
            f.write(json.dumps(entry) + "\n")


def _state(self, value):
    self.UpdateProperties(USSD, {"State": dbus.UInt32(value)})


def _initiate(self, command):
    mode = os.environ.get("MM_USSD_MODE", "reply")
    _log({"call": "Initiate", "command": str(command)})
    if self.Get(USSD, "State") != IDLE:
        raise dbus.exceptions.DBusException(
            "USSD session already active",
            name="org.freedesktop.ModemManager1.Error.Core.WrongState",
        )
    if mode == "error":
        raise dbus.exceptions.DBusException(
            "USSD request failed", name="org.freedesktop.ModemManager1.Error.Core.Failed"
        )
    if mode == "timeout":
        time.sleep(float(os.environ.get("MM_USSD_HOLD", "3")))
        return dbus.String(os.environ.get("MM_USSD_REPLY", ""))
    if mode == "menu":
        _state(self, USER_RESPONSE)
        return dbus.String(os.environ["MM_USSD_MENU"])
    return dbus.String(os.environ.get("MM_USSD_REPLY", ""))


def _respond(self, response):
    _log({"call": "Respond", "response": str(response)})
    if self.Get(USSD, "State") != USER_RESPONSE:
        raise dbus.exceptions.DBusException(
            "no USSD session waits for a response",
            name="org.freedesktop.ModemManager1.Error.Core.WrongState",
        )
    _state(self, IDLE)
    if str(response) != os.environ.get("MM_USSD_CHOICE", "1"):
        raise dbus.exceptions.DBusException(
            "invalid menu choice", name="org.freedesktop.ModemManager1.Error.Core.Failed"
        )
    return dbus.String(os.environ.get("MM_USSD_REPLY", ""))


def _cancel(self):
    _log({"call": "Cancel"})
    _state(self, IDLE)


def load(mock, parameters):
    mm_messaging.load(mock, parameters)
    modem = mockobject.objects[mm_messaging.MODEM_PATH]
    modem.AddProperties(
        USSD,
        {
            "State": dbus.UInt32(IDLE),
            "NetworkNotification": dbus.String(""),
            "NetworkRequest": dbus.String(""),
        },
    )
    modem.AddMethods(
        USSD,
        [
            ("Initiate", "s", "s", _initiate),
            ("Respond", "s", "s", _respond),
            ("Cancel", "", "", _cancel),
        ],
    )
