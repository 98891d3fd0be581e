"""Task lists and the navigation's counts: read-only, from the index tables alone.

"My tasks" are the open tasks assigned to me (delegated to me included) and those assigned to
users I substitute today. "My group's tasks" are the unassigned open tasks of my groups. "Delegated
by me" are the tasks I delegated and still own. All sort, filter and page in the database; none of
this deserializes a workflow.

A list is two statements: the user with whom they cover today, then one that pages through a
partial covering index of the open tasks (engine/models/tasks.py), counts the rows with a window
count and adds the page's details (SQLite counts in a statement of its own: no round trips
there); a grouping filter adds the case ids of that grouping from the cases' own index. The cost
follows one user's or one group's open tasks, not the million rows around them, and round trips
stay few (they dominate on PostgreSQL). docs/benchmarks.md has the plans and timings.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, and_, bindparam, exists, func, literal_column, select
from sqlalchemy.orm import Session

from .. import permissions
from ..db import hot_connection, utcnow
from ..errors import InvalidInput, NotAllowed, NotFound
from ..localtime import day_bounds, due_state, local_today
from ..models import (Case, CaseTask, CaseType, CaseTypeVersion, Group, JournalEvent, Membership, Notification,
                      Substitution, User)

SORTS = {"due": CaseTask.due_at, "priority": CaseTask.priority, "created": CaseTask.created_at,
         "case": CaseTask.case_number}
DUE_STATES = ("overdue", "today", "week", "none")
MAX_PAGE = 200

_USER_ID = select(User.id).where(User.username == bindparam("username"))
# The user and whom they cover today, in one round trip.
_VIEWER = (select(User.id, Substitution.user_id).select_from(User)
           .outerjoin(Substitution, and_(Substitution.substitute_id == User.id,
                                         Substitution.from_date <= bindparam("today"),
                                         Substitution.to_date >= bindparam("today"), Substitution.ended_at.is_(None)))
           .where(User.username == bindparam("username")))
_IS_MEMBER = select(Membership.id).where(Membership.user_id == bindparam("user_id"),
                                         Membership.group_id == bindparam("group_id"))
# The columns a list item shows. Names come from scalar subqueries (one index lookup per row):
# joins let PostgreSQL hash the whole users table for a page of fifty.
_ITEM_COLUMNS = (
    CaseTask.id, CaseTask.name, CaseTask.element_id, CaseTask.form, CaseTask.assignee_id, CaseTask.owner_id,
    CaseTask.priority, CaseTask.created_at, CaseTask.due_at, CaseTask.follow_up_at,
    Case.number, Case.title, Case.grouping,
    select(CaseType.key).where(CaseType.id == Case.case_type_id).scalar_subquery().label("case_type"),
    select(Group.key).where(Group.id == CaseTask.candidate_group_id).scalar_subquery().label("candidate_group"),
    select(User.username).where(User.id == CaseTask.assignee_id).scalar_subquery().label("assignee"),
    select(User.username).where(User.id == CaseTask.owner_id).scalar_subquery().label("owner"))
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


def _count(*where):
    return select(func.count()).select_from(CaseTask).where(_OPEN, *where).scalar_subquery()


# The navigation's counts, prepared once (building the statement cost more than SQLite running it).
_MINE = CaseTask.assignee_id.in_(bindparam("holders", expanding=True))
_COUNT_COLUMNS = (
    _count(_MINE).label("mine"),
    _count(_MINE, CaseTask.due_at < bindparam("now", type_=CaseTask.due_at.type)).label("overdue"),
    _count(CaseTask.assignee_id.is_(None), CaseTask.candidate_group_id.in_(
        select(Membership.group_id).where(Membership.user_id == bindparam("user_id")).scalar_subquery()))
    .label("group"),
    _count(CaseTask.owner_id == bindparam("user_id")).label("delegated"))
_COUNTS = select(*_COUNT_COLUMNS)
_NAVIGATION = select(*_COUNT_COLUMNS,
                     permissions.manages_records_clause(bindparam("user_id")).label("records"),
                     permissions.manages_some_case_type_clause(bindparam("user_id")).label("case_types"),
                     select(func.count(Notification.id)).where(Notification.user_id == bindparam("user_id"),
                                                               Notification.read_at.is_(None))
                     .scalar_subquery().label("unread"))
# The lists' own conditions, by name, values bound at run time (_page). The partial indexes'
# literal 'open' is in each; "mine" is one assignee (the index's equality), "covering" the user and
# those they stand in for today.
_GROUPS_OF_USER = select(Membership.group_id).where(Membership.user_id == bindparam("user_id")).scalar_subquery()
_SCOPES = {
    "mine": (_OPEN, CaseTask.assignee_id == bindparam("holder")),
    "covering": (_OPEN, CaseTask.assignee_id.in_(bindparam("holders", expanding=True))),
    "groups": (_OPEN, CaseTask.assignee_id.is_(None), CaseTask.candidate_group_id.in_(_GROUPS_OF_USER)),
    "one_group": (_OPEN, CaseTask.assignee_id.is_(None), CaseTask.candidate_group_id == bindparam("group_id")),
    "delegated": (_OPEN, CaseTask.owner_id == bindparam("user_id")),
}
_DUE_AT = CaseTask.due_at
_DUE = {  # due filters against day_bounds(now): overdue, today, this week, none
    "overdue": _DUE_AT < bindparam("now", type_=_DUE_AT.type),
    "today": and_(_DUE_AT >= bindparam("now", type_=_DUE_AT.type), _DUE_AT < bindparam("tomorrow", type_=_DUE_AT.type)),
    "week": and_(_DUE_AT >= bindparam("now", type_=_DUE_AT.type), _DUE_AT < bindparam("next_week", type_=_DUE_AT.type)),
    "none": _DUE_AT.is_(None),
}
_STATEMENT_CACHE: dict[tuple, tuple] = {}
_CASE_TYPE_CHOICES = select(CaseType.key, CaseType.name, exists(select(CaseTypeVersion.id).where(
    CaseTypeVersion.case_type_id == CaseType.id, CaseTypeVersion.status == "published"))).order_by(CaseType.name)


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
    user_id, holders = _viewer(session, actor, now)
    scope, params = ("mine", {"holder": user_id}) if len(holders) == 1 else ("covering", {"holders": holders})
    page = _page(session, scope, params, sort, case_type, grouping, due, limit, offset, now)
    for item in page["items"]:
        item.update(_relation(item, user_id))
    return page


def group_tasks(session: Session, actor: str, group: str | None = None, sort: str = "due",
                case_type: str | None = None, grouping: str | None = None, due: str | None = None,
                limit: int = 50, offset: int = 0, now: datetime | None = None) -> dict:
    """The unassigned open tasks of my groups (or of one of them, by key), one page, as my_tasks."""
    user_id, _ = _viewer(session, actor, now)
    scope, params = (("one_group", {"group_id": _my_group(session, user_id, group)}) if group
                     else ("groups", {"user_id": user_id}))
    page = _page(session, scope, params, sort, case_type, grouping, due, limit, offset, now)
    for item in page["items"]:
        item["relation"] = "group"
    return page


def delegated_tasks(session: Session, actor: str, sort: str = "due", case_type: str | None = None,
                    grouping: str | None = None, due: str | None = None, limit: int = 50, offset: int = 0,
                    now: datetime | None = None) -> dict:
    """The open tasks I delegated and may take back, one page, as my_tasks."""
    user_id, _ = _viewer(session, actor, now)
    page = _page(session, "delegated", {"user_id": user_id}, sort, case_type, grouping, due, limit, offset, now)
    for item in page["items"]:
        item["relation"] = "delegated_by_me"
    return page


def task_counts(session: Session, actor: str, now: datetime | None = None) -> dict:
    """The navigation's counts: {"mine", "overdue" (of mine), "group", "delegated" (by me)}."""
    row = hot_connection(session).execute(_COUNTS, _count_parameters(session, actor, now)).one()
    return dict(zip(row._fields, row))


