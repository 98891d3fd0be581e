"""An employee adds documents to a case in a real browser, on a desktop and on a phone."""
from __future__ import annotations

import re

import pytest

from engine.services import cases
from tests.e2e.test_browser_casework import log_in, no_horizontal_scroll
from tests.integration.document_helpers import EXE, make_docx, make_pdf

pytestmark = pytest.mark.browser


def test_upload_a_document_add_a_version_and_download_it(page, live_server, viewport, tmp_path):
    base, shots = live_server.url, page.screens
    with live_server.ctx.unit_of_work() as uow:
        number = cases.open_case(uow, "byggetilladelse", "anna", "Carport på Havnegade 3", "Havnegade 3", {
            "address": "Havnegade 3, 9900 Frederikshavn", "cadastral_number": "7a",
            "building_type": "small_building", "floor_area": 36.5, "applicant": "Hans Hansen"})["number"]
    application = tmp_path / "Ansøgning.pdf"
    application.write_bytes(make_pdf("Ansøgning om carport"))
    renamed = tmp_path / "Faktura.pdf"
    renamed.write_bytes(EXE)
    corrected = tmp_path / "Ansøgning rettet.docx"
    corrected.write_bytes(make_docx("Ansøgning om carport, rettet"))

    log_in(page, base, "anna")
    page.goto(f"{base}/cases/{number}")
    section = page.locator("#documents")
    assert "Ingen dokumenter endnu." in section.inner_text()

    # A program renamed to .pdf is refused beside the field, and the field stays usable.
    page.get_by_label("Tilføj et dokument").set_input_files(str(renamed))
    page.get_by_role("button", name="Upload", exact=True).click()
    assert "Filer af den slags kan ikke tilføjes." in page.locator(".error-message").inner_text()
    shots.shot("refused")
    no_horizontal_scroll(page)

    page.get_by_label("Tilføj et dokument").set_input_files(str(application))
    page.get_by_role("button", name="Upload", exact=True).click()
    page.wait_for_url(re.compile(rf"/cases/{number}#documents$"))
    assert "Dokumentet Ansøgning.pdf er tilføjet." in page.locator(".flashes").inner_text()
    shots.shot("case-page")
    no_horizontal_scroll(page)

    with page.expect_download() as download:
        page.locator("#documents").get_by_role("link", name="Hent Ansøgning.pdf").click()
    assert download.value.suggested_filename == "Ansøgning.pdf"

    page.locator("#documents").get_by_role("link", name="Ansøgning.pdf", exact=True).click()
    page.get_by_label("Fil med den nye version").set_input_files(str(corrected))
    page.get_by_role("button", name="Upload ny version").click()
    assert "Version 2 af Ansøgning rettet.docx er tilføjet." in page.locator(".flashes").inner_text()
    assert page.locator("table.simple tbody tr").count() == 2
    shots.shot("versions")
    no_horizontal_scroll(page)
    assert page.console_errors == []
