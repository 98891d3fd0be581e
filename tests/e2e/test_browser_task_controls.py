"""The task page's controls, a file field and a substitution in a real browser, on a desktop and a phone."""
from __future__ import annotations

import re
from dataclasses import replace
from datetime import timedelta

import pytest
from sqlalchemy import select

from engine.localtime import local_today
from engine.models import Case, CaseTask
from engine.services import cases, documents, tasks
from engine.settings import Settings
from tests.integration.document_helpers import EXE, make_pdf
from tests.integration.test_web_task_files import FILE_FORM
from tests.models import install, rework_loop_bpmn

from .test_browser_casework import log_in, no_horizontal_scroll

pytestmark = pytest.mark.browser
MAX_BYTES = 200_000


@pytest.fixture
def settings(tmp_path) -> Settings:
    """A small upload limit, so a file past it is quick to choose."""
    return replace(Settings.from_env({"SAGSGANG_INSTANCE_PATH": str(tmp_path / "instance")}),
                   document_max_bytes=MAX_BYTES)

BYG_START = {"address": "Havnegade 3, 9900 Frederikshavn", "cadastral_number": "7a, Frederikshavn Bygrunde",
             "building_type": "small_building", "floor_area": 36.5, "applicant": "Hans Hansen"}


def _open_task_id(ctx, number: str) -> str:
    with ctx.unit_of_work(read_only=True) as uow:
        case_id = uow.session.scalar(select(Case.id).where(Case.number == number))
        return uow.session.scalar(select(CaseTask.id).where(CaseTask.case_id == case_id, CaseTask.state == "open"))


def _field(page, label: str):
    return page.locator(".field", has=page.get_by_label(label, exact=True))


def test_plan_delegate_take_back_and_assign_a_task(page, live_server, viewport):
    base, ctx, shots = live_server.url, live_server.ctx, page.screens
    with ctx.unit_of_work() as uow:
        number = cases.open_case(uow, "byggetilladelse", "anna", "Carport", "Havnegade 3", BYG_START)["number"]
    task_id = _open_task_id(ctx, number)
    with ctx.unit_of_work() as uow:
        tasks.claim_task(uow, task_id, "anna")
    log_in(page, base, "anna")
    page.goto(f"{base}/tasks/{task_id}")
    shots.shot("task-page")
    no_horizontal_scroll(page)

    # Due date, follow-up date and priority, each its own small form.
    page.get_by_label("Frist", exact=True).fill("2031-03-14")
    page.get_by_role("button", name="Gem frist").click()
    assert "Fristen er 2031-03-14." in page.locator(".flashes").inner_text()
    assert "14.03.2031" in page.locator(".facts").inner_text()
    page.get_by_label("Opfølgningsdato").fill("2031-03-07")
    page.get_by_role("button", name="Gem opfølgningsdato").click()
    assert "2031-03-07" in page.locator(".flashes").inner_text()
    page.get_by_label("Prioritet").fill("200")
    page.get_by_role("button", name="Gem prioritet").click()
    assert "Skriv et helt tal fra 0 (lavest) til 100 (højest)." in _field(page, "Prioritet").inner_text()
    assert page.get_by_label("Prioritet").input_value() == "200"
    shots.shot("priority-error")
    no_horizontal_scroll(page)
    page.get_by_label("Prioritet").fill("80")
    page.get_by_role("button", name="Gem prioritet").click()
    assert "Prioriteten er 80." in page.locator(".flashes").inner_text()
    assert page.get_by_label("Prioritet").input_value() == "80"

    # Delegate to Bo: he completes it, anna keeps seeing it and takes it back; then she assigns it to him.
    page.get_by_text("Giv opgaven til en kollega").click()
    page.get_by_label("Delegér").select_option(label="Bo Nielsen")
    shots.shot("delegate")
    no_horizontal_scroll(page)
    page.get_by_role("button", name="Delegér").click()
    assert "Opgaven er delegeret til bo." in page.locator(".flashes").inner_text()
    assert "Anna Jensen" in page.locator(".facts").inner_text()  # delegated by
    page.get_by_role("button", name="Tag opgaven tilbage").click()
    assert "Du har taget opgaven tilbage." in page.locator(".flashes").inner_text()
    page.get_by_text("Giv opgaven til en kollega").click()
    page.get_by_label("Tildel").select_option(label="Bo Nielsen")
    page.get_by_role("button", name="Tildel").click()
    assert "Opgaven er tildelt bo." in page.locator(".flashes").inner_text()
    assert "Bo Nielsen" in page.locator(".facts").inner_text()
    shots.shot("assigned")
    no_horizontal_scroll(page)
    with ctx.unit_of_work(read_only=True) as uow:
        task = uow.session.get(CaseTask, task_id)
        assert (task.assignee.username, task.priority) == ("bo", 80)
    assert page.console_errors == []


