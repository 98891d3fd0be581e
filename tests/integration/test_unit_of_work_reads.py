"""Read-only units of work on the hot path, and the pool's check of the connections it hands out.

On PostgreSQL a read-only unit of work runs its hot statements in autocommit (no BEGIN or ROLLBACK
round trips; psycopg then prepares the statements it sees often); SQLite keeps its one read
transaction. Both refuse writes there. The pool pings a connection only when it may be dead.
"""
from __future__ import annotations

import time

import psycopg
import pytest
from psycopg.pq import TransactionStatus
from sqlalchemy import bindparam, delete, insert, select, text, update
from sqlalchemy.exc import InvalidRequestError

from engine import db as engine_db
from engine.db import UnitOfWork
from engine.models import Group

_GROUP_NAME = select(Group.name).where(Group.key == bindparam("key"))
_BACKEND = text("SELECT pg_backend_pid()")


def _add_group(database, key: str, name: str) -> None:
    with UnitOfWork(database) as uow:
        uow.hot.execute(insert(Group), {"key": key, "name": name})
        uow.commit()


def _group_name(database, key: str):
    with UnitOfWork(database, read_only=True) as uow:
        return uow.hot.execute(_GROUP_NAME, {"key": key}).scalar()


@pytest.mark.parametrize("statement", [
    insert(Group).values(key="sneaked_in", name="Indsneget"),
    update(Group).where(Group.key == "kept").values(name="Ændret"),
    delete(Group).where(Group.key == "kept"),
], ids=["insert", "update", "delete"])
def test_a_read_only_unit_of_work_runs_no_writes_on_the_hot_path(database, statement):
    _add_group(database, "kept", "Bevaret")
    with UnitOfWork(database, read_only=True) as uow:
        with pytest.raises(InvalidRequestError, match="read-only unit of work"):
            uow.hot.execute(statement, {})
    assert _group_name(database, "kept") == "Bevaret"
    assert _group_name(database, "sneaked_in") is None


def test_read_only_hot_reads_take_no_transaction_on_postgresql_and_one_on_sqlite(database):
    _add_group(database, "seen", "Set")
    with UnitOfWork(database, read_only=True) as uow:
        assert uow.hot.execute(_GROUP_NAME, {"key": "seen"}).scalar() == "Set"
        driver = uow.dbapi
        if database.is_sqlite:
            assert driver.in_transaction  # the page's one snapshot
        else:
            assert driver.autocommit and driver.info.transaction_status == TransactionStatus.IDLE
    # The pool hands the connection out again as writers expect it: in transactions.
    with UnitOfWork(database) as uow:
        driver = uow.dbapi
        if not database.is_sqlite:
            assert not driver.autocommit
        uow.hot.execute(update(Group).where(Group.key == "seen"), {"name": "Rullet tilbage"})
    assert _group_name(database, "seen") == "Set"


def test_a_read_only_unit_of_work_sees_its_sessions_reads_and_its_hot_reads_alike(database):
    """ORM first, then the hot path: one connection, the session's (as before)."""
    _add_group(database, "both", "Begge")
    with UnitOfWork(database, read_only=True) as uow:
        assert uow.session.scalar(select(Group.name).where(Group.key == "both")) == "Begge"
        assert uow.hot.execute(_GROUP_NAME, {"key": "both"}).scalar() == "Begge"
        assert uow.dbapi is uow.session.connection().connection.driver_connection


def test_postgresql_prepares_the_statements_read_only_units_of_work_repeat(database):
    if database.is_sqlite:
        pytest.skip("server-side prepared statements are PostgreSQL's")
    _add_group(database, "often", "Ofte")
    for _ in range(8):
        assert _group_name(database, "often") == "Ofte"
    with UnitOfWork(database, read_only=True) as uow:
        prepared = uow.hot.execute(text("SELECT statement FROM pg_prepared_statements")).scalars()
    assert any("groups.key" in statement for statement in prepared), prepared


def test_a_pooled_connection_whose_server_went_away_is_replaced_at_checkout(database):
    if database.is_sqlite:
        pytest.skip("SQLite has no server")
    with UnitOfWork(database, read_only=True) as uow:
        pid = uow.hot.execute(_BACKEND).scalar()
    url = database.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(url, autocommit=True) as other:  # outside the pool
        other.execute("SELECT pg_terminate_backend(%s)", (pid,))
    time.sleep(0.2)  # the server's goodbye reaches the idle socket
    with UnitOfWork(database, read_only=True) as uow:
        assert uow.hot.execute(_BACKEND).scalar() != pid


def test_the_pool_pings_only_connections_that_may_be_dead(database, monkeypatch):
    if database.is_sqlite:
        pytest.skip("SQLite connections are not pinged")
    pings = []
    ping = database.engine.dialect.do_ping
    monkeypatch.setattr(database.engine.dialect, "do_ping", lambda conn: pings.append(1) or ping(conn))
    for _ in range(3):
        _group_name(database, "any")
    assert pings == []  # used moments ago, nothing sent to it since
    monkeypatch.setattr(engine_db, "PING_AFTER_IDLE_SECONDS", 0.0)
    _group_name(database, "any")
    assert pings == [1]  # idle "too long": pinged
