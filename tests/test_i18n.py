"""The translation catalogs (daemon/simkeeper/texts/locale) and the translated surface.

The catalogs are committed: the .pot must hold exactly what the code marks, every .po every
message of the .pot, zh-CN a translation of each with the same placeholders, and each .mo what
its .po compiles to (`make catalogs` makes all of them). With ``language = "zh-CN"`` the
tables, history, summary, calendar, subjects and the results of renewed, topup, undo, backup,
restore and notify-failure are Chinese; English stays as it was.
"""

from __future__ import annotations

import gettext
import io
import json
import string
from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest
from babel.messages.frontend import CommandLineInterface
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from conftest import ok, send_due, sk, write_config
from icalendar import Calendar

import simkeeper
from simkeeper.texts.i18n import LANGUAGES, locale_name, translator
from simkeeper.texts.templates import Item, Texts

PACKAGE = Path(simkeeper.__file__).parent
LOCALE = PACKAGE / "texts" / "locale"
ROOT = PACKAGE.parent.parent
POT = LOCALE / "simkeeper.pot"


def po_path(language: str) -> Path:
    return LOCALE / locale_name(language) / "LC_MESSAGES" / "simkeeper.po"


def read(path: Path):
    with path.open("rb") as f:
        return read_po(f)


def keys(catalog) -> set[tuple[str | None, str]]:
    """Each message as (context, msgid); a plural by its singular."""
    return {(m.context, m.id[0] if isinstance(m.id, tuple) else m.id) for m in catalog if m.id}


def placeholders(text: str) -> set[str]:
    return {f for _, f, _, _ in string.Formatter().parse(text) if f is not None}


def test_the_pot_holds_exactly_what_the_code_marks(tmp_path):
    fresh = tmp_path / "fresh.pot"
    mapping = str(ROOT / "babel.cfg")
    CommandLineInterface().run(
        ["pybabel", "--quiet", "extract", "-F", mapping, "-o", str(fresh), str(PACKAGE)]
    )
    missing, extra = keys(read(fresh)) - keys(read(POT)), keys(read(POT)) - keys(read(fresh))
    assert not missing and not extra, f"stale catalogs: run 'make catalogs' ({missing=} {extra=})"


@pytest.mark.parametrize("language", LANGUAGES)
def test_each_po_holds_every_message(language):
    assert keys(read(po_path(language))) == keys(read(POT)), "run 'make catalogs'"


def test_zh_cn_translates_every_message():
    missing = [
        m.id
        for m in read(po_path("zh-CN"))
        if m.id and (m.fuzzy or not all(m.string if isinstance(m.string, tuple) else [m.string]))
    ]
    assert not missing, f"no (or a fuzzy) zh-CN translation for {missing}"


@pytest.mark.parametrize("language", LANGUAGES)
def test_translations_keep_the_placeholders(language):
    for m in read(po_path(language)):
        ids = m.id if isinstance(m.id, tuple) else (m.id,)
        strings = m.string if isinstance(m.string, tuple) else (m.string,)
        wanted = set().union(*(placeholders(i) for i in ids))
        for s in strings:
            if m.id and s:
                assert placeholders(s) == wanted, (language, m.id, s)


def messages(translations: gettext.GNUTranslations) -> dict[object, str]:
    """A compiled catalog's messages (msgid -> msgstr; a plural as (msgid, n) -> form), without
    its header: the header names the tool that wrote it (``Generated-By: Babel x.y``) and when,
    which every new Babel release changes while the messages stay the same."""
    return {k: v for k, v in translations._catalog.items() if k != ""}  # type: ignore[attr-defined]


def plural_forms(translations: gettext.GNUTranslations) -> list[int]:
    """Which plural form the catalog picks for 0..200 (its Plural-Forms rule, applied)."""
    return [translations.plural(n) for n in range(201)]  # type: ignore[attr-defined]


@pytest.mark.parametrize("language", LANGUAGES)
def test_each_mo_is_what_its_po_compiles_to(language):
    compiled = io.BytesIO()
    write_mo(compiled, read(po_path(language)))
    compiled.seek(0)
    mo = po_path(language).with_suffix(".mo")
    with mo.open("rb") as f:
        committed = gettext.GNUTranslations(f)
    fresh = gettext.GNUTranslations(compiled)
    assert messages(committed) == messages(fresh), f"{mo} is stale: run 'make catalogs'"
    assert plural_forms(committed) == plural_forms(fresh), f"{mo}: plural rule differs"
    assert messages(committed), f"{mo} holds no messages"


