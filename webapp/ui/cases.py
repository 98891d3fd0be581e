"""Cases: start one, the latest ones, a case's page with its diagram, and closing it."""
from __future__ import annotations

from flask import Blueprint, Response, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from engine.errors import InvalidInput, WorkflowError
from engine.services import case_views, cases, forms, worklists

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


@bp.app_template_global()
def journal_label(kind: str) -> str:
    """What a journal event means, in the user's language (an unknown kind shows as itself)."""
    return {
        "case_opened": _("Case opened"), "case_closed": _("Case closed"), "task_created": _("Task created"),
        "task_completed": _("Task completed"), "task_cancelled": _("Task cancelled"),
        "task_claimed": _("Task claimed"), "task_unclaimed": _("Task released"),
        "task_assigned": _("Task assigned"), "task_delegated": _("Task delegated"),
        "task_taken_back": _("Task taken back"), "due_date_set": _("Due date changed"),
        "follow_up_date_set": _("Follow-up date changed"), "priority_set": _("Priority changed"),
        "timer_fired": _("Deadline reached"), "message_received": _("Message received"),
    }.get(kind, kind)
