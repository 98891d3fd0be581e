"""Danish first, English selectable: the locale of a request and how dates are shown."""
from __future__ import annotations

from datetime import date, datetime

from flask import Flask, session
from flask_babel import format_date, format_datetime, get_locale

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
    """An ISO timestamp or datetime in the user's language and Danish time ("24.12.2026 14.05")."""
    value = _as_datetime(value)
    if not value:
        return ""
    return format_datetime(value, style)


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
    app.jinja_env.filters["datetime"] = datetime_filter
    app.jinja_env.filters["date"] = date_filter
    app.jinja_env.globals["LANGUAGES"] = LANGUAGES
    app.jinja_env.globals["get_locale"] = get_locale
