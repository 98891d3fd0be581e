"""The bell, the notifications page, and incidents with their retry button, through the web app.

On real SQLite and PostgreSQL databases (the `client` fixture); Celery runs eagerly here, so a
retried service task runs inside the request. The same with a real worker process and a real
browser is tests/e2e/test_browser_background.py.
"""
from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from engine.models import Incident, Notification, User
from engine.services import cases, notifications
from tests.background_models import service_bpmn
from tests.integration.test_background import smtp_sink, with_settings  # noqa: F401 - smtp_sink is a fixture
from tests.models import install
from tests.web import Browser, csrf_token

UNREAD = re.compile(r'data-unread="(\d+)"')


def bell(html: str) -> int:
    match = UNREAD.search(html)
    assert match, "the page has no bell"
    return int(match.group(1))


def notify(ctx, username: str, source: str, title: str, case_id: int | None = None) -> int:
    with ctx.unit_of_work() as uow:
        user_id = uow.session.scalar(select(User.id).where(User.username == username))
        notifications.notify(uow.session, [user_id], "mention", source, title, case_id=case_id)
        uow.commit()
        return uow.session.scalar(select(Notification.id).where(Notification.source == source,
                                                                 Notification.user_id == user_id))


def unread(ctx, username: str) -> int:
    with ctx.unit_of_work(read_only=True) as uow:
        return notifications.unread_count(uow.session, username)


def test_the_bell_counts_my_unread_notifications_and_the_page_marks_them_read(client, ctx):
    first = notify(ctx, "anna", "t:1", "Bo nævnte dig i en sag")
    notify(ctx, "anna", "t:2", "Ny opgave: Vurder ansøgning")
    theirs = notify(ctx, "bo", "t:3", "Til Bo")
    browser = Browser(client)
    browser.login("anna")
    assert bell(browser.get("/").get_data(as_text=True)) == 2
    page = browser.get("/notifications/").get_data(as_text=True)
    assert "Bo nævnte dig i en sag" in page and "Ny opgave: Vurder ansøgning" in page and "Til Bo" not in page

    response = browser.submit("/notifications/read", {"id": str(first)}, page_url="/notifications/")
    assert response.status_code == 302
    assert unread(ctx, "anna") == 1
    assert bell(browser.get("/notifications/").get_data(as_text=True)) == 1
    unread_page = browser.get("/notifications/?show=unread").get_data(as_text=True)
    assert "Ny opgave: Vurder ansøgning" in unread_page and "Bo nævnte dig i en sag" not in unread_page

    # someone else's notification is not mine to mark
    browser.submit("/notifications/read", {"id": str(theirs)}, page_url="/notifications/")
    assert unread(ctx, "bo") == 1 and unread(ctx, "anna") == 1

    browser.submit("/notifications/read", {"all": "1"}, page_url="/notifications/")
    assert unread(ctx, "anna") == 0 and unread(ctx, "bo") == 1
    assert bell(browser.get("/").get_data(as_text=True)) == 0


def test_a_bad_notification_id_is_refused_naming_the_field_and_changes_nothing(client, ctx):
    notify(ctx, "anna", "t:1", "En notifikation")
    browser = Browser(client)
    browser.login("anna")
    response = browser.submit("/notifications/read", {"id": "alle"}, page_url="/notifications/",
                              headers={"Accept": "application/json"})
    assert response.status_code == 422
    assert "notification ids must be numbers" in response.get_json()["detail"]
    assert response.get_json()["field"] == "ids"
    assert unread(ctx, "anna") == 1


def test_marking_read_needs_the_form_token(client, ctx):
    notify(ctx, "anna", "t:1", "En notifikation")
    browser = Browser(client)
    browser.login("anna")
    assert client.post("/notifications/read", data={"all": "1"}).status_code == 400
    assert unread(ctx, "anna") == 1


# --- incidents -------------------------------------------------------------------------------------

