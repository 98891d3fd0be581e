"""Committees, their meetings and agenda items; the secretary's work on an agenda.

Reads show closed content only to the members and secretaries of the item's committees, as the UI
does. Agenda changes answer with the meeting's new row_version as ETag; send it back as If-Match
and an agenda someone else changed meanwhile is a 409 that changes nothing.
"""
from __future__ import annotations

from flask import current_app
from flask.views import MethodView
from flask_smorest import Blueprint

from engine.services import agenda, committee_reads, committees
from engine.services.preconditions import require_meeting_version

from .auth import current_actor
from .preconditions import etag, expected_version, if_match_parameter
from .schemas import (ID, AddToAgendaArgs, AgendaChange, AgendaItemView, ClosedArgs, ClosedState,
                      CommitteeDetail, CommitteeSummary, DecisionArgs, MeetingDetail, MovedItem, MoveArgs,
                      Publication, PublishArgs, RecordedDecision, ReorderArgs)

bp = Blueprint("api_committees", __name__, url_prefix="/api", description="Committees, meetings and agendas")

IF_MATCH = if_match_parameter("meeting")
ETAG = {"ETag": {"description": "The meeting's row_version", "schema": {"type": "string"}}}


def _engine():
    return current_app.extensions["sagsgang"]


@bp.get("/committees")
@bp.doc(operationId="listCommittees")
@bp.response(200, CommitteeSummary(many=True))
def list_committees():
    """List the active committees"""
    with _engine().unit_of_work(read_only=True) as uow:
        return committees.list_committees(uow.session)


@bp.get("/committees/<string:key>")
@bp.doc(operationId="getCommittee")
@bp.response(200, CommitteeDetail)
def get_committee(key: str):
    """Get a committee with its seats and its meetings, newest first"""
    with _engine().unit_of_work(read_only=True) as uow:
        return committee_reads.committee_detail(uow.session, current_actor(), key)


@bp.get(f"/meetings/<{ID}:meeting_id>")
@bp.doc(operationId="getMeeting")
@bp.response(200, MeetingDetail, headers=ETAG)
def get_meeting(meeting_id: int):
    """Get a meeting's working agenda (its committee's seats and secretaries; the published one is public)"""
    with _engine().unit_of_work(read_only=True) as uow:
        view = agenda.meeting_view(uow.session, current_actor(), meeting_id)
    return view, 200, etag(view["row_version"])


@bp.route(f"/meetings/<{ID}:meeting_id>/items")
class AgendaItems(MethodView):
    @bp.doc(operationId="addToAgenda", parameters=[IF_MATCH])
    @bp.arguments(AddToAgendaArgs)
    @bp.response(201, AgendaChange, headers=ETAG)
    def post(self, body, meeting_id: int):
        """Put an item from the committee's queue last on a planned meeting's agenda (its secretaries)"""
        with _engine().unit_of_work() as uow:
            changed = agenda.add_to_agenda(uow, current_actor(), meeting_id, body["item_id"], expected_version())
        return changed, 201, etag(changed["row_version"])


@bp.delete(f"/meetings/<{ID}:meeting_id>/items/<{ID}:item_id>")
@bp.doc(operationId="removeFromAgenda", parameters=[IF_MATCH])
@bp.response(200, AgendaChange, headers=ETAG)
def remove_from_agenda(meeting_id: int, item_id: int):
    """Take an item off a planned agenda; it goes back to the front of its committee's queue"""
    with _engine().unit_of_work() as uow:
        changed = agenda.remove_from_agenda(uow, current_actor(), meeting_id, item_id, expected_version())
    return changed, 200, etag(changed["row_version"])


@bp.put(f"/meetings/<{ID}:meeting_id>/order")
@bp.doc(operationId="reorderAgenda", parameters=[IF_MATCH])
@bp.arguments(ReorderArgs)
@bp.response(200, AgendaChange, headers=ETAG)
def reorder(body, meeting_id: int):
    """Set the order of a planned agenda: item_ids names every item on it exactly once"""
    with _engine().unit_of_work() as uow:
        changed = agenda.reorder_agenda(uow, current_actor(), meeting_id, body["item_ids"], expected_version())
    return changed, 200, etag(changed["row_version"])


@bp.post(f"/meetings/<{ID}:meeting_id>/publish-agenda")
@bp.doc(operationId="publishAgenda", parameters=[IF_MATCH])
@bp.arguments(PublishArgs)
@bp.response(200, Publication)
def publish_agenda(body, meeting_id: int):
    """Publish a planned meeting's agenda (refused while open text holds CPR numbers, unless redacted)"""
    with _engine().unit_of_work() as uow:
        return agenda.publish_agenda(uow, current_actor(), meeting_id, body["redact_cpr"], expected_version())


@bp.post(f"/meetings/<{ID}:meeting_id>/items/<{ID}:item_id>/move")
@bp.doc(operationId="moveToMeeting", parameters=[if_match_parameter("meeting the item leaves")])
@bp.arguments(MoveArgs)
@bp.response(200, MovedItem)
def move_to_meeting(body, meeting_id: int, item_id: int):
    """Move an item from a planned agenda to another planned meeting of the same committee"""
    with _engine().unit_of_work() as uow:
        require_meeting_version(uow, meeting_id, expected_version())
        return agenda.move_to_meeting(uow, current_actor(), item_id, meeting_id, body["to_meeting_id"])


@bp.post(f"/meetings/<{ID}:meeting_id>/publish-minutes")
@bp.doc(operationId="publishMinutes", parameters=[IF_MATCH])
@bp.arguments(PublishArgs)
@bp.response(200, Publication)
def publish_minutes(body, meeting_id: int):
    """Publish the minutes (the agenda with its decisions) once every item on it is decided"""
    with _engine().unit_of_work() as uow:
        require_meeting_version(uow, meeting_id, expected_version())
        return agenda.publish_minutes(uow, current_actor(), meeting_id, body["redact_cpr"])


@bp.post(f"/meetings/<{ID}:meeting_id>/decisions")
@bp.doc(operationId="recordDecision", parameters=[IF_MATCH])
@bp.arguments(DecisionArgs)
@bp.response(201, RecordedDecision)
def record_decision(body, meeting_id: int):
    """Record the committee's decision on an item of a published agenda; the case receives it"""
    with _engine().unit_of_work() as uow:
        require_meeting_version(uow, meeting_id, expected_version())
        return agenda.record_decision(uow, current_actor(), meeting_id, body["item_id"], body["outcome"],
                                      body["decision_text"], body["next_committee"]), 201


@bp.get(f"/agenda-items/<{ID}:item_id>")
@bp.doc(operationId="getAgendaItem")
@bp.response(200, AgendaItemView)
def get_item(item_id: int):
    """Get an agenda item: closed content only for the members and secretaries of its committees"""
    with _engine().unit_of_work(read_only=True) as uow:
        return committee_reads.item_detail(uow.session, current_actor(), item_id)


@bp.put(f"/agenda-<any(items, sections, attachments):kind>/<{ID}:target_id>/closed")
@bp.doc(operationId="setAgendaClosed")
@bp.arguments(ClosedArgs)
@bp.response(200, ClosedState)
def set_closed(body, kind: str, target_id: int):
    """Close or open an item as a whole, one of its sections or one of its attachments (lukket punkt)

    Its committee's secretaries, until the item's agenda is published.
    """
    with _engine().unit_of_work() as uow:
        return agenda.set_closed(uow, current_actor(), kind[:-1], target_id, body["closed"])
