"""Preconditions a client states (HTTP If-Match): the row_version it read must still be the row's.

The check runs in the unit of work that then acts, under the lock the action takes itself (the
case row: SELECT ... FOR UPDATE on PostgreSQL; SQLite's BEGIN IMMEDIATE holds the write lock
from the start), so nothing can change the row between the check and the action.
"""
from __future__ import annotations

from sqlalchemy import bindparam, select

from ..db import UnitOfWork
from ..errors import Conflict, NotFound
from ..models import Case, CaseTask, Meeting

_TASK_CASE = (select(Case.row_version).select_from(CaseTask).join(Case, Case.id == CaseTask.case_id)
              .where(CaseTask.id == bindparam("task_id")))
_TASK_CASE_LOCKED = _TASK_CASE.with_for_update(of=Case)  # the first lock task actions take, in their order
_MEETING = select(Meeting.row_version).where(Meeting.id == bindparam("meeting_id"))


def require_task_case_version(uow: UnitOfWork, task_id: str, expected: int | None) -> None:
    """Conflict unless the case of task `task_id` is still at row_version `expected` (None: no check)."""
    if expected is None:
        return
    conn = uow.session.connection()
    statement = _TASK_CASE if conn.dialect.name == "sqlite" else _TASK_CASE_LOCKED
    found = conn.execute(statement, {"task_id": str(task_id)}).scalar()
    if found is None:
        raise NotFound(f"unknown task '{task_id}'", field="task_id")
    if found != expected:  # no case number: the caller may not be allowed to see the case
        raise Conflict(f"the task's case changed since row_version {expected}; reload and try again",
                       field="If-Match")


def require_meeting_version(uow: UnitOfWork, meeting_id: int, expected: int | None) -> None:
    """Conflict unless meeting `meeting_id` is still at row_version `expected` (None: no check)."""
    if expected is None:
        return
    conn = uow.session.connection()
    statement = _MEETING if conn.dialect.name == "sqlite" else _MEETING.with_for_update()
    found = conn.execute(statement, {"meeting_id": meeting_id}).scalar()
    if found is None:
        raise NotFound(f"unknown meeting '{meeting_id}'", field="meeting_id")
    if found != expected:
        raise Conflict(f"the meeting changed since row_version {expected}; reload and try again", field="If-Match")
