"""Records management: deletion candidates and approval, legal holds, access logs, data-subject requests.

For records managers and administrators; the engine's services check that, pages only ask
whether to show the menu entry. A CPR number travels only in POST bodies, never in a URL
(URLs end up in server and proxy logs).
"""
from __future__ import annotations

import json
from datetime import date, datetime
from zoneinfo import ZoneInfo

from flask import (Blueprint, Response, current_app, flash, g, redirect, render_template, request,
                   stream_template, url_for)
from flask_babel import gettext as _

from engine import permissions
from engine.errors import InvalidInput
from engine.services import access_log, retention, subject_requests
from engine.services.org import get_user

from ..security import current_user

bp = Blueprint("records", __name__, url_prefix="/records")

DEFAULT_LOG_PURPOSE = "tilsyn med adgang"
DANISH_TIME = ZoneInfo("Europe/Copenhagen")


def local_today() -> date:
    """Deletion dates are calendar days in Denmark."""
    return datetime.now(DANISH_TIME).date()


def _engine():
    return current_app.extensions["sagsgang"]


@bp.app_context_processor
def records_menu():
    def may_manage_records() -> bool:
        if not getattr(g, "user", None):
            return False
        with _engine().unit_of_work(read_only=True) as uow:
            return permissions.may_manage_records(uow.session, get_user(uow.session, current_user()).id)
    return {"may_manage_records": may_manage_records}


@bp.get("/")
def index():
    return redirect(url_for("records.deletion"))


@bp.get("/deletion")
def deletion():
    today = local_today()
    with _engine().unit_of_work(read_only=True) as uow:
        candidates = retention.deletion_candidates(uow, current_user(), today)
    return render_template("records/deletion.html", candidates=candidates, today=today)


@bp.post("/deletion")
def approve_deletion():
    """Delete the chosen cases one by one, streaming a line per case as it is done."""
    numbers = request.form.getlist("number")
    if not numbers:
        flash(_("Choose the cases to delete."), "error")
        return redirect(url_for("records.deletion"))
    progress = retention.delete_cases(_engine().unit_of_work, numbers, current_user(), local_today())
    return Response(stream_template("records/deleting.html", progress=progress, total=len(numbers)))


@bp.get("/cases/<number>")
def case(number: str):
    purpose = request.args.get("purpose") or DEFAULT_LOG_PURPOSE
    with _engine().unit_of_work() as uow:
        holds = retention.legal_holds(uow, number, current_user())
        remains = retention.verify_deletion(uow, number, current_user())
    with _engine().unit_of_work() as uow:
        lookups = access_log.case_access_log(uow, number, current_user(), purpose)
    return render_template("records/case.html", number=number, holds=holds, remains=remains, lookups=lookups,
                           purpose=purpose)


@bp.post("/cases/<number>/hold")
def place_hold(number: str):
    try:
        with _engine().unit_of_work() as uow:
            retention.place_legal_hold(uow, number, current_user(), request.form.get("reason", ""))
    except InvalidInput as err:
        flash(err.message, "error")
    else:
        flash(_("Case %(number)s is on legal hold.", number=number), "success")
    return redirect(url_for("records.case", number=number))


@bp.post("/cases/<number>/release")
def release_hold(number: str):
    with _engine().unit_of_work() as uow:
        retention.release_legal_hold(uow, number, current_user())
    flash(_("The legal hold on case %(number)s is released.", number=number), "success")
    return redirect(url_for("records.case", number=number))


@bp.route("/subject", methods=["GET", "POST"])
def subject():
    """Find everything held on a CPR number; export it (JSON or PDF) with its look-up log."""
    if request.method == "GET":
        return render_template("records/subject.html", cpr="", purpose="", found=None, errors={})
    cpr, purpose = request.form.get("cpr", "").strip(), request.form.get("purpose", "").strip()
    action = request.form.get("action", "search")
    if not purpose:
        return render_template("records/subject.html", cpr=cpr, purpose=purpose, found=None,
                               errors={"purpose": _("Fill in this field.")}), 422
    try:
        with _engine().unit_of_work() as uow:
            if action == "search":
                found = subject_requests.find_person(uow, cpr, current_user(), purpose)
                return render_template("records/subject.html", cpr=cpr, purpose=purpose, found=found, errors={})
            export = subject_requests.export_person(uow, cpr, current_user(), purpose)
    except InvalidInput as err:
        return render_template("records/subject.html", cpr=cpr, purpose=purpose, found=None,
                               errors={err.field or "cpr": err.message}), 422
    stamp = export["generated_at"][:10]
    if action == "pdf":
        return Response(subject_requests.export_pdf(export), mimetype="application/pdf", headers={
            "Content-Disposition": f'attachment; filename="indsigt-{stamp}.pdf"', "Cache-Control": "no-store"})
    return Response(json.dumps(export, ensure_ascii=False, indent=2), mimetype="application/json", headers={
        "Content-Disposition": f'attachment; filename="indsigt-{stamp}.json"', "Cache-Control": "no-store"})
