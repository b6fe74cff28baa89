"""Message texts: the built-in en and zh-CN templates, user overrides, and rendering.

A message goes to one target and lists every reminder due for it in the same pass. Each reminder
is one item rendered from the template of its kind (``renew``, ``overdue``, ``topup``); the
``title`` template names the numbers. Overrides in ``[templates]`` use the same placeholders.
"""

from __future__ import annotations

import html
import string
from dataclasses import dataclass
from datetime import date, timedelta

import phonenumbers

from .model import FINAL_WEEK

LANGUAGES = ("en", "zh-CN")
ITEM_FIELDS = [
    "name",
    "number",
    "carrier",
    "deadline",
    "weekday",
    "days_left",
    "days",
    "when",
    "note",
    "amount",
    "currency",
    "balance",
    "kind",
    "cycle",
    "stage",
    "lost_on",
    "stages",
    "renew_url",
    "link",
]
TITLE_FIELDS = ["count", "names", "deadlines"]
TEMPLATE_KEYS = {
    "title": TITLE_FIELDS,
    "overdue_title": TITLE_FIELDS,
    "renew": ITEM_FIELDS,
    "overdue": ITEM_FIELDS,
    "topup": ITEM_FIELDS,
    "digest": TITLE_FIELDS,
    "test": [],
}

BUILTIN: dict[str, dict[str, str]] = {
    "en": {
        "title": "simkeeper reminder: {names}",
        "overdue_title": "OVERDUE: renew {names} now or lose the number",
        "renew": "{name} ({number}{carrier}): renew by {deadline} ({weekday}), {when}."
        "{stages}{link}{note}",
        "overdue": "OVERDUE {name} ({number}{carrier}): was due {deadline} ({weekday}), "
        "{when}. Renew now or the number may be lost.{stages}{link}{note}",
        "topup": "{name} ({number}{carrier}): the balance of {balance} {currency} runs out on "
        "{deadline} ({weekday}), {when}. Top up before then.{stages}{link}{note}",
        "digest": "simkeeper: the next 30 days ({deadlines})",
        "test": "simkeeper test message: this target works.",
    },
    "zh-CN": {
        "title": "simkeeper 提醒：{names} 需要处理",
        "overdue_title": "已逾期：请立即为 {names} 续费，否则号码可能被收回",
        "renew": "{name}（{number}{carrier}）：请在 {deadline}（{weekday}）前续费，{when}。"
        "{stages}{link}{note}",
        "overdue": "已逾期 {name}（{number}{carrier}）：原定 {deadline}（{weekday}）到期，{when}。"
        "请立即续费，否则号码可能被收回。{stages}{link}{note}",
        "topup": "{name}（{number}{carrier}）：余额 {balance} {currency} 将在 {deadline}"
        "（{weekday}）用完，{when}。请在此之前充值。{stages}{link}{note}",
        "digest": "simkeeper：未来 30 天（{deadlines}）",
        "test": "simkeeper 测试消息：此通知渠道可用。",
    },
}
# The sentences around a number's after_deadline stages and its renew_url, per language.
STAGE_TEXTS: dict[str, dict[str, str]] = {
    "en": {
        "missed": " If it is missed: {steps}; the number is lost on {lost_on}.",
        "step": "{state} from {day}",
        "join": ", then ",
        "now": " Now: {stage}.",
        "next": " Next: {state} from {day}.",
        "lost": " The number is lost on {lost_on} ({left}).",
        "final": " FINAL WEEK: the number is lost on {lost_on} ({left}).",
        "link": " Top up: {url}",
        "in": "in {n} days",
        "today": "today",
    },
    "zh-CN": {
        "missed": " 若错过：{steps}；号码将于 {lost_on} 被收回。",
        "step": "{day} 起{state}",
        "join": "，",
        "now": " 当前：{stage}。",
        "next": " 下一步：{day} 起{state}。",
        "lost": " 号码将于 {lost_on} 被收回（{left}）。",
        "final": " 最后一周：号码将于 {lost_on} 被收回（{left}）！",
        "link": " 充值：{url}",
        "in": "还有 {n} 天",
        "today": "今天",
    },
}
FAILURE: dict[str, tuple[str, str]] = {
    "en": (
        "simkeeper has stopped: {unit} failed",
        "The reminder service {unit} has failed and sends no reminders until it is fixed. "
        "See why with: journalctl -u {unit}",
    ),
    "zh-CN": (
        "simkeeper 已停止：{unit} 运行失败",
        "提醒服务 {unit} 已失败，修复之前不会再发送任何提醒。查看原因：journalctl -u {unit}",
    ),
}
# simkeeper's own alerts about itself (not user-overridable): a number it cannot work out, and a
# full disk. Both languages must have every key.
ALERTS: dict[str, dict[str, str]] = {
    "en": {
        "title": "simkeeper needs attention",
        "problem": "{name} ({number}): simkeeper cannot work out this number's deadlines "
        "({error}), so it sends no reminder for it. Fix its entry and run 'simkeeper check'.",
        "disk_full": "simkeeper cannot record what it sends: the disk holding {path} is full "
        "({free} free). Reminders are paused until space is freed.",
    },
    "zh-CN": {
        "title": "simkeeper 需要处理",
        "problem": "{name}（{number}）：simkeeper 无法计算此号码的期限（{error}），因此不会为它"
        "发送提醒。请修正其配置并运行 'simkeeper check'。",
        "disk_full": "simkeeper 无法记录发送结果：{path} 所在的磁盘已满（剩余 {free}）。"
        "释放空间之前，提醒暂停。",
    },
}
_WEEKDAYS = {
    "en": ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"],
    "zh-CN": ["周一", "周二", "周三", "周四", "周五", "周六", "周日"],
}


