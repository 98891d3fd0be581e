"""The access log: who used which case's personal data, when, how and for what purpose.

Datatilsynet expects public authorities to log employees' use of personal data: every view of a
case, every result list that shows it, every download and export. Rows are only ever added (the
database refuses UPDATE and DELETE on the table), and reading the log is itself logged.

`log_access` is called by the services that show personal data. A read-only unit of work is
never committed, so there the rows are written by a short transaction of their own, before the
data is returned; inside a writing unit of work they are part of its commit.
"""
from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from .. import cpr as cprs
from .. import permissions
from ..crypto import protector_for
from ..db import UnitOfWork, utcnow
from ..errors import InvalidInput
from ..models import Case, CaseParty, User
from ..models.gdpr import ACCESS_ACTIONS, AccessLogEntry
from .cases import get_case
from .org import get_user

DEFAULT_PURPOSE = "sagsbehandling"
_INSERT = insert(AccessLogEntry)


def clean_purpose(purpose: str | None) -> str:
    """A short purpose in words; never a CPR number (the log outlives the cases it names)."""
    purpose = (purpose or DEFAULT_PURPOSE).strip() or DEFAULT_PURPOSE
    if len(purpose) > 200:
        raise InvalidInput("the purpose is longer than 200 characters", field="purpose")
    if cprs.contains_cpr(purpose):
        raise InvalidInput("the purpose must not contain a CPR number", field="purpose")
    return purpose


def log_access(session: Session, user_id: int, action: str, purpose: str | None = None,
               case_ids: Iterable[int | None] = (None,), subject_hash: str | None = None,
               detail: dict | None = None) -> int:
    """Append one row per case (or one without a case) and make sure it is stored.

    Returns the number of rows written.
    """
    if action not in ACCESS_ACTIONS:
        raise ValueError(f"unknown access-log action {action!r}")
    purpose, now = clean_purpose(purpose), utcnow()
    rows = [{"at": now, "user_id": user_id, "case_id": case_id, "action": action, "purpose": purpose,
             "subject_hash": subject_hash, "detail": detail or {}} for case_id in case_ids]
    if not rows:
        return 0
    bind = session.get_bind()
    if bind.get_execution_options().get("sagsgang_read_only"):
        # A read-only unit of work rolls back; its own short transaction stores the rows now.
        # (In WAL mode a SQLite reader does not block this writer; PostgreSQL never does.)
        with bind.execution_options(sagsgang_read_only=False).begin() as conn:
            conn.execute(_INSERT, rows)
    else:
        session.connection().execute(_INSERT, rows)
    return len(rows)


def _entry(row, with_user: bool) -> dict:
    entry = {"at": row.at.isoformat(), "action": row.action, "purpose": row.purpose,
             "case": row.number}
    if with_user:
        entry["user"] = row.username
    return entry


def case_access_log(uow: UnitOfWork, number: str, actor: str, purpose: str | None = None,
                    limit: int = 1000) -> list[dict]:
    """Who looked at a case, when, how and why (newest first); for records managers and administrators."""
    session = uow.session
    user = get_user(session, actor)
    permissions.require(permissions.may_manage_records(session, user.id),
                        f"{actor} may not read the access log")
    case = get_case(session, number)
    rows = session.execute(
        select(AccessLogEntry.at, AccessLogEntry.action, AccessLogEntry.purpose, Case.number, User.username)
        .join(User, User.id == AccessLogEntry.user_id).join(Case, Case.id == AccessLogEntry.case_id)
        .where(AccessLogEntry.case_id == case.id)
        .order_by(AccessLogEntry.at.desc(), AccessLogEntry.id.desc()).limit(limit)).all()
    log_access(session, user.id, "read_access_log", purpose, [case.id])
    uow.commit()
    return [_entry(row, with_user=True) for row in rows]


def person_lookups(session: Session, lookup_hash: str) -> list[dict]:
    """Dates and purposes of look-ups on a person, without employees' names.

    A look-up on a person is a use of a case they are a party of, or a search for their number.
    Searches made to answer the person (data-subject requests) are included: they are look-ups too.
    """
    their_cases = select(CaseParty.case_id).where(CaseParty.cpr_hash == lookup_hash)
    rows = session.execute(
        select(AccessLogEntry.at, AccessLogEntry.action, AccessLogEntry.purpose, Case.number)
        .outerjoin(Case, Case.id == AccessLogEntry.case_id)
        .where((AccessLogEntry.case_id.in_(their_cases)) | (AccessLogEntry.subject_hash == lookup_hash))
        .order_by(AccessLogEntry.at, AccessLogEntry.id)).all()
    return [_entry(row, with_user=False) for row in rows]


def person_access_log(uow: UnitOfWork, cpr: str, actor: str, purpose: str | None = None) -> list[dict]:
    """The answer to "who has looked me up": dates, actions, cases and purposes; no employee names."""
    session = uow.session
    user = get_user(session, actor)
    permissions.require(permissions.may_manage_records(session, user.id),
                        f"{actor} may not read the access log")
    lookup_hash = protector_for(uow.runtime.settings).lookup_hash(cprs.normalise_cpr(cpr))
    entries = person_lookups(session, lookup_hash)
    log_access(session, user.id, "read_access_log", purpose, subject_hash=lookup_hash)
    uow.commit()
    return entries
