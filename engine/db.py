"""Database plumbing: the declarative base, the engine, and the unit of work."""
from __future__ import annotations

import select as _select
import time
from collections import namedtuple
from collections.abc import Callable
from datetime import datetime, timezone

from sqlalchemy import DateTime, MetaData, TypeDecorator, create_engine, event
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.orm.exc import StaleDataError
from sqlalchemy.exc import IntegrityError
from sqlalchemy.sql.dml import Insert, Update, Delete
from sqlalchemy.sql.elements import TextClause
from sqlalchemy.sql.selectable import Select

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
    return {}  # the pool's liveness check is configure_engine's (a ping only when it can find something)


# A pooled connection idle longer than this is pinged before use; one used more recently only if
# the server has sent it something since (see _check_out).
PING_AFTER_IDLE_SECONDS = 5.0


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
            driver = conn.connection.driver_connection
            if driver.in_transaction:  # a unit of work began it on the DBAPI connection (UnitOfWork.dbapi)
                return
            read_only = conn.get_execution_options().get("sagsgang_read_only", False)
            # On the driver directly: SQLAlchemy's execution path costs more than the BEGIN itself.
            driver.execute("BEGIN" if read_only else "BEGIN IMMEDIATE")
    else:
        _check_connections_on_checkout(engine)
    return engine


def _check_connections_on_checkout(engine: Engine) -> None:
    """pool_pre_ping, but a round trip only when it can find something.

    pool_pre_ping cost every checkout a round trip (~14 % of a task-list page's wall-clock samples
    through gunicorn). A server that goes away (restart, crash, a terminated backend)
    tells an idle connection so: its socket turns readable (the server's last message or end of
    file), which a zero-timeout poll sees without a round trip; an idle connection is otherwise
    never sent anything (we LISTEN to nothing). Such a connection, and any idle longer than
    PING_AFTER_IDLE_SECONDS (a silent network drop), gets the dialect's ping; a failed ping makes
    the pool throw the connection away and check out another (DisconnectionError)."""
    dialect = engine.dialect

    @event.listens_for(engine.pool, "checkin")
    def _checked_in(dbapi_connection, record):
        if record is not None:
            record.info["sagsgang_idle_since"] = time.monotonic()

    @event.listens_for(engine.pool, "checkout")
    def _check_out(dbapi_connection, record, _proxy):
        idle_since = record.info.pop("sagsgang_idle_since", None)
        if idle_since is None:  # fresh from connect()
            return
        if time.monotonic() - idle_since < PING_AFTER_IDLE_SECONDS and not _has_input(dbapi_connection):
            return
        try:
            alive = dialect.do_ping(dbapi_connection)
        except dialect.loaded_dbapi.Error as err:
            raise sa_exc.DisconnectionError(f"the pooled connection failed its ping: {err}") from err
        if not alive:
            raise sa_exc.DisconnectionError("the pooled connection failed its ping")


def _has_input(dbapi_connection) -> bool:
    """Whether the server sent an idle connection something (or closed it): a readable socket."""
    try:
        fd = dbapi_connection.fileno()
        poller = _select.poll()
        poller.register(fd, _select.POLLIN | _select.POLLPRI)
        return bool(poller.poll(0))
    except Exception:  # noqa: BLE001 - a closed or odd connection: let the ping decide
        return True


class Database:
    """One engine and its session factory; created by the app factory, the CLI or a worker."""

    def __init__(self, url: str | None = None, engine: Engine | None = None, **engine_kwargs):
        self.engine = engine if engine is not None else make_engine(url, **engine_kwargs)
        self.url = str(self.engine.url)
        self.session_factory = sessionmaker(bind=self.engine, expire_on_commit=False)
        # Reads must not queue behind SQLite's write lock (BEGIN IMMEDIATE).
        self.read_session_factory = sessionmaker(
            bind=self.engine.execution_options(sagsgang_read_only=True), expire_on_commit=False)
        self.is_sqlite = self.engine.dialect.name == "sqlite"
        self.dbapi_error = self.engine.dialect.loaded_dbapi.Error

    def dispose(self) -> None:
        self.engine.dispose()


