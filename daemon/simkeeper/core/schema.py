"""The config schema: every key of every table once, with its type, default, range and docs.

This is the one place a key is declared. The validator (:mod:`simkeeper.config.validate`) walks it
for the per-key type and range checks, the model (:mod:`simkeeper.core.model`) takes its defaults
from it, and :mod:`simkeeper.config.docs` renders the README's configuration tables and
``config.example.toml`` from it. Rules between keys (a rolling number needs ``last_renewed``)
stay small named functions in the validator.
"""

from __future__ import annotations

from datetime import time

from simkeeper.core.keys import (
    FIRST_DAY,
    LAST_DAY,
    MAX_AMOUNT,
    MAX_LEAD_DAYS,
    MAX_SPAN_DAYS,
    Key,
    Table,
)
from simkeeper.core.schema_gateways import GATEWAY_KINDS as GATEWAY_KINDS
from simkeeper.core.schema_gateways import GATEWAYS as GATEWAYS
from simkeeper.core.schema_gateways import USSD_KINDS as USSD_KINDS
from simkeeper.core.schema_inbound import INBOUND_KEYS

SETTINGS = Table(
    "settings",
    False,
    (
        Key(
            "timezone",
            "zone",
            'IANA zone (`Asia/Shanghai`) for reminder times and "today".',
            shown_default="the system's zone",
            example='"Asia/Shanghai"',
            note="IANA zone for reminders; default: the system's zone",
            active=True,
        ),
        Key(
            "remind_at",
            "time",
            "Local time of day reminders go out (`HH:MM` or `HH:MM:SS`). A time skipped by a "
            "DST change goes out at the first instant after; an ambiguous one at the first.",
            default=time(9, 0),
            shown_default='`"09:00"`',
            example='"09:00"',
            note="local time of day reminders go out",
            active=True,
        ),
        Key(
            "remind",
            "leads",
            "Lead times before each deadline: `Nd` or `Nw`; `0d` is the day itself.",
            default=(14, 3, 1),
            shown_default='`["14d", "3d", "1d"]`',
            low=0,
            high=MAX_LEAD_DAYS,
            unit="days",
            example='["14d", "3d", "1d"]',
            note="default lead times before each deadline",
            active=True,
        ),
        Key(
            "state",
            "string",
            "SQLite file; a relative path is taken inside the state folder (below). Or a "
            "PostgreSQL database, `postgresql://user@host/db` (password as `${VAR}`, or in "
            "`~/.pgpass`; needs `pip install simkeeper[postgresql]`), which any number of "
            "daemons on different hosts can share (see More than one host).",
            shown_default="see below",
            example='"simkeeper.db"',
            note="SQLite file or postgresql:// URL; default: $STATE_DIRECTORY or ~/.local/state",
        ),
        Key(
            "language",
            "language",
            "`en` or `zh-CN`: the language of messages, subjects, the calendar feed and the "
            "command output (`upcoming`, `history`, `summary`, ...).",
            default="en",
            shown_default='`"en"`',
            example='"en"',
            note="en or zh-CN",
            active=True,
        ),
        Key(
            "digest",
            "digest",
            'A weekly list of the next 30 days, e.g. `"mon 09:00"`.',
            shown_default="off",
            example='"mon 09:00"',
            note="weekly list of the next 30 days; off when left out",
        ),
        Key(
            "overdue_every",
            "days",
            "After a deadline passes unrenewed, alert this often...",
            default=1,
            shown_default='`"1d"`',
            low=1,
            high=MAX_LEAD_DAYS,
            unit="days",
            example='"1d"',
            note="after a missed deadline, alert this often...",
        ),
        Key(
            "overdue_for",
            "days",
            '...for this long. `"0d"` turns overdue alerts off (autopay lines).',
            default=30,
            shown_default='`"30d"`',
            low=0,
            high=MAX_LEAD_DAYS,
            unit="days",
            example='"30d"',
            note='...for this long ("0d" turns overdue alerts off)',
        ),
        Key(
            "calendar",
            "string",
            "An `.ics` file the daemon (and `send-due`) keeps current on every pass; a "
            "relative path is taken inside the state folder.",
            shown_default="off",
            example='"renewals.ics"',
            note="keep an iCalendar file current for a calendar app",
        ),
        Key(
            "calendar_days",
            "int",
            "How far ahead that file reaches.",
            default=365,
            shown_default="`365`",
            low=1,
            high=3660,
            unit="days",
            example="365",
            note="how far ahead the calendar file reaches",
        ),
        Key(
            "calendar_mode",
            "calendar_mode",
            'The calendar file\'s mode; `"0640"` lets its group read it (e.g. a web server '
            "serving it). It holds names, notes and deadlines.",
            default=0o600,
            shown_default='`"0600"`',
            example='"0600"',
            note='"0640" lets the file\'s group (a web server) read it',
        ),
        Key(
            "send_timeout",
            "number",
            "Seconds one target may take before the send counts as failed.",
            default=10.0,
            shown_default="`10`",
            low=1,
            high=300,
            unit="seconds",
            example="10",
            note="seconds a target may take before its send fails",
        ),
        Key(
            "heartbeat",
            "http_url",
            "An http(s) URL fetched (GET) after every pass, for a dead man's switch: "
            'healthchecks.io (`"https://hc-ping.com/<uuid>"`), an Uptime Kuma push URL and the '
            "like. Bounded by a 5 s timeout, sent after the pass's reminders, never delaying "
            "one; logs show only its scheme and host.",
            shown_default="off",
            example='"https://hc-ping.com/<uuid>"',
            note="fetched after every pass (a dead man's switch)",
        ),
        Key(
            "heartbeat_fail",
            "heartbeat_fail",
            "What to fetch after a failed pass (a target failed, or the pass itself): a suffix "
            "added to the `heartbeat` URL's path (healthchecks' `/fail`), a full URL (e.g. an "
            'Uptime Kuma push URL with `?status=down`), or `""` for nothing.',
            default="/fail",
            shown_default='`"/fail"`',
            example='"/fail"',
            note="after a failed pass: a path suffix, a URL, or nothing",
        ),
        Key(
            "retention",
            "days",
            "How long sent (or given up) reminders stay in `history` and in the state "
            "database: older ones are compacted once a day, so the file stays small. What "
            "later reminders depend on is kept; renewals and top-ups are never removed.",
            default=90,
            shown_default='`"90d"`',
            low=7,
            high=MAX_SPAN_DAYS,
            unit="days",
            example='"90d"',
            note="how long sent reminders are kept in the state database",
        ),
        Key(
            "keepalive_budget",
            "custom",
            "The autopilot's hard cap on what its keep-alive texts may cost, per currency over "
            'a rolling window: `{ GBP = 2.00, per = "365d" }`. Without it the autopilot sends '
            "nothing (off by default). An attempt is counted from the moment it is recorded, "
            "sent or not.",
            shown_default="off",
            example='{ GBP = 2.00, per = "365d" }',
            note="the autopilot's spending cap; off when left out",
        ),
        Key(
            "keepalive_wait",
            "custom",
            "How long the autopilot waits for the carrier's proof (delivered, or sent where no "
            "report comes) before it gives up and the owner gets the reminder: `Nh`, 1 to 72.",
            default=6,
            shown_default='`"6h"`',
            example='"6h"',
            note="how long to wait for a keep-alive text's proof",
        ),
    ),
)

