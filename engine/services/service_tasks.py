"""Service tasks: a registry of named handlers, and the units of work a worker runs around one.

Case-type owners pick a handler by name in the model (spiffworkflow:serviceTaskOperator id="send_mail"
with parameters whose values are expressions); the registry of names is
engine/runtime/service_handlers.py, which publishing checks models against. The engine leaves
the task STARTED and writes a job (engine/runtime/service_tasks.py, service_jobs.py); a worker then

1. `claim_job`     checks that the job is still wanted (its task may have been cancelled by a
                   boundary timer meanwhile) and returns the call: a short read-only unit of work;
2. `call_handler`  runs the handler outside any transaction (SMTP, HTTP: seconds, not milliseconds);
3. `complete_job`  hands the result to the task, advances the case and saves it, or
   `record_failure` counts the attempt; the last one opens an incident (incidents.py).

A worker that dies between 2 and 3 leaves the job pending, and it runs again: handlers must
tolerate a repeat (the HTTP handler sends an Idempotency-Key; a mail may arrive twice).
"""
from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request

from sqlalchemy import select, update

from ..db import UnitOfWork, utcnow
from ..errors import NotFound
from ..models import Case, Incident, ServiceJob
from ..runtime import advance as runtime
from ..runtime.service_handlers import HANDLERS, ServiceCall, handler, operator_names
from ..runtime.service_tasks import complete_call, find_pending
from ..settings import Settings
from . import incidents
from .cases import LoadedCase, read_head, read_head_by_id
from .mail import MailError, send_mail


class ServiceError(Exception):
    """A handler failed; `transient` errors are retried with backoff, the others open an incident."""

    def __init__(self, message: str, transient: bool):
        super().__init__(message)
        self.transient = transient


def _param(call: ServiceCall, name: str, required: bool = True, default=None):
    value = call.params.get(name, default)
    if required and (value is None or value == ""):
        raise ServiceError(f"service task {call.element_id}: parameter '{name}' is missing", transient=False)
    return value


@handler("send_mail")
def send_mail_handler(call: ServiceCall, settings: Settings) -> dict:
    """Parameters: to (address or list), subject, body."""
    to = _param(call, "to")
    try:
        message_id = send_mail(settings, to if isinstance(to, list) else str(to), str(_param(call, "subject")),
                               str(_param(call, "body", required=False, default="")))
    except MailError as err:
        raise ServiceError(str(err), transient=err.transient) from err
    return {"sent": True, "message_id": message_id}


MAX_RESPONSE = 100_000


@handler("http_request")
def http_request_handler(call: ServiceCall, settings: Settings) -> dict:
    """Parameters: url, method (GET), json (a body sent as JSON), headers. Returns status and body."""
    url = str(_param(call, "url"))
    if not url.startswith(("http://", "https://")):
        raise ServiceError(f"service task {call.element_id}: url must start with http:// or https://",
                           transient=False)
    host = (urllib.parse.urlsplit(url).hostname or "").lower()
    if not host_allowed(host, settings.http_allowed_hosts):
        raise ServiceError(f"service task {call.element_id}: host '{host}' is not in SAGSGANG_HTTP_ALLOWED_HOSTS",
                           transient=False)
    method = str(_param(call, "method", required=False, default="GET")).upper()
    headers = {str(k): str(v) for k, v in (_param(call, "headers", required=False) or {}).items()}
    headers.setdefault("Idempotency-Key", f"sagsgang-job-{call.job_id}")  # a repeat after a crash
    body = _param(call, "json", required=False)
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        headers.setdefault("Content-Type", "application/json")
    request = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=settings.http_timeout) as response:
            status, raw = response.status, response.read(MAX_RESPONSE)
    except urllib.error.HTTPError as err:
        transient = err.code >= 500 or err.code == 429
        raise ServiceError(f"{method} {url} answered {err.code} {err.reason}", transient=transient) from err
    except (urllib.error.URLError, TimeoutError, OSError) as err:
        raise ServiceError(f"{method} {url} failed: {getattr(err, 'reason', err)}", transient=True) from err
    text = raw.decode("utf-8", errors="replace")
    try:
        parsed = json.loads(text) if text else None
    except ValueError:
        parsed = text
    return {"status": status, "body": parsed}


def host_allowed(host: str, allowed: tuple) -> bool:
    """Owners' models may call only the hosts the installation lists (`name` or `*.domain`): the
    workers sit inside the municipality's network, next to services no model should reach."""
    return any(host == rule or (rule.startswith("*.") and host.endswith(rule[1:])) for rule in allowed)