def test_the_mo_comparison_ignores_the_tool_version_in_the_header(monkeypatch):
    """A catalog compiled by another Babel release (its Generated-By, another date) is the
    same catalog; one message changed is not."""
    import babel.messages.catalog as babel_catalog

    def compiled(catalog) -> gettext.GNUTranslations:
        out = io.BytesIO()
        write_mo(out, catalog)
        out.seek(0)
        return gettext.GNUTranslations(out)

    catalog = read(po_path("zh-CN"))
    first = compiled(catalog)
    monkeypatch.setattr(babel_catalog, "VERSION", "99.0.0")
    catalog.revision_date = date(2001, 1, 1)
    second = compiled(catalog)
    assert "Babel 99.0.0" in second._catalog[""] and "Babel 99.0.0" not in first._catalog[""]  # type: ignore[attr-defined]
    assert messages(first) == messages(second)
    changed = next(m for m in catalog if m.id and isinstance(m.id, str))
    changed.string = "changed"
    assert messages(compiled(catalog)) != messages(first)


def test_an_unknown_language_speaks_english():
    assert translator("fr").gettext("NAME") == "NAME"
    assert translator("zh-CN").gettext("NAME") == "名称"


def test_zh_cn_subjects_and_words():
    texts = Texts("zh-CN")
    renew = Item("renew", "A", "+447911123456", "", date(2026, 12, 1), 1)
    overdue = Item("overdue", "B", "+447911123457", "", date(2026, 11, 30), -1)
    assert texts.message([renew]).title == "simkeeper 提醒：A 需要处理"
    assert texts.message([renew, overdue]).title == "已逾期：请立即为 B、A 续费，否则号码可能被收回"
    assert texts.when(1) == "还剩 1 天" and Texts("en").when(1) == "1 day left"
    assert texts.digest([]).body == "没有即将到期的号码。"
    assert texts.disk_full("/x", "0 B").title == "simkeeper 需要处理"


def test_overrides_win_over_the_catalog():
    texts = Texts("zh-CN", {"title": "Mine: {names}"})
    item = Item("renew", "A", "+447911123456", "", date(2026, 12, 1), 1)
    assert texts.message([item]).title == "Mine: A"
    assert "请在 2026-12-01（周二）前续费" in texts.message([item]).body


CONFIG = """
[settings]
timezone = "Europe/Berlin"
remind = ["3d"]
language = "{language}"
state = "{state}"

[[notify]]
name = "screen"
url = "console://"

[[numbers]]
name = "Line"
number = "+44 7911 123456"
carrier = "Giffgaff"
cycle = "monthly"
due = 2026-12-15
cost = 10
currency = "GBP"
"""


def config(tmp_path: Path, language: str) -> Path:
    text = CONFIG.format(language=language, state=tmp_path / "state.db")
    return write_config(tmp_path / "config.toml", text)


def test_the_cli_surface_is_chinese_with_zh_cn(tmp_path, env):
    path = config(tmp_path, "zh-CN")
    assert ok(path, env, "check").endswith("：正常，1 个号码，1 个通知渠道\n")
    table = ok(path, env, "upcoming", "--now", "2026-12-13T09:00").splitlines()
    assert table[0].split() == ["期限", "剩余", "名称", "号码", "运营商", "周期", "操作"]
    assert table[1].split()[1:3] == ["2", "天"] and table[1].endswith("续费")
    assert send_due(path, env, "2026-12-13T09:00").endswith("已发送：screen")
    ok(path, env, "renewed", "Line", "--date", "2026-12-13", "--now", "2026-12-13T10:00")
    history = ok(path, env, "history").splitlines()
    assert history[0].split() == ["时间", "名称", "内容"]
    assert history[1].endswith("Line  续费（期限 2026-12-15）")
    assert history[2].endswith("2026-12-15 的续费提醒已发送至 screen")
    summary = ok(path, env, "summary", "--now", "2026-12-13T09:00").splitlines()
    assert summary[0].split() == ["币种", "未来", "12", "个月"]
    ics = ok(path, env, "calendar", "--now", "2026-12-13T09:00")
    events = Calendar.from_ical(ics).walk("VEVENT")
    assert str(events[0]["summary"]).startswith("续费 Line（")
    assert "请在 2027-01-15 前续费 Line" in str(events[0]["description"])
    alarm = events[0].walk("VALARM")[0]
    assert str(alarm["description"]) == "续费 Line：还剩 3 天"


