"""Parties, the access log, retention and deletion, data-subject requests: on SQLite and PostgreSQL."""
from __future__ import annotations

import io
import json
from datetime import timedelta

import pytest
from pypdf import PdfReader
from sqlalchemy import delete, select, text, update

from engine.errors import Conflict, InvalidInput, NotAllowed
from engine.models import AccessLogEntry, Base, Case, CaseParty, User
from engine.services import access_log, parties, queries, retention, subject_requests
from engine.services.journal import verify_journal
from tests.integration.gdpr_helpers import (GDPR_DATA, complete, install_rework, journal, open_rework,
                                            run_to_closed)

ANNE, ANNE_NAME = "010190-1234", "Anne Andersen"
BENT, BENT_NAME = "020290-5678", "Bent Bentsen"


def add_citizen(ctx, number, cpr, name, actor="anna", role="ansøger") -> dict:
    with ctx.unit_of_work() as uow:
        return parties.add_party(uow, number, actor, "citizen", name, role, cpr=cpr)


def case_id_of(ctx, number) -> int:
    with ctx.unit_of_work(read_only=True) as uow:
        return uow.session.scalar(select(Case.id).where(Case.number == number))


def database_text(ctx) -> str:
    """Every row of every table, as text: what a database dump would show."""
    with ctx.unit_of_work(read_only=True) as uow:
        return "\n".join(repr(tuple(row)) for table in Base.metadata.sorted_tables
                         for row in uow.session.execute(select(table)))


def digits(cpr: str) -> list[str]:
    return [cpr, cpr.replace("-", "")]


def log_rows(ctx, **where) -> list[dict]:
    with ctx.unit_of_work(read_only=True) as uow:
        query = select(AccessLogEntry.__table__, User.username).join(User, User.id == AccessLogEntry.user_id)
        for name, value in where.items():
            query = query.where(getattr(AccessLogEntry, name) == value)
        return [dict(row) for row in uow.session.execute(query.order_by(AccessLogEntry.id)).mappings()]


# --- parties ---------------------------------------------------------------------------------------

def test_cpr_of_a_party_is_stored_encrypted_and_found_by_its_keyed_hash(ctx):
    install_rework(ctx)
    number = open_rework(ctx)
    added = add_citizen(ctx, number, ANNE, ANNE_NAME)
    assert added["cpr"] == "010190-xxxx" and added["name"] == ANNE_NAME
    with ctx.unit_of_work() as uow:
        company = parties.add_party(uow, number, "anna", "company", "Byg ApS", "rådgiver", cvr="12345678")
    assert company["cvr"] == "12345678"
    dump = database_text(ctx)
    assert not any(d in dump for d in digits(ANNE))
    assert "party_added" in [e.kind for e in journal(ctx, number)]
    with ctx.unit_of_work() as uow:
        assert [p["cpr"] for p in parties.list_parties(uow, number, "anna")] == ["010190-xxxx", None]
    with ctx.unit_of_work() as uow:
        assert parties.list_parties(uow, number, "anna", "partshøring", reveal=True)[0]["cpr"] == ANNE
    assert [(r["action"], r["purpose"]) for r in log_rows(ctx, case_id=case_id_of(ctx, number))] == [
        ("view", "sagsbehandling"), ("reveal_cpr", "partshøring")]
    with ctx.unit_of_work() as uow:
        parties.remove_party(uow, number, added["id"], "anna")
    with ctx.unit_of_work(read_only=True) as uow:
        assert uow.session.scalar(select(CaseParty.kind).where(CaseParty.case_id == case_id_of(ctx, number))) \
            == "company"


