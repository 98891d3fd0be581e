"""Search: what a user may see, matching their words, ranked and paged, with highlighted snippets.

Permissions are part of the query, never a filter over a fetched page, so the total and every
page count only what the user may see. The rule is can_see_case's (engine/permissions.py): each
index row carries who may see it as tokens (engine/search/index.py), and the user's own tokens
(`visibility_tokens`) go into the full-text query, so the index scan itself skips what the user
may not see, however few of the matches that leaves. Tests hold tokens and rule together for
every demo user and case, also after task actions. Closed agenda items are found only by their
committee; deleted cases by nobody (`visible_condition`, checked in SQL on the hits).

Every result page that shows cases is written to the access log (the cases on the page, not the
words searched for: those can name a person).
"""
from __future__ import annotations

import json
from datetime import date, datetime, timedelta

from sqlalchemy import (ARRAY, Integer, and_, bindparam, column, exists, false, func, literal, literal_column, not_,
                        or_, select)
from sqlalchemy.orm import Session

from .. import permissions
from ..models.search import SEARCH_KINDS, SearchDocument
from ..db import UnitOfWork
from ..errors import InvalidInput, NotAllowed
from ..localtime import parse_date, start_of_day
from ..models import (AgendaEntry, AgendaItem, AgendaSection, Case, CaseTask, CaseType, Committee, CommitteeMember,
                      Meeting, User)
from ..runtime.state import load_state
from ..services.access_log import log_access
from ..services.cases import model_for_version
from . import index
from .backends import backend_for
from .text import parse_query

MAX_LIMIT = 100
COUNT_CAP = 1000
CHECK_CHUNK = 1000  # ids checked against the SQL conditions per statement
# Matches ranked per search, the newest: all of them for most words. A word in more rows says
# little about which row is meant (BM25 and ts_rank give it almost no weight), and ranking ten
# thousand rows costs more than the rest of a search (docs/benchmarks.md).
RANK_LIMIT = 2_000
STATUSES = ("open", "closed")


def search(uow: UnitOfWork, actor: str, q: str, *, case_type: str | None = None, kle_number: str | None = None,
           grouping: str | None = None, status: str | None = None, caseworker: str | None = None,
           opened_from=None, opened_to=None, closed_from=None, closed_to=None, kinds=None,
           limit: int = 20, offset: int = 0, purpose: str | None = None) -> dict:
    """One page of hits, best first: {"total", "total_exact", "limit", "offset", "backend", "items": [...]}.

    `total` counts at most COUNT_CAP hits; `total_exact` false: there are at least `total`.

    Each item: kind (case, document, agenda_item), ref (its index key), title and snippet as HTML
    (escaped, matches in <mark>), rank, and the case it belongs to (None for an agenda item without
    a case). Filters apply to that case; dates are Danish calendar days, both ends included.
    """
    session = uow.session
    user_id = _active_user_id(session, actor)
    query = parse_query(q)
    limit, offset = _bounds(limit, offset)
    tokens = visibility_tokens(session, user_id)
    match = backend_for(session).match(query, tokens)
    where = [visible_condition(session, user_id, index_checked=tokens is not None),
             *_filters(session, case_type, kle_number, grouping, status, caseworker,
                       opened_from, opened_to, closed_from, closed_to, kinds)]
    total, exact, page = _total_and_page(session, match, where, limit, offset)
    items = _items(session, match, page)
    case_ids = sorted({item["case_id"] for item in items if item["case_id"] is not None})
    if case_ids:
        log_access(session, user_id, "search", purpose, case_ids, detail={"hits": total})
    for item in items:
        del item["case_id"]
    return {"total": min(total, COUNT_CAP), "total_exact": exact and total <= COUNT_CAP, "limit": limit,
            "offset": offset, "backend": match.backend.name, "items": items}