def open_failing_case(ctx) -> str:
    """A case whose mail step fails at once: no SMTP server is configured (a permanent error)."""
    install(ctx, "servicing", service_bpmn("send_mail", {"to": "'borger@example.dk'", "subject": "'Kvittering'"}),
            "servicing", "SRV")
    with ctx.unit_of_work() as uow:
        return cases.open_case(uow, "servicing", "anna", "Kvittering")["number"]


def incident_rows(ctx) -> list[tuple]:
    with ctx.unit_of_work(read_only=True) as uow:
        return uow.session.execute(select(Incident.id, Incident.status, Incident.element_id)).all()


def test_the_case_page_shows_an_incident_that_its_caseworker_retries_with_the_button(app, client, ctx, smtp_sink):
    number = open_failing_case(ctx)
    [(incident_id, status, element)] = incident_rows(ctx)
    assert (status, element) == ("open", "Service_Call")
    browser = Browser(client)
    browser.login("anna")
    page = browser.get(f"/cases/{number}").get_data(as_text=True)
    assert 'id="incidents"' in page and "Service_Call" in page and "send_mail" in page
    assert "no SMTP server is configured" in page
    assert f'action="/incidents/{incident_id}/retry"' in page
    assert bell(page) == 1  # the incident notified the caseworker

    with_settings(ctx, smtp_host="127.0.0.1", smtp_port=smtp_sink.port)  # the cause is fixed
    response = browser.submit(f"/incidents/{incident_id}/retry", {"next": f"/cases/{number}"},
                              page_url=f"/cases/{number}")
    assert response.status_code == 302 and response.headers["Location"] == f"/cases/{number}"
    assert [m.rcpt_tos for m in smtp_sink.messages] == [["borger@example.dk"]]
    assert incident_rows(ctx) == [(incident_id, "resolved", "Service_Call")]
    page = browser.get(f"/cases/{number}").get_data(as_text=True)
    assert 'id="incidents"' not in page and "Videre" in page  # the case moved on to its next task

    # retrying a resolved incident is a conflict and changes nothing
    response = client.post(f"/incidents/{incident_id}/retry", data={"csrf_token": csrf_token(page)},
                           headers={"Accept": "application/json"})
    assert response.status_code == 409 and f"incident {incident_id} is resolved" in response.get_json()["detail"]
    assert len(smtp_sink.messages) == 1 and incident_rows(ctx) == [(incident_id, "resolved", "Service_Call")]


def test_only_the_caseworker_owners_and_administrators_may_see_and_retry_an_incident(client, ctx):
    number = open_failing_case(ctx)
    [(incident_id, _status, _element)] = incident_rows(ctx)
    browser = Browser(client)
    browser.login("bo")
    listing = browser.get("/incidents/").get_data(as_text=True)
    assert number not in listing and "Service_Call" not in listing
    response = browser.submit(f"/incidents/{incident_id}/retry", page_url="/incidents/")
    assert response.status_code == 403
    assert incident_rows(ctx) == [(incident_id, "open", "Service_Call")]
    assert browser.submit("/incidents/999999/retry", page_url="/incidents/").status_code == 404
    assert client.post(f"/incidents/{incident_id}/retry").status_code == 400  # no form token
    assert incident_rows(ctx) == [(incident_id, "open", "Service_Call")]

    browser.logout()
    browser.login("admin")
    listing = browser.get("/incidents/").get_data(as_text=True)
    assert number in listing and "Service_Call" in listing and "no SMTP server is configured" in listing
    response = browser.submit(f"/incidents/{incident_id}/retry", {"next": "/incidents/"}, page_url="/incidents/")
    assert response.status_code == 302
    # no SMTP server still: the retry ran, failed for good again and reopened the same incident
    assert incident_rows(ctx) == [(incident_id, "open", "Service_Call")]


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/"])
def test_the_retry_returns_only_to_a_page_of_this_site(client, ctx, target):
    open_failing_case(ctx)
    [(incident_id, _status, _element)] = incident_rows(ctx)
    browser = Browser(client)
    browser.login("admin")
    response = browser.submit(f"/incidents/{incident_id}/retry", {"next": target}, page_url="/incidents/")
    assert response.headers["Location"] == "/incidents/"
