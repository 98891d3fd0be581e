"""The journal of a case: append-only, hash-chained per case so tampering shows."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ..db import Base, UTCDateTime, utcnow


class JournalEvent(Base):
    __tablename__ = "journal_events"
    __table_args__ = (
        UniqueConstraint("case_id", "seq"),
        # "The cases I changed last" walks one actor's newest events; case_id rides along so the
        # walk never visits the table (worklists.latest_cases).
        Index("ix_journal_events_actor_at", "actor", "at", "case_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # No FK with cascade: the tombstone of a deleted case outlives its data. No index of its own:
    # the unique (case_id, seq) index serves every lookup by case (and in seq order), and a second
    # one cost each event an index insert and each unit of work a page (migration 0024).
    case_id: Mapped[int] = mapped_column(Integer)
    seq: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    actor: Mapped[str] = mapped_column(String(80))
    kind: Mapped[str] = mapped_column(String(60))
    data: Mapped[dict] = mapped_column(JSON, default=dict)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))