def _total_and_page(session: Session, match, where: list, limit: int, offset: int) -> tuple[int, bool, list]:
    """(visible hits counted up to COUNT_CAP + 1, whether that count is all, [(id, rank)] of a page best first).

    One pass over the full-text index: the newest RANK_LIMIT matches with their rank, best first
    (all of them for all but very common words; of a word in more rows, the best of its newest:
    BM25 and ts_rank give such words almost no weight, and ranking every match would cost more
    than the rest of the search). With the user's visibility tokens in the match these are
    already the user's. The SQL conditions that need the case (deleted, filters; closed agenda
    items for an administrator) are then checked on those ids a chunk at a time, in page order,
    only until the page is full and the count reaches its cap (PostgreSQL checks them in the
    statement that ranks the rows, and the chunks then only decide where the count stops). When more matched than were
    fetched, the count is of the fetched ones (at least that many: not exact). Only a page the
    fetched ones cannot fill runs the whole query with every condition in SQL, newest first.
    """
    ranked, every_match, checked = match.best_of_newest(session, RANK_LIMIT, where)
    wanted, survivors = offset + limit, []
    for start in range(0, len(ranked), CHECK_CHUNK):
        chunk = ranked[start:start + CHECK_CHUNK]
        allowed = checked if checked is not None else set(session.scalars(
            select(SearchDocument.id)
            .select_from(SearchDocument.__table__.outerjoin(Case, Case.id == SearchDocument.case_id))
            .where(_id_in_list(session), *where), {"id_list": _id_list(session, [row_id for row_id, _ in chunk])}))
        survivors += [hit for hit in chunk if hit[0] in allowed]
        if len(survivors) > COUNT_CAP and len(survivors) >= wanted:
            return len(survivors), False, survivors[offset:wanted]
    if every_match or len(survivors) >= wanted:
        return len(survivors), every_match, survivors[offset:wanted]
    total = _count_in_sql(session, match, where)
    return total, total <= COUNT_CAP, _page_in_sql(session, match, where, limit, offset)


def _id_in_list(session: Session):
    """`search_documents.id` in the list bound as :id_list, as one parameter (a JSON array on SQLite,
    an integer array on PostgreSQL): a thousand ids compile and bind as cheaply as one."""
    if session.get_bind().dialect.name == "postgresql":
        return SearchDocument.id == func.any(bindparam("id_list", type_=ARRAY(Integer)))
    return SearchDocument.id.in_(select(column("value")).select_from(func.json_each(bindparam("id_list"))))


def _id_list(session: Session, ids: list[int]):
    return ids if session.get_bind().dialect.name == "postgresql" else json.dumps(ids)


def _count_in_sql(session: Session, match, where: list) -> int:
    """How many visible hits, counted up to COUNT_CAP + 1, with every condition in SQL."""
    source = match.source.outerjoin(Case, Case.id == SearchDocument.case_id)
    hits = select(SearchDocument.id).select_from(source).where(match.condition, *where).limit(COUNT_CAP + 1)
    return session.execute(select(func.count()).select_from(hits.subquery())).scalar_one()


def _page_in_sql(session: Session, match, where: list, limit: int, offset: int) -> list[tuple[int, float]]:
    """One page of visible hits newest first, with every condition in SQL (few of very many survive)."""
    source = match.source.outerjoin(Case, Case.id == SearchDocument.case_id)
    return [tuple(row) for row in session.execute(
        select(SearchDocument.id, literal(0).label("rank")).select_from(source).where(match.condition, *where)
        .order_by(SearchDocument.id.desc()).limit(limit).offset(offset)).all()]


def list_cases(uow: UnitOfWork, actor: str, *, case_type: str | None = None, kle_number: str | None = None,
               grouping: str | None = None, status: str | None = None, caseworker: str | None = None,
               opened_from=None, opened_to=None, closed_from=None, closed_to=None,
               limit: int = 20, offset: int = 0, purpose: str | None = None) -> dict:
    """The cases `actor` may see, filtered like search but without words, last changed first.

    {"total", "limit", "offset", "items": [case summaries]}; the page goes to the access log.
    """
    session = uow.session
    user_id = _active_user_id(session, actor)
    limit, offset = _bounds(limit, offset)
    where = [Case.status != "deleted", visible_cases_condition(session, user_id),
             *_filters(session, case_type, kle_number, grouping, status, caseworker,
                       opened_from, opened_to, closed_from, closed_to, None)]
    total = session.execute(select(func.count()).select_from(Case).where(*where)).scalar_one()
    rows = session.execute(
        select(Case.id, Case.number, Case.title, Case.status, Case.grouping, Case.opened_at, Case.closed_at,
               Case.updated_at, Case.row_version, CaseType.key.label("case_type"), User.username.label("caseworker"))
        .join(CaseType, CaseType.id == Case.case_type_id).outerjoin(User, User.id == Case.caseworker_id)
        .where(*where).order_by(Case.updated_at.desc(), Case.id.desc()).limit(limit).offset(offset)).all()
    if rows:
        log_access(session, user_id, "list", purpose, [row.id for row in rows])
    items = [{"number": r.number, "title": r.title, "case_type": r.case_type, "status": r.status,
              "grouping": r.grouping, "caseworker": r.caseworker, "opened_at": r.opened_at.isoformat(),
              "closed_at": r.closed_at.isoformat() if r.closed_at else None, "updated_at": r.updated_at.isoformat(),
              "row_version": r.row_version} for r in rows]
    return {"total": total, "limit": limit, "offset": offset, "items": items}


