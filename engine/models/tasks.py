"""The flat task index: one row per user task, kept in step with the workflow state.

Task lists read only this table; they never deserialize a workflow.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..db import Base, UTCDateTime, utcnow
from .cases import Case
from .org import Group, User

TASK_STATES = ("open", "completed", "cancelled")
OPEN = "state = 'open'"


class CaseTask(Base):
    __tablename__ = "tasks"
    # The task lists (engine/services/worklists.py) read only open rows: one partial index per list,
    # leading with the equalities the list filters on and covering every column it filters or
    # sorts by, so a page and its count never visit the table (SQLite plans them as COVERING
    # INDEX, PostgreSQL as Index Only Scan) whatever the size of the table around them. The
    # queries must say `state = 'open'` as a literal for the planners to match the partial index.
    # No index on assignee_id that holds NULLs: SQLite, knowing only the average rows per value,
    # takes one for `assignee_id IS NULL` (a third of all open rows) and scans it. The assignee
    # index therefore leaves unassigned rows out; `assignee_id = ?` and `IN (...)` imply IS NOT
    # NULL, so both planners still match it. (With the NULLs in, SQLite read the group list's page
    # through it: bench/tasklist.py, docs/benchmarks.md.)
    __table_args__ = (
        Index("ix_tasks_open_by_assignee", "assignee_id", "state", "due_at", "priority", "created_at", "case_type_id",
              "case_number", "case_id", "id", sqlite_where=text(f"{OPEN} AND assignee_id IS NOT NULL"),
              postgresql_where=text(f"{OPEN} AND assignee_id IS NOT NULL")),
        Index("ix_tasks_open_by_group", "candidate_group_id", "state", "assignee_id", "due_at", "priority",
              "created_at", "case_type_id", "case_number", "case_id", "id",
              sqlite_where=text(f"{OPEN} AND assignee_id IS NULL"),
              postgresql_where=text(f"{OPEN} AND assignee_id IS NULL")),
        Index("ix_tasks_open_by_owner", "owner_id", "state", sqlite_where=text(f"{OPEN} AND owner_id IS NOT NULL"),
              postgresql_where=text(f"{OPEN} AND owner_id IS NOT NULL")),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)  # SpiffWorkflow task id
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    # Copied from the case when the task is created (neither ever changes), so that task lists
    # filter by case type and sort by case number inside their index, without joining cases.
    case_type_id: Mapped[int | None] = mapped_column(ForeignKey("case_types.id"))
    case_number: Mapped[str | None] = mapped_column(String(40))
    element_id: Mapped[str] = mapped_column(String(200))
    name: Mapped[str] = mapped_column(String(300))
    lane: Mapped[str] = mapped_column(String(200), default="")
    form: Mapped[str] = mapped_column(String(300), default="")
    instructions: Mapped[str] = mapped_column(Text, default="")
    state: Mapped[str] = mapped_column(String(20), default="open")
    candidate_group_id: Mapped[int | None] = mapped_column(ForeignKey("groups.id"))
    # Who acts on the task now: completes it, and sees it in "my tasks". While the task is
    # delegated this is the delegate and `owner_id` the user who delegated it (and may take it back).
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    priority: Mapped[int] = mapped_column(Integer, default=50)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    follow_up_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    completed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    case: Mapped[Case] = relationship()
    candidate_group: Mapped[Group | None] = relationship()
    assignee: Mapped[User | None] = relationship(foreign_keys=[assignee_id])
    owner: Mapped[User | None] = relationship(foreign_keys=[owner_id])
    completed_by: Mapped[User | None] = relationship(foreign_keys=[completed_by_id])
