"""Task lists, counts and latest cases on real SQLite and PostgreSQL."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from engine.errors import InvalidInput, NotAllowed, NotFound
from engine.services import cases, tasks, worklists
from tests.integration.task_helpers import install_teamwork, open_teamwork

NOW = datetime.now(timezone.utc)


@pytest.fixture
def three(ctx):
    """Three teamwork cases opened by anna, with unassigned team tasks: [(number, task id)]."""
    install_teamwork(ctx)
    return ctx, [open_teamwork(ctx, title=f"Sag {i}", grouping=f"Vej {i % 2}") for i in range(3)]


def act(ctx, action, *args, **kwargs):
    with ctx.unit_of_work() as uow:
        return action(uow, *args, **kwargs)


def listed(ctx, query, actor, **kwargs):
    with ctx.unit_of_work(read_only=True) as uow:
        return query(uow.session, actor, **kwargs)


def ids(page) -> list[str]:
    return [item["id"] for item in page["items"]]


def test_group_tasks_are_the_unassigned_tasks_of_my_groups(three):
    ctx, opened = three
    task_ids = [task_id for _, task_id in opened]
    assert sorted(ids(listed(ctx, worklists.group_tasks, "bo"))) == sorted(task_ids)
    assert listed(ctx, worklists.group_tasks, "carl")["total"] == 0
    act(ctx, tasks.claim_task, task_ids[0], "bo")
    page = listed(ctx, worklists.group_tasks, "anna")
    assert page["total"] == 2 and task_ids[0] not in ids(page)
    assert {item["relation"] for item in page["items"]} == {"group"}
    assert listed(ctx, worklists.group_tasks, "anna", group="byg")["total"] == 2
    with pytest.raises(NotAllowed, match="the tasks of group 'ledelse' are for its members"):
        listed(ctx, worklists.group_tasks, "anna", group="ledelse")
    with pytest.raises(NotFound) as raised:
        listed(ctx, worklists.group_tasks, "anna", group="nope")
    assert raised.value.context["field"] == "group"


def test_my_tasks_are_assigned_or_delegated_to_me_and_the_owner_sees_them_as_delegated(three):
    ctx, opened = three
    (n0, t0), (n1, t1), (n2, t2) = opened
    act(ctx, tasks.claim_task, t0, "anna")
    act(ctx, tasks.claim_task, t1, "anna")
    act(ctx, tasks.delegate_task, t1, "anna", "carl")
    assert ids(listed(ctx, worklists.my_tasks, "anna")) == [t0]
    carl = listed(ctx, worklists.my_tasks, "carl")
    assert [(i["id"], i["relation"], i["owner"]) for i in carl["items"]] == [(t1, "delegated_to_me", "anna")]
    delegated = listed(ctx, worklists.delegated_tasks, "anna")
    assert [(i["id"], i["assignee"], i["relation"]) for i in delegated["items"]] == [(t1, "carl", "delegated_by_me")]
    assert listed(ctx, worklists.task_counts, "anna") == {"mine": 1, "overdue": 0, "group": 1, "delegated": 1}
    assert listed(ctx, worklists.task_counts, "carl") == {"mine": 1, "overdue": 0, "group": 0, "delegated": 0}
    item = listed(ctx, worklists.my_tasks, "anna")["items"][0]
    assert {k: item[k] for k in ("case", "case_title", "case_type", "grouping", "candidate_group", "assignee",
                                 "priority", "name")} == {
        "case": n0, "case_title": "Sag 0", "case_type": "teamwork", "grouping": "Vej 0", "candidate_group": "byg",
        "assignee": "anna", "priority": 70, "name": "Teamopgave"}


def test_sorting_filtering_and_paging(three):
    ctx, opened = three
    (n0, t0), (n1, t1), (n2, t2) = opened
    for task_id in (t0, t1, t2):
        act(ctx, tasks.claim_task, task_id, "bo")
    act(ctx, tasks.set_due_date, t0, "bo", NOW - timedelta(hours=1))  # overdue
    act(ctx, tasks.set_due_date, t1, "bo", NOW + timedelta(days=40))  # later
    act(ctx, tasks.set_due_date, t2, "bo", None)  # no due date
    act(ctx, tasks.set_priority, t0, "bo", 10)
    act(ctx, tasks.set_priority, t2, "bo", 90)
    mine = lambda **kw: ids(listed(ctx, worklists.my_tasks, "bo", **kw))  # noqa: E731
    assert mine() == [t0, t1, t2]  # due first, no due date last
    assert mine(sort="-due") == [t1, t0, t2]  # no due date last either way
    assert mine(sort="-priority") == [t2, t1, t0]
    assert mine(sort="priority") == [t0, t1, t2]
    assert mine(sort="case") == sorted((t0, t1, t2), key={t0: n0, t1: n1, t2: n2}.get)
    assert mine(sort="-case") == list(reversed(mine(sort="case")))
    assert mine(sort="created") == [t0, t1, t2] and mine(sort="-created") == [t2, t1, t0]
    assert mine(due="overdue") == [t0] and mine(due="none") == [t2] and mine(due="today") == []
    assert mine(grouping="Vej 0") == [t0, t2] and mine(grouping="Vej 9") == []
    assert mine(case_type="teamwork") == [t0, t1, t2] and mine(case_type="aktindsigt") == []
    page = listed(ctx, worklists.my_tasks, "bo", limit=2, offset=2)
    assert (page["total"], ids(page)) == (3, [t2])
    assert listed(ctx, worklists.my_tasks, "bo", limit=2, offset=4)["items"] == []
    assert [i["due_state"] for i in listed(ctx, worklists.my_tasks, "bo")["items"]] == ["overdue", "later", "none"]
    assert listed(ctx, worklists.task_counts, "bo")["overdue"] == 1


def test_due_today_and_this_week_follow_the_local_calendar(three):
    ctx, opened = three
    (_, t0), (_, t1), (_, t2) = opened
    monday_morning = datetime(2026, 11, 23, 7, 0, tzinfo=timezone.utc)  # 08:00 in Copenhagen
    for task_id, due in ((t0, "2026-11-23T20:00:00+00:00"),  # 21:00 local Monday: today
                         (t1, "2026-11-29T22:00:00+00:00"),  # 23:00 local Sunday: this week
                         (t2, "2026-11-29T23:30:00+00:00")):  # 00:30 local next Monday: later
        act(ctx, tasks.claim_task, task_id, "anna")
        act(ctx, tasks.set_due_date, task_id, "anna", due)
    due = lambda state: ids(listed(ctx, worklists.my_tasks, "anna", due=state, now=monday_morning))  # noqa: E731
    assert due("today") == [t0] and due("week") == [t0, t1] and due("overdue") == [] and due("none") == []
    states = [i["due_state"] for i in listed(ctx, worklists.my_tasks, "anna", now=monday_morning)["items"]]
    assert states == ["today", "week", "later"]


@pytest.mark.parametrize("kwargs, error, field", [
    ({"sort": "name"}, InvalidInput, "sort"),
    ({"due": "soon"}, InvalidInput, "due"),
    ({"limit": 0}, InvalidInput, "limit"),
    ({"limit": 1000}, InvalidInput, "limit"),
    ({"offset": -1}, InvalidInput, "offset"),
    ({"case_type": "nope"}, NotFound, "case_type"),
])
def test_bad_list_arguments_name_the_field(three, kwargs, error, field):
    ctx, _ = three
    for query in (worklists.my_tasks, worklists.group_tasks):
        with pytest.raises(error) as raised:
            listed(ctx, query, "anna", **kwargs)
        assert raised.value.context["field"] == field


def test_an_unknown_user_is_not_found(three):
    ctx, _ = three
    for query in (worklists.my_tasks, worklists.group_tasks, worklists.task_counts, worklists.latest_cases):
        with pytest.raises(NotFound) as raised:
            listed(ctx, query, "mallory")
        assert raised.value.context["field"] == "username"


def test_latest_cases_are_the_ones_i_changed_last(three):
    ctx, opened = three
    (n0, t0), (n1, t1), (n2, t2) = opened
    assert [c["number"] for c in listed(ctx, worklists.latest_cases, "anna")] == [n2, n1, n0]
    assert listed(ctx, worklists.latest_cases, "bo") == []
    act(ctx, tasks.claim_task, t1, "bo")
    act(ctx, tasks.claim_task, t0, "bo")
    act(ctx, tasks.set_priority, t1, "bo", 60)
    latest = listed(ctx, worklists.latest_cases, "bo")
    assert [c["number"] for c in latest] == [n1, n0]
    assert latest[0]["title"] == "Sag 1" and latest[0]["case_type"] == "teamwork" and latest[0]["status"] == "open"
    act(ctx, cases.complete_task, t0, "bo", {})
    assert [c["number"] for c in listed(ctx, worklists.latest_cases, "bo", limit=1)] == [n0]


def test_latest_cases_are_at_most_ten_and_each_case_once(ctx):
    install_teamwork(ctx)
    numbers = [open_teamwork(ctx, actor="bo", title=f"Sag {i}")[0] for i in range(12)]
    latest = listed(ctx, worklists.latest_cases, "bo")
    assert [c["number"] for c in latest] == list(reversed(numbers))[:10]
