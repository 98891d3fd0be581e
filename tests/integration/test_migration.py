"""Moving running cases to a new version: dry run, move with progress, journal, and the way back,
on real SQLite and PostgreSQL databases."""
from __future__ import annotations

import threading

import pytest
from sqlalchemy import select

from engine.errors import Conflict, NotAllowed
from engine.models.case_types import CaseMigration, CaseMigrationItem
from engine.services import migration
from engine.services.journal import verify_journal
from tests.integration.modeling_helpers import (NOTE_FORM, OWNER, case_row, complete_open, install_flow, journal_kinds,
                                                linear, open_case, open_task_rows, publish)

STRICT_FORM = {"type": "object", "properties": {"note": {"type": "string", "minLength": 5}}}


def plan(ctx, old=1, new=2):
    with ctx.unit_of_work(read_only=True) as uow:
        return {row["number"]: row for row in migration.plan_migration(uow, "flow", old, new, OWNER)["cases"]}


def run(ctx, old=1, new=2, limit=50):
    with ctx.unit_of_work() as uow:
        job = migration.start_migration(uow, "flow", old, new, OWNER)
    progress = migration.migrate_cases(ctx.unit_of_work, job["id"], OWNER, limit=limit)
    return job["id"], progress


def status(ctx, job_id):
    with ctx.unit_of_work(read_only=True) as uow:
        return {row["number"]: row for row in migration.migration_status(uow, job_id, OWNER)["cases"]}


def test_dry_run_says_which_cases_can_move_and_why_not(ctx):
    install_flow(ctx)
    at_a = open_case(ctx)
    at_b = open_case(ctx)
    complete_open(ctx, at_b, "Task_A")
    # v2 removes Task_B and changes Task_A's form
    publish(ctx, "flow", linear("Task_A", forms={"Task_A": "strict.json"}), forms={"strict.json": STRICT_FORM})
    rows = plan(ctx)
    assert rows[at_a]["movable"] is True and rows[at_a]["waiting_at"] == ["Task_A"]
    assert "changed (form)" in rows[at_a]["notes"][0]  # it waits there: it continues with the new form
    assert rows[at_b]["movable"] is False
    reasons = " ".join(rows[at_b]["reasons"])
    assert "waits at 'B' (Task_B), which the new version removed" in reasons
    assert "'A' (Task_A) was done in this case but the new version changed it (form)" in reasons
    # a dry run writes nothing
    assert case_row(ctx, at_a).version_id == case_row(ctx, at_b).version_id
    with ctx.unit_of_work(read_only=True) as uow:
        assert uow.session.scalar(select(CaseMigration)) is None


def test_movable_cases_move_with_one_journal_event_each_and_continue_on_the_new_version(ctx):
    install_flow(ctx)
    at_a, at_b = open_case(ctx), open_case(ctx)
    complete_open(ctx, at_b, "Task_A")
    tasks_before = {n: open_task_rows(ctx, n) for n in (at_a, at_b)}
    v1 = case_row(ctx, at_a).version_id
    publish(ctx, "flow", linear("Task_A", "Task_New", "Task_B"))
    job_id, progress = run(ctx)
    assert progress == {**progress, "status": "finished", "total": 2, "moved": 2, "refused": 0, "failed": 0,
                        "percent": 100}
    for number in (at_a, at_b):
        row = case_row(ctx, number)
        assert row.version_id != v1
        assert journal_kinds(ctx, number)[-1] == "case_migrated"
        assert open_task_rows(ctx, number) == tasks_before[number]  # same task ids, same assignee
        with ctx.unit_of_work(read_only=True) as uow:
            assert verify_journal(uow.session, row.id, None) == []
    # the case at Task_A now runs the new step; the case past it goes on to Task_B as before
    complete_open(ctx, at_a, "Task_A")
    assert [r.element_id for r in open_task_rows(ctx, at_a)] == ["Task_New"]
    complete_open(ctx, at_b, "Task_B")
    assert [r.element_id for r in open_task_rows(ctx, at_b)] == ["Task_GdprReview"]


def test_refused_cases_stay_untouched_and_the_job_counts_them(ctx):
    install_flow(ctx)
    at_a, at_b = open_case(ctx), open_case(ctx)
    complete_open(ctx, at_b, "Task_A")
    publish(ctx, "flow", linear("Task_A"))
    before = case_row(ctx, at_b)
    job_id, progress = run(ctx, limit=1)
    assert progress["status"] == "running" and progress["done"] == 1  # one case per call: the UI polls
    progress = migration.migrate_cases(ctx.unit_of_work, job_id, OWNER)
    assert (progress["status"], progress["moved"], progress["refused"]) == ("finished", 1, 1)
    assert case_row(ctx, at_b) == before
    rows = status(ctx, job_id)
    assert rows[at_b]["outcome"] == "refused" and "removed" in rows[at_b]["reasons"][0]
    assert rows[at_a]["outcome"] == "moved" and rows[at_a]["revertible"]


