"""Test runs of a draft (no case rows, deleted afterwards) and the process overlays, on real databases."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from engine.db import utcnow
from engine.errors import InvalidInput, NotAllowed, NotFound
from engine.models import Case, CaseTask, JournalEvent
from engine.models.case_types import ModelTestRun
from engine.services import case_types, model_runs, process_stats
from tests.integration.modeling_helpers import (OWNER, complete_open, install_flow, linear, open_case,
                                                open_task_rows)
from tests.models import GDPR_DATA


def counts(ctx):
    with ctx.unit_of_work(read_only=True) as uow:
        return tuple(uow.session.scalar(select(func.count()).select_from(t)) for t in (Case, CaseTask, JournalEvent))


def test_a_test_run_goes_step_by_step_through_a_draft_and_leaves_nothing_behind(ctx):
    install_flow(ctx, bpmn=linear("Task_A", "Task_B", timer_on="Task_A"))
    with ctx.unit_of_work() as uow:
        draft = case_types.create_draft(uow, "flow", OWNER)
    before = counts(ctx)
    with ctx.unit_of_work() as uow:
        run = model_runs.start_test_run(uow, "flow", draft["number"], OWNER, {})
    assert [t["element_id"] for t in run["open_tasks"]] == ["Task_A"]
    assert run["open_tasks"][0]["who"] == f"user {OWNER}"  # lane Sagsbehandler: the caseworker expression
    assert [w["element_id"] for w in run["waiting"]] == ["Timer"] and run["waiting"][0]["kind"] == "timer"
    with ctx.unit_of_work() as uow, pytest.raises(InvalidInput):  # the form is checked like in a case
        model_runs.complete_test_task(uow, run["id"], run["open_tasks"][0]["id"], OWNER, {"note": 5})
    with ctx.unit_of_work() as uow:
        run = model_runs.fire_test_timer(uow, run["id"], run["waiting"][0]["id"], OWNER)
    assert sorted(t["element_id"] for t in run["open_tasks"]) == ["Task_A", "Task_Remind"]
    for element in ("Task_A", "Task_Remind", "Task_B"):
        task = next(t for t in run["open_tasks"] if t["element_id"] == element)
        with ctx.unit_of_work() as uow:
            run = model_runs.complete_test_task(uow, run["id"], task["id"], OWNER, {"note": "fint"})
    # both branches (Task_B and the reminder) reach the review call, which runs once per arriving token
    while run["open_tasks"]:
        review = run["open_tasks"][0]
        assert review["element_id"] == "Task_GdprReview" and review["schema"]["type"] == "object"
        with ctx.unit_of_work() as uow:
            run = model_runs.complete_test_task(uow, run["id"], review["id"], OWNER, GDPR_DATA)
    assert run["finished"] and run["gdpr_review_completed"], run
    assert [s["step"] for s in run["steps"]][:2] == ["started", "timer fired"]
    assert counts(ctx) == before  # no case, no task index, no journal
    with ctx.unit_of_work() as uow:
        model_runs.end_test_run(uow, run["id"], OWNER)
    with ctx.unit_of_work(read_only=True) as uow:
        assert uow.session.scalar(select(func.count()).select_from(ModelTestRun)) == 0


def test_a_test_run_is_its_owners_and_stops_when_the_draft_changes(ctx):
    install_flow(ctx)
    with ctx.unit_of_work() as uow:
        draft = case_types.create_draft(uow, "flow", OWNER)
    with ctx.unit_of_work() as uow:
        run = model_runs.start_test_run(uow, "flow", draft["number"], OWNER, {})
    with ctx.unit_of_work(read_only=True) as uow, pytest.raises((NotAllowed, NotFound)):
        model_runs.test_run(uow, run["id"], "anna")
    with ctx.unit_of_work() as uow:
        case_types.save_draft(uow, "flow", draft["number"], OWNER, files={"flow.bpmn": linear("Task_A")})
    with ctx.unit_of_work(read_only=True) as uow, pytest.raises(InvalidInput):
        model_runs.test_run(uow, run["id"], OWNER)


def test_overlay_counts_waiting_tasks_and_measures_steps_from_the_journal(ctx):
    install_flow(ctx)
    first, second, third = open_case(ctx), open_case(ctx), open_case(ctx)
    complete_open(ctx, first, "Task_A")
    complete_open(ctx, second, "Task_A")
    # make the durations known: Task_A took 2 h in one case and 10 h in the other
    with ctx.unit_of_work() as uow:
        for number, hours in ((first, 2), (second, 10)):
            case_id = uow.session.scalar(select(Case.id).where(Case.number == number))
            created = uow.session.scalar(select(JournalEvent).where(
                JournalEvent.case_id == case_id, JournalEvent.kind == "task_created").order_by(JournalEvent.seq))
            completed = uow.session.scalar(select(JournalEvent).where(
                JournalEvent.case_id == case_id, JournalEvent.kind == "task_completed"))
            created.at = completed.at - timedelta(hours=hours)
        uow.session.flush()
        uow.commit()
    with ctx.unit_of_work(read_only=True) as uow:
        overlay = process_stats.process_overlay(uow, "flow", OWNER, now=utcnow() + timedelta(hours=1))
    rows = {r["element_id"]: r for r in overlay["elements"]}
    assert rows["Task_A"]["waiting"] == 1 and rows["Task_B"]["waiting"] == 2
    assert rows["Task_A"]["completed"] == 2
    assert rows["Task_A"]["median_hours"] == pytest.approx(6, abs=0.01)
    assert rows["Task_A"]["p90_hours"] == pytest.approx(10, abs=0.01)
    assert rows["Task_B"]["load"] == 1 and rows["Task_A"]["slowness"] == 1
    assert overlay["open_cases"] == 3
    assert [r.element_id for r in open_task_rows(ctx, third)] == ["Task_A"]


def test_percentiles():
    assert process_stats.percentile([5, 1, 3, 2, 4, 6, 7, 8, 9, 10], 0.9) == 9
    assert process_stats.percentile([3], 0.9) == 3
    assert process_stats.median([1, 3, 2, 10]) == 2.5