@pytest.mark.parametrize("kind, values, field, message", [
    ("citizen", {"cpr": "320190-1234"}, "cpr", "date"),
    ("citizen", {"cpr": "01019-12345"}, "cpr", "ten digits"),
    ("citizen", {}, "cpr", "ten digits"),
    ("company", {"cvr": "1234567"}, "cvr", "eight digits"),
    ("company", {"cvr": "12345678", "cpr": ANNE}, "cpr", "not a CPR"),
    ("pet", {}, "kind", "kind must be one of"),
])
def test_bad_party_input_names_the_field_and_stores_nothing(ctx, kind, values, field, message):
    install_rework(ctx)
    number = open_rework(ctx)
    before = (database_text(ctx), len(journal(ctx, number)))
    with ctx.unit_of_work() as uow, pytest.raises(InvalidInput, match=message) as err:
        parties.add_party(uow, number, "anna", kind, "Navn", **values)
    assert err.value.field == field
    assert (database_text(ctx), len(journal(ctx, number))) == before


def test_a_party_is_added_once_and_only_by_who_may_see_the_open_case(ctx):
    install_rework(ctx)
    number = open_rework(ctx)
    add_citizen(ctx, number, ANNE, ANNE_NAME)
    with ctx.unit_of_work() as uow, pytest.raises(Conflict, match="already a party"):
        parties.add_party(uow, number, "anna", "citizen", "Anne A.", cpr=ANNE.replace("-", ""))
    with ctx.unit_of_work() as uow, pytest.raises(NotAllowed):
        parties.add_party(uow, number, "carl", "citizen", BENT_NAME, cpr=BENT)
    with ctx.unit_of_work() as uow, pytest.raises(InvalidInput, match="must not contain a CPR") as err:
        parties.add_party(uow, number, "anna", "citizen", f"Bent {BENT}", cpr=BENT)
    assert err.value.field == "name"


# --- access log ------------------------------------------------------------------------------------

def test_views_lists_and_log_reads_are_logged_and_the_log_is_append_only(ctx):
    install_rework(ctx)
    number = open_rework(ctx)
    case_id = case_id_of(ctx, number)
    with ctx.unit_of_work(read_only=True) as uow:  # the way pages and the CLI read: never committed
        queries.case_overview(uow.session, number, "anna", purpose="klagebehandling")
    with ctx.unit_of_work(read_only=True) as uow:
        assert [c["number"] for c in queries.list_cases(uow.session, "anna")] == [number]
    rows = log_rows(ctx, case_id=case_id)
    assert [(r["username"], r["action"], r["purpose"]) for r in rows] == [
        ("anna", "view", "klagebehandling"), ("anna", "list", "sagsbehandling")]
    with ctx.unit_of_work(read_only=True) as uow, pytest.raises(NotAllowed):
        access_log.case_access_log(uow, number, "anna")
    with ctx.unit_of_work(read_only=True) as uow:
        seen = access_log.case_access_log(uow, number, "erik", "tilsyn")
    assert [(e["user"], e["action"]) for e in seen] == [("anna", "list"), ("anna", "view")]
    last = log_rows(ctx, case_id=case_id)[-1]
    assert (last["username"], last["action"], last["purpose"]) == ("erik", "read_access_log", "tilsyn")
    with ctx.unit_of_work(read_only=True) as uow, pytest.raises(InvalidInput, match="CPR") as err:
        queries.case_overview(uow.session, number, "anna", purpose=f"opslag på {ANNE}")
    assert err.value.field == "purpose"
    for statement in (update(AccessLogEntry).values(purpose="x"), delete(AccessLogEntry)):
        with ctx.unit_of_work() as uow, pytest.raises(Exception, match="append-only"):
            uow.session.execute(statement)
            uow.commit()
    assert len(log_rows(ctx)) == 3


