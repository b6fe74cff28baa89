"""The kinds of things simkeeper tells apart, as closed sets of names the type checker knows.

The names are stored in the state database and in outbox payloads, so they never change.
"""

from __future__ import annotations

from typing import Literal

DeadlineKind = Literal["renew", "topup"]
"""A deadline: the plan's own (``renew``) or the day the balance runs out (``topup``)."""

ReminderKind = Literal["renew", "overdue", "topup"]
"""A reminder about one deadline: before it, after it was missed, or before the balance ends."""

OutboxKind = Literal["renew", "overdue", "topup", "digest", "problem"]
"""What an outbox entry carries: a reminder, the weekly digest, or a broken number's alert."""

EntryKind = Literal["renewal", "topup", "reading"]
"""What the history holds: a renewal or top-up the user (or the autopilot) recorded, or a
balance reading (read by USSD: its note names the source)."""

ReadingOutcome = Literal["ok", "no-match", "timeout", "error"]
"""How one balance check ended: a matched reply, a reply the pattern did not match, no answer
in time, or the gateway's (or modem's) error."""


def reminder_kind(kind: DeadlineKind, overdue: bool) -> ReminderKind:
    """The reminder kind for a deadline of ``kind``: a passed renewal deadline is overdue."""
    if kind == "topup":
        return "topup"
    return "overdue" if overdue else "renew"
