"""My tasks, my group's tasks, a task's form, and claiming, handing back, assigning, delegating."""
from __future__ import annotations

from datetime import datetime

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from jinja2.utils import url_quote
from markupsafe import Markup, escape

from engine.errors import Conflict, InvalidInput, NotAllowed, NotFound
from engine.localtime import TIMEZONE as LOCAL_TIME
from engine.services import cases, documents, forms, tasks, worklists

from ..formdata import file_fields
from ..i18n import datetime_filter
from ..markdown import render_markdown
from ..reading import reader
from ..security import current_user, safe_next
from . import navigation
from .documents import document_size, upload_problem
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
    page = {"rows": found["items"], "total": found["total"],
            "scope": scope, "filters": filters, "pages": pages, "case_types": case_types,
            "caption": list_title(scope)}
    boosted = request.headers.get("HX-Request") and request.headers.get("HX-Target") == "task-table"
    return render_template("tasks/_table.html" if boosted else "tasks/list.html", page=page)


_LAYOUT_URLS: dict[tuple, str] = {}


@bp.app_template_global("layout_url")
def layout_url(endpoint: str, **values) -> str:
    """url_for for the layout's fixed links (static files, the menu), built once per process: they
    depend on nothing of the request but the application's root, and a page draws ~13 of them at
    ~17 µs each (docs/benchmarks.md, task lists)."""
    key = (request.script_root, endpoint, *sorted(values.items()))
    found = _LAYOUT_URLS.get(key)
    if found is None:
        found = _LAYOUT_URLS[key] = url_for(endpoint, **values)
    return found


_LIST_URLS: dict[tuple, str] = {}
LIST_URLS_MAX = 10_000


@bp.app_template_global("list_url")
def list_url(endpoint: str, filters: dict, **changes) -> str:
    """url_for(endpoint, **dict(filters, **changes)) for the table's sort links and pager (5-7 a
    page at ~20 µs each), kept per process: a pure function of its arguments and the application's
    root. Filters carry typed text (the grouping), so the store is emptied when full."""
    values = dict(filters, **changes)
    key = (request.script_root, endpoint, *values.items())
    found = _LIST_URLS.get(key)
    if found is None:
        if len(_LIST_URLS) >= LIST_URLS_MAX:
            _LIST_URLS.clear()
        found = _LIST_URLS[key] = url_for(endpoint, **values)
    return found


_ROW = ('    <tr{overdue}>\n      <td data-label="{l_task}"><a href="{task_href}">{name}</a>\n{sub}      </td>\n'
        '      <td data-label="{l_case}"><a href="{case_href}">{case}</a>{title}</td>\n'
        '      <td data-label="{l_type}">{case_type}</td>\n      <td data-label="{l_grouping}">{grouping}</td>\n'
        '      <td data-label="{l_due}">{due}</td>\n{claim}    </tr>\n')
_CLAIM = ('      <td data-label="">\n        <form method="post" action="{action}" class="inline">\n'
          '          <input type="hidden" name="csrf_token" value="{token}">\n'
          '          <input type="hidden" name="next" value="{here}">\n'
          '          <input type="hidden" name="then" value="{task_href}">\n'
          '          <button type="submit" class="button small">{claim}<span class="visually-hidden"> {name} ({case})'
          '</span></button>\n        </form>\n      </td>\n')


