"""The secretary's work: queues, assembling agendas, publishing, recording decisions.

Every action is one unit of work. Decisions go back to the case as the BPMN message
`committee_decision`, correlated by the item's key, in the same unit of work as the decision is
recorded: either the case took it, or the decision is stored together with an undelivered message
that says why not (engine.services.messages).
"""
from __future__ import annotations

from datetime import date, datetime, time

from sqlalchemy import select
from sqlalchemy.orm import Session

from .. import cpr, permissions
from ..db import UnitOfWork, utcnow
from ..errors import Conflict, InvalidInput, NotAllowed, NotFound
from ..localtime import TIMEZONE, local_today
from ..models import (AgendaAttachment, AgendaEntry, AgendaItem, AgendaSection, Committee, Meeting,
                      MeetingPublication, User)
from ..models.documents import DocumentCprReference, DocumentVersion
from ..models.agenda import OUTCOMES, SECTION_KINDS
from . import agenda_intake, cases, messages
from .committees import seated_committee_ids, served_committee_ids
from .journal import append_event
from .org import get_user

SECTION_TITLES = {"resume": "Resumé", "recommendation": "Indstilling", "presentation": "Sagsfremstilling",
                  "economy": "Økonomi"}
OUTCOME_TITLES = {"approved": "Godkendt", "rejected": "Ikke godkendt", "postponed": "Udsat",
                  "sent_on": "Oversendt"}
STATUS_TITLES = {"planned": "Planlagt", "agenda_published": "Dagsorden offentliggjort", "held": "Afholdt",
                 "minutes_published": "Referat offentliggjort"}
EXPORT_FORMAT = "sagsgang-os2web-meetings"
EXPORT_VERSION = 1
UPCOMING = 6


# --- lookups ---------------------------------------------------------------------------------------

def _user(session: Session, actor: str) -> User:
    user = get_user(session, actor)
    if not user.is_active:
        raise NotAllowed(f"user '{actor}' is deactivated")
    return user


def _meeting(session: Session, meeting_id) -> Meeting:
    meeting = session.get(Meeting, meeting_id) if isinstance(meeting_id, int) else None
    if meeting is None:
        raise NotFound(f"unknown meeting '{meeting_id}'", field="meeting_id")
    return meeting


def _item(session: Session, item_id) -> AgendaItem:
    item = session.get(AgendaItem, item_id) if isinstance(item_id, int) else None
    if item is None:
        raise NotFound(f"unknown agenda item '{item_id}'", field="item_id")
    return item


def _managed_meeting(session: Session, user: User, meeting_id, action: str) -> Meeting:
    meeting = _meeting(session, meeting_id)
    permissions.require(permissions.may_manage_committee(session, user.id, meeting.committee_id),
                        f"{user.username} may not {action} for {meeting.committee.name}")
    return meeting


def _planned(meeting: Meeting) -> None:
    """The agenda can change only until it is published."""
    if meeting.status != "planned":
        raise Conflict(f"the agenda of the meeting on {_local(meeting.starts_at):%d-%m-%Y} is already published; "
                       "it can no longer change")


def _fresh(meeting: Meeting, expected_version) -> None:
    if expected_version is not None and expected_version != meeting.row_version:
        raise Conflict("the agenda was changed by someone else meanwhile; reload and try again")


def _agenda_to_change(session: Session, actor: str, meeting_id, expected_version,
                      action: str = "assemble agendas") -> tuple[User, Meeting]:
    """The planned meeting whose agenda `actor` may change, unchanged since `expected_version`."""
    user = _user(session, actor)
    meeting = _managed_meeting(session, user, meeting_id, action)
    _planned(meeting)
    _fresh(meeting, expected_version)
    return user, meeting


def _changed(meeting: Meeting) -> None:
    meeting.row_version += 1


def _local(value: datetime) -> datetime:
    return value.astimezone(TIMEZONE)


