"""Append-only, hash-chained journal of each case."""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timezone

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from ..db import utcnow
from ..models import JournalEvent

GENESIS = "0" * 64
_INSERT_EVENTS = insert(JournalEvent)

# Every kind of event the engine writes. Journal.append refuses any other, so a new kind must be
# added here, where the case page's labels (webapp/ui/cases.py) and their test look for it.
KINDS = frozenset({
    "case_opened", "case_closed", "case_deleted", "case_migrated", "case_migration_reverted", "close_refused",
    "cpr_detected", "task_created", "task_completed", "task_cancelled", "task_claimed", "task_unclaimed",
    "task_assigned", "task_delegated", "task_taken_back", "task_due_date_set", "task_follow_up_date_set",
    "task_priority_set", "timer_fired", "message_received", "message_sent", "service_task_started",
    "service_task_completed", "incident_opened", "incident_retried", "document_added",
    "document_version_added", "document_deleted", "party_added", "party_removed", "legal_hold_placed",
    "legal_hold_released", "decision_recorded",
})


def _canonical_time(at: datetime) -> str:
    # SQLite hands datetimes back without a zone, PostgreSQL in the session's zone: hash UTC, naive.
    if at.tzinfo is not None:
        at = at.astimezone(timezone.utc).replace(tzinfo=None)
    return at.isoformat(timespec="microseconds")


# json.dumps(..., sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str), with the
# encoder made once instead of per call: the same text, so existing chains verify unchanged.
_HASH_ENCODE = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str).encode


def event_hash(prev_hash: str, case_id: int, seq: int, at: datetime, actor: str, kind: str, data: dict) -> str:
    body = _HASH_ENCODE([prev_hash, case_id, seq, _canonical_time(at), actor, kind, data])
    return hashlib.sha256(body.encode()).hexdigest()


class _NotPlain(Exception):
    pass


def _plain_copy(value, depth: int = 0):
    """A copy of JSON-native data (dicts with string keys, lists, tuples, strings, numbers, booleans,
    None): exactly what json.loads(json.dumps(value)) gives, without writing and parsing text.
    Anything else raises _NotPlain, and the caller takes the round trip."""
    kind = type(value)
    if kind is str or kind is int or kind is bool or value is None:
        return value
    if kind is float:
        return value  # dumps writes repr (NaN/Infinity included) and loads reads the same float back
    if depth > 50:
        raise _NotPlain
    if kind is dict:
        copied = {}
        for key, item in value.items():
            if type(key) is not str:
                raise _NotPlain  # json writes other keys as strings
            copied[key] = _plain_copy(item, depth + 1)
        return copied
    if kind is list or kind is tuple:
        return [_plain_copy(item, depth + 1) for item in value]
    raise _NotPlain


def stored_form(data: dict | None):
    """What the JSON column will give back for `data` (so the hash verifies later)."""
    try:
        return _plain_copy(data or {})
    except _NotPlain:
        return json.loads(json.dumps(data or {}, default=str))


class Journal:
    """Collects the events one unit of work appends to a case and writes them in one statement.

    Hashes are computed at write time, when the case id is known (a case being opened gets its
    id only when its row is inserted). `seq` and `head` continue the chain the case row records.
    """

    def __init__(self, seq: int = 0, head: str = GENESIS):
        self.seq = seq
        self.head = head
        self._pending: list[tuple] = []

    def append(self, actor: str, kind: str, data: dict | None = None) -> None:
        if kind not in KINDS:
            raise ValueError(f"unknown journal event kind {kind!r}; register it in journal.KINDS")
        # Store exactly what the JSON column will give back, so the hash verifies later.
        self._pending.append((utcnow(), actor, kind, stored_form(data)))

    def write(self, session: Session, case_id: int) -> int:
        rows = []
        for at, actor, kind, data in self._pending:
            self.seq += 1
            digest = event_hash(self.head, case_id, self.seq, at, actor, kind, data)
            rows.append({"case_id": case_id, "seq": self.seq, "at": at, "actor": actor, "kind": kind,
                         "data": data, "prev_hash": self.head, "hash": digest})
            self.head = digest
        if rows:
            session.connection().execute(_INSERT_EVENTS, rows)
        self._pending = []
        return len(rows)


def append_event(session: Session, case, actor: str, kind: str, data: dict | None = None) -> None:
    """Append one event to a loaded Case row and move its recorded head (ORM callers)."""
    journal = Journal(case.journal_seq, case.journal_head)
    journal.append(actor, kind, data)
    journal.write(session, case.id)
    case.journal_seq, case.journal_head = journal.seq, journal.head


@dataclass(frozen=True)
class JournalProblem:
    seq: int
    problem: str


def verify_journal(session: Session, case_id: int, head: str | None = None) -> list[JournalProblem]:
    """Recompute the chain; report altered, missing or reordered events (empty list = intact).

    `head` is the hash the case row recorded last; without it a deleted tail goes unnoticed.
    """
    problems = []
    prev_hash, expected_seq = GENESIS, 1
    events = session.scalars(select(JournalEvent).where(JournalEvent.case_id == case_id)
                             .order_by(JournalEvent.seq)).all()
    for event in events:
        if event.seq != expected_seq:
            problems.append(JournalProblem(expected_seq, f"event {expected_seq} is missing"))
        if event.prev_hash != prev_hash:
            problems.append(JournalProblem(event.seq, "does not follow the event before it"))
        recomputed = event_hash(event.prev_hash, event.case_id, event.seq, event.at, event.actor,
                                event.kind, event.data)
        if recomputed != event.hash:
            problems.append(JournalProblem(event.seq, "content was altered after it was written"))
        prev_hash, expected_seq = event.hash, event.seq + 1
    if head is not None and head != prev_hash:
        problems.append(JournalProblem(expected_seq, "the newest events are missing"))
    return problems
