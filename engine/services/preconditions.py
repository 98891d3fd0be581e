"""Preconditions a client states (HTTP If-Match) on a meeting: the row_version it read must still be the row's.

Task actions take theirs as `expected_row_version` (engine/services/tasks.py), checked on the
row their own locking query reads.

The check runs in the unit of work that then acts, and takes the meeting row's lock (SELECT ...
FOR UPDATE on PostgreSQL; SQLite's BEGIN IMMEDIATE holds the write lock from the start), so
nothing can change the row between the check and the action.
"""
from __future__ import annotations

from sqlalchemy import bindparam, select

from ..db import UnitOfWork
from ..errors import Conflict, NotFound
from ..models import Meeting

_MEETING = select(Meeting.row_version).where(Meeting.id == bindparam("meeting_id"))


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