def route_committee_ids(session: Session, item: AgendaItem) -> list[int]:
    if not item.route:
        return [item.committee_id] if item.committee_id else []
    return list(session.scalars(select(Committee.id).where(Committee.key.in_(item.route))))


def may_see_closed(session: Session, user: User, item: AgendaItem) -> bool:
    """Members and secretaries of a committee on the item's route see its closed content."""
    return user.is_active and permissions.may_see_closed_agenda_content(
        session, user.id, route_committee_ids(session, item))


# --- views -----------------------------------------------------------------------------------------

def _section_view(section: AgendaSection, visible: bool) -> dict:
    shown = visible or not section.closed
    return {"id": section.id, "kind": section.kind, "title": SECTION_TITLES.get(section.kind, section.kind),
            "closed": section.closed, "body": section.body if shown else None, "hidden": not shown}


def _attachment_view(attachment: AgendaAttachment, number: str, visible: bool) -> dict:
    shown = visible or not attachment.closed
    return {"id": attachment.id, "number": number, "closed": attachment.closed, "hidden": not shown,
            "title": attachment.title if shown else None, "reference": attachment.reference if shown else None,
            "has_file": shown and attachment.document_id is not None,
            "version": attachment.document_version if shown else None}


def item_view(session: Session, user: User, item: AgendaItem, number: int | None = None,
              entry: AgendaEntry | None = None) -> dict:
    """An item as `user` may see it: closed content only for the committees' members and secretaries."""
    visible = may_see_closed(session, user, item)
    hidden_item = item.closed and not visible
    prefix = f"{number}." if number is not None else ""
    view = {
        "id": item.id, "key": item.key, "number": number, "title": item.title, "closed": item.closed,
        "hidden": hidden_item, "status": item.status, "case": item.case.number,
        "route": list(item.route), "route_position": item.route_position,
        "committee": item.committee.key if item.committee else None,
        "committee_name": item.committee.name if item.committee else None,
        "queued_at": item.queued_at.isoformat() if item.queued_at else None,
        "sections": [] if hidden_item else [_section_view(s, visible) for s in item.sections],
        "attachments": [] if hidden_item else [
            _attachment_view(a, f"{prefix}{i}", visible) for i, a in enumerate(item.attachments, start=1)],
        "history": [_decision_view(e, visible or not item.closed) for e in item.entries if e.outcome],
    }
    if entry is not None:
        view["entry"] = _decision_view(entry, visible or not item.closed)
    return view


def _decision_view(entry: AgendaEntry, visible: bool) -> dict:
    return {"entry_id": entry.id, "meeting_id": entry.meeting_id, "committee": entry.meeting.committee.key,
            "committee_name": entry.meeting.committee.name,
            "meeting_date": _local(entry.meeting.starts_at).date().isoformat(),
            "outcome": entry.outcome, "outcome_title": OUTCOME_TITLES.get(entry.outcome or "", ""),
            "decision_text": entry.decision_text if visible else None,
            "decided_at": entry.decided_at.isoformat() if entry.decided_at else None,
            "decided_by": entry.decided_by.username if entry.decided_by else None, "delivery": entry.delivery,
            "undelivered_message_id": entry.undelivered_message_id}


def _meeting_summary(meeting: Meeting, today: date) -> dict:
    return {"id": meeting.id, "committee": meeting.committee.key, "committee_name": meeting.committee.name,
            "starts_at": meeting.starts_at.isoformat(), "local_start": _local(meeting.starts_at).strftime("%Y-%m-%d %H:%M"),
            "ends_at": meeting.ends_at.isoformat() if meeting.ends_at else None, "place": meeting.place,
            "status": meeting.status, "status_title": STATUS_TITLES[meeting.status],
            "agenda_deadline": meeting.agenda_deadline.isoformat(),
            "deadline_passed": meeting.status == "planned" and meeting.agenda_deadline < today,
            "days_to_deadline": (meeting.agenda_deadline - today).days,
            "entries": len(meeting.entries), "row_version": meeting.row_version}


