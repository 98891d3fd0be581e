"""Webhooks: subscribers get signed POSTs when cases open and close, tasks are created and completed,
and committees record decisions.

Events come from the journal, which every action already writes in its own unit of work: a sweep
(`queue_from_journal`, a cursor over journal ids like the notifications' sweep) turns new events
into one delivery row per interested subscriber, and `deliver_due` POSTs the due ones. Nothing is
added to the actions themselves, and a sweep that crashes is simply run again: the cursor only
moves on with the commit that wrote the deliveries, and (subscriber, event) is unique.

The payload names the event, the case number and type, and the task; no titles or form data,
which can name a person: the subscriber fetches what it needs through the API with its token, and
its reads are then permission-checked and access-logged like anyone's.

Signature: header `Sagsgang-Signature: t=<unix time>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`,
so a receiver can check the body and refuse replays of old deliveries.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit

import requests
from sqlalchemy import select
from sqlalchemy.orm import Session

from .. import permissions
from ..crypto import protector_for
from ..db import UnitOfWork, utcnow
from ..errors import InvalidInput, NotFound
from ..models import Case, CaseType, JournalEvent, SweepCursor, WebhookDelivery, WebhookSubscription
from ..settings import Settings
from .org import get_user

# Journal event kind -> webhook event name.
EVENTS = {"case_opened": "case.opened", "case_closed": "case.closed", "task_created": "task.created",
          "task_completed": "task.completed", "decision_recorded": "decision.recorded"}
EVENT_NAMES = tuple(sorted(EVENTS.values()))
JOURNAL_CURSOR = "webhooks.journal"
# As in the notifications' sweep: ids are taken at insert and committed a little later, so events
# younger than this are read again next time rather than skipped.
SETTLE = timedelta(seconds=60)
MAX_ATTEMPTS = 8
BACKOFF = timedelta(seconds=30)        # 30 s, 1 min, 2 min, ... capped at MAX_BACKOFF
MAX_BACKOFF = timedelta(hours=6)
LEASE = timedelta(minutes=5)           # a claimed delivery is retried after this if its worker died
SIGNATURE_HEADER = "Sagsgang-Signature"


# --- subscriptions ---------------------------------------------------------------------------------

def create_subscription(uow: UnitOfWork, actor: str, url: str, secret: str, events: list[str],
                        description: str = "") -> dict:
    """An administrator subscribes a system's URL to events; the secret signs every delivery."""
    session = uow.session
    _require_administrator(session, actor)
    url = _clean_url(url)
    if not isinstance(secret, str) or not 16 <= len(secret) <= 200:
        raise InvalidInput("the secret is 16 to 200 characters", field="secret")
    if not isinstance(events, list) or not events or any(e not in EVENT_NAMES for e in events):
        raise InvalidInput(f"events is a non-empty list of {', '.join(EVENT_NAMES)}", field="events")
    if not isinstance(description, str) or len(description) > 200:
        raise InvalidInput("the description is at most 200 characters", field="description")
    row = WebhookSubscription(url=url, secret_encrypted=protector_for(uow.runtime.settings).encrypt(secret),
                              events=sorted(set(events)), description=description, created_by=actor)
    _cursor(session, utcnow())  # the first subscription starts the sweep at today's end of the journal
    session.add(row)
    session.flush()
    result = _subscription_dict(row)
    uow.commit()
    return result


def list_subscriptions(session: Session, actor: str) -> list[dict]:
    _require_administrator(session, actor)
    return [_subscription_dict(row) for row in session.scalars(select(WebhookSubscription)
                                                              .order_by(WebhookSubscription.id))]


def delete_subscription(uow: UnitOfWork, actor: str, subscription_id: int) -> None:
    session = uow.session
    _require_administrator(session, actor)
    row = session.get(WebhookSubscription, subscription_id)
    if row is None:
        raise NotFound(f"unknown webhook subscription {subscription_id}", field="subscription_id")
    session.delete(row)
    uow.commit()


def deliveries(session: Session, actor: str, subscription_id: int, limit: int = 50) -> list[dict]:
    _require_administrator(session, actor)
    rows = session.scalars(select(WebhookDelivery).where(WebhookDelivery.subscription_id == subscription_id)
                           .order_by(WebhookDelivery.id.desc()).limit(limit))
    return [{"id": d.id, "event": d.event, "event_id": d.event_id, "status": d.status, "attempts": d.attempts,
             "last_status": d.last_status, "last_error": d.last_error,
             "next_attempt_at": d.next_attempt_at.isoformat(),
             "delivered_at": d.delivered_at.isoformat() if d.delivered_at else None} for d in rows]


