"""Service tasks that workers run: the engine starts them and leaves them STARTED.

SpiffWorkflow's ServiceTask calls the script engine's `call_service` in the middle of
`do_engine_steps`, inside the unit of work that holds the case's row lock; a mail server or an
HTTP endpoint would then hold the case (and the web request) for as long as it takes, and a
failure would roll back the user's action. Here the task evaluates its parameters in the sandbox,
records them on the task and stays STARTED. The unit of work that saves the case writes a
service job for it (engine/services/service_jobs.py); a worker runs the handler outside any
transaction and completes the task in a unit of work of its own.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from uuid import UUID

from SpiffWorkflow.bpmn.parser.util import full_tag
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser
from SpiffWorkflow.spiff.parser.task_spec import ServiceTaskParser
from SpiffWorkflow.spiff.specs.defaults import ServiceTask
from SpiffWorkflow.util.task import TaskState

from .scan import tasks_in_state


class DeferredServiceTask(ServiceTask):
    """A spiffworkflow:serviceTaskOperator task that waits for a worker instead of running inline."""

    def _run_hook(self, task):
        params = {name: task.workflow.script_engine.evaluate(task, param["value"])
                  for name, param in (self.operation_params or {}).items()}
        # Parameters are fixed when the task starts, as JSON, so the worker sees what the case saw.
        params = json.loads(json.dumps(params, default=str))
        task._set_internal_data(service_call={"operator": self.operation_name, "params": params})
        return None  # None leaves the task STARTED


class SagsgangSpiffParser(SpiffBpmnParser):
    OVERRIDE_PARSER_CLASSES = {**SpiffBpmnParser.OVERRIDE_PARSER_CLASSES,
                               full_tag("serviceTask"): (ServiceTaskParser, DeferredServiceTask)}


@dataclass(frozen=True)
class PendingCall:
    task_id: str
    element_id: str
    operator: str
    params: dict
    result_variable: str


def is_waiting_for_worker(task) -> bool:
    return isinstance(task.task_spec, DeferredServiceTask) and task.state == TaskState.STARTED


def pending_calls(workflow: BpmnWorkflow) -> list[PendingCall]:
    """The service tasks that wait for a worker."""
    calls = []
    for task in tasks_in_state(workflow, TaskState.STARTED):
        if not isinstance(task.task_spec, DeferredServiceTask):
            continue
        call = task._get_internal_data("service_call") or {}
        spec = task.task_spec
        calls.append(PendingCall(str(task.id), spec.bpmn_id or spec.name, call.get("operator", spec.operation_name),
                                 call.get("params", {}), spec.result_variable))
    return calls


def find_pending(workflow: BpmnWorkflow, task_id: str):
    """The STARTED service task with this id, or None if it finished or was cancelled meanwhile."""
    task = workflow.get_task_from_id(UUID(task_id))
    return task if task is not None and is_waiting_for_worker(task) else None


def complete_call(task, result) -> None:
    """Hand the handler's result to the task (under its result variable) and complete it."""
    task.data[task.task_spec.result_variable] = json.loads(json.dumps(result, default=str))
    task.complete()