def overview(session: Session, actor: str, today: date | None = None) -> dict:
    """Everything across the committees `actor` is secretary of: queues, coming meetings, deadlines."""
    user = _user(session, actor)
    today = today or local_today()
    ids = served_committee_ids(session, user.id)
    start_of_today = datetime.combine(today, time.min, TIMEZONE)
    committees = []
    for committee in (session.get(Committee, i) for i in ids):
        queue = session.scalars(select(AgendaItem).where(AgendaItem.committee_id == committee.id,
                                                         AgendaItem.status == "ready")
                                .order_by(AgendaItem.queued_at, AgendaItem.id))
        meetings = session.scalars(select(Meeting).where(
            Meeting.committee_id == committee.id,
            (Meeting.starts_at >= start_of_today) | (Meeting.status.in_(("agenda_published", "held"))))
            .order_by(Meeting.starts_at).limit(UPCOMING))
        committees.append({
            "key": committee.key, "name": committee.name, "agenda_deadline_days": committee.agenda_deadline_days,
            "queue": [item_view(session, user, item) for item in queue],
            "drafts": 0,  # counted below: the route is JSON, so drafts are counted in Python
            "meetings": [_meeting_summary(m, today) for m in meetings]})
    drafts = session.scalars(select(AgendaItem).where(AgendaItem.status == "draft"))
    by_key = {c["key"]: c for c in committees}
    for item in drafts:
        first = item.route[0] if item.route else None
        if first in by_key:
            by_key[first]["drafts"] += 1
    return {"committees": committees, "today": today.isoformat(),
            "undelivered": messages.count_undelivered(session, actor) if committees else 0,
            "administers": bool(permissions.may_administer_committees(session, user.id))}


def meeting_view(session: Session, actor: str, meeting_id: int, today: date | None = None) -> dict:
    """A meeting with its numbered agenda, as `actor` may see it (members and secretaries, administrators)."""
    user = _user(session, actor)
    meeting = _meeting(session, meeting_id)
    manages = bool(permissions.may_manage_committee(session, user.id, meeting.committee_id))
    if not manages and meeting.committee_id not in seated_committee_ids(session, user.id):
        raise NotAllowed(f"{actor} may not see the working agenda of {meeting.committee.name}; "
                         "the published agenda is public")
    view = _meeting_summary(meeting, today or local_today())
    view["manages"] = manages
    view["items"] = [item_view(session, user, entry.item, number, entry)
                     for number, entry in enumerate(meeting.entries, start=1)]
    other = session.scalars(select(Meeting).where(Meeting.committee_id == meeting.committee_id,
                                                  Meeting.id != meeting.id, Meeting.status == "planned")
                            .order_by(Meeting.starts_at))
    view["other_meetings"] = [{"id": m.id, "local_start": _local(m.starts_at).strftime("%Y-%m-%d %H:%M")} for m in other]
    queue = session.scalars(select(AgendaItem).where(AgendaItem.committee_id == meeting.committee_id,
                                                     AgendaItem.status == "ready")
                            .order_by(AgendaItem.queued_at, AgendaItem.id))
    view["queue"] = [item_view(session, user, item) for item in queue] if manages else []
    view["publications"] = {kind: _latest_publication_meta(session, meeting.id, kind) for kind in ("agenda", "minutes")}
    return view


def _latest_publication(session: Session, meeting_id: int, kind: str) -> MeetingPublication | None:
    return session.scalar(select(MeetingPublication).where(
        MeetingPublication.meeting_id == meeting_id, MeetingPublication.kind == kind)
        .order_by(MeetingPublication.number.desc()).limit(1))


def _latest_publication_meta(session: Session, meeting_id: int, kind: str) -> dict | None:
    row = _latest_publication(session, meeting_id, kind)
    return None if row is None else {"number": row.number, "published_at": row.published_at.isoformat(),
                                     "published_by": row.published_by, "redacted": row.redacted}


# --- assembling the agenda -----------------------------------------------------------------------

def _renumber(meeting: Meeting, order: list[AgendaEntry]) -> None:
    for position, entry in enumerate(order, start=1):
        entry.position = position


