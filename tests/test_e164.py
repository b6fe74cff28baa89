"""The E.164 fast path gives exactly phonenumbers' verdict on every number it answers for.

``simkeeper.config.e164.fast_e164`` answers only for numbers it is sure are valid (else None:
phonenumbers decides). Here every answer it gives is compared with phonenumbers' own
``parse`` + ``is_valid_number`` + ``format_number(E164)``: on the example numbers of every
region and type phonenumbers ships and their one-digit variants (too short, too long, another
last digit, a national prefix), and on generated numbers (hypothesis) around them, spaced and
hyphenated in many ways. It must also answer for most valid numbers, or it would speed nothing.
"""

from __future__ import annotations

import phonenumbers
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from phonenumbers import PhoneNumberFormat, PhoneNumberType

from simkeeper.config.e164 import fast_e164
from simkeeper.config.values import _e164

TYPES = [
    t
    for t in vars(PhoneNumberType).values()
    if isinstance(t, int) and t not in (PhoneNumberType.UNKNOWN,)
]


def slow(raw: str) -> str | None:
    """phonenumbers' verdict: E.164 when valid, "" when it parses but is invalid, None when it
    does not parse (what ``config.values._e164`` returned before the fast path)."""
    try:
        parsed = phonenumbers.parse(raw, None)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(parsed):
        return ""
    return phonenumbers.format_number(parsed, PhoneNumberFormat.E164)


def examples() -> list[str]:
    """Every example number phonenumbers has, of every region and type, in E.164."""
    found = set()
    for region in sorted(phonenumbers.SUPPORTED_REGIONS):
        for kind in TYPES:
            number = phonenumbers.example_number_for_type(region, kind)
            if number is not None:
                found.add(phonenumbers.format_number(number, PhoneNumberFormat.E164))
    for code in sorted(phonenumbers.COUNTRY_CODES_FOR_NON_GEO_REGIONS):
        number = phonenumbers.example_number_for_non_geo_entity(code)
        if number is not None:
            found.add(phonenumbers.format_number(number, PhoneNumberFormat.E164))
    return sorted(found)


EXAMPLES = examples()


def variants(e164: str) -> list[str]:
    """One-digit neighbours of a number: each last digit, a digit more and less, a 0 after the
    calling code (a national prefix), and the number spaced after the calling code."""
    out = [e164[:-1] + d for d in "0123456789"] + [e164 + d for d in "0123456789"]
    out += [e164[:-1], e164[:2] + "0" + e164[2:], e164[:3] + "0" + e164[3:], e164[:4] + "0"]
    out += [f"{e164[:3]} {e164[3:]}", f"{e164[:2]}-{e164[2:]}", f"{e164[:4]} {e164[4:]}"]
    return out


def agree(raw: str) -> bool:
    """Whether the fast path answered for ``raw`` (and check it answered right)."""
    fast = fast_e164(raw)
    if fast is None:
        return False
    assert fast == slow(raw), raw
    return True


def test_every_example_number_and_its_neighbours_agree():
    answered = sum(agree(raw) for e164 in EXAMPLES for raw in [e164, *variants(e164)])
    assert answered > 5000  # the fast path does the work for the bulk of them


def test_the_fast_path_answers_for_most_valid_example_numbers():
    valid = [e for e in EXAMPLES if slow(e)]
    assert len(valid) > 900
    answered = [e for e in valid if fast_e164(e) is not None]
    assert len(answered) / len(valid) > 0.8


def test_what_it_leaves_to_phonenumbers():
    for raw in [
        "+44 07911 123456",  # a national prefix parse would strip
        "+39 06 1234 5678",  # Italy's leading zero
        "+800 1234 5678",  # a non-geographic calling code
        "+44 (0) 7911 123456",  # brackets
        "+44  7911 123456",  # two spaces
        "+44 7911 123456 ext. 12",  # an extension
        "+44 7911 12345",  # invalid: phonenumbers says why
        "447911123456",  # no +
        "+0 123",
        "+999 123456",  # no such calling code
        "+4",
        "+44",
    ]:
        assert fast_e164(raw) is None, raw
        assert _e164(raw) == slow(raw), raw


def test_the_validator_gives_phonenumbers_verdict_either_way():
    for raw in ["+44 7911 123456", "+1 202 555 0143", "+86 138 0013 8000", "+44 7911 12345"]:
        assert _e164(raw) == slow(raw)


def written(digits: str, cuts: list[int], seps: list[str]) -> str:
    """``+digits`` with separators at some cut points."""
    out, at = ["+"], 0
    for cut, sep in zip(sorted(set(cuts)), seps, strict=False):
        if 0 < cut < len(digits):
            out += [digits[at:cut], sep]
            at = cut
    out.append(digits[at:])
    return "".join(out)


@st.composite
def numbers(draw: st.DrawFn) -> str:
    """A number near a real one: an example number with some digits changed, cut or added,
    or random digits after a real calling code, spaced or hyphenated at random."""
    base = draw(st.sampled_from(EXAMPLES))[1:]
    how = draw(st.sampled_from(["change", "cut", "add", "random"]))
    if how == "change":
        at = draw(st.integers(1, len(base) - 1))
        base = base[:at] + draw(st.sampled_from("0123456789")) + base[at + 1 :]
    elif how == "cut":
        base = base[: draw(st.integers(1, len(base)))]
    elif how == "add":
        base += draw(st.text("0123456789", min_size=1, max_size=3))
    else:
        code = str(draw(st.sampled_from(sorted(phonenumbers.COUNTRY_CODE_TO_REGION_CODE))))
        base = code + draw(st.text("0123456789", min_size=0, max_size=16))
    cuts = draw(st.lists(st.integers(0, len(base)), max_size=4))
    seps = draw(st.lists(st.sampled_from([" ", "-", "  ", ".", "/", "(", ""]), max_size=4))
    return written(base, cuts, seps)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(numbers(), min_size=20, max_size=40))
def test_generated_numbers_get_phonenumbers_verdict(raws: list[str]):
    for raw in raws:
        agree(raw)
        assert _e164(raw) == slow(raw), raw


@pytest.mark.parametrize("raw", ["+44 7400 000000", "+44 7400 999999", "+447400123456"])
def test_the_bench_numbers_take_the_fast_path(raw: str):
    assert fast_e164(raw) == slow(raw) == raw.replace(" ", "")
