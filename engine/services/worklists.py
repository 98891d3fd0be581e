"""Task lists and the navigation's counts: read-only, from the index tables alone.

"My tasks" are the open tasks assigned to me (delegated to me included) and those assigned to
users I substitute today. "My group's tasks" are the unassigned open tasks of my groups. "Delegated
by me" are the tasks I delegated and still own. All sort, filter and page in the database; none of
this deserializes a workflow.

Each list is three small queries after the user's own rows (memberships, substitutions): the total
count and one page of task ids, both answered inside one partial covering index of the open tasks
(engine/models/tasks.py; a grouping filter adds the case ids of that grouping), then the details
of that page's rows.
Their cost follows one user's or one group's open tasks, not the million rows around them.
docs/benchmarks.md has the plans and timings.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import and_, bindparam, case, func, literal_column, select
from sqlalchemy.orm import Session

from ..db import utcnow
from ..errors import InvalidInput, NotAllowed, NotFound
from ..localtime import day_bounds, due_state, local_today
from ..models import Case, CaseTask, CaseType, Group, JournalEvent, Membership, User
from ..permissions import substituted_user_ids

SORTS = {"due": CaseTask.due_at, "priority": CaseTask.priority, "created": CaseTask.created_at,
         "case": CaseTask.case_number}
DUE_STATES = ("overdue", "today", "week", "none")
MAX_PAGE = 200

_USER_ID = select(User.id).where(User.username == bindparam("username"))
_GROUP_IDS = select(Membership.group_id).where(Membership.user_id == bindparam("user_id"))
# One page's rows. Names come from scalar subqueries (one index lookup per row): joins let
# PostgreSQL hash the whole users table for a page of fifty.
_DETAILS = (
    select(CaseTask.id, CaseTask.name, CaseTask.element_id, CaseTask.form, CaseTask.assignee_id, CaseTask.owner_id,
           CaseTask.priority, CaseTask.created_at, CaseTask.due_at, CaseTask.follow_up_at,
           Case.number, Case.title, Case.grouping,
           select(CaseType.key).where(CaseType.id == Case.case_type_id).scalar_subquery().label("case_type"),
           select(Group.key).where(Group.id == CaseTask.candidate_group_id).scalar_subquery().label("candidate_group"),
           select(User.username).where(User.id == CaseTask.assignee_id).scalar_subquery().label("assignee"),
           select(User.username).where(User.id == CaseTask.owner_id).scalar_subquery().label("owner"))
    .select_from(CaseTask).join(Case, Case.id == CaseTask.case_id)
    .where(CaseTask.id.in_(bindparam("ids", expanding=True))))
# Newest journal events of one actor, walked backwards along ix_journal_events_actor_at.
_RECENT_EVENTS = (select(JournalEvent.case_id, JournalEvent.at).where(JournalEvent.actor == bindparam("actor"))
                  .order_by(JournalEvent.at.desc()).limit(bindparam("window")))
_LAST_CHANGE_PER_CASE = (select(JournalEvent.case_id, func.max(JournalEvent.at).label("at"))
                         .where(JournalEvent.actor == bindparam("actor")).group_by(JournalEvent.case_id)
                         .order_by(func.max(JournalEvent.at).desc()).limit(bindparam("limit")))
_CASES = (select(Case.id, Case.number, Case.title, Case.grouping, Case.status, CaseType.key.label("case_type"))
          .join(CaseType, CaseType.id == Case.case_type_id).where(Case.id.in_(bindparam("ids", expanding=True))))
_CASE_TYPE_ID = select(CaseType.id).where(CaseType.key == bindparam("key"))
_GROUP_BY_KEY = select(Group.id).where(Group.key == bindparam("key"))
# A literal, not a bound parameter: only then do SQLite and PostgreSQL's generic plans match the
# partial indexes (their WHERE says state = 'open').
_OPEN = CaseTask.state == literal_column("'open'")


def my_tasks(session: Session, actor: str, sort: str = "due", case_type: str | None = None,
             grouping: str | None = None, due: str | None = None, limit: int = 50, offset: int = 0,
             now: datetime | None = None) -> dict:
    """The open tasks I hold (delegated to me included) or cover for today, one page:
    {"total", "limit", "offset", "items"}; each item's "relation" says how it is mine.

    `sort`: due, priority, created or case (case number); '-' in front sorts descending. Tasks
    without a due date come last either way. `due`: overdue, today (due before midnight, not yet
    overdue), week (due before next Monday, not yet overdue) or none (no due date). `case_type` is
    a case type key, `grouping` a case's exact grouping.
    """
    user_id = _user_id(session, actor)
    holders = [user_id, *substituted_user_ids(session, user_id, local_today(now))]
    page = _page(session, [_OPEN, _in(CaseTask.assignee_id, holders)], sort, case_type, grouping, due,
                 limit, offset, now)
    for item in page["items"]:
        item.update(_relation(item, user_id))
    return page


def group_tasks(session: Session, actor: str, group: str | None = None, sort: str = "due",
                case_type: str | None = None, grouping: str | None = None, due: str | None = None,
                limit: int = 50, offset: int = 0, now: datetime | None = None) -> dict:
    """The unassigned open tasks of my groups (or of one of them, by key), one page, as my_tasks."""
    user_id = _user_id(session, actor)
    groups = _my_groups(session, user_id, group)
    if not groups:
        return {"total": 0, "limit": _limit(limit), "offset": _offset(offset), "items": []}
    where = [_OPEN, CaseTask.assignee_id.is_(None), _in(CaseTask.candidate_group_id, groups)]
    page = _page(session, where, sort, case_type, grouping, due, limit, offset, now)
    for item in page["items"]:
        item["relation"] = "group"
    return page


def delegated_tasks(session: Session, actor: str, sort: str = "due", case_type: str | None = None,
                    grouping: str | None = None, due: str | None = None, limit: int = 50, offset: int = 0,
                    now: datetime | None = None) -> dict:
    """The open tasks I delegated and may take back, one page, as my_tasks."""
    user_id = _user_id(session, actor)
    page = _page(session, [_OPEN, CaseTask.owner_id == user_id], sort, case_type, grouping, due, limit, offset, now)
    for item in page["items"]:
        item["relation"] = "delegated_by_me"
    return page


def task_counts(session: Session, actor: str, now: datetime | None = None) -> dict:
    """The navigation's counts: {"mine", "overdue" (of mine), "group", "delegated" (by me)}."""
    now = now or utcnow()
    user_id = _user_id(session, actor)
    holders = [user_id, *substituted_user_ids(session, user_id, local_today(now))]
    mine, overdue = session.execute(
        select(func.count(), func.coalesce(func.sum(case((CaseTask.due_at < now, 1), else_=0)), 0))
        .where(_OPEN, _in(CaseTask.assignee_id, holders))).one()
    groups = _my_groups(session, user_id, None)
    in_groups = 0
    if groups:
        in_groups = session.scalar(select(func.count()).where(
            _OPEN, CaseTask.assignee_id.is_(None), _in(CaseTask.candidate_group_id, groups)))
    delegated = session.scalar(select(func.count()).where(_OPEN, CaseTask.owner_id == user_id))
    return {"mine": mine, "overdue": overdue, "group": in_groups, "delegated": delegated}


