"""The migrations build exactly the schema the models describe, on SQLite and on PostgreSQL."""
from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from engine.db import Database
from engine.models import Base, create_schema
from engine.models.search import include_name
from engine.schema import current_revision, head_revision, upgrade_schema
from tests.conftest import PostgresSchema


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_database(request, tmp_path, postgres_problem):
    if request.param == "sqlite":
        db = Database(f"sqlite:///{tmp_path / 'migrated.sqlite3'}")
        yield db
        db.dispose()
        return
    if postgres_problem:
        pytest.skip(f"PostgreSQL not reachable: {postgres_problem}")
    schema = PostgresSchema()
    db = schema.database()
    yield db
    db.dispose()
    schema.drop()


def schema_differences(db: Database) -> list:
    with db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True, "include_name": include_name})
        return compare_metadata(context, Base.metadata)


def test_migrations_produce_the_models_schema(empty_database):
    assert upgrade_schema(empty_database.engine) == "migrated"
    assert current_revision(empty_database.engine) == head_revision()
    # An empty diff is what `alembic revision --autogenerate` would write: nothing. A failure here
    # means a model changed without a migration (docs/engineering.md says how to add one).
    assert schema_differences(empty_database) == []
    assert upgrade_schema(empty_database.engine) == "migrated"  # running it again changes nothing


def test_a_database_made_before_migrations_is_completed_and_stamped(empty_database):
    legacy = [t for name, t in Base.metadata.tables.items() if name not in {"notifications", "incidents"}]
    Base.metadata.create_all(empty_database.engine, tables=legacy)
    assert upgrade_schema(empty_database.engine) == "stamped"
    assert current_revision(empty_database.engine) == head_revision()
    assert {"notifications", "incidents"} <= set(inspect(empty_database.engine).get_table_names())
    assert schema_differences(empty_database) == []


def test_create_schema_and_migrations_agree_on_the_tables(tmp_path):
    made = Database(f"sqlite:///{tmp_path / 'made.sqlite3'}")
    create_schema(made.engine)
    migrated = Database(f"sqlite:///{tmp_path / 'migrated.sqlite3'}")
    upgrade_schema(migrated.engine)
    tables = set(inspect(migrated.engine).get_table_names()) - {"alembic_version"}
    assert tables == set(inspect(made.engine).get_table_names())
    made.dispose()
    migrated.dispose()