def call_handler(call: ServiceCall, settings: Settings):
    """Run the call's handler; every failure becomes a ServiceError."""
    func = HANDLERS.get(call.operator)
    if func is None:
        raise ServiceError(f"service task {call.element_id} names the unknown operator '{call.operator}' "
                           f"(known: {', '.join(operator_names())})", transient=False)
    try:
        return func(call, settings)
    except ServiceError:
        raise
    except Exception as err:  # a handler bug or bad parameters: retrying will not help
        raise ServiceError(f"service task {call.element_id} ({call.operator}) failed: "
                           f"{err.__class__.__name__}: {err}", transient=False) from err


def _job(uow: UnitOfWork, job_id: int) -> ServiceJob:
    job = uow.session.get(ServiceJob, job_id)
    if job is None:
        raise NotFound(f"unknown service job {job_id}")
    return job


def _finish(uow: UnitOfWork, job: ServiceJob, status: str, error: str = "") -> None:
    now = utcnow()
    job.status, job.updated_at, job.finished_at = status, now, now
    if error:
        job.last_error = error
    uow.session.execute(update(Incident).where(Incident.job_id == job.id, Incident.status != "resolved")
                        .values(status="resolved", resolved_at=now, resolved_by="system"))


def claim_job(uow: UnitOfWork, job_id: int) -> ServiceCall | None:
    """The call to make, or None when there is nothing to do (finished, or its task went away)."""
    job = _job(uow, job_id)
    if job.status != "pending":
        return None
    head = read_head(uow.session, Case.id == job.case_id, lock=False)
    if head is None or head.status != "open" or find_pending(LoadedCase.load(uow, head).workflow, job.task_id) is None:
        _finish(uow, job, "cancelled")
        uow.commit()
        return None
    return ServiceCall(job.id, job.case_id, head.number, job.element_id, job.operator, dict(job.params),
                       job.attempts)


def complete_job(uow: UnitOfWork, job_id: int, result, actor: str = "system") -> dict:
    """Give the handler's result to the waiting task and move the case on."""
    job = _job(uow, job_id)
    head = read_head_by_id(uow.session, job.case_id)  # the case's lock, then the job's current state
    uow.session.refresh(job)
    if job.status != "pending":
        return {"job_id": job_id, "status": job.status, "completed": False}
    loaded = LoadedCase.load(uow, head) if head.status == "open" else None
    task = find_pending(loaded.workflow, job.task_id) if loaded else None
    if task is None:
        _finish(uow, job, "cancelled")
        uow.commit()
        return {"job_id": job_id, "status": "cancelled", "completed": False}
    complete_call(task, result)
    runtime.advance(loaded.workflow, *loaded.limits)
    loaded.journal.append(actor, "service_task_completed", {"task": job.element_id, "operator": job.operator,
                                                           "task_id": job.task_id, "attempts": job.attempts + 1})
    job.attempts += 1
    _finish(uow, job, "completed")
    loaded.save(actor, None)
    uow.commit()
    return {"job_id": job_id, "status": "completed", "completed": True, "number": head.number}


def record_failure(uow: UnitOfWork, job_id: int, error: str, final: bool) -> dict:
    """Count a failed attempt; the final one marks the job failed and opens an incident on the case."""
    job = _job(uow, job_id)
    head = read_head_by_id(uow.session, job.case_id)
    uow.session.refresh(job)
    if job.status != "pending":
        return {"job_id": job_id, "status": job.status, "attempts": job.attempts}
    job.attempts += 1
    job.last_error = error[:4000]
    job.updated_at = utcnow()
    incident_id = None
    if final:
        job.status = "failed"
        incident_id = incidents.open_incident(uow, head, job, error)
    uow.commit()
    return {"job_id": job_id, "status": job.status, "attempts": job.attempts, "incident_id": incident_id}


def job_status(uow: UnitOfWork, job_id: int) -> dict:
    job = _job(uow, job_id)
    return {"job_id": job.id, "status": job.status, "attempts": job.attempts, "last_error": job.last_error}


def jobs_of_case(uow: UnitOfWork, case_id: int) -> list[dict]:
    rows = uow.session.scalars(select(ServiceJob).where(ServiceJob.case_id == case_id).order_by(ServiceJob.id))
    return [{"job_id": j.id, "element_id": j.element_id, "operator": j.operator, "status": j.status,
             "attempts": j.attempts, "last_error": j.last_error} for j in rows]