def navigation(session: Session, actor: str, now: datetime | None = None) -> dict:
    """All a page's navigation reads, in one statement: task_counts' counts, whether the menu
    shows "Records" (permissions.may_manage_records) and "Case types"
    (permissions.may_manage_some_case_type), and the bell's unread notifications
    (notifications.unread_count), as {"counts": {...}, "records": bool, "case_types": bool, "unread": int}."""
    row = hot_connection(session).execute(_NAVIGATION, _count_parameters(session, actor, now)).one()
    values = dict(zip(row._fields, row))
    return {"records": bool(values.pop("records")), "case_types": bool(values.pop("case_types")),
            "unread": values.pop("unread"), "counts": values}


def case_type_choices(session: Session) -> list[dict]:
    """Every case type by name, {"key", "name", "published"}: the names for lists that carry keys, and
    (the published ones) the task lists' case-type filter. One statement."""
    return [{"key": key, "name": name, "published": bool(published)}
            for key, name, published in hot_connection(session).execute(_CASE_TYPE_CHOICES)]


def _count_parameters(session: Session, actor: str, now: datetime | None) -> dict:
    now = now or utcnow()
    user_id, holders = _viewer(session, actor, now)
    return {"user_id": user_id, "holders": holders, "now": now}


def latest_cases(session: Session, actor: str, limit: int = 10) -> list[dict]:
    """The cases `actor` changed last (newest first), from the journal: any event they wrote."""
    _user_id(session, actor)
    limit = max(1, min(int(limit), 50))
    conn = hot_connection(session)
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