def visibility_tokens(session: Session, user_id: int) -> list[str] | None:
    """The index tokens of the rows `user_id` may see (engine/search/index.py); None: every case row.

    Case rows and documents: engine.permissions.can_see_case (the caseworker, anyone a task of the
    case is or was for, a substitute of such a person, the case type's owner group, administrators).
    Agenda items: open text is public; a closed item, or the closed sections of an open one, only
    for the members (chair and secretaries included) of the committee that has it.
    """
    if permissions.is_administrator_id(session, user_id):
        return None
    groups = sorted(permissions.group_ids_of(session, user_id))
    holders = [user_id, *permissions.substituted_user_ids(session, user_id)]
    owned_types = sorted(session.scalars(select(CaseType.id).where(CaseType.owner_group_id.in_(groups)))) \
        if groups else []
    return [f"u{user_id}", *[f"a{holder}" for holder in holders], *[f"g{group}" for group in groups],
            *[f"t{type_id}" for type_id in owned_types], index.PUBLIC,
            *[index.committee_token(key) for key in _committees_of(session, user_id)]]


def _committees_of(session: Session, user_id: int) -> list[str]:
    return sorted(session.scalars(select(Committee.key).join(CommitteeMember, CommitteeMember.committee_id
                                                             == Committee.id)
                                  .where(CommitteeMember.user_id == user_id)))


def visible_condition(session: Session, user_id: int, index_checked: bool = False):
    """SQL over search_documents (outer-joined with cases) that is true where `user_id` may see the row.

    Deleted cases are never found. With `index_checked` the match carries the user's visibility
    tokens, which already decide the rest; otherwise (an administrator, who sees every case) closed
    agenda content is kept to its committee's members here.
    """
    not_deleted = or_(SearchDocument.case_id.is_(None), Case.status != "deleted")
    if index_checked:
        return not_deleted
    committees = _committees_of(session, user_id)
    agenda = and_(SearchDocument.kind == "agenda_item",
                  or_(SearchDocument.committee == "",
                      *[SearchDocument.committee.contains(f" {key} ", autoescape=True) for key in committees]))
    return and_(not_deleted, or_(agenda, and_(SearchDocument.kind != "agenda_item",
                                              visible_cases_condition(session, user_id))))


def visible_cases_condition(session: Session, user_id: int):
    """can_see_case as SQL over `cases` (true for every case of an administrator)."""
    if permissions.is_administrator_id(session, user_id):
        return Case.id.is_not(None)
    groups = sorted(permissions.group_ids_of(session, user_id))
    holders = [user_id, *permissions.substituted_user_ids(session, user_id)]
    owned_types = list(session.scalars(select(CaseType.id).where(CaseType.owner_group_id.in_(groups)))) \
        if groups else []
    task_for_user = or_(CaseTask.assignee_id.in_(holders), CaseTask.completed_by_id == user_id,
                        CaseTask.owner_id == user_id,
                        CaseTask.candidate_group_id.in_(groups) if groups else false())
    return or_(Case.caseworker_id == user_id,
               Case.case_type_id.in_(owned_types) if owned_types else false(),
               exists(select(CaseTask.id).where(CaseTask.case_id == Case.id, task_for_user)))


def _active_user_id(session: Session, actor: str) -> int:
    row = session.execute(select(User.id, User.is_active).where(User.username == actor)).first()
    if row is None:
        raise InvalidInput(f"unknown user '{actor}'", field="username")
    if not row.is_active:
        raise NotAllowed(f"user '{actor}' is deactivated")
    return row.id