def test_the_cli_surface_stays_english(tmp_path, env):
    path = config(tmp_path, "en")
    assert ok(path, env, "check").endswith(": OK, 1 number(s), 1 notify target(s)\n")
    table = ok(path, env, "upcoming", "--now", "2026-12-13T09:00").splitlines()
    assert table[0].split() == ["DEADLINE", "LEFT", "NAME", "NUMBER", "CARRIER", "CYCLE", "ACTION"]
    ics = ok(path, env, "calendar", "--now", "2026-12-13T09:00")
    event = Calendar.from_ical(ics).walk("VEVENT")[0]
    assert str(event["summary"]).startswith("Renew Line (")
    assert str(event.walk("VALARM")[0]["description"]) == "Renew Line: 3 day(s) left"


def test_plans_speaks_the_config_language_and_needs_no_config(tmp_path, env):
    path = config(tmp_path, "zh-CN")
    assert ok(path, env, "plans").splitlines()[0].split()[:4] == ["套餐", "线路", "周期", "规则"]
    missing = tmp_path / "none.toml"
    assert ok(missing, env, "plans").splitlines()[0].split()[:2] == ["PLAN", "LINE"]


def test_status_is_chinese_with_zh_cn(tmp_path, env):
    path = config(tmp_path, "zh-CN")
    fresh = ok(path, env, "status", "--now", "2026-12-01T09:00").splitlines()
    assert fresh[0] == f"状态数据库：{tmp_path / 'state.db'}（尚未创建）"
    assert fresh[1:4] == [
        "上次运行：无记录",
        "下次提醒：2026-12-12T09:00+01:00，Line（续费，期限 2026-12-15）",
        "投递：暂无",
    ]
    assert send_due(path, env, "2026-12-13T09:00").endswith("已发送：screen")
    result = sk(path, env, "status", "--now", "2026-12-16T08:00")
    assert result.returncode == 1  # overdue: it needs attention
    lines = result.stdout.splitlines()
    assert (
        "上次运行：2026-12-13T09:00+01:00，由 send-due 执行，正常，已发送至 1 个通知渠道，0 个失败"
        in lines
    )
    assert "投递：已发送 1" in lines
    header = next(line for line in lines if line.startswith("通知渠道"))
    assert header.split() == ["通知渠道", "地址", "最近成功", "最近出错时间", "最近错误"]
    assert lines[lines.index("有风险：") + 1] == "  Line：已逾期，期限 2026-12-15（1 天前）"
    assert lines[lines.index("需要处理：") + 1] == "  Line：已逾期，期限 2026-12-15"
    data = json.loads(
        sk(path, env, "status", "--now", "2026-12-16T08:00", "--format", "json").stdout
    )
    assert data["attention"] == ["Line: OVERDUE, deadline 2026-12-15"]  # JSON stays English


def test_renewed_topup_and_undo_are_chinese_with_zh_cn(tmp_path, env):
    path = config(tmp_path, "zh-CN")
    now = ("--now", "2026-12-13T10:00")
    renewed = ok(path, env, "renewed", "Line", "--date", "2026-12-13", *now)
    topup = ok(path, env, "topup", "Line", "5", *now)
    assert renewed == "已记录：Line 于 2026-12-13 续费；期限 2026-12-15 已完成\n"
    assert topup == "已记录：Line 于 2026-12-13 充值 5 GBP\n"
    assert ok(path, env, "undo", "Line", *now).splitlines() == [
        "已删除：Line 2026-12-13 的充值 5 GBP，记录于 2026-12-13T10:00+01:00",
        "下一个期限：2027-01-15（33 天）",
    ]
    assert ok(path, env, "undo", "Line", *now).splitlines() == [
        "已删除：Line 2026-12-13 的续费（期限 2026-12-15 已完成），记录于 2026-12-13T10:00+01:00",
        "下一个期限：2026-12-15（2 天）",
    ]


