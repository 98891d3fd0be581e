"""Read-only views built from the index tables; none of them deserializes a workflow."""
from __future__ import annotations

from sqlalchemy import literal_column, select
from sqlalchemy.orm import Session

from .. import permissions
from ..models import Case, CaseTask, CaseType, JournalEvent, User
from . import access_log
from .cases import get_case
from .journal import verify_journal
from .org import get_user


def _task_dict(row: CaseTask) -> dict:
    return {"id": row.id, "case": row.case.number, "element_id": row.element_id, "name": row.name,
            "lane": row.lane, "form": row.form, "state": row.state,
            "candidate_group": row.candidate_group.key if row.candidate_group else None,
            "assignee": row.assignee.username if row.assignee else None,
            "due_at": row.due_at.isoformat() if row.due_at else None,
            "completed_at": row.completed_at.isoformat() if row.completed_at else None,
            "completed_by": row.completed_by.username if row.completed_by else None}


def case_overview(session: Session, number: str, actor: str, purpose: str | None = None) -> dict:
    """A case with its tasks and journal; the view is written to the access log with `purpose`."""
    user = get_user(session, actor)
    case = get_case(session, number)
    permissions.require(permissions.can_see_case(session, user, case), f"{actor} may not see case {number}")
    access_log.log_access(session, user.id, "view", purpose, [case.id])
    tasks = session.scalars(select(CaseTask).where(CaseTask.case_id == case.id).order_by(CaseTask.created_at))
    journal = session.scalars(select(JournalEvent).where(JournalEvent.case_id == case.id).order_by(JournalEvent.seq))
    return {
        "number": case.number, "title": case.title, "grouping": case.grouping,
        "case_type": case.case_type.key, "version": case.version.number, "status": case.status,
        "caseworker": case.caseworker.username if case.caseworker else None,
        "opened_at": case.opened_at.isoformat(), "closed_at": case.closed_at.isoformat() if case.closed_at else None,
        "next_timer_at": case.next_timer_at.isoformat() if case.next_timer_at else None,
        "gdpr_review_completed": case.gdpr_review_completed, "row_version": case.row_version,
        "tasks": [_task_dict(t) for t in tasks],
        "journal": [{"seq": e.seq, "at": e.at.isoformat(), "actor": e.actor, "kind": e.kind, "data": e.data}
                    for e in journal],
        "journal_intact": not verify_journal(session, case.id, case.journal_head),
    }


def list_cases(session: Session, actor: str, status: str | None = None, limit: int = 50,
               purpose: str | None = None) -> list[dict]:
    """The cases `actor` may see, newest change first; each listed case is written to the access log."""
    user = get_user(session, actor)
    query = select(Case).order_by(Case.updated_at.desc()).limit(limit)
    if status:
        query = query.where(Case.status == status)
    if not permissions.is_administrator(session, user):
        groups = permissions.group_ids(session, user)
        visible = select(CaseTask.case_id).where(
            (CaseTask.assignee_id == user.id) | (CaseTask.completed_by_id == user.id)
            | (CaseTask.candidate_group_id.in_(groups) if groups else False))
        owned = select(CaseType.id).where(CaseType.owner_group_id.in_(groups)) if groups else None
        condition = (Case.caseworker_id == user.id) | Case.id.in_(visible)
        if owned is not None:
            condition = condition | Case.case_type_id.in_(owned)
        query = query.where(condition)
    found = list(session.scalars(query))
    if found:
        access_log.log_access(session, user.id, "list", purpose, [c.id for c in found])
    return [{"number": c.number, "title": c.title, "case_type": c.case_type.key, "status": c.status,
             "grouping": c.grouping, "caseworker": c.caseworker.username if c.caseworker else None,
             "updated_at": c.updated_at.isoformat()} for c in found]


def open_tasks(session: Session, actor: str, scope: str = "mine", limit: int = 100) -> list[dict]:
    """'mine': assigned to the user; 'group': unassigned tasks of the user's groups."""
    user = get_user(session, actor)
    query = select(CaseTask).where(CaseTask.state == literal_column("'open'"))  # matches the partial indexes
    if scope == "mine":
        query = query.where(CaseTask.assignee_id == user.id)
    else:
        groups = permissions.group_ids(session, user)
        if not groups:
            return []
        query = query.where(CaseTask.assignee_id.is_(None), CaseTask.candidate_group_id.in_(groups))
    query = query.order_by(CaseTask.due_at.is_(None), CaseTask.due_at, CaseTask.created_at).limit(limit)
    return [_task_dict(row) for row in session.scalars(query)]
