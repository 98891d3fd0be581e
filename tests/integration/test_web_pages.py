"""The pages employees use: front page, task lists, start a case, task forms, the case page."""
from __future__ import annotations

import re

from sqlalchemy import select

from engine.models import Case, CaseTask
from engine.services import cases
from tests.web import TASK_LINK, Browser, error_messages, input_value

AKT_START = {"_case_title": "Aktindsigt i byggesag", "_case_grouping": "Søndergade 12",
             "requester_email": "borger@example.dk", "requested_documents": "Sagens akter",
             "received_date": "20-11-2026"}
BYG_START = {"_case_title": "Carport", "_case_grouping": "Havnegade 3", "address": "Havnegade 3, 9900 Frederikshavn",
             "cadastral_number": "7a, Frederikshavn Bygrunde", "building_type": "small_building",
             "floor_area": "36,5", "applicant": "Hans Hansen"}


def _start(browser: Browser, case_type: str, data: dict) -> str:
    response = browser.submit(f"/cases/new/{case_type}", data)
    assert response.status_code == 302, response.get_data(as_text=True)[:3000]
    return response.headers["Location"].rsplit("/", 1)[1]


def _open_task(ctx, number: str) -> CaseTask:
    with ctx.unit_of_work(read_only=True) as uow:
        case_id = uow.session.scalar(select(Case.id).where(Case.number == number))
        task = uow.session.scalar(select(CaseTask).where(CaseTask.case_id == case_id, CaseTask.state == "open"))
        uow.session.expunge(task)
        return task


def test_front_page_shows_my_tasks_and_latest_cases(client, ctx):
    browser = Browser(client)
    browser.login("anna")
    number = _start(browser, "aktindsigt", AKT_START)
    html = client.get("/").get_data(as_text=True)
    assert "Goddag, Anna Jensen" in html
    assert "Registrér anmodning" in html and number in html
    assert re.search(r'Mine opgaver <span class="count">1</span>', html)


def test_choose_a_case_type_and_see_its_start_form(client):
    browser = Browser(client)
    browser.login("anna")
    html = client.get("/cases/new").get_data(as_text=True)
    assert "Anmodning om aktindsigt" in html and "Ansøgning om byggetilladelse" in html
    html = client.get("/cases/new/byggetilladelse").get_data(as_text=True)
    assert '<label for="case-title">' in html
    assert '<select id="f-building_type" name="building_type"' in html
    assert '<option value="holiday_home">Sommerhus</option>' in html
    assert 'name="floor_area" type="text" value="" inputmode="decimal"' in html
    # every input has a label
    for field_id in re.findall(r'<(?:input|select|textarea) id="([^"]+)"', html):
        assert f'for="{field_id}"' in html, field_id


def test_start_form_errors_stand_beside_their_fields_and_keep_what_was_typed(client, ctx):
    browser = Browser(client)
    browser.login("anna")
    response = browser.submit("/cases/new/byggetilladelse", dict(BYG_START, _case_title="", floor_area="lots",
                                                                 address="", building_type="castle"))
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    errors = error_messages(html)
    assert errors["case-title"] == ["Udfyld feltet."]
    assert errors["f-floor_area"] == ["Indtast et tal, fx 12,5."]
    assert errors["f-address"] == ["Udfyld feltet."]
    assert errors["f-building_type"] == ["Vælg en af mulighederne."]
    assert input_value(html, "floor_area") == "lots" and input_value(html, "applicant") == "Hans Hansen"
    assert 'class="error-summary"' in html and 'href="#f-floor_area"' in html
    with ctx.unit_of_work(read_only=True) as uow:
        assert uow.session.scalar(select(Case.id)) is None  # nothing stored


def test_start_a_case_and_see_its_page(client):
    browser = Browser(client)
    browser.login("anna")
    number = _start(browser, "byggetilladelse", BYG_START)
    assert number.startswith("BYG-")
    html = client.get(f"/cases/{number}").get_data(as_text=True)
    assert f"Sag {number} er oprettet." in html
    assert "Carport" in html and "Ansøgning om byggetilladelse" in html and "Havnegade 3" in html
    assert "Anna Jensen" in html and "åben" in html
    assert "Faglig vurdering" in html and "Gruppen Byggesagsteamet" in html  # the open task, for the group
    diagram = re.search(r'data-src="([^"]+)"\s+data-active="([^"]*)"', html)
    assert diagram and diagram.group(2)
    xml = client.get(diagram.group(1))
    assert xml.status_code == 200 and xml.mimetype == "application/xml"
    body = xml.get_data(as_text=True)
    assert 'id="byggetilladelse"' in body
    for element in diagram.group(2).split():
        assert f'id="{element}"' in body
    assert "Sagen oprettet" in html and "Opgave oprettet" in html  # the journal