NUMBERS = Table(
    "numbers",
    True,
    (
        Key(
            "name",
            "custom",
            "Unique; used in commands, messages and history.",
            required="yes",
            example='"giffgaff"',
        ),
        Key(
            "number",
            "phone",
            'In international format (`"+44 7911 123456"`); validated and stored as E.164.',
            required="yes",
            example='"+44 7911 123456"',
        ),
        Key(
            "carrier",
            "string",
            "Shown in reminders.",
            default="",
            example='"T-Mobile Prepaid"',
        ),
        Key(
            "cycle",
            "cycle",
            "`daily`, `weekly`, `fortnightly` (14 days), `monthly`, `quarterly`, `yearly` (or "
            "`annually`), or `every N days/weeks/months/years`. Without it, `due` is a one-off "
            "deadline.",
            required="for repeating plans",
            high=MAX_SPAN_DAYS,
            unit="days",
            example='"monthly"',
        ),
        Key(
            "due",
            "date",
            "Any one due date of the cycle (`2026-12-15`, no quotes). Occurrences are "
            "`due + k × cycle`, each computed from `due` itself: a cycle due on Jan 31 falls on "
            "Feb 28/29, then Mar 31.",
            required="fixed schedules",
            low=FIRST_DAY,
            high=LAST_DAY,
            example="2026-12-15",
        ),
        Key(
            "note",
            "string",
            "Shown in reminders.",
            default="",
            example='"Refill $3 online"',
        ),
        Key(
            "remind",
            "leads",
            "Overrides `settings.remind` for this number.",
            low=0,
            high=MAX_LEAD_DAYS,
            unit="days",
            example='["7d", "1d"]',
        ),
        Key(
            "timezone",
            "zone",
            "Overrides `settings.timezone` for this number.",
            example='"America/Los_Angeles"',
        ),
        Key(
            "rolling",
            "bool",
            "`true` for a keep-alive window: the deadline is the last renewal + `cycle`.",
            default=False,
            example="true",
        ),
        Key(
            "last_renewed",
            "date",
            "The last top-up or activity. A renewal recorded with `simkeeper renewed` counts "
            "too; the later wins.",
            required="with `rolling`",
            low=FIRST_DAY,
            high=LAST_DAY,
            example="2026-06-01",
        ),
        Key(
            "notify",
            "custom",
            "Target names or tags to send to; default every target.",
            default=(),
            example='["email"]',
        ),
        Key(
            "escalate",
            "custom",
            'Extra targets for overdue alerts, e.g. `["sms"]`.',
            default=(),
            example='["sms"]',
        ),
        Key(
            "overdue_every",
            "days",
            "Overrides `settings.overdue_every` for this number.",
            default=SETTINGS.default("overdue_every"),
            low=1,
            high=MAX_LEAD_DAYS,
            unit="days",
            example='"1d"',
        ),
        Key(
            "overdue_for",
            "days",
            "Overrides `settings.overdue_for` for this number.",
            default=SETTINGS.default("overdue_for"),
            low=0,
            high=MAX_LEAD_DAYS,
            unit="days",
            example='"30d"',
        ),
        Key(
            "cost",
            "amount",
            "The charge per cycle, for `summary` and balances. Above 0, below 10^9.",
            low=0,
            high=MAX_AMOUNT,
            above=True,
            example="3.00",
        ),
        Key(
            "currency",
            "currency",
            "The ISO 4217 code of `cost` and `balance`.",
            default="",
            example='"USD"',
        ),
        Key(
            "balance",
            "amount",
            "The balance on `balance_date`: simkeeper projects when it runs out and reminds "
            "you to top up before. Top-ups dated after `balance_date` are added. Charges the "
            "balance covers are paid automatically, so they get no renew reminder or overdue "
            "alert; the first one it cannot cover gets both.",
            low=0,
            high=MAX_AMOUNT,
            example="10.00",
        ),
        Key(
            "balance_date",
            "date",
            "The day `balance` was read.",
            low=FIRST_DAY,
            high=LAST_DAY,
            example="2026-11-20",
        ),
        Key(
            "plan",
            "custom",
            "A built-in plan (`simkeeper plans` lists them): fills `carrier`, `cycle`, "
            "`rolling`, the renewal rules below, `after_deadline`, a `note` saying what counts "
            "as activity and `renew_url`. Any key written in the entry overrides the plan's "
            "value; a rolling plan still needs `last_renewed`, a fixed one `due`.",
            default="",
            example='"giffgaff"',
        ),
        Key(
            "on_renewal",
            "renewal_rule",
            'How a renewal moves the deadline: `"reset"` (the default, as before: renewal date '
            '+ cycle), `"extend"` (unexpired validity stacks: the later of the old deadline and '
            'the renewal date, + cycle) or `"later"` (the later of the old deadline and '
            "renewal date + cycle).",
            default="reset",
            required="with `rolling`",
            example='"extend"',
        ),
        Key(
            "min_amount",
            "limited_amount",
            "A renewal or top-up recorded with a smaller `--amount` is kept in the history but "
            "moves no deadline (one without an amount counts). Above 0, below 10^9.",
            low=0,
            high=MAX_AMOUNT,
            above=True,
            example="100",
        ),
        Key(
            "validity",
            "custom",
            'What a renewal buys by its amount: `[{from = 100, cycle = "every 180 days"}, '
            '{from = 300, cycle = "every 365 days"}]`; the tier with the largest `from` not '
            "above the amount applies; without `--amount` (or below every `from`), `cycle` "
            "does. At most 10 years each.",
            default=(),
            required="with `rolling`",
            high=MAX_SPAN_DAYS,
            example='[{from = 100, cycle = "every 180 days"}]',
        ),
        Key(
            "max_ahead",
            "days",
            "A deadline never lies more than this after the renewal that set it, e.g. "
            '`"365d"` (caps stacking). `1d` to 10 years.',
            required="with `rolling`",
            low=1,
            high=MAX_SPAN_DAYS,
            unit="days",
            example='"365d"',
        ),
        Key(
            "after_deadline",
            "custom",
            'The stages after a missed deadline, in order: `[{after = "0d", state = "receive '
            'only"}, {after = "90d", state = "number recycled"}]`. `after` counts days from the '
            "deadline (at most `1096d`, three years); the last stage is when the number is "
            "lost. Reminders say what happens next and when the number is lost; overdue alerts "
            "name the current stage and go on until the last stage (instead of `overdue_for`), "
            "daily in its final week.",
            default=(),
            high=MAX_LEAD_DAYS,
            example='[{after = "0d", state = "grace period"}]',
        ),
        Key(
            "renew_url",
            "web_url",
            "The carrier's page for topping up or checking the balance; shown in reminders and "
            "on calendar events.",
            default="",
            example='"https://www.giffgaff.com/top-up"',
        ),
        Key(
            "keepalive",
            "custom",
            'The autopilot: `{ via = "phone", sim = 1, to = "+447700900123", text = "hi", '
            'cost = 0.10, lead = "30d" }` sends `text` to `to` from SIM `sim` of the gateway '
            "`via` at deadline − `lead`, within `settings.keepalive_budget` (`cost` in the "
            "number's `currency`, else the budget's only currency), and records the renewal "
            "once the carrier confirms. `sim` (1-3) is for android-sms-gateway only. `check` "
            "refuses it on a plan where a text does not count, and a `to` the plan says does "
            "not count.",
            example='{ via = "phone", sim = 1, to = "+447700900123", text = "hi", cost = 0.10, '
            'lead = "30d" }',
        ),
        Key(
            "balance_check",
            "custom",
            'Read the balance by USSD: `{ via = "modem", every = "7d" }` runs the plan\'s '
            "balance code through the gateway `via` (one that can run USSD: `modemmanager` or "
            "`sigmo`) every `every` (`1d` to `365d`); `ussd` (the code), `pattern` (a regex "
            "with a named group `amount`, optionally `currency` and `until`) and `replies` (the"
            " answers to a menu, in order) override the plan's. A matched reply becomes a dated"
            " balance reading that the projection uses; one that does not match is shown in "
            "`status`.",
            example='{ via = "modem", every = "7d" }',
        ),
        *INBOUND_KEYS,
    ),
)

