"""Test a version before publishing: run it with sample data, step by step, as its owner.

A test run is not a case: no case row, no case number, no journal, no task index, so nothing of it
reaches anyone's task list, search or statistics. Between steps its workflow state is kept in a
`model_test_runs` row (web processes share nothing else); the row is deleted when the owner ends
the run, and runs left behind are swept a day later. Scripts and expressions run in the same
sandbox as in real cases; lanes are resolved only to say who *would* get a task.
"""
from __future__ import annotations

from datetime import timedelta
from uuid import UUID

from sqlalchemy import delete, select
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.bpmn.util import BpmnEvent
from SpiffWorkflow.exceptions import WorkflowException
from SpiffWorkflow.util.task import TaskState

from ..db import UnitOfWork, utcnow
from ..errors import InvalidInput, NotFound, WorkflowError
from ..models import CaseType, CaseTypeVersion, Group
from ..models.case_types import ModelTestRun
from ..runtime import advance as runtime
from ..runtime.instructions import render_instructions
from ..runtime.state import dump_state, load_state
from .case_types import _owner, files_of, get_case_type, get_version
from .cases import clean_data, validate_form

KEEP_FOR = timedelta(days=1)
MAX_STEPS_SHOWN = 200


def _model(uow: UnitOfWork, version: CaseTypeVersion):
    def load():
        return files_of(uow.session, version)
    return uow.runtime.specs.get(version.content_hash, version.process_id, load)


def _limits(uow: UnitOfWork) -> tuple[int, int]:
    return uow.runtime.settings.max_engine_steps, uow.runtime.settings.max_task_depth


def start_test_run(uow: UnitOfWork, key: str, number: int, actor: str, data: dict | None = None,
                   title: str = "Testkørsel") -> dict:
    """Start a version (usually a draft) with sample start-form data; returns the run's view."""
    session = uow.session
    case_type = get_case_type(session, key)
    _owner(session, actor, case_type)
    version = get_version(session, case_type, number)
    session.execute(delete(ModelTestRun).where(ModelTestRun.created_at < utcnow() - KEEP_FOR))
    data = clean_data(data)
    model = _model(uow, version)
    if version.start_form:
        validate_form(model.forms.get(version.start_form), data, version.start_form)
    start = dict(data, caseworker=actor, case={"number": f"TEST-{case_type.prefix}", "title": title,
                                                "grouping": "", "type": key})
    workflow = runtime.start_workflow(model, uow.runtime.script_engine, start, *_limits(uow))
    run = ModelTestRun(version_id=version.id, content_hash=version.content_hash, started_by=actor,
                       state=dump_state(workflow), steps=[{"at": utcnow().isoformat(), "step": "started",
                                                           "fields": sorted(data)}],
                       created_at=utcnow(), updated_at=utcnow())
    session.add(run)
    session.flush()
    view = _view(uow, run, case_type, version, model, workflow)
    uow.commit()
    return view


def _load(uow: UnitOfWork, run_id: int, actor: str):
    session = uow.session
    run = session.get(ModelTestRun, run_id)
    if run is None:
        raise NotFound(f"test run {run_id} is over (ended, or older than a day)", field="run")
    version = session.get(CaseTypeVersion, run.version_id)
    case_type = session.get(CaseType, version.case_type_id)
    _owner(session, actor, case_type)
    if run.started_by != actor:
        raise NotFound(f"test run {run_id} belongs to {run.started_by}", field="run")
    if version.content_hash != run.content_hash:
        raise InvalidInput("the draft was saved since this test run started; start a new run", field="run")
    model = _model(uow, version)
    workflow = load_state(run.state, model, uow.runtime.script_engine)
    return run, case_type, version, model, workflow


def test_run(uow: UnitOfWork, run_id: int, actor: str) -> dict:
    run, case_type, version, model, workflow = _load(uow, run_id, actor)
    return _view(uow, run, case_type, version, model, workflow)


def _save(uow: UnitOfWork, run: ModelTestRun, workflow, step: dict) -> None:
    run.state = dump_state(workflow)
    run.steps = (list(run.steps or []) + [{"at": utcnow().isoformat(), **step}])[-MAX_STEPS_SHOWN:]
    run.updated_at = utcnow()
    uow.session.flush()


def complete_test_task(uow: UnitOfWork, run_id: int, task_id: str, actor: str, data: dict | None = None) -> dict:
    """Complete a ready user task of the run with sample data, checked against its form."""
    run, case_type, version, model, workflow = _load(uow, run_id, actor)
    data = clean_data(data)
    task = runtime.find_ready_task(workflow, task_id)
    form = runtime.task_properties(task.task_spec).get("formJsonSchemaFilename")
    if form:
        validate_form(model.forms.get(form), data, form)
    runtime.complete_task(workflow, task, data, *_limits(uow))
    _save(uow, run, workflow, {"step": "completed", "element": runtime._element(task),
                               "name": task.task_spec.bpmn_name or runtime._element(task), "fields": sorted(data)})
    view = _view(uow, run, case_type, version, model, workflow)
    uow.commit()
    return view


def fire_test_timer(uow: UnitOfWork, run_id: int, task_id: str, actor: str) -> dict:
    """Let a waiting timer of the run fire now instead of in days (a test cannot wait for P7D)."""
    run, case_type, version, model, workflow = _load(uow, run_id, actor)
    task = _waiting(workflow, task_id)
    value = task._get_internal_data("event_value")
    past = (utcnow() - timedelta(seconds=1)).isoformat()
    if isinstance(value, dict):
        value = dict(value, next=past)
    elif isinstance(value, str):
        value = past
    else:
        raise InvalidInput(f"{runtime._element(task)} does not wait for a timer", field="task")
    task._set_internal_data(event_value=value)
    runtime.advance(workflow, *_limits(uow))
    _save(uow, run, workflow, {"step": "timer fired", "element": runtime._element(task),
                               "name": task.task_spec.bpmn_name or runtime._element(task)})
    view = _view(uow, run, case_type, version, model, workflow)
    uow.commit()
    return view