def add_to_agenda(uow: UnitOfWork, actor: str, meeting_id: int, item_id: int,
                  expected_version: int | None = None) -> dict:
    """Put an item from the committee's queue on a planned meeting's agenda, last."""
    session = uow.session
    _, meeting = _agenda_to_change(session, actor, meeting_id, expected_version)
    item = _item(session, item_id)
    if item.status != "ready" or item.committee_id != meeting.committee_id:
        raise Conflict(f"agenda item '{item.title}' is not in the queue of {meeting.committee.name}")
    order = list(meeting.entries)
    entry = AgendaEntry(meeting_id=meeting.id, item_id=item.id, position=len(order) + 1)
    session.add(entry)
    item.status, item.updated_at = "scheduled", utcnow()
    _changed(meeting)
    session.flush()
    uow.commit()
    return {"meeting_id": meeting.id, "item_id": item.id, "number": entry.position, "row_version": meeting.row_version}


def _open_entry(meeting: Meeting, item_id: int) -> AgendaEntry:
    entry = next((e for e in meeting.entries if e.item_id == item_id), None)
    if entry is None:
        raise NotFound(f"agenda item {item_id} is not on this meeting's agenda", field="item_id")
    return entry


def remove_from_agenda(uow: UnitOfWork, actor: str, meeting_id: int, item_id: int,
                       expected_version: int | None = None) -> dict:
    """Take an item off a planned agenda; it goes back to the front of its committee's queue."""
    session = uow.session
    _, meeting = _agenda_to_change(session, actor, meeting_id, expected_version)
    entry = _open_entry(meeting, item_id)
    entry.item.status, entry.item.updated_at = "ready", utcnow()
    meeting.entries.remove(entry)
    _renumber(meeting, list(meeting.entries))
    _changed(meeting)
    uow.commit()
    return {"meeting_id": meeting.id, "item_id": item_id, "row_version": meeting.row_version}


def reorder_agenda(uow: UnitOfWork, actor: str, meeting_id: int, item_ids: list,
                   expected_version: int | None = None) -> dict:
    """Set the order of a planned agenda: `item_ids` must name exactly the items on it."""
    session = uow.session
    _, meeting = _agenda_to_change(session, actor, meeting_id, expected_version)
    if not isinstance(item_ids, list) or not all(isinstance(i, int) for i in item_ids):
        raise InvalidInput("the order is a list of agenda item ids", field="order")
    by_item = {e.item_id: e for e in meeting.entries}
    if sorted(item_ids) != sorted(by_item):
        raise Conflict("the agenda changed meanwhile (items were added or removed); reload and try again")
    _renumber(meeting, [by_item[i] for i in item_ids])
    _changed(meeting)
    uow.commit()
    return {"meeting_id": meeting.id, "order": item_ids, "row_version": meeting.row_version}


def move_on_agenda(uow: UnitOfWork, actor: str, meeting_id: int, item_id: int, offset: int,
                   expected_version: int | None = None) -> dict:
    """Move an item up (-1) or down (+1): the keyboard's way to reorder."""
    session = uow.session
    meeting = _meeting(session, meeting_id)
    order = [e.item_id for e in meeting.entries]
    if item_id not in order:
        raise NotFound(f"agenda item {item_id} is not on this meeting's agenda", field="item_id")
    index = order.index(item_id)
    target = max(0, min(len(order) - 1, index + int(offset)))
    order.insert(target, order.pop(index))
    return reorder_agenda(uow, actor, meeting_id, order, expected_version)


