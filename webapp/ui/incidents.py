"""Incidents in the browser: the section on the case page, the list of open ones, and "Retry".

Who may see and retry them is the engine's rule (incidents.may_handle_incident: the case's
caseworker, the case type's owners, administrators); a refusal is the usual 403 page.
"""
from __future__ import annotations

from flask import Blueprint, current_app, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from engine.services import incidents

from ..security import current_user, safe_next

bp = Blueprint("incidents", __name__, url_prefix="/incidents")

# What the case page shows: incidents waiting for someone, and those queued again.
UNRESOLVED = ("open", "retrying")


def _engine():
    return current_app.extensions["sagsgang"]


@bp.app_context_processor
def incident_helpers():
    def case_incidents(number: str) -> list[dict]:
        """The case's unresolved incidents, for those who may retry them (else none)."""
        if not g.get("user"):
            return []
        with _engine().unit_of_work(read_only=True) as uow:
            found = incidents.list_incidents(uow, current_user(), status=None, case_number=number)
        return [i for i in found if i["status"] in UNRESOLVED]

    return {"case_incidents": case_incidents, "incident_status": incident_status}


def incident_status(status: str) -> str:
    return {"open": _("needs action"), "retrying": _("queued again"), "resolved": _("resolved")}.get(status, status)


@bp.get("/")
def index():
    """Open incidents across the cases the user may handle (every case for administrators)."""
    with _engine().unit_of_work(read_only=True) as uow:
        found = incidents.list_incidents(uow, current_user(), status="open")
    return render_template("incidents/index.html", incidents=found)


@bp.post("/<int:incident_id>/retry")
def retry(incident_id: int):
    with _engine().unit_of_work() as uow:
        incidents.retry_incident(uow, incident_id, current_user())
    flash(_("The step is queued again. The case page shows the result once a worker has run it."), "success")
    return redirect(safe_next(request.form.get("next")) or url_for("incidents.index"))
