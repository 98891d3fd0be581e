"""Case types and their versions (drafts, then immutable once published), and what owners do
around versions: acknowledged lint warnings, migrations of running cases to another version (with
the way back), and throw-away test runs of a draft."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..db import Base, UTCDateTime, utcnow

VERSION_STATUSES = ("draft", "published", "retired")
MIGRATION_STATUSES = ("running", "finished")
ITEM_OUTCOMES = ("pending", "moved", "refused", "failed", "reverted")
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
    # A draft is copied from a version (usually the newest published one); compare and migrate
    # default to that version.
    based_on_id: Mapped[int | None] = mapped_column(ForeignKey("case_type_versions.id", ondelete="SET NULL"))
    created_by: Mapped[str] = mapped_column(String(80), default="")
    published_by: Mapped[str | None] = mapped_column(String(80))
    # When a draft's files last changed (its content hash changes with them until it is published).
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

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



class LintAcknowledgement(Base):
    """An owner read a warning of the linter and accepts it for this version.

    `key` is the finding's rule|file|element (engine.lint.Finding.key), so the acknowledgement
    survives saves that do not touch the element; `message` keeps what the owner saw.
    """

    __tablename__ = "lint_acknowledgements"
    __table_args__ = (UniqueConstraint("version_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("case_type_versions.id", ondelete="CASCADE"), index=True)
    key: Mapped[str] = mapped_column(String(500))
    rule: Mapped[str] = mapped_column(String(60))
    message: Mapped[str] = mapped_column(Text, default="")
    note: Mapped[str] = mapped_column(Text, default="")
    acknowledged_by: Mapped[str] = mapped_column(String(80))
    acknowledged_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class CaseMigration(Base):
    """Moving the open cases of one version to another: a job whose counters the UI polls."""

    __tablename__ = "case_migrations"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_type_id: Mapped[int] = mapped_column(ForeignKey("case_types.id", ondelete="CASCADE"), index=True)
    from_version_id: Mapped[int] = mapped_column(ForeignKey("case_type_versions.id"))
    to_version_id: Mapped[int] = mapped_column(ForeignKey("case_type_versions.id"))
    status: Mapped[str] = mapped_column(String(20), default="running")
    total: Mapped[int] = mapped_column(Integer, default=0)
    moved: Mapped[int] = mapped_column(Integer, default=0)
    refused: Mapped[int] = mapped_column(Integer, default=0)
    failed: Mapped[int] = mapped_column(Integer, default=0)
    reverted: Mapped[int] = mapped_column(Integer, default=0)
    started_by: Mapped[str] = mapped_column(String(80))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class CaseMigrationItem(Base):
    """One case of a migration: whether it moved, why not, and how to move it back.

    `previous_state` is the case's workflow state before the move; it is personal data of that
    case only, cleared when the move is reverted and deleted with the case (ON DELETE CASCADE).
    """

    __tablename__ = "case_migration_items"
    __table_args__ = (UniqueConstraint("migration_id", "case_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    migration_id: Mapped[int] = mapped_column(ForeignKey("case_migrations.id", ondelete="CASCADE"), index=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    outcome: Mapped[str] = mapped_column(String(20), default="pending")
    reasons: Mapped[list] = mapped_column(JSON, default=list)
    previous_version_id: Mapped[int] = mapped_column(ForeignKey("case_type_versions.id"))
    previous_state: Mapped[str | None] = mapped_column(Text)
    # The case row's version right after the move: if it is unchanged, reverting restores the
    # previous state exactly; otherwise the case is migrated back like any other move.
    row_version_after: Mapped[int | None] = mapped_column(Integer)
    moved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reverted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reverted_by: Mapped[str | None] = mapped_column(String(80))


class ModelTestRun(Base):
    """A draft run with sample data, step by step, by its owner: no case row, no case number, no
    journal, no task index, so nothing of it reaches anyone's task list. The row holds the
    serialized workflow between steps (web processes share nothing else) and is deleted when the
    owner ends the run, or swept a day later."""

    __tablename__ = "model_test_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("case_type_versions.id", ondelete="CASCADE"), index=True)
    content_hash: Mapped[str] = mapped_column(String(64))
    started_by: Mapped[str] = mapped_column(String(80))
    state: Mapped[str] = mapped_column(Text)
    steps: Mapped[list] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
