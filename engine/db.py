"""Database plumbing: the declarative base, the engine, and the unit of work."""
from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timezone

from sqlalchemy import DateTime, MetaData, TypeDecorator, create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.orm.exc import StaleDataError
from sqlalchemy.exc import IntegrityError

from .errors import Conflict

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class UTCDateTime(TypeDecorator):
    """A timestamp that is always timezone-aware UTC in Python, on SQLite as on PostgreSQL."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; Sagsgang stores aware UTC timestamps")
        value = value.astimezone(timezone.utc)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


def engine_options(url: str) -> dict:
    if url.startswith("sqlite"):
        return {"connect_args": {"timeout": 30, "check_same_thread": False}}
    return {"pool_pre_ping": True}


def make_engine(url: str, **kwargs) -> Engine:
    for key, value in engine_options(url).items():
        kwargs.setdefault(key, value)
    return configure_engine(create_engine(url, **kwargs))


def configure_engine(engine: Engine) -> Engine:
    """SQLite gets WAL, foreign keys, a busy timeout, and BEGIN IMMEDIATE so writers queue
    instead of failing to upgrade a read lock."""
    if engine.dialect.name == "sqlite":
        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection, _record):
            # Let SQLAlchemy issue BEGIN itself, so BEGIN IMMEDIATE can take the write lock early.
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            # Read through the OS page cache instead of SQLite's 2 MB per connection: search joins
            # its index with cases at random rows (docs/benchmarks.md, search).
            cursor.execute("PRAGMA mmap_size=1073741824")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn):
            read_only = conn.get_execution_options().get("sagsgang_read_only", False)
            conn.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")
    return engine


class Database:
    """One engine and its session factory; created by the app factory, the CLI or a worker."""

    def __init__(self, url: str | None = None, engine: Engine | None = None, **engine_kwargs):
        self.engine = engine if engine is not None else make_engine(url, **engine_kwargs)
        self.url = str(self.engine.url)
        self.session_factory = sessionmaker(bind=self.engine, expire_on_commit=False)
        # Reads must not queue behind SQLite's write lock (BEGIN IMMEDIATE).
        self.read_session_factory = sessionmaker(
            bind=self.engine.execution_options(sagsgang_read_only=True), expire_on_commit=False)

    def dispose(self) -> None:
        self.engine.dispose()


class UnitOfWork:
    """One transaction. Rolls back unless `commit()` was called; runs hooks only after a commit.

    `runtime` carries the process-wide caches (parsed specs, live workflows) the services use.
    """

    def __init__(self, database: Database, runtime=None, read_only: bool = False):
        self.database = database
        self.runtime = runtime
        self.read_only = read_only
        self.session: Session | None = None
        self._after_commit: list[Callable[[], None]] = []
        self._after_rollback: list[Callable[[], None]] = []

    def __enter__(self) -> "UnitOfWork":
        factory = self.database.read_session_factory if self.read_only else self.database.session_factory
        self.session = factory()
        self._after_commit.clear()
        self._after_rollback.clear()
        return self

    def __exit__(self, *exc) -> None:
        try:
            self.rollback()
        finally:
            self.session.close()
            self.session = None

    def commit(self) -> None:
        try:
            self.session.commit()
        except StaleDataError as err:
            self.rollback()
            raise Conflict("the case was changed by someone else meanwhile; reload and try again") from err
        except IntegrityError:
            self.rollback()
            raise
        hooks, self._after_commit = self._after_commit, []
        self._after_rollback = []
        for hook in hooks:
            hook()

    def rollback(self) -> None:
        if self.session is not None:
            self.session.rollback()
        hooks, self._after_rollback = self._after_rollback, []
        self._after_commit = []
        for hook in hooks:
            hook()

    def after_commit(self, hook: Callable[[], None]) -> None:
        self._after_commit.append(hook)

    def after_rollback(self, hook: Callable[[], None]) -> None:
        self._after_rollback.append(hook)
