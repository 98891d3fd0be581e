"""Case documents: a document of a case, its versions, and the CPR numbers each version names.

The bytes live in the document store (engine/storage.py) under `DocumentVersion.storage_key`;
a row is committed only after its file is written, so a row always has its file (a file without
a row is an orphan, removed by engine.services.documents.sweep_orphans). Every table here has a
`case_id`, so deleting a case (engine.services.retention) takes all of it.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ..db import Base, UTCDateTime, utcnow


class Document(Base):
    """One document of a case; what it holds is its newest version."""

    __tablename__ = "documents"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    # The newest version's file name, CPR numbers replaced by [CPR] (engine.cpr.redact).
    name: Mapped[str] = mapped_column(String(255))
    current_version: Mapped[int] = mapped_column(Integer, default=1)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class DocumentVersion(Base):
    """One uploaded file: the content type sniffed from its bytes, its size and SHA-256."""

    __tablename__ = "document_versions"
    __table_args__ = (UniqueConstraint("document_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("documents.id", ondelete="CASCADE"), index=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(120))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    storage_key: Mapped[str] = mapped_column(String(300), unique=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class DocumentCprReference(Base):
    """A CPR number found in a version's name or text, by its keyed lookup hash only.

    Data-subject requests find a person's documents through these rows without reading every
    file and without the number being stored anywhere (engine.crypto: HMAC-SHA256 under the
    lookup key, the same hash as CaseParty.cpr_hash).
    """

    __tablename__ = "document_cpr_references"
    __table_args__ = (UniqueConstraint("version_id", "cpr_hash"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("document_versions.id", ondelete="CASCADE"), index=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("documents.id", ondelete="CASCADE"), index=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    cpr_hash: Mapped[str] = mapped_column(String(64), index=True)
