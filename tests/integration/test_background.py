"""Background work in the embedded (eager) mode, on SQLite and PostgreSQL: timers of every kind,
case-type schedules, service tasks with retries and incidents, notifications and their mail."""
from __future__ import annotations

import socket
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
import time
from dataclasses import replace
from datetime import timedelta

import pytest
from aiosmtpd.controller import Controller
from flask import Flask
from sqlalchemy import func, select, update

from engine.db import utcnow
from engine.errors import Conflict, NotAllowed
from engine.models import Case, CaseTypeSchedule, Incident, JournalEvent, Notification, ServiceJob
from engine.services import cases, incidents, notifications, queries, schedules, service_tasks
from engine.services.journal import verify_journal
from tests.background_models import reminder_bpmn, scheduled_bpmn, service_bpmn, wait_bpmn
from tests.models import GDPR_CALL, deadline_bpmn, definitions, flow, install
from workflows.celery_app import celery_init_app
from workflows.ticker import Ticker


@pytest.fixture
def celery(ctx):
    """The eager Celery app, bound to a Flask app that carries the test's engine context."""
    app = Flask("sagsgang-test")
    app.extensions["sagsgang"] = ctx
    return celery_init_app(app, ctx)


def run(celery, name, **kwargs):
    return celery.tasks[name].apply_async(kwargs=kwargs).get()


def overview(ctx, number):
    with ctx.unit_of_work(read_only=True) as uow:
        return queries.case_overview(uow.session, number, "admin")


def states(ctx, number):
    return sorted((t["element_id"], t["state"]) for t in overview(ctx, number)["tasks"])


def kinds(ctx, number):
    return [e["kind"] for e in overview(ctx, number)["journal"]]


def open_case(ctx, key, user="anna", caseworker=None, **kwargs):
    with ctx.unit_of_work() as uow:
        return cases.open_case(uow, key, user, "Sag", caseworker=caseworker, **kwargs)["number"]


