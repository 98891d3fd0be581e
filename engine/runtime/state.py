"""Save and load a case's workflow state without its spec.

The spec comes from the case-type version (parsed once, cached by content hash), so the stored
blob holds only tasks and data: smaller rows and faster round trips than SpiffWorkflow's default,
which embeds the whole spec in every case. The blob carries our format version and SpiffWorkflow's
serializer version so both can be migrated.
"""
from __future__ import annotations

import json
import math
from json.encoder import encode_basestring_ascii
from uuid import UUID

from SpiffWorkflow.bpmn.serializer.default.workflow import BpmnWorkflowConverter, TaskConverter, WorkflowConverter
from SpiffWorkflow.bpmn.serializer.helpers.encoder import create_encoder
from SpiffWorkflow.bpmn.serializer.workflow import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.serializer.migration.version_migration import MIGRATIONS
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.deep_merge import DeepMerge
from SpiffWorkflow.util.task import TaskState

from ..errors import WorkflowError
from .parsing import ParsedModel
from .plain_messages import SERIALIZER_CONVERTERS

STATE_FORMAT = "sagsgang-state"
STATE_VERSION = 1
_SPIFF_SERIALIZER = BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure({**SPIFF_CONFIG, **SERIALIZER_CONVERTERS}))
SPIFF_STATE_VERSION = _SPIFF_SERIALIZER.VERSION


class _SpeclessWorkflowConverter(BpmnWorkflowConverter):
    """BpmnWorkflowConverter minus the spec: to_dict leaves it out, from_dict takes it as arguments."""

    def to_dict(self, workflow):
        dct = WorkflowConverter.to_dict(self, workflow)
        dct["subprocesses"] = self.mapping_to_dict(workflow.subprocesses)
        dct["bpmn_events"] = self.registry.convert(workflow.bpmn_events)
        return dct

    def from_dict_with_spec(self, dct, spec, subprocess_specs, script_engine):
        workflow = BpmnWorkflow(spec, subprocess_specs, script_engine=script_engine, deserializing=True)
        workflow.tasks = self.mapping_from_dict(dct["tasks"], UUID, workflow=workflow)
        workflow.task_tree = workflow.tasks.get(UUID(dct["root"]))
        self.set_default_attributes(workflow, dct)
        self.subprocesses_from_dict(dct["subprocesses"], workflow)
        workflow.bpmn_events = self.registry.restore(dct.pop("bpmn_events", []))
        return workflow


_REGISTRY = _SPIFF_SERIALIZER.registry
_CONVERTER = _SpeclessWorkflowConverter(BpmnWorkflow, _REGISTRY)
_ENCODER = create_encoder(_REGISTRY, None)


def dump_state(workflow: BpmnWorkflow) -> str:
    """Serialize the workflow's tasks and data (not its spec) to a JSON string.

    The same document as SpiffWorkflow's converter gives (`dump_state_reference`), written piece by
    piece so that a finished task's JSON, which no later step changes, is made once per live
    workflow and reused by every later save of the case (see `_task_json`).
    """
    _REGISTRY._encoder_mode = True
    try:
        head = _workflow_head(workflow)
        head["bpmn_events"] = _REGISTRY.convert(workflow.bpmn_events)
        subprocesses = ",".join(
            f"{_dumps(str(key))}:{_workflow_json(sub, {'parent_task_id': str(sub.parent_task_id), 'spec': sub.spec.name, 'typename': _REGISTRY.typenames[type(sub)]})}"
            for key, sub in workflow.subprocesses.items())
        body = f'{_dumps(head)[:-1]},"subprocesses":{{{subprocesses}}},"tasks":{_tasks_json(workflow)}}}'
    finally:
        _REGISTRY._encoder_mode = False
    return f'{_ENVELOPE},"workflow":{body}}}'


def dump_state_reference(workflow: BpmnWorkflow) -> str:
    """The state as SpiffWorkflow's converter writes it in one go: what `dump_state` must equal."""
    _REGISTRY._encoder_mode = True
    try:
        body = _CONVERTER.to_dict(workflow)
    finally:
        _REGISTRY._encoder_mode = False
    return json.dumps({"format": STATE_FORMAT, "version": STATE_VERSION,
                       "spiff_version": SPIFF_STATE_VERSION, "workflow": body},
                      cls=_ENCODER, separators=(",", ":"))