def move_to_meeting(uow: UnitOfWork, actor: str, item_id: int, from_meeting_id: int, to_meeting_id: int) -> dict:
    """Move an item from one planned agenda to another planned meeting of the same committee."""
    session = uow.session
    user = _user(session, actor)
    source = _managed_meeting(session, user, from_meeting_id, "assemble agendas")
    target = _managed_meeting(session, user, to_meeting_id, "assemble agendas")
    if source.id == target.id:
        raise InvalidInput("choose another meeting", field="to_meeting_id")
    if source.committee_id != target.committee_id:
        raise InvalidInput(f"the item is for {source.committee.name}; choose one of its meetings", field="to_meeting_id")
    _planned(source)
    _planned(target)
    entry = _open_entry(source, item_id)
    source.entries.remove(entry)
    session.flush()
    _renumber(source, list(source.entries))
    target.entries.append(AgendaEntry(item_id=item_id, position=len(target.entries) + 1))
    _changed(source)
    _changed(target)
    uow.commit()
    return {"item_id": item_id, "meeting_id": target.id, "number": len(target.entries)}


def set_closed(uow: UnitOfWork, actor: str, kind: str, target_id: int, closed: bool) -> dict:
    """Open or close an item, one of its sections or one of its attachments (lukket punkt).

    Only a secretary of the committee the item is with, and only while its agenda is unpublished.
    """
    session = uow.session
    user = _user(session, actor)
    model = {"item": AgendaItem, "section": AgendaSection, "attachment": AgendaAttachment}.get(kind)
    if model is None:
        raise InvalidInput("open or close an item, a section or an attachment", field="kind")
    target = session.get(model, target_id) if isinstance(target_id, int) else None
    if target is None:
        raise NotFound(f"unknown {kind} '{target_id}'", field="target_id")
    item = target if kind == "item" else target.item
    if item.committee_id is None:
        raise Conflict(f"agenda item '{item.title}' is not with a committee yet")
    permissions.require(permissions.may_manage_committee(session, user.id, item.committee_id),
                        f"{actor} may not open or close items of {item.committee.name}")
    scheduled = next((e for e in item.entries if e.outcome is None), None)
    if scheduled is not None:
        _planned(scheduled.meeting)
        _changed(scheduled.meeting)
    if item.status == "decided":
        raise Conflict(f"agenda item '{item.title}' is decided; its minutes are what was published")
    target.closed = bool(closed)
    item.updated_at = utcnow()
    uow.commit()
    return {"kind": kind, "id": target.id, "closed": target.closed}


# --- publishing ------------------------------------------------------------------------------------

def _public_text(text: str, where: str, found: list[str], redact: bool) -> str:
    if text and cpr.contains_cpr(text):
        found.append(where)
        return cpr.redact(text) if redact else text
    return text


def _document(session: Session, meeting: Meeting, kind: str, redact: bool, number: int) -> tuple[dict, list[str]]:
    """The public document of an agenda or minutes (the OS2web Meetings canonical shape, see
    docs/agenda.md): closed items by title only, closed sections left out, closed attachments by
    number only; every CPR number in open text listed (and replaced when `redact`)."""
    found: list[str] = []
    bullet_points = []
    for position, entry in enumerate(meeting.entries, start=1):
        item = entry.item
        where = f"item {position}"
        title = _public_text(item.title, f"{where} title", found, redact)
        point = {"id": f"item-{item.id}", "number": position, "title": title, "access": not item.closed,
                 "case_number": item.case.number, "attachments": [], "enclosures": []}
        if not item.closed:
            for section in item.sections:
                if section.closed:
                    continue
                label = SECTION_TITLES.get(section.kind, section.kind)
                point["attachments"].append({
                    "id": f"section-{section.id}", "title": label, "access": True,
                    "body": _public_text(section.body, f"{where} {label}", found, redact)})
            for index, attachment in enumerate(item.attachments, start=1):
                enclosure = {"id": f"attachment-{attachment.id}", "number": f"{position}.{index}",
                             "access": not attachment.closed}
                if attachment.closed:
                    enclosure["title"] = "Lukket bilag"
                else:
                    enclosure["title"] = _public_text(attachment.title, f"{where} attachment {position}.{index}",
                                                      found, redact)
                    enclosure["uri"] = _public_text(attachment.reference, f"{where} attachment {position}.{index}",
                                                    found, redact)
                    if attachment.document_id is not None:
                        # A case document: downloadable through the agenda (the web layer makes the link).
                        enclosure["attachment_id"] = attachment.id
                point["enclosures"].append(enclosure)
        if kind == "minutes" and entry.outcome:
            point["decision"] = {"outcome": entry.outcome, "title": OUTCOME_TITLES[entry.outcome]}
            if not item.closed:
                body = _public_text(entry.decision_text, f"{where} Beslutning", found, redact)
                point["decision"]["text"] = body
                point["attachments"].append({"id": f"decision-{entry.id}", "title": "Beslutning", "access": True,
                                             "body": body})
        bullet_points.append(point)
    committee = meeting.committee
    local = _local(meeting.starts_at)
    document = {
        "format": EXPORT_FORMAT, "version": EXPORT_VERSION,
        "agenda_id": f"sagsgang-{meeting.id}-{kind}-{number}",
        "meeting_id": str(meeting.id),
        "title": f"{committee.name} {local:%d-%m-%Y}",
        "agenda_type": "Referat" if kind == "minutes" else "Dagsorden",
        "agenda_access": 1,
        "meeting_start_date": int(meeting.starts_at.timestamp()),
        "meeting_end_date": int(meeting.ends_at.timestamp()) if meeting.ends_at else None,
        "local_start": local.strftime("%Y-%m-%d %H:%M"),
        "committee": {"id": committee.key, "name": committee.name},
        "location": {"id": meeting.place, "name": meeting.place},
        "bullet_points": bullet_points,
    }
    return document, found