def test_a_persons_lookups_show_dates_and_purposes_without_employee_names(ctx):
    install_rework(ctx)
    theirs, other = open_rework(ctx), open_rework(ctx, actor="bo")
    add_citizen(ctx, theirs, ANNE, ANNE_NAME)
    add_citizen(ctx, other, BENT, BENT_NAME, actor="bo")
    with ctx.unit_of_work(read_only=True) as uow:
        queries.case_overview(uow.session, theirs, "anna", purpose="partshøring")
        queries.case_overview(uow.session, other, "bo")
    with ctx.unit_of_work() as uow, pytest.raises(NotAllowed):
        access_log.person_access_log(uow, ANNE, "anna")
    with ctx.unit_of_work() as uow:
        lookups = access_log.person_access_log(uow, ANNE, "erik", "indsigtsanmodning")
    # Bo's view of Bent's case is not a look-up on Anne; adding her as a party shows nothing.
    assert [(e["action"], e["case"], e["purpose"]) for e in lookups] == [("view", theirs, "partshøring")]
    assert all(set(e) == {"at", "action", "purpose", "case"} for e in lookups)
    assert "anna" not in json.dumps(lookups) and "erik" not in json.dumps(lookups)
    assert log_rows(ctx, action="read_access_log")[-1]["subject_hash"]  # reading it was logged, by hash
    with ctx.unit_of_work() as uow:  # the read itself is a look-up on the person
        again = access_log.person_access_log(uow, ANNE, "erik", "indsigtsanmodning")
    assert [e["action"] for e in again][-1] == "read_access_log" and again[-1]["case"] is None


# --- retention and deletion ------------------------------------------------------------------------

def closed_case_with_personal_data(ctx, actor="anna", cpr=ANNE, name=ANNE_NAME, title="Ansøgning fra Anne",
                                   grouping="Vestergade 4"):
    number = open_rework(ctx, actor=actor, title=title, grouping=grouping)
    add_citizen(ctx, number, cpr, name, actor=actor)
    complete(ctx, number, {"again": True, "note": f"Ringet til {name}, cpr {cpr}"}, actor=actor)
    run_to_closed(ctx, number, work={"note": "Afsluttet"}, actor=actor)
    return number


def due_date(ctx, number):
    with ctx.unit_of_work(read_only=True) as uow:
        return uow.session.scalar(select(Case.deletion_due_on).where(Case.number == number))


def test_deletion_leaves_nothing_of_the_person_but_the_tombstone(ctx):
    install_rework(ctx)
    number = closed_case_with_personal_data(ctx)
    keep = closed_case_with_personal_data(ctx, actor="bo", cpr=BENT, name=BENT_NAME, title="Bents sag",
                                          grouping="Østergade 9")
    case_id, due = case_id_of(ctx, number), due_date(ctx, number)
    with ctx.unit_of_work(read_only=True) as uow:
        queries.case_overview(uow.session, number, "anna")
    with ctx.unit_of_work(read_only=True) as uow:
        assert retention.find_deletion_candidates(uow, due - timedelta(days=1)) == []
        candidates = retention.find_deletion_candidates(uow, due)
    assert {c["number"] for c in candidates} == {number, keep}
    assert not any("Anne" in json.dumps(c) for c in candidates)
    with ctx.unit_of_work() as uow, pytest.raises(NotAllowed):
        retention.delete_case(uow, number, "anna", today=due)
    with ctx.unit_of_work() as uow, pytest.raises(Conflict, match="may not be deleted before"):
        retention.delete_case(uow, number, "erik", today=due - timedelta(days=1))
    with ctx.unit_of_work() as uow:
        tombstone = retention.delete_case(uow, number, "erik", today=due)
    assert tombstone["approved_by"] == "erik" and tombstone["case_number"] == number
    assert tombstone["removed"]["case_parties"] == 1 and tombstone["removed"]["gdpr_reviews"] == 1

    with ctx.unit_of_work(read_only=True) as uow:
        remains = retention.verify_deletion(uow, number, "erik")
        case = uow.session.get(Case, case_id)
        assert verify_journal(uow.session, case_id, case.journal_head) == []
    assert remains["clean"] and remains["rows"] == {} and remains["journal"] == ["case_deleted"]
    [event] = journal(ctx, number)
    assert event.kind == "case_deleted" and event.actor == "erik"
    assert set(event.data) == {"case_number", "case_type", "opened_on", "closed_on", "deletion_due_on",
                               "deleted_on", "approved_by", "removed", "previous_journal"}
    dump = database_text(ctx)
    for trace in [*digits(ANNE), ANNE_NAME, "Anne", "Ansøgning fra Anne", "Vestergade 4"]:
        assert trace not in dump, trace
    # The other person's case is untouched.
    assert BENT_NAME in dump and "Bents sag" in dump
    with ctx.unit_of_work(read_only=True) as uow:
        shown = queries.case_overview(uow.session, number, "anna")
    assert shown["status"] == "deleted" and shown["title"] == "" and shown["tasks"] == []
    with ctx.unit_of_work() as uow, pytest.raises(Conflict, match="is deleted"):
        retention.delete_case(uow, number, "erik", today=due)


