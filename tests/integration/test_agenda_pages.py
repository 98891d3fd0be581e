"""The secretary's pages and the public agenda through the web app (test client, both databases)."""
from __future__ import annotations

from io import BytesIO

from pypdf import PdfReader

from tests.agenda_helpers import ITEM, case_to_committee, item_of, load_demo_committees, plan
from tests.web import Browser


def test_secretary_assembles_publishes_and_decides_and_the_public_sees_only_open_content(client, ctx):
    load_demo_committees(ctx)
    number = case_to_committee(ctx, "local", item=dict(ITEM, agenda_closed=False))
    item = item_of(ctx, number)
    meeting = plan(ctx, "teknik-miljoe-udvalget")
    dorte = Browser(client)
    dorte.login("dorte")
    overview = dorte.get("/agenda/").get_data(as_text=True)
    assert "Teknik- og Miljøudvalget" in overview and ITEM["agenda_title"] in overview
    page_url = f"/agenda/meetings/{meeting}"
    page = dorte.get(page_url).get_data(as_text=True)
    assert "Dispensation fra lokalplan 12.3" in page  # in the queue
    response = dorte.submit(f"{page_url}/add", {"item_id": item["id"], "row_version": 1}, page_url=page_url)
    assert response.status_code == 302
    attachment = item["attachments"][0]
    dorte.submit(f"{page_url}/closed", {"kind": "attachment", "target_id": attachment["id"], "closed": "1"},
                 page_url=page_url)
    page = dorte.get(page_url).get_data(as_text=True)
    shown = page[page.index('id="attachment-%d"' % attachment["id"]):]
    assert "badge-closed" in shown[:shown.index("</li>")]  # the secretary still sees it, marked closed
    dorte.submit(f"{page_url}/publish", {"row_version": 99}, page_url=page_url)  # a stale page
    assert "changed by someone else meanwhile" in dorte.get(page_url).get_data(as_text=True)
    response = dorte.submit(f"{page_url}/publish", {}, page_url=page_url)
    assert response.status_code == 302
    public = client.get(f"/meetings/{meeting}/agenda").get_data(as_text=True)
    assert ITEM["agenda_title"] in public and "Situationsplan" not in public and "Naboindsigelse" not in public
    dorte.submit(f"{page_url}/decisions", {"item_id": item["id"], "outcome": "approved",
                                           "decision_text": "Dispensation meddelt."}, page_url=page_url)
    dorte.submit(f"{page_url}/minutes", {}, page_url=page_url)
    anonymous = client.application.test_client()
    minutes = anonymous.get(f"/meetings/{meeting}/minutes")
    assert minutes.status_code == 200 and "Dispensation meddelt." in minutes.get_data(as_text=True)
    pdf = anonymous.get(f"/meetings/{meeting}/minutes.pdf")
    assert pdf.mimetype == "application/pdf"
    text = " ".join(PdfReader(BytesIO(pdf.data)).pages[0].extract_text().split())
    assert text.startswith("Referat Teknik- og Miljøudvalget")
    export = anonymous.get(f"/meetings/{meeting}/minutes.json").get_json()
    assert export["agenda_type"] == "Referat" and export["bullet_points"][0]["decision"]["outcome"] == "approved"
    feed = anonymous.get("/meetings/calendar.ics?committee=teknik-miljoe-udvalget")
    assert feed.mimetype == "text/calendar" and f"meeting-{meeting}@sagsgang" in feed.get_data(as_text=True)


def test_working_agendas_are_for_the_committee_and_undelivered_messages_for_its_secretaries(client, ctx):
    load_demo_committees(ctx)
    meeting = plan(ctx, "teknik-miljoe-udvalget")
    anna = Browser(client)
    anna.login("anna")
    assert anna.get(f"/agenda/meetings/{meeting}").status_code == 403
    assert anna.get("/agenda/undelivered").status_code == 200  # her own list: empty
