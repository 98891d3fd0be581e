"""Incidents: what background work could not do by itself, shown on the case until someone acts."""
from __future__ import annotations

from sqlalchemy import select, update

from .. import permissions
from ..db import UnitOfWork, utcnow
from ..errors import Conflict, InvalidInput, NotFound
from ..models import Case, CaseType, Incident, ServiceJob, User
from .cases import read_head_by_id
from .journal import Journal
from .notifications import notify
from .org import get_user


def journal_event(uow: UnitOfWork, head, actor: str, kind: str, data: dict) -> None:
    """Append one event to a locked case without touching its workflow (the row version moves on)."""
    journal = Journal(head.journal_seq, head.journal_head)
    journal.append(actor, kind, data)
    journal.write(uow.session, head.id)
    result = uow.session.execute(
        update(Case).where(Case.id == head.id, Case.row_version == head.row_version)
        .values(journal_seq=journal.seq, journal_head=journal.head, row_version=head.row_version + 1,
                updated_at=utcnow()).execution_options(synchronize_session=False))
    if result.rowcount != 1:
        raise Conflict(f"case {head.number} was changed by someone else meanwhile; try again")
    head.journal_seq, head.journal_head, head.row_version = journal.seq, journal.head, head.row_version + 1


def open_incident(uow: UnitOfWork, head, job: ServiceJob, error: str) -> int:
    """Open (or reopen) the incident of a failed service job, journal it and tell the caseworker."""
    incident = uow.session.scalar(select(Incident).where(Incident.job_id == job.id))
    if incident is None:
        incident = Incident(case_id=head.id, job_id=job.id, element_id=job.element_id, kind="service_task",
                            message=error[:4000], status="open", created_at=utcnow())
        uow.session.add(incident)
    else:
        incident.status, incident.message, incident.resolved_at, incident.resolved_by = "open", error[:4000], None, ""
    uow.session.flush()
    journal_event(uow, head, "system", "incident_opened", {"incident_id": incident.id, "task": job.element_id,
                                                           "operator": job.operator, "error": error[:500]})
    if head.caseworker_id is not None:
        notify(uow.session, [head.caseworker_id], "incident", f"incident:{incident.id}:{job.attempts}",
               f"Fejl i sag {head.number}: {job.element_id} ({job.operator}) kunne ikke udføres",
               body=error[:1000], case_id=head.id)
    return incident.id


def open_timer_incident(uow: UnitOfWork, case_id: int, error: str, element: str | None = None) -> int | None:
    """A due timer whose case failed to advance: stop retrying it every sweep until someone looks."""
    head = read_head_by_id(uow.session, case_id)
    if head is None:
        return None
    existing = uow.session.scalar(select(Incident.id).where(Incident.case_id == case_id, Incident.kind == "timer",
                                                            Incident.status == "open"))
    if existing is not None:
        return existing
    incident = Incident(case_id=case_id, job_id=None, element_id=element or "", kind="timer",
                        message=error[:4000], status="open", created_at=utcnow())
    uow.session.add(incident)
    uow.session.flush()
    journal_event(uow, head, "system", "incident_opened", {"incident_id": incident.id, "task": element,
                                                           "error": error[:500]})
    if head.caseworker_id is not None:
        notify(uow.session, [head.caseworker_id], "incident", f"incident:{incident.id}:0",
               f"Fejl i sag {head.number}: en frist kunne ikke udløses", body=error[:1000], case_id=head.id)
    uow.commit()
    return incident.id


def cases_with_open_timer_incidents(session) -> set[int]:
    return set(session.scalars(select(Incident.case_id).where(Incident.kind == "timer", Incident.status == "open")))


def _incident_dict(incident: Incident, number: str, job: ServiceJob | None) -> dict:
    return {"id": incident.id, "case": number, "element_id": incident.element_id, "kind": incident.kind,
            "message": incident.message, "status": incident.status, "created_at": incident.created_at.isoformat(),
            "resolved_at": incident.resolved_at.isoformat() if incident.resolved_at else None,
            "resolved_by": incident.resolved_by or None,
            "operator": job.operator if job else None, "attempts": job.attempts if job else None}


def may_handle_incident(session, user: User, case: Case) -> bool:
    """The case's caseworker, the case type's owners and administrators may retry an incident."""
    if not user.is_active:
        return False
    if case.caseworker_id == user.id:
        return True
    return permissions.can_manage_case_type(session, user, session.get(CaseType, case.case_type_id))


def list_incidents(uow: UnitOfWork, actor: str, status: str | None = "open", case_number: str | None = None,
                   limit: int = 100) -> list[dict]:
    """Incidents the actor may handle, newest first (all of them for administrators)."""
    session = uow.session
    user = get_user(session, actor)
    query = (select(Incident, Case, ServiceJob).join(Case, Case.id == Incident.case_id)
             .outerjoin(ServiceJob, ServiceJob.id == Incident.job_id).order_by(Incident.id.desc()))
    if status:
        query = query.where(Incident.status == status)
    if case_number:
        query = query.where(Case.number == case_number)
    rows = []
    for incident, case, job in session.execute(query):
        if may_handle_incident(session, user, case):
            rows.append(_incident_dict(incident, case.number, job))
            if len(rows) >= limit:
                break
    return rows


def retry_incident(uow: UnitOfWork, incident_id: int, actor: str) -> dict:
    """Queue the failed service job again, with a fresh set of attempts."""
    session = uow.session
    user = get_user(session, actor)
    incident = session.get(Incident, incident_id)
    if incident is None:
        raise NotFound(f"unknown incident {incident_id}", field="incident_id")
    case = session.get(Case, incident.case_id)
    permissions.require(may_handle_incident(session, user, case),
                        f"{actor} may not retry incidents of case {case.number}")
    head = read_head_by_id(session, case.id)
    session.refresh(incident)
    if incident.status != "open":
        raise Conflict(f"incident {incident_id} is {incident.status}, not open", field="incident_id")
    now = utcnow()
    dispatch = uow.runtime.dispatch if uow.runtime is not None else None
    if incident.kind == "timer":  # the next sweep fires the case's due timer again
        incident.status, incident.resolved_at, incident.resolved_by = "resolved", now, actor
        journal_event(uow, head, actor, "incident_retried", {"incident_id": incident.id, "task": incident.element_id})
        if dispatch is not None:
            uow.after_commit(lambda: dispatch("fire_case_timers", case_id=head.id))
        uow.commit()
        return {"incident_id": incident_id, "status": "resolved", "job_id": None}
    job = session.get(ServiceJob, incident.job_id) if incident.job_id else None
    if job is None:
        raise InvalidInput(f"incident {incident_id} has no job to run again", field="incident_id")
    incident.status = "retrying"
    job.status, job.attempts, job.updated_at, job.finished_at = "pending", 0, now, None
    journal_event(uow, head, actor, "incident_retried", {"incident_id": incident.id, "task": incident.element_id})
    job_id = job.id
    if dispatch is not None:
        uow.after_commit(lambda: dispatch("run_service_job", job_id=job_id))
    uow.commit()
    return {"incident_id": incident_id, "status": "retrying", "job_id": job_id}