def _bounds(limit, offset) -> tuple[int, int]:
    try:
        limit, offset = int(limit), int(offset)
    except (TypeError, ValueError):
        raise InvalidInput("limit and offset are whole numbers", field="limit") from None
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidInput(f"limit is from 1 to {MAX_LIMIT}", field="limit")
    if not 0 <= offset <= 10_000:
        raise InvalidInput("offset is from 0 to 10000", field="offset")
    return limit, offset


def _filters(session: Session, case_type, kle_number, grouping, status, caseworker,
             opened_from, opened_to, closed_from, closed_to, kinds) -> list:
    where = []
    if case_type:
        type_id = session.scalar(select(CaseType.id).where(CaseType.key == case_type))
        if type_id is None:
            raise InvalidInput(f"unknown case type '{case_type}'", field="case_type")
        where.append(Case.case_type_id == type_id)
    if kle_number:
        # KLE numbers nest: "02.34" finds cases of 02.34.00, 02.34.02, ...
        kle_number = kle_number.strip().rstrip(".")
        where.append(Case.case_type_id.in_(select(CaseType.id).where(
            or_(CaseType.kle_number == kle_number, CaseType.kle_number.startswith(kle_number + ".", autoescape=True)))))
    if grouping:
        where.append(Case.grouping == grouping.strip())
    if status:
        if status not in STATUSES:
            raise InvalidInput(f"status is one of {', '.join(STATUSES)}", field="status")
        where.append(Case.status == status)
    if caseworker:
        worker_id = session.scalar(select(User.id).where(User.username == caseworker))
        if worker_id is None:
            raise InvalidInput(f"unknown user '{caseworker}'", field="caseworker")
        where.append(Case.caseworker_id == worker_id)
    where += _date_range(Case.opened_at, opened_from, opened_to, "opened")
    where += _date_range(Case.closed_at, closed_from, closed_to, "closed")
    if kinds:
        kinds = [kinds] if isinstance(kinds, str) else list(kinds)
        unknown = [k for k in kinds if k not in SEARCH_KINDS]
        if unknown:
            raise InvalidInput(f"kind is one of {', '.join(SEARCH_KINDS)}, not {unknown[0]!r}", field="kind")
        where.append(SearchDocument.kind.in_(kinds))
    return where


def _date_range(column, start, end, name: str) -> list:
    where = []
    first = _day(start, f"{name}_from")
    last = _day(end, f"{name}_to")
    if first and last and last < first:
        raise InvalidInput(f"{name}_to is before {name}_from", field=f"{name}_to")
    if first:
        where.append(column >= start_of_day(first))
    if last:
        where.append(column < start_of_day(last + timedelta(days=1)))
    return where


def _day(value, field: str) -> date | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return parse_date(value, field)


_DETAILS = (select(SearchDocument.id, SearchDocument.key, SearchDocument.kind, SearchDocument.case_id,
                   SearchDocument.title, Case.number, Case.title.label("case_title"), Case.status, Case.grouping,
                   Case.opened_at, Case.closed_at, CaseType.key.label("case_type"),
                   User.username.label("caseworker"))
            .select_from(SearchDocument).outerjoin(Case, Case.id == SearchDocument.case_id)
            .outerjoin(CaseType, CaseType.id == Case.case_type_id).outerjoin(User, User.id == Case.caseworker_id))


def _items(session: Session, match, page) -> list[dict]:
    ids = [row_id for row_id, _ in page]
    if not ids:
        return []
    details = {row.id: row for row in session.execute(_DETAILS.where(SearchDocument.id.in_(ids)))}
    marks = match.highlights(session, ids)
    items = []
    for row_id, rank in page:
        row = details[row_id]
        title_html, snippet_html = marks.get(row_id, ("", ""))
        case = None
        if row.case_id is not None:
            case = {"number": row.number, "title": row.case_title, "case_type": row.case_type, "status": row.status,
                    "grouping": row.grouping, "caseworker": row.caseworker, "opened_at": row.opened_at.isoformat(),
                    "closed_at": row.closed_at.isoformat() if row.closed_at else None}
        items.append({"kind": row.kind, "ref": row.key, "title": row.title, "title_html": title_html,
                      "snippet_html": snippet_html, "rank": round(abs(float(rank or 0)), 6), "case": case,
                      "case_id": row.case_id})
    return items


