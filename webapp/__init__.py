"""The web application: create_app reads like a table of contents."""
from __future__ import annotations

from flask import Flask

from engine.context import EngineContext
from engine.db import Database, configure_engine, engine_options
from engine.settings import Settings

from .errors import register_error_handlers
from .extensions import db
from .ui import health


def create_app(settings: Settings | None = None) -> Flask:
    settings = settings or Settings.from_env()
    app = Flask(__name__, template_folder="ui/templates", static_folder="ui/static")
    configure_app(app, settings)
    configure_extensions(app, settings)
    register_blueprints(app)
    register_error_handlers(app)
    return app


def configure_app(app: Flask, settings: Settings) -> None:
    app.config.update(
        SECRET_KEY=settings.secret_key,
        SQLALCHEMY_DATABASE_URI=settings.database_url,
        SQLALCHEMY_ENGINE_OPTIONS=engine_options(settings.database_url),
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
    )


def configure_extensions(app: Flask, settings: Settings) -> None:
    db.init_app(app)
    with app.app_context():
        engine = configure_engine(db.engine)
    app.extensions["sagsgang"] = EngineContext(settings, Database(engine=engine))


def register_blueprints(app: Flask) -> None:
    app.register_blueprint(health.bp)


def engine_context(app: Flask) -> EngineContext:
    return app.extensions["sagsgang"]
