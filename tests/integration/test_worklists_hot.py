"""Task lists read on their unit of work's prepared connection (engine.db.hot_connection): the same
transaction as the unit of work's session, and SQLAlchemy's connection for a session of none."""
from __future__ import annotations

from engine.db import HotConnection, hot_connection
from engine.models import CaseTask
from engine.services import notifications, worklists
from engine.services.org import get_user
from tests.integration.task_helpers import install_teamwork, open_teamwork


def test_a_unit_of_works_session_reads_on_its_hot_connection_and_a_bare_session_on_its_own(ctx):
    with ctx.unit_of_work(read_only=True) as uow:
        assert hot_connection(uow.session) is uow.hot
    with ctx.unit_of_work() as uow:  # a writing unit of work, session made on first use
        assert hot_connection(uow.session) is uow.hot
    session = ctx.database.session_factory()
    try:
        found = hot_connection(session)
        assert not isinstance(found, HotConnection) and found is session.connection()
    finally:
        session.close()


def test_lists_and_counts_see_the_unit_of_works_own_uncommitted_changes(ctx):
    """A task given to anna in the unit of work's session, not committed, is in her list and out of
    the group's, read in the same unit of work (the pending ORM change is flushed before the
    prepared statements run, in the same transaction); rolled back, nothing moved."""
    install_teamwork(ctx)
    _, task_id = open_teamwork(ctx, title="Sag", grouping="Vej 1")
    with ctx.unit_of_work() as uow:
        assert task_id in [item["id"] for item in worklists.group_tasks(uow.session, "anna")["items"]]
        uow.session.get(CaseTask, task_id).assignee_id = get_user(uow.session, "anna").id
        mine = worklists.my_tasks(uow.session, "anna")
        assert [item["id"] for item in mine["items"]] == [task_id] and mine["items"][0]["relation"] == "assigned"
        assert task_id not in [item["id"] for item in worklists.group_tasks(uow.session, "anna")["items"]]
        navigation = worklists.navigation(uow.session, "anna")
        assert navigation["counts"] == worklists.task_counts(uow.session, "anna")
        assert navigation["counts"]["mine"] == 1 and isinstance(navigation["case_types"], bool)
        assert notifications.unread_count(uow.session, "anna") >= 0
        # not committed: the unit of work rolls back on leaving
    with ctx.unit_of_work(read_only=True) as uow:
        assert worklists.my_tasks(uow.session, "anna")["total"] == 0
        assert task_id in [item["id"] for item in worklists.group_tasks(uow.session, "anna")["items"]]
    # A session of no unit of work reads the same through SQLAlchemy.
    session = ctx.database.session_factory()
    try:
        assert task_id in [item["id"] for item in worklists.group_tasks(session, "anna")["items"]]
        assert worklists.task_counts(session, "anna")["mine"] == 0
    finally:
        session.close()