def latest_cases(session: Session, actor: str, limit: int = 10) -> list[dict]:
    """The cases `actor` changed last (newest first), from the journal: any event they wrote."""
    _user_id(session, actor)
    limit = max(1, min(int(limit), 50))
    conn = session.connection()
    # A window of newest events holds the last ten cases for anyone who does more than repeat
    # actions on a few cases; otherwise fall back to one row per case (still one index range).
    window = 20 * limit
    order: dict[int, datetime] = {}
    rows = conn.execute(_RECENT_EVENTS, {"actor": actor, "window": window}).all()
    for case_id, at in rows:
        order.setdefault(case_id, at)
    if len(order) < 2 * limit and len(rows) == window:
        order = dict(conn.execute(_LAST_CHANGE_PER_CASE, {"actor": actor, "limit": 2 * limit}).all())
    if not order:
        return []
    # Newest first; a few more than asked for, in case some were deleted since.
    newest = sorted(order.items(), key=lambda item: item[1], reverse=True)[:2 * limit]
    found = {row.id: row for row in conn.execute(_CASES, {"ids": [case_id for case_id, _ in newest]})}
    result = []
    for case_id, at in newest:
        row = found.get(case_id)
        if row is None or row.status == "deleted":
            continue
        result.append({"number": row.number, "title": row.title, "case_type": row.case_type,
                       "grouping": row.grouping, "status": row.status, "changed_at": at.isoformat()})
        if len(result) == limit:
            break
    return result


# --- building blocks ------------------------------------------------------------------------------

