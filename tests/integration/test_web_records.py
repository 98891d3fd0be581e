"""The records manager's pages: deletion candidates and approval, legal holds, access log, data-subject requests."""
from __future__ import annotations

import io
import json
from datetime import date, timedelta

from pypdf import PdfReader
from sqlalchemy import select, update

from engine.models import Case
from engine.services import parties
from tests.integration.gdpr_helpers import install_rework, open_rework, run_to_closed
from tests.web import Browser

ANNE = "010190-1234"


def closed_case_due_for_deletion(ctx) -> str:
    install_rework(ctx)
    number = open_rework(ctx, title="Ansøgning fra Anne Andersen")
    with ctx.unit_of_work() as uow:
        parties.add_party(uow, number, "anna", "citizen", "Anne Andersen", "ansøger", cpr=ANNE)
    run_to_closed(ctx, number, work={"note": f"Anne har cpr {ANNE}"})
    with ctx.unit_of_work() as uow:  # as if five years had passed
        uow.session.execute(update(Case).where(Case.number == number)
                            .values(deletion_due_on=date.today() - timedelta(days=2)))
        uow.commit()
    return number


def test_only_records_managers_see_the_records_pages(client, ctx):
    browser = Browser(client)
    browser.login("anna")
    assert "/records/" not in client.get("/").get_data(as_text=True)
    assert client.get("/records/deletion").status_code == 403
    assert client.get("/records/subject").status_code == 200  # the form; searching is refused
    assert browser.submit("/records/subject", {"cpr": ANNE, "purpose": "x", "action": "search"}).status_code == 403
    browser.logout()
    browser.login("erik")
    assert 'href="/records/deletion"' in client.get("/").get_data(as_text=True)


def test_a_records_manager_approves_deletion_and_sees_only_the_tombstone_remains(client, ctx):
    number = closed_case_due_for_deletion(ctx)
    browser = Browser(client)
    browser.login("erik")
    html = client.get("/records/deletion").get_data(as_text=True)
    assert number in html and "Anne" not in html
    response = browser.submit("/records/deletion", {"number": [number]})
    assert response.status_code == 200
    streamed = response.get_data(as_text=True)
    assert number in streamed and "1/1" in streamed
    with ctx.unit_of_work(read_only=True) as uow:
        assert uow.session.scalar(select(Case.status).where(Case.number == number)) == "deleted"
    page = client.get(f"/records/cases/{number}").get_data(as_text=True)
    assert 'class="flash flash-success"' in page and "Anne" not in page
    assert number not in client.get("/records/deletion").get_data(as_text=True)


def test_a_legal_hold_placed_in_the_browser_keeps_the_case_off_the_list(client, ctx):
    number = closed_case_due_for_deletion(ctx)
    browser = Browser(client)
    browser.login("erik")
    response = browser.submit(f"/records/cases/{number}/hold", {"reason": "Klagesag ved Ankestyrelsen"},
                              page_url=f"/records/cases/{number}")
    assert response.status_code == 302
    assert "Klagesag ved Ankestyrelsen" in client.get(f"/records/cases/{number}").get_data(as_text=True)
    assert number not in client.get("/records/deletion").get_data(as_text=True)
    browser.submit(f"/records/cases/{number}/release", {}, page_url=f"/records/cases/{number}")
    assert number in client.get("/records/deletion").get_data(as_text=True)


def test_a_data_subject_request_is_answered_with_one_export(client, ctx):
    number = closed_case_due_for_deletion(ctx)
    browser = Browser(client)
    browser.login("erik")
    found = browser.submit("/records/subject", {"cpr": ANNE, "purpose": "indsigtsanmodning", "action": "search"})
    assert number in found.get_data(as_text=True)
    exported = browser.submit("/records/subject", {"cpr": ANNE, "purpose": "indsigtsanmodning", "action": "json"})
    body = json.loads(exported.get_data(as_text=True))
    assert exported.headers["Cache-Control"] == "no-store"
    assert body["subject"]["cpr"] == ANNE and [c["number"] for c in body["cases"]] == [number]
    pdf = browser.submit("/records/subject", {"cpr": ANNE, "purpose": "indsigtsanmodning", "action": "pdf"})
    assert pdf.mimetype == "application/pdf"
    text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.get_data())).pages)
    assert ANNE in text and "Anne Andersen" in text
    bad = browser.submit("/records/subject", {"cpr": "321390-1234", "purpose": "x", "action": "search"})
    assert bad.status_code == 422 and 'id="cpr-error"' in bad.get_data(as_text=True)
