"""The ``[[gateways]]`` table of the config schema (:mod:`simkeeper.core.schema` lists it with the
others): what can send the autopilot's keep-alive text from a SIM."""

from __future__ import annotations

from simkeeper.core.keys import Key, Table

GATEWAY_KINDS = ("android-sms-gateway", "modemmanager", "sigmo")
# The kinds that can run a USSD code (a number's ``balance_check.via`` must name one): the one
# table of that capability, so a kind that gains it is added here and nowhere else.
USSD_KINDS = ("modemmanager", "sigmo")

# How each kind hands over the texts its SIMs receive (issue 26): SMS Gateway for Android posts
# them to the web face (its ``sms:received`` webhook); the daemon's worker asks the others.
INBOUND = {"android-sms-gateway": "webhook", "modemmanager": "poll", "sigmo": "poll"}

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
            "this host, over ModemManager's D-Bus API) or `sigmo` (a [Sigmo](https://github.com/"
            "damonto/sigmo) server: its REST API over ModemManager modems).",
            required="yes",
            example='"android-sms-gateway"',
        ),
        Key(
            "url",
            "custom",
            "android-sms-gateway and sigmo: the server's address, e.g. `http://192.168.1.20:8080`.",
            default="",
            required="android-sms-gateway, sigmo",
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
            "android-sms-gateway: the password or token; sigmo: its API token (sent as a Bearer "
            "token; leave out when the server asks for none). Write `${VAR}` (looked up like a "
            "notify URL's secrets) rather than the secret itself.",
            default="",
            required="android-sms-gateway",
            example='"${SMSGATE_PASSWORD}"',
        ),
        Key(
            "modem",
            "custom",
            'modemmanager and sigmo: `"any"` (the first modem) or a modem\'s equipment id (its '
            "IMEI).",
            default="any",
            shown_default='`"any"`',
            example='"any"',
        ),
        Key(
            "signing_key",
            "custom",
            "android-sms-gateway: the webhook signing key set in the app (Settings, Webhooks), "
            "so simkeeper takes the texts the phone receives (`sms:received`, posted to the web "
            "face at the address `simkeeper webhook NAME` prints): a post without its valid "
            "`X-Signature`, or signed over 5 minutes away from now, is refused. `${VAR}` as for "
            "`password`.",
            default="",
            example='"${SMSGATE_SIGNING_KEY}"',
        ),
    ),
)
