"""Retention: deletion candidates, legal holds, and deleting a case down to its tombstone.

Closing a case sets its deletion date (engine.services.gdpr). A daily job lists closed cases past
that date without an active legal hold; a records manager approves, one case or many. Deleting
a case removes its workflow state (the form data lives there), every row in every table that
refers to the case (task index, parties, review, subscriptions, service jobs, notifications, ...:
any table with a `case_id` column, so a table added later is covered without remembering to),
its documents through the registered deletion hooks, and its journal; it leaves the case row as
status `deleted` with its title and grouping blanked, and one tombstone event in the journal:
case number, case type, dates and who approved, nothing about the person.

Three tables name a case without a case_id column: messages that reached no case (thrown by
it, delivered to it, or correlated with it), webhook deliveries (their payload names the case) and
published agendas and minutes (an item names its case). The first two are deleted; in a
publication the case's items are blanked to their place and outcome, so the rest of it stands.

The access log stays: it records employees' use of the case (user, time, action, purpose) and
has its own retention.
"""
from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date

from sqlalchemy import Table, Text, cast, delete, func, or_, select, update
from sqlalchemy.orm import Session

from .. import permissions
from ..db import Base, UnitOfWork, utcnow
from ..errors import Conflict, InvalidInput, NotFound, SagsgangError
from ..models import Case, CaseType, JournalEvent, MeetingPublication, UndeliveredMessage, User, WebhookDelivery
from ..models.gdpr import LegalHold
from .cases import get_case
from . import documents
from .journal import GENESIS, Journal
from .org import get_user

# Tables that keep rows about a deleted case: the journal (its tombstone) and the access log.
KEPT_TABLES = {"journal_events", "access_log"}

# Called as hook(uow, case_id) inside the deleting unit of work; one for each store of case data
# kept outside these tables (documents, files). A hook deletes its rows in the unit of work and
# registers the removal of files with uow.after_commit, so a rolled-back deletion leaves them.
# It returns a count for the tombstone ({"documents": 3}).
DeletionHook = Callable[[UnitOfWork, int], dict]
DELETION_HOOKS: list[DeletionHook] = []


def register_deletion_hook(hook: DeletionHook) -> DeletionHook:
    if hook not in DELETION_HOOKS:
        DELETION_HOOKS.append(hook)
    return hook


# Case documents: their rows, and their files in the document store once the deletion commits.
register_deletion_hook(documents.delete_case_documents)


def case_tables() -> list[Table]:
    """Every table with a case_id column except the kept ones, children before parents."""
    return [table for table in reversed(Base.metadata.sorted_tables)
            if "case_id" in table.c and table.name not in KEPT_TABLES]


def _active_hold(session: Session, case_id: int) -> LegalHold | None:
    return session.scalar(select(LegalHold).where(LegalHold.case_id == case_id, LegalHold.released_at.is_(None))
                          .order_by(LegalHold.id).limit(1))


def _require_records_manager(session: Session, actor: str) -> User:
    user = get_user(session, actor)
    permissions.require(permissions.may_manage_records(session, user.id),
                        f"{actor} may not manage retention and deletion")
    return user


def find_deletion_candidates(uow: UnitOfWork, today: date, limit: int = 1000) -> list[dict]:
    """Closed cases whose deletion date has come and that no legal hold keeps (the daily job).

    Returns no title or grouping: a candidate list is not a look-up on the people in it.
    """
    held = select(LegalHold.case_id).where(LegalHold.released_at.is_(None))
    rows = uow.session.execute(
        select(Case.number, CaseType.key, CaseType.deletion_rule, Case.opened_at, Case.closed_at,
               Case.deletion_due_on)
        .join(CaseType, CaseType.id == Case.case_type_id)
        .where(Case.status == "closed", Case.deletion_due_on.is_not(None), Case.deletion_due_on <= today,
               Case.id.not_in(held))
        .order_by(Case.deletion_due_on, Case.id).limit(limit)).all()
    return [{"number": r.number, "case_type": r.key, "deletion_rule": r.deletion_rule,
             "opened_on": r.opened_at.date().isoformat(), "closed_on": r.closed_at.date().isoformat(),
             "deletion_due_on": r.deletion_due_on.isoformat()} for r in rows]


def deletion_candidates(uow: UnitOfWork, actor: str, today: date) -> list[dict]:
    """find_deletion_candidates for a records manager's screen."""
    _require_records_manager(uow.session, actor)
    return find_deletion_candidates(uow, today)


