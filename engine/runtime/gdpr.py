"""What the GDPR review building block left in a workflow (SpiffWorkflow objects stay in runtime/)."""
from __future__ import annotations

from SpiffWorkflow.bpmn.specs.mixins.subworkflow_task import CallActivity
from SpiffWorkflow.util.task import TaskState

from .parsing import GDPR_REVIEW_PROCESS
from .scan import tasks_in_state

REVIEW_FIELDS = ("personal_data_category", "legal_basis", "parties_reviewed", "deletion_rule_applies",
                 "deletion_exception_reason")


def completed_review(workflow) -> dict | None:
    """The newest completed review call's result: the block's `gdpr_review` dict and its form fields.

    A call activity's data after completion holds the called process's data (no data outputs are
    declared), so the result is read from the call, not from inside the sub-workflow.
    """
    newest = None
    for task in tasks_in_state(workflow, TaskState.COMPLETED):
        spec = task.task_spec
        if isinstance(spec, CallActivity) and spec.spec == GDPR_REVIEW_PROCESS:
            if newest is None or task.last_state_change > newest.last_state_change:
                newest = task
    if newest is None:
        return None
    data = newest.data
    result = dict(data.get("gdpr_review") or {})
    for name in REVIEW_FIELDS:
        if name in data:
            result.setdefault(name, data[name])
    return result
