"""A cache of a config's validated numbers, so a one-shot command on 100,000 numbers does not
parse and validate them all again while the file is unchanged.

One file per config file in the cache folder (see :func:`folder`). An entry is used only
when the config's text, simkeeper's version and code, and Python's version are exactly those it
was written for (:func:`content_key`), and when what number validation reads besides the
``[[numbers]]`` tables (the defaults ``[settings]`` gives, the target names and tags) is the
same (:func:`context_key`). It holds the validated numbers and where their tables lie in the
text, never a ``[[notify]]`` target (their URLs can hold passwords): on a hit everything but
the ``[[numbers]]`` tables is parsed and validated afresh, so targets, secrets and warnings are
exactly those of a full load. A missing, corrupt, foreign or unreadable entry is ignored, and
an entry is written atomically (a reader sees the old one or the new one).

After an edit the entry still serves, table by table: each number is kept with the digest of
its parsed ``[[numbers]]`` table (:func:`table_digest`), and a full load takes the number of
every table whose digest it holds (same code, same context) instead of validating it again.
So a reload after editing 1% of the tables validates about 1% of them.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import re
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from simkeeper import __version__
from simkeeper.core.model import Number, Settings, Target
from simkeeper.core.numbertable import NumberTable, encode

FORMAT = 4  # 4: each table's text digest too (3: numbers as columns; 2: pickled numbers)
_HEADER = re.compile(r"^[ \t]*\[\[?[ \t]*([^\]\n]*?)[ \t]*\]\]?[ \t]*(?:#[^\n]*)?$", re.M)
# The modules whose code decides what a validated number is: a change to any of them (an
# editable install keeps its version number) makes every entry stale.
_CODE = (
    *("config/load.py", "config/cache.py", "core/model.py", "core/periods.py"),
    *("config/validate.py", "config/checker.py", "config/readers.py", "config/numbers.py"),
    *("config/values.py", "config/plans.py", "config/plans.toml", "core/schema.py", "core/keys.py"),
    *("core/currencies.py", "host/zones.py", "config/secrets.py", "texts/templates.py"),
    *("config/autopilot.py", "core/schema_gateways.py", "config/e164.py", "core/numbertable.py"),
)

Spans = tuple[tuple[int, int], ...]  # character ranges [start, end) of the [[numbers]] tables
DIGEST_SIZE = 16  # bytes of a table_digest()


@dataclass(frozen=True)
class Entry:
    """What the cache keeps of one config file."""

    key: str  # content_key() of the text it was validated from
    context: str  # context_key() of its settings and targets
    spans: Spans
    numbers: Sequence[Number]  # a NumberTable when read from the cache
    code: str = ""  # code_key() of the simkeeper that validated them
    # table_digest() of each number's table, in order, joined: one bytes object, not a
    # million (a load from the cache never splits them; only an edit's reuse does)
    digests: bytes = b""
    # text_digests() of the numbers' tables as written, in order (empty: the text's tables
    # cannot be told apart without parsing it, see table_chunks())
    texts: bytes = b""

    def by_table(self) -> dict[bytes, Number]:
        """Each number by the digest of the table it was validated from."""
        blob, size = self.digests, DIGEST_SIZE
        split = (blob[i : i + size] for i in range(0, len(blob), size))
        return dict(zip(split, self.numbers, strict=True))


@dataclass(frozen=True)
class Kept:
    """A number taken whole from the entry of an earlier text: its table's text is unchanged
    (it stands for that table among the parsed ones; see ``load``'s edited path)."""

    number: Number
    digest: bytes  # its table_digest(), as the entry holds it


@dataclass(frozen=True)
class Head:
    """An entry as far as its header: enough to decide whether it serves, and where its
    numbers lie (read by :func:`read_numbers` once the config's text is no longer held)."""

    key: str
    context: str
    spans: Spans
    count: int
    code: str
    digests: bytes
    texts: bytes
    path: Path
    offset: int  # where the columns start
    stamp: tuple[int, int, int]  # the file's inode, mtime and size: the same file read on


def folder(env: Mapping[str, str] | None = None) -> Path | None:
    """The cache folder: ``$CACHE_DIRECTORY`` (systemd's ``CacheDirectory=``), else
    ``$XDG_CACHE_HOME/simkeeper``, else ``/var/cache/simkeeper`` for root and
    ``~/.cache/simkeeper`` for a user; None without a home folder."""
    env = os.environ if env is None else env
    if env.get("CACHE_DIRECTORY"):
        return Path(env["CACHE_DIRECTORY"].split(":")[0])
    if env.get("XDG_CACHE_HOME"):
        return Path(env["XDG_CACHE_HOME"]) / "simkeeper"
    if os.geteuid() == 0:
        return Path("/var/cache/simkeeper")
    return Path(env["HOME"]) / ".cache" / "simkeeper" if env.get("HOME") else None


def code_key() -> str:
    """The digest of simkeeper's version and code, Python's version and this cache's format:
    what a number's validation depends on besides its table and :func:`context_key`."""
    h = hashlib.sha256(f"{FORMAT}\0{__version__}\0{sys.version}\0".encode())
    here = Path(__file__).parent.parent  # the simkeeper package
    for name in _CODE:
        try:
            st = (here / name).stat()
        except OSError:
            continue
        h.update(f"{name}:{st.st_mtime_ns}:{st.st_size}\0".encode())
    return h.hexdigest()


def content_key(text: str, code: str | None = None) -> str:
    """The digest an entry must carry to be used whole for ``text``: of the text and
    :func:`code_key` (``code``, when the caller has it)."""
    h = hashlib.sha256(f"{code or code_key()}\0".encode())
    for i in range(0, len(text), 1 << 20):  # a megabyte at a time: no copy of a big file
        h.update(text[i : i + (1 << 20)].encode("utf-8", "surrogatepass"))
    return h.hexdigest()


def table_digest(table: Mapping[str, Any]) -> bytes:
    """The digest of one parsed ``[[numbers]]`` table: its keys in order and their values
    (TOML gives only str, int, float, bool, dates, times, lists and tables, whose ``repr`` is
    exact)."""
    return hashlib.blake2b(
        repr(table).encode("utf-8", "surrogatepass"), digest_size=DIGEST_SIZE
    ).digest()


def context_key(
    number_defaults: Mapping[str, Any],
    targets: Iterable[Target],
    gateway_kinds: Mapping[str, str] | None = None,
) -> str:
    """The digest of what number validation reads besides the number's own table (a
    ``keepalive`` reads the gateways' names and kinds)."""
    tags = sorted({t.name for t in targets} | {tag for t in targets for tag in t.tags})
    have = bool(tags)
    kinds = sorted((gateway_kinds or {}).items())
    return hashlib.sha256(
        repr((sorted(number_defaults.items()), tags, have, kinds)).encode()
    ).hexdigest()


def settings_defaults(settings: Settings) -> dict[str, Any]:
    """The number keys whose defaults come from ``[settings]``."""
    return {
        "remind": settings.remind,
        "timezone": (settings.timezone_name, repr(settings.timezone)),
        "overdue_every": settings.overdue_every,
        "overdue_for": settings.overdue_for,
        "keepalive_budget": settings.keepalive_budget,  # a keepalive's currency may come from it
    }


def number_chunks(text: str) -> tuple[list[tuple[int, int]], bool]:
    """Where the ``[[numbers]]`` tables lie in ``text``, each from its header through its
    sub-tables (a ``[numbers]`` table, or a sub-table with none before it, begins one too), and
    whether they tell the tables apart: each one ``[[numbers]]`` table, and no multi-line
    string (``\"\"\"``, ``'''``) in the text, the only place a header-like line can hide.

    A plain scan for header lines: :func:`write` keeps an entry only when leaving these out
    leaves the rest of the config parsing the same."""
    chunks: list[tuple[int, int]] = []
    start: int | None = None
    apart = '"""' not in text and "'''" not in text
    for m in _HEADER.finditer(text):
        name = m.group(1).replace('"', "").replace("'", "").strip()
        if name.startswith("numbers.") and start is not None:
            continue  # a sub-table of the table begun before
        if start is not None:
            chunks.append((start, m.start()))
            start = None
        if name == "numbers" or name.startswith("numbers."):
            start = m.start()
            apart = apart and name == "numbers" and m.group(0).lstrip().startswith("[[")
    if start is not None:
        chunks.append((start, len(text)))
    return chunks, apart


def number_spans(text: str) -> Spans:
    """Where the ``[[numbers]]`` tables (and their sub-tables) lie in ``text``, merged."""
    return merged(number_chunks(text)[0])


def table_chunks(text: str) -> list[tuple[int, int]] | None:
    """Each ``[[numbers]]`` table's place in ``text``, in order; None when they cannot be told
    apart without parsing the text (see :func:`number_chunks`)."""
    chunks, apart = number_chunks(text)
    return chunks if apart else None


def text_digests(text: str, chunks: list[tuple[int, int]]) -> list[bytes]:
    """The digest of each table's text as written (``chunks``: see :func:`table_chunks`)."""
    return [
        hashlib.blake2b(
            text[a:b].encode("utf-8", "surrogatepass"), digest_size=DIGEST_SIZE
        ).digest()
        for a, b in chunks
    ]


def merged(chunks: list[tuple[int, int]]) -> Spans:
    """Adjacent chunks as one span, as :func:`number_spans` gives them."""
    spans: list[tuple[int, int]] = []
    for start, end in chunks:
        if spans and spans[-1][1] == start:
            spans[-1] = (spans[-1][0], end)
        else:
            spans.append((start, end))
    return tuple(spans)


def without(text: str, spans: Spans) -> str:
    """``text`` with the ``spans`` left out."""
    parts, at = [], 0
    for start, end in spans:
        parts.append(text[at:start])
        at = end
    parts.append(text[at:])
    return "".join(parts)


def entry_path(cache: Path, config: Path) -> Path:
    """The cache file of the config file ``config``."""
    name = hashlib.sha256(str(config.absolute()).encode("utf-8", "surrogatepass")).hexdigest()
    return cache / f"config-{name[:32]}.pickle"


def read(cache: Path, config: Path, key: str, code: str = "") -> Entry | None:
    """The entry for ``config`` if it was written by this user for ``key``, or (with
    ``code``) for another text by the same code, whose numbers then serve table by table
    (see :meth:`Entry.by_table`); else None."""
    head = read_head(cache, config, key, code)
    return read_numbers(head) if head else None


def read_head(cache: Path, config: Path, key: str, code: str = "") -> Head | None:
    """:func:`read` up to the numbers: their header, or None."""
    path = entry_path(cache, config)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except OSError:
        return None
    try:
        with os.fdopen(fd, "rb") as f:
            st = os.fstat(f.fileno())
            if st.st_uid != os.geteuid() or st.st_mode & 0o022:
                return None  # someone else could have written it: never unpickled
            written = f.read(len(key)).decode("ascii", "replace")
            if written != key and not code:
                return None
            form, context, spans, count, wrote_code, blob, texts = pickle.load(f)
            if form != FORMAT or (written != key and wrote_code != code):
                return None  # another layout, or another text validated by other code
            stamp = (st.st_ino, st.st_mtime_ns, st.st_size)
            head = Head(
                written, context, spans, count, wrote_code, blob, texts, path, f.tell(), stamp
            )
    except Exception:  # a corrupt or truncated entry is a miss, whatever unpickling says
        return None
    size = DIGEST_SIZE * head.count
    return head if len(head.digests) == size and len(head.texts) in (0, size) else None


def read_numbers(head: Head) -> Entry | None:
    """The whole entry ``head`` began: its numbers read from the same file (None when the
    file was replaced meanwhile, or does not hold them)."""
    try:
        fd = os.open(head.path, os.O_RDONLY | os.O_NOFOLLOW)
    except OSError:
        return None
    try:
        with os.fdopen(fd, "rb") as f:
            st = os.fstat(f.fileno())
            if (st.st_ino, st.st_mtime_ns, st.st_size) != head.stamp:
                return None  # another entry took its place
            f.seek(head.offset)
            numbers = NumberTable.from_columns(head.count, lambda: pickle.load(f))
    except Exception:  # corrupt or truncated: a miss
        return None
    if numbers is None:
        return None
    return Entry(head.key, head.context, head.spans, numbers, head.code, head.digests, head.texts)


def write(cache: Path, config: Path, entry: Entry) -> None:
    """Store ``entry`` for ``config`` atomically; a cache that cannot be written is skipped.

    The numbers go as columns (:mod:`simkeeper.core.numbertable`), one pickle each: a field's
    distinct values and an array of indexes (a million pickled dataclasses were 28% of a warm
    ``upcoming``), read back as a :class:`NumberTable` without building a single number."""
    import tempfile

    try:
        cache.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=cache, prefix=".config-", suffix=".tmp")
    except OSError:
        return
    numbers = entry.numbers
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(entry.key.encode())
            blob = entry.digests
            if len(blob) != DIGEST_SIZE * len(numbers):
                raise ValueError("a digest per number")
            if len(entry.texts) not in (0, len(blob)):
                raise ValueError("a text digest per number, or none")
            header = (
                *(FORMAT, entry.context, entry.spans, len(numbers), entry.code, blob),
                entry.texts,
            )
            pickle.dump(header, f, pickle.HIGHEST_PROTOCOL)
            for column in encode(numbers):
                pickle.dump(column, f, pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, entry_path(cache, config))
    except Exception:  # a full disk, a read-only folder, or a value that cannot be pickled
        Path(tmp).unlink(missing_ok=True)
