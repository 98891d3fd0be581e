"""LoadedCase.save writes only the case row's columns whose values change (status, next_timer_at,
gdpr_review_completed, awaits_message): after every action the row must still say what the
workflow says, whether the action changed a column or left it as it was."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from engine.models import Case
from engine.runtime import advance as runtime
from engine.services import cases
from tests.clock import move_clock
from tests.integration.gdpr_helpers import complete
from tests.models import GDPR_DATA, deadline_bpmn, install, message_bpmn


def assert_row_agrees(ctx, number: str):
    with ctx.unit_of_work() as uow:
        row = uow.session.execute(select(Case.status, Case.row_version, Case.next_timer_at, Case.awaits_message,
                                         Case.gdpr_review_completed).where(Case.number == number)).one()
        if row.status == "open":
            head = cases.read_head(uow.session, Case.number == number, lock=False)
            snap = runtime.snapshot(cases.LoadedCase.load(uow, head).workflow)
            assert (row.next_timer_at, row.awaits_message, row.gdpr_review_completed) == (
                snap.next_timer_at, bool(snap.message_waits), snap.gdpr_review_completed)
        return row


def test_the_row_follows_a_timer_set_and_cleared(ctx, monkeypatch):
    install(ctx, "deadline", deadline_bpmn("PT1H"), "deadline", "DL")
    with ctx.unit_of_work() as uow:
        opened = cases.open_case(uow, "deadline", "anna", "Frist")
    row = assert_row_agrees(ctx, opened["number"])
    assert row.next_timer_at is not None and row.row_version == 2  # inserted, then saved
    due = row.next_timer_at
    move_clock(monkeypatch, timedelta(hours=1, minutes=1))
    with ctx.unit_of_work() as uow:
        assert cases.fire_timers(uow, opened["id"])["fired"] is True
    row = assert_row_agrees(ctx, opened["number"])
    assert row.next_timer_at is None and row.status == "open" and due is not None


def test_the_row_follows_a_message_wait_and_the_review(ctx):
    install(ctx, "awaits_decision", message_bpmn(), "awaits_decision", "MSG")
    with ctx.unit_of_work() as uow:
        number = cases.open_case(uow, "awaits_decision", "anna", "Venter")["number"]
    assert assert_row_agrees(ctx, number).awaits_message is True
    with ctx.unit_of_work() as uow:
        cases.deliver_message(uow, "decision", {"approved": True})
    row = assert_row_agrees(ctx, number)
    assert row.awaits_message is False and row.gdpr_review_completed is False
    complete(ctx, number, GDPR_DATA)
    row = assert_row_agrees(ctx, number)
    assert row.status == "closed" and row.gdpr_review_completed is True and row.next_timer_at is None
