"""Published agendas and minutes for everyone: web page, PDF, JSON export, and a calendar feed.

Public on purpose (the municipality publishes its agendas); they show only what was published,
which holds closed items by title only.
"""
from __future__ import annotations

from flask import Blueprint, Response, current_app, render_template, request, url_for

from engine.services import agenda
from engine.services.agenda_documents import meetings_calendar, publication_pdf

from ..security import public

bp = Blueprint("meetings", __name__, url_prefix="/meetings")
KINDS = ("agenda", "minutes")


def _engine():
    return current_app.extensions["sagsgang"]


def _publication(meeting_id: int, kind: str) -> dict:
    with _engine().unit_of_work(read_only=True) as uow:
        return agenda.publication(uow.session, meeting_id, kind)


@bp.get("/")
@public
def index():
    with _engine().unit_of_work(read_only=True) as uow:
        meetings = agenda.public_meetings(uow.session, request.args.get("committee") or None)
    return render_template("agenda/public_index.html", meetings=meetings)


@bp.get("/<int:meeting_id>/<any(agenda, minutes):kind>")
@public
def show(meeting_id: int, kind: str):
    return render_template("agenda/public.html", doc=_publication(meeting_id, kind), kind=kind, meeting_id=meeting_id)


@bp.get("/<int:meeting_id>/<any(agenda, minutes):kind>.pdf")
@public
def pdf(meeting_id: int, kind: str):
    document = _publication(meeting_id, kind)
    filename = f"{'referat' if kind == 'minutes' else 'dagsorden'}-{meeting_id}.pdf"
    return Response(publication_pdf(document), mimetype="application/pdf",
                    headers={"Content-Disposition": f'inline; filename="{filename}"'})


@bp.get("/<int:meeting_id>/<any(agenda, minutes):kind>.json")
@public
def export(meeting_id: int, kind: str):
    """The publication in the OS2web Meetings canonical shape (docs/agenda.md); an attachment that
    is a case document gets its download address as `uri` (downloads need a signed-in user)."""
    document = _publication(meeting_id, kind)
    for point in document["bullet_points"]:
        for enclosure in point["enclosures"]:
            if enclosure.get("access") and enclosure.get("attachment_id"):
                enclosure["uri"] = url_for("agenda.attachment", attachment_id=enclosure["attachment_id"],
                                           _external=True)
    return document


@bp.get("/calendar.ics")
@public
def calendar():
    with _engine().unit_of_work(read_only=True) as uow:
        meetings = agenda.public_meetings(uow.session, request.args.get("committee") or None)

    def link(meeting: dict) -> str:
        return url_for("meetings.show", meeting_id=meeting["id"], kind="agenda", _external=True)
    return Response(meetings_calendar(meetings, link), mimetype="text/calendar",
                    headers={"Content-Disposition": 'inline; filename="udvalgsmoeder.ics"'})
