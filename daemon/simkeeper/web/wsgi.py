"""The web face: a small WSGI application over the application layer (:mod:`.app`).

Every handler is a thin edge: it checks the request's token, calls an :mod:`.app` function and
renders a page with Jinja2 (autoescaped, in en or zh-CN). Every response, errors included,
carries the security headers of :data:`SECURITY_HEADERS`. The routes are in :func:`routes`, one
table of path -> handler (a path ending in ``/`` takes everything below it). ``GET`` never
changes anything; only ``POST`` of a signed link records a renewal or a snooze.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime
from http import HTTPStatus
from importlib.resources import files
from typing import Any, TypeAlias
from urllib.parse import parse_qsl, urlsplit

import jinja2

from simkeeper.core.errors import SimkeeperError
from simkeeper.core.model import Config
from simkeeper.present.board import Board
from simkeeper.texts.i18n import LANGUAGES, Translator, translator
from simkeeper.web.ratelimit import Limiter

log = logging.getLogger("simkeeper.web")

SECURITY_HEADERS = (
    (
        "Content-Security-Policy",
        "default-src 'none'; style-src 'self'; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'",
    ),
    ("X-Frame-Options", "DENY"),
    ("Referrer-Policy", "no-referrer"),
    ("X-Content-Type-Options", "nosniff"),
)
DEFAULT_CACHE = ("Cache-Control", "no-store")  # unless the response says otherwise
MAX_FORM_BYTES = 4096  # a form here holds one hidden field at most
MAX_BODY_BYTES = 65537  # a webhook's JSON, read whole (one byte more: too long is refused)
HTML = "text/html; charset=utf-8"


@dataclass(frozen=True)
class Request:
    """What a handler needs of an HTTP request."""

    method: str
    path: str
    query: Mapping[str, str] = field(default_factory=dict)
    form: Mapping[str, str] = field(default_factory=dict)
    headers: Mapping[str, str] = field(default_factory=dict)  # lower-case names
    remote: str = ""
    body: bytes = b""  # a POST's raw body (a webhook's signature is over these bytes)


@dataclass(frozen=True)
class Response:
    """What a handler answers; the security headers are added to every one."""

    status: int
    body: bytes
    content_type: str = HTML
    headers: tuple[tuple[str, str], ...] = ()


class Site:
    """What every handler shares: the config, the link key, the clock, the limiter and pages."""

    def __init__(
        self,
        config: Config,
        key: bytes,
        clock: Callable[[], datetime],
        limiter: Limiter | None = None,
    ):
        self.config = config
        self.key = key
        self.clock = clock
        self.limiter = limiter or Limiter()
        # each number's next deadline and stage, kept between requests (see .board)
        self.board = Board(config.numbers)
        self.pages = {lang: _environment(translator(lang)) for lang in LANGUAGES}
        # where the pages live under base_url (behind a proxy at https://host/sims: "/sims")
        self.root = urlsplit(config.web.base_url).path.rstrip("/") if config.web else ""

    def language(self, request: Request) -> str:
        """The browser's language when it asks for one simkeeper has, else the config's."""
        return negotiate(request.headers.get("accept-language", ""), self.config.settings.language)

    def page(self, request: Request, template: str, status: int = 200, **values: Any) -> Response:
        """``template`` rendered in the request's language."""
        lang = self.language(request)
        page = self.pages[lang].get_template(template)
        body = page.render(lang=lang, root=self.root, **values)
        return Response(status, body.encode("utf-8"))

    def error(self, request: Request, status: int, message: str = "") -> Response:
        """An error page (its headers are those of every page)."""
        reason = HTTPStatus(status).phrase
        return self.page(request, "error.html", status, code=status, reason=reason, message=message)

    def translator(self, request: Request) -> Translator:
        """The translator of the request's language (for texts made in code)."""
        return translator(self.language(request))


Handler: TypeAlias = Callable[[Site, Request], Response]


def _environment(t: Translator) -> jinja2.Environment:
    """The page templates (``pages/``) in one language, autoescaped."""
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("simkeeper.web", "pages"),
        autoescape=True,
        extensions=["jinja2.ext.i18n"],
        undefined=jinja2.StrictUndefined,
    )
    env.install_gettext_translations(t, newstyle=True)  # type: ignore[attr-defined]
    return env


