"""The unit of work's two doors to one transaction: prepared statements on the DBAPI connection
(`uow.hot`, the hot path) and the ORM session. Both databases."""
from __future__ import annotations

import pytest
from sqlalchemy import bindparam, insert, select, text
from sqlalchemy.exc import IntegrityError, InvalidRequestError

from engine.models import Group, JournalEvent
from engine.services import cases

_INSERT_GROUP = insert(Group)
_GROUP_BY_KEY = select(Group.id, Group.name).where(Group.key == bindparam("key"))
_GROUPS_IN = text("SELECT key FROM groups WHERE key IN :keys ORDER BY key").bindparams(
    bindparam("keys", expanding=True))
_EVENTS = select(JournalEvent.seq, JournalEvent.at, JournalEvent.kind, JournalEvent.data).where(
    JournalEvent.case_id == bindparam("case_id")).order_by(JournalEvent.seq)


def group_names(ctx, *keys):
    with ctx.unit_of_work(read_only=True) as uow:
        return {key: uow.session.scalar(select(Group.name).where(Group.key == key)) for key in keys}


def test_hot_rows_read_as_the_session_reads_them(ctx):
    """Type processing (aware UTC timestamps, JSON, booleans) is SQLAlchemy's on both paths."""
    with ctx.unit_of_work() as uow:
        opened = cases.open_case(uow, "aktindsigt", "anna", "Anmodning", data={
            "requester_email": "borger@example.dk", "requested_documents": "Akter", "received_date": "2026-11-20"})
    with ctx.unit_of_work() as uow:
        hot = uow.hot.execute(_EVENTS, {"case_id": opened["id"]}).all()
        orm = uow.session.execute(_EVENTS, {"case_id": opened["id"]}).all()
    assert [tuple(row) for row in hot] == [tuple(row) for row in orm]
    assert hot[0].kind == "case_opened" and hot[0].at.tzinfo is not None
    assert isinstance(hot[0].data, dict) and hot[0].data["case_type"] == "aktindsigt"


def test_hot_statements_and_the_session_share_one_transaction(ctx):
    with ctx.unit_of_work() as uow:
        uow.hot.execute(_INSERT_GROUP, {"key": "hot_first", "name": "Hot"})
        # The session, made after the hot statement, sees the uncommitted row: same connection.
        assert uow.session.scalar(select(Group.name).where(Group.key == "hot_first")) == "Hot"
        uow.session.add(Group(key="orm_second", name="Orm"))
        # Pending ORM objects are flushed before the next hot statement, so it sees them too.
        assert uow.hot.execute(_GROUP_BY_KEY, {"key": "orm_second"}).first().name == "Orm"
        assert uow.hot.execute(_GROUPS_IN, {"keys": ["hot_first", "orm_second"]}).scalars() == [
            "hot_first", "orm_second"]
        uow.commit()
    assert group_names(ctx, "hot_first", "orm_second") == {"hot_first": "Hot", "orm_second": "Orm"}


def test_without_commit_neither_path_stores_anything(ctx):
    with ctx.unit_of_work() as uow:
        uow.session.add(Group(key="orm_only", name="Orm"))
        uow.session.flush()
        uow.hot.execute(_INSERT_GROUP, {"key": "hot_only", "name": "Hot"})
    with ctx.unit_of_work() as uow:  # the session first this time, then the hot path
        uow.session.scalar(select(Group.id).limit(1))
        uow.hot.execute(_INSERT_GROUP, {"key": "hot_after_session", "name": "Hot"})
    assert group_names(ctx, "orm_only", "hot_only", "hot_after_session") == {
        "orm_only": None, "hot_only": None, "hot_after_session": None}


def test_a_failing_hot_statement_raises_sqlalchemys_error_and_stores_nothing(ctx):
    """Callers that catch IntegrityError or retry OperationalError see the same classes here."""
    with pytest.raises(IntegrityError):
        with ctx.unit_of_work() as uow:
            uow.hot.execute(_INSERT_GROUP, {"key": "before_failure", "name": "Kept?"})
            uow.hot.execute(_INSERT_GROUP, {"key": "before_failure", "name": "Twice"})
            uow.commit()
    assert group_names(ctx, "before_failure") == {"before_failure": None}


def test_a_missing_parameter_names_it(ctx):
    with ctx.unit_of_work() as uow:
        with pytest.raises(InvalidRequestError, match="bind parameter 'key'"):
            uow.hot.execute(_GROUP_BY_KEY, {})


def test_a_unit_of_work_can_commit_twice(ctx):
    with ctx.unit_of_work() as uow:
        uow.hot.execute(_INSERT_GROUP, {"key": "first_commit", "name": "One"})
        uow.commit()
        uow.hot.execute(_INSERT_GROUP, {"key": "second_commit", "name": "Two"})
        uow.commit()
    assert group_names(ctx, "first_commit", "second_commit") == {"first_commit": "One", "second_commit": "Two"}


def test_read_only_units_of_work_read_through_the_hot_path(ctx):
    with ctx.unit_of_work() as uow:
        uow.hot.execute(_INSERT_GROUP, {"key": "readable", "name": "Læsbar"})
        uow.commit()
    with ctx.unit_of_work(read_only=True) as uow:
        assert uow.hot.execute(_GROUP_BY_KEY, {"key": "readable"}).first().name == "Læsbar"


def test_rows_naming_different_columns_are_each_inserted_with_their_own(ctx):
    """A row that leaves a column out gets the column's default, not another row's shape."""
    with ctx.unit_of_work() as uow:
        parent = uow.hot.execute(_INSERT_GROUP, {"key": "parent_group", "name": "Forvaltning"})
        parent_id = uow.hot.execute(_GROUP_BY_KEY, {"key": "parent_group"}).first().id
        # The first row's shape would otherwise drop the second row's parent_id without a word.
        uow.hot.execute(_INSERT_GROUP, [{"key": "lone_group", "name": "Alene"},
                                        {"key": "child_group", "name": "Team", "parent_id": parent_id}])
        uow.commit()
    with ctx.unit_of_work(read_only=True) as uow:
        parents = dict(uow.session.execute(select(Group.key, Group.parent_id).where(
            Group.key.in_(["child_group", "lone_group"]))).all())
    assert parents == {"child_group": parent_id, "lone_group": None}
    assert parent.rowcount == 1