_ENVELOPE = json.dumps({"format": STATE_FORMAT, "version": STATE_VERSION,
                        "spiff_version": SPIFF_STATE_VERSION}, separators=(",", ":"))[:-1]
_FINISHED = TaskState.COMPLETED | TaskState.CANCELLED


_ENCODE = _ENCODER(separators=(",", ":")).encode  # one encoder for every call: it keeps no state between them


def _dumps(value) -> str:
    return _ENCODE(value)


def _workflow_head(workflow) -> dict:
    """WorkflowConverter.to_dict without its tasks."""
    return {"data": _REGISTRY.convert(_REGISTRY.clean(workflow.data)), "correlations": workflow.correlations,
            "last_task": str(workflow.last_task.id) if workflow.last_task is not None else None,
            "success": workflow.success, "completed": workflow.completed, "root": str(workflow.task_tree.id)}


def _workflow_json(workflow, extra: dict) -> str:
    head = _workflow_head(workflow)
    head.update(extra)
    return f'{_dumps(head)[:-1]},"tasks":{_tasks_json(workflow)}}}'


def _tasks_json(workflow) -> str:
    parts = []
    for key, task in workflow.tasks.items():
        known = task.__dict__.get("_sagsgang_id")  # the key is the task's id: its text is kept (_task_id)
        parts.append(f'"{known[1] if known is not None and known[0] is key else key}":{_task_json(task)}')
    return "{" + ",".join(parts) + "}"


def _task_json(task) -> str:
    """One task's JSON; for a finished task whose parent is finished too, kept on the task object.

    Such a task's fields (its data is stored as a delta against its parent's) no longer change as
    the case moves on: SpiffWorkflow copies data forward to new tasks, and Sagsgang writes only to
    tasks that are still running. The key still holds what a later step could touch without a
    state change (children, trigger flag, the sizes of its and its parent's data), so such a task
    is written anew rather than from a stale copy.
    """
    state = task._state  # Task.state is a property returning _state: read it without the call
    if not state & _FINISHED:
        return _one_task_json(task)
    parent = task.workflow.tasks.get(task._parent)  # Task.parent
    if parent is None or parent._state & _FINISHED:
        key = (state, task.last_state_change, task.triggered, len(task._children), len(task.data),
               len(task.internal_data), None if parent is None else (parent.last_state_change, len(parent.data)))
        cached = task.__dict__.get("_sagsgang_json")
        if cached is not None and cached[0] == key:
            return cached[1]
        text = _one_task_json(task)
        task._sagsgang_json = (key, text)
        return text
    return _one_task_json(task)


def _task_converter_is_spiffs() -> bool:
    """Whether tasks are converted by SpiffWorkflow's own TaskConverter.to_dict, which
    `_fast_task_json` writes out by hand; any other converter goes through the registry."""
    convert = _REGISTRY.convert_to_dict.get(_REGISTRY.typenames.get(Task))
    to_dict = getattr(convert, "args", (None, None))[1:2]
    return bool(to_dict) and getattr(to_dict[0], "__func__", None) is TaskConverter.to_dict


_TASK_TYPENAME = _REGISTRY.typenames.get(Task)
_TASK_TYPENAME_JSON = encode_basestring_ascii(_TASK_TYPENAME) if _TASK_TYPENAME else None
_FAST_TASKS = _task_converter_is_spiffs()


def _one_task_json(task) -> str:
    if _FAST_TASKS and type(task) is Task:
        return _fast_task_json(task)
    return _dumps(_REGISTRY.convert(task))


def _task_id(task) -> str:
    """str(task.id), kept on the task: a task's id never changes, and formatting a UUID costs ~1.7 us
    (each task's id is written as its own, its children's parent and its parent's child)."""
    text = task.__dict__.get("_sagsgang_id")
    if text is None or text[0] is not task.id:
        text = task._sagsgang_id = (task.id, str(task.id))
    return text[1]


def _child_id(tasks: dict, child_id) -> str:
    child = tasks.get(child_id)
    return _task_id(child) if child is not None and child.id == child_id else str(child_id)


