"""Append-only, hash-chained journal of each case."""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timezone

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..db import utcnow
from ..models import JournalEvent

GENESIS = "0" * 64


def _canonical_time(at: datetime) -> str:
    # SQLite hands datetimes back without a zone, PostgreSQL in the session's zone: hash UTC, naive.
    if at.tzinfo is not None:
        at = at.astimezone(timezone.utc).replace(tzinfo=None)
    return at.isoformat(timespec="microseconds")


def event_hash(prev_hash: str, case_id: int, seq: int, at: datetime, actor: str, kind: str, data: dict) -> str:
    body = json.dumps([prev_hash, case_id, seq, _canonical_time(at), actor, kind, data],
                      sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(body.encode()).hexdigest()


class Journal:
    """Appends events of one case within a unit of work, continuing the chain it finds."""

    def __init__(self, session: Session, case_id: int):
        self.session = session
        self.case_id = case_id
        last = session.execute(
            select(JournalEvent.seq, JournalEvent.hash).where(JournalEvent.case_id == case_id)
            .order_by(JournalEvent.seq.desc()).limit(1)).first()
        self._seq, self._hash = (last.seq, last.hash) if last else (0, GENESIS)

    def append(self, actor: str, kind: str, data: dict | None = None) -> JournalEvent:
        data = json.loads(json.dumps(data or {}, default=str))  # exactly what the JSON column returns
        at = utcnow()
        self._seq += 1
        digest = event_hash(self._hash, self.case_id, self._seq, at, actor, kind, data)
        event = JournalEvent(case_id=self.case_id, seq=self._seq, at=at, actor=actor, kind=kind,
                             data=data, prev_hash=self._hash, hash=digest)
        self.session.add(event)
        self._hash = digest
        return event

    @property
    def head(self) -> str:
        return self._hash


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