# --- keeping the index whole -------------------------------------------------------------------------

def catch_up(uow: UnitOfWork, limit: int = 200) -> dict:
    """Index cases that have no index row (made before search existed) and drop deleted cases' rows.

    The index is written in the same unit of work as every change, so in a running installation
    this finds nothing; after an upgrade it works through the old cases, `limit` at a time (the
    worker task `sagsgang.search_catch_up` runs it until it returns indexed == 0).
    """
    session = uow.session
    conn = session.connection()
    missing = session.execute(
        select(Case.id, Case.title, Case.grouping, Case.version_id, Case.state)
        .where(Case.status != "deleted", Case.state.is_not(None),
               not_(exists(select(SearchDocument.id).where(SearchDocument.case_id == Case.id,
                                                           SearchDocument.kind == "case"))))
        .order_by(Case.id).limit(limit)).all()
    for row in missing:
        workflow = load_state(row.state, model_for_version(uow, row.version_id), uow.runtime.script_engine)
        task = workflow.last_task
        data = dict(task.data if task is not None else workflow.data)
        for reserved in ("case", "caseworker"):
            data.pop(reserved, None)
        index.add_case(conn, row.id, row.title, row.grouping, data)
    agenda = sync_agenda_items(uow)
    # From the deleted cases (ix_cases_deleted holds only them; 'deleted' as a literal, for the
    # planners to match that partial index) to their index rows.
    deleted_cases = select(Case.id).where(Case.status == literal_column("'deleted'"))
    deleted = [case_id for (case_id,) in session.execute(
        select(SearchDocument.case_id).where(SearchDocument.case_id.in_(deleted_cases)).distinct().limit(limit))]
    forgotten = sum(index.forget_case(conn, case_id) for case_id in deleted)
    uow.commit()
    return {"indexed": len(missing) + agenda, "forgotten": forgotten}


def sync_agenda_items(uow: UnitOfWork) -> int:
    """Bring the index's agenda rows in line with the agenda tables; returns how many rows changed.

    A sweep rather than a hook in every agenda action: agenda items number in the thousands, and
    the agenda services then need to know nothing of search. Drafts (not yet sent to a committee)
    are not indexed; an item is public once it stands on a published agenda.
    """
    session = uow.session
    conn = session.connection()
    keys = dict(session.execute(select(Committee.id, Committee.key)).all())
    published = set(session.scalars(
        select(AgendaEntry.item_id).join(Meeting, Meeting.id == AgendaEntry.meeting_id)
        .where(Meeting.agenda_published_at.is_not(None))))
    current = {row.key: (row.title, row.body, row.committee, row.case_id) for row in session.execute(
        select(SearchDocument.key, SearchDocument.title, SearchDocument.body, SearchDocument.committee,
               SearchDocument.case_id).where(SearchDocument.kind == "agenda_item"))}
    sections: dict[int, list] = {}
    for section in session.scalars(select(AgendaSection).order_by(AgendaSection.item_id, AgendaSection.position)):
        sections.setdefault(section.item_id, []).append(section)
    wanted, changed = set(), 0
    for item in session.scalars(select(AgendaItem).where(AgendaItem.status != "draft").order_by(AgendaItem.id)):
        parts = sections.get(item.id, [])
        committees = [keys.get(item.committee_id)] + [k for k in (item.route or []) if isinstance(k, str)]
        rows = index.agenda_item_rows(item.id, item.title, "\n".join(p.body for p in parts if not p.closed),
                                      "\n".join(p.body for p in parts if p.closed), committees, item.closed,
                                      item.id in published)
        for key, (title, body, committee) in rows.items():
            if title is None:
                if key in current:
                    index.forget(conn, key)
                    changed += 1
                continue
            wanted.add(key)
            if current.get(key) != (title, body, committee, item.case_id):
                index.upsert(conn, key, {"kind": "agenda_item", "case_id": item.case_id, "title": title,
                                         "body": body, "committee": committee})
                changed += 1
    for key in set(current) - wanted:
        index.forget(conn, key)
        changed += 1
    return changed
