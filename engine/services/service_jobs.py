"""Service jobs: the rows that make a STARTED service task a worker's business.

`sync_jobs` runs inside the unit of work that saves a case (LoadedCase.save), so a job exists
exactly when its service task is STARTED in the committed state. The job row is the truth; the
queued message only wakes a worker sooner than the next sweep (`pending_job_ids`).
"""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import bindparam, insert, select
from sqlalchemy.orm import Session

from ..db import UnitOfWork, utcnow
from ..models import ServiceJob
from ..runtime.service_tasks import pending_calls
from .journal import Journal

_JOB_TASK_IDS = select(ServiceJob.task_id).where(ServiceJob.case_id == bindparam("case_id"))
_INSERT_JOB = insert(ServiceJob).returning(ServiceJob.id)


def sync_jobs(uow: UnitOfWork, case_id: int, workflow, journal: Journal, actor: str) -> list[int]:
    """Write a job for each service task the workflow newly started; queue them after the commit."""
    calls = pending_calls(workflow)
    if not calls:
        return []
    conn = uow.session.connection()
    existing = set(conn.execute(_JOB_TASK_IDS, {"case_id": case_id}).scalars())
    now, job_ids = utcnow(), []
    for call in calls:
        if call.task_id in existing:
            continue
        job_ids.append(conn.execute(_INSERT_JOB, dict(
            case_id=case_id, task_id=call.task_id, element_id=call.element_id, operator=call.operator,
            params=call.params, result_variable=call.result_variable, status="pending", attempts=0,
            last_error="", created_at=now, updated_at=now)).scalar_one())
        journal.append(actor, "service_task_started", {"task": call.element_id, "operator": call.operator,
                                                      "task_id": call.task_id})
    dispatch = uow.runtime.dispatch if uow.runtime is not None else None
    if job_ids and dispatch is not None:
        uow.after_commit(lambda: [dispatch("run_service_job", job_id=job_id) for job_id in job_ids])
    return job_ids


def pending_job_ids(session: Session, older_than: timedelta = timedelta(0), now: datetime | None = None,
                    limit: int = 500) -> list[int]:
    """Pending jobs whose message may have been lost (a worker died, the broker was down)."""
    cutoff = (now or utcnow()) - older_than
    return list(session.scalars(select(ServiceJob.id).where(ServiceJob.status == "pending",
                                                            ServiceJob.updated_at <= cutoff)
                                .order_by(ServiceJob.id).limit(limit)))