def deliver_test_message(uow: UnitOfWork, run_id: int, task_id: str, actor: str,
                         payload: dict | None = None) -> dict:
    """Deliver the message a waiting event of the run expects, with a sample payload."""
    run, case_type, version, model, workflow = _load(uow, run_id, actor)
    task = _waiting(workflow, task_id)
    waits = [w for w in runtime.snapshot(workflow).message_waits if w["task_id"] == str(task.id)]
    if not waits:
        raise InvalidInput(f"{runtime._element(task)} does not wait for a message", field="task")
    definition = runtime.message_definition(task, waits[0]["message_name"])
    event = BpmnEvent(definition, payload=payload or {}, correlations=waits[0]["correlations"])
    try:
        workflow.send_event(event)
    except WorkflowException as err:
        raise WorkflowError(f"the message was not accepted: {err}") from err
    runtime.advance(workflow, *_limits(uow))
    _save(uow, run, workflow, {"step": "message delivered", "element": runtime._element(task),
                               "name": waits[0]["message_name"], "fields": sorted(payload or {})})
    view = _view(uow, run, case_type, version, model, workflow)
    uow.commit()
    return view


def end_test_run(uow: UnitOfWork, run_id: int, actor: str) -> None:
    """Delete the run and everything it holds."""
    session = uow.session
    run = session.get(ModelTestRun, run_id)
    if run is None:
        return
    version = session.get(CaseTypeVersion, run.version_id)
    _owner(session, actor, session.get(CaseType, version.case_type_id))
    session.delete(run)
    uow.commit()


def _tasks(workflow, mask: int) -> list:
    """Tasks of the workflow and its subprocesses in `mask`."""
    found = [t for t in workflow.tasks.values() if t.state & mask]
    for sub in workflow.subprocesses.values():
        found.extend(t for t in sub.tasks.values() if t.state & mask)
    return found


def _waiting(workflow, task_id: str):
    try:
        task = workflow.get_task_from_id(UUID(str(task_id)))
    except (ValueError, WorkflowException):
        task = None
    if task is None or task.state != TaskState.WAITING:
        raise NotFound(f"the run has no waiting event {task_id}", field="task")
    return task


def _who(uow: UnitOfWork, case_type: CaseType, workflow, task: runtime.OpenTask) -> str:
    """Who would get the task in a real case (said, not assigned)."""
    if not task.lane:
        return "the caseworker"
    rule = (case_type.lanes or {}).get(task.lane)
    if not isinstance(rule, dict):
        return f"nobody: lane '{task.lane}' is not mapped"
    parts = []
    if rule.get("group"):
        group = uow.session.scalar(select(Group).where(Group.key == rule["group"]))
        parts.append(f"group {group.name if group else rule['group']}")
    if rule.get("expression"):
        try:
            value = runtime.evaluate(workflow, workflow.get_task_from_id(UUID(task.id)), rule["expression"])
            parts.append(f"user {value}")
        except WorkflowError as err:
            parts.append(f"expression failed: {err}")
    return " and ".join(parts) or "nobody"


def _view(uow: UnitOfWork, run: ModelTestRun, case_type: CaseType, version: CaseTypeVersion, model, workflow) -> dict:
    snap = runtime.snapshot(workflow)
    tasks = []
    for task in snap.open_tasks:
        instructions, _problem = render_instructions(task.instructions, task.data,
                                                     uow.runtime.settings.script_time_limit)
        tasks.append({"id": task.id, "element_id": task.element_id, "name": task.name, "lane": task.lane,
                      "form": task.form, "schema": model.forms.get(task.form) if task.form else None,
                      "instructions": instructions, "who": _who(uow, case_type, workflow, task),
                      "due_in": task.properties.get("dueIn", "")})
    waiting = []
    messages = {w["task_id"]: w for w in snap.message_waits}
    for task in _tasks(workflow, TaskState.WAITING):
        definition = getattr(task.task_spec, "event_definition", None)
        kinds = [d for d in getattr(definition, "event_definitions", None) or [definition] if d is not None]
        timer = any(isinstance(d, TimerEventDefinition) for d in kinds)
        message = messages.get(str(task.id))
        if timer or message:
            waiting.append({"id": str(task.id), "element_id": runtime._element(task),
                            "name": task.task_spec.bpmn_name or runtime._element(task),
                            "kind": "timer" if timer else "message",
                            "message": message["message_name"] if message else None,
                            "due": runtime._timer_due(task).isoformat() if timer and runtime._timer_due(task) else None})
    completed = sorted({runtime._element(t) for t in _tasks(workflow, TaskState.COMPLETED)
                        if getattr(t.task_spec, "bpmn_id", None)})
    last = workflow.last_task
    data = dict(last.data if last is not None else workflow.data)
    data.pop("case", None)
    return {"id": run.id, "case_type": case_type.key, "version": version.number, "status": version.status,
            "steps": list(run.steps or []), "open_tasks": tasks, "waiting": waiting, "completed": completed,
            "active": sorted({t["element_id"] for t in tasks} | {w["element_id"] for w in waiting}),
            "finished": snap.completed, "gdpr_review_completed": snap.gdpr_review_completed, "data": data}