def test_a_legal_hold_stops_deletion_until_released(ctx):
    install_rework(ctx)
    number = closed_case_with_personal_data(ctx)
    due = due_date(ctx, number)
    with ctx.unit_of_work() as uow, pytest.raises(NotAllowed):
        retention.place_legal_hold(uow, number, "anna", "Klagesag")
    with ctx.unit_of_work() as uow, pytest.raises(InvalidInput) as err:
        retention.place_legal_hold(uow, number, "erik", " ")
    assert err.value.field == "reason"
    with ctx.unit_of_work() as uow:
        hold = retention.place_legal_hold(uow, number, "erik", "Verserende retssag")
    assert hold["placed_by"] == "erik" and hold["reason"] == "Verserende retssag"
    with ctx.unit_of_work(read_only=True) as uow:
        assert retention.find_deletion_candidates(uow, due) == []
    before = database_text(ctx)
    with ctx.unit_of_work() as uow, pytest.raises(Conflict, match="legal hold: Verserende retssag"):
        retention.delete_case(uow, number, "erik", today=due)
    assert database_text(ctx) == before
    with ctx.unit_of_work() as uow:
        retention.release_legal_hold(uow, number, "erik")
    with ctx.unit_of_work() as uow:
        [listed] = retention.legal_holds(uow, number, "erik")
    assert listed["released_by"] == "erik" and listed["released_at"]
    with ctx.unit_of_work(read_only=True) as uow:
        assert [c["number"] for c in retention.find_deletion_candidates(uow, due)] == [number]
    with ctx.unit_of_work() as uow:
        retention.delete_case(uow, number, "erik", today=due)
    with ctx.unit_of_work(read_only=True) as uow:
        assert retention.remains_of_case(uow.session, case_id_of(ctx, number))["clean"]


def test_bulk_deletion_reports_progress_and_skips_a_held_case(ctx):
    install_rework(ctx)
    numbers = [closed_case_with_personal_data(ctx, cpr=cpr, name=f"Person {i}")
               for i, cpr in enumerate(("010190-1234", "020290-5678", "030390-4321"))]
    due = max(due_date(ctx, n) for n in numbers)
    with ctx.unit_of_work() as uow:
        retention.place_legal_hold(uow, numbers[1], "erik", "Aktindsigtsklage")
    progress = list(retention.delete_cases(ctx.unit_of_work, numbers, "erik", today=due))
    assert [(p["done"], p["total"], p["deleted"]) for p in progress] == [(1, 3, True), (2, 3, False), (3, 3, True)]
    assert "legal hold" in progress[1]["error"] and progress[-1]["deleted_count"] == 2
    with ctx.unit_of_work(read_only=True) as uow:
        statuses = [uow.session.scalar(select(Case.status).where(Case.number == n)) for n in numbers]
    assert statuses == ["deleted", "closed", "deleted"]


def test_kept_cases_are_never_candidates_and_cannot_be_deleted(ctx):
    install_rework(ctx)
    number = open_rework(ctx)
    run_to_closed(ctx, number, dict(GDPR_DATA, deletion_rule_applies=False,
                                    deletion_exception_reason="Bevares som præcedens"))
    with ctx.unit_of_work(read_only=True) as uow:
        assert retention.find_deletion_candidates(uow, due_date(ctx, number) or _far_future()) == []
    with ctx.unit_of_work() as uow, pytest.raises(Conflict, match="is kept"):
        retention.delete_case(uow, number, "erik", today=_far_future())
    open_one = open_rework(ctx)
    with ctx.unit_of_work() as uow, pytest.raises(Conflict, match="only a closed case"):
        retention.delete_case(uow, open_one, "erik", today=_far_future())