class TemplateError(ValueError):
    """A template override with an unknown placeholder or broken braces."""

    def __init__(self, message: str, hint: str | None = None):
        super().__init__(message)
        self.hint = hint


def check_template(key: str, text: str) -> None:
    """Raise :class:`TemplateError` if ``text`` uses a placeholder ``key`` does not offer."""
    allowed = TEMPLATE_KEYS[key]
    try:
        fields = [f for _, f, _, _ in string.Formatter().parse(text) if f is not None]
    except ValueError as e:
        raise TemplateError(f"broken template: {e}", "write literal braces as {{ and }}") from None
    for f in fields:
        if f not in allowed:
            raise TemplateError(
                f'unknown placeholder "{{{f}}}"',
                f"available: {', '.join('{' + a + '}' for a in allowed) or 'none'}",
            )


def mask_number(e164: str) -> str:
    """Show a number for privacy: country code, two leading and three trailing digits."""
    try:
        parsed = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return "****"
    shown = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
    code, _, national = shown.partition(" ")
    digits = sum(c.isdigit() for c in national)
    out, seen = [], 0
    for c in national:
        if c.isdigit():
            seen += 1
            out.append(c if seen <= 2 or seen > digits - 3 else "*")
        else:
            out.append(" " if c == "-" else c)
    return f"{code} {''.join(out)}"


@dataclass(frozen=True)
class Item:
    """What one reminder says, independent of language."""

    kind: str  # renew | overdue | topup
    name: str
    number: str  # E.164; masked when rendered
    carrier: str
    deadline: date
    days_left: int
    note: str = ""
    cycle: str = ""
    balance: str = ""
    currency: str = ""
    stages: tuple[tuple[int, str], ...] = ()  # (days after the deadline, state), in order
    renew_url: str = ""

    @property
    def today(self) -> date:
        """The day the item is rendered for, in the number's zone."""
        return self.deadline - timedelta(days=self.days_left)

    def on(self, after: int) -> date:
        """The date ``after`` days past the deadline."""
        return self.deadline + timedelta(days=after)

    @property
    def lost_on(self) -> date | None:
        """The day of the last stage, when the number is lost."""
        return self.on(self.stages[-1][0]) if self.stages else None

    @property
    def stage(self) -> str:
        """The state of the stage the number is in today ("" before the deadline passed)."""
        if self.days_left >= 0:
            return ""
        current = ""
        for after, state in self.stages:
            if self.on(after) <= self.today:
                current = state
        return current


@dataclass(frozen=True)
class Message:
    """A rendered message for one target: plain text, and the same as HTML for targets that
    render HTML (email). Every piece of text in ``html`` is escaped; lines are a list or
    ``<br>``-separated, never raw newlines."""

    title: str
    body: str
    html: str = ""

    @property
    def as_html(self) -> str:
        """The HTML form: ``html`` if rendered, else the plain body escaped, line by line."""
        return self.html or html_lines(self.body.splitlines())

    def followed_by(self, other: Message) -> Message:
        """This message with ``other`` (its title as a heading) appended to the body."""
        return Message(
            self.title,
            f"{self.body}\n\n{other.title}\n{other.body}",
            f"{self.as_html}<p><b>{html.escape(other.title)}</b></p>{other.as_html}",
        )


def html_lines(lines: list[str]) -> str:
    """Plain text lines as an HTML paragraph, each escaped, separated by ``<br>``."""
    return "<p>" + "<br>".join(html.escape(line) for line in lines) + "</p>"


def html_list(lines: list[str]) -> str:
    """Plain text lines as an HTML bullet list, each escaped."""
    return "<ul>" + "".join(f"<li>{html.escape(line)}</li>" for line in lines) + "</ul>"


