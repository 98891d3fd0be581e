"""Notifications: in-app (the bell and its unread count) and e-mail, immediate or as a digest.

What causes a notification:
- a new task assigned to someone, a committee's decision back in the case, a mention: events in
  the case journals, read by
  `notify_from_journal` (the journal is the outbox: nothing in the hot path waits for it);
- a task due soon or overdue: `notify_due_tasks`, a periodic sweep over the task index;
- an incident: `incidents.open_incident` calls `notify` in its own unit of work;
- `notify_mention` and `notify` for callers that have no journal event to point at.

Each notification names its cause in `source`; (user, source) is unique, so running a sweep again
(a worker redelivered, two beats) never notifies twice. Group tasks without an assignee notify no
one: they are in every member's group list already, and a team of 30 would get 30 bells per task.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import bindparam, func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from ..db import UnitOfWork, hot_connection, utcnow
from ..errors import InvalidInput, NotFound
from ..models import Case, CaseTask, JournalEvent, Notification, RoleGrant, SweepCursor, User
from ..settings import Settings
from . import retention
from .agenda_intake import DECISION
from .org import get_user

_INSERT = {"postgresql": pg_insert, "sqlite": sqlite_insert}
JOURNAL_CURSOR = "notifications.journal"
# Journal ids are taken at insert and committed a few milliseconds later; events younger than
# this are read again on the next sweep, so one that committed late after a higher id is not lost.
SETTLE = timedelta(seconds=60)
MAX_MAIL_ATTEMPTS = 5


def notify(session: Session, user_ids, kind: str, source: str, title: str, body: str = "",
           case_id: int | None = None, task_id: str | None = None, now: datetime | None = None) -> int:
    """Add a notification for each user (once per user and source); returns how many were new."""
    rows = [{"user_id": uid, "kind": kind, "source": source[:120], "title": title[:300], "body": body,
             "case_id": case_id, "task_id": task_id, "created_at": now or utcnow(), "email_status": "pending",
             "email_attempts": 0} for uid in dict.fromkeys(u for u in user_ids if u is not None)]
    return _insert(session, rows)


def _insert(session: Session, rows: list[dict]) -> int:
    if not rows:
        return 0
    conn = session.connection()
    # RETURNING, not rowcount: what a driver reports for an insert that did nothing varies.
    statement = _INSERT[conn.dialect.name](Notification).on_conflict_do_nothing(
        index_elements=["user_id", "source"]).returning(Notification.id)
    return sum(len(conn.execute(statement, row).all()) for row in rows)


# --- what the bell shows -------------------------------------------------------------------------

def unread_count(session: Session, username: str) -> int:
    """The bell's number: one indexed count on every page, so no user lookup before it (a prepared
    Core statement on the connection: the ORM's execution path doubled its cost)."""
    return hot_connection(session).execute(_UNREAD_COUNT, {"username": username}).scalar()


_UNREAD_COUNT = (select(func.count(Notification.id)).join(User, User.id == Notification.user_id)
                 .where(User.username == bindparam("username"), Notification.read_at.is_(None)))


def list_notifications(session: Session, username: str, unread_only: bool = False, limit: int = 50) -> list[dict]:
    user = get_user(session, username)
    query = (select(Notification, Case.number).outerjoin(Case, Case.id == Notification.case_id)
             .where(Notification.user_id == user.id).order_by(Notification.id.desc()).limit(limit))
    if unread_only:
        query = query.where(Notification.read_at.is_(None))
    return [{"id": n.id, "kind": n.kind, "title": n.title, "body": n.body, "case": number, "task_id": n.task_id,
             "created_at": n.created_at.isoformat(), "read": n.read_at is not None}
            for n, number in session.execute(query)]


def mark_read(uow: UnitOfWork, username: str, ids: list[int] | None = None) -> int:
    """Mark the user's notifications read (the given ones, or all); returns how many changed."""
    user = get_user(uow.session, username)
    if ids is not None and not all(isinstance(i, int) for i in ids):
        raise InvalidInput("notification ids must be numbers", field="ids")
    statement = update(Notification).where(Notification.user_id == user.id, Notification.read_at.is_(None))
    if ids is not None:
        statement = statement.where(Notification.id.in_(ids))
    changed = uow.session.execute(statement.values(read_at=utcnow())
                                  .execution_options(synchronize_session=False)).rowcount
    uow.commit()
    return changed


