"""Messages across cases: route what a case throws, and keep what reaches nobody.

A BPMN message that no case waits for is an error that is stored (`undelivered_messages`) and
shown, never dropped. Messages a case throws are routed after its unit of work: the engine's own
receivers (agenda items) take theirs at once, in the same unit of work; any other message goes to
the case waiting for it, in a unit of work of its own once the thrower's has committed.
"""
from __future__ import annotations

import logging
from collections.abc import Callable

from sqlalchemy import select
from sqlalchemy.orm import Session

from .. import cpr, permissions
from ..db import UnitOfWork, utcnow
from ..errors import Conflict, InvalidInput, NotFound, SagsgangError
from ..models import AgendaEntry, CommitteeMember, UndeliveredMessage
from . import agenda_intake
from .aftermath import record_when_done
from .journal import Journal
from .org import get_user

log = logging.getLogger(__name__)


def record_undelivered(session: Session, message_name: str, correlation_key: str, correlations: dict,
                       payload: dict, source: str, reason: str, committee_id: int | None = None) -> int:
    """Store a message that reached no case; returns its id."""
    row = UndeliveredMessage(message_name=message_name, correlation_key=correlation_key,
                             correlations=correlations or {}, payload=payload or {}, source=source,
                             reason=reason, committee_id=committee_id)
    session.add(row)
    session.flush()
    log.warning("undelivered message %s (%s): %s", message_name, source, reason)
    return row.id


def record_undelivered_after(uow: UnitOfWork, message_name: str, correlation_key: str, correlations: dict,
                             payload: dict, source: str, reason: str) -> None:
    """Record an undelivered message once `uow` has ended, whichever way it ends: the unit of work
    that found no receiver is usually rolled back (see aftermath.record_when_done)."""
    record_when_done(uow, lambda session: record_undelivered(
        session, message_name, correlation_key, correlations, payload, source, reason),
        f"could not record the undelivered message {message_name}")


Deliver = Callable[..., dict]


def route_thrown(uow: UnitOfWork, case_id: int, number: str, thrown: list[dict], actor: str,
                 journal: Journal, deliver: Deliver) -> None:
    """Route the messages a case's workflow threw in this unit of work (see the module docstring).

    `deliver(uow, message_name, payload, correlations, actor=, source=)` is the services' delivery
    function (engine.services.cases.deliver_message), passed in so this module needs no case loading.
    """
    for message in thrown:
        name, payload, correlations = message["message_name"], message["payload"], message["correlations"]
        journal.append(actor, "message_sent", {"message": name, "correlations": cpr.redact(correlations)})
        if agenda_intake.receives(name):
            agenda_intake.receive(uow.session, case_id, number, name, payload, actor)
            continue
        uow.after_commit(_forwarder(uow, name, payload, correlations, f"case:{number}", deliver))


def _forwarder(uow: UnitOfWork, name: str, payload, correlations: dict, source: str, deliver: Deliver):
    database, runtime = uow.database, uow.runtime

    def forward() -> None:
        try:
            with UnitOfWork(database, runtime) as side:
                deliver(side, name, payload if isinstance(payload, dict) else {"value": payload}, correlations,
                        actor=source, source=source)
        except NotFound:
            pass  # deliver_message stored it as undelivered
        except SagsgangError as err:  # the receiving case refused it: keep it, with the reason
            with UnitOfWork(database, runtime) as side:
                record_undelivered(side.session, name, "", correlations, payload if isinstance(payload, dict) else {},
                                   source, str(err))
                side.commit()
    return forward


# --- reading and resolving stored messages -------------------------------------------------------

def _visible_query(session: Session, actor: str):
    user = get_user(session, actor)
    query = select(UndeliveredMessage)
    if not permissions.is_administrator(session, user):
        served = select(CommitteeMember.committee_id).where(CommitteeMember.user_id == user.id,
                                                            CommitteeMember.role == "secretary")
        query = query.where(UndeliveredMessage.committee_id.in_(served))
    return query


def list_undelivered(session: Session, actor: str, status: str = "open") -> list[dict]:
    """The stored messages `actor` may see: administrators all, secretaries their committees'."""
    query = _visible_query(session, actor).where(UndeliveredMessage.status == status)
    return [_message_dict(row) for row in session.scalars(query.order_by(UndeliveredMessage.id.desc()))]


def count_undelivered(session: Session, actor: str) -> int:
    return len(list(session.scalars(_visible_query(session, actor).where(UndeliveredMessage.status == "open"))))


def _message_dict(row: UndeliveredMessage) -> dict:
    return {"id": row.id, "message_name": row.message_name, "correlations": cpr.redact(row.correlations),
            "payload": cpr.redact(row.payload), "source": row.source, "reason": cpr.redact(row.reason),
            "status": row.status, "attempts": row.attempts, "created_at": row.created_at.isoformat(),
            "resolved_at": row.resolved_at.isoformat() if row.resolved_at else None,
            "resolved_by": row.resolved_by, "delivered_to": row.delivered_to}


def _open_message(session: Session, actor: str, message_id: int) -> UndeliveredMessage:
    row = session.scalar(_visible_query(session, actor).where(UndeliveredMessage.id == message_id))
    if row is None:
        raise NotFound(f"unknown undelivered message {message_id}", field="message_id")
    if row.status != "open":
        raise Conflict(f"message {message_id} is already {row.status}")
    return row


def retry_undelivered(uow: UnitOfWork, actor: str, message_id: int, deliver_if_waiting: Callable) -> dict:
    """Deliver a stored message again (after the case was mended); still unmatched: attempts + 1."""
    session = uow.session
    row = _open_message(session, actor, message_id)
    result = deliver_if_waiting(uow, row.message_name, row.payload, row.correlations, actor=actor)
    if result is None:
        row.attempts += 1
        uow.commit()
        return {"id": row.id, "delivered": False, "attempts": row.attempts}
    row.status, row.resolved_at, row.resolved_by = "delivered", utcnow(), actor
    row.delivered_to = result["number"]
    entries = session.scalars(select(AgendaEntry).where(AgendaEntry.undelivered_message_id == row.id))
    for entry in entries:
        entry.delivery = "delivered"
    uow.commit()
    return {"id": row.id, "delivered": True, "number": result["number"]}


def dismiss_undelivered(uow: UnitOfWork, actor: str, message_id: int, reason: str) -> dict:
    """Close a stored message without delivering it; the reason is kept."""
    row = _open_message(uow.session, actor, message_id)
    if not isinstance(reason, str) or not reason.strip():
        raise InvalidInput("dismissing a message needs a reason", field="reason")
    row.status, row.resolved_at, row.resolved_by = "dismissed", utcnow(), actor
    row.reason = f"{row.reason}\n— dismissed by {actor}: {reason.strip()}"
    uow.commit()
    return {"id": row.id, "status": row.status}
