"""Message texts: the built-in en and zh-CN templates, user overrides, and rendering.

A message goes to one target and lists every reminder due for it in the same pass. Each reminder
is one item rendered from the template of its kind (``renew``, ``overdue``, ``topup``); the
``title`` template names the numbers. Overrides in ``[templates]`` use the same placeholders.
"""

from __future__ import annotations

import string
from dataclasses import dataclass
from datetime import date, timedelta

from simkeeper.core.model import FINAL_WEEK
from simkeeper.texts.i18n import LANGUAGES, N_, Translator, translator

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

# The built-in templates: English msgids, translated through the language's catalog
# (locale/). Overrides in [templates] replace the translated text.
BUILTIN: dict[str, str] = {
    "title": N_("simkeeper reminder: {names}"),
    "overdue_title": N_("OVERDUE: renew {names} now or lose the number"),
    "renew": N_(
        "{name} ({number}{carrier}): renew by {deadline} ({weekday}), {when}.{stages}{link}{note}"
    ),
    "overdue": N_(
        "OVERDUE {name} ({number}{carrier}): was due {deadline} ({weekday}), "
        "{when}. Renew now or the number may be lost.{stages}{link}{note}"
    ),
    "topup": N_(
        "{name} ({number}{carrier}): the balance of {balance} {currency} runs out on "
        "{deadline} ({weekday}), {when}. Top up before then.{stages}{link}{note}"
    ),
    "digest": N_("simkeeper: the next 30 days ({deadlines})"),
    "test": N_("simkeeper test message: this target works."),
}
# The sentences around a number's after_deadline stages and its renew_url.
STAGE_TEXTS: dict[str, str] = {
    "missed": N_(" If it is missed: {steps}; the number is lost on {lost_on}."),
    "step": N_("{state} from {day}"),
    "join": N_(", then "),
    "now": N_(" Now: {stage}."),
    "next": N_(" Next: {state} from {day}."),
    "lost": N_(" The number is lost on {lost_on} ({left})."),
    "final": N_(" FINAL WEEK: the number is lost on {lost_on} ({left})."),
    "link": N_(" Top up: {url}"),
    "in": N_("in {n} days"),
    "today": N_("today"),
}
FAILURE: tuple[str, str] = (
    N_("simkeeper has stopped: {unit} failed"),
    N_(
        "The reminder service {unit} has failed and sends no reminders until it is fixed. "
        "See why with: journalctl -u {unit}"
    ),
)
# simkeeper's own alerts about itself (not user-overridable): a number it cannot work out, and a
# full disk.
ALERTS: dict[str, str] = {
    "title": N_("simkeeper needs attention"),
    "problem": N_(
        "{name} ({number}): simkeeper cannot work out this number's deadlines "
        "({error}), so it sends no reminder for it. Fix its entry and run 'simkeeper check'."
    ),
    "disk_full": N_(
        "simkeeper cannot record what it sends: the disk holding {path} is full "
        "({free} free). Reminders are paused until space is freed."
    ),
}
# The two signed links under a renewal reminder or overdue alert when [web] is set.
ACTION_TEXTS: dict[str, str] = {"renewed": N_("I renewed it"), "snooze": N_("Remind me tomorrow")}
_WEEKDAYS = (N_("Mon"), N_("Tue"), N_("Wed"), N_("Thu"), N_("Fri"), N_("Sat"), N_("Sun"))


def stage_texts(t: Translator) -> dict[str, str]:
    """:data:`STAGE_TEXTS` in the language of ``t``."""
    return {key: t.gettext(text) for key, text in STAGE_TEXTS.items()}


def alert_texts(t: Translator) -> dict[str, str]:
    """:data:`ALERTS` in the language of ``t``."""
    return {key: t.gettext(text) for key, text in ALERTS.items()}


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
    import phonenumbers  # here: an idle daemon renders no message and need not hold it

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
    actions: tuple[tuple[str, str], ...] = ()  # (action, signed URL) of the web face

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
        import html  # here and below: only messages that are sent need it (the idle daemon not)

        return Message(
            self.title,
            f"{self.body}\n\n{other.title}\n{other.body}",
            f"{self.as_html}<p><b>{html.escape(other.title)}</b></p>{other.as_html}",
        )


def html_lines(lines: list[str]) -> str:
    """Plain text lines as an HTML paragraph, each escaped, separated by ``<br>``."""
    import html

    return "<p>" + "<br>".join(html.escape(line) for line in lines) + "</p>"


def html_list(lines: list[str]) -> str:
    """Plain text lines as an HTML bullet list, each escaped."""
    import html

    return "<ul>" + "".join(f"<li>{html.escape(line)}</li>" for line in lines) + "</ul>"


# A link drawn as a button in mail clients (inline styles: mail clients drop style sheets).
BUTTON_STYLE = (
    "display:inline-block;margin:8px 8px 0 0;padding:10px 16px;border-radius:6px;"
    "background:#1a6;color:#fff;font-weight:bold;text-decoration:none"
)
# The URLs again, hidden in the HTML part: Apprise makes the mail's text part from the HTML
# part, and there each button's URL must stay (``label: URL``, as in the plain message).
HIDDEN_STYLE = "display:none;mso-hide:all;max-height:0;overflow:hidden"