def notify_mention(uow: UnitOfWork, case_number: str, actor: str, usernames: list[str], text: str) -> int:
    """Tell the mentioned users that `actor` wrote about them on a case (the UI's @name)."""
    session = uow.session
    case = session.scalar(select(Case).where(Case.number == case_number))
    if case is None:
        raise NotFound(f"unknown case '{case_number}'", field="case")
    users = session.execute(select(User.id, User.username).where(User.username.in_(usernames))).all()
    unknown = sorted(set(usernames) - {u.username for u in users})
    if unknown:
        raise InvalidInput(f"unknown user(s) mentioned: {', '.join(unknown)}", field="mentions")
    now = utcnow()
    count = notify(session, [u.id for u in users], "mention", f"mention:{case.id}:{actor}:{now.isoformat()}",
                   f"{actor} nævnte dig i sag {case.number}", body=text[:1000], case_id=case.id, now=now)
    uow.commit()
    return count


# --- sweeps ----------------------------------------------------------------------------------------

def _journal_notifications(session: Session, event: JournalEvent, number: str, caseworker_id: int | None,
                           user_ids: dict[str, int]) -> list[tuple]:
    """(user ids, kind, title, task id) for a journal event, or nothing."""
    data = event.data or {}
    if event.kind in ("task_created", "task_assigned", "task_claimed", "task_delegated"):
        # engine.services.tasks journals the new holder as `assignee`, or as `delegate` when delegating.
        holder = data.get("delegate") if event.kind == "task_delegated" else data.get("assignee")
        assignee = data.get("assignee_id")
        if assignee is None and holder:
            assignee = user_ids.get(holder)
        if assignee is None or assignee == user_ids.get(event.actor):
            return []  # nobody to tell, or the one who did it (opened the case, claimed the task)
        return [([assignee], "task_assigned", f"Ny opgave: {data.get('name') or data.get('task')} ({number})",
                 data.get("task_id"))]
    if event.kind == "message_received" and data.get("message") == DECISION:
        # A committee's decision came back into the case (agenda.record_decision).
        return [([caseworker_id], "decision", f"Udvalgets beslutning er kommet i sag {number}", None)]
    if event.kind == "mention":
        mentioned = [user_ids.get(name) for name in data.get("mentions", [])]
        return [(mentioned, "mention", f"{event.actor} nævnte dig i sag {number}", None)]
    return []


def notify_from_journal(uow: UnitOfWork, now: datetime | None = None, batch: int = 2000) -> int:
    """Turn new journal events into notifications; returns how many notifications were added."""
    session, now = uow.session, now or utcnow()
    cursor = session.get(SweepCursor, JOURNAL_CURSOR, with_for_update=True)
    if cursor is None:
        cursor = SweepCursor(name=JOURNAL_CURSOR, position=0, updated_at=now)
        session.add(cursor)
        session.flush()
    rows = session.execute(
        select(JournalEvent, Case.number, Case.caseworker_id).join(Case, Case.id == JournalEvent.case_id)
        .where(JournalEvent.id > cursor.position).order_by(JournalEvent.id).limit(batch)).all()
    names = {n for event, _, _ in rows
             for n in [event.actor, (event.data or {}).get("assignee"), (event.data or {}).get("delegate"),
                       *((event.data or {}).get("mentions", []) if event.kind == "mention" else [])] if n}
    user_ids = dict(session.execute(select(User.username, User.id).where(User.username.in_(names))).all()) \
        if names else {}
    added, settled = 0, cursor.position
    for event, number, caseworker_id in rows:
        for users, kind, title, task_id in _journal_notifications(session, event, number, caseworker_id, user_ids):
            added += notify(session, users, kind, f"journal:{event.id}", title, case_id=event.case_id,
                            task_id=task_id, now=now)
        if event.at <= now - SETTLE or len(rows) == batch:
            settled = event.id
    cursor.position, cursor.updated_at = settled, now
    uow.commit()
    return added