def _far_future():
    from datetime import date
    return date(2100, 1, 1)


# --- data-subject requests -------------------------------------------------------------------------

def test_subject_request_finds_every_case_and_exports_exactly_the_persons_data(ctx):
    install_rework(ctx)
    as_party = open_rework(ctx, title="Ansøgning om tilskud")
    add_citizen(ctx, as_party, ANNE, ANNE_NAME)
    add_citizen(ctx, as_party, BENT, BENT_NAME, role="ægtefælle")       # a shared case
    complete(ctx, as_party, {"again": True, "note": f"Begge: {ANNE} og {BENT}"})
    in_form_only = open_rework(ctx, actor="bo", title="Henvendelse")
    complete(ctx, in_form_only, {"again": True, "note": f"Nabo med cpr {ANNE.replace('-', '')} klager"},
             actor="bo")
    bents = open_rework(ctx, title="Bents egen sag")                   # the same case type, another person
    add_citizen(ctx, bents, BENT, BENT_NAME)
    complete(ctx, bents, {"again": True, "note": f"Bent {BENT} har ringet"})
    with ctx.unit_of_work(read_only=True) as uow:
        queries.case_overview(uow.session, as_party, "anna", purpose="partshøring")

    with ctx.unit_of_work() as uow, pytest.raises(NotAllowed):
        subject_requests.find_person(uow, ANNE, "anna", "nysgerrighed")
    with ctx.unit_of_work() as uow:
        found = subject_requests.find_person(uow, ANNE, "erik", "indsigtsanmodning")
    assert [(f["number"], f["as_party"], f["form_fields"]) for f in found] == [
        (as_party, True, ["note"]), (in_form_only, False, ["note"])]

    with ctx.unit_of_work() as uow:
        export = subject_requests.export_person(uow, ANNE, "erik", "indsigtsanmodning")
    assert export["subject"] == {"cpr": ANNE}
    assert [c["number"] for c in export["cases"]] == [as_party, in_form_only]
    first = export["cases"][0]
    assert first["as_party"] == [{"kind": "citizen", "name": ANNE_NAME, "role": "ansøger", "cpr": ANNE}]
    assert first["form_data"] == [{"field": "note", "value": f"Begge: {ANNE} og [CPR]"}]
    assert export["cases"][1]["as_party"] == []
    text_of_export = json.dumps(export, ensure_ascii=False)
    for other in [*digits(BENT), BENT_NAME, "Bent", "Bents egen sag", bents]:
        assert other not in text_of_export, other
    actions = [(e["action"], e["case"], e["purpose"]) for e in export["lookups"]]
    assert ("view", as_party, "partshøring") in actions
    assert ("search", None, "indsigtsanmodning") in actions
    assert "anna" not in text_of_export and "erik" not in text_of_export
    exported = [r for r in log_rows(ctx, action="export")]
    assert {r["case_id"] for r in exported} == {case_id_of(ctx, as_party), case_id_of(ctx, in_form_only)}
    assert all(r["username"] == "erik" and r["subject_hash"] for r in exported)

    pdf = subject_requests.export_pdf(export)
    pages = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    for wanted in (ANNE, ANNE_NAME, as_party, in_form_only, "partshøring", "Opslag på dig"):
        assert wanted in pages, wanted
    for other in (BENT, BENT_NAME, bents):
        assert other not in pages, other


def test_subject_request_for_an_unknown_number_is_empty_but_logged(ctx):
    with ctx.unit_of_work() as uow:
        export = subject_requests.export_person(uow, "311299-4321", "admin", "indsigtsanmodning")
    assert export["cases"] == [] and [e["action"] for e in export["lookups"]] == []
    assert [r["action"] for r in log_rows(ctx)] == ["export"]
    assert subject_requests.export_pdf(export).startswith(b"%PDF")
    with ctx.unit_of_work() as uow, pytest.raises(InvalidInput) as err:
        subject_requests.find_person(uow, "311399-4321", "erik", "x")
    assert err.value.field == "cpr"
