"""Who a new user task is for: the case type's lane mapping, as a rule without a database.

`engine.services.cases.assign` feeds it the lookups (group key → id, username → id) and the
sandboxed expression evaluator, so the rule itself is tested in tests/unit without either.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .errors import WorkflowError


def lane_assignment(lane: str, element_id: str, lanes: dict | None, case_type_key: str,
                    caseworker_id: int | None, find_group: Callable[[str], int | None],
                    find_user: Callable[[str], int | None],
                    evaluate: Callable[[str], Any]) -> tuple[int | None, int | None]:
    """(candidate group id, assignee id) of a new task in `lane`.

    A task outside any lane belongs to the case's caseworker. A lane maps to a group, an expression
    giving a username, or both. A lane that yields nobody is an error naming the lane: a task
    nobody sees is worse than a refused step.
    """
    if not lane:
        if caseworker_id is None:
            raise WorkflowError(f"task {element_id} is in no lane and the case has no caseworker to take it",
                                element=element_id)
        return None, caseworker_id
    rule = (lanes or {}).get(lane)
    if not isinstance(rule, dict):
        raise WorkflowError(f"lane '{lane}' of task {element_id} is not mapped to a group or an "
                            f"expression in case type '{case_type_key}'", element=element_id)
    group_id = assignee_id = None
    if rule.get("group"):
        group_id = find_group(rule["group"])
        if group_id is None:
            raise WorkflowError(f"lane '{lane}' is mapped to unknown group '{rule['group']}'", element=element_id)
    if rule.get("expression"):
        username = evaluate(rule["expression"])
        if username:
            assignee_id = find_user(str(username))
            if assignee_id is None:
                raise WorkflowError(f"lane '{lane}': expression {rule['expression']!r} gave unknown user "
                                    f"'{username}'", element=element_id)
    if group_id is None and assignee_id is None:
        raise WorkflowError(f"lane '{lane}' gave task {element_id} neither a group nor an assignee",
                            element=element_id)
    return group_id, assignee_id
