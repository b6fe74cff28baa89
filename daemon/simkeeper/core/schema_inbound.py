"""The keys of a ``[[numbers]]`` entry that read the carrier's own texts (:mod:`simkeeper.core.
schema` puts them in the table): which gateway and SIM the number is on, who the carrier texts
from, and what its "top-up received" and "plan renewed" texts say. A built-in plan fills the
last three where a source gives them; an entry's own value overrides the plan's."""

from __future__ import annotations

from simkeeper.core.keys import Key

INBOUND_KEYS = (
    Key(
        "inbound",
        "custom",
        'Where the number receives its texts: `{ via = "phone", sim = 1 }` (a gateway\'s '
        "`name`, and for android-sms-gateway the SIM slot). Left out, the number's "
        "`keepalive.via` and `keepalive.sim` are used. A text received on a gateway (and slot) "
        "belongs to the one number that names it; a number without `sim` takes every slot of "
        "its gateway that no other number names.",
        example='{ via = "phone", sim = 1 }',
    ),
    Key(
        "sms_from",
        "custom",
        'The carrier\'s sender ids: `["giffgaff", "43430"]`. Only a text from one of these is '
        "matched against `topup_sms` and `renewed_sms`; one that matches neither is kept for "
        "`history --inbound` and never acted on. Filled by the `plan` where known.",
        default=(),
        example='["giffgaff"]',
    ),
    Key(
        "topup_sms",
        "custom",
        "A regular expression (Python `re`, searched, case-insensitive) the carrier's "
        '"top-up received" text matches; a named group `amount` takes the amount when the text '
        "carries it. A match records a top-up (source `carrier-sms`) dated the text's day.",
        default="",
        example='"topped up (?:with )?£(?P<amount>\\\\d+(?:\\\\.\\\\d{2})?)"',
    ),
    Key(
        "renewed_sms",
        "custom",
        'A regular expression the carrier\'s "plan renewed" text matches (`amount` as in '
        "`topup_sms`). A match records a renewal as `simkeeper renewed` does (a second one for "
        "the same deadline is refused), source `carrier-sms`.",
        default="",
        example='"your goodybag has been renewed"',
    ),
)