def _string_list(values: list) -> str:
    """A list as the encoder writes it; data keys are strings, so mostly without the encoder."""
    if all(type(value) is str for value in values):
        return "[" + ",".join(map(encode_basestring_ascii, values)) + "]"
    return _dumps(values)


def _number(value) -> str:
    """A number as json.dumps writes it (float.__repr__ for finite floats)."""
    if type(value) is float and math.isfinite(value):
        return float.__repr__(value)
    if type(value) is int:
        return int.__repr__(value)
    return _dumps(value)


def _fast_task_json(task) -> str:
    """Exactly `_dumps(_REGISTRY.convert(task))`, without building the dictionary and encoding its
    fixed fields through the encoder: the same keys in TaskConverter.to_dict's order, then the
    registry's typename; data, delta and internal data go through the same encoder as before.

    ~25 unfinished or newly finished tasks are written per case (three saves), and this is most of
    dump_state's time: the property reads, the DeepMerge delta and the id texts are done inline
    (same results, fewer Python calls a task).
    """
    tasks = task.workflow.tasks
    parent_id = task._parent
    parent = tasks.get(parent_id)  # Task.parent
    if parent is None:
        data, parent_text, delta = _dumps(task.data), "null", "{}"
    else:
        data = "{}"
        parent_text = f'"{_task_id(parent) if parent.id == parent_id else parent_id}"'
        own, inherited = task.data, parent.data
        if own:  # DeepMerge.get_updated_keys and get_deleted_keys
            updates = {key: own[key] for key in own if key not in inherited or own[key] != inherited[key]}
            deletions = [key for key in inherited if key not in own]
        else:  # a predicted task: nothing of its own yet
            updates, deletions = None, list(inherited)
        delta = (f'{{"updates":{_dumps(updates) if updates else "{}"},'
                 f'"deletions":{_string_list(deletions) if deletions else "[]"}}}')
    internal = _REGISTRY.convert(task.internal_data) if task.internal_data else {}  # encoder mode: cleaned
    children = []
    for child_id in task._children:
        child = tasks.get(child_id)
        known = None if child is None else child.__dict__.get("_sagsgang_id")
        children.append(f'"{known[1] if known is not None and known[0] is child_id else _child_id(tasks, child_id)}"')
    triggered = task.triggered
    triggered = "true" if triggered is True else "false" if triggered is False else _dumps(triggered)
    name = task.task_spec.name
    name = encode_basestring_ascii(name) if type(name) is str else _dumps(name)
    changed = task.last_state_change
    changed = float.__repr__(changed) if type(changed) is float and math.isfinite(changed) else _number(changed)
    state = task._state
    return (f'{{"id":"{_task_id(task)}","parent":{parent_text},"children":[{",".join(children)}],'
            f'"last_state_change":{changed},"state":{int.__repr__(state) if type(state) is int else _number(state)},'
            f'"task_spec":{name},"triggered":{triggered},'
            f'"internal_data":{_dumps(internal) if internal != {} else "{}"},"data":{data},"delta":{delta},'
            f'"typename":{_TASK_TYPENAME_JSON}}}')


def load_state(blob: str, model: ParsedModel, script_engine) -> BpmnWorkflow:
    """Rebuild a workflow from a stored blob and its version's parsed spec.

    `script_engine` is attached every time: a deserialized workflow otherwise gets SpiffWorkflow's
    unrestricted engine.
    """
    try:
        envelope = json.loads(blob, cls=_SPIFF_SERIALIZER.json_decoder_cls)
    except ValueError as err:
        raise WorkflowError(f"stored workflow state is not valid JSON: {err}") from err
    if envelope.get("format") != STATE_FORMAT:
        raise WorkflowError("stored workflow state has an unknown format")
    if envelope.get("version") != STATE_VERSION:
        raise WorkflowError(f"stored workflow state has version {envelope.get('version')}; "
                            f"this Sagsgang reads version {STATE_VERSION}")
    body = envelope["workflow"]
    spiff_version = envelope.get("spiff_version")
    if spiff_version != SPIFF_STATE_VERSION and spiff_version in MIGRATIONS:
        MIGRATIONS[spiff_version](body)
    workflow = _CONVERTER.from_dict_with_spec(body, model.spec, model.subprocess_specs, script_engine)
    workflow.script_engine = script_engine
    return workflow
