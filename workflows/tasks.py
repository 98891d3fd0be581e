"""Celery tasks: each takes ids, runs in an app context and calls engine services.

Names are explicit (`sagsgang.*`) so that moving this module does not strand queued messages.
Every task is idempotent: it re-reads the database and does nothing when the work is done, which
is what makes late acknowledgement safe (a redelivered message finds nothing left to do).
Only transient errors are retried: a dropped database connection (OperationalError) or a lost
race for a case row (Conflict). A failing service-task handler is retried with exponential
backoff and then becomes an incident on the case.
"""
from __future__ import annotations

import logging
from datetime import date, timedelta

from celery import shared_task
from flask import current_app
from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from engine.context import EngineContext
from engine.db import utcnow
from engine.errors import Conflict, NotFound, SagsgangError, WorkflowError
from engine.models import ServiceJob
from engine.services import cases, documents, incidents, notifications, schedules, service_tasks
from engine.services.mail import MailError, send_mail

log = logging.getLogger(__name__)
TRANSIENT = (OperationalError, Conflict)
RETRY = {"autoretry_for": TRANSIENT, "retry_backoff": True, "retry_backoff_max": 60, "max_retries": 5}


def engine_context() -> EngineContext:
    return current_app.extensions["sagsgang"]


def service_backoff(settings, attempts: int) -> float:
    """Seconds before attempt number `attempts + 1` of a service task: base, 2×base, 4×base, …"""
    return settings.service_task_backoff * 2 ** max(attempts - 1, 0)


# --- timers ---------------------------------------------------------------------------------------

@shared_task(name="sagsgang.fire_due_timers", bind=True, **RETRY)
def fire_due_timers(self, limit: int = 1000) -> int:
    """Queue one `fire_case_timers` per case whose timer is due (beat, or the embedded ticker)."""
    ctx = engine_context()
    with ctx.unit_of_work(read_only=True) as uow:
        due = cases.due_timer_case_ids(uow.session, limit=limit)
        stuck = incidents.cases_with_open_timer_incidents(uow.session) if due else set()
    fire = self.app.tasks["sagsgang.fire_case_timers"]
    # A message still queued when the next sweeps come round is dropped: they queue the case again.
    expires = max(ctx.settings.timer_interval * 3, 30)
    for case_id in due:
        if case_id not in stuck:
            fire.apply_async(kwargs={"case_id": case_id}, expires=expires)
    return len(due)


@shared_task(name="sagsgang.fire_case_timers", **RETRY)
def fire_case_timers(case_id: int) -> dict:
    """Fire a case's due timers; a case another worker moved already is left alone."""
    ctx = engine_context()
    try:
        with ctx.unit_of_work() as uow:
            return cases.fire_timers(uow, case_id)
    except NotFound:
        return {"case_id": case_id, "fired": False}
    except WorkflowError as err:  # the model fails on this timer: an incident, not a retry every sweep
        log.warning("timer of case %s failed: %s", case_id, err)
        with ctx.unit_of_work() as uow:
            incident_id = incidents.open_timer_incident(uow, case_id, str(err), err.element)
        return {"case_id": case_id, "fired": False, "incident_id": incident_id}


@shared_task(name="sagsgang.run_schedules", **RETRY)
def run_schedules() -> list:
    """Open the cases that case types with a timer start event are due to open."""
    ctx = engine_context()
    with ctx.unit_of_work() as uow:
        schedules.sync_schedules(uow)
    with ctx.unit_of_work(read_only=True) as uow:
        due = schedules.due_schedule_ids(uow)
    opened = []
    for schedule_id in due:
        try:
            with ctx.unit_of_work() as uow:
                opened.append(schedules.run_schedule(uow, schedule_id))
        except TRANSIENT:
            raise
        except SagsgangError as err:
            with ctx.unit_of_work() as uow:
                schedules.record_schedule_error(uow, schedule_id, err)
    return opened


# --- service tasks --------------------------------------------------------------------------------

