"""Committees, their meetings and the agenda items that cases send them.

An agenda item (dagsordenspunkt) belongs to a case and travels along a route of committees
(e.g. fagudvalg → Økonomiudvalget → Kommunalbestyrelsen). Each time a committee treats it, the item
is an entry on one meeting's agenda, and that entry carries the committee's decision; the item's
own row says where it is now (draft, in a committee's queue, on an agenda, decided).
"""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Boolean, Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..db import Base, UTCDateTime, utcnow
from .cases import Case
from .org import User

COMMITTEE_ROLES = ("member", "chair", "secretary")
MEETING_STATUSES = ("planned", "agenda_published", "held", "minutes_published")
# draft: drafted in the case, awaiting the head of department; ready: in the current committee's
# queue; scheduled: on a meeting's agenda; decided: a final decision went back to the case.
ITEM_STATUSES = ("draft", "ready", "scheduled", "decided")
OUTCOMES = ("approved", "rejected", "postponed", "sent_on")
SECTION_KINDS = ("resume", "recommendation", "presentation", "economy")


class Committee(Base):
    """A political committee (udvalg), or the municipal council itself."""

    __tablename__ = "committees"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(80), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    # The agenda is published this many days before the meeting (the committee's rules of procedure).
    agenda_deadline_days: Mapped[int] = mapped_column(Integer, default=7)
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    memberships: Mapped[list["CommitteeMember"]] = relationship(back_populates="committee",
                                                                cascade="all, delete-orphan")