def negotiate(accept_language: str, default: str) -> str:
    """The first language of an ``Accept-Language`` header that simkeeper speaks, by weight;
    ``default`` when it names none."""
    ranked: list[tuple[float, int, str]] = []
    for i, part in enumerate(accept_language.split(",")):
        tag, _, params = part.strip().partition(";")
        q = 1.0
        if params.strip().startswith("q="):
            try:
                q = float(params.strip()[2:])
            except ValueError:
                q = 0.0
        ranked.append((-q, i, tag.strip().lower()))
    for minus_q, _, tag in sorted(ranked):
        if minus_q >= 0:
            break
        if tag.startswith("zh"):
            return "zh-CN"
        if tag.startswith("en"):
            return "en"
    return default


# -- the routes (the table itself is in .routes, above the handlers) -------------------------


def find_handler(table: Mapping[str, Handler], path: str) -> Handler | None:
    """The handler of ``path``: an exact entry, else the longest ``.../`` prefix entry."""
    if path in table:
        return table[path]
    prefixes = [p for p in table if p.endswith("/") and p != "/" and path.startswith(p)]
    return table[max(prefixes, key=len)] if prefixes else None


def style_sheet(site: Site, request: Request) -> Response:
    """The one style sheet (served here: no asset comes from another site)."""
    if request.method not in ("GET", "HEAD"):
        return site.error(request, 405)
    css = files("simkeeper.web").joinpath("pages/style.css").read_bytes()
    return Response(200, css, "text/css; charset=utf-8")


# -- WSGI -----------------------------------------------------------------------------------


class Application:
    """The WSGI application: parse, route, answer, and add the headers to every response."""

    def __init__(self, site: Site, table: Mapping[str, Handler]):
        self.site = site
        self.table = dict(table)

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        request = parse_request(environ, self.site.root)
        response = self.respond(request)
        own = {name.lower() for name, _ in response.headers}
        headers = [
            # The server's time once the answer is made, on the clock the handlers read: a
            # Last-Modified is never later than it (RFC 9110, 8.8.2.1). The server's own Date
            # is the instant the request arrived, which a handler's clock can pass.
            ("Date", format_datetime(self.site.clock().astimezone(UTC), usegmt=True)),
            ("Content-Type", response.content_type),
            ("Content-Length", str(len(response.body))),
            *SECURITY_HEADERS,
            *([] if "cache-control" in own else [DEFAULT_CACHE]),
            *response.headers,
        ]
        status = f"{response.status} {HTTPStatus(response.status).phrase}"
        start_response(status, headers)
        return [b"" if request.method == "HEAD" else response.body]

    def respond(self, request: Request) -> Response:
        """The handler's response, or an error page; never a traceback."""
        handler = find_handler(self.table, request.path)
        if handler is None:
            return self.site.error(request, 404)
        try:
            return handler(self.site, request)
        except SimkeeperError as e:  # the state cannot be read or written: say why in the log
            log.error("%s %s: %s", request.method, shown_path(request.path), e)
            return self.site.error(request, 503)
        except Exception:
            log.exception("the web face failed on %s %s", request.method, shown_path(request.path))
            return self.site.error(request, 500)


def shown_path(path: str) -> str:
    """A path as the log may show it: a webhook's secret part left out."""
    if path.startswith("/hooks/"):
        return "/hooks/" + path[len("/hooks/") :].split("/", 1)[0] + "/…"
    return path


def parse_request(environ: Mapping[str, Any], root: str = "") -> Request:
    """The request of a WSGI ``environ``, with a small form body read when there is one.

    A path under ``root`` (the path of ``base_url``, for a proxy that passes it on) is taken
    without it, so ``/sims/r/TOKEN`` and ``/r/TOKEN`` are the same page."""
    method = str(environ.get("REQUEST_METHOD", "GET")).upper()
    path = str(environ.get("PATH_INFO", "/")) or "/"
    if root and (path == root or path.startswith(root + "/")):
        path = path[len(root) :] or "/"
    query = dict(parse_qsl(str(environ.get("QUERY_STRING", ""))))
    headers = {
        k[5:].replace("_", "-").lower(): str(v) for k, v in environ.items() if k.startswith("HTTP_")
    }
    form: dict[str, str] = {}
    raw = b""
    if method == "POST":
        try:
            length = min(int(environ.get("CONTENT_LENGTH") or 0), MAX_BODY_BYTES)
        except ValueError:
            length = 0
        raw = environ["wsgi.input"].read(length) if length > 0 else b""
        if not str(environ.get("CONTENT_TYPE", "")).startswith("application/json"):
            form = dict(parse_qsl(raw[:MAX_FORM_BYTES].decode("utf-8", "replace")))
    remote = str(environ.get("REMOTE_ADDR", ""))
    return Request(method, path, query, form, headers, remote, raw)
