"""Static checks on parsed specs that the engine enforces at publish time."""
from __future__ import annotations

from SpiffWorkflow.bpmn.specs.mixins.events.end_event import EndEvent
from SpiffWorkflow.bpmn.specs.mixins.subworkflow_task import CallActivity

from .parsing import GDPR_REVIEW_PROCESS


def ends_reachable_without_gdpr_review(spec) -> list[str]:
    """BPMN ids of end events that some path from the start reaches without the GDPR review call.

    Walks the spec graph (boundary events included, they are outputs of their task's split) with
    every call of the review building block removed: an end event still reachable is a way to
    close a case without review.
    """
    start = spec.start
    seen, stack, skipping = {start.name}, [start], []
    while stack:
        task_spec = stack.pop()
        if isinstance(task_spec, EndEvent):
            skipping.append(task_spec.bpmn_id or task_spec.name)
        for output in task_spec.outputs:
            if output.name in seen:
                continue
            seen.add(output.name)
            if isinstance(output, CallActivity) and output.spec == GDPR_REVIEW_PROCESS:
                continue
            stack.append(output)
    return sorted(skipping)