def _page(session: Session, scope: str, params: dict, sort: str, case_type: str | None, grouping: str | None,
          due: str | None, limit: int, offset: int, now: datetime | None) -> dict:
    """One page and the total: the inner query pages through the covering index, the outer one
    adds the page's details. `scope` names the list's conditions (_SCOPES), `params` their values."""
    limit, offset = _limit(limit), _offset(offset)
    bounds = day_bounds(now)
    sort_column, descending = _sort(sort)
    if due and due not in _DUE:
        raise InvalidInput(f"due must be one of {', '.join(DUE_STATES)}, not {due!r}", field="due")
    conn = hot_connection(session)  # prepared Core statements: the ORM's execution path only adds cost here
    params = {**params, "limit": limit, "offset": offset, **bounds}
    if case_type:
        params["case_type_id"] = conn.execute(_CASE_TYPE_ID, {"key": case_type}).scalar()
        if params["case_type_id"] is None:
            raise NotFound(f"unknown case type '{case_type}'", field="case_type")
    if grouping:
        params["grouping"] = grouping
    # PostgreSQL: the total rides along as a window count, saving a round trip. SQLite has no round
    # trips, and a window over every matching row costs it more than a second count in the index.
    window = conn.dialect.name != "sqlite"
    name = next(key for key, column in SORTS.items() if column is sort_column)
    count, page = _statements(scope, name, descending, bool(case_type), due or "", bool(grouping), window)
    total = None if window else conn.execute(count, params).scalar()
    rows = conn.execute(page, params).all() if total is None or offset < total else []
    if total is None:
        # Past the last page (or nothing at all) the window count comes with no row.
        total = rows[0].total if rows else (conn.execute(count, params).scalar() if offset else 0)
    return {"total": total, "limit": limit, "offset": offset, "items": [_item(row, bounds) for row in rows]}