# The key of a unit of work's session's `info` that names the unit of work (hot_connection).
UNIT_OF_WORK = "sagsgang_unit_of_work"


def hot_connection(session: Session):
    """Where a service that is handed a session runs its module-level Core statements: its unit of
    work's HotConnection (same transaction, ~0.1-0.25 ms less per statement than SQLAlchemy's
    execution path; docs/benchmarks.md, task lists), or the session's own connection when the
    session belongs to no unit of work."""
    uow = session.info.get(UNIT_OF_WORK)
    return uow.hot if uow is not None else session.connection()


class UnitOfWork:
    """One transaction. Rolls back unless `commit()` was called; runs hooks only after a commit.

    `runtime` carries the process-wide caches (parsed specs, live workflows) the services use.

    A writing unit of work opens nothing until it is used. The hot path (engine/services/cases.py)
    runs prepared statements on `dbapi`, the pooled DBAPI connection, in a transaction begun there;
    `session` is created on first use and bound to that same connection and transaction, so
    everything commits or rolls back together. SQLAlchemy's session and connection ceremony costs
    about ten times a SQLite BEGIN + COMMIT (docs/benchmarks.md, engine), so an action that needs
    no ORM object never pays for it.

    A read-only unit of work on PostgreSQL whose first statement runs on `hot` takes its DBAPI
    connection in autocommit: each statement of a READ COMMITTED transaction takes a snapshot of
    its own anyway, so BEGIN and ROLLBACK were two round trips that bought nothing, and without the
    ROLLBACK (which makes psycopg forget its statement counts) the task lists' statements become
    server-side prepared statements after five uses and stop being planned per page (planning
    was 1-5 ms of PostgreSQL's CPU a task-list page). It runs only SELECTs there (HotConnection
    refuses the rest); its ORM session, if used, keeps a transaction of its own that rolls back as
    before. SQLite keeps its one BEGIN: there a read transaction is the page's one snapshot.
    """

    def __init__(self, database: Database, runtime=None, read_only: bool = False):
        self.database = database
        self.runtime = runtime
        self.read_only = read_only
        self._session: Session | None = None
        self._raw = None  # the pool's proxy of the DBAPI connection, when taken before the session
        self._connection: Connection | None = None  # SQLAlchemy's connection over _raw, for the session
        self._hot: HotConnection | None = None
        self._after_commit: list[Callable[[], None]] = []
        self._after_rollback: list[Callable[[], None]] = []

    def __enter__(self) -> "UnitOfWork":
        if self.read_only:
            self._session = self.database.read_session_factory(info={UNIT_OF_WORK: self})
        self._after_commit.clear()
        self._after_rollback.clear()
        return self

    def __exit__(self, *exc) -> None:
        try:
            self.rollback()
        finally:
            try:
                if self._session is not None:
                    self._session.close()
            finally:
                if self._connection is not None:
                    self._connection.close()  # gives _raw back to the pool
                elif self._raw is not None:
                    if self.read_only and not self.database.is_sqlite:
                        self._back_to_transactions()
                    self._raw.close()
                self._session = self._raw = self._connection = self._hot = None

    def _back_to_transactions(self) -> None:
        """Put an autocommit connection back the way the pool hands connections out; one that
        cannot be (broken) is thrown away rather than pooled in autocommit."""
        try:
            self._raw.driver_connection.autocommit = False
        except self.database.dbapi_error:
            self._raw.invalidate()

    @property
    def session(self) -> Session:
        """The ORM session of this unit of work, in the same transaction as `dbapi`."""
        if self._session is None:
            if self._raw is None:
                self._session = self.database.session_factory(info={UNIT_OF_WORK: self})
            else:
                self._connection = Connection(self.database.engine, connection=self._raw)
                self._session = self.database.session_factory(bind=self._connection, info={UNIT_OF_WORK: self})
        return self._session

    @property
    def dbapi(self):
        """The DBAPI connection of this unit of work's transaction, begun (SQLite: BEGIN IMMEDIATE).

        The session's pending ORM changes are flushed first, so statements run here see them.
        """
        if self._raw is None:
            if self._session is not None and not self._reads_in_autocommit():
                self._session.flush()
                return self._session.connection().connection.driver_connection
            self._raw = self.database.engine.raw_connection()
            if self.read_only:  # PostgreSQL (_reads_in_autocommit)
                self._raw.driver_connection.autocommit = True
                return self._raw.driver_connection
        elif self.read_only:
            return self._raw.driver_connection
        elif self._session is not None:
            self._session.flush()
        driver = self._raw.driver_connection
        if self.database.is_sqlite and not driver.in_transaction:
            try:
                driver.execute("BEGIN IMMEDIATE")
            except self.database.dbapi_error as err:
                raise _wrap_dbapi_error(err, "BEGIN IMMEDIATE", None, self.database.engine.dialect) from err
        return driver

    def _reads_in_autocommit(self) -> bool:
        """Whether `dbapi` is an autocommit connection of its own (see the class's docstring): a
        read-only unit of work on PostgreSQL whose session has not begun a transaction."""
        return self.read_only and not self.database.is_sqlite and not self._session.in_transaction()

    @property
    def hot(self) -> "HotConnection":
        """`dbapi` with Core statements compiled once: see HotConnection."""
        if self._hot is None:
            self._hot = HotConnection(self)
        return self._hot

    def commit(self) -> None:
        try:
            if self._session is not None and self._session.in_transaction():
                self._session.commit()
            if self._raw is not None:
                try:
                    self._raw.driver_connection.commit()
                except self.database.dbapi_error as err:
                    raise _wrap_dbapi_error(err, "COMMIT", None, self.database.engine.dialect) from err
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
        try:
            if self._session is not None:
                self._session.rollback()
            if self._raw is not None:
                self._raw.driver_connection.rollback()
        finally:
            hooks, self._after_rollback = self._after_rollback, []
            self._after_commit = []
            for hook in hooks:
                hook()

    def after_commit(self, hook: Callable[[], None]) -> None:
        self._after_commit.append(hook)

    def after_rollback(self, hook: Callable[[], None]) -> None:
        self._after_rollback.append(hook)


