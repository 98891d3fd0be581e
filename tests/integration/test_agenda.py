"""Committees and agendas on real SQLite and PostgreSQL: the building block, routing, decisions
back into cases, undelivered messages, closed content per role, publishing."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from engine.errors import Conflict, InvalidInput, NotAllowed, NotFound
from engine.models import AgendaItem, JournalEvent, Meeting, MessageSubscription, UndeliveredMessage
from engine.services import agenda, cases, messages
from tests.agenda_helpers import (GDPR, ITEM, case_to_committee, complete, decide, item_of, load_demo_committees,
                                  open_tasks, plan, schedule_and_publish)


@pytest.fixture
def actx(ctx):
    load_demo_committees(ctx)
    return ctx


def open_elements(ctx, number):
    return [t["element_id"] for t in open_tasks(ctx, number)]


def subscriptions(ctx, number):
    with ctx.unit_of_work(read_only=True) as uow:
        case = cases.get_case(uow.session, number)
        return [(s.message_name, s.correlations) for s in
                uow.session.scalars(select(MessageSubscription).where(MessageSubscription.case_id == case.id))]


def test_a_case_goes_through_two_committees_to_a_decision_and_continues_on_its_path(actx):
    number = case_to_committee(actx, "principal")
    item = item_of(actx, number)
    assert item["key"] == f"{number}/1" and item["status"] == "ready"
    assert item["route"] == ["teknik-miljoe-udvalget", "oekonomiudvalget", "kommunalbestyrelsen"]
    # The wait inside the call activity is stored with its own correlation, and only that.
    assert subscriptions(actx, number) == [("committee_decision", {"agenda_item": {"item_key": item["key"]}})]
    assert open_elements(actx, number) == []

    tmu = plan(actx, "teknik-miljoe-udvalget")
    schedule_and_publish(actx, tmu, item["id"])
    sent = decide(actx, tmu, item["id"], "sent_on", "Udvalget anbefaler dispensation.")
    assert sent["delivered"] and sent["next_committee"] == "oekonomiudvalget"
    moved = item_of(actx, number)
    assert (moved["status"], moved["committee"], moved["route_position"]) == ("ready", "oekonomiudvalget", 1)
    assert open_elements(actx, number) == []  # the case waits again for the next committee

    ou = plan(actx, "oekonomiudvalget")
    schedule_and_publish(actx, ou, item["id"])
    final = decide(actx, ou, item["id"], "approved", "Dispensationen meddeles.")
    assert final["delivered"]
    assert open_elements(actx, number) == ["Task_Decision"]  # the approved path
    assert subscriptions(actx, number) == []
    with actx.unit_of_work() as uow:
        data = cases.workflow_data(uow, number)
    assert data["committee_outcome"] == "approved"
    assert [(d["committee"], d["outcome"]) for d in data["committee_decisions"]] == [
        ("teknik-miljoe-udvalget", "sent_on"), ("oekonomiudvalget", "approved")]
    decided = item_of(actx, number)
    assert decided["status"] == "decided"
    assert [(h["committee"], h["outcome"]) for h in decided["history"]] == [
        ("teknik-miljoe-udvalget", "sent_on"), ("oekonomiudvalget", "approved")]
    with actx.unit_of_work(read_only=True) as uow:
        kinds = uow.session.scalars(select(JournalEvent.kind).where(
            JournalEvent.case_id == cases.get_case(uow.session, number).id)).all()
    assert kinds.count("message_received") == 2 and kinds.count("message_sent") == 2
    complete(actx, number, "anna", {"permit_decision": "granted", "decision_date": "2026-12-20",
                                    "decision_reasoning": "Dispensation meddelt af Økonomiudvalget."}, "Task_Decision")
    assert complete(actx, number, "anna", GDPR, "Task_GdprReview")["status"] == "closed"


def test_a_postponed_item_returns_to_the_queue_and_a_rejection_takes_the_refusal_path(actx):
    number = case_to_committee(actx, "local")
    item = item_of(actx, number)
    first = plan(actx, "teknik-miljoe-udvalget")
    schedule_and_publish(actx, first, item["id"])
    queued_at = item["queued_at"]
    assert decide(actx, first, item["id"], "postponed")["delivered"]
    with actx.unit_of_work(read_only=True) as uow:
        queue = next(c for c in agenda.overview(uow.session, "dorte")["committees"]
                     if c["key"] == "teknik-miljoe-udvalget")["queue"]
    assert [(q["id"], q["queued_at"]) for q in queue] == [(item["id"], queued_at)]  # first in line again
    assert len(subscriptions(actx, number)) == 1 and open_elements(actx, number) == []
    with actx.unit_of_work(read_only=True) as uow:  # the postponed meeting keeps the item with its decision
        view = agenda.meeting_view(uow.session, "dorte", first)
    assert [(i["id"], i["entry"]["outcome"]) for i in view["items"]] == [(item["id"], "postponed")]

    second = plan(actx, "teknik-miljoe-udvalget", days=24)
    schedule_and_publish(actx, second, item["id"])
    assert decide(actx, second, item["id"], "rejected", "Dispensation gives ikke.")["delivered"]
    assert open_elements(actx, number) == ["Task_NotifyRefusal"]


def test_sent_on_from_the_last_committee_needs_a_named_committee(actx):
    number = case_to_committee(actx, "local")
    item = item_of(actx, number)
    meeting = plan(actx, "teknik-miljoe-udvalget")
    schedule_and_publish(actx, meeting, item["id"])
    with pytest.raises(InvalidInput) as refused:
        decide(actx, meeting, item["id"], "sent_on")
    assert refused.value.field == "next_committee"
    assert item_of(actx, number)["history"] == []  # nothing stored
    result = decide(actx, meeting, item["id"], "sent_on", next_committee="kommunalbestyrelsen")
    assert result["next_committee"] == "kommunalbestyrelsen"
    assert item_of(actx, number)["route"] == ["teknik-miljoe-udvalget", "kommunalbestyrelsen"]


def test_a_message_that_matches_no_case_is_stored_shown_and_can_be_delivered_later(actx):
    with actx.unit_of_work() as uow, pytest.raises(NotFound, match="no case waits for message 'committee_decision'"):
        cases.deliver_message(uow, "committee_decision", {"item_key": "X/1", "outcome": "approved"},
                              {"agenda_item": {"item_key": "X/1"}})
    with actx.unit_of_work(read_only=True) as uow:
        stored = messages.list_undelivered(uow.session, "admin")
        assert [(m["message_name"], m["correlations"]) for m in stored] == [
            ("committee_decision", {"agenda_item": {"item_key": "X/1"}})]
        assert messages.list_undelivered(uow.session, "dorte") == []  # no committee of hers sent it

    # A decision whose case no longer waits: recorded, and its message stored for the secretaries.
    number = case_to_committee(actx, "local")
    item = item_of(actx, number)
    meeting = plan(actx, "teknik-miljoe-udvalget")
    schedule_and_publish(actx, meeting, item["id"])
    with actx.unit_of_work() as uow:
        sub = uow.session.scalar(select(MessageSubscription))
        saved = {c: getattr(sub, c) for c in ("case_id", "task_id", "message_name", "correlation_key", "correlations")}
        uow.session.delete(sub)
        uow.commit()
    result = decide(actx, meeting, item["id"], "approved")
    assert result["delivered"] is False and result["undelivered_message_id"]
    assert item_of(actx, number)["history"][0]["delivery"] == "undelivered"
    with actx.unit_of_work(read_only=True) as uow:
        shown = messages.list_undelivered(uow.session, "dorte")
        assert [m["id"] for m in shown] == [result["undelivered_message_id"]]
        assert "is not waiting" in shown[0]["reason"]
        assert agenda.overview(uow.session, "dorte")["undelivered"] == 1
    with actx.unit_of_work() as uow:  # still nobody waiting: the retry says so and counts
        assert agenda.retry_message(uow, "dorte", result["undelivered_message_id"]) == {
            "id": result["undelivered_message_id"], "delivered": False, "attempts": 2}
    with actx.unit_of_work() as uow:  # the case is mended; the retry delivers it
        uow.session.add(MessageSubscription(**saved))
        uow.commit()
    with actx.unit_of_work() as uow:
        assert agenda.retry_message(uow, "dorte", result["undelivered_message_id"])["delivered"] is True
    assert open_elements(actx, number) == ["Task_Decision"]
    assert item_of(actx, number)["history"][0]["delivery"] == "delivered"
    with actx.unit_of_work() as uow, pytest.raises(Conflict):
        agenda.retry_message(uow, "dorte", result["undelivered_message_id"])


def test_an_item_for_an_unknown_committee_is_refused_with_the_field_and_nothing_is_stored(actx):
    with actx.unit_of_work() as uow:
        number = cases.open_case(uow, "byggetilladelse", "anna", "Hus", data={
            "address": "Vej 1", "cadastral_number": "1a", "building_type": "extension", "floor_area": 30,
            "applicant": "A"})["number"]
    complete(actx, number, "bo", {"application_complete": True, "dispensation_required": True,
                                  "dispensation_scope": "local"}, "Task_ProfessionalAssessment")
    with pytest.raises(InvalidInput) as refused:
        complete(actx, number, "anna", dict(ITEM, committee_route=["havneudvalget"]), "Task_PrepareItem")
    assert refused.value.field == "committee_route" and "havneudvalget" in str(refused.value)
    assert open_elements(actx, number) == ["Task_PrepareItem"]
    with actx.unit_of_work(read_only=True) as uow:
        assert uow.session.scalar(select(func.count(AgendaItem.id))) == 0
    complete(actx, number, "anna", ITEM, "Task_PrepareItem")  # the proposed route is kept
    assert item_of(actx, number)["status"] == "draft"


def test_the_head_of_department_can_send_the_item_back(actx):
    number = case_to_committee(actx, "local", approve=False)
    complete(actx, number, "carl", {"item_approved": False, "approval_comment": "Uddyb økonomien."},
             "Task_ApproveItem")
    assert open_elements(actx, number) == ["Task_PrepareItem"]
    complete(actx, number, "anna", dict(ITEM, agenda_economy="Ingen udgifter for kommunen."), "Task_PrepareItem")
    complete(actx, number, "carl", {"item_approved": True}, "Task_ApproveItem")
    item = item_of(actx, number)
    assert item["status"] == "ready"
    assert {s["kind"]: s["body"] for s in item["sections"]}["economy"] == "Ingen udgifter for kommunen."


def closed_item(actx):
    number = case_to_committee(actx, "local", item=dict(ITEM, agenda_closed=False))
    item = item_of(actx, number)
    meeting = plan(actx, "teknik-miljoe-udvalget")
    with actx.unit_of_work() as uow:
        agenda.add_to_agenda(uow, "dorte", meeting, item["id"])
    presentation = next(s for s in item["sections"] if s["kind"] == "presentation")
    with actx.unit_of_work() as uow:
        agenda.set_closed(uow, "dorte", "section", presentation["id"], True)
    return number, item, meeting


def test_closed_content_is_shown_only_to_the_committees_members_and_secretaries(actx):
    number, item, meeting = closed_item(actx)

    def seen_by(actor):
        with actx.unit_of_work(read_only=True) as uow:
            view = agenda.meeting_view(uow.session, actor, meeting)["items"][0]
        return ({s["kind"]: s["body"] for s in view["sections"]},
                [(a["title"], a["hidden"]) for a in view["attachments"]])

    for insider in ("dorte", "gustav", "freja"):  # secretary, member, chair
        sections, attachments = seen_by(insider)
        assert sections["presentation"] == ITEM["agenda_presentation"], insider
        assert attachments == [("Situationsplan", False), ("Naboindsigelse", False)], insider
    with actx.unit_of_work(read_only=True) as uow, pytest.raises(NotAllowed):
        agenda.meeting_view(uow.session, "anna", meeting)  # not seated: the public page is hers
    sections, attachments = seen_by("admin")  # administers the system, not a member
    assert sections["presentation"] is None and sections["recommendation"] == ITEM["agenda_recommendation"]
    assert attachments == [("Situationsplan", False), (None, True)]
    with actx.unit_of_work(read_only=True) as uow:  # the caseworker sees the item through her case
        own = agenda.case_items(uow.session, "anna", number)[0]
    assert {s["kind"]: s["hidden"] for s in own["sections"]}["presentation"] is True

    with actx.unit_of_work() as uow:
        agenda.set_closed(uow, "dorte", "item", item["id"], True)
    sections, attachments = seen_by("admin")
    assert sections == {} and attachments == []
    with actx.unit_of_work() as uow:
        agenda.publish_agenda(uow, "dorte", meeting)
    with actx.unit_of_work(read_only=True) as uow:
        public = agenda.publication(uow.session, meeting, "agenda")
    (point,) = public["bullet_points"]
    assert point == {"id": f"item-{item['id']}", "number": 1, "title": ITEM["agenda_title"], "access": False,
                     "case_number": number, "attachments": [], "enclosures": []}
    with actx.unit_of_work() as uow, pytest.raises(Conflict):  # published: no more changes
        agenda.set_closed(uow, "dorte", "item", item["id"], False)


def test_only_the_committees_secretaries_assemble_and_publish(actx):
    number = case_to_committee(actx, "local")
    item = item_of(actx, number)
    meeting = plan(actx, "teknik-miljoe-udvalget")
    for outsider in ("anna", "gustav"):  # a caseworker, a member
        with actx.unit_of_work() as uow, pytest.raises(NotAllowed):
            agenda.add_to_agenda(uow, outsider, meeting, item["id"])
    with actx.unit_of_work() as uow, pytest.raises(NotAllowed):
        agenda.publish_agenda(uow, "gustav", meeting)
    other = plan(actx, "oekonomiudvalget")
    with actx.unit_of_work() as uow, pytest.raises(Conflict, match="not in the queue of Økonomiudvalget"):
        agenda.add_to_agenda(uow, "dorte", other, item["id"])


def test_assembling_orders_moves_and_guards_against_stale_pages(actx):
    ids = [item_of(actx, case_to_committee(actx, "local"))["id"] for _ in range(3)]
    meeting, later = plan(actx, "teknik-miljoe-udvalget"), plan(actx, "teknik-miljoe-udvalget", days=24)
    for item_id in ids:
        with actx.unit_of_work() as uow:
            version = agenda.add_to_agenda(uow, "dorte", meeting, item_id)["row_version"]
    with actx.unit_of_work() as uow:
        agenda.reorder_agenda(uow, "dorte", meeting, [ids[2], ids[0], ids[1]], expected_version=version)
    with actx.unit_of_work() as uow, pytest.raises(Conflict):
        agenda.reorder_agenda(uow, "dorte", meeting, ids, expected_version=version)  # a stale page
    with actx.unit_of_work() as uow:
        agenda.move_on_agenda(uow, "dorte", meeting, ids[1], -1)
    with actx.unit_of_work() as uow:
        agenda.move_to_meeting(uow, "dorte", ids[2], meeting, later)
    with actx.unit_of_work() as uow:
        agenda.remove_from_agenda(uow, "dorte", meeting, ids[0])

    def order(meeting_id):
        with actx.unit_of_work(read_only=True) as uow:
            return [(i["number"], i["id"]) for i in agenda.meeting_view(uow.session, "dorte", meeting_id)["items"]]
    assert order(meeting) == [(1, ids[1])]
    assert order(later) == [(1, ids[2])]
    with actx.unit_of_work(read_only=True) as uow:  # the removed item is back in the queue
        queue = agenda.overview(uow.session, "dorte")["committees"]
    assert [q["id"] for c in queue if c["key"] == "teknik-miljoe-udvalget" for q in c["queue"]] == [ids[0]]


def test_publishing_refuses_cpr_numbers_in_open_text_and_redacts_on_request(actx):
    number = case_to_committee(actx, "local", item=dict(ITEM, agenda_resume="Ansøger 010190-1234 klager."))
    item = item_of(actx, number)
    meeting = plan(actx, "teknik-miljoe-udvalget")
    with actx.unit_of_work() as uow:
        agenda.add_to_agenda(uow, "dorte", meeting, item["id"])
    with actx.unit_of_work() as uow, pytest.raises(InvalidInput) as refused:
        agenda.publish_agenda(uow, "dorte", meeting)
    assert refused.value.field == "redact_cpr" and "item 1 Resumé" in str(refused.value)
    assert "010190" not in str(refused.value)
    with actx.unit_of_work() as uow:
        assert agenda.publish_agenda(uow, "dorte", meeting, redact_cpr=True)["redacted"] == 1
    with actx.unit_of_work(read_only=True) as uow:
        public = agenda.publication(uow.session, meeting, "agenda")
    resume = public["bullet_points"][0]["attachments"][0]
    assert resume == {"id": resume["id"], "title": "Resumé", "access": True, "body": "Ansøger [CPR] klager."}


def test_minutes_need_every_decision_and_then_lock_the_meeting(actx):
    number = case_to_committee(actx, "local")
    item = item_of(actx, number)
    meeting = plan(actx, "teknik-miljoe-udvalget")
    with actx.unit_of_work() as uow, pytest.raises(Conflict):
        agenda.record_decision(uow, "dorte", meeting, item["id"], "approved")  # agenda not published
    schedule_and_publish(actx, meeting, item["id"])
    with actx.unit_of_work() as uow, pytest.raises(InvalidInput, match="item 1"):
        agenda.publish_minutes(uow, "dorte", meeting)
    decide(actx, meeting, item["id"], "approved", "Godkendt som indstillet.")
    with actx.unit_of_work() as uow, pytest.raises(Conflict):
        agenda.record_decision(uow, "dorte", meeting, item["id"], "rejected")
    with actx.unit_of_work() as uow:
        agenda.publish_minutes(uow, "dorte", meeting)
    with actx.unit_of_work(read_only=True) as uow:
        minutes = agenda.publication(uow.session, meeting, "minutes")
        assert uow.session.get(Meeting, meeting).status == "minutes_published"
    assert minutes["agenda_type"] == "Referat"
    assert minutes["bullet_points"][0]["decision"] == {"outcome": "approved", "title": "Godkendt",
                                                       "text": "Godkendt som indstillet."}
    with actx.unit_of_work(read_only=True) as uow:
        assert uow.session.scalar(select(func.count(UndeliveredMessage.id))) == 0


def test_the_agenda_pdf_numbers_items_and_attachments_shows_closed_items_by_title_and_redacts(actx):
    from io import BytesIO

    from pypdf import PdfReader

    from engine.services.agenda_documents import meetings_calendar, publication_pdf

    open_number = case_to_committee(actx, "local", item=dict(ITEM, agenda_resume="Ansøger 010190-1234 klager."))
    closed_number = case_to_committee(actx, "local", item=dict(
        ITEM, agenda_title="Påbud om lovliggørelse", agenda_closed=True,
        agenda_presentation="Fortroligt: ejerens helbredsforhold."))
    meeting = plan(actx, "teknik-miljoe-udvalget")
    for number in (open_number, closed_number):
        with actx.unit_of_work() as uow:
            agenda.add_to_agenda(uow, "dorte", meeting, item_of(actx, number)["id"])
    with actx.unit_of_work() as uow:
        agenda.publish_agenda(uow, "dorte", meeting, redact_cpr=True)
    with actx.unit_of_work(read_only=True) as uow:
        document = agenda.publication(uow.session, meeting, "agenda")
        listed = agenda.public_meetings(uow.session, "teknik-miljoe-udvalget")
    text = "\n".join(page.extract_text() for page in PdfReader(BytesIO(publication_pdf(document))).pages)
    flat = " ".join(text.split())
    assert flat.startswith("Dagsorden Teknik- og Miljøudvalget")
    assert f"1. {ITEM['agenda_title']}" in flat and "2. Påbud om lovliggørelse (lukket punkt)" in flat
    assert "Bilag 1.1: Situationsplan" in flat and "Bilag 1.2: Lukket bilag" in flat
    assert "Naboindsigelse" not in flat  # a closed attachment's title stays closed
    assert "helbred" not in flat and "Lukket punkt: behandles for lukkede døre." in flat
    assert "Ansøger [CPR] klager." in flat and "010190" not in flat
    assert "Bilag 2." not in flat  # nothing of the closed item beyond its title
    feed = meetings_calendar([m for m in listed if m["id"] == meeting], lambda m: f"https://x/{m['id']}").decode()
    assert "BEGIN:VEVENT" in feed and f"UID:meeting-{meeting}@sagsgang" in feed
    assert "SUMMARY:Teknik- og Miljøudvalget: møde" in feed and "LOCATION:Rådhuset" in feed
