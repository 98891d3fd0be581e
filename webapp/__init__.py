"""The web application: create_app reads like a table of contents."""
from __future__ import annotations

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from engine.context import EngineContext
from engine.db import Database, configure_engine, engine_options
from engine.settings import Settings
from workflows.celery_app import celery_init_app

from .api import configure_api
from .errors import register_error_handlers
from .extensions import db
from .i18n import configure_i18n
from .markdown import render_markdown
from .reading import configure_reading
from .security import configure_security
from .ui import agenda, agenda_public, auth, cases, documents, health, home, modeler, navigation, records, tasks
from .ui import incidents, notifications
from .ui import substitutes
from .ui import account


def create_app(settings: Settings | None = None, engine_context: EngineContext | None = None) -> Flask:
    """Build the app; tests pass their own settings and engine context (their database)."""
    settings = engine_context.settings if engine_context else settings or Settings.from_env()
    app = Flask(__name__, template_folder="ui/templates", static_folder="ui/static")
    configure_app(app, settings)
    configure_extensions(app, settings, engine_context)
    configure_reading(app)
    configure_security(app, settings)
    configure_i18n(app)
    configure_templates(app)
    register_blueprints(app)
    configure_api(app)
    register_error_handlers(app)
    return app


def configure_app(app: Flask, settings: Settings) -> None:
    app.config.update(
        SECRET_KEY=settings.secret_key,
        SQLALCHEMY_DATABASE_URI=settings.database_url,
        SQLALCHEMY_ENGINE_OPTIONS=engine_options(settings.database_url),
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        # The largest document upload and the rest of its form; a larger request is cut off unread.
        MAX_CONTENT_LENGTH=settings.document_max_bytes + 64 * 1024,
    )
    if settings.trusted_proxies:
        # Only as many hops as are ours: a header a client adds itself stays unread.
        n = settings.trusted_proxies
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=n)


def configure_extensions(app: Flask, settings: Settings, engine_context: EngineContext | None = None) -> None:
    db.init_app(app)
    context = engine_context
    if context is None:
        with app.app_context():
            engine = configure_engine(db.engine)
        context = EngineContext(settings, Database(engine=engine))
    app.extensions["sagsgang"] = context
    celery_init_app(app, context)
    auth.register_oidc(app)


def configure_templates(app: Flask) -> None:
    app.jinja_env.filters["markdown"] = render_markdown
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True


def register_blueprints(app: Flask) -> None:
    app.register_blueprint(health.bp)
    app.register_blueprint(auth.bp)
    app.register_blueprint(home.bp)
    app.register_blueprint(tasks.bp)
    app.register_blueprint(cases.bp)
    app.register_blueprint(documents.bp)
    app.register_blueprint(agenda.bp)
    app.register_blueprint(agenda_public.bp)
    app.register_blueprint(records.bp)
    app.register_blueprint(modeler.bp)
    app.register_blueprint(navigation.bp)
    app.register_blueprint(notifications.bp)
    app.register_blueprint(incidents.bp)
    app.register_blueprint(substitutes.bp)
    app.register_blueprint(account.bp)


def engine_context(app: Flask) -> EngineContext:
    return app.extensions["sagsgang"]
