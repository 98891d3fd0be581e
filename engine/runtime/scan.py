"""Flat scans over a workflow's tasks, shared by the runtime modules."""
from __future__ import annotations

from SpiffWorkflow.bpmn.workflow import BpmnWorkflow


def tasks_in_state(workflow: BpmnWorkflow, mask: int) -> list:
    """Tasks of the workflow and all its subprocesses whose state is in `mask`, in creation order.

    A flat pass over the task dictionaries: SpiffWorkflow's tree iterators walk the whole tree
    per query, and a request asks several such questions. Reads `task._state`, which SpiffWorkflow's `Task.state` property returns, without the call.
    """
    found = [task for task in workflow.tasks.values() if task._state & mask]
    for subprocess in workflow.subprocesses.values():
        found.extend(task for task in subprocess.tasks.values() if task._state & mask)
    return found
