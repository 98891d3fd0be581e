"""Issue 5's 'done when', in a real browser: a caseworker sends a case to a committee, the head of
department approves the item, the secretary puts it on a meeting's agenda while another committee's
item waits beside it, publishes agenda and PDF, records the decision, and the case continues on the
decided path; closed content is never shown to someone outside the committee."""
from __future__ import annotations

import re
from io import BytesIO

import pytest
from playwright.sync_api import expect
from pypdf import PdfReader

from engine.services import cases
from tests.agenda_helpers import ASSESSMENT, BYG_START, ITEM, case_to_committee, complete, load_demo_committees, plan
from tests.e2e.conftest import VIEWPORTS
from tests.integration.document_helpers import make_pdf

pytestmark = pytest.mark.browser


def signed_in(browser, base: str, viewport: str, username: str):
    """A tab of its own for `username` (every person works in their own browser)."""
    context = browser.new_context(viewport=VIEWPORTS[viewport], locale="da-DK", is_mobile=viewport == "phone",
                                  has_touch=viewport == "phone")
    tab = context.new_page()
    tab.console_errors = []
    tab.on("pageerror", lambda error: tab.console_errors.append(str(error)))
    tab.goto(f"{base}/login")
    tab.get_by_label("Brugernavn").fill(username)
    tab.get_by_label("Adgangskode").fill("demo")
    tab.get_by_role("button", name="Log ind").click()
    tab.wait_for_load_state()
    assert "/login" not in tab.url, f"{username} could not sign in"
    return tab


def open_task(tab, base: str, number: str, name: str) -> None:
    tab.goto(f"{base}/cases/{number}")
    tab.locator("#open-tasks").get_by_role("link", name=name).click()
    tab.wait_for_selector(f"h1:has-text('{name}')")


