"""The database schema: Alembic migrations (migrations/) bring any database to the models' shape.

`upgrade_schema` is what `sagsgang init` and `sagsgang db upgrade` run. A database made by
`create_all` before migrations existed (it has tables but no `alembic_version`) gets the tables it
lacks and is stamped as current, since its tables are the initial migration's.
"""
from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect
from sqlalchemy.engine import Connection, Engine

from .models import create_schema
from .settings import PROJECT_ROOT

MIGRATIONS = PROJECT_ROOT / "migrations"


def alembic_config(connection: Connection | None = None, directory: Path = MIGRATIONS) -> Config:
    config = Config()
    config.set_main_option("script_location", str(directory))
    config.set_main_option("file_template", "%%(year)d%%(month).2d%%(day).2d_%%(rev)s_%%(slug)s")
    config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def upgrade_schema(engine: Engine, revision: str = "head") -> str:
    """Migrate the database to `revision`; returns 'migrated' or 'stamped' (a pre-migration database)."""
    tables = set(inspect(engine).get_table_names())
    with engine.begin() as conn:
        config = alembic_config(conn)
        if "alembic_version" not in tables and "cases" in tables:
            create_schema(conn)
            command.stamp(config, "head")
            return "stamped"
        command.upgrade(config, revision)
    return "migrated"
