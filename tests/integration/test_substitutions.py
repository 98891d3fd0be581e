"""Substitutes for absence on real SQLite and PostgreSQL: naming them, their dates, what they may do."""
from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from engine import permissions
from engine.errors import Conflict, InvalidInput, NotAllowed, NotFound
from engine.localtime import local_today
from engine.models import Substitution
from engine.services import cases, org, tasks, worklists
from tests.clock import keep_today
from tests.integration.task_helpers import case_snapshot, install_teamwork, journal, open_teamwork, task_row, user_id

TODAY = local_today()

@pytest.fixture(autouse=True)
def _today_stays(monkeypatch):
    """TODAY was read at import: hold the engine's date there if the run has crossed midnight."""
    keep_today(monkeypatch, TODAY)


@pytest.fixture
def annas_task(ctx):
    """A teamwork case whose team task anna holds: (ctx, case number, task id)."""
    install_teamwork(ctx)
    number, task_id = open_teamwork(ctx)
    with ctx.unit_of_work() as uow:
        tasks.claim_task(uow, task_id, "anna")
    return ctx, number, task_id


def substitute(ctx, actor="anna", user="anna", by="carl", start=TODAY, end=TODAY + timedelta(days=3)):
    with ctx.unit_of_work() as uow:
        return org.create_substitution(uow, actor, user, by, start, end)


def substitution_count(ctx) -> int:
    with ctx.unit_of_work(read_only=True) as uow:
        return uow.session.scalar(select(func.count()).select_from(Substitution))


def test_an_active_substitute_sees_and_completes_the_absent_users_task_and_the_journal_names_both(annas_task):
    ctx, number, task_id = annas_task
    created = substitute(ctx)  # carl (ledelse) covers anna (byg)
    assert created["active"] and (created["user"], created["substitute"]) == ("anna", "carl")
    with ctx.unit_of_work(read_only=True) as uow:
        mine = worklists.my_tasks(uow.session, "carl")
        counts = worklists.task_counts(uow.session, "carl")
        assert permissions.can_see_case(uow.session, org.get_user(uow.session, "carl"),
                                        cases.get_case(uow.session, number))
    assert [(i["id"], i["relation"], i["on_behalf_of"]) for i in mine["items"]] == [(task_id, "substitute", "anna")]
    assert counts["mine"] == 1
    with ctx.unit_of_work() as uow:
        cases.complete_task(uow, task_id, "carl", {})
    completed = [e for e in journal(ctx, number) if e.kind == "task_completed"][-1]
    assert (completed.actor, completed.data["on_behalf_of"]) == ("carl", "anna")
    assert task_row(ctx, task_id)["completed_by_id"] == user_id(ctx, "carl")


def test_a_substitute_may_also_hand_on_the_absent_users_task_on_their_behalf(annas_task):
    ctx, number, task_id = annas_task
    substitute(ctx)
    with ctx.unit_of_work() as uow:
        assert tasks.assign_task(uow, task_id, "carl", "bo")["assignee"] == "bo"
    event = journal(ctx, number)[-1]
    assert (event.kind, event.actor, event.data["on_behalf_of"]) == ("task_assigned", "carl", "anna")


@pytest.mark.parametrize("start, end, ended", [
    (TODAY + timedelta(days=1), TODAY + timedelta(days=5), False),  # not yet begun
    (TODAY, TODAY + timedelta(days=5), True),  # ended early
])
def test_an_inactive_substitution_gives_nothing(annas_task, start, end, ended):
    ctx, number, task_id = annas_task
    created = substitute(ctx, start=start, end=end)
    if ended:
        with ctx.unit_of_work() as uow:
            assert org.end_substitution(uow, "anna", created["id"])["active"] is False
    with ctx.unit_of_work(read_only=True) as uow:
        assert worklists.my_tasks(uow.session, "carl")["total"] == 0
    before = case_snapshot(ctx, number)
    with ctx.unit_of_work() as uow, pytest.raises(NotAllowed, match="assigned to anna, and you are not their "
                                                                   "active substitute"):
        cases.complete_task(uow, task_id, "carl", {})
    assert case_snapshot(ctx, number) == before


def test_a_substitution_that_has_run_out_gives_nothing(annas_task):
    ctx, number, task_id = annas_task
    with ctx.unit_of_work() as uow:  # made while it was current; creating one in the past is refused
        uow.session.add(Substitution(user_id=user_id(ctx, "anna"), substitute_id=user_id(ctx, "carl"),
                                     from_date=TODAY - timedelta(days=10), to_date=TODAY - timedelta(days=1)))
        uow.commit()
    with ctx.unit_of_work(read_only=True) as uow:
        assert worklists.my_tasks(uow.session, "carl")["total"] == 0
        listed = org.list_substitutions(uow.session, "carl")
    assert [s["active"] for s in listed] == [False]
    with ctx.unit_of_work() as uow, pytest.raises(NotAllowed):
        cases.complete_task(uow, task_id, "carl", {})