# --- prepared statements on the DBAPI connection ------------------------------------------------

def _wrap_dbapi_error(err: Exception, statement: str, params, dialect) -> Exception:
    """The SQLAlchemy exception SQLAlchemy would have raised (IntegrityError, OperationalError, ...),
    so callers that retry or map errors see the same classes on every path."""
    return sa_exc.DBAPIError.instance(statement, params, err, dialect.loaded_dbapi.Error, dialect=dialect)


class _Compiled:
    """One statement compiled for one dialect and one set of parameter names."""

    __slots__ = ("sql", "compiled", "order", "processors", "defaults", "row", "result_processors", "expanding",
                 "slots", "late", "shapes")

    MAX_SHAPES = 64

    def __init__(self, statement, dialect, keys: tuple[str, ...] | None):
        compiled = statement.compile(dialect=dialect, column_keys=list(keys) if keys is not None else None)
        self.compiled = compiled
        self.sql = compiled.string
        self.order = tuple(compiled.positiontup) if compiled.positional else None
        self.processors = dict(compiled._bind_processors)
        # IN lists: the statement is rendered per call for the list's length (SQLAlchemy's own way).
        self.expanding = bool(compiled.post_compile_params or compiled.literal_execute_params)
        # The late-rendered parameters by their names in construct_params' output, and whether each is a
        # literal (its value is written into the SQL) rather than a list expanded into numbered parameters.
        escaped_names = compiled.escaped_bind_names
        late = {escaped_names.get(name, name): bind in compiled.literal_execute_params or bind.literal_execute
                for bind, name in compiled.bind_names.items()
                if bind in compiled.post_compile_params or bind in compiled.literal_execute_params}
        self.late = tuple(late.items())
        if any(bind.type._is_tuple_type for bind in compiled.post_compile_params):
            self.late = None  # tuple IN lists: SQLAlchemy's own way every time
        self.shapes: dict[tuple, tuple] = {}
        # Python-side column defaults SQLAlchemy would compute at execution (INSERT/UPDATE prefetch).
        self.defaults = [(column.key, column.default) for column in
                         list(compiled.insert_prefetch) + list(compiled.update_prefetch)]
        # Per rendered parameter: the name it goes by, the caller's key, a fixed value, its processor
        # (what construct_params works out on every call, worked out once).
        escaped = compiled.escaped_bind_names
        pairs = ([(compiled.binds[name], name) for name in self.order] if self.order is not None
                 else list(compiled.bind_names.items()))
        self.slots = [(escaped.get(name, name), bind.key, name, bind.required, bind.effective_value,
                       self.processors.get(name)) for bind, name in pairs]
        columns = compiled._result_columns
        if columns:
            self.row = namedtuple("Row", [c.keyname for c in columns], rename=True)
            self.result_processors = [c.type._cached_result_processor(dialect, None) for c in columns]
            if not any(self.result_processors):
                self.result_processors = None
        else:  # text() without declared columns: the names the database gives, values as they come
            self.row = self.result_processors = None

    def statement_and_parameters(self, params: dict):
        if self.defaults:
            params = dict(params)
            for key, default in self.defaults:
                if key not in params:
                    params[key] = default.arg(None) if default.is_callable else default.arg
        if self.expanding:
            sql, values, processors, order = self._expand(params)
        else:
            values = []
            for out_name, key, name, required, fixed, process in self.slots:
                if key in params:
                    value = params[key]
                elif name in params:
                    value = params[name]
                elif required:
                    raise sa_exc.InvalidRequestError(f"A value is required for bind parameter {key!r}")
                else:
                    value = fixed
                values.append(value if process is None else process(value))
            if self.order is not None:
                return self.sql, tuple(values)
            return self.sql, {slot[0]: value for slot, value in zip(self.slots, values)}
        for name, process in processors.items():
            if name in values:
                values[name] = process(values[name])
        if order is not None:
            return sql, tuple(values[name] for name in order)
        return sql, values

    def _expand(self, params: dict):
        """The SQL and parameters of an IN-list statement for these values: SQLAlchemy's
        construct_expanded_state, whose rendering (~0.15 ms for the navigation statement, every
        page) depends only on the lists' lengths and the literal values, so it is kept per such
        shape and the values are put into the numbered parameters it named."""
        values = self.compiled.construct_params(params, escape_names=True, _no_postcompile=True)
        shape = None
        if self.late is not None:
            try:
                shape = tuple(values[name] if literal else len(values[name]) for name, literal in self.late)
                hash(shape)
            except (KeyError, TypeError):
                shape = None
        found = self.shapes.get(shape) if shape is not None else None
        if found is None:
            expanded = self.compiled._process_parameters_for_postcompile(dict(values))
            found = (expanded.statement, dict(expanded.processors), expanded.positiontup,
                     {name: tuple(names) for name, names in expanded.parameter_expansion.items()})
            if shape is not None and len(self.shapes) < self.MAX_SHAPES:
                self.shapes[shape] = found
            if shape is None:
                return found[0], expanded.parameters, found[1], found[2]
        sql, processors, order, expansion = found
        for name, literal in self.late:
            items = values.pop(name)
            if not literal:
                values.update(zip(expansion[name], items))
        return sql, values, processors, order

    def convert(self, row, cursor):
        if row is None:
            return None
        if self.row is None:
            self.row = namedtuple("Row", [d[0] for d in cursor.description], rename=True)
        if self.result_processors is not None:
            row = [value if process is None else process(value)
                   for process, value in zip(self.result_processors, row)]
        return self.row(*row)


