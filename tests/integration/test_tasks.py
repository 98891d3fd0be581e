"""Task actions on real SQLite and PostgreSQL: claim, unclaim, assign, delegate, take back, plan.

Demo organisation: anna and bo are in group byg (Byggesagsteamet), carl in ledelse, dorte and erik
in sekretariatet, admin is administrator. The teamwork case type puts its first task in lane Team
(group byg), its second with the caseworker.
"""
from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import update

from engine.db import UnitOfWork
from engine.errors import Conflict, InvalidInput, NotAllowed, NotFound
from engine.models import User
from engine.services import cases, tasks
from tests.integration.task_helpers import (case_snapshot, install_teamwork, journal, open_teamwork, task_row,
                                            user_id)


@pytest.fixture
def team(ctx):
    """A teamwork case opened by anna: (ctx, case number, id of the unassigned team task)."""
    install_teamwork(ctx)
    number, task_id = open_teamwork(ctx)
    return ctx, number, task_id


def act(ctx, action, *args, **kwargs):
    with ctx.unit_of_work() as uow:
        return action(uow, *args, **kwargs)


def test_a_group_lane_task_waits_unassigned_with_the_models_dates_and_priority(team):
    ctx, number, task_id = team
    row = task_row(ctx, task_id)
    assert row["assignee_id"] is None and row["owner_id"] is None and row["priority"] == 70
    assert row["candidate_group_id"] is not None
    now = datetime.now(timezone.utc)
    assert now + timedelta(days=2, hours=23) < row["due_at"] <= now + timedelta(days=3)
    assert now + timedelta(hours=23) < row["follow_up_at"] <= now + timedelta(days=1)


def test_claim_takes_the_task_journals_it_and_leaves_the_workflow_state_alone(team):
    ctx, number, task_id = team
    version, state, head, events, _ = case_snapshot(ctx, number)
    result = act(ctx, tasks.claim_task, task_id, "bo")
    assert result["assignee"] == "bo" and result["candidate_group"] == "byg"
    assert result["row_version"] == version + 1
    after_version, after_state, after_head, after_events, _ = case_snapshot(ctx, number)
    assert (after_version, after_state, after_events) == (version + 1, state, events + 1)
    assert after_head != head
    event = journal(ctx, number)[-1]
    assert (event.actor, event.kind, event.data["assignee"], event.data["task_id"]) == ("bo", "task_claimed", "bo",
                                                                                          task_id)
    assert act(ctx, tasks.claim_task, task_id, "bo")["row_version"] == version + 1  # again: nothing changes


def test_claim_is_for_members_of_the_group(team):
    ctx, number, task_id = team
    before = case_snapshot(ctx, number)
    with pytest.raises(NotAllowed, match="carl may not claim task 'Teamopgave'.*group Byggesagsteamet, and you are "
                                         "not a member"):
        act(ctx, tasks.claim_task, task_id, "carl")
    assert case_snapshot(ctx, number) == before
    assert act(ctx, tasks.claim_task, task_id, "admin")["assignee"] == "admin"  # administrators may


