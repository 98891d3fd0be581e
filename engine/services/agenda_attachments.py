"""Attachments (bilag) that are the case's own documents: picked, removed and downloaded.

An attachment points at a document of the item's case, pinned at the version it had when picked,
so what the committee got stays what the agenda names. Who may pick: whoever may see the case
(the caseworker, who knows its documents) and the secretaries of the committee the item is with,
until the item stands on a published agenda. Who may download: a closed attachment (or any
attachment of a closed item) only the members and secretaries of a committee on the item's route;
an open one also whoever may see the case, and every employee once it was on a published agenda.
Each download is written to the access log like a download from the case itself.
"""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from .. import permissions
from ..db import UnitOfWork, utcnow
from ..errors import Conflict, InvalidInput, NotAllowed, NotFound
from ..models import AgendaAttachment, AgendaItem, User
from ..models.documents import Document, DocumentVersion
from ..storage import store_for
from .access_log import log_access
from .agenda import _item, _planned, _user, item_view, may_see_closed
from .agenda_intake import MAX_ATTACHMENTS
from .documents import document_reference

EDITABLE = ("draft", "ready", "scheduled")


def _open_entry(item: AgendaItem):
    return next((e for e in item.entries if e.outcome is None), None)


def _may_edit(session: Session, user: User, item: AgendaItem) -> bool:
    if item.committee_id is not None and permissions.may_manage_committee(session, user.id, item.committee_id):
        return True
    return permissions.can_see_case(session, user, item.case)


def _editable_item(session: Session, user: User, item_id) -> AgendaItem:
    """The item, if `user` may change its attachments now (refusals say why)."""
    item = _item(session, item_id)
    permissions.require(_may_edit(session, user, item),
                        f"{user.username} may not change the attachments of agenda item '{item.title}'")
    if item.status not in EDITABLE:
        raise Conflict(f"agenda item '{item.title}' is decided; its attachments are what was published")
    entry = _open_entry(item)
    if entry is not None:
        _planned(entry.meeting)
    return item


def _touch(item: AgendaItem) -> None:
    """An attachment change is a change of the agenda it stands on: a stale page's order is refused."""
    item.updated_at = utcnow()
    entry = _open_entry(item)
    if entry is not None:
        entry.meeting.row_version += 1


def item_page(session: Session, actor: str, item_id) -> dict:
    """An item with its attachments as `actor` may see it, and the case documents that may be picked."""
    user = _user(session, actor)
    item = _item(session, item_id)
    sees_case = permissions.can_see_case(session, user, item.case)
    committee_seat = may_see_closed(session, user, item) or (
        item.committee_id is not None and permissions.may_manage_committee(session, user.id, item.committee_id))
    if not (sees_case or committee_seat):
        raise NotAllowed(f"{actor} may not see agenda item '{item.title}'; the published agenda is public")
    view = item_view(session, user, item)
    entry = _open_entry(item)
    view["meeting_id"] = entry.meeting_id if entry is not None else None
    view["editable"] = bool(item.status in EDITABLE and (entry is None or entry.meeting.status == "planned")
                            and _may_edit(session, user, item))
    attached = {a.document_id for a in item.attachments if a.document_id is not None}
    view["documents"] = []
    if view["editable"]:
        rows = session.execute(select(Document.id, Document.name, Document.current_version)
                               .where(Document.case_id == item.case_id).order_by(Document.name, Document.id)).all()
        view["documents"] = [{"id": i, "name": name, "version": version} for i, name, version in rows
                             if i not in attached]
    return view


def attach_document(uow: UnitOfWork, actor: str, item_id, document_id, closed: bool = False,
                    title: str | None = None) -> dict:
    """Attach one of the case's documents (its current version) to the item, last."""
    session = uow.session
    user = _user(session, actor)
    item = _editable_item(session, user, item_id)
    document = None
    if isinstance(document_id, int) and not isinstance(document_id, bool):
        document = session.scalar(select(Document).where(Document.id == document_id,
                                                         Document.case_id == item.case_id))
    if document is None:
        raise InvalidInput(f"choose one of the documents of case {item.case.number}", field="document_id")
    if any(a.document_id == document.id for a in item.attachments):
        raise InvalidInput(f"{document.name} is already attached", field="document_id")
    if len(item.attachments) >= MAX_ATTACHMENTS:
        raise InvalidInput(f"an item has at most {MAX_ATTACHMENTS} attachments", field="document_id")
    title = (title if isinstance(title, str) else "").strip() or document.name
    if len(title) > 300:
        raise InvalidInput("the attachment's title is longer than 300 characters", field="title")
    attachment = AgendaAttachment(title=title, reference=document_reference(document.id),
                                  closed=bool(closed) or item.closed, document_id=document.id,
                                  document_version=document.current_version,
                                  position=max((a.position for a in item.attachments), default=-1) + 1)
    item.attachments.append(attachment)
    _touch(item)
    session.flush()
    result = {"id": attachment.id, "item_id": item.id, "document_id": document.id,
              "version": attachment.document_version, "title": attachment.title, "closed": attachment.closed}
    uow.commit()
    return result


def remove_attachment(uow: UnitOfWork, actor: str, attachment_id) -> dict:
    """Take an attachment off its item (the case's document itself stays)."""
    session = uow.session
    user = _user(session, actor)
    attachment = session.get(AgendaAttachment, attachment_id) if isinstance(attachment_id, int) else None
    if attachment is None:
        raise NotFound(f"unknown attachment '{attachment_id}'", field="attachment_id")
    item = _editable_item(session, user, attachment.item_id)
    item.attachments.remove(attachment)
    for position, rest in enumerate(item.attachments):
        rest.position = position
    _touch(item)
    uow.commit()
    return {"id": attachment_id, "item_id": item.id, "removed": True}


def _published(item: AgendaItem) -> bool:
    return any(e.meeting.agenda_published_at is not None for e in item.entries)


def download_attachment(uow: UnitOfWork, actor: str, attachment_id, purpose: str | None = None) -> tuple[dict, bytes]:
    """The attached version of the document and its bytes, if `actor` may have it; access-logged."""
    session = uow.session
    user = _user(session, actor)
    attachment = session.get(AgendaAttachment, attachment_id) if isinstance(attachment_id, int) else None
    if attachment is None:
        raise NotFound(f"unknown attachment '{attachment_id}'", field="attachment_id")
    item = attachment.item
    if attachment.closed or item.closed:
        permissions.require(may_see_closed(session, user, item),
                            f"{actor} may not open a closed attachment: only the committee's members and "
                            "secretaries may")
    else:
        permissions.require(_published(item) or may_see_closed(session, user, item)
                            or permissions.can_see_case(session, user, item.case),
                            f"{actor} may not open the attachments of agenda item '{item.title}' before its "
                            "agenda is published")
    if attachment.document_id is None:
        raise NotFound(f"attachment '{attachment.title}' has no file (a reference only, or the document "
                       "was deleted from the case)", field="attachment_id")
    version = session.scalar(select(DocumentVersion).where(DocumentVersion.document_id == attachment.document_id,
                                                          DocumentVersion.version == attachment.document_version))
    if version is None:
        raise NotFound(f"attachment '{attachment.title}': the attached version is gone", field="attachment_id")
    content = store_for(uow.runtime.settings).get(version.storage_key)
    log_access(session, user.id, "download", purpose, [item.case_id],
               detail={"document_id": attachment.document_id, "version": version.version,
                       "agenda_attachment_id": attachment.id})
    uow.commit()
    return {"filename": version.filename, "content_type": version.content_type, "size": version.size,
            "sha256": version.sha256}, content

