"""A case-type owner in a real browser: model a step, see the linter catch a path that skips the
GDPR review, fix it, publish, and move the running cases over; decision tables, forms, compare,
test runs and the process overview."""
from __future__ import annotations

import json
import re
import threading
from types import SimpleNamespace

import pytest
from sqlalchemy import select
from werkzeug.serving import make_server

from engine.context import EngineContext
from engine.db import Database
from engine.models import JournalEvent, create_schema
from engine.services import cases
from engine.services.org import load_organisation
from engine.services.setup import DEMO_ORGANISATION, install_shipped_case_types
from webapp import create_app

pytestmark = pytest.mark.browser

# dmn-js ships Inferno's development warning in its production bundle; it is not an error of ours.
KNOWN_NOISE = ("minified copy of the development build of Inferno",)
AKT_START = {"requester_email": "borger@example.dk", "requested_documents": "Sagens akter",
             "received_date": "2026-11-20"}


@pytest.fixture
def live_server(settings, tmp_path):
    """Sagsgang on SQLite with the demo organisation, served in a thread; with its engine context,
    so a test can open cases and read what the browser changed."""
    database = Database(f"sqlite:///{tmp_path / 'modeler.sqlite3'}")
    create_schema(database.engine)
    context = EngineContext(settings, database)
    with context.unit_of_work() as uow:
        load_organisation(uow, json.loads(DEMO_ORGANISATION.read_text("utf-8")))
    install_shipped_case_types(context)
    server = make_server("127.0.0.1", 0, create_app(engine_context=context), threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield SimpleNamespace(url=f"http://127.0.0.1:{server.server_port}", ctx=context)
    server.shutdown()
    thread.join(timeout=10)
    database.dispose()


def errors(page) -> list[str]:
    return [e for e in page.console_errors if not any(noise in e for noise in KNOWN_NOISE)]


def log_in(page, base: str, username: str = "dorte") -> None:
    page.goto(f"{base}/login")
    page.get_by_label("Brugernavn").fill(username)
    page.get_by_label("Adgangskode").fill("demo")
    page.get_by_role("button", name="Log ind").click()
    page.wait_for_url(re.compile(r".*/(tasks/mine|$)"))


def open_cases(ctx, count: int) -> list[str]:
    numbers = []
    for i in range(count):
        with ctx.unit_of_work() as uow:
            numbers.append(cases.open_case(uow, "aktindsigt", "anna", f"Anmodning {i}", data=AKT_START)["number"])
    return numbers


def findings(page) -> list[tuple[str, str]]:
    return [tuple(f) for f in page.eval_on_selector_all(
        "#findings-list li", "items => items.map(i => [i.dataset.rule, i.dataset.element])")]


def save(page) -> None:
    with page.expect_response(lambda r: r.url.endswith("/files") and r.request.method == "POST") as answer:
        page.click("#save-model")
    assert answer.value.ok, answer.value.text()
    page.wait_for_selector("#unsaved[hidden]", state="attached")


# The step the owner adds: "Journalisér" after "Send svar", first (wrongly) ending the case on its own.
ADD_STEP = """() => {
  const m = window.sagsgangModeler, modeling = m.get('modeling'), reg = m.get('elementRegistry');
  const factory = m.get('bpmnFactory');
  const send = reg.get('Task_SendResponse');
  modeling.removeElements([reg.get('Flow_Send_Gdpr')]);
  const task = modeling.createShape({type: 'bpmn:UserTask', businessObject: factory.create('bpmn:UserTask',
      {id: 'Task_Journal', name: 'Journalisér'})}, {x: send.x + 50, y: send.y + 150}, send.parent);
  modeling.connect(send, task);
  const end = modeling.createShape({type: 'bpmn:EndEvent', businessObject: factory.create('bpmn:EndEvent',
      {id: 'End_Journal', name: 'Journaliseret'})}, {x: send.x + 200, y: send.y + 150}, send.parent);
  modeling.connect(task, end);
}"""
FIX_STEP = """() => {
  const m = window.sagsgangModeler, modeling = m.get('modeling'), reg = m.get('elementRegistry');
  modeling.removeElements([reg.get('End_Journal')]);
  modeling.connect(reg.get('Task_Journal'), reg.get('CallActivity_GdprReview'));
}"""


@pytest.mark.parametrize("viewport", ["desktop"])
def test_owner_adds_a_step_fixes_the_gdpr_path_publishes_and_moves_the_running_cases(page, live_server, viewport):
    base, shots = live_server.url, page.screens
    running = open_cases(live_server.ctx, 2)
    log_in(page, base)
    page.locator(".main-nav a[href='/case-types/']").click()
    page.locator("#case-types").get_by_role("link", name="Anmodning om aktindsigt").click()
    shots.shot("case-type")
    page.click("#new-draft")
    page.wait_for_selector("#modeler.modeler-ready", timeout=20_000)
    assert findings(page) == []

    page.evaluate(ADD_STEP)
    assert page.locator("#unsaved").is_visible()
    save(page)
    found = findings(page)
    assert ("gdpr-review-skipped", "End_Journal") in found
    assert ("unreachable", "CallActivity_GdprReview") in found
    # the finding is on the element: marked on the canvas with a badge
    page.wait_for_selector("[data-element-id='End_Journal'].sg-lint-error")
    assert page.locator(".lint-badge[data-element='End_Journal']").count() == 1
    shots.shot("lint-finding-on-element")

    # clicking the finding selects the element and the properties panel shows the finding too
    page.locator("#findings-list li[data-rule='gdpr-review-skipped'] .element-link").click()
    assert "GDPR review" in page.locator("#properties .element-findings").inner_text()

    # publishing is refused while there are errors
    page.click("#publish")
    page.wait_for_selector(".flash-error")
    assert "not published" in page.locator(".flashes").inner_text().lower() or \
           "ikke udgivet" in page.locator(".flashes").inner_text().lower()
    page.wait_for_selector("#modeler.modeler-ready", timeout=20_000)

    page.evaluate(FIX_STEP)
    # the new task gets its form in the properties panel
    page.evaluate("() => window.sagsgangModeler.get('selection').select("
                  "window.sagsgangModeler.get('elementRegistry').get('Task_Journal'))")
    page.select_option("#prop-form", "send_response.json")
    save(page)
    assert findings(page) == [], findings(page)
    assert page.locator(".sg-lint-error").count() == 0
    shots.shot("fixed")

    page.click("#publish")
    page.wait_for_url(f"{base}/case-types/aktindsigt")
    assert page.locator("#versions tr[data-version='2']").get_attribute("data-status") == "published"

    # move the running cases: dry run, then all at once with progress
    page.locator("#versions tr[data-version='1'] a.move-cases").click()
    assert page.locator("#plan tr[data-movable='yes']").count() == 2
    shots.shot("dry-run")
    page.click("#start-migration")
    page.wait_for_selector("#migration-progress[data-status='finished']", timeout=30_000)
    page.click("#migration-done")
    assert page.locator("#migration-cases tr[data-outcome='moved']").count() == 2
    shots.shot("moved")
    ctx = live_server.ctx
    with ctx.unit_of_work(read_only=True) as uow:
        for number in running:
            case = cases.get_case(uow.session, number)
            assert case.version.number == 2
            kinds = list(uow.session.scalars(select(JournalEvent.kind).where(JournalEvent.case_id == case.id)))
            assert kinds.count("case_migrated") == 1

    # and back again, for one of them
    page.locator(f"#migration-cases tr[data-case='{running[0]}'] button").click()
    page.wait_for_selector(f"#migration-cases tr[data-case='{running[0]}'][data-outcome='reverted']")
    with ctx.unit_of_work(read_only=True) as uow:
        assert cases.get_case(uow.session, running[0]).version.number == 1
    assert errors(page) == []


@pytest.mark.parametrize("viewport", ["desktop"])
def test_decision_tables_forms_compare_test_run_and_where_cases_wait(page, live_server, viewport):
    base, shots = live_server.url, page.screens
    log_in(page, base)
    page.goto(f"{base}/case-types/byggetilladelse")
    page.click("#new-draft")
    page.wait_for_selector("#modeler.modeler-ready", timeout=20_000)

    # the decision table opens in dmn-js; editing a cell marks the draft unsaved
    page.click("[data-tab='dmn:byggesagsgebyr.dmn']")
    page.wait_for_selector("[data-dmn='byggesagsgebyr.dmn'].dmn-ready .tjs-table", timeout=20_000)
    shots.shot("decision-table")
    cell = page.locator("[data-dmn='byggesagsgebyr.dmn'] td[data-element-id='Rule_01_Fee'] [contenteditable]")
    cell.click()
    page.keyboard.press("End")
    page.keyboard.type("0")
    page.wait_for_selector("#unsaved:not([hidden])")

    # a form in the JSON editor with its live preview
    page.click("[data-tab='forms']")
    page.locator("#form-list button", has_text="decision.json").click()
    page.wait_for_selector("#form-preview label")
    text = page.input_value("#form-json").replace('"title": "Vilkår for tilladelsen"', '"title": "Særlige vilkår"')
    page.fill("#form-json", text)
    page.wait_for_selector("#form-preview label:has-text('Særlige vilkår')")
    shots.shot("form-preview")
    save(page)
    assert findings(page) == []

    # compare with the published version: the changed cell and the changed field
    number = re.search(r"/versions/(\d+)", page.url).group(1)
    page.goto(f"{base}/case-types/byggetilladelse/compare?old=1&new={number}")
    page.wait_for_selector("#new-diagram.diagram-ready")
    assert "13000" in page.locator("[data-decision='byggesagsgebyr']").inner_text()
    assert "Særlige vilkår" in page.locator("[data-form='decision.json']").inner_text()
    shots.shot("compare")

    # a test run of the draft: fill the start form, see where it waits, end it
    page.goto(f"{base}/case-types/byggetilladelse/versions/{number}/test-runs")
    page.get_by_label("Byggeriets adresse").fill("Havnegade 3")
    page.get_by_label("Matrikelnummer").fill("7a")
    page.get_by_label("Bygningstype").select_option(label="Garage, carport, udhus o.l.")
    page.get_by_label("Etageareal (m²)").fill("30")
    page.get_by_label("Ansøger", exact=True).fill("Hans Hansen")
    page.locator("#test-start button[type='submit']").click()
    page.wait_for_selector("#run-diagram.diagram-ready .sg-active")
    assert page.locator(".test-task[data-element='Task_ProfessionalAssessment']").count() == 1
    assert '"fee": 13000' in page.locator("#run-data").inner_text()  # the edited decision table ran
    shots.shot("test-run")
    page.click("#end-run")
    page.wait_for_url(re.compile(rf".*/versions/{number}$"))

    # where cases wait, on the published version's diagram
    with live_server.ctx.unit_of_work() as uow:
        cases.open_case(uow, "byggetilladelse", "anna", "Carport", data={
            "address": "Havnegade 3", "cadastral_number": "7a", "building_type": "small_building",
            "floor_area": 30, "applicant": "Hans Hansen"})
    page.goto(f"{base}/case-types/byggetilladelse/process")
    page.wait_for_selector("#process-diagram.diagram-ready")
    page.wait_for_selector("#process-diagram.diagram-ready .diagram-note.note-waiting")
    assert page.locator("#step-stats tr[data-element='Task_ProfessionalAssessment'] td").nth(1).inner_text() == "1"
    shots.shot("process")
    assert errors(page) == []