def _require_administrator(session: Session, actor: str) -> None:
    user = get_user(session, actor)
    permissions.require(user.is_active and permissions.is_administrator_id(session, user.id),
                        f"{actor} may not manage webhooks (administrators only)")


def _clean_url(url) -> str:
    if not isinstance(url, str) or len(url) > 1000:
        raise InvalidInput("the URL is at most 1000 characters", field="url")
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidInput("the URL must be http:// or https:// with a host", field="url")
    return url.strip()


def _subscription_dict(row: WebhookSubscription) -> dict:
    return {"id": row.id, "url": row.url, "events": list(row.events), "description": row.description,
            "active": row.active, "created_by": row.created_by, "created_at": row.created_at.isoformat()}


# --- from the journal to deliveries ----------------------------------------------------------------

def queue_from_journal(uow: UnitOfWork, now: datetime | None = None, batch: int = 2000) -> int:
    """Add a delivery per subscriber for each new journal event it subscribed to; returns how many."""
    session, now = uow.session, now or utcnow()
    cursor = _cursor(session, now)
    subscriptions = [(s.id, set(s.events)) for s in session.scalars(
        select(WebhookSubscription).where(WebhookSubscription.active.is_(True)))]
    rows = session.execute(
        select(JournalEvent.id, JournalEvent.kind, JournalEvent.at, JournalEvent.data, Case.number,
               CaseType.key.label("case_type"))
        .join(Case, Case.id == JournalEvent.case_id).join(CaseType, CaseType.id == Case.case_type_id)
        .where(JournalEvent.id > cursor.position).order_by(JournalEvent.id).limit(batch)).all()
    if subscriptions:
        known = {(d.subscription_id, d.event_id) for d in session.execute(
            select(WebhookDelivery.subscription_id, WebhookDelivery.event_id)
            .where(WebhookDelivery.event_id.in_([f"journal:{r.id}" for r in rows])))} if rows else set()
    added, settled = 0, cursor.position
    for row in rows:
        name = EVENTS.get(row.kind)
        if name is not None and subscriptions:
            event_id = f"journal:{row.id}"
            payload = event_payload(name, event_id, row)
            for subscription_id, events in subscriptions:
                if name in events and (subscription_id, event_id) not in known:
                    session.add(WebhookDelivery(subscription_id=subscription_id, event_id=event_id, event=name,
                                                payload=payload, next_attempt_at=now, created_at=now))
                    added += 1
        if row.at <= now - SETTLE or len(rows) == batch:
            settled = row.id
    cursor.position, cursor.updated_at = settled, now
    uow.commit()
    return added


def _cursor(session: Session, now: datetime) -> SweepCursor:
    """The sweep's position, locked; made at the journal's end, so subscribers get no flood of old events."""
    cursor = session.get(SweepCursor, JOURNAL_CURSOR, with_for_update=True)
    if cursor is None:
        end = session.scalar(select(JournalEvent.id).order_by(JournalEvent.id.desc()).limit(1)) or 0
        cursor = SweepCursor(name=JOURNAL_CURSOR, position=end, updated_at=now)
        session.add(cursor)
        session.flush()
    return cursor


def event_payload(name: str, event_id: str, row) -> dict:
    data = row.data if isinstance(row.data, dict) else {}
    payload = {"id": event_id, "event": name, "occurred_at": row.at.isoformat(),
               "case": {"number": row.number, "case_type": row.case_type}}
    if name.startswith("task."):
        payload["task"] = {"id": data.get("task_id"), "element_id": data.get("task"), "name": data.get("name")}
    if name == "case.closed":
        payload["reason"] = data.get("reason")
    if name == "decision.recorded":
        payload["decision"] = {k: data.get(k) for k in ("committee", "meeting_id", "item_id", "outcome")
                               if data.get(k) is not None}
    return payload


# --- delivering ------------------------------------------------------------------------------------

@dataclass
class Attempt:
    delivery_id: int
    url: str
    secret: str
    event: str
    body: bytes