def _buttons(links: list[tuple[str, str]], colon: str = ": ") -> str:
    """The links as labelled buttons, and their URLs for the text part (escaped); ``colon``
    is the language's colon before a value."""
    import html

    buttons = "".join(
        f'<a href="{html.escape(url)}" style="{BUTTON_STYLE}">{html.escape(label)}</a>'
        for label, url in links
    )
    urls = "<br>".join(
        f"{html.escape(label)}{html.escape(colon)}{html.escape(url)}" for label, url in links
    )
    return f'<div>{buttons}</div><div style="{HIDDEN_STYLE}">{urls}</div>'


class Texts:
    """The templates of one language with the config's overrides applied."""

    def __init__(self, language: str = "en", overrides: dict[str, str] | None = None):
        self.language = language if language in LANGUAGES else "en"
        self.t: Translator = translator(self.language)
        builtin = {key: self.t.gettext(text) for key, text in BUILTIN.items()}
        self.templates = {**builtin, **(overrides or {})}

    def when(self, days_left: int) -> str:
        """``3 days left``, ``due today``, ``2 days overdue`` (or the zh-CN forms)."""
        t = self.t
        if days_left == 0:
            return t.gettext("due today")
        if days_left > 0:
            return t.ngettext("{n} day left", "{n} days left", days_left).format(n=days_left)
        late = -days_left
        return t.ngettext("{n} day overdue", "{n} days overdue", late).format(n=late)

    def item(self, item: Item) -> str:
        """One reminder as a line of text."""
        t = self.t
        sep = t.pgettext("before the carrier", ", ")
        note = item.note and t.gettext(" Note: {note}").format(note=item.note)
        values = {
            "name": item.name,
            "number": mask_number(item.number),
            "carrier": f"{sep}{item.carrier}" if item.carrier else "",
            "deadline": item.deadline.isoformat(),
            "weekday": t.gettext(_WEEKDAYS[item.deadline.weekday()]),
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
            "link": stage_texts(t)["link"].format(url=item.renew_url) if item.renew_url else "",
        }
        return self.templates[item.kind].format_map(values).strip()

    def stages(self, item: Item) -> str:
        """What follows a missed deadline: before it, every stage and when the number is lost;
        after it, the current stage, the next one and the loss date (loudly in its last week)."""
        lost = item.lost_on
        if lost is None:
            return ""
        t = stage_texts(self.t)
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
        shown = self.t.pgettext("between names", ", ").join(names[:3])
        if len(names) > 3:
            shown += f" +{len(names) - 3}"
        overdue = any(i.kind == "overdue" for i in items)
        title_key = "overdue_title" if overdue else "title"
        title = self.templates[title_key].format_map(self._counted(items, shown))
        lines = [self.item(i) for i in items]
        if not any(i.actions for i in items):
            if len(lines) == 1:
                return Message(title, lines[0], html_lines(lines))
            return Message(title, "\n".join(f"• {line}" for line in lines), html_list(lines))
        return self._with_actions(title, items, lines)

    def _with_actions(self, title: str, items: list[Item], lines: list[str]) -> Message:
        """The message with each item's web links: a line each, ``label: URL``, in the plain
        text; labelled buttons in the HTML part (every text and URL escaped)."""
        import html  # only messages that are sent need it

        plain: list[str] = []
        parts: list[str] = []
        bullet = "• " if len(items) > 1 else ""
        for item, line in zip(items, lines, strict=True):
            plain.append(bullet + line)
            links = [(self.t.gettext(ACTION_TEXTS[a]), url) for a, url in item.actions]
            colon = self.t.pgettext("before a value", ": ")
            plain += [f"  {label}{colon}{url}" for label, url in links]
            parts.append(html.escape(line) + _buttons(links, colon))
        if len(items) == 1:
            body_html = f"<p>{parts[0]}</p>"
        else:
            body_html = "<ul>" + "".join(f"<li>{p}</li>" for p in parts) + "</ul>"
        return Message(title, "\n".join(plain), body_html)

    def digest(self, items: list[Item]) -> Message:
        """The weekly digest: every deadline in the next 30 days."""
        title = self.templates["digest"].format_map(self._counted(items, ""))
        if not items:
            body = self.t.gettext("Nothing is due.")
            return Message(title, body, html_lines([body]))
        lines = [self.item(i) for i in items]
        return Message(title, "\n".join(f"• {line}" for line in lines), html_list(lines))

    def _counted(self, items: list[Item], names: str) -> dict[str, object]:
        n = len(items)
        deadlines = self.t.ngettext("{n} deadline", "{n} deadlines", n).format(n=n)
        return {"count": n, "names": names, "deadlines": deadlines}

    def failure(self, unit: str) -> Message:
        """The alert ``simkeeper notify-failure`` sends when the service has failed."""
        title, body = (self.t.gettext(text) for text in FAILURE)
        return Message(title.format(unit=unit), body.format(unit=unit))

    def problem(self, name: str, number: str, error: str) -> str:
        """The alert line for a number simkeeper cannot work out."""
        text = alert_texts(self.t)["problem"]
        return text.format(name=name, number=mask_number(number), error=error)

    def disk_full(self, path: str, free: str) -> Message:
        """The alert that the state disk is full."""
        text = alert_texts(self.t)["disk_full"]
        return Message(self.alert_title(), text.format(path=path, free=free))

    def alert_title(self) -> str:
        """The title of a message that carries only simkeeper's own alerts."""
        return alert_texts(self.t)["title"]

    def test(self) -> Message:
        """The message ``simkeeper test`` sends."""
        return Message("simkeeper", self.templates["test"])
