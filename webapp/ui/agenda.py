"""The secretary's pages: all committees at a glance, assembling a meeting's agenda, decisions,
and messages that reached no case. Every action calls one engine service and comes back to the page."""
from __future__ import annotations

from flask import Blueprint, Response, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from engine.errors import Conflict, InvalidInput, NotFound
from engine.services import agenda, agenda_attachments, committees, messages

from ..security import current_user
from .documents import _attachment as content_disposition

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


# --- an item's attachments: the case's documents -----------------------------------------------

@bp.get("/items/<int:item_id>")
def item(item_id: int):
    with _engine().unit_of_work(read_only=True) as uow:
        view = agenda_attachments.item_page(uow.session, current_user(), item_id)
    return render_template("agenda/item.html", item=view, active="agenda")


def _item_act(item_id: int, action, success: str):
    """Like _act, back to the item's page: a refusal (a document of another case, a published
    agenda) is shown there beside the form."""
    try:
        with _engine().unit_of_work() as uow:
            action(uow)
    except (InvalidInput, Conflict) as err:
        flash(err.message, "error")
    else:
        flash(success, "success")
    return redirect(url_for("agenda.item", item_id=item_id) + "#attachments")


@bp.post("/items/<int:item_id>/attachments")
def attach(item_id: int):
    return _item_act(item_id, lambda uow: agenda_attachments.attach_document(
        uow, current_user(), item_id, _int("document_id"), request.form.get("closed") == "1",
        request.form.get("title")), _("The document is attached."))


@bp.post("/items/<int:item_id>/attachments/<int:attachment_id>/remove")
def remove_attachment(item_id: int, attachment_id: int):
    return _item_act(item_id, lambda uow: agenda_attachments.remove_attachment(uow, current_user(), attachment_id),
                     _("The attachment is removed."))


@bp.get("/attachments/<int:attachment_id>")
def attachment(attachment_id: int):
    """Download an attachment's file: members only for closed ones; logged like a case download."""
    with _engine().unit_of_work(read_only=True) as uow:
        meta, content = agenda_attachments.download_attachment(uow, current_user(), attachment_id,
                                                               purpose=request.args.get("purpose"))
    response = Response(content, mimetype=meta["content_type"])
    response.headers["Content-Disposition"] = content_disposition(meta["filename"])
    return response


@bp.get("/cases/<number>")
def case(number: str):
    """The agenda items of a case, for its caseworker: where each stands, and a way to its attachments."""
    with _engine().unit_of_work(read_only=True) as uow:
        rows = agenda.case_items(uow.session, current_user(), number)
    return render_template("agenda/case.html", number=number, rows=rows, active="agenda")


# --- committee administration (administrators) ---------------------------------------------------

def _field_message(err: InvalidInput | NotFound) -> tuple[str, str]:
    """The field a refusal names and what to tell the administrator beside it, in their language."""
    messages_by_reason = {
        ("key", "format"): _("Use lower-case letters, digits, '-' or '_', starting with a letter."),
        ("key", "taken"): _("Another committee has this key."),
        ("name", "required"): _("Give the committee a name (at most 200 characters)."),
        ("agenda_deadline_days", "range"): _("Give a whole number of days from 0 to 60."),
        ("description", "too_long"): _("At most 2,000 characters."),
        ("chair", "unknown_user"): _("Choose an active user."),
    }
    field = err.field or "general"
    return field, messages_by_reason.get((field, err.context.get("reason")), err.message)


def _days(raw: str):
    """The deadline as typed: a number when it is one; otherwise the text, which the engine refuses
    naming the field."""
    raw = (raw or "").strip()
    return int(raw) if raw.isdigit() else raw


def _committee_form() -> dict:
    return {"key": request.form.get("key", "").strip(), "name": request.form.get("name", ""),
            "agenda_deadline_days": _days(request.form.get("agenda_deadline_days", "")),
            "description": request.form.get("description", ""), "active": request.form.get("active") == "1"}


@bp.get("/admin/committees")
def committees_admin(form: dict | None = None, errors: dict | None = None, status: int = 200):
    with _engine().unit_of_work(read_only=True) as uow:
        rows = committees.administered_committees(uow.session, current_user())
    return render_template("agenda/committees_admin.html", rows=rows, form=form or {"agenda_deadline_days": 7},
                           errors=errors or {}, active="agenda"), status


@bp.post("/admin/committees")
def create_committee():
    form = _committee_form()
    try:
        with _engine().unit_of_work() as uow:
            created = committees.create_committee(uow, current_user(), form["key"], form["name"],
                                                  form["agenda_deadline_days"], form["description"])
    except InvalidInput as err:
        field, message = _field_message(err)
        return committees_admin(form, {field: message}, 422)
    flash(_("The committee %(name)s is created.", name=created["name"]), "success")
    return redirect(url_for("agenda.committee_admin", key=created["key"]))


@bp.get("/admin/committees/<key>")
def committee_admin(key: str, form: dict | None = None, errors: dict | None = None, status: int = 200):
    with _engine().unit_of_work(read_only=True) as uow:
        committee = committees.committee_detail(uow.session, current_user(), key, with_people=True)
    return render_template("agenda/committee_admin.html", committee=committee, form=form or committee,
                           errors=errors or {}, active="agenda"), status


def _committee_act(key: str, action, success: str):
    try:
        with _engine().unit_of_work() as uow:
            action(uow)
    except (InvalidInput, NotFound) as err:
        field, message = _field_message(err)
        return committee_admin(key, None, {field: message}, 422)
    flash(success, "success")
    return redirect(url_for("agenda.committee_admin", key=key))


@bp.post("/admin/committees/<key>")
def update_committee(key: str):
    form = dict(_committee_form(), key=key)
    try:
        with _engine().unit_of_work() as uow:
            committees.update_committee(uow, current_user(), key, form["name"], form["agenda_deadline_days"],
                                        form["description"], form["active"])
    except InvalidInput as err:
        field, message = _field_message(err)
        return committee_admin(key, form, {field: message}, 422)
    flash(_("The committee is saved."), "success")
    return redirect(url_for("agenda.committee_admin", key=key))


@bp.post("/admin/committees/<key>/chair")
def set_chair(key: str):
    return _committee_act(key, lambda uow: committees.set_chair(uow, current_user(), key,
                                                                request.form.get("chair") or None),
                          _("The chair is saved."))


@bp.post("/admin/committees/<key>/seats")
def add_seat(key: str):
    return _committee_act(key, lambda uow: committees.seat(uow, current_user(), key, request.form.get("username", ""),
                                                           request.form.get("role", "")),
                          _("The seat is added."))


@bp.post("/admin/committees/<key>/seats/remove")
def remove_seat(key: str):
    return _committee_act(key, lambda uow: committees.unseat(uow, current_user(), key,
                                                             request.form.get("username", ""),
                                                             request.form.get("role", "")),
                          _("The seat is removed."))
