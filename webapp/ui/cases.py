"""Cases: start one, the latest ones, a case's page with its diagram, and closing it."""
from __future__ import annotations

from flask import Blueprint, Response, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from engine.errors import InvalidInput, WorkflowError
from engine.services import case_views, cases, forms, worklists

from ..i18n import date_filter, datetime_filter
from ..security import current_user
from .forms import apply_row_action, form_view, merge_problems, parse_form

bp = Blueprint("cases", __name__, url_prefix="/cases")

LATEST = 10
# The case's own inputs on the start page; prefixed so a form field called "title" cannot clash.
META_FIELDS = {"title": "_case_title", "grouping": "_case_grouping"}


def _engine():
    return current_app.extensions["sagsgang"]


def latest_cases(limit: int = LATEST) -> list[dict]:
    """The cases the user changed last (from the journal's index)."""
    with _engine().unit_of_work(read_only=True) as uow:
        return worklists.latest_cases(uow.session, current_user(), limit=limit)


@bp.get("/")
def latest():
    return render_template("cases/latest.html", cases=latest_cases())


@bp.get("/new")
def choose_type():
    with _engine().unit_of_work(read_only=True) as uow:
        case_types = forms.startable_case_types(uow.session, current_user())
    return render_template("cases/new.html", case_types=case_types)


def _start_page(view: dict, form, meta: dict, meta_errors: dict | None = None, message: str | None = None,
                status: int = 200):
    return render_template("cases/start.html", start=view, form=form, meta=meta, meta_errors=meta_errors or {},
                           message=message), status


@bp.route("/new/<case_type>", methods=["GET", "POST"])
def start(case_type: str):
    with _engine().unit_of_work(read_only=True) as uow:
        view = forms.start_form(uow, case_type, current_user())
    schema = view["schema"]
    if request.method != "POST":
        return _start_page(view, form_view(schema), {"title": "", "grouping": ""})
    meta = {name: request.form.get(field, "").strip() for name, field in META_FIELDS.items()}
    data, problems, state = parse_form(schema, request.form)
    action = request.form.get("_action", "")
    if action:
        apply_row_action(state, action)
        return _start_page(view, form_view(schema, state=state), meta)
    meta_errors = {} if meta["title"] else {"title": [_("Fill in this field.")]}
    if problems or meta_errors:
        problems = merge_problems(problems, forms.check_form(schema, data, view["form"]))
        return _start_page(view, form_view(schema, state=state, problems=problems), meta, meta_errors,
                           status=422)
    try:
        with _engine().unit_of_work() as uow:
            opened = cases.open_case(uow, case_type, current_user(), meta["title"], meta["grouping"], data)
    except InvalidInput as err:
        problems = err.context.get("problems")
        if not problems and err.field in META_FIELDS:
            meta_errors = {err.field: [err.message]}
        return _start_page(view, form_view(schema, state=state, problems=problems or (
            [] if meta_errors else [{"field": "(form)", "message": err.message}])), meta, meta_errors, status=422)
    flash(_("Case %(number)s is started.", number=opened["number"]), "success")
    return redirect(url_for("cases.show", number=opened["number"]))


def _case_page(number: str, close_error: str | None = None, reason: str = "", status: int = 200):
    with _engine().unit_of_work() as uow:
        page = case_views.case_page(uow, number, current_user())
    return render_template("cases/show.html", case=page, close_error=close_error, reason=reason), status


@bp.get("/<number>")
def show(number: str):
    return _case_page(number)


@bp.get("/<number>/diagram.bpmn")
def diagram(number: str):
    with _engine().unit_of_work(read_only=True) as uow:
        xml = case_views.case_diagram(uow, number, current_user())
    return Response(xml, mimetype="application/xml")


@bp.post("/<number>/close")
def close(number: str):
    reason = request.form.get("reason", "").strip()
    try:
        with _engine().unit_of_work() as uow:
            cases.close_case(uow, number, current_user(), reason)
    except InvalidInput:
        return _case_page(number, _("Give a reason for closing the case."), reason, 422)
    except WorkflowError:
        return _case_page(number, _("The case cannot be closed before its GDPR review is completed."), reason, 422)
    flash(_("Case %(number)s is closed.", number=number), "success")
    return redirect(url_for("cases.show", number=number))


@bp.app_template_global()
def status_label(status: str) -> str:
    return {"open": _("open"), "closed": _("closed"), "deleted": _("deleted")}.get(status, status)


def N_(message: str) -> str:
    """Mark a string for translation where it is defined; it is translated when shown."""
    return message


