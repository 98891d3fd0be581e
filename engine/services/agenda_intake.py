"""Agenda items arriving from cases: the messages the committee_decision building block throws.

The block throws `agenda_item_drafted` when the caseworker has drafted the item and
`agenda_item_submitted` once the head of department approved it; both carry the item (see
bpmn/shared/committee_decision/committee_decision.bpmn). They are received inside the case's own
unit of work, like the task index is synced: a bad item (an unknown committee, no title) refuses the
step that threw it, with an error naming the field, and nothing is stored.

The decision goes back as the message `committee_decision`, correlated by the item's key
(engine.services.agenda.record_decision).
"""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..db import utcnow
from ..errors import Conflict, InvalidInput
from ..models import AgendaAttachment, AgendaItem, AgendaSection, Committee
from ..models.documents import Document
from ..models.agenda import SECTION_KINDS

DRAFTED = "agenda_item_drafted"
SUBMITTED = "agenda_item_submitted"
DECISION = "committee_decision"
CORRELATION_KEY = "agenda_item"  # the BPMN correlationKey name; its one property is item_key
MESSAGES = (DRAFTED, SUBMITTED)
MAX_ATTACHMENTS = 50
DOCUMENT_PREFIX = "document:"  # engine.services.documents.document_reference


def receives(message_name: str) -> bool:
    return message_name in MESSAGES


def decision_correlations(item_key: str) -> dict:
    """The correlations a decision message carries: what the block's catch event waits with."""
    return {CORRELATION_KEY: {"item_key": item_key}}


def _text(payload: dict, name: str, field: str, required: bool = False, limit: int | None = None) -> str:
    value = payload.get(name)
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise InvalidInput(f"{field} must be text", field=field)
    value = value.strip()
    if required and not value:
        raise InvalidInput(f"{field}: an agenda item needs it", field=field)
    if limit and len(value) > limit:
        raise InvalidInput(f"{field} is longer than {limit} characters", field=field)
    return value


def clean_item(session: Session, number: str, payload) -> dict:
    """Check an item sent by case `number`; InvalidInput names the form field at fault."""
    if not isinstance(payload, dict):
        raise InvalidInput("the agenda item message must carry an object", field="agenda_item")
    key = _text(payload, "item_key", "agenda_item_key", required=True, limit=120)
    if not key.startswith(f"{number}/"):
        # A case may only send items of its own: the key is what decisions are routed by.
        raise InvalidInput(f"item key {key!r} does not belong to case {number}", field="agenda_item_key")
    route = payload.get("route")
    if not isinstance(route, list) or not route or not all(isinstance(k, str) and k.strip() for k in route):
        raise InvalidInput("choose at least one committee for the item", field="committee_route")
    route = [k.strip() for k in route]
    if len(set(route)) != len(route):
        raise InvalidInput("a committee appears twice in the route", field="committee_route")
    known = dict(session.execute(select(Committee.key, Committee.active).where(Committee.key.in_(route))).all())
    for committee_key in route:
        if committee_key not in known:
            raise InvalidInput(f"unknown committee '{committee_key}'", field="committee_route")
        if not known[committee_key]:
            raise InvalidInput(f"committee '{committee_key}' no longer meets", field="committee_route")
    attachments = payload.get("attachments") or []
    if not isinstance(attachments, list) or len(attachments) > MAX_ATTACHMENTS:
        raise InvalidInput(f"attachments must be a list of at most {MAX_ATTACHMENTS}", field="agenda_attachments")
    cleaned_attachments = []
    for index, attachment in enumerate(attachments):
        field = f"agenda_attachments[{index}]"
        if not isinstance(attachment, dict):
            raise InvalidInput("an attachment has a title and a reference", field=field)
        cleaned_attachments.append({
            "title": _text(attachment, "title", f"{field}.title", required=True, limit=300),
            "reference": _text(attachment, "reference", f"{field}.reference", limit=500),
            "closed": bool(attachment.get("closed", False))})
    return {
        "key": key, "title": _text(payload, "title", "agenda_title", required=True, limit=300),
        "closed": bool(payload.get("closed", False)), "route": route,
        "sections": {kind: _text(payload, kind, f"agenda_{kind}") for kind in SECTION_KINDS},
        "attachments": cleaned_attachments,
    }


def receive(session: Session, case_id: int, number: str, message_name: str, payload, actor: str) -> int:
    """Create or update the item a case sent; returns its id."""
    data = clean_item(session, number, payload)
    now = utcnow()
    item = session.scalar(select(AgendaItem).where(AgendaItem.key == data["key"]))
    if item is None:
        item = AgendaItem(key=data["key"], case_id=case_id, created_at=now)
        session.add(item)
    elif item.case_id != case_id:
        raise InvalidInput(f"item key {data['key']!r} belongs to another case", field="agenda_item_key")
    elif item.status not in ("draft",):
        raise Conflict(f"agenda item {data['key']} is already with the committees ({item.status})")
    item.title, item.closed, item.route, item.route_position = data["title"], data["closed"], data["route"], 0
    item.submitted_by, item.updated_at = actor, now
    _resolve_documents(session, case_id, number, data["attachments"])
    _replace_content(session, item, data)
    if message_name == SUBMITTED:
        first = session.scalar(select(Committee).where(Committee.key == data["route"][0]))
        item.status, item.committee_id, item.queued_at = "ready", first.id, now
    else:
        item.status, item.committee_id = "draft", None
    session.flush()
    return item.id


def _resolve_documents(session: Session, case_id: int, number: str, attachments: list[dict]) -> None:
    """A reference `document:<id>` (the form's document fields hold these) names a document of
    this case: it becomes a file attachment, pinned at the document's current version."""
    for index, attachment in enumerate(attachments):
        reference = attachment["reference"]
        attachment["document_id"] = attachment["document_version"] = None
        if not reference.startswith(DOCUMENT_PREFIX):
            continue
        raw = reference[len(DOCUMENT_PREFIX):]
        document = session.scalar(select(Document).where(Document.id == int(raw), Document.case_id == case_id)) \
            if raw.isdigit() else None
        if document is None:
            raise InvalidInput(f"case {number} has no document {raw!r}", field=f"agenda_attachments[{index}].reference")
        attachment["document_id"], attachment["document_version"] = document.id, document.current_version


def _replace_content(session: Session, item: AgendaItem, data: dict) -> None:
    """Sections and attachments as drafted; an item closed as a whole starts with all of it closed.

    Case documents attached on the item's page (engine.services.agenda_attachments) stay: the
    draft's own list replaces only what the draft itself brings.
    """
    from_draft = {a["document_id"] for a in data["attachments"] if a["document_id"] is not None}
    picked = [a for a in item.attachments if a.document_id is not None and a.document_id not in from_draft]
    item.sections.clear()
    for attachment in list(item.attachments):
        if attachment not in picked:
            item.attachments.remove(attachment)
    session.flush()
    for position, kind in enumerate(SECTION_KINDS):
        body = data["sections"][kind]
        if body:
            item.sections.append(AgendaSection(kind=kind, body=body, closed=data["closed"], position=position))
    for attachment in data["attachments"]:
        item.attachments.append(AgendaAttachment(title=attachment["title"], reference=attachment["reference"],
                                                 closed=data["closed"] or attachment["closed"],
                                                 document_id=attachment["document_id"],
                                                 document_version=attachment["document_version"]))
    for position, attachment in enumerate(item.attachments):
        attachment.position = position
        attachment.closed = attachment.closed or data["closed"]