def _page(session: Session, where: list, sort: str, case_type: str | None, grouping: str | None,
          due: str | None, limit: int, offset: int, now: datetime | None) -> dict:
    limit, offset = _limit(limit), _offset(offset)
    bounds = day_bounds(now)
    sort_column, descending = _sort(sort)
    where = list(where)
    if case_type:
        type_id = session.connection().execute(_CASE_TYPE_ID, {"key": case_type}).scalar()
        if type_id is None:
            raise NotFound(f"unknown case type '{case_type}'", field="case_type")
        where.append(CaseTask.case_type_id == type_id)
    if due:
        where.append(_due_condition(due, bounds))

    if grouping:
        # The one filter the task index does not carry (a case's grouping may change): the cases of
        # that grouping come from their own index, and each task's case_id is checked inside ours.
        where.append(CaseTask.case_id.in_(select(Case.id).where(Case.grouping == grouping)))

    def base(*columns):
        return select(*columns).select_from(CaseTask).where(*where)

    total = session.scalar(base(func.count()))
    items: list[dict] = []
    if total and offset < total:
        key = sort_column.desc() if descending else sort_column.asc()
        if sort_column is CaseTask.due_at:
            key = key.nulls_last()
        tie = (CaseTask.created_at.desc(), CaseTask.id) if descending else (CaseTask.created_at, CaseTask.id)
        ids = list(session.scalars(base(CaseTask.id).order_by(key, *tie).limit(limit).offset(offset)))
        details = {row.id: row for row in session.connection().execute(_DETAILS, {"ids": ids})}
        items = [_item(details[task_id], bounds) for task_id in ids if task_id in details]
    return {"total": total, "limit": limit, "offset": offset, "items": items}


def _item(row, bounds: dict) -> dict:
    return {"id": row.id, "name": row.name, "element_id": row.element_id, "form": row.form,
            "case": row.number, "case_title": row.title, "case_type": row.case_type, "grouping": row.grouping,
            "candidate_group": row.candidate_group, "assignee": row.assignee, "owner": row.owner,
            "assignee_id": row.assignee_id, "owner_id": row.owner_id, "priority": row.priority,
            "created_at": row.created_at.isoformat(), "due_at": row.due_at.isoformat() if row.due_at else None,
            "follow_up_at": row.follow_up_at.isoformat() if row.follow_up_at else None,
            "due_state": due_state(row.due_at, bounds)}


def _relation(item: dict, user_id: int) -> dict:
    """How a task in "my tasks" came to be mine."""
    if item["assignee_id"] == user_id:
        return {"relation": "delegated_to_me" if item["owner_id"] is not None else "assigned"}
    return {"relation": "substitute", "on_behalf_of": item["assignee"]}


def _in(column, values):
    values = sorted(values)
    return column == values[0] if len(values) == 1 else column.in_(values)


def _due_condition(due: str, bounds: dict):
    now, tomorrow, next_week = bounds["now"], bounds["tomorrow"], bounds["next_week"]
    if due == "overdue":
        return CaseTask.due_at < now
    if due == "today":
        return and_(CaseTask.due_at >= now, CaseTask.due_at < tomorrow)
    if due == "week":
        return and_(CaseTask.due_at >= now, CaseTask.due_at < next_week)
    if due == "none":
        return CaseTask.due_at.is_(None)
    raise InvalidInput(f"due must be one of {', '.join(DUE_STATES)}, not {due!r}", field="due")


def _sort(sort: str):
    name = (sort or "due").strip()
    descending = name.startswith("-")
    column = SORTS.get(name.lstrip("-"))
    if column is None:
        raise InvalidInput(f"sort must be one of {', '.join(SORTS)} (with '-' for descending), not {sort!r}",
                           field="sort")
    return column, descending


def _limit(limit) -> int:
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_PAGE:
        raise InvalidInput(f"limit must be a whole number from 1 to {MAX_PAGE}", field="limit")
    return limit


def _offset(offset) -> int:
    if isinstance(offset, bool) or not isinstance(offset, int) or offset < 0:
        raise InvalidInput("offset must be a whole number of at least 0", field="offset")
    return offset


def _user_id(session: Session, username: str) -> int:
    user_id = session.connection().execute(_USER_ID, {"username": username}).scalar()
    if user_id is None:
        raise NotFound(f"unknown user '{username}'", field="username")
    return user_id


def _my_groups(session: Session, user_id: int, group: str | None) -> list[int]:
    groups = sorted(session.connection().execute(_GROUP_IDS, {"user_id": user_id}).scalars())
    if group is None:
        return groups
    group_id = session.connection().execute(_GROUP_BY_KEY, {"key": group}).scalar()
    if group_id is None:
        raise NotFound(f"unknown group '{group}'", field="group")
    if group_id not in groups:
        raise NotAllowed(f"the tasks of group '{group}' are for its members")
    return [group_id]
