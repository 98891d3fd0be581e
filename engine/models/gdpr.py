"""GDPR by construction: review records, parties, legal holds and the access log.

Everything here that names a person belongs to exactly one case and goes when the case is
deleted (engine.services.retention), except the access log, which records employees' use of
the data and holds no personal data of the citizen (a case id, an action, a purpose).
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import DDL, JSON, Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint, event
from sqlalchemy.orm import Mapped, mapped_column

from ..db import Base, UTCDateTime, utcnow

PARTY_KINDS = ("citizen", "company")
ACCESS_ACTIONS = ("view", "list", "download", "export", "search", "read_access_log", "reveal_cpr")


class GdprReview(Base):
    """The outcome of a case's GDPR review, recorded when the review call completes."""

    __tablename__ = "gdpr_reviews"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), unique=True)
    category: Mapped[str] = mapped_column(String(20))
    legal_basis: Mapped[str] = mapped_column(Text, default="")
    parties_reviewed: Mapped[bool] = mapped_column(Boolean, default=False)
    deletion_rule_applies: Mapped[bool] = mapped_column(Boolean, default=True)
    exception_reason: Mapped[str] = mapped_column(Text, default="")
    reviewed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    reviewed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class CaseParty(Base):
    """A party of a case: a citizen (by CPR) or a company (by CVR).

    The CPR number is never stored in plain text: `cpr_encrypted` is a Fernet token, `cpr_hash`
    an HMAC-SHA256 under a separate key, so a person's cases are found without decrypting.
    """

    __tablename__ = "case_parties"
    __table_args__ = (UniqueConstraint("case_id", "cpr_hash", name="uq_case_parties_case_id_cpr_hash"),
                      UniqueConstraint("case_id", "cvr", name="uq_case_parties_case_id_cvr"))

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(80), default="")
    cpr_encrypted: Mapped[str | None] = mapped_column(Text)
    cpr_hash: Mapped[str | None] = mapped_column(String(64), index=True)
    cvr: Mapped[str | None] = mapped_column(String(8), index=True)
    added_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    added_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class LegalHold(Base):
    """A hold that stops a case's deletion until it is released."""

    __tablename__ = "legal_holds"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    reason: Mapped[str] = mapped_column(Text)
    placed_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    placed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    released_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    released_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class AccessLogEntry(Base):
    """Who used a case's personal data, when, how and why. Append-only (triggers refuse changes).

    `subject_hash` is the lookup hash of a CPR number searched for directly (data-subject
    requests), so a person's own look-up history can be answered without the number.
    """

    __tablename__ = "access_log"
    __table_args__ = (Index("ix_access_log_case_at", "case_id", "at"),
                      Index("ix_access_log_user_at", "user_id", "at"))

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"))
    action: Mapped[str] = mapped_column(String(40))
    purpose: Mapped[str] = mapped_column(String(200), default="")
    subject_hash: Mapped[str | None] = mapped_column(String(64), index=True)
    detail: Mapped[dict] = mapped_column(JSON, default=dict)


# Append-only by the database itself, not by convention: UPDATE and DELETE fail on both dialects.
_PG_APPEND_ONLY = DDL("""
CREATE OR REPLACE FUNCTION sagsgang_access_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN RAISE EXCEPTION 'access_log is append-only'; END $$;
CREATE TRIGGER access_log_append_only BEFORE UPDATE OR DELETE ON access_log
FOR EACH ROW EXECUTE FUNCTION sagsgang_access_log_append_only();
""")
_SQLITE_NO_UPDATE = DDL("CREATE TRIGGER access_log_no_update BEFORE UPDATE ON access_log "
                        "BEGIN SELECT RAISE(ABORT, 'access_log is append-only'); END")
_SQLITE_NO_DELETE = DDL("CREATE TRIGGER access_log_no_delete BEFORE DELETE ON access_log "
                        "BEGIN SELECT RAISE(ABORT, 'access_log is append-only'); END")
event.listen(AccessLogEntry.__table__, "after_create", _PG_APPEND_ONLY.execute_if(dialect="postgresql"))
event.listen(AccessLogEntry.__table__, "after_create", _SQLITE_NO_UPDATE.execute_if(dialect="sqlite"))
event.listen(AccessLogEntry.__table__, "after_create", _SQLITE_NO_DELETE.execute_if(dialect="sqlite"))