NOTIFY = Table(
    "notify",
    True,
    (
        Key(
            "name",
            "custom",
            "Unique; shown in `status`, `test` and logs (the URL never is).",
            required="yes",
            example='"console"',
        ),
        Key(
            "url",
            "custom",
            "Any [Apprise URL](https://github.com/caronc/apprise/wiki). `${VAR}` is looked up, "
            "in order, in `$CREDENTIALS_DIRECTORY/VAR` and `$CREDENTIALS_DIRECTORY/simkeeper_VAR` "
            "(systemd credentials), the file `credentials/VAR` in the config file's folder "
            "(`/etc/simkeeper/credentials/VAR`), a `VAR=value` line of the file `env` in the "
            "config file's folder (`~/.config/simkeeper/env`), then the environment. The value is "
            "percent-encoded for the part of the URL it lands in, so a password may hold any "
            "character (`@ : / ? # % & + =`, spaces). Commands that send (`check`, `test`, "
            "`send-due`, `run`) stop on a variable found nowhere and name every place they "
            "looked; the others work without it and show the URL redacted. `check` also rejects "
            "a login its protocol cannot carry (SMTP: ASCII only; HTTP Basic auth: Latin-1). "
            "`console://` prints to standard output.",
            required="yes",
            example='"console://"',
        ),
        Key(
            "tags",
            "custom",
            "Tags numbers can pick with `notify` / `escalate`.",
            default=(),
            example='["email"]',
        ),
        Key(
            "timeout",
            "seconds",
            'How long this target may take before its send counts as failed, as `"30s"`, '
            '`"2m"` or a number of seconds; overrides `send_timeout` for it. A target that '
            "answers after its timeout may still have got the message: it is sent again on the "
            'next try (logged as "may be a repeat"), so give a slow gateway a longer one.',
            default=None,
            shown_default="`send_timeout`",
            low=1,
            high=300,
            unit="seconds",
            example='"30s"',
        ),
    ),
)

