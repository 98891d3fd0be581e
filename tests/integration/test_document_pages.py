"""The documents section of the case page, its forms and downloads, through the Flask test client."""
from __future__ import annotations

import io
import re
from dataclasses import replace

from engine.context import EngineContext
from engine.services import cases
from tests.integration.document_helpers import EXE, document_state, make_docx, make_pdf
from tests.integration.gdpr_helpers import install_rework
from tests.web import Browser, csrf_token, error_messages
from webapp import create_app


def open_case(ctx) -> str:
    install_rework(ctx)
    with ctx.unit_of_work() as uow:
        return cases.open_case(uow, "rework", "anna", "Carport", "Havnegade 3", {})["number"]


def post_file(browser: Browser, url: str, page_url: str, name: str, content: bytes):
    token = csrf_token(browser.get(page_url).get_data(as_text=True))
    return browser.client.post(url, data={"csrf_token": token, "file": (io.BytesIO(content), name)},
                               content_type="multipart/form-data")


def test_upload_list_download_new_version_and_delete_from_the_case_page(client, ctx):
    number = open_case(ctx)
    browser = Browser(client)
    browser.login("anna")
    html = browser.get(f"/cases/{number}").get_data(as_text=True)
    assert '<h2 id="documents-title">Dokumenter</h2>' in html and "Ingen dokumenter endnu." in html
    assert '<label for="document-file">Tilføj et dokument</label>' in html
    assert 'enctype="multipart/form-data"' in html

    response = post_file(browser, f"/cases/{number}/documents", f"/cases/{number}", "Ansøgning.pdf",
                         make_pdf("Ansøgning om carport"))
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/cases/{number}#documents")
    html = browser.get(f"/cases/{number}").get_data(as_text=True)
    assert "Dokumentet Ansøgning.pdf er tilføjet." in html
    [(document_id, name)] = re.findall(rf'href="/cases/{number}/documents/(\d+)">([^<]+)</a>', html)
    assert name == "Ansøgning.pdf"

    download = browser.get(f"/cases/{number}/documents/{document_id}/download")
    assert download.status_code == 200 and download.mimetype == "application/pdf"
    assert download.data.startswith(b"%PDF")
    assert download.headers["Content-Disposition"] == (
        "attachment; filename=\"Ans_gning.pdf\"; filename*=UTF-8''Ans%C3%B8gning.pdf")
    assert download.headers["X-Content-Type-Options"] == "nosniff"

    history_url = f"/cases/{number}/documents/{document_id}"
    response = post_file(browser, f"{history_url}/versions", history_url, "Ansøgning v2.docx",
                         make_docx("Ansøgning om carport, rettet"))
    assert response.status_code == 302
    html = browser.get(history_url).get_data(as_text=True)
    assert "Version 2 af Ansøgning v2.docx er tilføjet." in html
    assert html.count('data-label="Filnavn"') == 2 and "Ansøgning v2.docx" in html and "Ansøgning.pdf" in html
    old = browser.get(f"/cases/{number}/documents/{document_id}/download?version=1")
    assert old.data.startswith(b"%PDF")

    response = browser.submit(f"{history_url}/delete", page_url=history_url)
    assert response.status_code == 302
    html = browser.get(f"/cases/{number}").get_data(as_text=True)
    assert "Dokumentet er slettet." in html and "Ingen dokumenter endnu." in html
    assert document_state(ctx)["files"] == []


def test_a_refused_file_is_explained_beside_the_field_and_changes_nothing(client, ctx):
    number = open_case(ctx)
    browser = Browser(client)
    browser.login("anna")
    before = document_state(ctx)
    response = post_file(browser, f"/cases/{number}/documents", f"/cases/{number}", "Faktura.pdf", EXE)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert error_messages(html)["document-file"][0].startswith("Filer af den slags kan ikke tilføjes.")
    assert 'aria-invalid="true"' in html and 'aria-describedby="document-file-hint document-file-error"' in html
    response = post_file(browser, f"/cases/{number}/documents", f"/cases/{number}", "Notat.docx", make_pdf("x"))
    assert error_messages(response.get_data(as_text=True))["document-file"] == [
        "Filens indhold er PDF, men dens navn ender ikke på .pdf. Tjek, at det er den rigtige fil."]
    response = browser.client.post(f"/cases/{number}/documents", data={
        "csrf_token": csrf_token(browser.get(f"/cases/{number}").get_data(as_text=True))},
        content_type="multipart/form-data")
    assert error_messages(response.get_data(as_text=True))["document-file"] == ["Vælg en fil at uploade."]
    assert document_state(ctx) == before


def test_a_request_over_the_size_limit_is_cut_off_with_a_clear_message(ctx):
    number = open_case(ctx)
    small = EngineContext(replace(ctx.settings, document_max_bytes=2048), ctx.database)
    app = create_app(engine_context=small)
    app.config.update(TESTING=True)
    browser = Browser(app.test_client())
    browser.login("anna")
    before = document_state(ctx)
    response = post_file(browser, f"/cases/{number}/documents", f"/cases/{number}", "Stor.pdf",
                         make_pdf("x") + b"\n" * 200_000)
    assert response.status_code == 413
    assert "Filen er for stor. Filer må højst fylde 2 kB." in response.get_data(as_text=True)
    # Just over the document limit but under the request limit: the engine refuses it.
    response = post_file(browser, f"/cases/{number}/documents", f"/cases/{number}", "Lidt for stor.pdf",
                         make_pdf("x") + b"\n" * 4000)
    assert response.status_code == 422
    assert error_messages(response.get_data(as_text=True))["document-file"] == [
        "Filen er for stor. Filer må højst fylde 2 kB."]
    assert document_state(ctx) == before


def test_who_may_not_see_the_case_gets_neither_list_nor_file(client, ctx):
    number = open_case(ctx)
    browser = Browser(client)
    browser.login("anna")
    post_file(browser, f"/cases/{number}/documents", f"/cases/{number}", "Ansøgning.pdf", make_pdf("x"))
    document_id = re.search(rf"/cases/{number}/documents/(\d+)", browser.get(f"/cases/{number}")
                            .get_data(as_text=True)).group(1)
    browser.logout()
    browser.login("carl")
    assert browser.get(f"/cases/{number}/documents").status_code == 403
    assert browser.get(f"/cases/{number}/documents/{document_id}/download").status_code == 403
    response = post_file(browser, f"/cases/{number}/documents", "/", "Mere.pdf", make_pdf("y"))
    assert response.status_code == 403
    # Without a CSRF token nothing is accepted, whoever asks.
    browser.logout()
    browser.login("anna")
    response = browser.client.post(f"/cases/{number}/documents",
                                   data={"file": (io.BytesIO(make_pdf("z")), "Uden.pdf")},
                                   content_type="multipart/form-data")
    assert response.status_code == 400
    assert len(document_state(ctx)["files"]) == 1
