"""In-app notifications: the bell and its unread count; e-mail is sent from the same rows."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ..db import Base, UTCDateTime, utcnow

NOTIFICATION_KINDS = ("task_assigned", "task_due_soon", "task_overdue", "decision", "mention", "incident",
                      "retention")
EMAIL_STATUSES = ("pending", "sent", "skipped")


class Notification(Base):
    __tablename__ = "notifications"
    __table_args__ = (
        # `source` names what caused it (a journal event, a task's deadline): one per user and cause.
        UniqueConstraint("user_id", "source"),
        Index("ix_notifications_user_read", "user_id", "read_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(40))
    source: Mapped[str] = mapped_column(String(120))
    # Deleting a case deletes its notifications: their titles can name people.
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    task_id: Mapped[str | None] = mapped_column(String(36))
    title: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    email_status: Mapped[str] = mapped_column(String(20), default="pending", index=True)
    emailed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    email_attempts: Mapped[int] = mapped_column(Integer, default=0)