def test_a_file_field_uploads_a_case_document(page, live_server, viewport):
    base, ctx, shots = live_server.url, live_server.ctx, page.screens
    install(ctx, "attach", rework_loop_bpmn("attach"), "attach", "ATT", forms={"work.json": FILE_FORM})
    with ctx.unit_of_work() as uow:
        number = cases.open_case(uow, "attach", "anna", "Sag med bilag", "", {})["number"]
    task_id = _open_task_id(ctx, number)
    log_in(page, base, "anna")
    page.goto(f"{base}/tasks/{task_id}")
    page.get_by_label("Note (valgfrit)").fill("Se brevet")
    # Past the limit: said beside the field before anything is sent.
    page.get_by_label("Brev").set_input_files(files=[{"name": "Stor.txt", "mimeType": "text/plain",
                                                       "buffer": b"a" * (MAX_BYTES + 1)}])
    page.get_by_role("button", name="Udfør opgaven").click()
    assert "Filen er for stor. Filer må højst fylde 195,3 kB." in _field(page, "Brev").inner_text()
    assert page.url.endswith(f"/tasks/{task_id}") and page.locator(".error-summary").count() == 0
    shots.shot("file-too-large")
    page.get_by_label("Brev").set_input_files(files=[{"name": "Brev.pdf", "mimeType": "application/pdf",
                                                       "buffer": EXE}])
    page.get_by_role("button", name="Udfør opgaven").click()
    page.locator(".error-summary").wait_for()
    assert "Filer af den slags kan ikke tilføjes." in _field(page, "Brev").inner_text()
    assert page.get_by_label("Note (valgfrit)").input_value() == "Se brevet"
    shots.shot("file-refused")
    no_horizontal_scroll(page)
    page.get_by_label("Brev").set_input_files(files=[{"name": "Brev.pdf", "mimeType": "application/pdf",
                                                       "buffer": make_pdf("Kære borger")}])
    page.get_by_role("button", name="Udfør opgaven").click()
    page.wait_for_url(re.compile(rf".*/cases/{number}$"))
    assert "Brev.pdf" in page.locator("#documents").inner_text()
    shots.shot("document-on-case")
    no_horizontal_scroll(page)
    with ctx.unit_of_work(read_only=True) as uow:
        assert [d["name"] for d in documents.list_documents(uow, number, "anna")] == ["Brev.pdf"]
    assert page.console_errors == []


def test_a_substitute_works_the_absent_users_task(page, live_server, viewport):
    base, ctx, shots = live_server.url, live_server.ctx, page.screens
    with ctx.unit_of_work() as uow:
        number = cases.open_case(uow, "aktindsigt", "anna", "Aktindsigt", "Søndergade 12", {
            "requester_email": "borger@example.dk", "requested_documents": "Sagens akter",
            "received_date": "2026-11-20"})["number"]
    log_in(page, base, "anna")
    page.goto(f"{base}/substitutes")
    today = local_today()
    page.get_by_label("Stedfortræder", exact=True).fill("bo")
    page.get_by_label("Første dag").fill(today.isoformat())
    page.get_by_label("Sidste dag").fill((today - timedelta(days=1)).isoformat())
    page.get_by_role("button", name="Udpeg stedfortræder").click()
    assert "Sidste dag ligger før første dag." in _field(page, "Sidste dag").inner_text()
    assert page.get_by_label("Stedfortræder", exact=True).input_value() == "bo"
    shots.shot("substitution-error")
    no_horizontal_scroll(page)
    page.get_by_label("Sidste dag").fill((today + timedelta(days=3)).isoformat())
    page.get_by_role("button", name="Udpeg stedfortræder").click()
    row = page.locator("tr[id^=substitution-]")
    assert row.count() == 1 and "Aktiv" in row.inner_text() and "Bo Nielsen" in row.inner_text()
    shots.shot("substitution")
    no_horizontal_scroll(page)

    page.get_by_role("button", name="Log ud").click()
    log_in(page, base, "bo")
    page.goto(f"{base}/tasks/mine")
    task_row = page.locator("#task-table tr", has_text=number)
    assert task_row.count() == 1
    shots.shot("substitute-tasks")
    no_horizontal_scroll(page)
    task_row.get_by_role("link").first.click()
    page.wait_for_selector("h1:has-text('Registrér anmodning')")
    assert page.get_by_role("button", name="Udfør opgaven").is_visible()
    shots.shot("substitute-task-page")
    no_horizontal_scroll(page)
    assert page.console_errors == []
