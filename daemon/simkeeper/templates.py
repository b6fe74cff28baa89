"""Message texts: the built-in en and zh-CN templates, user overrides, and rendering.

A message goes to one target and lists every reminder due for it in the same pass. Each reminder
is one item rendered from the template of its kind (``renew``, ``overdue``, ``topup``); the
``title`` template names the numbers. Overrides in ``[templates]`` use the same placeholders.
"""

from __future__ import annotations

import string
from dataclasses import dataclass
from datetime import date

import phonenumbers

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
]
TITLE_FIELDS = ["count", "names", "deadlines"]
TEMPLATE_KEYS = {
    "title": TITLE_FIELDS,
    "renew": ITEM_FIELDS,
    "overdue": ITEM_FIELDS,
    "topup": ITEM_FIELDS,
    "digest": TITLE_FIELDS,
    "test": [],
}

BUILTIN: dict[str, dict[str, str]] = {
    "en": {
        "title": "simkeeper reminder: {names}",
        "renew": "{name} ({number}{carrier}): renew by {deadline} ({weekday}), {when}.{note}",
        "overdue": "OVERDUE {name} ({number}{carrier}): was due {deadline} ({weekday}), "
        "{when}. Renew now or the number may be lost.{note}",
        "topup": "{name} ({number}{carrier}): the balance of {balance} {currency} runs out on "
        "{deadline} ({weekday}), {when}. Top up before then.{note}",
        "digest": "simkeeper: the next 30 days ({deadlines})",
        "test": "simkeeper test message: this target works.",
    },
    "zh-CN": {
        "title": "simkeeper 提醒：{names} 需要处理",
        "renew": "{name}（{number}{carrier}）：请在 {deadline}（{weekday}）前续费，{when}。{note}",
        "overdue": "已逾期 {name}（{number}{carrier}）：原定 {deadline}（{weekday}）到期，{when}。"
        "请立即续费，否则号码可能被收回。{note}",
        "topup": "{name}（{number}{carrier}）：余额 {balance} {currency} 将在 {deadline}"
        "（{weekday}）用完，{when}。请在此之前充值。{note}",
        "digest": "simkeeper：未来 30 天（{deadlines}）",
        "test": "simkeeper 测试消息：此通知渠道可用。",
    },
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


@dataclass(frozen=True)
class Message:
    """A rendered message for one target."""

    title: str
    body: str


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
        }
        return self.templates[item.kind].format_map(values).strip()

    def message(self, items: list[Item]) -> Message:
        """One message listing ``items``, most urgent first."""
        items = sorted(items, key=lambda i: (i.days_left, i.name))
        names = list(dict.fromkeys(i.name for i in items))
        shown = ("、" if self.language == "zh-CN" else ", ").join(names[:3])
        if len(names) > 3:
            shown += f" +{len(names) - 3}"
        title = self.templates["title"].format_map(self._counted(items, shown))
        lines = [self.item(i) for i in items]
        body = lines[0] if len(lines) == 1 else "\n".join(f"• {line}" for line in lines)
        return Message(title, body)

    def digest(self, items: list[Item]) -> Message:
        """The weekly digest: every deadline in the next 30 days."""
        title = self.templates["digest"].format_map(self._counted(items, ""))
        if not items:
            body = "没有即将到期的号码。" if self.language == "zh-CN" else "Nothing is due."
        else:
            body = "\n".join(f"• {self.item(i)}" for i in items)
        return Message(title, body)

    def _counted(self, items: list[Item], names: str) -> dict[str, object]:
        n = len(items)
        if self.language == "zh-CN":
            deadlines = f"{n} 个期限"
        else:
            deadlines = f"{n} deadline{'s' if n != 1 else ''}"
        return {"count": n, "names": names, "deadlines": deadlines}

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
