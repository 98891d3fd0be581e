"""Timers and messages move cases without a user: through the services, on both databases."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from engine.errors import NotFound
from engine.models import JournalEvent, MessageSubscription
from engine.services import cases, queries
from tests.clock import move_clock
from tests.models import deadline_bpmn, install, message_bpmn


def overview(ctx, number):
    with ctx.unit_of_work(read_only=True) as uow:
        return queries.case_overview(uow.session, number, "admin")


def test_boundary_timer_escalates_once_when_due(ctx, monkeypatch):
    install(ctx, "deadline", deadline_bpmn("PT1H"), "deadline", "DL")
    with ctx.unit_of_work() as uow:
        number = cases.open_case(uow, "deadline", "anna", "Frist")["number"]
    first = overview(ctx, number)
    assert first["next_timer_at"] is not None
    with ctx.unit_of_work(read_only=True) as uow:
        assert cases.due_timer_case_ids(uow.session) == []
        case_id = cases.get_case(uow.session, number).id
    with ctx.unit_of_work() as uow:  # a worker asked too early leaves the case alone
        assert cases.fire_timers(uow, case_id)["fired"] is False
    assert {t["element_id"]: t["state"] for t in overview(ctx, number)["tasks"]} == {"Task_Handle": "open"}
    move_clock(monkeypatch, timedelta(hours=1, minutes=1))
    with ctx.unit_of_work(read_only=True) as uow:
        due = cases.due_timer_case_ids(uow.session)
    assert due == [case_id]
    with ctx.unit_of_work() as uow:
        assert cases.fire_timers(uow, due[0])["fired"] is True
    with ctx.unit_of_work() as uow:  # a second, late worker finds nothing to do
        assert cases.fire_timers(uow, due[0])["fired"] is False
    after = overview(ctx, number)
    states = {t["element_id"]: t["state"] for t in after["tasks"]}
    assert states == {"Task_Handle": "cancelled", "Task_Escalate": "open"}
    assert [e["kind"] for e in after["journal"]].count("timer_fired") == 1
    assert after["next_timer_at"] is None


def test_message_reaches_the_waiting_case_and_an_unmatched_one_is_refused(ctx):
    install(ctx, "awaits_decision", message_bpmn(), "awaits_decision", "MSG")
    with ctx.unit_of_work() as uow:
        number = cases.open_case(uow, "awaits_decision", "anna", "Venter")["number"]
    with ctx.unit_of_work(read_only=True) as uow:
        subs = uow.session.scalars(select(MessageSubscription)).all()
        assert [(s.message_name, s.correlation_key) for s in subs] == [("decision", "")]
    with ctx.unit_of_work() as uow, pytest.raises(NotFound, match="no case waits for message 'nothing'"):
        cases.deliver_message(uow, "nothing", {"x": 1})
    with ctx.unit_of_work() as uow:
        result = cases.deliver_message(uow, "decision", {"approved": True})
    assert result["number"] == number
    after = overview(ctx, number)
    assert [t["element_id"] for t in after["tasks"] if t["state"] == "open"] == ["Task_GdprReview"]
    with ctx.unit_of_work(read_only=True) as uow:
        assert uow.session.scalar(select(func.count(MessageSubscription.id))) == 0
        assert uow.session.scalar(select(func.count()).where(JournalEvent.kind == "message_received")) == 1
