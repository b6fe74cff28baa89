"""What a monitor asks of the web face: ``/healthz`` and ``/metrics``, computed as data.

:func:`health` says whether reminders are getting out: the daemon records a send pass each
minute, so the last one must be at most :data:`PASS_STALE` old, and no reminder may be due and
still unsent (in the outbox with a delivery open, or due by the schedule and not recorded) for
longer than :data:`PASS_STALE`. :func:`metrics` gives the figures for Prometheus, rendered by
:func:`exposition` in its text format. Neither holds a secret or a phone number: numbers are
labelled by their names, targets by theirs (never a URL).
"""

from __future__ import annotations

import io
import math
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from simkeeper.core.model import Config, Number
from simkeeper.present.report import StatusReport, from_the_future
from simkeeper.state.rows import parse_stamp, stamp
from simkeeper.texts.i18n import ENGLISH, Translator

PASS_STALE = timedelta(minutes=3)  # three missed one-minute passes: the daemon is not running


@dataclass(frozen=True)
class Health:
    """``ok`` when reminders are getting out; otherwise each reason, one line."""

    ok: bool
    reasons: tuple[str, ...]


def health(report: StatusReport, now: datetime, t: Translator = ENGLISH) -> Health:
    """Whether the last pass is recent and nothing due is left unsent, at ``now``."""
    reasons = []
    last = report.last_pass
    if last is None:
        reasons.append(t.gettext("no send pass is recorded yet: is the daemon running?"))
    elif from_the_future(last.ran_at, now):
        reasons.append(
            t.gettext(
                "the last send pass is recorded at %(at)s, later than the clock (run with"
                " --now?): no sign of a running daemon"
            )
            % {"at": last.ran_at}
        )
    else:
        age = now - parse_stamp(last.ran_at)
        if age > PASS_STALE:
            minutes = int(age.total_seconds() // 60)
            reasons.append(
                t.ngettext(
                    "the last send pass ran %(n)d minute ago (%(at)s): is the daemon running?",
                    "the last send pass ran %(n)d minutes ago (%(at)s): is the daemon running?",
                    minutes,
                )
                % {"n": minutes, "at": last.ran_at}
            )
    late = stamp(now - PASS_STALE)
    unsent = [r for r in report.due_unsent if r.due_at < late]
    if unsent:
        reasons.append(
            t.ngettext(
                "%(n)d reminder is due and not sent (the oldest due at %(at)s)",
                "%(n)d reminders are due and not sent (the oldest due at %(at)s)",
                len(unsent),
            )
            % {"n": len(unsent), "at": unsent[0].due_at}
        )
    return Health(not reasons, tuple(reasons))


# -- metrics ----------------------------------------------------------------------------------

Labels = tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Metric:
    """One metric family: its name, type, help line and samples (labels, value). The samples
    may be produced as they are read (one a number at 100,000 numbers: no list of them all is
    held), so a family is rendered once."""

    name: str
    kind: str  # gauge | counter
    help: str
    samples: Iterable[tuple[Labels, float]]


def metrics(
    config: Config,
    report: StatusReport,
    deadlines: Iterable[tuple[str, float]],
    deliveries: Mapping[tuple[str, str], int],
    now: datetime,
) -> tuple[Metric, ...]:
    """The figures at ``now``: ``deadlines`` is :func:`next_deadlines`, ``deliveries`` counts
    the outbox per (target, state)."""
    last = report.last_pass
    overdue = {d.number.name for d in report.at_risk}
    targets = [t.name for t in config.targets]
    return (
        Metric(
            "simkeeper_numbers", "gauge", "Numbers in the config.", (((), len(config.numbers)),)
        ),
        Metric(
            "simkeeper_next_deadline_timestamp_seconds",
            "gauge",
            "When each number's next deadline passes (the end of its day in the number's time "
            "zone), as a Unix time; overdue ones are in the past.",
            (((("name", name),), at) for name, at in deadlines),
        ),
        Metric(
            "simkeeper_overdue_numbers",
            "gauge",
            "Numbers whose deadline passed without a renewal.",
            (((), len(overdue)),),
        ),
        Metric(
            "simkeeper_reminders_sent",
            "gauge",
            "Reminders delivered to each target, as kept in the state database.",
            tuple(((("target", n),), deliveries.get((n, "sent"), 0)) for n in targets),
        ),
        Metric(
            "simkeeper_reminders_failed",
            "gauge",
            "Reminders whose last delivery to each target failed (retrying or given up).",
            tuple(
                (
                    (("target", n),),
                    deliveries.get((n, "failed"), 0) + deliveries.get((n, "expired"), 0),
                )
                for n in targets
            ),
        ),
        Metric(
            "simkeeper_reminders_due_unsent",
            "gauge",
            "Reminders due and not yet sent to every target.",
            (((), len(report.due_unsent)),),
        ),
        Metric(
            "simkeeper_last_pass_timestamp_seconds",
            "gauge",
            "When the last send pass ran, as a Unix time (absent before the first).",
            (((), parse_stamp(last.ran_at).timestamp()),) if last else (),
        ),
    )


def next_deadlines(found: Iterable[tuple[Number, date]]) -> Iterator[tuple[str, float]]:
    """Each number's soonest deadline (overdue ones included) by name, as the Unix time it
    passes (the end of its day in the number's zone), from (number, deadline) pairs, one at a
    time."""
    for n, day in found:
        yield n.name, datetime.combine(day + timedelta(days=1), time(), n.timezone).timestamp()


def _label_value(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _number(value: float) -> str:
    if math.isfinite(value) and value == int(value):
        return str(int(value))
    return repr(float(value))


def exposition(families: Iterable[Metric]) -> str:
    """The Prometheus text format (version 0.0.4) of ``families``, written line by line."""
    out = io.StringIO()
    for m in families:
        out.write(f"# HELP {m.name} {m.help}\n# TYPE {m.name} {m.kind}\n")
        for labels, value in m.samples:
            inner = ",".join(f'{k}="{_label_value(v)}"' for k, v in labels)
            out.write(
                f"{m.name}{{{inner}}} {_number(value)}\n"
                if inner
                else f"{m.name} {_number(value)}\n"
            )
    return out.getvalue()


def keepalive_metrics(
    spent: Mapping[str, Decimal], by_state: Mapping[str, int]
) -> tuple[Metric, ...]:
    """The autopilot's figures: what it spent in the budget's window per currency, and its
    attempts by outcome (proved, failed, expired, unknown, refused, open ones)."""
    outcomes = ("sending", "accepted", "proved", "failed", "expired", "unknown", "refused")
    return (
        Metric(
            "simkeeper_keepalive_spent",
            "gauge",
            "What the autopilot's keep-alive texts cost within the budget's window, per currency.",
            tuple(((("currency", c),), float(v)) for c, v in sorted(spent.items())),
        ),
        Metric(
            "simkeeper_keepalive_attempts",
            "gauge",
            "The autopilot's keep-alive attempts, by outcome.",
            tuple(((("outcome", o),), float(by_state.get(o, 0))) for o in outcomes),
        ),
    )


READING_OUTCOMES = ("ok", "no-match", "timeout", "error")


def reading_metrics(by_outcome: Mapping[str, int]) -> tuple[Metric, ...]:
    """Balance checks by USSD, by outcome, all time (a counter: readings are only added; an
    ``undo`` takes one back)."""
    return (
        Metric(
            "simkeeper_balance_readings_total",
            "counter",
            "Balance checks by USSD, by outcome (ok, no-match, timeout, error).",
            tuple(((("outcome", o),), float(by_outcome.get(o, 0))) for o in READING_OUTCOMES),
        ),
    )