def _attachments_with_cpr(session: Session, meeting: Meeting) -> list[str]:
    """Open attachments whose attached document version holds CPR numbers: a file cannot be
    redacted on publishing, so these must be closed (or another version attached) first."""
    open_files = {}
    for position, entry in enumerate(meeting.entries, start=1):
        if entry.item.closed:
            continue
        for index, attachment in enumerate(entry.item.attachments, start=1):
            if not attachment.closed and attachment.document_id is not None:
                open_files[(attachment.document_id, attachment.document_version)] = f"{position}.{index}"
    if not open_files:
        return []
    rows = session.execute(
        select(DocumentVersion.document_id, DocumentVersion.version).distinct()
        .join(DocumentCprReference, DocumentCprReference.version_id == DocumentVersion.id)
        .where(DocumentVersion.document_id.in_({d for d, _ in open_files}))).all()
    return sorted(open_files[key] for key in map(tuple, rows) if key in open_files)


def _publish(uow: UnitOfWork, user: User, meeting: Meeting, kind: str, redact_cpr: bool) -> dict:
    session = uow.session
    with_cpr = _attachments_with_cpr(session, meeting)
    if with_cpr:
        raise InvalidInput("the documents of open attachment " + ", ".join(with_cpr) + " contain CPR numbers; "
                           "close the attachment or attach a version without them", field="attachments",
                           places=with_cpr)
    previous = _latest_publication(session, meeting.id, kind)
    number = (previous.number + 1) if previous else 1
    document, found = _document(session, meeting, kind, bool(redact_cpr), number)
    if found and not redact_cpr:
        raise InvalidInput("CPR numbers in open text: " + "; ".join(found) + ". Close the section, correct the "
                           "text, or publish with CPR numbers redacted", field="redact_cpr", places=found)
    now = utcnow()
    document["published_at"] = now.isoformat()
    session.add(MeetingPublication(meeting_id=meeting.id, kind=kind, number=number, published_by=user.username,
                                   published_at=now, redacted=len(found), content=document))
    return {"meeting_id": meeting.id, "kind": kind, "number": number, "redacted": len(found), "published_at": now}


def publish_agenda(uow: UnitOfWork, actor: str, meeting_id: int, redact_cpr: bool = False,
                   expected_version: int | None = None) -> dict:
    """Publish a planned meeting's agenda: the public page, PDF and export show it from now on."""
    session = uow.session
    user, meeting = _agenda_to_change(session, actor, meeting_id, expected_version, "publish agendas")
    if not meeting.entries:
        raise InvalidInput("the agenda has no items yet", field="meeting_id")
    result = _publish(uow, user, meeting, "agenda", redact_cpr)
    meeting.status, meeting.agenda_published_at = "agenda_published", result["published_at"]
    _changed(meeting)
    uow.commit()
    return dict(result, published_at=result["published_at"].isoformat())


