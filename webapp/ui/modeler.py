"""Case-type owners in the browser: the case-type page, the modeler, compare, migrate, test runs and
the process overview. Every rule (who may, what may be published, which case can move) is the
engine's; these views parse input, call one service and render.

The modeler itself is static JavaScript (static/js/modeler.js, bpmn-js and dmn-js vendored under
static/vendor/modeler/); it talks to the JSON endpoints here: files of a version, save (answers
with the lint report), acknowledge.
"""
from __future__ import annotations

import json
from datetime import timedelta

from flask import (Blueprint, Response, current_app, flash, g, jsonify, redirect, render_template, request,
                   url_for)
from flask_babel import gettext as _

from engine import permissions
from engine.errors import InvalidInput, ModelError, NotFound
from engine.runtime.parsing import file_kind
from engine.services import case_types, migration, model_runs, process_stats
from engine.services.org import get_user

from ..security import CONTENT_SECURITY_POLICY, current_user
from .forms import form_view, parse_form

bp = Blueprint("modeler", __name__, url_prefix="/case-types")

MIGRATION_STEP = 25                    # cases moved per progress poll
MIGRATION_STEP_TIME = timedelta(seconds=2)


def _engine():
    return current_app.extensions["sagsgang"]


@bp.app_context_processor
def case_type_menu():
    def may_manage_case_types() -> bool:
        if not getattr(g, "user", None):
            return False
        with _engine().unit_of_work(read_only=True) as uow:
            user = get_user(uow.session, current_user())
            return permissions.can_manage_case_type(uow.session, user, None) or bool(
                case_types.manageable_case_types(uow, current_user()))
    return {"may_manage_case_types": may_manage_case_types}


def _shown(report: dict) -> dict:
    """The lint report with each finding's message in the user's language (the engine's templates
    are gettext msgids, marked with N_ in engine/lint)."""
    for finding in report.get("findings", []):
        params = dict(finding.get("params", {}))
        if isinstance(params.get("what"), str):  # "condition", "script": words the engine marked with N_
            params["what"] = _(params["what"])
        try:
            finding["display"] = _(finding["template"], **params)
        except (KeyError, TypeError, ValueError):
            finding["display"] = finding["message"]
    return report


@bp.app_template_global("modeler_label")
def label(text: str | None) -> str:
    """A word the engine marked for translation (a diff aspect such as "condition"), translated."""
    return _(text) if text else ""


@bp.app_template_global("modeler_reason")
def reason(detail: dict) -> str:
    """Why a case can or cannot move, in the user's language (engine/lint/messages.py)."""
    params = dict(detail.get("params") or {})
    if isinstance(params.get("what"), str):
        params["what"] = ", ".join(_(part) for part in params["what"].split(", "))
    try:
        return _(detail["template"], **params)
    except (KeyError, TypeError, ValueError):
        return detail.get("text", "")


# --- the case type --------------------------------------------------------------------------------

@bp.get("/")
def index():
    with _engine().unit_of_work(read_only=True) as uow:
        rows = case_types.manageable_case_types(uow, current_user())
    return render_template("modeler/index.html", case_types=rows)


def _case_type_page(key: str, error: InvalidInput | None = None, form: dict | None = None, status: int = 200):
    with _engine().unit_of_work(read_only=True) as uow:
        detail = case_types.case_type_detail(uow, key, current_user())
        migrations = migration.migrations_of(uow, key, current_user())
    return render_template("modeler/case_type.html", case_type=detail, migrations=migrations, error=error,
                           form=form or detail), status


@bp.get("/<key>")
def case_type(key: str):
    return _case_type_page(key)


def _lanes_from_form() -> dict:
    lanes = {}
    names = request.form.getlist("lane_name")
    groups = request.form.getlist("lane_group")
    expressions = request.form.getlist("lane_expression")
    for name, group, expression in zip(names, groups, expressions):
        name = name.strip()
        if not name:
            continue
        rule = {k: v.strip() for k, v in (("group", group), ("expression", expression)) if v.strip()}
        lanes[name] = rule
    return lanes


