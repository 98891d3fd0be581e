"""The case-type owner's pages through the web app (CSRF on, real databases): who may see them, the
JSON endpoints the modeler uses, publishing refused with the findings in Danish, the move page."""
from __future__ import annotations

import re

from tests.integration.modeling_helpers import linear, open_case
from tests.web import Browser, csrf_token


def owner(client) -> Browser:
    browser = Browser(client)
    browser.login("dorte")
    return browser


def new_draft(browser: Browser, key: str = "aktindsigt") -> str:
    response = browser.submit(f"/case-types/{key}/drafts", page_url=f"/case-types/{key}")
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    return response.headers["Location"]


def token(browser: Browser, url: str) -> str:
    return csrf_token(browser.get(url).get_data(as_text=True))


def test_only_owners_see_the_case_type_pages_and_the_menu_entry(client):
    browser = Browser(client)
    browser.login("carl")  # owns no case type
    assert "/case-types/" not in browser.get("/").get_data(as_text=True)
    assert browser.get("/case-types/aktindsigt").status_code == 403
    assert browser.get("/case-types/").status_code == 200  # an empty list, not an error
    browser.logout()
    browser.login("anna")  # in Byggesagsteamet, which owns byggetilladelse only
    assert browser.get("/case-types/byggetilladelse").status_code == 200
    assert browser.get("/case-types/aktindsigt").status_code == 403
    browser.logout()
    browser.login("dorte")
    html = browser.get("/").get_data(as_text=True)
    assert 'href="/case-types/"' in html and "Sagstyper" in html
    html = browser.get("/case-types/aktindsigt").get_data(as_text=True)
    assert "Anmodning om aktindsigt" in html and 'data-version="1"' in html


def test_the_modeler_saves_through_json_and_answers_with_danish_findings(client):
    browser = owner(client)
    editor = new_draft(browser)
    html = browser.get(editor).get_data(as_text=True)
    assert 'id="modeler"' in html and 'data-main-file="aktindsigt.bpmn"' in html
    assert "'unsafe-inline'" in browser.get(editor).headers["Content-Security-Policy"]
    assert "'unsafe-inline'" not in browser.get("/case-types/aktindsigt").headers["Content-Security-Policy"]
    xml = browser.get(f"{editor}/files/aktindsigt.bpmn").get_data()
    broken = xml.replace(b'calledElement="gdpr_review"', b'calledElement="gdpr_reveiw"')
    headers = {"X-CSRFToken": token(browser, editor), "Accept": "application/json"}
    # without the CSRF header the save is refused
    assert browser.client.post(f"{editor}/files", json={"files": {}}).status_code == 400
    saved = browser.client.post(f"{editor}/files", json={"files": {"aktindsigt.bpmn": broken.decode()}},
                                headers=headers).get_json()
    finding = next(f for f in saved["lint"]["findings"] if f["rule"] == "call-unknown")
    assert finding["element"] == "CallActivity_GdprReview"
    assert "kalder byggeklodsen 'gdpr_reveiw', som ikke findes" in finding["display"]
    bad = browser.client.post(f"{editor}/files", json={"files": {"../x.bpmn": "<x/>"}}, headers=headers)
    assert bad.status_code == 422 and bad.get_json()["field"] == "file"
    # publishing is refused, with the first finding in the flash
    response = browser.client.post(f"{editor}/publish", data={"csrf_token": headers["X-CSRFToken"]})
    assert response.status_code == 302
    page = browser.get(response.headers["Location"]).get_data(as_text=True)
    assert "ikke udgivet" in page and "gdpr_reveiw" in page


def test_form_preview_draws_the_schema_or_says_why_not(client):
    browser = owner(client)
    headers = {"X-CSRFToken": token(browser, "/case-types/aktindsigt")}
    html = browser.client.post("/case-types/form-preview", headers=headers,
                               data='{"type": "object", "properties": {"n": {"type": "string", "title": "Navn"}}}'
                               ).get_data(as_text=True)
    assert "Navn" in html and "<input" in html
    html = browser.client.post("/case-types/form-preview", headers=headers, data="{broken").get_data(as_text=True)
    assert "kan ikke vises" in html


def test_moving_cases_from_the_browser(client, ctx):
    from tests.integration.modeling_helpers import install_flow, publish
    install_flow(ctx)
    number = open_case(ctx)
    publish(ctx, "flow", linear("Task_A", "Task_New", "Task_B"))
    browser = owner(client)
    html = browser.get("/case-types/flow/migrate?from=1&to=2").get_data(as_text=True)
    assert f'data-case="{number}" data-movable="yes"' in html
    response = browser.submit("/case-types/flow/migrate", {"from": "1", "to": "2"},
                              page_url="/case-types/flow/migrate?from=1&to=2")
    page_url = response.headers["Location"]
    page = browser.get(page_url).get_data(as_text=True)
    step = re.search(r'hx-post="([^"]+/step)"', page).group(1)
    progress = browser.client.post(step, headers={"X-CSRFToken": csrf_token(page), "HX-Request": "true"})
    assert 'data-status="finished"' in progress.get_data(as_text=True)
    assert progress.headers["HX-Trigger"] == "migration-finished"
    assert f'data-case="{number}" data-outcome="moved"' in browser.get(page_url).get_data(as_text=True)