def publish_minutes(uow: UnitOfWork, actor: str, meeting_id: int, redact_cpr: bool = False) -> dict:
    """Publish the minutes (the agenda with its decisions) once every item is decided."""
    session = uow.session
    user = _user(session, actor)
    meeting = _managed_meeting(session, user, meeting_id, "publish minutes")
    if meeting.status not in ("agenda_published", "held"):
        raise Conflict("minutes follow a published agenda" if meeting.status == "planned"
                       else "the minutes are already published")
    undecided = [n for n, e in enumerate(meeting.entries, start=1) if e.outcome is None]
    if undecided:
        raise InvalidInput("record a decision for item " + ", ".join(map(str, undecided)) + " first",
                           field="meeting_id")
    result = _publish(uow, user, meeting, "minutes", redact_cpr)
    meeting.status, meeting.minutes_published_at = "minutes_published", result["published_at"]
    _changed(meeting)
    uow.commit()
    return dict(result, published_at=result["published_at"].isoformat())


def publication(session: Session, meeting_id: int, kind: str) -> dict:
    """The published document (public: it holds only what was published)."""
    if kind not in ("agenda", "minutes"):
        raise NotFound(f"unknown publication '{kind}'", field="kind")
    row = _latest_publication(session, meeting_id, kind) if isinstance(meeting_id, int) else None
    if row is None:
        raise NotFound(f"meeting {meeting_id} has no published {'minutes' if kind == 'minutes' else 'agenda'}",
                       field="meeting_id")
    return dict(row.content, publication_number=row.number)


def public_meetings(session: Session, committee_key: str | None = None, limit: int = 200) -> list[dict]:
    """Meetings for the public list and the calendar feed: when, where, and what is published."""
    query = select(Meeting).join(Committee).where(Committee.active.is_(True)).order_by(Meeting.starts_at.desc())
    if committee_key:
        query = query.where(Committee.key == committee_key)
    today = local_today()
    return [dict(_meeting_summary(m, today), agenda_published=m.agenda_published_at is not None,
                 minutes_published=m.minutes_published_at is not None)
            for m in session.scalars(query.limit(limit))]


# --- decisions -------------------------------------------------------------------------------------