def test_a_case_that_moved_on_after_the_dry_run_is_assessed_as_it_is_when_it_moves(ctx):
    install_flow(ctx)
    number = open_case(ctx)
    publish(ctx, "flow", linear("Task_B", "Task_A"))  # Task_A now comes after Task_B: ids the same
    assert plan(ctx)[number]["movable"] is True
    with ctx.unit_of_work() as uow:
        job = migration.start_migration(uow, "flow", 1, 2, OWNER)
    complete_open(ctx, number, "Task_A")  # meanwhile, the caseworker finished Task_A on v1
    progress = migration.migrate_cases(ctx.unit_of_work, job["id"], OWNER)
    assert progress["moved"] == 1  # Task_A is unchanged, Task_B is ready: still movable
    assert [r.element_id for r in open_task_rows(ctx, number)] == ["Task_B"]


def test_revert_restores_the_exact_state_of_an_untouched_case(ctx):
    install_flow(ctx)
    number = open_case(ctx)
    before = case_row(ctx, number)
    publish(ctx, "flow", linear("Task_A", "Task_New", "Task_B"))
    job_id, _ = run(ctx)
    item = status(ctx, number and job_id)[number]["item"]
    with ctx.unit_of_work() as uow:
        reverted = migration.revert_case(uow, item, OWNER)
    after = case_row(ctx, number)
    assert after.version_id == before.version_id and after.state == before.state
    assert journal_kinds(ctx, number)[-2:] == ["case_migrated", "case_migration_reverted"]
    assert reverted["number"] == number
    with ctx.unit_of_work(read_only=True) as uow:
        kept = uow.session.get(CaseMigrationItem, item)
        assert (kept.outcome, kept.previous_state) == ("reverted", None)  # the copy of the state is gone
        assert uow.session.get(CaseMigration, job_id).reverted == 1
    complete_open(ctx, number, "Task_A")  # back on v1: no Task_New
    assert [r.element_id for r in open_task_rows(ctx, number)] == ["Task_B"]
    with ctx.unit_of_work() as uow, pytest.raises(Conflict):
        migration.revert_case(uow, item, OWNER)  # only once


def test_revert_of_a_case_that_went_on_migrates_it_back_or_refuses(ctx):
    install_flow(ctx)
    first, second = open_case(ctx), open_case(ctx)
    publish(ctx, "flow", linear("Task_A", "Task_New", "Task_B"))
    job_id, _ = run(ctx)
    items = status(ctx, job_id)
    complete_open(ctx, first, "Task_A")  # now at Task_New, which v1 lacks
    with ctx.unit_of_work() as uow, pytest.raises(Conflict) as refused:
        migration.revert_case(uow, items[first]["item"], OWNER)
    assert "Task_New" in refused.value.message
    complete_open(ctx, second, "Task_A")
    complete_open(ctx, second, "Task_New")  # done on v2 only: v1 never had it
    with ctx.unit_of_work() as uow, pytest.raises(Conflict):
        migration.revert_case(uow, items[second]["item"], OWNER)


def test_an_unchanged_timer_keeps_its_due_time_through_the_move(ctx):
    install_flow(ctx, bpmn=linear("Task_A", "Task_B", timer_on="Task_A"))
    number = open_case(ctx)
    due = case_row(ctx, number).next_timer_at
    assert due is not None
    publish(ctx, "flow", linear("Task_A", "Task_New", "Task_B", timer_on="Task_A"))
    run(ctx)
    assert case_row(ctx, number).next_timer_at == due


def test_only_owners_migrate_and_only_to_published_versions(ctx):
    install_flow(ctx)
    open_case(ctx)
    with ctx.unit_of_work(read_only=True) as uow, pytest.raises(NotAllowed):
        migration.plan_migration(uow, "flow", 1, 1, "anna")
    from engine.services import case_types
    with ctx.unit_of_work() as uow:
        case_types.create_draft(uow, "flow", OWNER)
    with ctx.unit_of_work(read_only=True) as uow, pytest.raises(Conflict):
        migration.plan_migration(uow, "flow", 1, 2, OWNER)
    assert NOTE_FORM  # the drafts' form is the published one


def test_two_pollers_of_one_migration_move_each_case_once(ctx):
    install_flow(ctx)
    numbers = [open_case(ctx) for _ in range(6)]
    publish(ctx, "flow", linear("Task_A", "Task_New", "Task_B"))
    with ctx.unit_of_work() as uow:
        job = migration.start_migration(uow, "flow", 1, 2, OWNER)
    results, failures = [], []

    def poll():
        try:
            results.append(migration.migrate_cases(ctx.unit_of_work, job["id"], OWNER))
        except Exception as err:  # noqa: BLE001 - reported below
            failures.append(err)

    threads = [threading.Thread(target=poll) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert failures == []
    final = migration.migrate_cases(ctx.unit_of_work, job["id"], OWNER)
    assert (final["status"], final["moved"], final["refused"], final["failed"]) == ("finished", 6, 0, 0)
    for number in numbers:
        assert journal_kinds(ctx, number).count("case_migrated") == 1
