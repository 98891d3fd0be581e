"""The substitutes page: name cover for a date range, see current and planned cover, end it; the
substitute's task list then holds the absent user's tasks."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from engine.localtime import local_today
from engine.models import Substitution
from tests.clock import keep_today
from tests.web import Browser, csrf_token, error_messages, input_value

from .test_web_pages import AKT_START, _open_task, _start

TODAY = local_today()

@pytest.fixture(autouse=True)
def _today_stays(monkeypatch):
    """TODAY was read at import: hold the engine's date there if the run has crossed midnight."""
    keep_today(monkeypatch, TODAY)


def _name(browser: Browser, **fields):
    return browser.submit("/substitutes", fields)


def _count(ctx) -> int:
    with ctx.unit_of_work(read_only=True) as uow:
        return uow.session.scalar(select(func.count()).select_from(Substitution))


def test_the_substitute_sees_and_opens_the_absent_users_task_until_the_cover_ends(client, ctx):
    browser = Browser(client)
    browser.login("anna")
    number = _start(browser, "aktindsigt", AKT_START)
    task = _open_task(ctx, number)
    assert 'href="/substitutes"' in browser.get("/").get_data(as_text=True)  # the front page leads there
    response = _name(browser, substitute="bo", from_date=TODAY.isoformat(),
                     to_date=(TODAY + timedelta(days=6)).isoformat())
    assert response.status_code == 302 and response.headers["Location"] == "/substitutes"
    html = browser.get("/substitutes").get_data(as_text=True)
    assert "bo er stedfortræder for anna" in html
    row = re.search(r'<tr id="substitution-(\d+)">(.*?)</tr>', html, re.S)
    assert "Bo Nielsen" in row.group(2) and "Aktiv" in row.group(2)
    browser.logout()
    browser.login("bo")
    assert number in browser.get("/tasks/mine").get_data(as_text=True)
    page = browser.get(f"/tasks/{task.id}").get_data(as_text=True)
    assert "Udfør opgave" in page  # bo may complete anna's task while covering
    assert "Anna Jensen" in browser.get("/substitutes").get_data(as_text=True)  # bo sees whom he covers
    # anna comes back early and ends the cover
    browser.logout()
    browser.login("anna")
    response = browser.submit(f"/substitutes/{row.group(1)}/end", page_url="/substitutes")
    assert response.status_code == 302
    html = browser.get("/substitutes").get_data(as_text=True)
    assert "Stedfortræderperioden er afsluttet." in html and 'id="substitution-' not in html
    browser.logout()
    browser.login("bo")
    assert number not in browser.get("/tasks/mine").get_data(as_text=True)
    # ending it twice is a clear message, not a crash
    page = browser.get("/substitutes").get_data(as_text=True)
    response = client.post(f"/substitutes/{row.group(1)}/end", data={"csrf_token": csrf_token(page)})
    assert response.status_code == 302
    assert "allerede afsluttet" in browser.get("/substitutes").get_data(as_text=True)


def test_a_planned_substitution_is_listed_as_planned_and_gives_nothing_yet(client, ctx):
    browser = Browser(client)
    browser.login("anna")
    number = _start(browser, "aktindsigt", AKT_START)
    start = TODAY + timedelta(days=3)
    _name(browser, substitute="bo", from_date=start.isoformat(), to_date=(start + timedelta(days=2)).isoformat())
    row = re.search(r'<tr id="substitution-\d+">(.*?)</tr>', browser.get("/substitutes").get_data(as_text=True), re.S)
    assert "Planlagt" in row.group(1) and "Annullér" in row.group(1)
    browser.logout()
    browser.login("bo")
    assert number not in browser.get("/tasks/mine").get_data(as_text=True)


def test_bad_input_is_named_beside_its_field_keeps_what_was_typed_and_stores_nothing(client, ctx):
    browser = Browser(client)
    browser.login("anna")
    week = (TODAY + timedelta(days=7)).isoformat()
    cases = [
        ({"substitute": "nobody", "from_date": TODAY.isoformat(), "to_date": week},
         "sub-substitute", "Der er ingen bruger “nobody”."),
        ({"substitute": "", "from_date": TODAY.isoformat(), "to_date": week}, "sub-substitute", "Vælg en kollega."),
        ({"substitute": "anna", "from_date": TODAY.isoformat(), "to_date": week},
         "sub-substitute", "Ingen kan være sin egen stedfortræder."),
        ({"substitute": "bo", "from_date": "24/12/2026", "to_date": week},
         "sub-from_date", "“24/12/2026” er ikke en dato. Skriv den som 2026-12-24."),
        ({"substitute": "bo", "from_date": week, "to_date": TODAY.isoformat()},
         "sub-to_date", "Sidste dag ligger før første dag."),
        ({"substitute": "bo", "from_date": "2020-01-01", "to_date": "2020-01-31"},
         "sub-to_date", "Sidste dag er allerede passeret."),
    ]
    for fields, input_id, message in cases:
        response = _name(browser, **fields)
        assert response.status_code == 422, fields
        html = response.get_data(as_text=True)
        assert error_messages(html) == {input_id: [message]}, fields
        assert input_value(html, "substitute") == fields["substitute"]
        assert input_value(html, "from_date") == fields["from_date"]
    assert _count(ctx) == 0


def test_only_an_administrator_names_cover_for_someone_else(client, ctx):
    browser = Browser(client)
    browser.login("anna")
    assert 'id="sub-user"' not in browser.get("/substitutes").get_data(as_text=True)
    response = _name(browser, user="bo", substitute="carl", from_date=TODAY.isoformat(), to_date=TODAY.isoformat())
    assert response.status_code == 403
    assert "Kun bo selv eller en administrator" in response.get_data(as_text=True)
    assert _count(ctx) == 0
    browser.logout()
    browser.login("admin")
    html = browser.get("/substitutes").get_data(as_text=True)
    assert '<label for="sub-user">' in html
    response = _name(browser, user="bo", substitute="carl", from_date=TODAY.isoformat(), to_date=TODAY.isoformat())
    assert response.status_code == 302
    html = browser.get("/substitutes").get_data(as_text=True)
    assert "Bo Nielsen" in html and "Carl Hansen" in html and "Afslut nu" in html
    assert _count(ctx) == 1