@bp.app_template_global("task_rows")
def task_rows(rows, labels: tuple, words: tuple, task_url: str, case_url: str, claim: tuple | None = None) -> Markup:
    """The task table's rows as one string: the same HTML the row loop in tasks/_table.html drew,
    at about a third of its CPU (Jinja spent ~1.5 ms a 25-row page on per-row calls, lookups and
    escaping; docs/benchmarks.md, task lists). `labels`/`words` are the table's translated texts,
    `claim` (group list) the claim URL pattern, CSRF token and the page's own path."""
    l_task, l_case, l_type, l_grouping, l_due = (escape(label) for label in labels)
    w_overdue, w_today, w_no_due, w_claim = (escape(word) for word in words)
    no_due = f'<span class="muted">{w_no_due}</span>'
    if claim is not None:
        claim_url, token, here = claim[0], escape(claim[1]), escape(claim[2])
    type_names = navigation.case_type_names()
    out = []
    for row in rows:
        t = row if isinstance(row, dict) else vars(row)
        quoted_id = url_quote(t["id"])
        task_href = escape(task_url.replace("TASKID", quoted_id))
        name, case = escape(t["name"]), escape(t["case"])
        relation = t.get("relation")
        if relation == "delegated_by_me":
            sub = f'<span class="sub">{Markup(_("delegated to %(who)s", who=escape(t["assignee"])))}</span>\n'
        elif relation == "delegated_to_me":
            sub = f'<span class="sub">{Markup(_("delegated by %(who)s", who=escape(t["owner"])))}</span>\n'
        elif relation == "substitute":
            sub = f'<span class="sub">{Markup(_("covering for %(who)s", who=escape(t["on_behalf_of"])))}</span>'
        else:
            sub = ""
        state = t.get("due_state")
        if t.get("due_at"):
            due = escape(datetime_filter(t["due_at"]))
            if state == "overdue":
                due = f'{due} <span class="badge badge-overdue">{w_overdue}</span>'
            elif state == "today":
                due = f'{due} <span class="badge">{w_today}</span>'
        else:
            due = no_due
        title = t.get("case_title")
        out.append(_ROW.format(
            overdue=' class="overdue"' if state == "overdue" else "", l_task=l_task, task_href=task_href, name=name,
            sub=sub, l_case=l_case, case_href=escape(case_url.replace("CASENO", url_quote(t["case"]))), case=case,
            title=f'<span class="sub">{escape(title)}</span>' if title else "", l_type=l_type,
            case_type=escape(type_names.get(t.get("case_type"), t.get("case_type"))), l_grouping=l_grouping,
            grouping=escape(t.get("grouping") or "—"), l_due=l_due, due=due,
            claim="" if claim is None else _CLAIM.format(
                action=escape(claim_url.replace("TASKID", quoted_id)), token=token, here=here,
                task_href=task_href, claim=w_claim, name=name, case=case)))
    # Without the last newline: the template line that calls this ends the last row.
    return Markup("".join(out)[:-1])


def list_title(scope: str) -> str:
    return {"mine": _("My tasks"), "group": _("My group's tasks"), "delegated": _("Delegated by me")}[scope]


