"""Case types and their immutable published versions."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..db import Base, UTCDateTime, utcnow

VERSION_STATUSES = ("draft", "published", "retired")
PERSONAL_DATA_CATEGORIES = ("none", "ordinary", "sensitive", "cpr")


class CaseType(Base):
    __tablename__ = "case_types"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(80), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    prefix: Mapped[str] = mapped_column(String(10), unique=True)
    kle_number: Mapped[str] = mapped_column(String(20))
    handlingsfacet: Mapped[str] = mapped_column(String(10))
    deletion_rule: Mapped[str] = mapped_column(String(20))
    personal_data_category: Mapped[str] = mapped_column(String(20))
    owner_group_id: Mapped[int | None] = mapped_column(ForeignKey("groups.id"))
    lanes: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    versions: Mapped[list["CaseTypeVersion"]] = relationship(
        back_populates="case_type", order_by="CaseTypeVersion.number", cascade="all, delete-orphan")


class CaseTypeVersion(Base):
    """A set of model files; once published its files and hash never change."""

    __tablename__ = "case_type_versions"
    __table_args__ = (UniqueConstraint("case_type_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_type_id: Mapped[int] = mapped_column(ForeignKey("case_types.id", ondelete="CASCADE"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(20), default="draft")
    process_id: Mapped[str] = mapped_column(String(200))
    start_form: Mapped[str] = mapped_column(String(200), default="")
    content_hash: Mapped[str] = mapped_column(String(64), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    case_type: Mapped[CaseType] = relationship(back_populates="versions")
    files: Mapped[list["ModelFile"]] = relationship(
        back_populates="version", order_by="ModelFile.name", cascade="all, delete-orphan")


class ModelFile(Base):
    """One BPMN, DMN or JSON-Schema form file of a version (shared building blocks included)."""

    __tablename__ = "model_files"
    __table_args__ = (UniqueConstraint("version_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("case_type_versions.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(300))
    kind: Mapped[str] = mapped_column(String(10))  # bpmn, dmn, form
    content: Mapped[bytes] = mapped_column(LargeBinary)

    version: Mapped[CaseTypeVersion] = relationship(back_populates="files")