def sign(secret: str, timestamp: int, body: bytes) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def verify_signature(secret: str, header: str, body: bytes, tolerance: int = 300, now: float | None = None) -> bool:
    """What a receiver does (and the tests): check the HMAC and that the delivery is recent."""
    try:
        fields = dict(part.split("=", 1) for part in header.split(","))
        timestamp = int(fields["t"])
    except (ValueError, KeyError):
        return False
    if abs((now or time.time()) - timestamp) > tolerance:
        return False
    return hmac.compare_digest(sign(secret, timestamp, body), header)


def claim_due(uow: UnitOfWork, limit: int = 100, now: datetime | None = None) -> list[Attempt]:
    """Take due deliveries for one worker: each is leased (its next attempt moved LEASE ahead) and
    counted as attempted in this commit, so two workers never post the same one at once."""
    session, now = uow.session, now or utcnow()
    query = (select(WebhookDelivery, WebhookSubscription)
             .join(WebhookSubscription, WebhookSubscription.id == WebhookDelivery.subscription_id)
             .where(WebhookDelivery.status == "pending", WebhookDelivery.next_attempt_at <= now,
                    WebhookSubscription.active.is_(True))
             .order_by(WebhookDelivery.next_attempt_at, WebhookDelivery.id).limit(limit))
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(of=WebhookDelivery, skip_locked=True)
    protector = protector_for(uow.runtime.settings)
    claimed = []
    for delivery, subscription in session.execute(query).all():
        delivery.attempts += 1
        delivery.next_attempt_at = now + LEASE
        body = json.dumps(delivery.payload, separators=(",", ":"), sort_keys=True).encode()
        claimed.append(Attempt(delivery.id, subscription.url, protector.decrypt(subscription.secret_encrypted),
                               delivery.event, body))
    uow.commit()
    return claimed


def post(settings: Settings, attempt: Attempt) -> tuple[int | None, str]:
    """POST one delivery; returns (HTTP status or None, error text or '')."""
    timestamp = int(time.time())
    headers = {"Content-Type": "application/json", "User-Agent": "Sagsgang-Webhooks/1",
               "Sagsgang-Event": attempt.event, "Sagsgang-Delivery": str(attempt.delivery_id),
               SIGNATURE_HEADER: sign(attempt.secret, timestamp, attempt.body)}
    try:
        response = requests.post(attempt.url, data=attempt.body, headers=headers, timeout=settings.http_timeout,
                                 allow_redirects=False)
    except requests.RequestException as err:
        return None, f"{type(err).__name__}: {err}"[:1000]
    if 200 <= response.status_code < 300:
        return response.status_code, ""
    return response.status_code, f"HTTP {response.status_code}: {response.text[:500]}"


def record_result(uow: UnitOfWork, delivery_id: int, status: int | None, error: str,
                  now: datetime | None = None) -> str:
    """Mark a delivery delivered, or schedule its next attempt with exponential backoff, or give up."""
    session, now = uow.session, now or utcnow()
    delivery = session.get(WebhookDelivery, delivery_id)
    if delivery is None or delivery.status != "pending":
        return delivery.status if delivery else "gone"
    delivery.last_status, delivery.last_error = status, error
    if not error:
        delivery.status, delivery.delivered_at = "delivered", now
    elif delivery.attempts >= MAX_ATTEMPTS:
        delivery.status = "failed"
    else:
        delivery.next_attempt_at = now + min(BACKOFF * 2 ** (delivery.attempts - 1), MAX_BACKOFF)
    result = delivery.status
    uow.commit()
    return result


def deliver_due(unit_of_work: Callable[[], UnitOfWork], settings: Settings, limit: int = 100,
                now: datetime | None = None, send: Callable[[Settings, Attempt], tuple] = post) -> dict:
    """Deliver what is due: claim (one commit), POST outside any transaction, record each result.

    Returns counts by outcome. The worker task `sagsgang.deliver_webhooks` runs it every few seconds.
    """
    with unit_of_work() as uow:
        attempts = claim_due(uow, limit, now)
    outcome = {"delivered": 0, "pending": 0, "failed": 0}
    for attempt in attempts:
        status, error = send(settings, attempt)
        with unit_of_work() as uow:
            result = record_result(uow, attempt.delivery_id, status, error, now)
        outcome[result] = outcome.get(result, 0) + 1
    return outcome