def place_legal_hold(uow: UnitOfWork, number: str, actor: str, reason: str) -> dict:
    """Stop a case's deletion until the hold is released (a complaint, a lawsuit, an audit)."""
    session = uow.session
    user = _require_records_manager(session, actor)
    if not isinstance(reason, str) or not reason.strip():
        raise InvalidInput("a legal hold needs a reason", field="reason")
    case = get_case(session, number)
    if case.status == "deleted":
        raise Conflict(f"case {number} is already deleted", field="case")
    if _active_hold(session, case.id) is not None:
        raise Conflict(f"case {number} is already on legal hold", field="case")
    hold = LegalHold(case_id=case.id, reason=reason.strip(), placed_by_id=user.id, placed_at=utcnow())
    session.add(hold)
    session.flush()
    _journal(session, case, actor, "legal_hold_placed", {"hold_id": hold.id})
    uow.commit()
    return {"number": number, "hold_id": hold.id, "reason": hold.reason, "placed_by": actor,
            "placed_at": hold.placed_at.isoformat()}


def release_legal_hold(uow: UnitOfWork, number: str, actor: str) -> dict:
    session = uow.session
    user = _require_records_manager(session, actor)
    case = get_case(session, number)
    hold = _active_hold(session, case.id)
    if hold is None:
        raise NotFound(f"case {number} has no active legal hold", field="case")
    hold.released_at, hold.released_by_id = utcnow(), user.id
    session.flush()
    _journal(session, case, actor, "legal_hold_released", {"hold_id": hold.id})
    uow.commit()
    return {"number": number, "hold_id": hold.id, "released_at": hold.released_at.isoformat()}


def legal_holds(uow: UnitOfWork, number: str, actor: str) -> list[dict]:
    session = uow.session
    _require_records_manager(session, actor)
    case = get_case(session, number)
    placed_by, released_by = User.__table__.alias(), User.__table__.alias()
    rows = session.execute(
        select(LegalHold.id, LegalHold.reason, LegalHold.placed_at, LegalHold.released_at,
               placed_by.c.username.label("placed_by"), released_by.c.username.label("released_by"))
        .join(placed_by, placed_by.c.id == LegalHold.placed_by_id)
        .outerjoin(released_by, released_by.c.id == LegalHold.released_by_id)
        .where(LegalHold.case_id == case.id).order_by(LegalHold.id)).all()
    return [{"id": r.id, "reason": r.reason, "placed_by": r.placed_by, "placed_at": r.placed_at.isoformat(),
             "released_by": r.released_by, "released_at": r.released_at.isoformat() if r.released_at else None}
            for r in rows]


def _journal(session: Session, case: Case, actor: str, kind: str, data: dict) -> None:
    # Through the ORM object: the case row is loaded and will be flushed with its new head.
    journal = Journal(case.journal_seq, case.journal_head)
    journal.append(actor, kind, data)
    journal.write(session, case.id)
    case.journal_seq, case.journal_head = journal.seq, journal.head


def delete_case(uow: UnitOfWork, number: str, actor: str, today: date | None = None) -> dict:
    """Delete a closed case past its deletion date down to its tombstone; returns the tombstone."""
    session = uow.session
    user = _require_records_manager(session, actor)
    today = today or utcnow().date()
    case = session.scalar(select(Case).where(Case.number == number).with_for_update())
    if case is None:
        raise NotFound(f"unknown case '{number}'", field="case")
    if case.status != "closed":
        raise Conflict(f"case {number} is {case.status}; only a closed case can be deleted", field="case")
    if case.deletion_due_on is None:
        raise Conflict(f"case {number} is kept (deletion rule K or a review exception); it cannot be deleted",
                       field="case")
    if case.deletion_due_on > today:
        raise Conflict(f"case {number} may not be deleted before {case.deletion_due_on.isoformat()}", field="case")
    hold = _active_hold(session, case.id)
    if hold is not None:
        raise Conflict(f"case {number} is on legal hold: {hold.reason}", field="case")
    case_id, case_type = case.id, case.case_type.key
    removed = {"journal_events": 0}
    for hook in DELETION_HOOKS:
        removed.update(hook(uow, case_id) or {})
    for table in case_tables():
        count = session.execute(delete(table).where(table.c.case_id == case_id)).rowcount
        if count:
            removed[table.name] = count
    removed.update(_forget_named_case(session, case.number))
    previous = {"events": case.journal_seq, "head": case.journal_head}
    removed["journal_events"] = session.execute(
        delete(JournalEvent).where(JournalEvent.case_id == case_id)).rowcount
    now = utcnow()
    tombstone = {
        "case_number": case.number, "case_type": case_type,
        "opened_on": case.opened_at.date().isoformat(), "closed_on": case.closed_at.date().isoformat(),
        "deletion_due_on": case.deletion_due_on.isoformat(), "deleted_on": now.date().isoformat(),
        "approved_by": actor, "removed": removed,
        # The end of the deleted chain: proves what was deleted was the journal as it stood.
        "previous_journal": previous,
    }
    journal = Journal(0, GENESIS)  # the tombstone starts a fresh chain: the old events are gone
    journal.append(actor, "case_deleted", tombstone)
    journal.write(session, case_id)
    case.title, case.grouping, case.state = "", "", None
    case.status, case.deleted_at, case.next_timer_at, case.awaits_message = "deleted", now, None, False
    case.journal_seq, case.journal_head = journal.seq, journal.head
    session.flush()
    runtime = uow.runtime
    uow.after_commit(lambda: runtime.live.forget(case_id) if runtime is not None else None)
    uow.commit()
    return tombstone


