"""Danish first, English selectable: the locale of a request and how dates are shown."""
from __future__ import annotations

from datetime import date, datetime

from babel import dates
from flask import Flask, g, has_request_context, session
from flask_babel import format_date, format_datetime, get_locale, get_timezone
from flask_babel import get_translations
from jinja2 import pass_context
from markupsafe import Markup

from .extensions import babel

LANGUAGES = {"da": "Dansk", "en": "English"}
DEFAULT_LANGUAGE = "da"
TIMEZONE = "Europe/Copenhagen"


def select_locale() -> str:
    language = session.get("lang")
    return language if language in LANGUAGES else DEFAULT_LANGUAGE


def _as_datetime(value):
    if isinstance(value, str) and value:
        return datetime.fromisoformat(value)
    return value


def datetime_filter(value, style: str = "short") -> str:
    """An ISO timestamp or datetime in the user's language and Danish time ("24.12.2026 14.05").

    The same text as flask_babel's format_datetime, at a fraction of the cost: the locale, time zone
    and pattern are looked up once per request, not per value (a task list formats 25), and a value
    written once is kept per language (_WRITTEN): the same tasks' due dates come back on every
    reload of a list, and babel takes ~8 µs to write one (docs/benchmarks.md, task lists)."""
    if not value:
        return ""
    if not has_request_context() or style not in ("short", "medium", "long", "full"):
        return format_datetime(_as_datetime(value), style)
    formats = g.get("sagsgang_datetime_formats")
    if formats is None:
        formats = g.sagsgang_datetime_formats = {}
    found = formats.get(style)
    if found is None:
        found = formats[style] = _datetime_pattern(style)
    pattern, locale, timezone, written = found
    text = written.get(value)
    if text is None:
        moment = _as_datetime(value)
        if moment.tzinfo is None:  # as flask_babel: a naive value is UTC
            moment = moment.replace(tzinfo=dates.UTC)
        text = pattern.apply(moment.astimezone(timezone), locale)
        if len(written) >= WRITTEN_MAX:
            written.clear()
        written[value] = text
    return text


# Written dates by (locale, time zone, style), then by the value as given (an ISO string or a
# datetime: equal instants are equal keys and give the same local text). A pure function of its
# key, so nothing to invalidate; each is emptied when full, which bounds the memory.
_WRITTEN: dict[tuple, dict] = {}
WRITTEN_MAX = 20_000


def _datetime_pattern(style: str):
    """Babel's date and time patterns of `style` joined as format_datetime joins them, parsed once,
    with the locale, the time zone and the values written in them so far."""
    locale, timezone = get_locale(), get_timezone()
    glue = str(dates.get_datetime_format(style, locale)).replace("'", "")
    joined = glue.replace("{0}", str(dates.get_time_format(style, locale))).replace(
        "{1}", str(dates.get_date_format(style, locale)))
    written = _WRITTEN.setdefault((str(locale), str(timezone), style), {})
    return dates.parse_pattern(joined), locale, timezone, written


def _translations():
    """The request's catalogue, found once: flask_babel looks it up on every call (about 25 µs,
    and a page translates 50-100 strings)."""
    if not has_request_context():
        return get_translations()
    found = g.get("sagsgang_translations")
    if found is None:
        found = g.sagsgang_translations = get_translations()
    return found


_TRANSLATED: dict[tuple, str] = {}


@pass_context
def template_gettext(context, string: str, **variables):
    """Jinja's newstyle gettext (`_` and `gettext` in templates), with a text without variables kept
    per catalogue: a page translates ~40 such labels, at ~8 µs each through Jinja's own two-step
    call (~0.3 ms a task-list page; docs/benchmarks.md, task lists)."""
    catalogue = _translations()
    autoescape = context.eval_ctx.autoescape
    if not variables:
        key = (catalogue, string, autoescape)
        found = _TRANSLATED.get(key)
        if found is None:
            text = catalogue.ugettext(string)
            found = _TRANSLATED[key] = (Markup(text) if autoescape else text) % {}
        return found
    text = catalogue.ugettext(string)
    return (Markup(text) if autoescape else text) % variables


def date_filter(value, style: str = "medium") -> str:
    value = _as_datetime(value)
    if not value:
        return ""
    if isinstance(value, datetime):
        return format_datetime(value, "d. MMM y" if style == "medium" else style)
    if isinstance(value, date):
        return format_date(value, style)
    return str(value)


def configure_i18n(app: Flask) -> None:
    app.config.update(BABEL_DEFAULT_LOCALE=DEFAULT_LANGUAGE, BABEL_DEFAULT_TIMEZONE=TIMEZONE,
                      BABEL_TRANSLATION_DIRECTORIES="translations")
    babel.init_app(app, locale_selector=select_locale)
    # Templates translate through the request's catalogue (what flask_babel installs, looked up once).
    app.jinja_env.install_gettext_callables(
        gettext=lambda s: _translations().ugettext(s),
        ngettext=lambda s, p, n: _translations().ungettext(s, p, n),
        pgettext=lambda c, s: _translations().upgettext(c, s),
        npgettext=lambda c, s, p, n: _translations().unpgettext(c, s, p, n),
        newstyle=True)
    app.jinja_env.globals.update({"_": template_gettext, "gettext": template_gettext})
    app.jinja_env.filters["datetime"] = datetime_filter
    app.jinja_env.filters["date"] = date_filter
    app.jinja_env.globals["LANGUAGES"] = LANGUAGES
    app.jinja_env.globals["get_locale"] = get_locale
