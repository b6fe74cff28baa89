"""The ``[[gateways]]`` table of the config schema (:mod:`simkeeper.core.schema` lists it with the
others): what can send the autopilot's keep-alive text from a SIM."""

from __future__ import annotations

from simkeeper.core.keys import Key, Table

GATEWAY_KINDS = ("android-sms-gateway", "modemmanager")
# The kinds that can run a USSD code (a number's ``balance_check.via`` must name one): the one
# table of that capability, so a kind that gains it (sigmo) is added here and nowhere else.
USSD_KINDS = ("modemmanager",)

GATEWAYS = Table(
    "gateways",
    True,
    (
        Key(
            "name",
            "custom",
            "Unique; a number's `keepalive.via` names it.",
            required="yes",
            example='"phone"',
        ),
        Key(
            "kind",
            "custom",
            "`android-sms-gateway` (SMS Gateway for Android: its local server, or its cloud "
            "API at `https://api.sms-gate.app/3rdparty/v1`) or `modemmanager` (a modem on "
            "this host, over ModemManager's D-Bus API).",
            required="yes",
            example='"android-sms-gateway"',
        ),
        Key(
            "url",
            "custom",
            "android-sms-gateway: the server's address, e.g. `http://192.168.1.20:8080`.",
            default="",
            required="android-sms-gateway",
            example='"http://192.168.1.20:8080"',
        ),
        Key(
            "user",
            "custom",
            "android-sms-gateway: the login (Basic auth); leave out for a token in `password`.",
            default="",
            example='"sms"',
        ),
        Key(
            "password",
            "custom",
            "android-sms-gateway: the password or token; write `${VAR}` (looked up like a "
            "notify URL's secrets) rather than the secret itself.",
            default="",
            required="android-sms-gateway",
            example='"${SMSGATE_PASSWORD}"',
        ),
        Key(
            "modem",
            "custom",
            'modemmanager: `"any"` (the first modem) or a modem\'s equipment id (its IMEI).',
            default="any",
            shown_default='`"any"`',
            example='"any"',
        ),
    ),
)