def test_two_members_claiming_at_once_one_wins_the_other_gets_a_conflict(team):
    ctx, number, task_id = team
    results, barrier = {}, threading.Barrier(2)

    def claim(actor):
        barrier.wait()
        try:
            results[actor] = act(ctx, tasks.claim_task, task_id, actor)["assignee"]
        except Conflict as err:
            results[actor] = err

    threads = [threading.Thread(target=claim, args=(actor,)) for actor in ("anna", "bo")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    winners = [actor for actor, result in results.items() if result == actor]
    losers = [result for result in results.values() if isinstance(result, Conflict)]
    assert len(winners) == 1 and len(losers) == 1, results
    assert f"already taken by {winners[0]}" in str(losers[0])
    assert [e.kind for e in journal(ctx, number)].count("task_claimed") == 1  # journal() checks the chain


def test_unclaim_hands_the_task_back_to_the_group(team):
    ctx, number, task_id = team
    act(ctx, tasks.claim_task, task_id, "bo")
    with pytest.raises(NotAllowed, match="anna may not hand back .*assigned to bo, and you are not their active "
                                         "substitute"):
        act(ctx, tasks.unclaim_task, task_id, "anna")
    result = act(ctx, tasks.unclaim_task, task_id, "bo")
    assert result["assignee"] is None and result["candidate_group"] == "byg"
    assert journal(ctx, number)[-1].data["previous_assignee"] == "bo"
    with pytest.raises(Conflict, match="not taken by anyone"):
        act(ctx, tasks.unclaim_task, task_id, "bo")


def test_a_task_without_a_group_cannot_be_handed_back(team):
    ctx, number, task_id = team
    act(ctx, tasks.claim_task, task_id, "anna")
    own = act(ctx, cases.complete_task, task_id, "anna", {})["open_tasks"][0]["id"]
    before = case_snapshot(ctx, number)
    with pytest.raises(NotAllowed, match="no candidate group to go back to"):
        act(ctx, tasks.unclaim_task, own, "anna")
    assert case_snapshot(ctx, number) == before


def test_assign_to_a_colleague_by_holder_group_member_or_administrator(team):
    ctx, number, task_id = team
    assert act(ctx, tasks.assign_task, task_id, "anna", "bo")["assignee"] == "bo"  # a member of the group
    assert act(ctx, tasks.assign_task, task_id, "bo", "carl")["assignee"] == "carl"  # the holder
    assert act(ctx, tasks.assign_task, task_id, "carl", "erik")["assignee"] == "erik"  # the holder, not in byg
    with pytest.raises(NotAllowed, match="dorte may not assign .*assigned to erik"):
        act(ctx, tasks.assign_task, task_id, "dorte", "dorte")
    assert act(ctx, tasks.assign_task, task_id, "admin", "anna")["assignee"] == "anna"
    data = [e.data for e in journal(ctx, number) if e.kind == "task_assigned"]
    assert [(d["previous_assignee"], d["assignee"]) for d in data] == [
        (None, "bo"), ("bo", "carl"), ("carl", "erik"), ("erik", "anna")]


@pytest.mark.parametrize("action, target, field", [
    (tasks.assign_task, "mallory", "assignee"),
    (tasks.delegate_task, "mallory", "delegate"),
])
def test_an_unknown_colleague_is_not_found_naming_the_field_and_changes_nothing(team, action, target, field):
    ctx, number, task_id = team
    act(ctx, tasks.claim_task, task_id, "anna")
    before = case_snapshot(ctx, number)
    with pytest.raises(NotFound) as raised:
        act(ctx, action, task_id, "anna", target)
    assert raised.value.context["field"] == field and "mallory" in str(raised.value)
    assert case_snapshot(ctx, number) == before


def test_a_deactivated_colleague_cannot_be_given_a_task(team):
    ctx, number, task_id = team
    with ctx.unit_of_work() as uow:
        uow.session.execute(update(User).where(User.username == "erik").values(is_active=False))
        uow.commit()
    before = case_snapshot(ctx, number)
    with pytest.raises(InvalidInput) as raised:
        act(ctx, tasks.assign_task, task_id, "anna", "erik")
    assert raised.value.field == "assignee" and "deactivated" in str(raised.value)
    with pytest.raises(NotAllowed, match="deactivated"):
        act(ctx, tasks.claim_task, task_id, "erik")
    assert case_snapshot(ctx, number) == before


def test_unknown_actor_and_unknown_task_are_not_found_naming_the_field(team):
    ctx, number, task_id = team
    with pytest.raises(NotFound) as raised:
        act(ctx, tasks.claim_task, task_id, "mallory")
    assert raised.value.context["field"] == "username"
    with pytest.raises(NotFound) as raised:
        act(ctx, tasks.claim_task, "00000000-0000-0000-0000-000000000000", "anna")
    assert raised.value.context["field"] == "task_id"


def test_delegate_then_the_delegate_completes_and_the_journal_names_the_owner(team):
    ctx, number, task_id = team
    act(ctx, tasks.claim_task, task_id, "anna")
    result = act(ctx, tasks.delegate_task, task_id, "anna", "carl")
    assert (result["assignee"], result["owner"]) == ("carl", "anna")
    assert {"delegate": "carl", "owner": "anna"}.items() <= journal(ctx, number)[-1].data.items()
    with pytest.raises(NotAllowed, match="you delegated it to carl; take it back first"):
        act(ctx, cases.complete_task, task_id, "anna", {})
    with pytest.raises(NotAllowed, match="anna delegated it to you; only they delegate it on"):
        act(ctx, tasks.delegate_task, task_id, "carl", "erik")
    with pytest.raises(NotAllowed, match="anna delegated it to you and decides who gets it next"):
        act(ctx, tasks.assign_task, task_id, "carl", "erik")
    with pytest.raises(NotAllowed, match="delegated by anna, who takes it back first"):
        act(ctx, tasks.unclaim_task, task_id, "carl")
    act(ctx, cases.complete_task, task_id, "carl", {})
    completed = [e for e in journal(ctx, number) if e.kind == "task_completed"][-1]
    assert (completed.actor, completed.data["delegated_by"]) == ("carl", "anna")
    assert task_row(ctx, task_id)["completed_by_id"] == user_id(ctx, "carl")


def test_the_owner_takes_a_delegated_task_back_and_may_redelegate(team):
    ctx, number, task_id = team
    act(ctx, tasks.claim_task, task_id, "anna")
    act(ctx, tasks.delegate_task, task_id, "anna", "carl")
    assert act(ctx, tasks.delegate_task, task_id, "anna", "erik")["assignee"] == "erik"  # the owner passes it on
    with pytest.raises(NotAllowed, match="anna delegated it, not you"):
        act(ctx, tasks.take_back_task, task_id, "bo")
    result = act(ctx, tasks.take_back_task, task_id, "anna")
    assert (result["assignee"], result["owner"]) == ("anna", None)
    assert {"owner": "anna", "delegate": "erik"}.items() <= journal(ctx, number)[-1].data.items()
    with pytest.raises(Conflict, match="not delegated"):
        act(ctx, tasks.take_back_task, task_id, "anna")
    act(ctx, cases.complete_task, task_id, "anna", {})


def test_delegating_to_the_owner_or_an_unheld_task_is_refused(team):
    ctx, number, task_id = team
    before = case_snapshot(ctx, number)
    with pytest.raises(NotAllowed, match="nobody holds it yet; claim it first"):
        act(ctx, tasks.delegate_task, task_id, "anna", "bo")
    act(ctx, tasks.claim_task, task_id, "anna")
    act(ctx, tasks.delegate_task, task_id, "anna", "carl")
    before = case_snapshot(ctx, number)
    with pytest.raises(InvalidInput) as raised:
        act(ctx, tasks.delegate_task, task_id, "anna", "anna")
    assert raised.value.field == "delegate"
    assert case_snapshot(ctx, number) == before


def test_assigning_a_delegated_task_ends_the_delegation(team):
    ctx, number, task_id = team
    act(ctx, tasks.claim_task, task_id, "anna")
    act(ctx, tasks.delegate_task, task_id, "anna", "carl")
    result = act(ctx, tasks.assign_task, task_id, "bo", "bo")  # a group member decides
    assert (result["assignee"], result["owner"]) == ("bo", None)


def test_due_date_follow_up_and_priority(team):
    ctx, number, task_id = team
    now = datetime(2026, 11, 24, 10, 0, tzinfo=timezone.utc)
    result = act(ctx, tasks.set_due_date, task_id, "bo", "P7D", now=now)
    assert result["due_at"] == (now + timedelta(days=7)).isoformat()
    result = act(ctx, tasks.set_due_date, task_id, "bo", "2026-12-24")
    assert result["due_at"] == "2026-12-24T22:59:59+00:00"  # the end of Christmas Eve in Copenhagen
    result = act(ctx, tasks.set_follow_up_date, task_id, "anna", datetime(2026, 12, 1, 8, tzinfo=timezone.utc))
    assert result["follow_up_at"] == "2026-12-01T08:00:00+00:00"
    assert act(ctx, tasks.set_priority, task_id, "admin", 95)["priority"] == 95
    assert act(ctx, tasks.set_due_date, task_id, "bo", None)["due_at"] is None
    kinds = [e.kind for e in journal(ctx, number)][-5:]
    assert kinds == ["task_due_date_set", "task_due_date_set", "task_follow_up_date_set", "task_priority_set",
                     "task_due_date_set"]
    assert task_row(ctx, task_id)["due_at"] is None


@pytest.mark.parametrize("action, value, field", [
    (tasks.set_due_date, "next week", "due_at"),
    (tasks.set_due_date, "P1X", "due_at"),
    (tasks.set_follow_up_date, "2026-02-30", "follow_up_at"),
    (tasks.set_priority, 101, "priority"),
    (tasks.set_priority, "high", "priority"),
])
def test_bad_dates_and_priorities_name_the_field_and_change_nothing(team, action, value, field):
    ctx, number, task_id = team
    before = case_snapshot(ctx, number)
    with pytest.raises(InvalidInput) as raised:
        act(ctx, action, task_id, "anna", value)
    assert raised.value.field == field
    assert case_snapshot(ctx, number) == before


ACTIONS = {
    "claim": lambda uow, task_id, actor: tasks.claim_task(uow, task_id, actor),
    "unclaim": lambda uow, task_id, actor: tasks.unclaim_task(uow, task_id, actor),
    "assign": lambda uow, task_id, actor: tasks.assign_task(uow, task_id, actor, "erik"),
    "delegate": lambda uow, task_id, actor: tasks.delegate_task(uow, task_id, actor, "erik"),
    "take back": lambda uow, task_id, actor: tasks.take_back_task(uow, task_id, actor),
    "due date": lambda uow, task_id, actor: tasks.set_due_date(uow, task_id, actor, "P2D"),
    "follow-up date": lambda uow, task_id, actor: tasks.set_follow_up_date(uow, task_id, actor, "P1D"),
    "priority": lambda uow, task_id, actor: tasks.set_priority(uow, task_id, actor, 10),
    "complete": lambda uow, task_id, actor: cases.complete_task(uow, task_id, actor, {}),
}


@pytest.mark.parametrize("name", ACTIONS)
def test_every_action_refuses_someone_with_no_part_in_the_task_and_changes_nothing(team, name):
    """bo claimed the team task and delegated it to anna: carl (another group) has no part in it."""
    ctx, number, task_id = team
    act(ctx, tasks.claim_task, task_id, "bo")
    act(ctx, tasks.delegate_task, task_id, "bo", "anna")
    if name == "claim":  # claiming is about the group, and the task is taken: carl loses on membership first
        with ctx.unit_of_work() as uow:
            uow.session.execute(update(tasks.CaseTask).where(tasks.CaseTask.id == task_id)
                                .values(assignee_id=None, owner_id=None))
            uow.commit()
    before = case_snapshot(ctx, number)
    with ctx.unit_of_work() as uow, pytest.raises(NotAllowed) as raised:
        ACTIONS[name](uow, task_id, "carl")
    assert str(raised.value).startswith("carl may not ") and ": " in str(raised.value)
    assert case_snapshot(ctx, number) == before


@pytest.mark.parametrize("name", ACTIONS)
def test_every_action_on_a_completed_task_is_a_conflict_and_changes_nothing(team, name):
    ctx, number, task_id = team
    act(ctx, tasks.claim_task, task_id, "anna")
    act(ctx, cases.complete_task, task_id, "anna", {})
    before = case_snapshot(ctx, number)
    with ctx.unit_of_work() as uow, pytest.raises(Conflict, match="already completed"):
        ACTIONS[name](uow, task_id, "anna")
    assert case_snapshot(ctx, number) == before


class HeldCommit(UnitOfWork):
    """A unit of work that stops right before its commit, holding its locks, until released."""

    def __init__(self, ctx, reached: threading.Event, release: threading.Event):
        super().__init__(ctx.database, ctx.runtime)
        self.reached, self.release = reached, release

    def commit(self) -> None:
        self.reached.set()
        assert self.release.wait(30)
        super().commit()


def run_held(ctx, action, *args):
    """Start `action` in a thread that holds its transaction open before committing."""
    reached, release, outcome = threading.Event(), threading.Event(), {}

    def work():
        try:
            with HeldCommit(ctx, reached, release) as uow:
                outcome["result"] = action(uow, *args)
        except Exception as err:  # noqa: BLE001 - handed to the test
            outcome["error"] = err
            reached.set()

    thread = threading.Thread(target=work)
    thread.start()
    assert reached.wait(30)
    return thread, release, outcome


def run_behind(ctx, action, *args):
    """Run `action` in a thread; it queues behind the held transaction's locks."""
    outcome = {}

    def work():
        try:
            with ctx.unit_of_work() as uow:
                outcome["result"] = action(uow, *args)
        except Exception as err:  # noqa: BLE001 - handed to the test
            outcome["error"] = err

    thread = threading.Thread(target=work)
    thread.start()
    return thread, outcome


def test_a_reassignment_and_a_completion_queue_the_completion_sees_the_new_assignee(team):
    ctx, number, task_id = team
    act(ctx, tasks.claim_task, task_id, "anna")
    held, release, assigned = run_held(ctx, tasks.assign_task, task_id, "anna", "bo")
    behind, completed = run_behind(ctx, cases.complete_task, task_id, "anna", {})
    time.sleep(0.3)  # let the completion reach the lock (the outcome does not depend on it)
    release.set()
    held.join()
    behind.join()
    assert assigned["result"]["assignee"] == "bo"
    assert isinstance(completed.get("error"), NotAllowed), completed
    assert "assigned to bo" in str(completed["error"])
    assert task_row(ctx, task_id)["state"] == "open"
    journal(ctx, number)  # the chain is intact


def test_a_completion_and_a_reassignment_queue_the_reassignment_is_a_conflict(team):
    ctx, number, task_id = team
    act(ctx, tasks.claim_task, task_id, "anna")
    held, release, completed = run_held(ctx, cases.complete_task, task_id, "anna", {})
    behind, assigned = run_behind(ctx, tasks.assign_task, task_id, "anna", "bo")
    time.sleep(0.3)
    release.set()
    held.join()
    behind.join()
    assert completed["result"]["open_tasks"], completed
    assert isinstance(assigned.get("error"), Conflict), assigned
    assert "already completed" in str(assigned["error"])
    kinds = [e.kind for e in journal(ctx, number)]
    assert "task_completed" in kinds and "task_assigned" not in kinds


def test_a_task_action_keeps_the_workflow_in_memory_usable(team):
    """The action bumps row_version without changing the state: the live workflow is re-filed, and
    the next completion (from memory or rebuilt) sees exactly the stored state."""
    ctx, number, task_id = team
    act(ctx, tasks.claim_task, task_id, "anna")
    act(ctx, tasks.set_priority, task_id, "anna", 80)
    result = act(ctx, cases.complete_task, task_id, "anna", {})
    assert [t["name"] for t in result["open_tasks"]] == ["Egen opgave"]
    ctx.runtime.live.clear()
    own = result["open_tasks"][0]["id"]
    act(ctx, tasks.set_due_date, own, "anna", "P1D")
    result = act(ctx, cases.complete_task, own, "anna", {})
    assert [t["name"] for t in result["open_tasks"]] == ["GDPR-gennemgang"]
