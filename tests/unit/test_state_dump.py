"""dump_state writes the state piece by piece and reuses finished tasks' JSON: it must stay exactly
SpiffWorkflow's converter's document, step after step, and through a load/save round trip."""
from __future__ import annotations

import json

from SpiffWorkflow.task import Task
from SpiffWorkflow.util.task import TaskState

from engine.runtime.advance import complete_task, start_workflow
from engine.runtime.parsing import parse_model
from engine.runtime.sandbox import SandboxedScriptEngine
from engine.runtime.state import dump_state, dump_state_reference, load_state
from tests.models import definitions

ENGINE = SandboxedScriptEngine()

# A rework loop (task -> gateway -> back), a script, and a call of a second process.
MAIN = definitions("dumped", """
    <bpmn:startEvent id="StartEvent"><bpmn:outgoing>F1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:userTask id="Task_Edit" name="Edit"><bpmn:incoming>F1</bpmn:incoming><bpmn:incoming>F_Again</bpmn:incoming><bpmn:outgoing>F2</bpmn:outgoing></bpmn:userTask>
    <bpmn:scriptTask id="Script_Count"><bpmn:incoming>F2</bpmn:incoming><bpmn:outgoing>F3</bpmn:outgoing><bpmn:script>counted = [done, done]</bpmn:script></bpmn:scriptTask>
    <bpmn:exclusiveGateway id="Gateway_Done" default="F_Again"><bpmn:incoming>F3</bpmn:incoming><bpmn:outgoing>F_Again</bpmn:outgoing><bpmn:outgoing>F_Done</bpmn:outgoing></bpmn:exclusiveGateway>
    <bpmn:callActivity id="Call_Sub" calledElement="called"><bpmn:incoming>F_Done</bpmn:incoming><bpmn:outgoing>F4</bpmn:outgoing></bpmn:callActivity>
    <bpmn:endEvent id="EndEvent"><bpmn:incoming>F4</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="F1" sourceRef="StartEvent" targetRef="Task_Edit"/>
    <bpmn:sequenceFlow id="F2" sourceRef="Task_Edit" targetRef="Script_Count"/>
    <bpmn:sequenceFlow id="F3" sourceRef="Script_Count" targetRef="Gateway_Done"/>
    <bpmn:sequenceFlow id="F_Again" sourceRef="Gateway_Done" targetRef="Task_Edit"/>
    <bpmn:sequenceFlow id="F_Done" sourceRef="Gateway_Done" targetRef="Call_Sub"><bpmn:conditionExpression>done == True</bpmn:conditionExpression></bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="F4" sourceRef="Call_Sub" targetRef="EndEvent"/>
""")
CALLED = definitions("called", """
    <bpmn:startEvent id="Sub_Start"><bpmn:outgoing>S1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:userTask id="Sub_Task" name="Sign"><bpmn:incoming>S1</bpmn:incoming><bpmn:outgoing>S2</bpmn:outgoing></bpmn:userTask>
    <bpmn:endEvent id="Sub_End"><bpmn:incoming>S2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="S1" sourceRef="Sub_Start" targetRef="Sub_Task"/>
    <bpmn:sequenceFlow id="S2" sourceRef="Sub_Task" targetRef="Sub_End"/>
""")


def model():
    return parse_model({"main.bpmn": MAIN, "called.bpmn": CALLED}, "dumped")


def same_document(workflow) -> dict:
    """Dump twice (the second from the finished tasks' kept JSON) and compare with the reference."""
    first, second, reference = dump_state(workflow), dump_state(workflow), dump_state_reference(workflow)
    assert json.loads(first) == json.loads(reference)
    assert second == first
    return json.loads(first)


def ready(workflow):
    return next(t for t in workflow.get_tasks(state=TaskState.READY) if t.task_spec.manual)