TEMPLATES = Table(
    "templates",
    False,
    (
        Key("title", "template", "The subject of a reminder message."),
        Key("overdue_title", "template", "The subject when a message holds an overdue alert."),
        Key("renew", "template", "One renew reminder."),
        Key("overdue", "template", "One overdue alert."),
        Key("topup", "template", "One top-up reminder (a balance running out)."),
        Key("digest", "template", "The weekly digest's subject."),
        Key("test", "template", "The text `simkeeper test` sends."),
    ),
)

DEFAULT_LISTEN = "127.0.0.1:8787"

WEB = Table(
    "web",
    False,
    (
        Key(
            "listen",
            "listen",
            "Address and port `simkeeper web` listens on (`HOST:PORT`, `[::1]:PORT` for IPv6). "
            "Without a `[web]` table there is no web face.",
            default=DEFAULT_LISTEN,
            shown_default=f'`"{DEFAULT_LISTEN}"`',
            example=f'"{DEFAULT_LISTEN}"',
            note="where simkeeper web listens (behind a reverse proxy)",
            active=True,
        ),
        Key(
            "base_url",
            "base_url",
            "The address people reach the web face by (behind their reverse proxy): the links "
            "in reminders and the URLs `status` prints start with it.",
            shown_default='`"http://"` + `listen`',
            example='"https://sims.example.com"',
            note="the address people reach it by",
        ),
    ),
)

TABLES = (SETTINGS, NUMBERS, NOTIFY, GATEWAYS, TEMPLATES, WEB)