def glossary() -> list[tuple[str, str, list[str]]]:
    """The rows of locale/GLOSSARY.md: (English regex, zh-CN term, avoided words)."""
    rows = []
    for line in (LOCALE / "GLOSSARY.md").read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split(" | ")]
        if len(cells) == 3 and cells[0].startswith("`"):
            avoid = [w.strip() for w in cells[2].split(",") if w.strip()]
            rows.append((cells[0].strip("`"), cells[1], avoid))
    return rows


def zh_messages() -> list[tuple[str, str]]:
    """Every (msgid, msgstr) of the zh-CN catalog, plural forms each."""
    pairs = []
    for m in read(po_path("zh-CN")):
        if not m.id:
            continue
        ids = m.id if isinstance(m.id, tuple) else (m.id,)
        strings = m.string if isinstance(m.string, tuple) else (m.string,)
        pairs += [(ids[-1], s) for s in strings]
    return pairs


def test_the_glossary_has_the_terms_every_surface_shares():
    terms = {zh for _, zh, _ in glossary()}
    assert {"通知渠道", "期限", "续费", "充值", "提醒", "守护进程"} <= terms


@pytest.mark.parametrize(("english", "term", "avoid"), glossary(), ids=[g[1] for g in glossary()])
def test_zh_cn_uses_the_glossary_term_and_no_synonym(english, term, avoid):
    import re

    found = re.compile(english, re.I)
    for msgid, msgstr in zh_messages():
        for word in avoid:
            assert word not in msgstr, (msgid, msgstr, f"the glossary says {term}, not {word}")
        words = re.sub(r"\{[^}]*\}|%\([^)]*\)[sd]", "", msgid)  # not the placeholders' names
        if found.search(words):
            assert term in msgstr, (msgid, msgstr, f"the glossary says {term}")


def test_zh_cn_punctuation_is_full_width_and_has_no_space_after_a_full_stop():
    import re

    for msgid, msgstr in zh_messages():
        assert not re.search(r"[。，：；！？] ", msgstr), (msgid, msgstr)
        if re.search(r"[\u4e00-\u9fff]", msgstr):  # appended to a sentence ending in 。
            assert not msgstr.startswith(" "), (msgid, msgstr)
        if re.search(r"[\u4e00-\u9fff]", msgstr):
            # A colon or comma between Chinese words is full-width (ASCII ones stay in
            # command lines and times, e.g. 'simkeeper renewed', 09:00).
            assert not re.search(r"[\u4e00-\u9fff）][:,] ?[\u4e00-\u9fff{%]", msgstr), (
                msgid,
                msgstr,
            )


def test_zh_cn_reminders_calendar_and_links_read_as_chinese(tmp_path, env):
    """The cycle in the calendar is translated, the links' labels end in a full-width colon,
    and the note follows the full stop with no space."""
    texts = Texts("zh-CN")
    item = Item("renew", "A", "+447911123456", "", date(2026, 12, 1), 1, note="发一条短信")
    item = replace(
        item, actions=(("renewed", "https://x.example/r/1"), ("snooze", "https://x.example/r/2"))
    )
    body = texts.message([item]).body
    assert "还剩 1 天。备注：发一条短信" in body
    assert (
        "我已续费：https://x.example/r/1" in body and "明天再提醒我：https://x.example/r/2" in body
    )
    assert ": " not in body
    english = Texts("en").message([item]).body
    assert "I renewed it: https://x.example/r/1" in english and "1 day left. Note: " in english
    linked = replace(item, renew_url="https://x.example/topup", kind="overdue", days_left=-1)
    assert "充值：https://x.example/topup 备注：发一条短信" in texts.message([linked]).body
    path = config(tmp_path, "zh-CN")
    ics = ok(path, env, "calendar", "--now", "2026-12-13T09:00")
    description = str(Calendar.from_ical(ics).walk("VEVENT")[0]["description"])
    assert "周期：每月" in description and "monthly" not in description
