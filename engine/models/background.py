"""What background work leaves behind: service jobs, incidents, case-type schedules, sweep cursors."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ..db import Base, UTCDateTime, utcnow

JOB_STATUSES = ("pending", "completed", "failed", "cancelled")
INCIDENT_STATUSES = ("open", "retrying", "resolved")


class ServiceJob(Base):
    """A service task the engine started and a worker has to run (one per SpiffWorkflow task).

    Written in the same unit of work that left the service task STARTED, so a case never waits
    for a job that does not exist; the worker completes it in a unit of work of its own.
    """

    __tablename__ = "service_jobs"
    __table_args__ = (UniqueConstraint("case_id", "task_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    task_id: Mapped[str] = mapped_column(String(36))
    element_id: Mapped[str] = mapped_column(String(200))
    operator: Mapped[str] = mapped_column(String(100))
    params: Mapped[dict] = mapped_column(JSON, default=dict)
    result_variable: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(20), default="pending", index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Incident(Base):
    """Something on a case that needs a person: a service task whose retries ran out."""

    __tablename__ = "incidents"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    job_id: Mapped[int | None] = mapped_column(ForeignKey("service_jobs.id", ondelete="CASCADE"), index=True)
    element_id: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(40), default="service_task")
    message: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20), default="open", index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolved_by: Mapped[str] = mapped_column(String(80), default="")


class CaseTypeSchedule(Base):
    """A case type whose model starts with a timer start event opens cases on this schedule."""

    __tablename__ = "case_type_schedules"
    __table_args__ = (UniqueConstraint("case_type_id", "element_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_type_id: Mapped[int] = mapped_column(ForeignKey("case_types.id", ondelete="CASCADE"), index=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("case_type_versions.id", ondelete="CASCADE"))
    element_id: Mapped[str] = mapped_column(String(200))
    expression: Mapped[str] = mapped_column(String(200))
    caseworker: Mapped[str] = mapped_column(String(80), default="")
    title: Mapped[str] = mapped_column(String(300), default="")
    next_run_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    runs_left: Mapped[int] = mapped_column(Integer, default=-1)  # -1: no end
    last_run_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_case_number: Mapped[str] = mapped_column(String(40), default="")
    last_error: Mapped[str] = mapped_column(Text, default="")


class SweepCursor(Base):
    """How far a sweep over an append-only table (the journal) has read."""

    __tablename__ = "sweep_cursors"

    name: Mapped[str] = mapped_column(String(80), primary_key=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
