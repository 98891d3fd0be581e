"""Cases, their numbering and the indexes synced from the workflow state."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..db import Base, UTCDateTime, utcnow
from .case_types import CaseType, CaseTypeVersion
from .org import User

CASE_STATUSES = ("open", "closed", "deleted")


class Case(Base):
    __tablename__ = "cases"
    # Each index entry costs every case its write (SQLite: about a WAL page a unit of work that
    # sets the column), so the sweeps' indexes hold only the rows they look for: cases with a
    # timer (the timer sweep), with a deletion date (retention) and deleted ones (the search
    # index's catch-up). No index on status alone: three values, which no query looks up by
    # itself; each reads by one of these, by case type or by version instead (migration 0026).
    __table_args__ = (
        Index("ix_cases_next_timer_at", "next_timer_at", sqlite_where=text("next_timer_at IS NOT NULL"),
              postgresql_where=text("next_timer_at IS NOT NULL")),
        Index("ix_cases_deletion_due_on", "deletion_due_on", sqlite_where=text("deletion_due_on IS NOT NULL"),
              postgresql_where=text("deletion_due_on IS NOT NULL")),
        Index("ix_cases_deleted", "id", sqlite_where=text("status = 'deleted'"),
              postgresql_where=text("status = 'deleted'")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(40), unique=True)
    case_type_id: Mapped[int] = mapped_column(ForeignKey("case_types.id"), index=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("case_type_versions.id"), index=True)
    title: Mapped[str] = mapped_column(String(300))
    grouping: Mapped[str] = mapped_column(String(200), default="", index=True)
    caseworker_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    status: Mapped[str] = mapped_column(String(20), default="open")
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    next_timer_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    gdpr_review_completed: Mapped[bool] = mapped_column(default=False)
    # Set when free text or form data held something shaped like a CPR number (the number itself
    # is never copied anywhere); the GDPR review should then say category "cpr".
    cpr_detected: Mapped[bool] = mapped_column(default=False)
    # From the case type's deletion rule when the case closes; NULL: keep (rule K, or a review
    # exception). Closed cases past this date are deletion candidates (engine.services.retention).
    deletion_due_on: Mapped[date | None] = mapped_column(Date)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Hash of the newest journal event: shows a deleted tail, which the chain alone cannot.
    journal_head: Mapped[str] = mapped_column(String(64), default="0" * 64)
    journal_seq: Mapped[int] = mapped_column(Integer, default=0)
    awaits_message: Mapped[bool] = mapped_column(default=False)
    # The workflow state without its spec (see engine.runtime.state); NULL once deleted.
    state: Mapped[str | None] = mapped_column(Text)
    # Optimistic lock: every UPDATE says WHERE row_version = <loaded>; a lost race is a Conflict.
    row_version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": row_version}

    case_type: Mapped[CaseType] = relationship()
    version: Mapped[CaseTypeVersion] = relationship()
    caseworker: Mapped[User | None] = relationship()


class CaseNumberSequence(Base):
    """The last number given per prefix and year; incremented under the row's lock."""

    __tablename__ = "case_number_sequences"

    prefix: Mapped[str] = mapped_column(String(10), primary_key=True)
    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    last_value: Mapped[int] = mapped_column(Integer, default=0)


class MessageSubscription(Base):
    """A case waiting for a BPMN message, findable by message name and correlation key."""

    __tablename__ = "message_subscriptions"
    __table_args__ = (UniqueConstraint("case_id", "task_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    task_id: Mapped[str] = mapped_column(String(36))
    message_name: Mapped[str] = mapped_column(String(200), index=True)
    correlation_key: Mapped[str] = mapped_column(String(500), default="", index=True)
    correlations: Mapped[dict] = mapped_column(JSON, default=dict)