def _statements(scope: str, sort: str, descending: bool, case_type: bool, due: str, grouping: bool,
                window: bool) -> tuple:
    """The count and the page statement of one shape of list, built once and then reused with new
    values: building them cost more than SQLite running them (docs/benchmarks.md, task lists)."""
    key = (scope, sort, descending, case_type, due, grouping, window)
    found = _STATEMENT_CACHE.get(key)
    if found is not None:
        return found
    where = list(_SCOPES[scope])
    if case_type:
        where.append(CaseTask.case_type_id == bindparam("case_type_id"))
    if due:
        where.append(_DUE[due])
    if grouping:
        # The one filter the task index does not carry (a case's grouping may change). Asked per task
        # of the list, each case looked up by primary key: the cost follows the queue, not the
        # grouping. `case_id IN (the grouping's cases)` let SQLite start from a popular grouping's
        # thousands of cases and read every task of each (13-56 ms; docs/benchmarks.md, task lists).
        where.append(exists(select(Case.id).where(Case.id == CaseTask.case_id, Case.grouping == bindparam("grouping"))))
    sort_column = SORTS[sort]
    count = select(func.count()).select_from(CaseTask).where(*where)
    columns = [CaseTask.id.label("page_id"), sort_column.label("sort_key"), CaseTask.created_at.label("sort_created")]
    if window:
        columns.append(func.count().over().label("total"))
    page = (select(*columns).select_from(CaseTask).where(*where)
            .order_by(*_order(sort_column, CaseTask.created_at, CaseTask.id, descending))
            .limit(bindparam("limit", type_=Integer)).offset(bindparam("offset", type_=Integer)).subquery("page"))
    rows = (select(*_ITEM_COLUMNS, *([page.c.total] if window else [])).select_from(page)
            .join(CaseTask, CaseTask.id == page.c.page_id).join(Case, Case.id == CaseTask.case_id)
            .order_by(*_order(page.c.sort_key, page.c.sort_created, page.c.page_id, descending)))
    found = _STATEMENT_CACHE[key] = (count, rows)
    return found


def _order(key, created, task_id, descending: bool) -> tuple:
    """Sort key (no due date last either way), then age, then id: a stable order for paging."""
    first = (key.desc() if descending else key.asc()).nulls_last()
    return (first, created.desc() if descending else created.asc(), task_id)


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
    user_id = hot_connection(session).execute(_USER_ID, {"username": username}).scalar()
    if user_id is None:
        raise NotFound(f"unknown user '{username}'", field="username")
    return user_id


def _viewer(session: Session, actor: str, now: datetime | None) -> tuple[int, list[int]]:
    """The user's id, and the ids whose tasks are theirs today: their own and those they cover.

    Remembered for the rest of a read-only unit of work (a page asks for its list and for the
    navigation's counts: one lookup, not two); a unit of work that may write asks every time, since
    it may change a substitution in between."""
    today = local_today(now)
    memo = session.info.setdefault("worklists_viewer", {}) if _read_only(session) else {}
    found = memo.get((actor, today))
    if found is None:
        rows = hot_connection(session).execute(_VIEWER, {"username": actor, "today": today}).all()
        if not rows:
            raise NotFound(f"unknown user '{actor}'", field="username")
        user_id = rows[0][0]
        found = memo[(actor, today)] = (user_id, [user_id, *sorted({c for _, c in rows if c is not None})])
    return found[0], list(found[1])


def _read_only(session: Session) -> bool:
    """Whether the session is a read-only unit of work's (engine/db.py: its engine carries the option)."""
    bind = session.get_bind()
    return bool(getattr(bind, "get_execution_options", dict)().get("sagsgang_read_only"))


def _my_group(session: Session, user_id: int, group: str) -> int:
    """The id of one of the user's groups, by key."""
    conn = hot_connection(session)
    group_id = conn.execute(_GROUP_BY_KEY, {"key": group}).scalar()
    if group_id is None:
        raise NotFound(f"unknown group '{group}'", field="group")
    if conn.execute(_IS_MEMBER, {"user_id": user_id, "group_id": group_id}).first() is None:
        raise NotAllowed(f"the tasks of group '{group}' are for its members")
    return group_id
