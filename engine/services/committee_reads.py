"""What other systems read about committees: a committee with its seats and meetings, one agenda item.

Reads only; the secretary's actions are in engine.services.agenda. Who sees what is the agenda's
rule (agenda.item_view): closed content only for the members and secretaries of a committee on the
item's route. Who may read an item at all is decided here, once.
"""
from __future__ import annotations

from sqlalchemy.orm import Session

from .. import permissions
from ..errors import NotAllowed, NotFound
from ..models import AgendaItem, User
from . import agenda
from .committees import committee_seats, get_committee, seated_committee_ids
from .org import get_user


def committee_detail(session: Session, actor: str, key: str, meetings: int = 50) -> dict:
    """A committee, its seats (public: they are political offices) and its newest meetings."""
    get_user(session, actor)
    committee = get_committee(session, key)
    if not committee.active:
        raise NotFound(f"unknown committee '{key}'", field="committee")
    seats = committee_seats(session, committee.id)
    return {"key": committee.key, "name": committee.name, "description": committee.description or "",
            "agenda_deadline_days": committee.agenda_deadline_days,
            "seats": [{"username": s.username, "name": s.name, "role": s.role} for s in seats],
            "meetings": agenda.public_meetings(session, committee.key, limit=meetings)}


def may_read_item(session: Session, user: User, item: AgendaItem) -> bool:
    """Whoever may see the item's case; once it left drafting, also the members and secretaries of
    (and administrators for) the committees on its route."""
    if permissions.can_see_case(session, user, item.case):
        return True
    if item.status == "draft" or not user.is_active:
        return False
    route = set(agenda.route_committee_ids(session, item))
    if route & seated_committee_ids(session, user.id):
        return True
    return any(permissions.may_manage_committee(session, user.id, committee_id) for committee_id in route)


def item_detail(session: Session, actor: str, item_id: int) -> dict:
    """One agenda item as `actor` may see it (closed content only for its committees)."""
    user = get_user(session, actor)
    item = session.get(AgendaItem, item_id) if isinstance(item_id, int) else None
    if item is None:
        raise NotFound(f"unknown agenda item '{item_id}'", field="item_id")
    if not may_read_item(session, user, item):
        raise NotAllowed(f"{actor} may not see agenda item {item_id}")
    return agenda.item_view(session, user, item)
