"""Move a running workflow onto another version's spec.

A case's stored state holds tasks and data but no spec (state.py), so a case moves by putting the
new version's task specs under its existing tasks: the task ids stay, the task index stays valid,
and what the case did is kept. That is only honest when the case's past and present exist in the
new version unchanged:

- a task that completed or started (or failed) must still exist and must not have changed in a way
  that matters when it runs (a script, a form, a called block): the case did it the old way;
- a task that is ready or waiting must still exist, as the same kind of element: the case stands
  there;
- predicted tasks (not yet reached) are thrown away and predicted again from the new spec.

Ready and waiting tasks are reset on the new spec, as SpiffWorkflow's own migrate_workflow does,
which keeps their ids; a timer that did not change keeps its due time instead of starting over.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from SpiffWorkflow.bpmn.specs.mixins.events.event_types import CatchingEvent
from SpiffWorkflow.util.task import TaskState

from ..errors import WorkflowError
from ..lint import messages as m
from ..lint.messages import Reason
from .parsing import ParsedModel

PAST = TaskState.COMPLETED | TaskState.STARTED | TaskState.ERROR
PRESENT = TaskState.READY | TaskState.WAITING
PREDICTED = TaskState.MAYBE | TaskState.LIKELY | TaskState.FUTURE
_INTERNAL_SUFFIXES = (".BoundaryEventSplit", ".BoundaryEventJoin")


@dataclass
class Assessment:
    """Whether a workflow can move to a spec: `reasons` block the move, `notes` only inform."""

    reasons: list[Reason] = field(default_factory=list)
    notes: list[Reason] = field(default_factory=list)
    waiting_at: list[str] = field(default_factory=list)

    @property
    def movable(self) -> bool:
        return not self.reasons


def _label(task_spec) -> str:
    name = getattr(task_spec, "bpmn_name", None)
    bpmn_id = getattr(task_spec, "bpmn_id", None)
    if bpmn_id:
        return f"'{name}' ({bpmn_id})" if name else f"'{bpmn_id}'"
    for suffix in _INTERNAL_SUFFIXES:
        if task_spec.name.endswith(suffix):
            return m.BOUNDARY_EVENTS % {"task": task_spec.name[: -len(suffix)]}
    return f"'{task_spec.name}'"


def _pairs(workflow, model: ParsedModel):
    """(sub)workflow and the spec it would run on in `model` (None: the model does not have it)."""
    yield workflow, model.spec
    for sub in workflow.subprocesses.values():
        yield sub, model.subprocess_specs.get(sub.spec.name)


def assess(workflow, model: ParsedModel, changed: dict[str, list[str]]) -> Assessment:
    """Can `workflow` move onto `model`? `changed` maps BPMN ids to what changed in a way that
    matters at run time (engine.lint.diff.compare_bpmn)."""
    result = Assessment()
    if workflow.spec.name != model.spec.name:
        result.reasons.append(Reason(m.OTHER_PROCESS, {"new": model.spec.name, "old": workflow.spec.name}))
        return result
    for sub, spec in _pairs(workflow, model):
        active = [t for t in sub.tasks.values() if t.state & (PAST | PRESENT)]
        if spec is None:
            if any(t.state & (PRESENT | TaskState.STARTED) for t in active) or sub is workflow:
                result.reasons.append(Reason(m.BLOCK_GONE, {"block": sub.spec.name}))
            continue
        for task in active:
            task_spec = task.task_spec
            new = spec.task_specs.get(task_spec.name)
            bpmn_id = getattr(task_spec, "bpmn_id", None)
            if task.state & PRESENT and task_spec.name not in ("Root", "Start"):
                if bpmn_id:
                    result.waiting_at.append(bpmn_id)
                if new is None:
                    result.reasons.append(Reason(m.WAITS_REMOVED, {"task": _label(task_spec)}))
                elif type(new) is not type(task_spec):
                    result.reasons.append(Reason(m.WAITS_OTHER_KIND, {"task": _label(task_spec)}))
                elif bpmn_id and changed.get(bpmn_id):
                    what = ", ".join(changed[bpmn_id])
                    if isinstance(task_spec, CatchingEvent) and "timer" in changed[bpmn_id]:
                        result.notes.append(Reason(m.NEW_TIMER, {"task": _label(task_spec)}))
                    else:
                        result.notes.append(Reason(m.WAITS_CHANGED, {"task": _label(task_spec), "what": what}))
                continue
            if not task.state & PAST:
                continue
            done = bool(task.state & TaskState.COMPLETED)
            if new is None:
                result.reasons.append(Reason(m.DONE_REMOVED if done else m.STARTED_REMOVED, {"task": _label(task_spec)}))
            elif type(new) is not type(task_spec):
                result.reasons.append(Reason(m.DONE_OTHER_KIND, {"task": _label(task_spec)}))
            elif bpmn_id and changed.get(bpmn_id):
                result.reasons.append(Reason(m.DONE_CHANGED if done else m.STARTED_CHANGED,
                                             {"task": _label(task_spec), "what": ", ".join(changed[bpmn_id])}))
    return result


def move(workflow, model: ParsedModel, keep_timers: set[str]) -> None:
    """Put `model`'s specs under the workflow's tasks (after `assess` found no reason against it).

    `keep_timers`: BPMN ids of waiting events whose definition did not change; they keep the due
    time they had instead of starting over.
    """
    try:
        workflow.subprocess_specs = model.subprocess_specs
        for sub, spec in _pairs(workflow, model):
            if spec is None:
                continue
            sub.spec = spec
            for task in list(sub.tasks.values()):
                new = spec.task_specs.get(task.task_spec.name)
                if new is not None:
                    task.task_spec = new
                elif task.id in sub.tasks and task.state & (PREDICTED | TaskState.CANCELLED):
                    _remove(sub, task)
            for task in [t for t in sub.tasks.values() if t.state & PRESENT]:
                if task.id not in sub.tasks or task.task_spec.name in ("Root", "Start"):
                    continue
                kept = dict(task.internal_data) if getattr(task.task_spec, "bpmn_id", None) in keep_timers else None
                task.reset_branch(None)
                if kept is not None:
                    task.internal_data.update(kept)
            if sub.last_task is not None and sub.last_task.id not in sub.tasks:
                sub.last_task = None
    except WorkflowError:
        raise
    except Exception as err:  # SpiffWorkflow raises anything from KeyError up
        raise WorkflowError(f"moving the workflow to the new version failed: {err.__class__.__name__}: {err}") from err


def _remove(workflow, task) -> None:
    for descendant in list(task):
        if descendant.id in workflow.tasks and descendant is not task:
            workflow.tasks.pop(descendant.id, None)
    parent = task.parent
    if parent is not None and task.id in parent._children:
        parent._children.remove(task.id)
    workflow.tasks.pop(task.id, None)