def record_decision(uow: UnitOfWork, actor: str, meeting_id: int, item_id: int, outcome: str,
                    decision_text: str = "", next_committee: str | None = None) -> dict:
    """Record the committee's decision on an item and send it to the case.

    approved / rejected: final; the case continues on that path. postponed: the item goes back to
    the front of the committee's queue. sent_on: the item goes to the next committee on its route
    (or `next_committee`, which is then put on the route). The case gets every decision as the
    message `committee_decision`; if no case waits for it, the decision stays recorded and the
    message is stored as undelivered, shown to the secretaries.
    """
    session = uow.session
    user = _user(session, actor)
    meeting = _managed_meeting(session, user, meeting_id, "record decisions")
    if meeting.status not in ("agenda_published", "held"):
        raise Conflict("decisions are recorded once the agenda is published" if meeting.status == "planned"
                       else "the minutes are published; the decisions can no longer change")
    entry = _open_entry(meeting, item_id)
    if entry.outcome is not None:
        raise Conflict(f"item '{entry.item.title}' already has a decision: {OUTCOME_TITLES[entry.outcome]}")
    if outcome not in OUTCOMES:
        raise InvalidInput(f"the decision is one of {', '.join(OUTCOMES)}", field="outcome")
    if not isinstance(decision_text, str) or len(decision_text) > 20_000:
        raise InvalidInput("the decision is text of at most 20,000 characters", field="decision_text")
    item, committee, now = entry.item, meeting.committee, utcnow()
    after = None
    if outcome == "sent_on":
        after = _next_committee(session, item, committee, next_committee)
    text = decision_text.strip() or (f"Oversendt til {after.name}." if after else f"{OUTCOME_TITLES[outcome]}.")
    entry.outcome, entry.decision_text, entry.decided_at, entry.decided_by_id = outcome, text, now, user.id
    meeting.status = "held"
    _changed(meeting)
    if outcome == "postponed":
        item.status = "ready"  # keeps its queued_at: first in the queue again
    elif outcome == "sent_on":
        item.route_position += 1
        item.status, item.committee_id, item.queued_at = "ready", after.id, now
    else:
        item.status, item.final_outcome = "decided", outcome
    item.updated_at = now
    session.flush()
    payload = {"item_key": item.key, "outcome": outcome, "decision": text, "committee": committee.key,
               "committee_name": committee.name, "meeting_id": meeting.id,
               "meeting_date": _local(meeting.starts_at).date().isoformat(),
               "next_committee": after.key if after else None, "decided_at": now.isoformat(),
               "decided_by": user.username}
    # The decision is journalled on the case whether or not the case is waiting for it (the
    # webhooks' `decision.recorded` reads it); flushed before the delivery loads the case's head.
    append_event(session, item.case, actor, "decision_recorded", {
        "item_id": item.id, "item_key": item.key, "committee": committee.key, "meeting_id": meeting.id,
        "outcome": outcome, "next_committee": after.key if after else None})
    session.flush()
    correlations = agenda_intake.decision_correlations(item.key)
    delivered = cases.deliver_if_waiting(uow, agenda_intake.DECISION, payload, correlations, actor=actor)
    if delivered is None:
        message_id = messages.record_undelivered(
            session, agenda_intake.DECISION, cases.correlation_key(correlations), correlations, payload,
            f"agenda_entry:{entry.id}", f"case {item.case.number} is not waiting for a decision on item {item.key} "
            f"(its status: {item.case.status})", committee_id=committee.id)
        entry.delivery, entry.undelivered_message_id = "undelivered", message_id
    else:
        entry.delivery = "delivered"
    result = {"meeting_id": meeting.id, "item_id": item.id, "outcome": outcome, "delivered": delivered is not None,
              "case": item.case.number, "next_committee": after.key if after else None,
              "undelivered_message_id": entry.undelivered_message_id}
    uow.commit()
    return result


def _next_committee(session: Session, item: AgendaItem, current: Committee, chosen: str | None) -> Committee:
    route, position = list(item.route), item.route_position
    if chosen:
        target = session.scalar(select(Committee).where(Committee.key == chosen, Committee.active.is_(True)))
        if target is None:
            raise InvalidInput(f"unknown committee '{chosen}'", field="next_committee")
        if target.id == current.id:
            raise InvalidInput("send the item on to another committee", field="next_committee")
        if chosen in route[position + 1:]:
            route.remove(chosen)
        route.insert(position + 1, chosen)
        item.route = route
        return target
    if position + 1 >= len(route):
        raise InvalidInput(f"{current.name} is the last committee on the item's route; choose the committee "
                           "to send it on to", field="next_committee")
    return session.scalar(select(Committee).where(Committee.key == route[position + 1]))


# --- undelivered messages ------------------------------------------------------------------------

def retry_message(uow: UnitOfWork, actor: str, message_id: int) -> dict:
    return messages.retry_undelivered(uow, actor, message_id, cases.deliver_if_waiting)


def case_items(session: Session, actor: str, number: str) -> list[dict]:
    """The agenda items of a case, for its page (closed content as the user may see it)."""
    user = _user(session, actor)
    case = cases.get_case(session, number)
    permissions.require(permissions.can_see_case(session, user, case), f"{actor} may not see case {number}")
    items = session.scalars(select(AgendaItem).where(AgendaItem.case_id == case.id).order_by(AgendaItem.id))
    return [item_view(session, user, item) for item in items]
