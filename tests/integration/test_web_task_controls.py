"""The task page's controls: assign, delegate and take back, due and follow-up dates, priority."""
from __future__ import annotations

import re
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select

from engine.models import Case, CaseTask, JournalEvent
from engine.services import tasks
from tests.web import Browser, csrf_token, error_messages, input_value

from .test_web_pages import BYG_START, _open_task, _start

DANISH = ZoneInfo("Europe/Copenhagen")


def _row_version(html: str) -> str:
    match = re.search(r'name="row_version" value="(\d+)"', html)
    assert match, "the task page's controls carry no row_version"
    return match.group(1)


def _post(browser: Browser, task_id: str, action: str, data: dict):
    """Submit one control of the task page as a browser would: with the page's token and row_version."""
    page = browser.get(f"/tasks/{task_id}").get_data(as_text=True)
    return browser.client.post(f"/tasks/{task_id}/{action}", data={
        **data, "csrf_token": csrf_token(page), "row_version": _row_version(page)})


def _task_row(ctx, task_id: str) -> CaseTask:
    with ctx.unit_of_work(read_only=True) as uow:
        task = uow.session.get(CaseTask, task_id)
        uow.session.expunge(task)
        return task


def _events(ctx, number: str, kind: str) -> list[dict]:
    with ctx.unit_of_work(read_only=True) as uow:
        case_id = uow.session.scalar(select(Case.id).where(Case.number == number))
        return [e.data for e in uow.session.scalars(select(JournalEvent).where(
            JournalEvent.case_id == case_id, JournalEvent.kind == kind).order_by(JournalEvent.seq))]


def _bo_holds_a_task(client, ctx) -> tuple[Browser, str, str]:
    browser = Browser(client)
    browser.login("anna")
    number = _start(browser, "byggetilladelse", BYG_START)
    task = _open_task(ctx, number)
    browser.logout()
    browser.login("bo")
    assert _post(browser, task.id, "claim", {}).status_code == 302
    return browser, number, task.id


def test_the_plan_controls_show_the_current_plan_with_labels(client, ctx):
    browser, number, task_id = _bo_holds_a_task(client, ctx)
    html = browser.get(f"/tasks/{task_id}").get_data(as_text=True)
    assert '<h2 id="task-plan-title">Planlægning</h2>' in html
    for input_id in ("plan-due", "plan-follow-up", "plan-priority", "assign-colleague", "delegate-colleague"):
        assert f'<label for="{input_id}">' in html and f'id="{input_id}"' in html
    assert input_value(html, "priority") == "50"
    due = _task_row(ctx, task_id).due_at  # the model's due date, as a local day
    assert input_value(html, "due") == (due.astimezone(DANISH).date().isoformat() if due else "")
    assert input_value(html, "follow_up") == ""


def test_set_due_date_follow_up_date_and_priority_and_the_journal_records_them(client, ctx):
    browser, number, task_id = _bo_holds_a_task(client, ctx)
    response = _post(browser, task_id, "due", {"due": "2031-03-14"})
    assert response.status_code == 302 and response.headers["Location"] == f"/tasks/{task_id}"
    assert _post(browser, task_id, "follow-up", {"follow_up": "2031-03-07"}).status_code == 302
    assert _post(browser, task_id, "priority", {"priority": "80"}).status_code == 302
    task = _task_row(ctx, task_id)
    assert task.due_at.astimezone(DANISH) == datetime(2031, 3, 14, 23, 59, 59, tzinfo=DANISH)
    assert task.follow_up_at.astimezone(DANISH).date().isoformat() == "2031-03-07"
    assert task.priority == 80
    html = browser.get(f"/tasks/{task_id}").get_data(as_text=True)
    assert "Prioriteten er 80." in html
    assert input_value(html, "due") == "2031-03-14" and input_value(html, "follow_up") == "2031-03-07"
    assert input_value(html, "priority") == "80"
    assert [e["due_at"][:10] for e in _events(ctx, number, "task_due_date_set")] == ["2031-03-14"]
    assert _events(ctx, number, "task_priority_set")[-1]["priority"] == 80
    # An empty date clears it.
    assert _post(browser, task_id, "due", {"due": ""}).status_code == 302
    assert _task_row(ctx, task_id).due_at is None
    assert "Opgaven har ingen frist nu." in browser.get(f"/tasks/{task_id}").get_data(as_text=True)