def test_the_substitution_covers_its_first_and_last_day(annas_task):
    ctx, _, _ = annas_task
    created = substitute(ctx, start=TODAY, end=TODAY + timedelta(days=2))
    with ctx.unit_of_work(read_only=True) as uow:
        on = {day: [s["id"] for s in org.list_substitutions(uow.session, "anna", active_on=day)]
              for day in (TODAY - timedelta(days=1), TODAY, TODAY + timedelta(days=2), TODAY + timedelta(days=3))}
    assert on == {TODAY - timedelta(days=1): [], TODAY: [created["id"]], TODAY + timedelta(days=2): [created["id"]],
                  TODAY + timedelta(days=3): []}


@pytest.mark.parametrize("kwargs, error, field", [
    ({"by": "anna"}, InvalidInput, "substitute"),
    ({"start": TODAY + timedelta(days=3), "end": TODAY + timedelta(days=1)}, InvalidInput, "to_date"),
    ({"start": TODAY - timedelta(days=9), "end": TODAY - timedelta(days=2)}, InvalidInput, "to_date"),
    ({"start": "27/11/2026"}, InvalidInput, "from_date"),
    ({"end": None}, InvalidInput, "to_date"),
    ({"user": "mallory"}, NotFound, "user"),
    ({"by": "mallory"}, NotFound, "substitute"),
    ({"actor": "mallory"}, NotFound, "username"),
])
def test_bad_substitutions_name_the_field_and_store_nothing(ctx, kwargs, error, field):
    before = substitution_count(ctx)
    with pytest.raises(error) as raised:
        substitute(ctx, **kwargs)
    assert raised.value.context["field"] == field
    assert substitution_count(ctx) == before


def test_only_the_absent_user_or_an_administrator_names_a_substitute(ctx):
    with pytest.raises(NotAllowed, match="bo may not name a substitute for anna: only the absent user or an "
                                         "administrator"):
        substitute(ctx, actor="bo")
    assert substitution_count(ctx) == 0
    assert substitute(ctx, actor="admin")["substitute"] == "carl"


def test_overlapping_cover_by_the_same_substitute_is_refused_another_substitute_is_fine(ctx):
    substitute(ctx, start=TODAY, end=TODAY + timedelta(days=5))
    with pytest.raises(InvalidInput) as raised:
        substitute(ctx, start=TODAY + timedelta(days=5), end=TODAY + timedelta(days=8))
    assert raised.value.field == "from_date"
    assert substitute(ctx, by="bo")["substitute"] == "bo"
    assert substitute(ctx, start=TODAY + timedelta(days=6), end=TODAY + timedelta(days=8))["active"] is False


def test_ending_a_substitution(ctx):
    created = substitute(ctx)
    with ctx.unit_of_work() as uow, pytest.raises(NotAllowed, match="erik may not end substitution"):
        org.end_substitution(uow, "erik", created["id"])
    with ctx.unit_of_work() as uow:
        ended = org.end_substitution(uow, "carl", created["id"])  # the substitute may end it too
    assert ended["ended_at"] and not ended["active"]
    with ctx.unit_of_work() as uow, pytest.raises(Conflict, match="already ended"):
        org.end_substitution(uow, "anna", created["id"])
    with ctx.unit_of_work() as uow, pytest.raises(NotFound) as raised:
        org.end_substitution(uow, "anna", 999999)
    assert raised.value.context["field"] == "substitution_id"


def test_the_completion_rule_for_each_kind_of_user(annas_task):
    """Only the assignee, a member of the candidate group while unassigned, an active substitute of
    the assignee, the delegate or an administrator may complete."""
    ctx, number, task_id = annas_task
    ids = {name: user_id(ctx, name) for name in ("anna", "bo", "carl", "dorte", "erik", "admin")}
    byg = task_row(ctx, task_id)["candidate_group_id"]
    substitute(ctx, by="dorte")
    with ctx.unit_of_work(read_only=True) as uow:
        def may(actor, assignee, owner=None):
            return bool(permissions.may_complete_task(uow.session, ids[actor], assignee and ids[assignee], byg,
                                                      owner and ids[owner]))

        assert may("anna", "anna") and may("admin", "anna") and may("dorte", "anna")  # dorte covers anna
        assert not may("bo", "anna") and not may("carl", "anna") and not may("erik", "anna")
        assert may("anna", None) and may("bo", None) and may("admin", None)  # unassigned: the group (byg)
        assert not may("carl", None) and not may("dorte", None)
        assert may("carl", "carl", owner="anna") and not may("anna", "carl", owner="anna")  # the delegate
        assert not may("dorte", "carl", owner="anna")  # dorte covers anna, not the delegate carl
        assert not bool(permissions.may_complete_task(uow.session, ids["dorte"], ids["anna"], byg,
                                                      today=date(2000, 1, 1)))
