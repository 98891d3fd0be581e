"""The secretary's pages: all committees at a glance, assembling a meeting's agenda, decisions,
and messages that reached no case. Every action calls one engine service and comes back to the page."""
from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from engine.errors import Conflict, InvalidInput
from engine.services import agenda, committees, messages

from ..security import current_user

bp = Blueprint("agenda", __name__, url_prefix="/agenda")


def _engine():
    return current_app.extensions["sagsgang"]


def _int(name: str) -> int | None:
    value = request.form.get(name, "").strip()
    return int(value) if value.lstrip("-").isdigit() else None


def _back(meeting_id: int):
    return redirect(url_for("agenda.meeting", meeting_id=meeting_id) + request.form.get("anchor", ""))


def _act(meeting_id: int, action, success: str | None = None):
    """Run one engine action; a refused one (stale page, published agenda, bad input) is shown on
    the meeting page instead of an error page, since the secretary fixes it right there."""
    try:
        with _engine().unit_of_work() as uow:
            result = action(uow)
    except (InvalidInput, Conflict) as err:
        flash(err.message, "error")
        return _back(meeting_id)
    if success:
        flash(success, "success")
    return result if not isinstance(result, dict) else _back(meeting_id)


@bp.get("/")
def overview():
    with _engine().unit_of_work(read_only=True) as uow:
        page = agenda.overview(uow.session, current_user())
    return render_template("agenda/overview.html", page=page, active="agenda")


@bp.post("/committees/<key>/meetings")
def plan_meeting(key: str):
    try:
        with _engine().unit_of_work() as uow:
            planned = committees.plan_meeting(uow, current_user(), key, request.form.get("starts_at", ""),
                                              request.form.get("place", ""))
    except InvalidInput as err:
        flash(err.message, "error")
        return redirect(url_for("agenda.overview"))
    flash(_("The meeting is planned."), "success")
    return redirect(url_for("agenda.meeting", meeting_id=planned["id"]))


@bp.get("/meetings/<int:meeting_id>")
def meeting(meeting_id: int):
    with _engine().unit_of_work(read_only=True) as uow:
        view = agenda.meeting_view(uow.session, current_user(), meeting_id)
        committee_list = committees.list_committees(uow.session)
    return render_template("agenda/meeting.html", meeting=view, committees=committee_list, active="agenda")


@bp.post("/meetings/<int:meeting_id>/add")
def add(meeting_id: int):
    return _act(meeting_id, lambda uow: agenda.add_to_agenda(uow, current_user(), meeting_id, _int("item_id"),
                                                             _int("row_version")))


@bp.post("/meetings/<int:meeting_id>/remove")
def remove(meeting_id: int):
    return _act(meeting_id, lambda uow: agenda.remove_from_agenda(uow, current_user(), meeting_id, _int("item_id"),
                                                                  _int("row_version")))


@bp.post("/meetings/<int:meeting_id>/order")
def order(meeting_id: int):
    """The drag-and-drop order (comma-separated item ids); the page's version guards against a stale page."""
    raw = request.form.get("order", "")
    ids = [int(part) for part in raw.split(",") if part.strip().isdigit()]
    return _act(meeting_id, lambda uow: agenda.reorder_agenda(uow, current_user(), meeting_id, ids,
                                                              _int("row_version")))


@bp.post("/meetings/<int:meeting_id>/move")
def move(meeting_id: int):
    """Up or down one place: the keyboard's alternative to dragging."""
    return _act(meeting_id, lambda uow: agenda.move_on_agenda(uow, current_user(), meeting_id, _int("item_id"),
                                                              _int("offset") or 0, _int("row_version")))


@bp.post("/meetings/<int:meeting_id>/move-to")
def move_to(meeting_id: int):
    return _act(meeting_id, lambda uow: agenda.move_to_meeting(uow, current_user(), _int("item_id"), meeting_id,
                                                               _int("to_meeting_id")),
                _("The item was moved to the other meeting."))


@bp.post("/meetings/<int:meeting_id>/closed")
def set_closed(meeting_id: int):
    return _act(meeting_id, lambda uow: agenda.set_closed(uow, current_user(), request.form.get("kind", ""),
                                                          _int("target_id"), request.form.get("closed") == "1"))


@bp.post("/meetings/<int:meeting_id>/publish")
def publish(meeting_id: int):
    return _act(meeting_id, lambda uow: agenda.publish_agenda(uow, current_user(), meeting_id,
                                                              request.form.get("redact_cpr") == "1",
                                                              _int("row_version")),
                _("The agenda is published."))


@bp.post("/meetings/<int:meeting_id>/decisions")
def decide(meeting_id: int):
    def record(uow):
        result = agenda.record_decision(uow, current_user(), meeting_id, _int("item_id"),
                                        request.form.get("outcome", ""), request.form.get("decision_text", ""),
                                        request.form.get("next_committee") or None)
        if not result["delivered"]:
            flash(_("The decision is recorded, but case %(case)s was not waiting for it. The message is kept "
                    "under undelivered messages.", case=result["case"]), "error")
        return result
    return _act(meeting_id, record, _("The decision is recorded."))


@bp.post("/meetings/<int:meeting_id>/minutes")
def minutes(meeting_id: int):
    return _act(meeting_id, lambda uow: agenda.publish_minutes(uow, current_user(), meeting_id,
                                                               request.form.get("redact_cpr") == "1"),
                _("The minutes are published."))


@bp.get("/undelivered")
def undelivered():
    with _engine().unit_of_work(read_only=True) as uow:
        rows = messages.list_undelivered(uow.session, current_user())
    return render_template("agenda/undelivered.html", rows=rows, active="agenda")


@bp.post("/undelivered/<int:message_id>/retry")
def retry(message_id: int):
    with _engine().unit_of_work() as uow:
        result = agenda.retry_message(uow, current_user(), message_id)
    if result["delivered"]:
        flash(_("Delivered to case %(case)s.", case=result["number"]), "success")
    else:
        flash(_("Still no case waits for this message."), "error")
    return redirect(url_for("agenda.undelivered"))


@bp.post("/undelivered/<int:message_id>/dismiss")
def dismiss(message_id: int):
    try:
        with _engine().unit_of_work() as uow:
            messages.dismiss_undelivered(uow, current_user(), message_id, request.form.get("reason", ""))
    except InvalidInput as err:
        flash(err.message, "error")
    return redirect(url_for("agenda.undelivered"))