@bp.post("/<key>")
def update(key: str):
    changes = {name: request.form.get(name, "") for name in (
        "name", "prefix", "kle_number", "handlingsfacet", "deletion_rule", "personal_data_category", "owner_group")}
    changes["lanes"] = _lanes_from_form()
    try:
        with _engine().unit_of_work() as uow:
            case_types.update_case_type(uow, key, current_user(), changes)
    except InvalidInput as err:
        return _case_type_page(key, err, {**changes, "key": key}, 422)
    flash(_("The case type is saved."), "success")
    return redirect(url_for("modeler.case_type", key=key))


@bp.post("/<key>/drafts")
def new_draft(key: str):
    base = request.form.get("from", type=int)
    with _engine().unit_of_work() as uow:
        draft = case_types.create_draft(uow, key, current_user(), base)
    flash(_("Draft version %(number)s is created.", number=draft["number"]), "success")
    return redirect(url_for("modeler.editor", key=key, number=draft["number"]))


# --- the modeler ----------------------------------------------------------------------------------

@bp.get("/<key>/versions/<int:number>")
def editor(key: str, number: int):
    with _engine().unit_of_work(read_only=True) as uow:
        version = case_types.version_detail(uow, key, number, current_user())
        detail = case_types.case_type_detail(uow, key, current_user())
    _shown(version["lint"])
    response = Response(render_template("modeler/editor.html", version=version, case_type=detail))
    # dmn-js's decision-table editor sets column widths and menu positions as style attributes;
    # only this page allows inline styles (scripts stay our own files only).
    response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY.replace(
        "style-src 'self'", "style-src 'self' 'unsafe-inline'")
    return response


@bp.get("/<key>/versions/<int:number>/files/<path:name>")
def file(key: str, number: int, name: str):
    with _engine().unit_of_work(read_only=True) as uow:
        files = case_types.version_files(uow, key, number, current_user())
    if name not in files:
        raise NotFound(f"version {number} has no file '{name}'", field="file")
    kind = file_kind(name)
    mimetype = {"bpmn": "application/xml", "dmn": "application/xml", "form": "application/json"}[kind]
    download = request.args.get("download")
    response = Response(files[name], mimetype=mimetype)
    if download:
        response.headers["Content-Disposition"] = f'attachment; filename="{name.rsplit("/", 1)[-1]}"'
    return response


@bp.post("/<key>/versions/<int:number>/files")
def save(key: str, number: int):
    """Save files of a draft (JSON: {"files": {name: text}, "removed": [names]}); answers the lint report."""
    body = request.get_json(silent=True)
    if not isinstance(body, dict) or not isinstance(body.get("files", {}), dict):
        raise InvalidInput("send JSON with 'files': {name: text}", field="files")
    files = {}
    for name, text in body.get("files", {}).items():
        if not isinstance(text, str):
            raise InvalidInput(f"the content of '{name}' must be text", field="files")
        files[name] = text.encode("utf-8")
    removed = body.get("removed") or []
    if not isinstance(removed, list):
        raise InvalidInput("'removed' must be a list of file names", field="removed")
    with _engine().unit_of_work() as uow:
        saved = case_types.save_draft(uow, key, number, current_user(), files=files, removed=removed,
                                      process_id=body.get("process_id"), start_form=body.get("start_form"))
    _shown(saved["lint"])
    return jsonify(saved)


@bp.get("/<key>/versions/<int:number>/lint")
def lint(key: str, number: int):
    with _engine().unit_of_work(read_only=True) as uow:
        return jsonify(_shown(case_types.lint_version(uow, key, number, current_user())))