def test_a_date_in_the_wrong_form_is_named_beside_its_field_and_changes_nothing(client, ctx):
    browser, number, task_id = _bo_holds_a_task(client, ctx)
    before = _task_row(ctx, task_id)
    response = _post(browser, task_id, "due", {"due": "14/3-31"})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert error_messages(html) == {"plan-due": ["“14/3-31” er ikke en dato. Skriv den som 2026-12-24."]}
    assert input_value(html, "due") == "14/3-31"  # what was typed stays
    assert 'aria-invalid="true"' in html
    response = _post(browser, task_id, "follow-up", {"follow_up": "next week"})
    assert response.status_code == 422 and "plan-follow-up" in error_messages(response.get_data(as_text=True))
    for bad in ("101", "-1", "high", ""):
        response = _post(browser, task_id, "priority", {"priority": bad})
        assert response.status_code == 422, bad
        assert error_messages(response.get_data(as_text=True)) == {
            "plan-priority": ["Skriv et helt tal fra 0 (lavest) til 100 (højest)."]}
    after = _task_row(ctx, task_id)
    assert (after.due_at, after.follow_up_at, after.priority) == (before.due_at, before.follow_up_at, before.priority)
    assert _events(ctx, number, "task_due_date_set") == [] and _events(ctx, number, "task_priority_set") == []


def test_assign_to_an_unknown_user_is_named_beside_the_colleague_field(client, ctx):
    browser, number, task_id = _bo_holds_a_task(client, ctx)
    response = _post(browser, task_id, "assign", {"colleague": "nobody"})
    assert response.status_code == 422
    assert error_messages(response.get_data(as_text=True)) == {"assign-colleague": ["Der er ingen bruger “nobody”."]}
    response = _post(browser, task_id, "delegate", {"colleague": "bo"})  # bo holds it already
    assert response.status_code == 422
    assert "delegate-colleague" in error_messages(response.get_data(as_text=True))
    with ctx.unit_of_work(read_only=True) as uow:
        task = uow.session.get(CaseTask, task_id)
        assert (task.assignee.username, task.owner_id) == ("bo", None)


def test_assign_delegate_and_take_back_from_the_task_page(client, ctx):
    browser, number, task_id = _bo_holds_a_task(client, ctx)
    assert _post(browser, task_id, "delegate", {"colleague": "anna"}).status_code == 302
    html = browser.get(f"/tasks/{task_id}").get_data(as_text=True)
    assert "Opgaven er delegeret til anna." in html and "Tag opgaven tilbage" in html
    assert _post(browser, task_id, "take-back", {}).status_code == 302
    assert _post(browser, task_id, "assign", {"colleague": "anna"}).status_code == 302
    with ctx.unit_of_work(read_only=True) as uow:
        task = uow.session.get(CaseTask, task_id)
        assert (task.assignee.username, task.owner_id) == ("anna", None)
    kinds = [e for e in ("task_delegated", "task_taken_back", "task_assigned") if _events(ctx, number, e)]
    assert kinds == ["task_delegated", "task_taken_back", "task_assigned"]


def test_a_control_on_a_stale_page_gets_a_conflict_message_and_changes_nothing(client, ctx):
    browser, number, task_id = _bo_holds_a_task(client, ctx)
    page = browser.get(f"/tasks/{task_id}").get_data(as_text=True)
    with ctx.unit_of_work() as uow:  # meanwhile the administrator hands it to anna
        tasks.assign_task(uow, task_id, "admin", "anna")
    response = client.post(f"/tasks/{task_id}/priority", data={
        "priority": "90", "csrf_token": csrf_token(page), "row_version": _row_version(page)})
    assert response.status_code == 302 and response.headers["Location"] == f"/tasks/{task_id}"
    html = browser.get(f"/tasks/{task_id}").get_data(as_text=True)
    assert "En anden har ændret opgaven i mellemtiden" in html
    assert _task_row(ctx, task_id).priority == 50
    assert _events(ctx, number, "task_priority_set") == []


def test_someone_who_may_not_plan_the_task_sees_no_controls_and_is_refused(client, ctx):
    browser, number, task_id = _bo_holds_a_task(client, ctx)
    browser.logout()
    browser.login("carl")  # not in the group, not the holder, not an administrator
    assert browser.get(f"/tasks/{task_id}").status_code == 403  # carl may not even see the case
    page = browser.get("/").get_data(as_text=True)
    response = client.post(f"/tasks/{task_id}/priority", data={"priority": "90", "csrf_token": csrf_token(page)})
    assert response.status_code == 302
    assert _task_row(ctx, task_id).priority == 50