def _render_task(view: dict, form=None, message: str | None = None, status: int = 200,
                 controls: dict | None = None):
    if form is None and view["may_complete"]:
        form = form_view(view["schema"], data=view["values"])
    if form is not None and form.has_files:
        form.file_max_bytes = _engine().settings.document_max_bytes
        form.file_max_text = document_size(form.file_max_bytes)
    return render_template("tasks/form.html", task=view, form=form, message=message,
                           controls=controls or control_state(view),
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
    files = _uploaded_files(schema)
    if problems:
        # A chosen file would satisfy its field: check the rest of the form as if it were attached.
        checked = dict(data, **{name: "document:0" for name in files})
        problems = merge_problems(problems, forms.check_form(schema, checked, view["form"]))
        return _render_task(view, form_view(schema, state=state, problems=problems + _choose_again(files, problems)),
                            status=422)
    try:
        with _engine().unit_of_work() as uow:
            if files:
                result = documents.complete_task_with_documents(uow, task_id, current_user(), data, files)
            else:
                result = cases.complete_task(uow, task_id, current_user(), data)
    except InvalidInput as err:
        problems = err.context.get("problems") or [_file_problem(err, schema)]
        problems = [_choose_a_file(p, schema) for p in problems]
        return _render_task(view, form_view(schema, state=state, problems=problems + _choose_again(files, problems)),
                            status=422)
    except (Conflict, NotAllowed):
        return _refused(_task_view(task_id))
    flash(_("“%(task)s” is done.", task=view["name"]), "success")
    return redirect(url_for("cases.show", number=result["number"]))


def _uploaded_files(schema: dict | None) -> dict[str, tuple[str, bytes]]:
    """The files chosen in the form's file fields: name and at most the limit plus one byte (the
    engine refuses a larger one beside its field)."""
    limit = _engine().settings.document_max_bytes
    files = {}
    for f in file_fields(schema):
        upload = request.files.get(f.name)
        if upload is not None and upload.filename:
            files[f.name] = (upload.filename, upload.stream.read(limit + 1))
    return files


def _file_problem(err: InvalidInput, schema: dict | None) -> dict:
    """An engine refusal as a form problem; a refused file gets its reason in the user's language."""
    field = err.field or "(form)"
    if field in {f.name for f in file_fields(schema)} and err.context.get("reason"):
        return {"field": field, "message": upload_problem(err)}
    return {"field": field, "message": err.message}


def _choose_a_file(problem: dict, schema: dict | None) -> dict:
    if problem.get("validator") == "required" and problem.get("field") in {f.name for f in file_fields(schema)}:
        return {"field": problem["field"], "message": _("Choose a file.")}
    return problem


def _choose_again(files: dict, problems: list[dict]) -> list[dict]:
    """A browser does not keep a chosen file when the form comes back: ask for it again, beside its field."""
    named = {p.get("field") for p in problems}
    return [{"field": name, "message": _("Choose the file again: the form came back because of the errors "
                                         "shown, and a browser does not keep a chosen file.")}
            for name in files if name not in named]


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


# --- claim, hand back, assign, delegate, take back; due date, follow-up date, priority ------------------

# The engine's field names of the task controls, and the input each one's error stands beside.
CONTROL_INPUTS = {"assignee": "assign-colleague", "delegate": "delegate-colleague", "due_at": "plan-due",
                  "follow_up_at": "plan-follow-up", "priority": "plan-priority"}


def control_state(view: dict, values: dict | None = None, errors: dict | None = None) -> dict:
    """What the task page's controls show: the current plan (local dates), or what was typed, and errors."""
    shown = {"due": _local_date(view.get("due_at")), "follow_up": _local_date(view.get("follow_up_at")),
             "priority": "" if view.get("priority") is None else str(view["priority"])}
    shown.update(values or {})
    return {"values": shown, "errors": errors or {}}


def _local_date(moment: str | None) -> str:
    return datetime.fromisoformat(moment).astimezone(LOCAL_TIME).date().isoformat() if moment else ""


def _expected_row_version() -> int | None:
    """The case's row_version the page was drawn from; the engine refuses the action if the case moved on."""
    raw = request.form.get("row_version", "").strip()
    return int(raw) if raw.isdigit() else None


def _control_problem(err: InvalidInput | NotFound, field: str, typed: str) -> str:
    """An engine refusal of a control's value, in the user's language."""
    if isinstance(err, NotFound):
        return _("There is no user “%(name)s”.", name=typed)
    if field in ("due_at", "follow_up_at"):
        return _("“%(value)s” is not a date. Write it as 2026-12-24.", value=typed)
    if field == "priority":
        return _("Enter a whole number from 0 (lowest) to 100 (highest).")
    if err.context.get("reason") == "deactivated":
        return _("%(name)s is deactivated and cannot take tasks.", name=typed)
    if err.context.get("reason") == "holds_it":
        return _("%(name)s holds the task already. Delegate it to someone else.", name=typed)
    return _("That was not possible: %(detail)s", detail=err.message)


def _task_action(task_id: str, act, done: str, typed: tuple[str, str] = ("", ""), **arguments):
    """Run one task service; a lost race or a refusal becomes a message on the page the user came from.

    A value the engine refuses (an unknown colleague, a date in the wrong form) is shown beside its
    input on the task page again, with what was typed; `typed` is (the control's name, the text).
    """
    back = safe_next(request.form.get("next")) or url_for("tasks.show", task_id=task_id)
    try:
        with _engine().unit_of_work() as uow:
            act(uow, task_id, current_user(), expected_row_version=_expected_row_version(), **arguments)
    except Conflict as err:
        flash(_("Someone else changed the task meanwhile: %(detail)s", detail=err.message), "error")
        return redirect(back)
    except (InvalidInput, NotFound) as err:
        field = err.context.get("field")
        if field not in CONTROL_INPUTS:
            if isinstance(err, NotFound):
                raise
            flash(_("That was not possible: %(detail)s", detail=err.message), "error")
            return redirect(back)
        view = _task_view(task_id)
        values = {typed[0]: typed[1]} if typed[0] in ("due", "follow_up", "priority") else {}
        controls = control_state(view, values, {field: [_control_problem(err, field, typed[1])]})
        return _render_task(view, status=422, controls=controls)
    except NotAllowed as err:
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
    colleague = request.form.get("colleague", "").strip()
    return _task_action(task_id, tasks.assign_task, _("The task is assigned to %(who)s.", who=colleague),
                        ("colleague", colleague), assignee=colleague)


@bp.post("/<task_id>/delegate")
def delegate(task_id: str):
    colleague = request.form.get("colleague", "").strip()
    return _task_action(task_id, tasks.delegate_task, _("The task is delegated to %(who)s.", who=colleague),
                        ("colleague", colleague), delegate=colleague)


@bp.post("/<task_id>/take-back")
def take_back(task_id: str):
    return _task_action(task_id, tasks.take_back_task, _("You took the task back."))


@bp.post("/<task_id>/due")
def set_due(task_id: str):
    due = request.form.get("due", "").strip()
    done = _("The due date is %(day)s.", day=due) if due else _("The task has no due date now.")
    return _task_action(task_id, tasks.set_due_date, done, ("due", due), due=due or None)


@bp.post("/<task_id>/follow-up")
def set_follow_up(task_id: str):
    follow_up = request.form.get("follow_up", "").strip()
    done = (_("You will be reminded to look at the task on %(day)s.", day=follow_up) if follow_up
            else _("The task has no follow-up date now."))
    return _task_action(task_id, tasks.set_follow_up_date, done, ("follow_up", follow_up),
                        follow_up=follow_up or None)


@bp.post("/<task_id>/priority")
def set_priority(task_id: str):
    priority = request.form.get("priority", "").strip()
    return _task_action(task_id, tasks.set_priority, _("The priority is %(n)s.", n=priority),
                        ("priority", priority), priority=priority)