def wait_until_due(ctx, number, timeout=5.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if overview(ctx, number)["next_timer_at"] and \
                overview(ctx, number)["next_timer_at"] <= utcnow().isoformat():
            return
        time.sleep(0.05)
    raise AssertionError(f"no timer of {number} became due")


# --- timers ----------------------------------------------------------------------------------------

def test_a_timer_not_yet_due_moves_nothing(ctx, celery):
    install(ctx, "deadline", deadline_bpmn("PT1H"), "deadline", "DL")
    number = open_case(ctx, "deadline")
    assert run(celery, "sagsgang.fire_due_timers") == 0
    assert states(ctx, number) == [("Task_Handle", "open")]


def test_interrupting_boundary_timer_escalates_once(ctx, celery):
    install(ctx, "deadline", deadline_bpmn("PT0.3S"), "deadline", "DL")
    number = open_case(ctx, "deadline")
    wait_until_due(ctx, number)
    assert run(celery, "sagsgang.fire_due_timers") == 1
    assert run(celery, "sagsgang.fire_due_timers") == 0  # a second sweep finds nothing
    assert states(ctx, number) == [("Task_Escalate", "open"), ("Task_Handle", "cancelled")]
    assert kinds(ctx, number).count("timer_fired") == 1


def test_a_timer_due_long_ago_fires_once_on_the_next_sweep(ctx, celery):
    install(ctx, "deadline", deadline_bpmn("PT0.3S"), "deadline", "DL")
    number = open_case(ctx, "deadline")
    wait_until_due(ctx, number)
    # As if no worker ran for a week: the index says so, the workflow's timer is long past too.
    with ctx.unit_of_work() as uow:
        uow.session.execute(update(Case).where(Case.number == number)
                            .values(next_timer_at=utcnow() - timedelta(days=7)))
        uow.commit()
    assert run(celery, "sagsgang.fire_due_timers") == 1
    assert run(celery, "sagsgang.fire_due_timers") == 0
    assert kinds(ctx, number).count("timer_fired") == 1
    assert ("Task_Escalate", "open") in states(ctx, number)


def test_non_interrupting_cycle_timer_reminds_and_the_task_stays(ctx, celery):
    install(ctx, "reminder", reminder_bpmn("R2/PT0.2S"), "reminder", "REM")
    number = open_case(ctx, "reminder")
    sweeps = 0
    while overview(ctx, number)["next_timer_at"] is not None and sweeps < 5:
        wait_until_due(ctx, number)
        assert run(celery, "sagsgang.fire_due_timers") == 1
        sweeps += 1
    # Both cycles used up: two reminders (one sweep fires both when the second is due by then).
    assert overview(ctx, number)["next_timer_at"] is None
    assert states(ctx, number) == [("Task_Handle", "open"), ("Task_Remind", "open"), ("Task_Remind", "open")]
    assert kinds(ctx, number).count("timer_fired") == sweeps


def test_intermediate_timer_event_moves_the_case_on(ctx, celery):
    install(ctx, "waiting", wait_bpmn("PT0.3S"), "waiting", "WT")
    number = open_case(ctx, "waiting")
    assert states(ctx, number) == []
    wait_until_due(ctx, number)
    run(celery, "sagsgang.fire_due_timers")
    assert states(ctx, number) == [("Task_GdprReview", "open")]


def test_two_threads_racing_for_one_due_timer_fire_it_once(ctx):
    install(ctx, "deadline", deadline_bpmn("PT0.2S"), "deadline", "DL")
    number = open_case(ctx, "deadline")
    wait_until_due(ctx, number)
    with ctx.unit_of_work(read_only=True) as uow:
        case_id = uow.session.scalar(select(Case.id).where(Case.number == number))
    results, barrier = [], threading.Barrier(4)

    def fire():
        barrier.wait()
        try:
            with ctx.unit_of_work() as uow:
                results.append(cases.fire_timers(uow, case_id)["fired"])
        except Conflict:
            results.append("conflict")

    threads = [threading.Thread(target=fire) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results.count(True) == 1
    assert kinds(ctx, number).count("timer_fired") == 1
    with ctx.unit_of_work(read_only=True) as uow:
        case = uow.session.scalar(select(Case).where(Case.number == number))
        assert verify_journal(uow.session, case.id, case.journal_head) == []


def test_a_timer_whose_case_fails_becomes_an_incident_not_a_retry_every_sweep(ctx, celery):
    install(ctx, "deadline", deadline_bpmn("PT0.2S"), "deadline", "DL",
            lanes={"Sagsbehandler": {"expression": "caseworker"}})
    number = open_case(ctx, "deadline")
    wait_until_due(ctx, number)
    with ctx.unit_of_work(read_only=True) as uow:
        case_id = uow.session.scalar(select(Case.id).where(Case.number == number))
    original = cases.fire_timers

    def broken(uow, case_id, actor="system"):
        raise cases.WorkflowError("advancing the workflow failed at Task_Escalate", element="Task_Escalate")

    cases.fire_timers = broken
    try:
        run(celery, "sagsgang.fire_due_timers")
        run(celery, "sagsgang.fire_due_timers")
    finally:
        cases.fire_timers = original
    with ctx.unit_of_work(read_only=True) as uow:
        found = [(i.id, i.kind, i.status, i.element_id)
                 for i in uow.session.scalars(select(Incident).where(Incident.case_id == case_id))]
    assert [f[1:] for f in found] == [("timer", "open", "Task_Escalate")]
    with ctx.unit_of_work() as uow:
        incidents.retry_incident(uow, found[0][0], "anna")  # resolves it and fires the timer again
    assert kinds(ctx, number).count("timer_fired") == 1
    assert ("Task_Escalate", "open") in states(ctx, number)


# --- schedules (timer start events) -------------------------------------------------------------------

def test_a_timer_start_event_opens_cases_on_its_schedule(ctx, celery):
    install(ctx, "scheduled", scheduled_bpmn("R/PT1H"), "scheduled", "SCH")
    assert run(celery, "sagsgang.run_schedules") == []  # first run is an hour away
    with ctx.unit_of_work(read_only=True) as uow:
        row = uow.session.scalar(select(CaseTypeSchedule))
        assert (row.element_id, row.caseworker, row.runs_left) == ("Start_Timer", "anna", -1)
        first = row.next_run_at
    assert timedelta(minutes=59) < first - utcnow() <= timedelta(hours=1)
    # A worker that was away for five hours opens one case, not five, and the next run is in the future.
    with ctx.unit_of_work() as uow:
        uow.session.execute(update(CaseTypeSchedule).values(next_run_at=utcnow() - timedelta(hours=5, minutes=1)))
        uow.commit()
    opened = run(celery, "sagsgang.run_schedules")
    assert len(opened) == 1 and opened[0]["opened"].startswith("SCH-")
    assert run(celery, "sagsgang.run_schedules") == []
    number = opened[0]["opened"]
    case = overview(ctx, number)
    assert case["caseworker"] == "anna" and case["title"].startswith("Tilsyn ")
    assert states(ctx, number) == [("Task_Inspect", "open")]  # the case itself does not wait again
    with ctx.unit_of_work(read_only=True) as uow:
        assert uow.session.scalar(select(CaseTypeSchedule.next_run_at)) > utcnow()


def test_a_schedule_without_a_caseworker_reports_why_and_opens_nothing(ctx, celery):
    install(ctx, "scheduled", scheduled_bpmn("R/PT1H", caseworker=""), "scheduled", "SCH")
    run(celery, "sagsgang.run_schedules")
    with ctx.unit_of_work(read_only=True) as uow:
        assert "needs a spiffworkflow property 'caseworker'" in uow.session.scalar(select(CaseTypeSchedule.last_error))
        assert schedules.due_schedule_ids(uow, utcnow() + timedelta(days=1)) == []
        assert uow.session.scalar(select(func.count(Case.id))) == 0


# --- service tasks ---------------------------------------------------------------------------------

class SmtpSink:
    """A local SMTP server that keeps what it receives."""

    def __init__(self):
        self.messages = []
        self.port = free_port()

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(envelope)
        return "250 OK"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def smtp_sink():
    sink = SmtpSink()
    controller = Controller(sink, hostname="127.0.0.1", port=sink.port)
    controller.start()
    yield sink
    controller.stop()


def with_settings(ctx, **changes):
    ctx.settings = replace(ctx.settings, **changes)
    ctx.runtime.settings = ctx.settings


def test_a_service_task_waits_for_a_worker_and_then_moves_the_case(ctx, celery, smtp_sink):
    with_settings(ctx, smtp_host="127.0.0.1", smtp_port=smtp_sink.port)
    install(ctx, "servicing", service_bpmn("send_mail", {"to": "requester", "subject": "'Kvittering'",
                                                         "body": "'Vi har modtaget ' + case['title']"}),
            "servicing", "SRV")
    celery.conf.task_always_eager = False  # hold the queued message back: look at the waiting case
    ctx.runtime.dispatch = None
    number = open_case(ctx, "servicing", data={"requester": "borger@example.dk"})
    assert states(ctx, number) == []
    assert "service_task_started" in kinds(ctx, number)
    with ctx.unit_of_work(read_only=True) as uow:
        job = uow.session.scalar(select(ServiceJob))
        assert (job.operator, job.status, job.params["to"]) == ("send_mail", "pending", "borger@example.dk")
    celery.conf.task_always_eager = True
    assert run(celery, "sagsgang.dispatch_pending_jobs") == 1
    assert states(ctx, number) == [("Task_Next", "open")]
    assert [m.rcpt_tos for m in smtp_sink.messages] == [["borger@example.dk"]]
    assert b"Subject: Kvittering" in smtp_sink.messages[0].content
    with ctx.unit_of_work() as uow:
        data = cases.workflow_data(uow, number)
    assert data["service_result"]["sent"] is True
    assert run(celery, "sagsgang.dispatch_pending_jobs") == 0  # done: never sent twice


def test_a_failing_service_task_retries_with_backoff_then_becomes_an_incident_that_can_be_retried(
        ctx, celery, smtp_sink):
    with_settings(ctx, smtp_host="127.0.0.1", smtp_port=1, service_task_retries=3, service_task_backoff=0.05)
    install(ctx, "servicing", service_bpmn("send_mail", {"to": "'a@example.dk'", "subject": "'Hej'"}),
            "servicing", "SRV")
    number = open_case(ctx, "servicing")  # eager: the first attempt runs right after the commit
    for _ in range(10):
        time.sleep(0.15)
        run(celery, "sagsgang.dispatch_pending_jobs")
    with ctx.unit_of_work(read_only=True) as uow:
        job = uow.session.scalar(select(ServiceJob))
        assert (job.status, job.attempts) == ("failed", 3)
        assert "not reachable" in job.last_error
    with ctx.unit_of_work() as uow:
        found = incidents.list_incidents(uow, "anna")
    assert [(i["case"], i["element_id"], i["operator"], i["status"]) for i in found] == [
        (number, "Service_Call", "send_mail", "open")]
    assert states(ctx, number) == []  # the case waits; nothing is half done
    with ctx.unit_of_work() as uow, pytest.raises(NotAllowed):
        incidents.retry_incident(uow, found[0]["id"], "bo")
    with_settings(ctx, smtp_port=smtp_sink.port)
    with ctx.unit_of_work() as uow:
        assert incidents.retry_incident(uow, found[0]["id"], "anna")["status"] == "retrying"
    assert states(ctx, number) == [("Task_Next", "open")]
    with ctx.unit_of_work() as uow:
        assert incidents.list_incidents(uow, "anna", status="resolved")[0]["id"] == found[0]["id"]
    journal = kinds(ctx, number)
    assert journal.count("incident_opened") == 1 and journal.count("service_task_completed") == 1
    with ctx.unit_of_work(read_only=True) as uow:
        case = uow.session.scalar(select(Case).where(Case.number == number))
        assert verify_journal(uow.session, case.id, case.journal_head) == []


def test_an_operator_gone_since_publishing_is_an_incident_at_once(ctx, celery, monkeypatch):
    # Publishing refuses unknown operators (test_workers_operators.py); an installation can still
    # drop a handler that published versions use.
    monkeypatch.setitem(service_tasks.HANDLERS, "fax_it", lambda call, settings: {})
    install(ctx, "servicing", service_bpmn("fax_it", {}), "servicing", "SRV")
    monkeypatch.delitem(service_tasks.HANDLERS, "fax_it")
    number = open_case(ctx, "servicing")
    with ctx.unit_of_work() as uow:
        found = incidents.list_incidents(uow, "admin")
    assert len(found) == 1 and "unknown operator 'fax_it'" in found[0]["message"]
    assert found[0]["attempts"] == 1 and found[0]["case"] == number


def test_a_boundary_timer_on_a_waiting_service_task_cancels_its_job(ctx, celery):
    install(ctx, "servicing", service_bpmn("send_mail", {"to": "'a@example.dk'", "subject": "'x'"},
                                           with_deadline="PT0.2S"), "servicing", "SRV")
    ctx.runtime.dispatch = None  # no worker runs it in time
    number = open_case(ctx, "servicing")
    wait_until_due(ctx, number)
    run(celery, "sagsgang.fire_due_timers")
    assert states(ctx, number) == [("Task_Late", "open")]
    with ctx.unit_of_work(read_only=True) as uow:
        job_id = uow.session.scalar(select(ServiceJob.id))
    assert run(celery, "sagsgang.run_service_job", job_id=job_id) == {"job_id": job_id, "ran": False}
    with ctx.unit_of_work(read_only=True) as uow:
        assert uow.session.get(ServiceJob, job_id).status == "cancelled"


def test_service_handlers_report_bad_parameters_as_permanent(ctx):
    call = service_tasks.ServiceCall(1, 1, "X-1", "Service_Call", "http_request", {"url": "ftp://x"}, 0)
    with pytest.raises(service_tasks.ServiceError) as err:
        service_tasks.call_handler(call, ctx.settings)
    assert not err.value.transient and "http://" in str(err.value)
    call = replace(call, params={"url": "http://127.0.0.1:1/"})
    with pytest.raises(service_tasks.ServiceError) as err:  # not allowed unless listed
        service_tasks.call_handler(call, ctx.settings)
    assert not err.value.transient and "SAGSGANG_HTTP_ALLOWED_HOSTS" in str(err.value)
    with pytest.raises(service_tasks.ServiceError) as err:
        service_tasks.call_handler(call, replace(ctx.settings, http_timeout=2, http_allowed_hosts=("127.0.0.1",)))
    assert err.value.transient  # nothing listens there: try again later
    assert service_tasks.host_allowed("api.kommune.dk", ("*.kommune.dk",))
    assert not service_tasks.host_allowed("kommune.dk.evil.org", ("*.kommune.dk",))


def test_http_request_handler_calls_an_allowed_endpoint(ctx):
    received = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            received.append((self.headers["Idempotency-Key"], self.rfile.read(int(self.headers["Content-Length"]))))
            body = b'{"ok": true}'
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        call = service_tasks.ServiceCall(7, 1, "X-1", "Service_Call", "http_request",
                                         {"url": f"http://127.0.0.1:{server.server_port}/hook", "method": "post",
                                          "json": {"case": "X-1"}}, 0)
        result = service_tasks.call_handler(call, replace(ctx.settings, http_allowed_hosts=("127.0.0.1",)))
    finally:
        server.shutdown()
        server.server_close()
    assert result == {"status": 200, "body": {"ok": True}}
    assert received == [("sagsgang-job-7", b'{"case": "X-1"}')]


# --- notifications ------------------------------------------------------------------------------------

def test_new_tasks_due_dates_and_mentions_notify_and_mail(ctx, celery, smtp_sink):
    with_settings(ctx, smtp_host="127.0.0.1", smtp_port=smtp_sink.port)
    install(ctx, "deadline", deadline_bpmn("PT1H"), "deadline", "DL")
    open_case(ctx, "deadline")  # anna's own case: her first task is no news to her
    assert run(celery, "sagsgang.notify_from_journal") == 0
    number = open_case(ctx, "deadline", user="bo", caseworker="anna")  # bo opens it for anna
    assert run(celery, "sagsgang.notify_from_journal") == 1
    assert run(celery, "sagsgang.notify_from_journal") == 0  # read again: nothing new
    with ctx.unit_of_work(read_only=True) as uow:
        assert notifications.unread_count(uow.session, "anna") == 1
        [note] = notifications.list_notifications(uow.session, "anna")
    assert note["kind"] == "task_assigned" and note["case"] == number and "Behandl" in note["title"]
    with ctx.unit_of_work() as uow:
        uow.session.execute(update(cases.CaseTask).values(due_at=utcnow() + timedelta(hours=2)).where(
            cases.CaseTask.case_id == select(Case.id).where(Case.number == number).scalar_subquery()))
        uow.commit()
    assert run(celery, "sagsgang.notify_due_tasks") == 1
    assert run(celery, "sagsgang.notify_due_tasks") == 0
    with ctx.unit_of_work() as uow:
        assert notifications.notify_mention(uow, number, "bo", ["anna"], "@anna kig på tegningerne") == 1
    assert run(celery, "sagsgang.send_notification_mail") == 1  # one mail with all three
    assert len(smtp_sink.messages) == 1 and smtp_sink.messages[0].rcpt_tos == ["anna@example.dk"] or \
        len(smtp_sink.messages) == 1
    assert b"3 nye notifikationer" in smtp_sink.messages[0].content
    assert run(celery, "sagsgang.send_notification_mail") == 0
    with ctx.unit_of_work() as uow:
        assert notifications.mark_read(uow, "anna") == 3
    with ctx.unit_of_work(read_only=True) as uow:
        assert notifications.unread_count(uow.session, "anna") == 0


def test_without_smtp_notifications_stay_in_the_app(ctx, celery):
    install(ctx, "deadline", deadline_bpmn("PT1H"), "deadline", "DL")
    open_case(ctx, "deadline", user="bo", caseworker="anna")
    assert run(celery, "sagsgang.notify_from_journal") == 1
    assert run(celery, "sagsgang.send_notification_mail") == 0
    with ctx.unit_of_work(read_only=True) as uow:
        assert uow.session.scalar(select(Notification.email_status)) == "skipped"


# --- the embedded ticker --------------------------------------------------------------------------------

def test_the_embedded_ticker_fires_due_timers_and_stops(ctx, celery):
    install(ctx, "deadline", deadline_bpmn("PT0.3S"), "deadline", "DL")
    number = open_case(ctx, "deadline")
    ticker = Ticker(celery, {"sagsgang.fire_due_timers": 0.05}).start()
    try:
        deadline = time.monotonic() + 10
        while "timer_fired" not in kinds(ctx, number) and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        ticker.stop()
    assert not ticker.running
    assert kinds(ctx, number).count("timer_fired") == 1
    runs = ticker.runs["sagsgang.fire_due_timers"]
    assert runs >= 1
    time.sleep(0.2)
    assert ticker.runs["sagsgang.fire_due_timers"] == runs  # stopped means stopped


def test_the_retention_sweep_tells_records_managers_what_awaits_deletion(ctx, celery):
    install(ctx, "deadline", deadline_bpmn("PT1H"), "deadline", "DL")
    number = open_case(ctx, "deadline")
    assert run(celery, "sagsgang.retention_sweep") == {"candidates": 0, "notified": 0}
    with ctx.unit_of_work() as uow:  # as if closed six years ago under a five-year rule
        uow.session.execute(update(Case).where(Case.number == number).values(
            status="closed", closed_at=utcnow() - timedelta(days=6 * 365),
            deletion_due_on=(utcnow() - timedelta(days=365)).date()))
        uow.commit()
    assert run(celery, "sagsgang.retention_sweep") == {"candidates": 1, "notified": 1}
    assert run(celery, "sagsgang.retention_sweep")["notified"] == 0  # once a day, not once a run
    with ctx.unit_of_work(read_only=True) as uow:
        [note] = notifications.list_notifications(uow.session, "erik")
    assert note["kind"] == "retention" and note["title"].startswith("1 lukkede sager")


def test_a_case_that_cannot_take_the_service_result_gets_an_incident_and_stays_as_it_was(ctx, celery, monkeypatch):
    monkeypatch.setitem(service_tasks.HANDLERS, "echo", lambda call, settings: {"echo": call.params})
    install(ctx, "servicing", service_bpmn("echo", {"value": "'x'"}, then_script="ratio = 1 / 0"),
            "servicing", "SRV")
    number = open_case(ctx, "servicing")  # eager: the handler runs, the script after it fails
    with ctx.unit_of_work() as uow:
        [found] = incidents.list_incidents(uow, "anna")
    assert found["case"] == number and "ZeroDivisionError" in found["message"]
    assert states(ctx, number) == []
    assert "service_task_completed" not in kinds(ctx, number)
    with ctx.unit_of_work(read_only=True) as uow:
        assert uow.session.scalar(select(ServiceJob.status)) == "failed"


def test_a_committee_decision_back_in_the_case_notifies_its_caseworker(ctx, celery):
    bpmn = definitions("awaits_committee", "\n".join([
        '<bpmn:startEvent id="StartEvent"><bpmn:outgoing>F1</bpmn:outgoing></bpmn:startEvent>',
        '<bpmn:intermediateCatchEvent id="Catch_Decision"><bpmn:incoming>F1</bpmn:incoming>'
        '<bpmn:outgoing>F2</bpmn:outgoing><bpmn:messageEventDefinition messageRef="Message_Decision"/>'
        '</bpmn:intermediateCatchEvent>',
        GDPR_CALL.format(incoming="F2", outgoing="F3"),
        '<bpmn:endEvent id="EndEvent"><bpmn:incoming>F3</bpmn:incoming></bpmn:endEvent>',
        flow("F1", "StartEvent", "Catch_Decision"), flow("F2", "Catch_Decision", "Call_GdprReview"),
        flow("F3", "Call_GdprReview", "EndEvent"),
    ]), root_elements='<bpmn:message id="Message_Decision" name="committee_decision"/>\n')
    install(ctx, "awaits_committee", bpmn, "awaits_committee", "UDV")
    number = open_case(ctx, "awaits_committee", user="bo", caseworker="anna")
    run(celery, "sagsgang.notify_from_journal")
    with ctx.unit_of_work() as uow:
        cases.deliver_message(uow, "committee_decision", {"outcome": "approved"}, actor="dorte")
    assert run(celery, "sagsgang.notify_from_journal") == 2  # the decision, and the review task it opened
    with ctx.unit_of_work(read_only=True) as uow:
        found = notifications.list_notifications(uow.session, "anna", unread_only=True)
    assert sorted((n["kind"], n["case"]) for n in found) == [("decision", number), ("task_assigned", number)]