class Prepared:
    """A Core statement compiled once per dialect (INSERT and UPDATE also per set of parameter
    names) and run straight on a DBAPI connection.

    Binds and results go through the same type processors SQLAlchemy applies, and DBAPI errors come
    out as SQLAlchemy's exception classes; only the per-execution bookkeeping is skipped.
    """

    def __init__(self, statement):
        self.statement = statement
        self.keyed = isinstance(statement, (Insert, Update))
        self.writes = isinstance(statement, (Insert, Update, Delete))
        self._compiled: dict = {}

    def compiled(self, dialect, params: dict) -> _Compiled:
        keys = tuple(sorted(params)) if self.keyed else None
        found = self._compiled.get((dialect.name, keys))
        if found is None:
            found = self._compiled[(dialect.name, keys)] = _Compiled(self.statement, dialect, keys)
        return found


class HotResult:
    """What a statement run by HotConnection returned, with the parts of SQLAlchemy's Result used here."""

    def __init__(self, cursor, compiled: _Compiled | None):
        self.cursor = cursor
        self.compiled = compiled

    @property
    def rowcount(self) -> int:
        return self.cursor.rowcount

    def first(self):
        return self.compiled.convert(self.cursor.fetchone(), self.cursor)

    def one(self):
        rows = self.all()
        if len(rows) != 1:
            raise sa_exc.NoResultFound("no row was found") if not rows else sa_exc.MultipleResultsFound(
                "more than one row was found")
        return rows[0]

    def all(self):
        return [self.compiled.convert(row, self.cursor) for row in self.cursor.fetchall()]

    __iter__ = lambda self: iter(self.all())  # noqa: E731

    def scalar(self):
        row = self.first()
        return None if row is None else row[0]

    def scalar_one(self):
        return self.one()[0]

    def scalars(self):
        return [row[0] for row in self.all()]


