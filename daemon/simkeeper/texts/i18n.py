"""Translations: the gettext catalogs in ``locale/``, one :class:`Translator` per language.

English is the source language: every msgid is the English text, so English output needs no
catalog. A translator is made from ``settings.language`` and passed down to whatever renders
text; nothing installs a global ``_``. Texts kept in tables are marked with :func:`N_` so
``pybabel extract`` finds them, and translated where they are used.
"""

from __future__ import annotations

import gettext
import re
from pathlib import Path
from typing import Protocol

DOMAIN = "simkeeper"
LOCALE_DIR = Path(__file__).parent / "locale"
LANGUAGES = ("en", "zh-CN")


class Translator(Protocol):
    """What text rendering needs of a translation (``gettext.NullTranslations`` has it)."""

    def gettext(self, message: str, /) -> str: ...

    def ngettext(self, singular: str, plural: str, n: int, /) -> str: ...

    def pgettext(self, context: str, message: str, /) -> str: ...


# The source texts themselves: what every function gives when no translator is passed.
ENGLISH: Translator = gettext.NullTranslations()


def locale_name(language: str) -> str:
    """The catalog folder of a config language: ``zh-CN`` -> ``zh_CN``."""
    return language.replace("-", "_")


def translator(language: str) -> Translator:
    """The translator for ``language`` (a ``settings.language`` value); English, the source
    texts, for a language without a catalog."""
    return gettext.translation(DOMAIN, LOCALE_DIR, languages=[locale_name(language)], fallback=True)


def N_(message: str) -> str:
    """Mark ``message`` for extraction; it is translated later, where it is shown."""
    return message


def label(t: Translator, word: str) -> str:
    """A stored word (a kind, an event) marked with :func:`N_` where it is defined, in the
    language of ``t``; an empty or unknown word as it is."""
    return t.gettext(word) if word else word


# The named cycles as the config writes them, translated where a sentence shows them.
CYCLE_WORDS = {
    "weekly": N_("weekly"),
    "monthly": N_("monthly"),
    "quarterly": N_("quarterly"),
    "yearly": N_("yearly"),
    "once": N_("once"),
}
_EVERY = re.compile(r"^every (\d+) (day|week|month|year)s?$")


def cycle_words(text: str, t: Translator) -> str:
    """A cycle as written in the config (``monthly``, ``every 180 days``) in the language of
    ``t``; anything else as it is."""
    if text in CYCLE_WORDS:
        return t.gettext(CYCLE_WORDS[text])
    m = _EVERY.match(text)
    if m is None:
        return text
    n, unit = int(m.group(1)), m.group(2)
    if unit == "day":
        return t.ngettext("every {n} day", "every {n} days", n).format(n=n)
    if unit == "week":
        return t.ngettext("every {n} week", "every {n} weeks", n).format(n=n)
    if unit == "month":
        return t.ngettext("every {n} month", "every {n} months", n).format(n=n)
    return t.ngettext("every {n} year", "every {n} years", n).format(n=n)