@shared_task(name="sagsgang.run_service_job", bind=True, **RETRY)
def run_service_job(self, job_id: int) -> dict:
    """Run a service task's handler and complete the task, or count the failure."""
    ctx = engine_context()
    with ctx.unit_of_work() as uow:
        call = service_tasks.claim_job(uow, job_id)
    if call is None:
        return {"job_id": job_id, "ran": False}
    try:
        result = service_tasks.call_handler(call, ctx.settings)  # outside any transaction
    except service_tasks.ServiceError as err:
        final = not err.transient or call.attempts + 1 >= ctx.settings.service_task_retries
        with ctx.unit_of_work() as uow:
            outcome = service_tasks.record_failure(uow, job_id, str(err), final)
        if not final and not self.request.is_eager:
            self.apply_async(kwargs={"job_id": job_id},
                             countdown=service_backoff(ctx.settings, outcome["attempts"]))
        return outcome  # eager (embedded): dispatch_pending_jobs runs it again after the backoff
    try:
        with ctx.unit_of_work() as uow:
            return service_tasks.complete_job(uow, job_id, result)
    except WorkflowError as err:  # the case cannot take the result (a script after it fails)
        with ctx.unit_of_work() as uow:
            return service_tasks.record_failure(uow, job_id, str(err), final=True)


@shared_task(name="sagsgang.dispatch_pending_jobs", bind=True, **RETRY)
def dispatch_pending_jobs(self) -> int:
    """Queue pending service jobs whose backoff has passed and whose message seems lost."""
    ctx = engine_context()
    now = utcnow()
    grace = timedelta(0) if self.request.is_eager else timedelta(minutes=5)
    with ctx.unit_of_work(read_only=True) as uow:
        jobs = uow.session.execute(select(ServiceJob.id, ServiceJob.attempts, ServiceJob.updated_at)
                                   .where(ServiceJob.status == "pending").order_by(ServiceJob.id).limit(500)).all()
    run = self.app.tasks["sagsgang.run_service_job"]
    queued = 0
    for job_id, attempts, updated_at in jobs:
        wait = timedelta(seconds=service_backoff(ctx.settings, attempts)) if attempts else timedelta(0)
        if updated_at + wait + grace <= now:
            run.apply_async(kwargs={"job_id": job_id})
            queued += 1
    return queued


# --- notifications ---------------------------------------------------------------------------------

@shared_task(name="sagsgang.notify_from_journal", **RETRY)
def notify_from_journal() -> int:
    with engine_context().unit_of_work() as uow:
        return notifications.notify_from_journal(uow)


@shared_task(name="sagsgang.notify_due_tasks", **RETRY)
def notify_due_tasks() -> int:
    ctx = engine_context()
    with ctx.unit_of_work() as uow:
        return notifications.notify_due_tasks(uow, ctx.settings)


@shared_task(name="sagsgang.send_notification_mail", **RETRY)
def send_notification_mail() -> int:
    """One mail per user with what is new for them (immediately each minute, or as a daily digest)."""
    ctx = engine_context()
    with ctx.unit_of_work() as uow:
        mails = notifications.claim_mail(uow, ctx.settings)
    sent = 0
    for mail in mails:
        try:
            send_mail(ctx.settings, mail.to, mail.subject, mail.body)
            sent += 1
        except MailError as err:
            log.warning("notification mail to %s failed: %s", mail.to, err)
            with ctx.unit_of_work() as uow:
                notifications.mail_failed(uow, mail.notification_ids, err.transient)
    return sent


# --- retention ---------------------------------------------------------------------------------

@shared_task(name="sagsgang.retention_sweep", **RETRY)
def retention_sweep() -> dict:
    """Daily: tell the records managers which closed cases have reached their deletion date."""
    with engine_context().unit_of_work() as uow:
        return notifications.notify_deletion_candidates(uow, date.today())


# --- documents ---------------------------------------------------------------------------------

@shared_task(name="sagsgang.sweep_orphan_documents", **RETRY)
def sweep_orphan_documents() -> dict:
    """Hourly: remove stored document files that no document version names (their upload's
    process died before the commit, or a removal after a deletion failed), and report document
    versions whose file is gone, which only a restore can mend."""
    with engine_context().unit_of_work() as uow:
        swept = documents.sweep_orphans(uow)
    with engine_context().unit_of_work(read_only=True) as uow:
        missing = documents.missing_files(uow)
    for version in missing:
        log.error("document file missing: case id %s, document %s, version %s (%s)", version["case_id"],
                  version["document_id"], version["version"], version["key"])
    return {**swept, "missing": len(missing)}