class Texts:
    """The templates of one language with the config's overrides applied."""

    def __init__(self, language: str = "en", overrides: dict[str, str] | None = None):
        self.language = language if language in BUILTIN else "en"
        self.templates = {**BUILTIN[self.language], **(overrides or {})}

    def when(self, days_left: int) -> str:
        """``3 days left``, ``due today``, ``2 days overdue`` (or the zh-CN forms)."""
        zh = self.language == "zh-CN"
        if days_left == 0:
            return "今天到期" if zh else "due today"
        if days_left > 0:
            if zh:
                return f"还剩 {days_left} 天"
            return f"{days_left} day{'s' if days_left != 1 else ''} left"
        late = -days_left
        return f"已逾期 {late} 天" if zh else f"{late} day{'s' if late != 1 else ''} overdue"

    def item(self, item: Item) -> str:
        """One reminder as a line of text."""
        zh = self.language == "zh-CN"
        sep = "，" if zh else ", "
        note = item.note and ((" 备注：" if zh else " Note: ") + item.note)
        values = {
            "name": item.name,
            "number": mask_number(item.number),
            "carrier": f"{sep}{item.carrier}" if item.carrier else "",
            "deadline": item.deadline.isoformat(),
            "weekday": _WEEKDAYS[self.language][item.deadline.weekday()],
            "days_left": item.days_left,
            "days": abs(item.days_left),
            "when": self.when(item.days_left),
            "note": note,
            "amount": item.balance,
            "balance": item.balance,
            "currency": item.currency,
            "kind": item.kind,
            "cycle": item.cycle,
            "stage": item.stage,
            "lost_on": item.lost_on.isoformat() if item.lost_on else "",
            "stages": self.stages(item),
            "renew_url": item.renew_url,
            "link": STAGE_TEXTS[self.language]["link"].format(url=item.renew_url)
            if item.renew_url
            else "",
        }
        return self.templates[item.kind].format_map(values).strip()

    def stages(self, item: Item) -> str:
        """What follows a missed deadline: before it, every stage and when the number is lost;
        after it, the current stage, the next one and the loss date (loudly in its last week)."""
        lost = item.lost_on
        if lost is None:
            return ""
        t = STAGE_TEXTS[self.language]
        if item.days_left >= 0:
            steps = t["join"].join(
                t["step"].format(state=state, day=item.on(after).isoformat())
                for after, state in item.stages
            )
            return t["missed"].format(steps=steps, lost_on=lost.isoformat())
        days = (lost - item.today).days
        left = t["in"].format(n=days) if days else t["today"]
        if 0 <= days < FINAL_WEEK:
            return t["final"].format(lost_on=lost.isoformat(), left=left)
        out = t["now"].format(stage=item.stage) if item.stage else ""
        upcoming = [(a, s) for a, s in item.stages if item.on(a) > item.today]
        if len(upcoming) > 1:
            out += t["next"].format(state=upcoming[0][1], day=item.on(upcoming[0][0]).isoformat())
        if lost > item.today:
            out += t["lost"].format(lost_on=lost.isoformat(), left=left)
        return out

    def message(self, items: list[Item]) -> Message:
        """One message listing ``items``, most urgent first."""
        items = sorted(items, key=lambda i: (i.days_left, i.name))
        names = list(dict.fromkeys(i.name for i in items))
        shown = ("、" if self.language == "zh-CN" else ", ").join(names[:3])
        if len(names) > 3:
            shown += f" +{len(names) - 3}"
        overdue = any(i.kind == "overdue" for i in items)
        title_key = "overdue_title" if overdue else "title"
        title = self.templates[title_key].format_map(self._counted(items, shown))
        lines = [self.item(i) for i in items]
        if len(lines) == 1:
            return Message(title, lines[0], html_lines(lines))
        return Message(title, "\n".join(f"• {line}" for line in lines), html_list(lines))

    def digest(self, items: list[Item]) -> Message:
        """The weekly digest: every deadline in the next 30 days."""
        title = self.templates["digest"].format_map(self._counted(items, ""))
        if not items:
            body = "没有即将到期的号码。" if self.language == "zh-CN" else "Nothing is due."
            return Message(title, body, html_lines([body]))
        lines = [self.item(i) for i in items]
        return Message(title, "\n".join(f"• {line}" for line in lines), html_list(lines))

    def _counted(self, items: list[Item], names: str) -> dict[str, object]:
        n = len(items)
        if self.language == "zh-CN":
            deadlines = f"{n} 个期限"
        else:
            deadlines = f"{n} deadline{'s' if n != 1 else ''}"
        return {"count": n, "names": names, "deadlines": deadlines}

    def failure(self, unit: str) -> Message:
        """The alert ``simkeeper notify-failure`` sends when the service has failed."""
        title, body = FAILURE[self.language]
        return Message(title.format(unit=unit), body.format(unit=unit))

    def problem(self, name: str, number: str, error: str) -> str:
        """The alert line for a number simkeeper cannot work out."""
        text = ALERTS[self.language]["problem"]
        return text.format(name=name, number=mask_number(number), error=error)

    def disk_full(self, path: str, free: str) -> Message:
        """The alert that the state disk is full."""
        alerts = ALERTS[self.language]
        return Message(alerts["title"], alerts["disk_full"].format(path=path, free=free))

    def alert_title(self) -> str:
        """The title of a message that carries only simkeeper's own alerts."""
        return ALERTS[self.language]["title"]

    def test(self) -> Message:
        """The message ``simkeeper test`` sends."""
        return Message("simkeeper", self.templates["test"])
