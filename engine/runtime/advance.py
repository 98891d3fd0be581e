"""Run a workflow forward and read what the indexes need from it.

Everything that touches SpiffWorkflow's running objects lives here; services see plain values
(OpenTask, Snapshot) and WorkflowError.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from uuid import UUID

from SpiffWorkflow.bpmn.specs.mixins.subworkflow_task import CallActivity
from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.events.event_types import CatchingEvent
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.bpmn.util.task import BpmnTaskIterator
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.util.task import TaskIterator, TaskState

from ..errors import Conflict, InvalidInput, NotFound, WorkflowError
from .parsing import GDPR_REVIEW_PROCESS, ParsedModel, task_properties
from .scan import tasks_in_state
from .service_tasks import is_waiting_for_worker
from .timers import fire_timer_start_events

# SpiffWorkflow's task iterators stop descending at depth 1,000 without a word, so a rework loop
# (each round adds task levels) silently stops advancing after a few hundred rounds. Raise the
# ceiling far above anything a case reaches and guard the real limit ourselves (see
# `check_depth`), so a runaway loop fails loudly instead of stalling.
ITERATOR_DEPTH = 1_000_000


def _raise_iterator_depth() -> None:
    for cls in (TaskIterator, BpmnTaskIterator):
        defaults = list(cls.__init__.__defaults__)
        defaults[1] = ITERATOR_DEPTH  # (end_at_spec, max_depth, ...)
        cls.__init__.__defaults__ = tuple(defaults)


_raise_iterator_depth()


@dataclass(frozen=True)
class OpenTask:
    """A READY user or manual task, as the task index stores it."""

    id: str
    element_id: str
    name: str
    lane: str
    form: str
    instructions: str
    properties: dict
    data: dict


@dataclass(frozen=True)
class Snapshot:
    """What the indexes need from a workflow after it advanced."""

    open_tasks: list[OpenTask]
    next_timer_at: datetime | None
    message_waits: list[dict] = field(default_factory=list)
    completed: bool = False
    gdpr_review_completed: bool = False


def _element(task) -> str:
    return getattr(task.task_spec, "bpmn_id", None) or task.task_spec.name


def _wrap(err: Exception, action: str) -> WorkflowError:
    task = getattr(err, "task", None)
    spec = getattr(err, "task_spec", None) or getattr(task, "task_spec", None)
    element = getattr(spec, "bpmn_id", None) or getattr(spec, "name", None)
    name = getattr(spec, "bpmn_name", None)
    where = f" at {element}" + (f" ('{name}')" if name else "") if element else ""
    detail = str(err)
    notes = getattr(err, "__notes__", None)
    if notes:
        detail += " — " + "; ".join(notes)
    for cause in _causes(err):
        if str(cause) and str(cause) not in detail:
            detail += f" ({cause.__class__.__name__}: {cause})"
            break
    trace = getattr(err, "task_trace", None)
    if trace and len(trace) > 1:  # the error happened in a called process: say how we got there
        detail += " — called from " + " ← ".join(trace[1:])
    return WorkflowError(f"{action} failed{where}: {detail}", element=element)


def _causes(err: Exception):
    """The exceptions behind a SpiffWorkflow error, innermost first (the owner needs the real reason)."""
    chain, seen, current = [], set(), err
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if current is not err:
            chain.append(current)
        current = getattr(current, "exception", None) or current.__cause__ or current.__context__
    return list(reversed(chain))


def start_workflow(model: ParsedModel, script_engine, data: dict, max_steps: int,
                   max_depth: int) -> BpmnWorkflow:
    try:
        workflow = BpmnWorkflow(model.spec, model.subprocess_specs, script_engine=script_engine)
        start = workflow.task_tree
        start.data.update(data)
        fire_timer_start_events(workflow)
    except SpiffWorkflowException as err:
        raise _wrap(err, "starting the workflow") from err
    advance(workflow, max_steps, max_depth)
    return workflow


def advance(workflow: BpmnWorkflow, max_steps: int, max_depth: int) -> None:
    """Fire due timers and run engine steps, refusing to loop or deepen without bound."""
    steps = 0

    def count_step(task):
        nonlocal steps
        steps += 1
        if steps > max_steps:
            raise WorkflowError(
                f"the workflow ran {max_steps} automatic steps without waiting for anyone; "
                f"a loop without a user task around {_element(task)}?", element=_element(task))

    try:
        workflow.refresh_timers()
        workflow.do_engine_steps(will_complete_task=count_step)
    except WorkflowError:
        raise
    except SpiffWorkflowException as err:
        raise _wrap(err, "advancing the workflow") from err
    except Exception as err:  # a script error SpiffWorkflow did not wrap
        raise WorkflowError(f"advancing the workflow failed: {err.__class__.__name__}: {err}") from err
    # One pass over the tasks for both checks: each used to scan the whole workflow on its own.
    movable = tasks_in_state(workflow, _MOVABLE)
    check_depth(workflow, max_depth, movable)
    check_not_stuck(workflow, movable)


_MOVABLE = TaskState.READY | TaskState.WAITING | TaskState.STARTED


def check_not_stuck(workflow: BpmnWorkflow, movable: list | None = None) -> None:
    """Refuse a step after which nothing can ever move the case again.

    SpiffWorkflow leaves such a workflow unfinished without a word (a join waiting for a branch
    that ended, a service task nobody runs); a case in that state would sit in no one's list.
    `movable`: the workflow's READY, WAITING and STARTED tasks, when the caller has them already.
    """
    if workflow.is_completed():
        return
    if movable is None:
        movable = tasks_in_state(workflow, _MOVABLE)
    if any(task.state & TaskState.READY and task.task_spec.manual for task in movable):
        return
    stopped = []
    for task in movable:
        if not task.state & (TaskState.WAITING | TaskState.STARTED):
            continue
        if isinstance(task.task_spec, CatchingEvent):
            return  # waits for a timer, message or signal
        if is_waiting_for_worker(task):
            return  # a service task: a worker runs it (engine/runtime/service_tasks.py)
        if task.id in workflow.subprocesses:
            continue  # a call activity or subprocess: its own tasks are listed too
        stopped.append(task)
    names = ", ".join(f"{_element(t)} ({TaskState.get_name(t.state).lower()})" for t in stopped) or "nothing"
    raise WorkflowError(f"the workflow can no longer move: no task is ready and nothing waits for an event; "
                        f"it stopped at {names}", element=_element(stopped[0]) if stopped else None)


def check_depth(workflow: BpmnWorkflow, max_depth: int, movable: list | None = None) -> None:
    """`movable` as for check_not_stuck; only READY and WAITING tasks count."""
    if movable is None:
        movable = tasks_in_state(workflow, _MOVABLE)
    for task in movable:
        if not task.state & (TaskState.READY | TaskState.WAITING):
            continue
        depth = task.depth
        if depth > max_depth:
            raise WorkflowError(
                f"the case's task tree is {depth} levels deep (limit {max_depth}): a loop through "
                f"{_element(task)} has run too many rounds", element=_element(task))


def find_ready_task(workflow: BpmnWorkflow, task_id: str):
    """The READY user/manual task with this id; a finished one is a Conflict (stale page)."""
    try:
        task = workflow.get_task_from_id(UUID(str(task_id)))
    except (ValueError, SpiffWorkflowException):
        task = None
    if task is None:
        raise NotFound(f"task {task_id} does not belong to this case")
    if not task.task_spec.manual:
        raise InvalidInput(f"task {_element(task)} is not a user task", field="task_id")
    if task.state != TaskState.READY:
        state = TaskState.get_name(task.state).lower()
        raise Conflict(f"task '{task.task_spec.bpmn_name or _element(task)}' is {state}, not ready: "
                       "it was probably completed meanwhile", element=_element(task))
    return task


def complete_task(workflow: BpmnWorkflow, task, data: dict, max_steps: int, max_depth: int) -> None:
    try:
        task.set_data(**data)
        task.run()
    except SpiffWorkflowException as err:
        raise _wrap(err, "completing the task") from err
    advance(workflow, max_steps, max_depth)


def open_user_tasks(workflow: BpmnWorkflow) -> list[OpenTask]:
    """The READY user and manual tasks: exactly what the task index holds as open."""
    return [_open_task(task) for task in tasks_in_state(workflow, TaskState.READY) if task.task_spec.manual]


def _open_task(task) -> OpenTask:
    element_id, name, lane, form, instructions, properties = _open_task_fields(task.task_spec)
    return OpenTask(id=str(task.id), element_id=element_id, name=name, lane=lane, form=form,
                    instructions=instructions, properties=properties, data=task.data)


def _open_task_fields(spec) -> tuple:
    """What an open task takes from its spec, worked out once per parsed spec (specs never change
    once parsed, and every action lists its open tasks twice)."""
    fields = spec.__dict__.get("_sagsgang_open_fields")
    if fields is None:
        properties = task_properties(spec)
        element_id = getattr(spec, "bpmn_id", None) or spec.name
        fields = spec._sagsgang_open_fields = (
            element_id, spec.bpmn_name or element_id, spec.lane or "",
            properties.get("formJsonSchemaFilename", ""),
            (spec.extensions or {}).get("instructionsForEndUser") or "", properties)
    return fields


def snapshot(workflow: BpmnWorkflow) -> Snapshot:
    """One pass over the tasks: open user tasks, timers and message waits, the GDPR review."""
    open_tasks, timers, waits, review_completed = [], [], [], False
    for tasks in (workflow.tasks, *(sub.tasks for sub in workflow.subprocesses.values())):
        for task in tasks.values():
            state = task._state  # as tasks_in_state: the property's value without the call
            if state & TaskState.READY:
                if task.task_spec.manual:
                    open_tasks.append(_open_task(task))
            elif state & TaskState.WAITING:
                definition = getattr(task.task_spec, "event_definition", None)
                # An event-based gateway waits for several events at once.
                for single in getattr(definition, "event_definitions", None) or [definition]:
                    if isinstance(single, TimerEventDefinition):
                        due = _timer_due(task)
                        if due is not None:
                            timers.append(due)
                    elif isinstance(single, MessageEventDefinition):
                        waits.append({"task_id": str(task.id), "message_name": single.name,
                                      "correlations": wait_correlations(task, single)})
            elif state & TaskState.COMPLETED and not review_completed:
                review_completed = _is_review_call(task.task_spec)
    return Snapshot(open_tasks=open_tasks, next_timer_at=min(timers) if timers else None,
                    message_waits=waits, completed=workflow.is_completed(),
                    gdpr_review_completed=review_completed)


def wait_correlations(task, definition: MessageEventDefinition) -> dict:
    """The correlation values a waiting message event checks a message against.

    Only the keys of its own message's correlation properties count, read from the workflow the
    event waits in: for an event inside a call activity that is the called process's own
    sub-workflow (SpiffWorkflow keeps correlations per sub-workflow), not the case's top workflow.
    Taking every correlation of the workflow would make the stored key depend on unrelated
    messages the process exchanged, and a sender who knows only its own key could never match.
    An event whose message has no correlation properties catches any message of its name: "".
    """
    keys = {key for prop in definition.correlation_properties for key in prop.correlation_keys}
    current = task.workflow.correlations
    return {key: dict(current[key]) for key in sorted(keys) if key in current}


def take_thrown_messages(workflow: BpmnWorkflow) -> list[dict]:
    """Messages the workflow threw that nothing inside it caught, taken out of its state.

    SpiffWorkflow parks such events on the top workflow (`bpmn_events`) for the host to route; left
    there they would pile up in the stored state and reach nobody.
    """
    thrown, kept = [], []
    for event in workflow.bpmn_events:
        definition = event.event_definition
        if isinstance(definition, MessageEventDefinition):
            thrown.append({"message_name": definition.name, "payload": event.payload,
                           "correlations": dict(event.correlations or {})})
        else:
            kept.append(event)
    if thrown:
        workflow.bpmn_events = kept
    return thrown


def message_definition(task, message_name: str) -> MessageEventDefinition | None:
    """The definition with which a waiting task catches `message_name` (event gateways hold several)."""
    definition = getattr(task.task_spec, "event_definition", None)
    for single in getattr(definition, "event_definitions", None) or [definition]:
        if isinstance(single, MessageEventDefinition) and single.name == message_name:
            return single
    return None


def _timer_due(task) -> datetime | None:
    value = task._get_internal_data("event_value")
    if isinstance(value, dict):
        value = value.get("next") if value.get("cycles", 0) != 0 else None
    if not value:
        return None
    try:
        return TimerEventDefinition.get_datetime(value) if isinstance(value, str) else None
    except ValueError:
        return None


def gdpr_review_completed(workflow: BpmnWorkflow) -> bool:
    """True once a call of the shared GDPR review building block has completed in this case."""
    return any(_is_review_call(task.task_spec) for task in tasks_in_state(workflow, TaskState.COMPLETED))


def _is_review_call(spec) -> bool:
    return isinstance(spec, CallActivity) and spec.spec == GDPR_REVIEW_PROCESS


def evaluate(workflow: BpmnWorkflow, task_or_none, expression: str, extra: dict | None = None):
    """Evaluate an owner-written expression in the sandbox over a task's (or the workflow's) data."""
    engine = workflow.script_engine
    context = dict(task_or_none.data if task_or_none is not None else workflow.data)
    context.update(extra or {})
    try:
        return engine.environment.evaluate(expression, context)
    except Exception as err:
        raise WorkflowError(f"expression {expression!r} failed: {err.__class__.__name__}: {err}") from err


def now() -> datetime:
    return datetime.now(timezone.utc)
