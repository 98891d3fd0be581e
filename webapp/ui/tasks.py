"""My tasks, my group's tasks, a task's form, and claiming, handing back, assigning, delegating."""
from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from engine.errors import Conflict, InvalidInput, NotAllowed
from engine.services import cases, forms, tasks, worklists

from ..markdown import render_markdown
from ..reading import reader
from ..security import current_user, safe_next
from . import navigation
from .forms import apply_row_action, form_view, merge_problems, parse_form

bp = Blueprint("tasks", __name__, url_prefix="/tasks")

PAGE_SIZE = 25
SORTS = ("due", "-due", "priority", "-priority", "created", "-created", "case", "-case")


def _engine():
    return current_app.extensions["sagsgang"]


def list_filters(args) -> dict:
    """The list's query string, cleaned: unknown values fall back to the defaults."""
    sort = args.get("sort", "due")
    due = args.get("due", "")
    try:
        page = max(1, int(args.get("page", "1")))
    except ValueError:
        page = 1
    return {"sort": sort if sort in SORTS else "due", "case_type": args.get("case_type", "").strip(),
            "grouping": args.get("grouping", "").strip(), "due": due if due in worklists.DUE_STATES else "",
            "page": page}


LISTS = {"mine": worklists.my_tasks, "group": worklists.group_tasks, "delegated": worklists.delegated_tasks}


@bp.get("/mine", defaults={"scope": "mine"}, endpoint="mine")
@bp.get("/group", defaults={"scope": "group"}, endpoint="group")
@bp.get("/delegated", defaults={"scope": "delegated"}, endpoint="delegated")
def task_list(scope: str):
    filters = list_filters(request.args)
    query = {"sort": filters["sort"], "case_type": filters["case_type"] or None,
             "grouping": filters["grouping"] or None, "due": filters["due"] or None,
             "limit": PAGE_SIZE, "offset": (filters["page"] - 1) * PAGE_SIZE}
    # The request's one read: the list, the filter's case types, then the layout's navigation.
    found = LISTS[scope](reader().session, current_user(), **query)
    case_types = [row for row in navigation.case_types() if row["published"]]
    pages = max(1, -(-found["total"] // PAGE_SIZE))
    page = {"rows": found["items"], "total": found["total"], "scope": scope, "filters": filters,
            "pages": pages, "case_types": case_types,
            "caption": list_title(scope)}
    boosted = request.headers.get("HX-Request") and request.headers.get("HX-Target") == "task-table"
    return render_template("tasks/_table.html" if boosted else "tasks/list.html", page=page)


def list_title(scope: str) -> str:
    return {"mine": _("My tasks"), "group": _("My group's tasks"), "delegated": _("Delegated by me")}[scope]


def _render_task(view: dict, form=None, message: str | None = None, status: int = 200):
    if form is None and view["may_complete"]:
        form = form_view(view["schema"], data=view["values"])
    return render_template("tasks/form.html", task=view, form=form, message=message,
                           instructions=render_markdown(view["instructions"])), status


def _task_view(task_id: str) -> dict:
    with _engine().unit_of_work(read_only=True) as uow:
        return forms.task_form(uow, task_id, current_user())


@bp.get("/<task_id>")
def show(task_id: str):
    return _render_task(_task_view(task_id))


@bp.post("/<task_id>")
def complete(task_id: str):
    view = _task_view(task_id)
    schema = view["schema"]
    data, problems, state = parse_form(schema, request.form)
    action = request.form.get("_action", "")
    if action:
        apply_row_action(state, action)
        return _render_task(view, form_view(schema, state=state))
    if not view["may_complete"]:
        return _refused(view)
    if problems:
        problems = merge_problems(problems, forms.check_form(schema, data, view["form"]))
        return _render_task(view, form_view(schema, state=state, problems=problems), status=422)
    try:
        with _engine().unit_of_work() as uow:
            result = cases.complete_task(uow, task_id, current_user(), data)
    except InvalidInput as err:
        problems = err.context.get("problems") or [{"field": err.field or "(form)", "message": err.message}]
        return _render_task(view, form_view(schema, state=state, problems=problems), status=422)
    except (Conflict, NotAllowed):
        return _refused(_task_view(task_id))
    flash(_("“%(task)s” is done.", task=view["name"]), "success")
    return redirect(url_for("cases.show", number=result["number"]))


def _refused(view: dict):
    """The task moved on (completed, cancelled, taken by a colleague) while the user filled it in."""
    if view["state"] == "completed":
        who = view["completed_by_name"] or view["completed_by"] or _("someone else")
        message = _("%(who)s completed this task meanwhile. Your entries were not saved.", who=who)
        return _render_task(view, None, message, 409)
    if view["state"] != "open":
        return _render_task(view, None, _("This task was cancelled meanwhile. Your entries were not saved."), 409)
    view = dict(view, may_complete=False)
    return _render_task(view, None, _("You may not complete this task (it may have been assigned to a colleague "
                                      "meanwhile). Your entries were not saved."), 403)


# --- claim, hand back, assign, delegate, take back ----------------------------------------------------

def _task_action(task_id: str, act, done: str, **arguments):
    """Run one task service; a lost race or a refusal becomes a message on the page the user came from."""
    back = safe_next(request.form.get("next")) or url_for("tasks.show", task_id=task_id)
    try:
        with _engine().unit_of_work() as uow:
            act(uow, task_id, current_user(), **arguments)
    except Conflict as err:
        flash(_("Someone else changed the task meanwhile: %(detail)s", detail=err.message), "error")
        return redirect(back)
    except (NotAllowed, InvalidInput) as err:
        flash(_("That was not possible: %(detail)s", detail=err.message), "error")
        return redirect(back)
    flash(done, "success")
    return redirect(safe_next(request.form.get("then")) or back)


@bp.post("/<task_id>/claim")
def claim(task_id: str):
    return _task_action(task_id, tasks.claim_task, _("The task is yours now."))


@bp.post("/<task_id>/unclaim")
def unclaim(task_id: str):
    return _task_action(task_id, tasks.unclaim_task, _("The task is back with the group."))


@bp.post("/<task_id>/assign")
def assign(task_id: str):
    colleague = request.form.get("colleague", "")
    return _task_action(task_id, tasks.assign_task, _("The task is assigned to %(who)s.", who=colleague),
                        assignee=colleague)


@bp.post("/<task_id>/delegate")
def delegate(task_id: str):
    colleague = request.form.get("colleague", "")
    return _task_action(task_id, tasks.delegate_task, _("The task is delegated to %(who)s.", who=colleague),
                        delegate=colleague)


@bp.post("/<task_id>/take-back")
def take_back(task_id: str):
    return _task_action(task_id, tasks.take_back_task, _("You took the task back."))
