"""Helpers for committee and agenda tests: the demo committees, and a building case sent to them."""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

from sqlalchemy import select

from engine.models import AgendaItem, User
from engine.services import agenda, cases, committees, queries
from engine.services.setup import DEMO_ORGANISATION

BYG_START = {"address": "Havnegade 4, 9900 Frederikshavn", "cadastral_number": "7a",
             "building_type": "single_family_house", "floor_area": 160, "applicant": "Anders And"}
ASSESSMENT = {"application_complete": True, "assessment_note": "Overskrider lokalplanens byggehøjde.",
              "dispensation_required": True, "dispensation_scope": "principal"}
ITEM = {"agenda_title": "Dispensation fra lokalplan 12.3, Havnegade 4",
        "agenda_resume": "Ansøgning om dispensation til byggehøjde.",
        "agenda_recommendation": "Forvaltningen indstiller, at der gives dispensation.",
        "agenda_presentation": "Projektet overskrider byggehøjden med 0,8 m.",
        "agenda_economy": "Ingen.",
        "agenda_attachments": [{"title": "Situationsplan", "reference": "dok-1"},
                               {"title": "Naboindsigelse", "reference": "dok-2", "closed": True}]}
GDPR = {"personal_data_category": "ordinary", "legal_basis": "art. 6, stk. 1, litra e",
        "parties_reviewed": True, "deletion_rule_applies": True}


def load_demo_committees(ctx) -> None:
    with ctx.unit_of_work() as uow:
        committees.load_committees(uow, json.loads(DEMO_ORGANISATION.read_text("utf-8")))


def open_tasks(ctx, number: str) -> list[dict]:
    with ctx.unit_of_work(read_only=True) as uow:
        return [t for t in queries.case_overview(uow.session, number, "admin")["tasks"] if t["state"] == "open"]


def complete(ctx, number: str, actor: str, data: dict, element: str) -> dict:
    tasks = [t for t in open_tasks(ctx, number) if t["element_id"] == element]
    assert len(tasks) == 1, open_tasks(ctx, number)
    with ctx.unit_of_work() as uow:
        return cases.complete_task(uow, tasks[0]["id"], actor, data)


def case_to_committee(ctx, scope: str = "principal", item: dict | None = None, approve: bool = True) -> str:
    """A building case whose dispensation is drafted, approved by the head, and in the first queue."""
    with ctx.unit_of_work() as uow:
        number = cases.open_case(uow, "byggetilladelse", "anna", "Nyt hus, Havnegade 4", data=BYG_START)["number"]
    complete(ctx, number, "bo", dict(ASSESSMENT, dispensation_scope=scope), "Task_ProfessionalAssessment")
    complete(ctx, number, "anna", item or ITEM, "Task_PrepareItem")
    if approve:
        complete(ctx, number, "carl", {"item_approved": True}, "Task_ApproveItem")
    return number


def plan(ctx, committee: str, days: int = 10, actor: str = "dorte") -> int:
    starts = (datetime.now(timezone.utc) + timedelta(days=days)).replace(microsecond=0)
    with ctx.unit_of_work() as uow:
        return committees.plan_meeting(uow, actor, committee, starts.isoformat(), place="Rådhuset")["id"]


def item_of(ctx, number: str, actor: str = "dorte") -> dict:
    """The case's newest agenda item, as `actor` sees it."""
    with ctx.unit_of_work(read_only=True) as uow:
        case = cases.get_case(uow.session, number)
        row = uow.session.scalar(select(AgendaItem).where(AgendaItem.case_id == case.id)
                                 .order_by(AgendaItem.id.desc()).limit(1))
        assert row is not None, f"case {number} has no agenda item"
        user = uow.session.scalar(select(User).where(User.username == actor))
        return agenda.item_view(uow.session, user, row)


def schedule_and_publish(ctx, meeting_id: int, item_id: int, actor: str = "dorte") -> None:
    with ctx.unit_of_work() as uow:
        agenda.add_to_agenda(uow, actor, meeting_id, item_id)
    with ctx.unit_of_work() as uow:
        agenda.publish_agenda(uow, actor, meeting_id)


def decide(ctx, meeting_id: int, item_id: int, outcome: str, text: str = "", actor: str = "dorte", **extra) -> dict:
    with ctx.unit_of_work() as uow:
        return agenda.record_decision(uow, actor, meeting_id, item_id, outcome, text, **extra)