def notify_due_tasks(uow: UnitOfWork, settings: Settings, now: datetime | None = None) -> int:
    """Tell assignees about tasks due within `due_soon_hours` and tasks that became overdue."""
    session, now = uow.session, now or utcnow()
    soon = now + timedelta(hours=settings.due_soon_hours)
    rows = session.execute(
        select(CaseTask.id, CaseTask.name, CaseTask.assignee_id, CaseTask.due_at, CaseTask.case_id, Case.number)
        .join(Case, Case.id == CaseTask.case_id)
        .where(CaseTask.state == "open", CaseTask.assignee_id.is_not(None), CaseTask.due_at.is_not(None),
               CaseTask.due_at <= soon, CaseTask.due_at >= now - timedelta(days=7))).all()
    added = 0
    for task_id, name, assignee_id, due_at, case_id, number in rows:
        if due_at <= now:
            kind, title = "task_overdue", f"Overskredet frist: {name} ({number})"
        else:
            kind, title = "task_due_soon", f"Frist snart: {name} ({number}), {due_at:%d.%m.%Y %H:%M} UTC"
        added += notify(session, [assignee_id], kind, f"{kind}:{task_id}:{due_at.isoformat()}", title,
                        case_id=case_id, task_id=task_id, now=now)
    uow.commit()
    return added


def notify_deletion_candidates(uow: UnitOfWork, today: date) -> dict:
    """The daily retention sweep: tell the records managers how many cases wait for their approval
    of deletion (retention.find_deletion_candidates). Nothing is deleted without them."""
    session = uow.session
    candidates = retention.find_deletion_candidates(uow, today)
    added = 0
    if candidates:
        managers = session.scalars(select(RoleGrant.user_id).where(RoleGrant.role == "records_manager")).all()
        added = notify(session, managers, "retention", f"retention:{today.isoformat()}",
                       f"{len(candidates)} lukkede sager har nået deres slettedato og venter på godkendelse")
    uow.commit()
    return {"candidates": len(candidates), "notified": added}


# --- e-mail ------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Mail:
    to: str
    subject: str
    body: str
    notification_ids: tuple[int, ...]


def claim_mail(uow: UnitOfWork, settings: Settings, limit: int = 500) -> list[Mail]:
    """Take the notifications still to mail, one mail per user, and mark them sent.

    Marked before sending, so a worker that dies while sending loses that mail rather than
    sending it twice; `mail_failed` puts them back when the server refused.
    """
    session, now = uow.session, utcnow()
    rows = session.execute(
        select(Notification, User.email, Case.number).join(User, User.id == Notification.user_id)
        .outerjoin(Case, Case.id == Notification.case_id)
        .where(Notification.email_status == "pending").order_by(Notification.id).limit(limit)).all()
    skip = [n.id for n, email, _ in rows if settings.notify_email == "off" or not email or not settings.smtp_host]
    per_user: dict[str, list] = defaultdict(list)
    for notification, email, number in rows:
        if notification.id not in skip:
            per_user[email].append((notification, number))
    mails = []
    for email, items in per_user.items():
        lines = [f"- {n.title}" + (f"\n  {settings.base_url}/cases/{number}" if number else "") for n, number in items]
        subject = items[0][0].title if len(items) == 1 else f"Sagsgang: {len(items)} nye notifikationer"
        mails.append(Mail(email, subject, "\n".join(lines) + "\n", tuple(n.id for n, _ in items)))
    sent_ids = [i for mail in mails for i in mail.notification_ids]
    if skip:
        session.execute(update(Notification).where(Notification.id.in_(skip)).values(email_status="skipped")
                        .execution_options(synchronize_session=False))
    if sent_ids:
        session.execute(update(Notification).where(Notification.id.in_(sent_ids))
                        .values(email_status="sent", emailed_at=now, email_attempts=Notification.email_attempts + 1)
                        .execution_options(synchronize_session=False))
    uow.commit()
    return mails


def mail_failed(uow: UnitOfWork, notification_ids, transient: bool) -> None:
    """Put notifications whose mail failed back in the queue (a few times), or give up on them."""
    session = uow.session
    ids = list(notification_ids)
    session.execute(update(Notification).where(Notification.id.in_(ids)).values(
        email_status="pending", emailed_at=None).execution_options(synchronize_session=False))
    if not transient:
        session.execute(update(Notification).where(Notification.id.in_(ids)).values(email_status="skipped")
                        .execution_options(synchronize_session=False))
    session.execute(update(Notification).where(Notification.id.in_(ids),
                                               Notification.email_attempts >= MAX_MAIL_ATTEMPTS)
                    .values(email_status="skipped").execution_options(synchronize_session=False))
    uow.commit()