@bp.post("/<key>/versions/<int:number>/acknowledge")
def acknowledge(key: str, number: int):
    body = request.get_json(silent=True) or {}
    keys = body.get("keys") if body else request.form.getlist("key")
    note = body.get("note", "") if body else request.form.get("note", "")
    with _engine().unit_of_work() as uow:
        report = case_types.acknowledge_warnings(uow, key, number, current_user(), list(keys or []), note)
    if request.is_json:
        return jsonify(_shown(report))
    return redirect(url_for("modeler.editor", key=key, number=number))


@bp.post("/<key>/versions/<int:number>/publish")
def publish(key: str, number: int):
    try:
        with _engine().unit_of_work() as uow:
            case_types.publish_version(uow, key, number, current_user())
    except (ModelError, InvalidInput) as err:
        if request.is_json:
            raise
        problems = _shown({"findings": err.context.get("problems") or []})["findings"]
        if problems and "display" in problems[0]:
            reason = _("%(count)s findings must be dealt with first, e.g.: %(first)s", count=len(problems),
                       first=problems[0]["display"])
        else:
            reason = err.message
        flash(_("Version %(number)s is not published: %(reason)s", number=number, reason=reason), "error")
        return redirect(url_for("modeler.editor", key=key, number=number))
    if request.is_json:
        return jsonify({"published": number})
    flash(_("Version %(number)s is published. New cases use it; running cases stay on their version until "
            "you move them.", number=number), "success")
    return redirect(url_for("modeler.case_type", key=key))


@bp.post("/<key>/versions/<int:number>/delete")
def delete(key: str, number: int):
    with _engine().unit_of_work() as uow:
        case_types.delete_draft(uow, key, number, current_user())
    flash(_("Draft version %(number)s is deleted.", number=number), "success")
    return redirect(url_for("modeler.case_type", key=key))


@bp.post("/form-preview")
def form_preview():
    """The form a JSON Schema draws, for the form editor's live preview (the text is the body)."""
    try:
        schema = json.loads(request.get_data(as_text=True) or "{}")
    except ValueError as err:
        return render_template("modeler/_form_preview.html", problem=str(err), form=None)
    if not isinstance(schema, dict):
        return render_template("modeler/_form_preview.html", problem=_("A form is a JSON object."), form=None)
    try:
        form = form_view(schema)
    except Exception as err:  # noqa: BLE001 - a half-typed schema: say why instead of failing the preview
        return render_template("modeler/_form_preview.html", problem=f"{err.__class__.__name__}: {err}", form=None)
    return render_template("modeler/_form_preview.html", problem=None, form=form, schema=schema)


# --- compare and migrate ----------------------------------------------------------------------------

@bp.get("/<key>/compare")
def compare(key: str):
    old, new = request.args.get("old", type=int), request.args.get("new", type=int)
    if old is None or new is None:
        raise InvalidInput(_("Choose two versions to compare."), field="old")
    with _engine().unit_of_work(read_only=True) as uow:
        diff = case_types.compare_versions(uow, key, old, new, current_user())
        detail = case_types.case_type_detail(uow, key, current_user())
        old_main = case_types.diagram_of(uow, key, old, current_user())[0]
        new_main = case_types.diagram_of(uow, key, new, current_user())[0]
    return render_template("modeler/compare.html", diff=diff, case_type=detail, old_main=old_main, new_main=new_main)


@bp.get("/<key>/migrate")
def plan(key: str):
    old, new = request.args.get("from", type=int), request.args.get("to", type=int)
    with _engine().unit_of_work(read_only=True) as uow:
        detail = case_types.case_type_detail(uow, key, current_user())
        if new is None:
            new = detail["current_version"]
        result = migration.plan_migration(uow, key, old, new, current_user()) if old and new else None
    return render_template("modeler/migrate.html", case_type=detail, plan=result, old=old, new=new)


@bp.post("/<key>/migrate")
def start_migration(key: str):
    old, new = request.form.get("from", type=int), request.form.get("to", type=int)
    with _engine().unit_of_work() as uow:
        job = migration.start_migration(uow, key, old, new, current_user())
    return redirect(url_for("modeler.migration_page", migration_id=job["id"]))