def test_a_case_page_is_only_for_those_who_may_see_it(client):
    browser = Browser(client)
    browser.login("anna")
    number = _start(browser, "aktindsigt", AKT_START)
    browser.logout()
    browser.login("carl")
    assert client.get(f"/cases/{number}").status_code == 403
    assert client.get(f"/cases/{number}/diagram.bpmn").status_code == 403


def test_group_tasks_list_and_htmx_partial(client):
    browser = Browser(client)
    browser.login("anna")
    number = _start(browser, "byggetilladelse", BYG_START)
    browser.logout()
    browser.login("bo")
    html = client.get("/tasks/group").get_data(as_text=True)
    assert "Faglig vurdering" in html and number in html and "Min gruppes opgaver" in html
    partial = client.get("/tasks/group?sort=-due", headers={"HX-Request": "true", "HX-Target": "task-table"})
    html = partial.get_data(as_text=True)
    assert html.lstrip().startswith('<div id="task-table"') and "<html" not in html and number in html


def test_task_lists_filter_by_case_type_and_due_state(client):
    browser = Browser(client)
    browser.login("anna")
    akt = _start(browser, "aktindsigt", AKT_START)
    html = client.get("/tasks/mine?case_type=aktindsigt").get_data(as_text=True)
    assert akt in html and "1 opgave" in html
    html = client.get("/tasks/mine?case_type=byggetilladelse").get_data(as_text=True)
    assert akt not in html and "Ingen opgaver matcher filtrene." in html
    assert akt not in client.get("/tasks/mine?due=overdue").get_data(as_text=True)
    assert akt in client.get("/tasks/mine?grouping=S%C3%B8ndergade+12&sort=-created&page=x").get_data(as_text=True)
    assert akt not in client.get("/tasks/mine?grouping=Elsewhere").get_data(as_text=True)
    assert client.get("/tasks/mine?sort=nonsense&due=whenever").status_code == 200


def test_claim_from_the_group_list_then_hand_back_and_delegate(client, ctx):
    browser = Browser(client)
    browser.login("anna")
    number = _start(browser, "byggetilladelse", BYG_START)
    task = _open_task(ctx, number)
    browser.logout()
    browser.login("bo")
    response = browser.submit(f"/tasks/{task.id}/claim", {"next": "/tasks/group", "then": f"/tasks/{task.id}"},
                              page_url="/tasks/group")
    assert response.status_code == 302 and response.headers["Location"] == f"/tasks/{task.id}"
    html = client.get(f"/tasks/{task.id}").get_data(as_text=True)
    assert "Opgaven er din nu." in html and "Læg tilbage til gruppen" in html and "Bo Nielsen" in html
    assert number not in client.get("/tasks/group").get_data(as_text=True)
    assert number in client.get("/tasks/mine").get_data(as_text=True)
    # anna's claim comes too late: a clear message, not a crash
    browser.logout()
    browser.login("anna")
    response = browser.submit(f"/tasks/{task.id}/claim", {"next": "/tasks/group"}, page_url="/tasks/group")
    assert response.headers["Location"] == "/tasks/group"
    assert "En anden har ændret opgaven i mellemtiden" in client.get("/tasks/group").get_data(as_text=True)
    browser.logout()
    browser.login("bo")
    response = browser.submit(f"/tasks/{task.id}/delegate", {"colleague": "anna"}, page_url=f"/tasks/{task.id}")
    assert response.status_code == 302
    assert "Opgaven er delegeret til anna." in client.get(f"/tasks/{task.id}").get_data(as_text=True)
    assert "delegeret til anna" in client.get("/tasks/delegated").get_data(as_text=True)
    assert re.search(r"Delegeret af mig <span class=\"count\">1</span>", client.get("/").get_data(as_text=True))
    browser.submit(f"/tasks/{task.id}/take-back", page_url=f"/tasks/{task.id}")
    browser.submit(f"/tasks/{task.id}/unclaim", page_url=f"/tasks/{task.id}")
    assert number in client.get("/tasks/group").get_data(as_text=True)


