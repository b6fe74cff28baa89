"""A carrier's USSD balance reply: decoded as modems return it, and matched with a plan's pattern.

ModemManager normally hands over decoded text, but many modems return the reply raw: the hex of
its UCS-2 (``0042 0061 006C``...) or of its packed GSM 7-bit septets. :func:`decode` tells these
apart from plain text and decodes them; :func:`read_reply` matches the text with a pattern (a
regex with a named group ``amount``, optionally ``currency`` and ``until``). Pure: no I/O, and
no reply, however odd, makes either raise.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from simkeeper.core.keys import MAX_AMOUNT

MAX_REPLY = 1000  # characters matched: a USSD reply holds at most 182, a menu page fewer

# GSM 03.38's default alphabet, by septet; 0x1B escapes to the extension table below.
GSM7 = (
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = {
    0x0A: "\f",
    0x14: "^",
    0x28: "{",
    0x29: "}",
    0x2F: "\\",
    0x3C: "[",
    0x3D: "~",
    0x3E: "]",
    0x40: "|",
    0x65: "€",
}
# Shorter all-hex replies are taken as written: "12345678" is likelier a figure than 4 septets.
GSM7_MIN_HEX = 16
_HEX = re.compile(r"^(?:[0-9A-Fa-f]{2})+$")
# The code points a UCS-2 balance reply is written in: Latin, Greek, Cyrillic, Arabic and
# Hebrew, general punctuation and currency signs, CJK and its punctuation, Hangul, fullwidth
# forms. Hex whose code units fall outside them is not taken for UCS-2 ("12345678" is two
# code units, U+1234 Ethiopic among them: it stays the digits it is).
_UCS2_RANGES = (
    (0x0009, 0x000D),
    (0x0020, 0x007E),
    (0x00A0, 0x06FF),
    (0x2000, 0x20CF),
    (0x3000, 0x303F),
    (0x4E00, 0x9FFF),
    (0xAC00, 0xD7A3),
    (0xFF00, 0xFFEF),
)
_GROUPING = re.compile(r"[\s'’]")


@dataclass(frozen=True)
class Reading:
    """What one reply says: ``ok`` with the amount (and the currency and validity date when
    the pattern names them), or ``no-match``; ``text`` is the decoded reply."""

    outcome: str  # ok | no-match
    text: str
    amount: Decimal | None = None
    currency: str = ""
    until: str = ""


def decode(raw: str) -> str:
    """The reply as text: hex of UCS-2 or of packed GSM 7-bit decoded, anything else as it is."""
    text = raw.strip()
    if len(text) < 8 or not _HEX.match(text):
        return raw
    if len(text) % 4 == 0:
        ucs2 = _ucs2(text)
        if ucs2 is not None:
            return ucs2
    gsm = _gsm7(text) if len(text) >= GSM7_MIN_HEX else None
    return gsm if gsm is not None else raw


def _ucs2(text: str) -> str | None:
    data = bytes.fromhex(text)
    units = [int.from_bytes(data[i : i + 2], "big") for i in range(0, len(data), 2)]
    if not all(any(lo <= u <= hi for lo, hi in _UCS2_RANGES) for u in units):
        return None
    return "".join(map(chr, units))


def _gsm7(text: str) -> str | None:
    """Packed septets (3GPP TS 23.038 6.1.2.1.1) as text; None when the result does not read
    like a reply (control codes, or hardly any letters)."""
    septets = unpack_septets(bytes.fromhex(text))
    out: list[str] = []
    escaped = False
    for s in septets:
        if escaped:
            out.append(GSM7_EXTENSION.get(s, " "))
            escaped = False
        elif s == 0x1B:
            escaped = True
        else:
            out.append(GSM7[s])
    decoded = "".join(out).rstrip("\r")
    if len(septets) % 8 == 0 and decoded.endswith("@"):
        decoded = decoded[:-1]  # seven spare bits left zero: padding, not an "@"
    letters = sum(c.isalpha() for c in decoded)
    readable = sum(c.isalnum() or c.isspace() for c in decoded)
    if "\x1b" in decoded or letters < 3 or readable < 0.8 * len(decoded):
        return None
    return decoded


def unpack_septets(data: bytes) -> list[int]:
    """The 7-bit values packed into ``data``, least significant bit first."""
    value = int.from_bytes(data, "little")
    return [(value >> (7 * i)) & 0x7F for i in range(len(data) * 8 // 7)]


def parse_amount(raw: str) -> Decimal | None:
    """An amount as a reply writes it (``12.50``, ``1,234.50``, ``12,50``, ``-0.40``), or None
    when it is not one (or lies beyond what simkeeper accepts)."""
    text = _GROUPING.sub("", raw).strip(".,")  # "£12.34." ends a sentence, not the amount
    if "," in text and "." in text:
        sep = "," if text.rfind(".") > text.rfind(",") else "."
        text = text.replace(sep, "")
    if "," in text:
        whole, _, cents = text.rpartition(",")
        text = (
            f"{whole.replace(',', '')}.{cents}" if len(cents) in (1, 2) else text.replace(",", "")
        )
    if not re.fullmatch(r"[-+]?\d+(?:\.\d+)?", text):
        return None
    try:
        amount = Decimal(text)
    except InvalidOperation:  # pragma: no cover - the regex admits only numbers
        return None
    return amount if abs(amount) < MAX_AMOUNT else None


def read_reply(raw: str, pattern: str) -> Reading:
    """Decode ``raw`` and match it with ``pattern`` (searched, case-insensitive, across
    lines): ``ok`` when its ``amount`` group holds an amount, else ``no-match``."""
    text = decode(raw)
    try:
        found = re.search(pattern, text[:MAX_REPLY], re.IGNORECASE | re.DOTALL)
    except re.error:  # the validator compiles every pattern; a bad one matches nothing
        found = None
    groups = found.groupdict() if found else {}
    amount = parse_amount(groups.get("amount") or "")
    if found is None or amount is None:
        return Reading("no-match", text)
    return Reading(
        "ok",
        text,
        amount,
        (groups.get("currency") or "").strip(),
        (groups.get("until") or "").strip(),
    )