@bp.get("/migrations/<int:migration_id>")
def migration_page(migration_id: int):
    with _engine().unit_of_work(read_only=True) as uow:
        job = migration.migration_status(uow, migration_id, current_user())
    return render_template("modeler/migration.html", job=job)


@bp.post("/migrations/<int:migration_id>/step")
def migration_step(migration_id: int):
    """Move the next cases and answer the progress (htmx polls this while the job runs)."""
    progress = migration.migrate_cases(_engine().unit_of_work, migration_id, current_user(), limit=MIGRATION_STEP,
                                       time_budget=MIGRATION_STEP_TIME)
    response = Response(render_template("modeler/_progress.html", job=progress, migration_id=migration_id))
    if progress["status"] == "finished":
        response.headers["HX-Trigger"] = "migration-finished"
    return response


@bp.post("/migrations/items/<int:item_id>/revert")
def revert(item_id: int):
    migration_id = request.form.get("migration", type=int)
    with _engine().unit_of_work() as uow:
        result = migration.revert_case(uow, item_id, current_user())
    flash(_("Case %(number)s is back on version %(version)s.", number=result["number"], version=result["version"]),
          "success")
    return redirect(url_for("modeler.migration_page", migration_id=migration_id) if migration_id
                    else url_for("modeler.index"))


# --- where cases wait ---------------------------------------------------------------------------------

