"""Messages between cases (and from the engine to cases) that found no case waiting for them.

A message that matches no subscription is never dropped: it is stored here, shown to whoever
sent it (a committee's secretaries, the administrators), and can be delivered again or dismissed.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ..db import Base, UTCDateTime, utcnow

UNDELIVERED_STATUSES = ("open", "delivered", "dismissed")


class UndeliveredMessage(Base):
    __tablename__ = "undelivered_messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    message_name: Mapped[str] = mapped_column(String(200))
    correlation_key: Mapped[str] = mapped_column(String(500), default="")
    correlations: Mapped[dict] = mapped_column(JSON, default=dict)
    payload: Mapped[dict] = mapped_column(JSON, default=dict)
    # Who sent it: "agenda_entry:<id>", "case:<number>" (a throw event), "api" ...
    source: Mapped[str] = mapped_column(String(200), default="")
    # The committee whose secretaries see it (decisions); NULL: administrators only.
    committee_id: Mapped[int | None] = mapped_column(ForeignKey("committees.id", ondelete="SET NULL"), index=True)
    reason: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(20), default="open", index=True)
    attempts: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolved_by: Mapped[str] = mapped_column(String(80), default="")
    delivered_to: Mapped[str] = mapped_column(String(40), default="")  # the case number, once delivered
