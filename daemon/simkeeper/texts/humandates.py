"""Dates and times as people read them, in their language: ``Thu 10 Dec · in 3 days``,
``12月10日（周四）· 还有 3 天``.

The patterns themselves are texts in the catalogs (a CLDR pattern per language, rendered by
Babel), and so are the words for how far away a day is (plurals by ngettext). The time zone is
not repeated on each date: a page says it once.
"""

from __future__ import annotations

from datetime import date, datetime, tzinfo

from babel.dates import format_date, format_time

from simkeeper.texts.i18n import Translator, locale_name


def _pattern_day(t: Translator) -> str:
    # Translators: a CLDR date pattern for a day in a list (Thu 10 Dec); zh-CN: M月d日（EEE）
    return t.gettext("EEE d MMM")


def _pattern_day_year(t: Translator) -> str:
    # Translators: a CLDR date pattern for a day in another year (Thu 10 Dec 2026)
    return t.gettext("EEE d MMM y")


def day_text(day: date, today: date, t: Translator, language: str) -> str:
    """The day alone: ``Thu 10 Dec`` (with the year when it is not this year's)."""
    pattern = _pattern_day(t) if day.year == today.year else _pattern_day_year(t)
    return format_date(day, pattern, locale=locale_name(language))


def distance_text(days: int, t: Translator) -> str:
    """How far a day is from today: ``today``, ``tomorrow``, ``in 3 days``, ``2 days ago``."""
    if days == 0:
        return t.gettext("today")
    if days == 1:
        return t.gettext("tomorrow")
    if days == -1:
        return t.gettext("yesterday")
    if days > 0:
        return t.ngettext("in %(n)d day", "in %(n)d days", days) % {"n": days}
    return t.ngettext("%(n)d day ago", "%(n)d days ago", -days) % {"n": -days}


def when_text(day: date, today: date, t: Translator, language: str) -> str:
    """``Thu 10 Dec · in 3 days``."""
    return t.gettext("{day} · {distance}").format(
        day=day_text(day, today, t, language), distance=distance_text((day - today).days, t)
    )


def moment_text(moment: datetime, zone: tzinfo, today: date, t: Translator, language: str) -> str:
    """An instant as a day and a time in ``zone``: ``Fri 11 Dec, 09:00``."""
    local = moment.astimezone(zone)
    return t.gettext("{day}, {time}").format(
        day=day_text(local.date(), today, t, language),
        time=format_time(local.time(), "HH:mm", locale=locale_name(language)),
    )