def test_task_form_is_drawn_from_its_schema_with_instructions(client, ctx):
    browser = Browser(client)
    browser.login("anna")
    number = _start(browser, "aktindsigt", AKT_START)
    task = _open_task(ctx, number)
    html = client.get(f"/tasks/{task.id}").get_data(as_text=True)
    assert "<h1>Registrér anmodning</h1>" in html
    assert "Anmodning om aktindsigt modtaget 2026-11-20" in html  # instructions, filled from the task data
    assert '<input type="checkbox" id="f-acknowledgement_sent" name="acknowledgement_sent" value="true"' in html
    assert '<label for="f-documents_identified">' in html


def test_wrong_values_get_errors_then_the_fixed_form_completes_the_task(client, ctx):
    browser = Browser(client)
    browser.login("anna")
    number = _start(browser, "aktindsigt", AKT_START)
    task = _open_task(ctx, number)
    url = f"/tasks/{task.id}"
    response = browser.submit(url, {"documents_identified": "", "registration_note": "<script>x</script>"})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert error_messages(html)["f-documents_identified"] == ["Udfyld feltet."]
    assert "&lt;script&gt;x&lt;/script&gt;" in html and "<script>x" not in html
    response = browser.submit(url, {"documents_identified": "BYG-2026-000001", "acknowledgement_sent": "true",
                                    "request_sufficiently_specific": "true"})
    assert response.status_code == 302 and response.headers["Location"] == f"/cases/{number}"
    html = client.get(f"/cases/{number}").get_data(as_text=True)
    assert "“Registrér anmodning” er udført." in html
    assert "Opgave udført" in html and "Vurdér anmodning" in html


def test_a_task_completed_meanwhile_gets_a_clear_message(client, ctx):
    browser = Browser(client)
    browser.login("anna")
    number = _start(browser, "aktindsigt", AKT_START)
    task = _open_task(ctx, number)
    page = client.get(f"/tasks/{task.id}").get_data(as_text=True)
    with ctx.unit_of_work() as uow:  # the administrator completes it first
        cases.complete_task(uow, task.id, "admin", {"documents_identified": "x", "acknowledgement_sent": True,
                                                     "request_sufficiently_specific": True})
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    response = client.post(f"/tasks/{task.id}", data={"documents_identified": "mine", "csrf_token": token,
                                                      "acknowledgement_sent": "true"})
    assert response.status_code == 409
    html = response.get_data(as_text=True)
    assert "Administrator har udført opgaven i mellemtiden" in html
    assert 'name="documents_identified"' not in html  # no form for a done task


def test_someone_else_cannot_complete_a_task_not_theirs(client, ctx):
    browser = Browser(client)
    browser.login("anna")
    number = _start(browser, "aktindsigt", AKT_START)
    task = _open_task(ctx, number)
    browser.logout()
    browser.login("bo")
    assert client.get(f"/tasks/{task.id}").status_code == 403  # bo may not even see anna's case


def test_the_case_can_only_close_after_its_gdpr_review(client):
    browser = Browser(client)
    browser.login("anna")
    number = _start(browser, "aktindsigt", AKT_START)
    html = client.get(f"/cases/{number}").get_data(as_text=True)
    assert "Sagen kan lukkes, når dens GDPR-gennemgang er udført." in html
    response = browser.submit(f"/cases/{number}/close", {"reason": "Trukket tilbage"}, page_url=f"/cases/{number}")
    assert response.status_code == 422
    assert "Sagen kan ikke lukkes, før dens GDPR-gennemgang er udført." in response.get_data(as_text=True)


def test_markdown_instructions_cannot_carry_script(app):
    from webapp.markdown import render_markdown

    html = str(render_markdown("**fed** <script>alert(1)</script> [x](javascript:alert(1)) <img src=x onerror=y>"))
    assert "<strong>fed</strong>" in html
    assert "<script>" not in html and "<img" not in html and 'href="javascript:' not in html