class CommitteeMember(Base):
    """A user's seat in a committee: a member, its chair, or one of its secretaries.

    Secretaries are rows here rather than scoped role grants, so "who may see the closed items of
    this committee" is one indexed lookup in one table, and a committee's page lists everyone.
    """

    __tablename__ = "committee_members"
    __table_args__ = (UniqueConstraint("committee_id", "user_id", "role"),
                      Index("ix_committee_members_user_role", "user_id", "role"))

    id: Mapped[int] = mapped_column(primary_key=True)
    committee_id: Mapped[int] = mapped_column(ForeignKey("committees.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    role: Mapped[str] = mapped_column(String(20), default="member")

    committee: Mapped[Committee] = relationship(back_populates="memberships")
    user: Mapped[User] = relationship()


class Meeting(Base):
    __tablename__ = "meetings"
    __table_args__ = (Index("ix_meetings_committee_starts", "committee_id", "starts_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    committee_id: Mapped[int] = mapped_column(ForeignKey("committees.id", ondelete="CASCADE"))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    ends_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    place: Mapped[str] = mapped_column(String(200), default="")
    status: Mapped[str] = mapped_column(String(30), default="planned", index=True)
    # The last local day to publish the agenda: the meeting's local date minus the committee's days.
    agenda_deadline: Mapped[date] = mapped_column(Date)
    agenda_published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    minutes_published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Bumped by every change to the agenda, so a stale page's reorder is a Conflict, not a reshuffle.
    row_version: Mapped[int] = mapped_column(Integer, default=1)

    committee: Mapped[Committee] = relationship()
    entries: Mapped[list["AgendaEntry"]] = relationship(back_populates="meeting", order_by="AgendaEntry.position",
                                                        cascade="all, delete-orphan")


class AgendaItem(Base):
    __tablename__ = "agenda_items"
    __table_args__ = (Index("ix_agenda_items_committee_status", "committee_id", "status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # The correlation value the case's workflow waits with: "<case number>/<round>".
    key: Mapped[str] = mapped_column(String(120), unique=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    title: Mapped[str] = mapped_column(String(300))
    closed: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(20), default="draft")
    route: Mapped[list] = mapped_column(JSON, default=list)  # committee keys, in order
    route_position: Mapped[int] = mapped_column(Integer, default=0)
    committee_id: Mapped[int | None] = mapped_column(ForeignKey("committees.id"))  # where it is now
    submitted_by: Mapped[str] = mapped_column(String(80), default="")
    final_outcome: Mapped[str | None] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # When it entered its current committee's queue: the queue is oldest first.
    queued_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    case: Mapped[Case] = relationship()
    committee: Mapped[Committee | None] = relationship()
    sections: Mapped[list["AgendaSection"]] = relationship(back_populates="item", order_by="AgendaSection.position",
                                                           cascade="all, delete-orphan")
    attachments: Mapped[list["AgendaAttachment"]] = relationship(
        back_populates="item", order_by="AgendaAttachment.position", cascade="all, delete-orphan")
    entries: Mapped[list["AgendaEntry"]] = relationship(back_populates="item", order_by="AgendaEntry.id",
                                                        cascade="all, delete-orphan")


class AgendaSection(Base):
    """One part of an item's text: resumé, indstilling, sagsfremstilling, økonomi."""

    __tablename__ = "agenda_sections"
    __table_args__ = (UniqueConstraint("item_id", "kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("agenda_items.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(30))
    body: Mapped[str] = mapped_column(Text, default="")
    closed: Mapped[bool] = mapped_column(Boolean, default=False)
    position: Mapped[int] = mapped_column(Integer, default=0)

    item: Mapped[AgendaItem] = relationship(back_populates="sections")


class AgendaAttachment(Base):
    """A document attached to an item (bilag): one of the case's documents, or a plain reference.

    A case document is pinned at the version it had when attached, so a published agenda keeps
    pointing at what the committee was given even after the caseworker uploads a new version.
    """

    __tablename__ = "agenda_attachments"

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("agenda_items.id", ondelete="CASCADE"), index=True)
    title: Mapped[str] = mapped_column(String(300))
    reference: Mapped[str] = mapped_column(String(500), default="")
    closed: Mapped[bool] = mapped_column(Boolean, default=False)
    position: Mapped[int] = mapped_column(Integer, default=0)
    # The case document (its file is downloaded through the agenda, access-logged); None for a
    # plain reference. A document deleted from the case leaves the attachment without a file.
    document_id: Mapped[int | None] = mapped_column(ForeignKey("documents.id", ondelete="SET NULL"), index=True)
    document_version: Mapped[int | None] = mapped_column(Integer)

    item: Mapped[AgendaItem] = relationship(back_populates="attachments")


class AgendaEntry(Base):
    """An item on one meeting's agenda, and that committee's decision on it (beslutning)."""

    __tablename__ = "agenda_entries"
    __table_args__ = (UniqueConstraint("meeting_id", "item_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meetings.id", ondelete="CASCADE"), index=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("agenda_items.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    outcome: Mapped[str | None] = mapped_column(String(20))
    decision_text: Mapped[str] = mapped_column(Text, default="")
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # "delivered" once the case took the decision; "undelivered" names the stored message error.
    delivery: Mapped[str] = mapped_column(String(20), default="")
    undelivered_message_id: Mapped[int | None] = mapped_column(ForeignKey("undelivered_messages.id"))

    meeting: Mapped[Meeting] = relationship(back_populates="entries")
    item: Mapped[AgendaItem] = relationship(back_populates="entries")
    decided_by: Mapped[User | None] = relationship()


class MeetingPublication(Base):
    """What was published (agenda or minutes), as published: the public text, closed items by title.

    Kept as a document rather than re-rendered, so the public page shows exactly what went out even
    after items move on, and a republication is a new row beside the old one.
    """

    __tablename__ = "meeting_publications"
    __table_args__ = (UniqueConstraint("meeting_id", "kind", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meetings.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(20))  # agenda | minutes
    number: Mapped[int] = mapped_column(Integer, default=1)
    published_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    published_by: Mapped[str] = mapped_column(String(80))
    redacted: Mapped[int] = mapped_column(Integer, default=0)  # CPR numbers replaced on publishing
    content: Mapped[dict] = mapped_column(JSON, default=dict)
