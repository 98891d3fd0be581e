"""Timer start events: read a case type's schedule from its model, and start the cases it opens.

A timer start event on a case type's process is the case type's schedule, not a wait inside a
case: the schedule (engine/services/schedules.py) opens a case when the timer is due, and that
case starts at once. Intermediate and boundary timers are SpiffWorkflow's own; the case's
`next_timer_at` index says when the next one is due.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from SpiffWorkflow.bpmn.specs.event_definitions.timer import (CycleTimerEventDefinition,
                                                             DurationTimerEventDefinition,
                                                             TimeDateEventDefinition, TimerEventDefinition)
from SpiffWorkflow.bpmn.specs.mixins.events.event_types import CatchingEvent
from SpiffWorkflow.bpmn.specs.mixins.events.start_event import StartEvent
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.util.task import TaskState

from ..errors import ModelError
from .parsing import task_properties
from .scan import tasks_in_state


@dataclass(frozen=True)
class TimerStart:
    element_id: str
    kind: str  # date, duration or cycle
    expression: str
    properties: dict


def timer_start_events(spec) -> list[TimerStart]:
    """The timer start events of a process spec (its own start events, not its subprocesses')."""
    found = []
    for task_spec in spec.task_specs.values():
        if not isinstance(task_spec, StartEvent):
            continue
        definition = getattr(task_spec, "event_definition", None)
        kind = {TimeDateEventDefinition: "date", DurationTimerEventDefinition: "duration",
                CycleTimerEventDefinition: "cycle"}.get(type(definition))
        if kind:
            found.append(TimerStart(task_spec.bpmn_id or task_spec.name, kind, definition.expression,
                                    task_properties(task_spec)))
    return found


def fire_timer_start_events(workflow: BpmnWorkflow) -> None:
    """Let a new case pass its timer start event at once: the schedule already waited.

    A flat pass over the task dictionaries (every case opens through here; SpiffWorkflow's
    get_tasks walks the tree with an iterator, several times the cost for the same tasks)."""
    for task in tasks_in_state(workflow, TaskState.NOT_FINISHED_MASK):
        definition = getattr(task.task_spec, "event_definition", None)
        if isinstance(task.task_spec, StartEvent) and isinstance(definition, TimerEventDefinition):
            task._set_internal_data(event_fired=True)
            if isinstance(definition, CycleTimerEventDefinition):
                # A cycle timer adds its outgoing path per tick and predicts none; fired once
                # here, it needs the path a plain start event has, or the case ends at once.
                super(CatchingEvent, task.task_spec)._predict_hook(task)


def first_run(start: TimerStart, value: str, now: datetime) -> tuple[datetime, int]:
    """When a schedule first opens a case, and how many runs it has (-1: no end).

    `value` is the timer's expression evaluated (owners write `"R/P1D"` as a quoted expression).
    """
    try:
        if start.kind == "date":
            return TimerEventDefinition.parse_time_or_duration(value), 1
        if start.kind == "duration":
            parsed = TimerEventDefinition.parse_iso_duration(value)
            return now + TimerEventDefinition.get_timedelta_from_start(parsed, now), 1
        cycles, first, _ = TimerEventDefinition.parse_iso_recurring_interval(value)
        return first, cycles
    except Exception as err:  # SpiffWorkflow raises bare Exceptions for bad ISO 8601
        raise ModelError(f"timer start event has an invalid ISO 8601 {start.kind} {value!r}",
                         element=start.element_id) from err


def schedule_first_run(start: TimerStart, script_engine, now: datetime) -> tuple[datetime, int]:
    """Evaluate a timer start event's expression in the sandbox and give its first run.

    Quartz cron, JUEL and unquoted ISO values (other tools' dialects) fail here, naming the event.
    """
    return first_run(start, evaluate_expression(start, script_engine), now)


def evaluate_expression(start: TimerStart, script_engine) -> str:
    """The timer start event's expression, evaluated in the sandbox, naming the event if it fails."""
    try:
        return str(script_engine.environment.evaluate(start.expression, {}))
    except Exception as err:
        raise ModelError(f"timer start event expression {start.expression!r} is not a Python expression "
                         f"giving an ISO 8601 {start.kind} ({err.__class__.__name__}: {err}); write it "
                         f"quoted, e.g. \"R/P1D\"", element=start.element_id) from err


def next_run(start: TimerStart, value: str, due: datetime, runs_left: int, now: datetime
             ) -> tuple[datetime | None, int]:
    """The run after the one due at `due`. Occurrences missed while no worker ran are skipped:
    a late schedule opens one case, not one per missed interval."""
    if start.kind != "cycle" or runs_left == 1:
        return None, 0
    _, _, interval = TimerEventDefinition.parse_iso_recurring_interval(value)
    if interval <= timedelta(0):
        return None, 0
    steps = (now - due) // interval + 1 if now >= due else 1  # the first run after `now`
    following = due + interval * steps
    if runs_left < 0:
        return following, -1
    left = runs_left - steps
    return (following, left) if left > 0 else (None, 0)