def test_every_step_of_a_loop_and_a_call_dumps_as_the_converter_does():
    parsed = model()
    workflow = start_workflow(parsed, ENGINE, {"title": "æøå", "amount": 12.5, "tags": ["a", "b"]}, 1000, 100)
    same_document(workflow)
    for done in (False, False, True):
        complete_task(workflow, ready(workflow), {"done": done, "note": f"round {done}"}, 1000, 100)
        same_document(workflow)
    assert ready(workflow).task_spec.bpmn_id == "Sub_Task"
    complete_task(workflow, ready(workflow), {"signed": True}, 1000, 100)
    document = same_document(workflow)
    assert document["workflow"]["completed"] is True
    assert workflow.is_completed()


def test_a_reloaded_workflow_dumps_the_same_and_moves_on():
    parsed = model()
    workflow = start_workflow(parsed, ENGINE, {}, 1000, 100)
    complete_task(workflow, ready(workflow), {"done": False}, 1000, 100)
    blob = dump_state(workflow)
    reloaded = load_state(blob, parsed, ENGINE)
    assert json.loads(dump_state(reloaded)) == json.loads(blob)
    complete_task(reloaded, ready(reloaded), {"done": True}, 1000, 100)
    same_document(reloaded)


def test_a_finished_task_changed_afterwards_is_written_anew():
    """The kept JSON is keyed by what a later step could change without a state change."""
    parsed = model()
    workflow = start_workflow(parsed, ENGINE, {}, 1000, 100)
    complete_task(workflow, ready(workflow), {"done": False}, 1000, 100)
    same_document(workflow)
    finished = next(t for t in workflow.get_tasks(state=TaskState.COMPLETED) if t.task_spec.bpmn_id == "Task_Edit")
    finished.data["added_later"] = "yes"
    document = same_document(workflow)
    assert document["workflow"]["tasks"][str(finished.id)] == json.loads(dump_state_reference(workflow))[
        "workflow"]["tasks"][str(finished.id)]


def test_each_task_is_written_exactly_as_the_registry_converts_it():
    """dump_state writes a task's JSON by hand (state._fast_task_json): character for character
    what SpiffWorkflow's TaskConverter and encoder give, whatever the data holds."""
    import datetime
    import uuid

    from engine.runtime import state

    assert state._FAST_TASKS
    parsed = model()
    awkward = {"title": 'æøå\n"quoted"\\', "amount": 12.5, "big": 10 ** 30, "tags": ("a", "b"), "small": 1e-7,
               "when": datetime.datetime(2026, 1, 1, 12, 30), "ref": uuid.uuid4(), "nested": {"x": [1, None, True]}}
    workflow = start_workflow(parsed, ENGINE, awkward, 1000, 100)

    def compare():
        state._REGISTRY._encoder_mode = True
        try:
            tasks = [t for w in (workflow, *workflow.subprocesses.values()) for t in w.tasks.values()]
            for task in tasks:
                assert state._fast_task_json(task) == state._dumps(state._REGISTRY.convert(task))
        finally:
            state._REGISTRY._encoder_mode = False
        same_document(workflow)
        return len(tasks)

    compare()
    ready(workflow).internal_data["stamp"] = datetime.datetime(2020, 1, 1)
    complete_task(workflow, ready(workflow), {"done": False, "note": "ü", "f": 1e16, "gone": None}, 1000, 100)
    compare()
    complete_task(workflow, ready(workflow), {"done": True}, 1000, 100)
    complete_task(workflow, ready(workflow), {"signed": True}, 1000, 100)
    assert compare() > 10 and workflow.is_completed()


def test_the_state_the_scans_read_is_what_task_state_gives():
    """tasks_in_state, snapshot and dump_state read `task._state` to spare the property's call: that
    holds only while SpiffWorkflow's Task.state returns the attribute as it is."""
    workflow = start_workflow(model(), ENGINE, {}, 100, 100)
    complete_task(workflow, ready(workflow), {"done": True}, 100, 100)
    tasks = [*workflow.tasks.values(), *(t for sub in workflow.subprocesses.values() for t in sub.tasks.values())]
    assert len({task.state for task in tasks}) > 2
    assert all(task.state is task._state for task in tasks)
    assert Task.state.fget.__code__.co_names == ("_state",)
