"""My tasks, my group's tasks, and a task's form."""
from __future__ import annotations

from flask import Blueprint, current_app, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from engine.errors import Conflict, InvalidInput, NotAllowed
from engine.services import cases, forms, queries

from ..markdown import render_markdown
from ..security import current_user
from .forms import apply_row_action, form_view, merge_problems, parse_form

bp = Blueprint("tasks", __name__, url_prefix="/tasks")

SCOPES = ("mine", "group")


def _engine():
    return current_app.extensions["sagsgang"]


@bp.app_context_processor
def navigation():
    """Counts for the navigation, read once per request and only when a page asks for them."""
    def nav_counts() -> dict:
        if "nav_counts" not in g:
            g.nav_counts = {}
            if g.get("user"):
                with _engine().unit_of_work(read_only=True) as uow:
                    g.nav_counts = {scope: len(queries.open_tasks(uow.session, current_user(), scope, limit=1000))
                                    for scope in SCOPES}
        return g.nav_counts
    return {"nav_counts": nav_counts}


@bp.get("/mine", defaults={"scope": "mine"}, endpoint="mine")
@bp.get("/group", defaults={"scope": "group"}, endpoint="group")
def task_list(scope: str):
    with _engine().unit_of_work(read_only=True) as uow:
        rows = queries.open_tasks(uow.session, current_user(), scope)
    page = {"rows": rows, "scope": scope}
    template = "tasks/_table.html" if request.headers.get("HX-Request") else "tasks/list.html"
    return render_template(template, page=page)


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
        return _render_task(view, form_view(schema, state=state, problems=problems),
                            _("The form has errors. Correct the fields marked below."), 422)
    try:
        with _engine().unit_of_work() as uow:
            result = cases.complete_task(uow, task_id, current_user(), data)
    except InvalidInput as err:
        problems = err.context.get("problems") or [{"field": err.field or "(form)", "message": err.message}]
        return _render_task(view, form_view(schema, state=state, problems=problems),
                            _("The form has errors. Correct the fields marked below."), 422)
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