@bp.get("/<key>/process")
def process(key: str):
    with _engine().unit_of_work(read_only=True) as uow:
        detail = case_types.case_type_detail(uow, key, current_user())
        number = request.args.get("version", type=int) or detail["current_version"]
        main = case_types.diagram_of(uow, key, number, current_user())[0] if number else None
        overlay = process_stats.process_overlay(uow, key, current_user())
    markers, notes = {}, []
    for row in overlay["elements"]:
        if row["waiting"]:
            level = max(1, min(4, -(-int(row["load"] * 100) // 25)))
            markers.setdefault(f"sg-heat-{level}", []).append(row["element_id"])
            notes.append({"element": row["element_id"], "class": "note-waiting", "position": {"top": -14, "left": -6},
                          "text": _("%(count)s waiting", count=row["waiting"])
                          + (" · " + _("%(count)s overdue", count=row["overdue"]) if row["overdue"] else "")})
        if row["median_hours"] is not None:
            notes.append({"element": row["element_id"], "class": "note-duration",
                          "text": f"{duration(row['median_hours'])} / {duration(row['p90_hours'])}",
                          "title": _("median / 90th percentile of %(count)s", count=row["completed"])})
    return render_template("modeler/process.html", case_type=detail, overlay=overlay, number=number, main=main,
                           markers=markers, notes=notes, duration=duration)


def duration(hours: float | None) -> str:
    """Hours as an owner reads them: minutes, hours or days."""
    if hours is None:
        return "–"
    if hours < 1:
        return _("%(n)s min", n=round(hours * 60))
    if hours < 48:
        return _("%(n)s h", n=_decimal(hours))
    return _("%(n)s days", n=_decimal(hours / 24))


def _decimal(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


@bp.get("/<key>/process.json")
def process_data(key: str):
    with _engine().unit_of_work(read_only=True) as uow:
        return jsonify(process_stats.process_overlay(uow, key, current_user()))


# --- test runs ----------------------------------------------------------------------------------------

@bp.route("/<key>/versions/<int:number>/test-runs", methods=["GET", "POST"])
def new_test_run(key: str, number: int):
    with _engine().unit_of_work(read_only=True) as uow:
        version = case_types.version_detail(uow, key, number, current_user())
        files = case_types.version_files(uow, key, number, current_user())
    schema = None
    if version["start_form"]:
        form_file = next((n for n in files if n.rsplit("/", 1)[-1] == version["start_form"]), None)
        try:
            schema = json.loads(files[form_file]) if form_file else None
        except ValueError:
            schema = None
    if request.method == "GET":
        return render_template("modeler/test_start.html", version=version, form=form_view(schema), schema=schema)
    data, problems, state = parse_form(schema, request.form)
    try:
        if problems:
            raise InvalidInput(_("The form has errors. Correct the fields marked below."), problems=problems)
        with _engine().unit_of_work() as uow:
            run = model_runs.start_test_run(uow, key, number, current_user(), data)
    except InvalidInput as err:
        view = form_view(schema, state=state, problems=err.context.get("problems") or [
            {"field": "(form)", "message": err.message}])
        return render_template("modeler/test_start.html", version=version, form=view, schema=schema), 422
    return redirect(url_for("modeler.test_run", run_id=run["id"]))


def _test_run_page(run: dict, forms: dict | None = None, status: int = 200):
    forms = forms or {}
    views = {t["id"]: forms.get(t["id"]) or form_view(t["schema"]) for t in run["open_tasks"]}
    with _engine().unit_of_work(read_only=True) as uow:
        try:
            main_file = case_types.diagram_of(uow, run["case_type"], run["version"], current_user())[0]
        except NotFound:
            main_file = None
    return render_template("modeler/test_run.html", run=run, forms_by_task=views, main_file=main_file), status


@bp.get("/test-runs/<int:run_id>")
def test_run(run_id: int):
    with _engine().unit_of_work(read_only=True) as uow:
        run = model_runs.test_run(uow, run_id, current_user())
    return _test_run_page(run)


@bp.post("/test-runs/<int:run_id>/tasks/<task_id>")
def test_task(run_id: int, task_id: str):
    with _engine().unit_of_work(read_only=True) as uow:
        run = model_runs.test_run(uow, run_id, current_user())
    task = next((t for t in run["open_tasks"] if t["id"] == task_id), None)
    if task is None:
        raise NotFound(_("The task is no longer ready in this test run."), field="task")
    data, problems, state = parse_form(task["schema"], request.form)
    try:
        if problems:
            raise InvalidInput(_("The form has errors. Correct the fields marked below."), problems=problems)
        with _engine().unit_of_work() as uow:
            model_runs.complete_test_task(uow, run_id, task_id, current_user(), data)
    except InvalidInput as err:
        view = form_view(task["schema"], state=state, problems=err.context.get("problems") or [
            {"field": "(form)", "message": err.message}])
        return _test_run_page(run, {task_id: view}, 422)
    return redirect(url_for("modeler.test_run", run_id=run_id))


@bp.post("/test-runs/<int:run_id>/events/<task_id>/fire")
def test_timer(run_id: int, task_id: str):
    with _engine().unit_of_work() as uow:
        model_runs.fire_test_timer(uow, run_id, task_id, current_user())
    return redirect(url_for("modeler.test_run", run_id=run_id))


@bp.post("/test-runs/<int:run_id>/events/<task_id>/deliver")
def test_message(run_id: int, task_id: str):
    raw = request.form.get("payload", "").strip() or "{}"
    try:
        payload = json.loads(raw)
    except ValueError as err:
        raise InvalidInput(_("The message content must be JSON: %(problem)s", problem=str(err)),
                           field="payload") from err
    with _engine().unit_of_work() as uow:
        model_runs.deliver_test_message(uow, run_id, task_id, current_user(), payload if isinstance(payload, dict) else {})
    return redirect(url_for("modeler.test_run", run_id=run_id))


@bp.post("/test-runs/<int:run_id>/end")
def end_test_run(run_id: int):
    with _engine().unit_of_work() as uow:
        model_runs.end_test_run(uow, run_id, current_user())
    flash(_("The test run is ended and deleted."), "success")
    target = request.form.get("next")
    return redirect(target if target and target.startswith("/case-types/") else url_for("modeler.index"))

