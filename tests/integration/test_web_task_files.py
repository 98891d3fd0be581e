"""File fields in task forms: drawn as file inputs, sent as multipart, stored as case documents in the
completion's unit of work; a refused file is named beside its field and the other typed values stay."""
from __future__ import annotations

import io
from dataclasses import replace

import pytest
from sqlalchemy import select

from engine.models import Case
from engine.services import cases, documents
from engine.settings import Settings
from tests.integration.document_helpers import EXE, PNG, document_state, make_pdf
from tests.integration.gdpr_helpers import open_task_id
from tests.models import install, rework_loop_bpmn
from tests.web import Browser, csrf_token, error_messages, input_value

MAX_BYTES = 200_000
FILE_FORM = {"type": "object", "required": ["again", "letter"], "properties": {
    "again": {"type": "boolean", "title": "Igen"},
    "letter": {"type": "string", "format": "data-url", "title": "Brev"},
    "appendix": {"type": "string", "x-sagsgang-document": True, "title": "Bilag", "description": "Tegninger"},
    "note": {"type": "string", "title": "Note"},
    "amount": {"type": "integer", "title": "Beløb"}}}


@pytest.fixture
def settings(tmp_path) -> Settings:
    """A small upload limit, so a file past it is quick to send."""
    return replace(Settings.from_env({"SAGSGANG_INSTANCE_PATH": str(tmp_path / "instance")}),
                   document_max_bytes=MAX_BYTES)


@pytest.fixture
def task(ctx) -> tuple[str, str]:
    install(ctx, "attach", rework_loop_bpmn("attach"), "attach", "ATT", forms={"work.json": FILE_FORM})
    with ctx.unit_of_work() as uow:
        number = cases.open_case(uow, "attach", "anna", "Sag med bilag", "", {})["number"]
    return number, open_task_id(ctx, number)


def _submit(browser: Browser, task_id: str, data: dict, files: dict):
    page = browser.get(f"/tasks/{task_id}").get_data(as_text=True)
    body = {**data, "csrf_token": csrf_token(page)}
    body.update({name: (io.BytesIO(content), filename) for name, (filename, content) in files.items()})
    return browser.client.post(f"/tasks/{task_id}", data=body, content_type="multipart/form-data")


def test_file_fields_are_file_inputs_in_a_multipart_form(client, task):
    browser = Browser(client)
    browser.login("anna")
    html = browser.get(f"/tasks/{task[1]}").get_data(as_text=True)
    assert 'enctype="multipart/form-data"' in html
    assert '<label for="f-letter">' in html and '<input id="f-letter" name="letter" type="file"' in html
    assert '<input id="f-appendix" name="appendix" type="file"' in html
    assert 'aria-describedby="f-appendix-hint f-appendix-types"' in html
    assert "højst 195,3 kB" in html  # the limit, in Danish
    assert 'name="note" type="text"' in html


def test_files_become_documents_of_the_case_with_the_completion(client, ctx, task):
    number, task_id = task
    browser = Browser(client)
    browser.login("anna")
    response = _submit(browser, task_id, {"note": "se bilag", "amount": "12"},
                       {"letter": ("Brev.pdf", make_pdf("Kære borger")), "appendix": ("Tegning.png", PNG)})
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    with ctx.unit_of_work(read_only=True) as uow:
        listed = {d["name"]: d["id"] for d in documents.list_documents(uow, number, "anna")}
        state = uow.session.scalar(select(Case.state).where(Case.number == number))
    assert set(listed) == {"Brev.pdf", "Tegning.png"}
    assert f'"letter":"document:{listed["Brev.pdf"]}"' in state and '"amount":12' in state
    assert "Brev.pdf" in browser.get(f"/cases/{number}").get_data(as_text=True)


def test_a_refused_file_is_named_beside_its_field_and_nothing_is_stored(client, ctx, task):
    number, task_id = task
    browser = Browser(client)
    browser.login("anna")
    before = document_state(ctx)
    response = _submit(browser, task_id, {"note": "mit notat", "amount": "7"}, {"letter": ("Brev.pdf", EXE)})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    errors = error_messages(html)
    assert list(errors) == ["f-letter"] and errors["f-letter"][0].startswith("Filer af den slags kan ikke tilføjes.")
    assert input_value(html, "note") == "mit notat" and input_value(html, "amount") == "7"
    # Past the size limit
    response = _submit(browser, task_id, {"note": "mit notat"}, {"letter": ("Brev.txt", b"a" * (MAX_BYTES + 1))})
    assert response.status_code == 422
    assert error_messages(response.get_data(as_text=True))["f-letter"] == [
        "Filen er for stor. Filer må højst fylde 195,3 kB."]
    # No file for a required file field
    response = _submit(browser, task_id, {"note": "mit notat"}, {})
    assert response.status_code == 422
    assert error_messages(response.get_data(as_text=True))["f-letter"] == ["Vælg en fil."]
    assert document_state(ctx) == before
    assert open_task_id(ctx, number) == task_id  # still open


def test_other_errors_keep_the_typed_values_and_ask_for_the_file_again(client, ctx, task):
    number, task_id = task
    browser = Browser(client)
    browser.login("anna")
    before = document_state(ctx)
    response = _submit(browser, task_id, {"note": "mit notat", "amount": "tolv"},
                       {"letter": ("Brev.pdf", make_pdf("Kære borger"))})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    errors = error_messages(html)
    assert errors["f-amount"] == ["Indtast et helt tal, fx 12."]
    assert errors["f-letter"][0].startswith("Vælg filen igen")
    assert input_value(html, "note") == "mit notat" and input_value(html, "amount") == "tolv"
    assert document_state(ctx) == before