def delete_cases(unit_of_work: Callable[[], UnitOfWork], numbers: list[str], actor: str,
                 today: date | None = None) -> Iterator[dict]:
    """Delete many cases, one unit of work each, yielding progress after each.

    One refused case (a hold placed meanwhile) does not stop the others; its error is reported.
    """
    total = len(numbers)
    deleted = failed = 0
    for index, number in enumerate(numbers, start=1):
        try:
            with unit_of_work() as uow:
                delete_case(uow, number, actor, today)
            deleted += 1
            outcome = {"number": number, "deleted": True}
        except SagsgangError as err:
            failed += 1
            outcome = {"number": number, "deleted": False, "error": err.message}
        yield dict(outcome, done=index, total=total, deleted_count=deleted, failed_count=failed)


def _quoted(number: str) -> str:
    # The number as a JSON string starts ("BYG-2026-000001" or an agenda item key "BYG-2026-000001/1").
    # Numbers have a fixed width, so one case's number never starts another's.
    return '"' + number


def _messages_naming(number: str):
    return or_(UndeliveredMessage.source == f"case:{number}", UndeliveredMessage.delivered_to == number,
               UndeliveredMessage.correlation_key.contains(number, autoescape=True),
               cast(UndeliveredMessage.correlations, Text).contains(_quoted(number), autoescape=True))


def _deliveries_naming(number: str):
    return cast(WebhookDelivery.payload, Text).contains(_quoted(number) + '"', autoescape=True)


def _publications_naming(session: Session, number: str) -> list[MeetingPublication]:
    candidates = session.scalars(select(MeetingPublication).where(
        cast(MeetingPublication.content, Text).contains(_quoted(number) + '"', autoescape=True)))
    return [row for row in candidates
            if any(point.get("case_number") == number for point in row.content.get("bullet_points", []))]


def _blank_items(content: dict, number: str) -> dict:
    """The publication with the case's items reduced to their place and outcome."""
    points = []
    for point in content.get("bullet_points", []):
        if point.get("case_number") == number:
            point = {"id": point.get("id"), "number": point.get("number"), "title": "Punktet er slettet",
                     "access": False, "case_number": None, "attachments": [], "enclosures": [],
                     **({"decision": {k: v for k, v in point["decision"].items() if k != "text"}}
                        if point.get("decision") else {})}
        points.append(point)
    return dict(content, bullet_points=points)


def _forget_named_case(session: Session, number: str) -> dict:
    """Delete or blank the rows that name the case in tables without a case_id column."""
    removed = {}
    count = session.execute(delete(UndeliveredMessage).where(_messages_naming(number))).rowcount
    if count:
        removed["undelivered_messages"] = count
    count = session.execute(delete(WebhookDelivery).where(_deliveries_naming(number))).rowcount
    if count:
        removed["webhook_deliveries"] = count
    publications = _publications_naming(session, number)
    for row in publications:
        row.content = _blank_items(row.content, number)  # a new object, so the JSON column is written
    if publications:
        removed["meeting_publications_blanked"] = len(publications)
    return removed


def _named_elsewhere(session: Session, number: str) -> dict:
    counts = {
        "undelivered_messages": session.scalar(select(func.count()).where(_messages_naming(number))),
        "webhook_deliveries": session.scalar(select(func.count()).where(_deliveries_naming(number))),
        "meeting_publications": len(_publications_naming(session, number)),
    }
    return {name: count for name, count in counts.items() if count}


def remains_of_case(session: Session, case_id: int) -> dict:
    """What is left of a deleted case: rows per table (0 everywhere), the case row, the journal.

    The records manager's check that nothing of the person remains but the tombstone.
    """
    counts = {table.name: session.scalar(select(func.count()).select_from(table).where(table.c.case_id == case_id))
              for table in case_tables()}
    case = session.get(Case, case_id)
    counts.update(_named_elsewhere(session, case.number))
    events = session.execute(select(JournalEvent.kind).where(JournalEvent.case_id == case_id)
                             .order_by(JournalEvent.seq)).scalars().all()
    return {"rows": {name: count for name, count in counts.items() if count},
            "case": {"status": case.status, "title": case.title, "grouping": case.grouping,
                     "state": case.state is not None},
            "journal": list(events),
            "clean": (not any(counts.values()) and case.status == "deleted" and not case.title
                      and not case.grouping and case.state is None and list(events) == ["case_deleted"])}


def verify_deletion(uow: UnitOfWork, number: str, actor: str) -> dict:
    session = uow.session
    _require_records_manager(session, actor)
    return remains_of_case(session, get_case(session, number).id)
