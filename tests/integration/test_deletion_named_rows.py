"""Deleting a case also clears the tables that name it without a case_id column: undelivered messages,
webhook deliveries and published agendas/minutes. On SQLite and PostgreSQL."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from engine.db import utcnow
from engine.errors import Conflict
from engine.models import MeetingPublication, UndeliveredMessage, WebhookDelivery
from engine.services import messages, retention, webhooks
from tests.agenda_helpers import load_demo_committees, plan
from tests.integration.gdpr_helpers import install_rework
from tests.integration.test_gdpr_data import (ANNE, BENT, BENT_NAME, case_id_of, closed_case_with_personal_data,
                                              database_text, digits, due_date)


def _point(position: int, number: str, title: str) -> dict:
    return {"id": f"item-{position}", "number": position, "title": title, "access": True, "case_number": number,
            "attachments": [{"id": f"section-{position}", "title": "Resumé", "access": True,
                             "body": f"Om {title}"}],
            "enclosures": [], "decision": {"outcome": "approved", "title": "Godkendt", "text": f"{title} godkendt"}}


def _name_the_cases(ctx, number: str, other: str) -> None:
    """Rows that name `number` (and `other`) in each table without a case_id column."""
    load_demo_committees(ctx)
    meeting_id = plan(ctx, "teknik-miljoe-udvalget")
    with ctx.unit_of_work() as uow:
        session = uow.session
        messages.record_undelivered(session, "Svar fra borger", f"sag={number}", {"sag": {"sag": number}},
                                    {"note": "Anne Andersen ringede"}, f"case:{number}", "no case waits")
        messages.record_undelivered(session, "committee_decision", "", {"agenda_item": {"item_key": f"{number}/1"}},
                                    {"decision": "Godkendt"}, "agenda_entry:1", f"case {number} is not waiting")
        messages.record_undelivered(session, "Svar fra borger", f"sag={other}", {"sag": {"sag": other}},
                                    {"note": "Bent ringede"}, f"case:{other}", "no case waits")
        session.add(MeetingPublication(
            meeting_id=meeting_id, kind="minutes", number=1, published_by="dorte", published_at=utcnow(),
            content={"title": "Teknik- og Miljøudvalget", "bullet_points": [
                _point(1, number, "Carport til Anne Andersen"), _point(2, other, "Bents tilbygning")]}))
        uow.commit()


def _named_rows(ctx) -> dict:
    with ctx.unit_of_work(read_only=True) as uow:
        session = uow.session
        return {
            "messages": sorted(m.source for m in session.scalars(select(UndeliveredMessage))),
            "deliveries": sorted(d.payload["case"]["number"] for d in session.scalars(select(WebhookDelivery))),
            "publication": session.scalars(select(MeetingPublication)).one().content,
        }


@pytest.fixture
def named_case(ctx):
    """Two closed cases named in every table without a case_id: (number to delete, the other one)."""
    install_rework(ctx)
    with ctx.unit_of_work() as uow:
        webhooks.create_subscription(uow, "admin", "https://esdh.example.dk/hook", "s" * 32,
                                     ["case.opened", "case.closed", "task.created", "task.completed"])
    with ctx.unit_of_work() as uow:
        webhooks.queue_from_journal(uow)  # the sweep starts at the journal's end: before these cases
    number = closed_case_with_personal_data(ctx)
    other = closed_case_with_personal_data(ctx, actor="bo", cpr=BENT, name=BENT_NAME, title="Bents sag",
                                           grouping="Østergade 9")
    with ctx.unit_of_work() as uow:
        assert webhooks.queue_from_journal(uow, now=utcnow() + timedelta(hours=1)) > 0
    _name_the_cases(ctx, number, other)
    return number, other


def test_deletion_removes_messages_and_deliveries_and_blanks_the_case_in_publications(ctx, named_case):
    number, other = named_case
    before = _named_rows(ctx)
    assert number in before["deliveries"] and other in before["deliveries"]
    with ctx.unit_of_work(read_only=True) as uow:
        named = retention.remains_of_case(uow.session, case_id_of(ctx, number))["rows"]
    assert named["undelivered_messages"] == 2 and named["webhook_deliveries"] > 0
    assert named["meeting_publications"] == 1

    with ctx.unit_of_work() as uow:
        tombstone = retention.delete_case(uow, number, "erik", today=due_date(ctx, number))
    removed = tombstone["removed"]
    assert removed["undelivered_messages"] == 2 and removed["meeting_publications_blanked"] == 1
    assert removed["webhook_deliveries"] == before["deliveries"].count(number)

    after = _named_rows(ctx)
    assert after["messages"] == [f"case:{other}"]
    assert after["deliveries"] == [n for n in before["deliveries"] if n == other]
    blanked, kept = after["publication"]["bullet_points"]
    assert blanked == {"id": "item-1", "number": 1, "title": "Punktet er slettet", "access": False,
                       "case_number": None, "attachments": [], "enclosures": [],
                       "decision": {"outcome": "approved", "title": "Godkendt"}}
    assert kept == _point(2, other, "Bents tilbygning")
    with ctx.unit_of_work(read_only=True) as uow:
        remains = retention.verify_deletion(uow, number, "erik")
    assert remains["clean"] and remains["rows"] == {}
    dump = database_text(ctx)
    for trace in [*digits(ANNE), "Anne Andersen", "Carport til Anne", f"{number}/1", f"case:{number}"]:
        assert trace not in dump, trace
    assert "Bents tilbygning" in dump and f"case:{other}" in dump


def test_verify_deletion_reports_a_row_that_still_names_the_deleted_case(ctx, named_case):
    number, _ = named_case
    with ctx.unit_of_work() as uow:
        retention.delete_case(uow, number, "erik", today=due_date(ctx, number))
    with ctx.unit_of_work() as uow:  # e.g. a worker that recorded a message after the deletion
        messages.record_undelivered(uow.session, "Svar fra borger", f"sag={number}", {}, {}, "api", "late")
        uow.commit()
    with ctx.unit_of_work(read_only=True) as uow:
        remains = retention.verify_deletion(uow, number, "erik")
    assert not remains["clean"] and remains["rows"] == {"undelivered_messages": 1}


def test_a_refused_deletion_leaves_the_named_rows_as_they_were(ctx, named_case):
    number, _ = named_case
    before = _named_rows(ctx)
    with ctx.unit_of_work() as uow, pytest.raises(Conflict, match="may not be deleted before"):
        retention.delete_case(uow, number, "erik", today=due_date(ctx, number) - timedelta(days=1))
    with ctx.unit_of_work() as uow:
        retention.place_legal_hold(uow, number, "erik", "klagesag")
    with ctx.unit_of_work() as uow, pytest.raises(Conflict, match="legal hold"):
        retention.delete_case(uow, number, "erik", today=due_date(ctx, number))
    assert _named_rows(ctx) == before