def test_a_case_goes_to_a_committee_and_back_in_the_browser(page, browser, live_server, viewport, tmp_path):
    base, ctx, shots = live_server.url, live_server.ctx, page.screens
    load_demo_committees(ctx)
    with ctx.unit_of_work() as uow:
        number = cases.open_case(uow, "byggetilladelse", "anna", "Nyt hus, Havnegade 4", data=BYG_START,
                                 caseworker="anna")["number"]
    # The assessment found that a local dispensation needs Teknik- og Miljøudvalget.
    complete(ctx, number, "bo", dict(ASSESSMENT, dispensation_scope="local"), "Task_ProfessionalAssessment")
    other = case_to_committee(ctx, "principal", item=dict(ITEM, agenda_title="Nyt plejecenter",
                                                          committee_route=["oekonomiudvalget"]))
    meeting = plan(ctx, "teknik-miljoe-udvalget")
    other_meeting = plan(ctx, "oekonomiudvalget")
    objection = tmp_path / "naboindsigelse-jens-hansen.pdf"
    objection.write_bytes(make_pdf("Indsigelse fra naboen Jens Hansen om skygge"))

    # 1. The caseworker files the neighbour's objection, drafts the item, and attaches the objection, closed.
    page.goto(f"{base}/login")
    page.get_by_label("Brugernavn").fill("anna")
    page.get_by_label("Adgangskode").fill("demo")
    page.get_by_role("button", name="Log ind").click()
    page.goto(f"{base}/cases/{number}")
    page.get_by_label("Tilføj et dokument").set_input_files(str(objection))
    page.get_by_role("button", name="Upload", exact=True).click()
    expect(page.locator("#documents")).to_contain_text("naboindsigelse-jens-hansen.pdf")
    open_task(page, base, number, "Udarbejd dagsordenspunkt")
    page.get_by_label("Overskrift").fill("Dispensation fra lokalplan 12.3, Havnegade 4")
    page.get_by_label("Resumé (valgfrit)").fill("Ansøgning om dispensation til byggehøjde.")
    page.get_by_label("Indstilling").fill("Forvaltningen indstiller, at der gives dispensation.")
    page.get_by_label("Sagsfremstilling").fill("Projektet overskrider byggehøjden med 0,8 m.")
    shots.shot("item-drafted")
    page.get_by_role("button", name="Udfør opgaven").click()
    page.wait_for_url(f"{base}/cases/{number}")
    page.get_by_role("link", name="Sagens dagsordenspunkter").click()
    page.wait_for_url(f"{base}/agenda/cases/{number}")
    page.get_by_role("link", name="Dispensation fra lokalplan 12.3, Havnegade 4").click()
    page.wait_for_url(re.compile(r".*/agenda/items/\d+$"))
    item_url = page.url
    item_id = int(item_url.rsplit("/", 1)[1])
    page.get_by_label("Sagens dokument").select_option(label="naboindsigelse-jens-hansen.pdf (version 1)")
    page.get_by_label("Titel på dagsordenen (dokumentets navn, hvis tom)").fill("Naboindsigelse")
    page.get_by_label("Lukket bilag (kun udvalgets medlemmer og sekretærer)").check()
    page.get_by_role("button", name="Vedhæft dokument").click()
    expect(page.locator(".flashes")).to_contain_text("Dokumentet er vedhæftet.")
    attachment = page.locator("#attachments li").first
    # Closed: even the caseworker sees it here by number only (she has the document on the case itself).
    expect(attachment).to_contain_text("Bilag 1: Lukket bilag")
    attachment_id = int(attachment.get_attribute("id").rsplit("-", 1)[1])
    shots.shot("attached")

    # 2. The head of department approves the item: it joins the committee's queue.
    carl = signed_in(browser, base, viewport, "carl")
    open_task(carl, base, number, "Godkend dagsordenspunkt")
    carl.get_by_label("Punktet kan sendes til udvalget").check()
    carl.get_by_role("button", name="Udfør opgaven").click()
    carl.wait_for_url(f"{base}/cases/{number}")
    assert carl.console_errors == []
    carl.context.close()

    # 3. The secretary sees both committees' queues, assembles both agendas and publishes one.
    dorte = signed_in(browser, base, viewport, "dorte")
    dorte.goto(f"{base}/agenda/")
    expect(dorte.locator("#c-teknik-miljoe-udvalget .queue")).to_contain_text("Dispensation fra lokalplan 12.3")
    expect(dorte.locator("#c-oekonomiudvalget .queue")).to_contain_text("Nyt plejecenter")
    dorte.locator(f"#c-oekonomiudvalget a[href='/agenda/meetings/{other_meeting}']").click()
    dorte.get_by_role("button", name="Sæt på dagsordenen: Nyt plejecenter").click()
    expect(dorte.locator("#agenda-items")).to_contain_text("Nyt plejecenter")
    dorte.goto(f"{base}/agenda/")
    dorte.locator(f"#c-teknik-miljoe-udvalget a[href='/agenda/meetings/{meeting}']").click()
    dorte.get_by_role("button", name="Sæt på dagsordenen: Dispensation fra lokalplan 12.3, Havnegade 4").click()
    expect(dorte.locator(f"#item-{item_id}")).to_contain_text("Dispensation fra lokalplan 12.3")
    dorte.locator(".publish-form").get_by_role("button", name="Offentliggør dagsorden").click()
    expect(dorte.locator("#meeting-status")).to_have_text("Dagsorden offentliggjort")
    dorte.screenshot(path=str(shots.directory / "published-by-secretary.png"), full_page=True)
    public = dorte.context.new_page()
    public.goto(f"{base}/meetings/{meeting}/agenda")
    body = public.locator("main").inner_text()
    assert "1. Dispensation fra lokalplan 12.3, Havnegade 4" in body and "byggehøjden med 0,8 m" in body
    assert "Bilag 1.1: Lukket bilag" in body and "Naboindsigelse" not in body and "Jens Hansen" not in body
    assert "Nyt plejecenter" not in body  # the other committee's item is on its own agenda
    pdf = public.request.get(f"{base}/meetings/{meeting}/agenda.pdf")
    assert pdf.ok and pdf.headers["content-type"] == "application/pdf"
    text = " ".join(" ".join(p.extract_text() for p in PdfReader(BytesIO(pdf.body())).pages).split())
    assert "1. Dispensation fra lokalplan 12.3, Havnegade 4" in text and "Bilag 1.1: Lukket bilag" in text
    assert "Naboindsigelse" not in text and "Jens Hansen" not in text
    public.close()

    # 4. After the meeting the secretary records the decision; the case moves on the approved path.
    form = dorte.locator(f"#item-{item_id} .decision-form")
    form.get_by_label("Beslutning", exact=True).select_option("approved")
    form.get_by_label("Beslutningens tekst").fill("Dispensation meddelt som indstillet.")
    form.get_by_role("button", name="Registrér beslutning").click()
    expect(dorte.locator(f"#item-{item_id} .decision")).to_contain_text("Dispensation meddelt som indstillet.")
    assert dorte.console_errors == []
    dorte.context.close()
    page.goto(f"{base}/cases/{number}")
    open_now = page.locator("#open-tasks").inner_text()
    assert "Afgørelse" in open_now and "Meddel afslag" not in open_now
    shots.shot("case-continues")

    # 5. Closed content: not for an employee outside the committee, even with the links in hand; a member has it.
    erik = signed_in(browser, base, viewport, "erik")
    assert erik.goto(f"{base}/agenda/attachments/{attachment_id}").status == 403
    assert erik.goto(f"{base}/agenda/items/{item_id}").status == 403
    assert erik.goto(f"{base}/agenda/meetings/{meeting}").status == 403
    erik.context.close()
    freja = signed_in(browser, base, viewport, "freja")
    freja.goto(f"{base}/agenda/items/{item_id}")
    expect(freja.locator(f"#attachment-{attachment_id}")).to_contain_text("Naboindsigelse")
    download = freja.request.get(f"{base}/agenda/attachments/{attachment_id}")
    assert download.ok and download.body().startswith(b"%PDF")
    freja.context.close()
    assert page.console_errors == []