# One label per kind in engine.services.journal.KINDS (tests/integration/test_journal_labels.py).
JOURNAL_LABELS = {
    "case_opened": N_("Case opened"), "case_closed": N_("Case closed"), "case_deleted": N_("Case deleted"),
    "case_migrated": N_("Case moved to another version"),
    "case_migration_reverted": N_("Case moved back to its earlier version"),
    "close_refused": N_("Closing refused"), "cpr_detected": N_("CPR number found"),
    "task_created": N_("Task created"), "task_completed": N_("Task completed"),
    "task_cancelled": N_("Task cancelled"), "task_claimed": N_("Task claimed"),
    "task_unclaimed": N_("Task released"), "task_assigned": N_("Task assigned"),
    "task_delegated": N_("Task delegated"), "task_taken_back": N_("Task taken back"),
    "task_due_date_set": N_("Due date changed"), "task_follow_up_date_set": N_("Follow-up date changed"),
    "task_priority_set": N_("Priority changed"), "timer_fired": N_("Deadline reached"),
    "message_received": N_("Message received"), "message_sent": N_("Message sent"),
    "service_task_started": N_("Automatic step started"), "service_task_completed": N_("Automatic step done"),
    "incident_opened": N_("Error in an automatic step"), "incident_retried": N_("Automatic step retried"),
    "document_added": N_("Document added"), "document_version_added": N_("New document version"),
    "document_deleted": N_("Document deleted"), "party_added": N_("Party added"),
    "party_removed": N_("Party removed"), "legal_hold_placed": N_("Legal hold placed"),
    "legal_hold_released": N_("Legal hold released"),
    "decision_recorded": N_("Committee decision recorded"),
}
PARTY_KINDS = {"citizen": N_("citizen"), "company": N_("company")}


@bp.app_template_global()
def journal_label(kind: str) -> str:
    """What a journal event means, in the user's language (an unknown kind shows as itself)."""
    label = JOURNAL_LABELS.get(kind)
    return _(label) if label else kind


@bp.app_template_global()
def journal_summary(event: dict, names: dict | None = None) -> str:
    """A short line of what an event's data says, for people: names, dates and numbers only.

    Never the data itself: it can hold correlation keys, error texts and field lists that mean
    nothing to a caseworker, and a case's page should show no more personal data than it needs.
    """
    kind, data, names = event.get("kind"), event.get("data") or {}, names or {}
    task = data.get("name") or data.get("task") or ""
    if kind == "case_opened":
        return data.get("title") or ""
    if kind == "case_closed":
        reason = data.get("reason") or ""
        if reason == "workflow completed":
            reason = _("the process reached its end")
        if data.get("deletion_due_on"):
            return _("%(reason)s; to be deleted on %(date)s", reason=reason, date=date_filter(data["deletion_due_on"]))
        return reason
    if kind == "case_deleted":
        return _("approved by %(user)s", user=names.get(data.get("approved_by"), data.get("approved_by") or ""))
    if kind in ("case_migrated", "case_migration_reverted"):
        return _("version %(old)s to %(new)s", old=data.get("from_version"), new=data.get("to_version"))
    if kind == "close_refused":
        return _("the GDPR review is not completed") if data.get("reason") == "gdpr_review_pending" else ""
    if kind == "cpr_detected":
        if data.get("document_id") is not None:
            return _("in document %(id)s, version %(version)s", id=data["document_id"], version=data.get("version"))
        return _("in %(fields)s", fields=", ".join(data.get("fields") or []))
    if kind in ("task_due_date_set", "task_follow_up_date_set"):
        moment = data.get("due_at" if kind == "task_due_date_set" else "follow_up_at")
        return _("%(task)s: %(date)s", task=task, date=datetime_filter(moment)) if moment \
            else _("%(task)s: removed", task=task)
    if kind == "task_priority_set":
        return _("%(task)s: %(priority)s", task=task, priority=data.get("priority"))
    to = {"task_assigned": "assignee", "task_delegated": "delegate"}.get(kind)
    if to and data.get(to):
        return _("%(task)s, to %(user)s", task=task, user=names.get(data[to], data[to]))
    if data.get("on_behalf_of"):  # a substitute completed or took the task for someone absent
        return _("%(task)s, for %(user)s", task=task, user=names.get(data["on_behalf_of"], data["on_behalf_of"]))
    if kind.startswith("task_"):
        return task
    if kind in ("message_received", "message_sent"):
        return data.get("message") or ""
    if kind in ("service_task_started", "service_task_completed", "incident_opened", "incident_retried"):
        return task
    if kind in ("document_added", "document_version_added", "document_deleted"):
        if data.get("version") is None:
            return _("document %(id)s", id=data.get("document_id"))
        return _("document %(id)s, version %(version)s", id=data.get("document_id"), version=data["version"])
    if kind in ("party_added", "party_removed"):
        party = _(PARTY_KINDS[data["kind"]]) if data.get("kind") in PARTY_KINDS else ""
        return f"{party}, {data['role']}" if data.get("role") else party
    return ""