class HotConnection:
    """The unit of work's DBAPI connection, running module-level Core statements compiled once.

    Enough of SQLAlchemy's Connection (`execute`, `dialect`) for the hot path and the helpers it
    hands a connection to. Meant for statements built once at import: past `MAX_PREPARED` distinct
    statements (someone building them per call) the rest go to SQLAlchemy's connection in the
    same transaction, as does anything that is not a SELECT, INSERT, UPDATE, DELETE or text().
    """

    MAX_PREPARED = 1024
    _prepared: dict[int, Prepared] = {}

    def __init__(self, uow: UnitOfWork):
        self.uow = uow
        self.dialect = uow.database.engine.dialect

    def execute(self, statement, params: dict | list | None = None) -> HotResult:
        prepared = self._prepared.get(id(statement))
        if prepared is None or prepared.statement is not statement:
            if (not isinstance(statement, (Select, Insert, Update, Delete, TextClause))
                    or len(self._prepared) >= self.MAX_PREPARED):
                return self.uow.session.connection().execute(statement, params)
            prepared = HotConnection._prepared[id(statement)] = Prepared(statement)
        if prepared.writes and self.uow.read_only:
            raise sa_exc.InvalidRequestError("a read-only unit of work runs no INSERT, UPDATE or DELETE")
        many = isinstance(params, list)
        first = (params[0] if params else {}) if many else (params or {})
        if many and prepared.keyed and any(row.keys() != first.keys() for row in params):
            # Rows naming different columns compile to different statements: one at a time.
            results = [self.execute(statement, row) for row in params]
            return results[-1]
        compiled = prepared.compiled(self.dialect, first)
        driver = self.uow.dbapi
        cursor = driver.cursor()
        sql = compiled.sql
        try:
            if many:
                if compiled.expanding:
                    raise TypeError("IN lists cannot be run as executemany")
                cursor.executemany(sql, [compiled.statement_and_parameters(p)[1] for p in params])
            else:
                sql, values = compiled.statement_and_parameters(first)
                cursor.execute(sql, values)
        except self.uow.database.dbapi_error as err:
            raise _wrap_dbapi_error(err, sql, params, self.dialect) from err
        return HotResult(cursor, compiled)

    def __getattr__(self, name):
        # Anything else a helper asks of a connection: SQLAlchemy's, in the same transaction.
        return getattr(self.uow.session.connection(), name)
