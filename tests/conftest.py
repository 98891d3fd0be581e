"""Fixtures shared by all tests: settings, databases (SQLite file and PostgreSQL), engine contexts."""
from __future__ import annotations

import json
import os
import uuid
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from engine.context import EngineContext
from engine.db import Database
from engine.models import create_schema
from engine.services.org import load_organisation
from engine.services.setup import DEMO_ORGANISATION, install_shipped_case_types
from engine.settings import PROJECT_ROOT, Settings
from webapp import create_app

POSTGRES_URL = os.environ.get("SAGSGANG_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
CORPUS = Path(os.environ.get("SAGSGANG_CORPUS", PROJECT_ROOT.parent / "shared" / "corpus"))


def _postgres_available() -> str | None:
    try:
        engine = create_engine(POSTGRES_URL)
        with engine.connect() as conn:
            conn.execute(text("select 1"))
        engine.dispose()
        return None
    except Exception as err:  # noqa: BLE001 - any failure means: no server
        return str(err).splitlines()[0]


@pytest.fixture(scope="session")
def postgres_problem() -> str | None:
    return _postgres_available()


class PostgresSchema:
    """A throw-away schema on the real server, so tests never see each other's rows."""

    def __init__(self):
        self.name = f"t_{uuid.uuid4().hex[:12]}"
        self.admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
        with self.admin.connect() as conn:
            conn.execute(text(f'CREATE SCHEMA "{self.name}"'))
        self.url = POSTGRES_URL

    def database(self) -> Database:
        return Database(self.url, connect_args={"options": f"-csearch_path={self.name}"})

    def drop(self) -> None:
        with self.admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA "{self.name}" CASCADE'))
        self.admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request, tmp_path, postgres_problem):
    """A fresh, empty database with the schema: a real SQLite file, then the real PostgreSQL server."""
    if request.param == "sqlite":
        db = Database(f"sqlite:///{tmp_path / 'sagsgang.sqlite3'}")
        create_schema(db.engine)
        yield db
        db.dispose()
        return
    if postgres_problem:
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL is required in CI: {postgres_problem}")
        pytest.skip(f"PostgreSQL not reachable at {POSTGRES_URL}: {postgres_problem}")
    schema = PostgresSchema()
    db = schema.database()
    create_schema(db.engine)
    yield db
    db.dispose()
    schema.drop()


@pytest.fixture
def settings(tmp_path) -> Settings:
    return Settings.from_env({"SAGSGANG_INSTANCE_PATH": str(tmp_path / "instance")},
                             workflow_cache_size=256)


@pytest.fixture
def ctx(settings, database) -> EngineContext:
    """An engine on a fresh database with the demo organisation and the shipped case types."""
    context = EngineContext(settings, database)
    with context.unit_of_work() as uow:
        load_organisation(uow, json.loads(DEMO_ORGANISATION.read_text("utf-8")))
    install_shipped_case_types(context)
    return context


@pytest.fixture
def sqlite_ctx(settings, tmp_path) -> EngineContext:
    db = Database(f"sqlite:///{tmp_path / 'one.sqlite3'}")
    create_schema(db.engine)
    context = EngineContext(settings, db)
    with context.unit_of_work() as uow:
        load_organisation(uow, json.loads(DEMO_ORGANISATION.read_text("utf-8")))
    return context


@pytest.fixture
def app(ctx):
    """The web app on the `ctx` engine (SQLite, then PostgreSQL), CSRF and all, as in production."""
    application = create_app(engine_context=ctx)
    application.config.update(TESTING=True)
    return application


@pytest.fixture
def client(app):
    return app.test_client()
