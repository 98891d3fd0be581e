"""Alembic environment: Sagsgang's models, on the connection Sagsgang hands over or SAGSGANG_DATABASE_URL."""
from __future__ import annotations

from alembic import context
from sqlalchemy import DateTime

from engine.db import UTCDateTime, make_engine
from engine.models import Base
from engine.models.search import include_name
from engine.settings import Settings

config = context.config
target_metadata = Base.metadata


def render_item(type_, obj, autogen_context):
    """Write our column types as plain SQLAlchemy types, so migrations do not import the engine."""
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def run(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",  # SQLite alters tables by copying them
        compare_type=True,
        render_item=render_item,
        include_name=include_name,  # the search index's dialect-specific full-text objects
    )
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:  # engine.schema.upgrade_schema and the tests pass their own
        run(connection)
        return
    url = config.get_main_option("sqlalchemy.url") or Settings.from_env().database_url
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            run(connection)
            connection.commit()
    finally:
        engine.dispose()


if context.is_offline_mode():
    raise SystemExit("Sagsgang's migrations run online only: sagsgang db upgrade")
run_online()
