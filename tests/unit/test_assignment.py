"""Who a new task is for: the lane rule (engine.assignment.lane_assignment) without a database."""
from __future__ import annotations

import pytest

from engine.assignment import lane_assignment
from engine.errors import WorkflowError

GROUPS = {"byg": 3, "ledelse": 4}
USERS = {"anna": 11, "bo": 12}
LANES = {"Sagsbehandler": {"expression": "caseworker"}, "Ledelse": {"group": "ledelse"},
         "Team": {"group": "byg", "expression": "reviewer"}, "Tom": {}, "Ukendt": {"group": "findes-ikke"}}


def assign(lane, lanes=LANES, caseworker_id=11, data=None):
    data = {"caseworker": "anna", "reviewer": None, **(data or {})}
    return lane_assignment(lane, "Task_X", lanes, "aktindsigt", caseworker_id, GROUPS.get, USERS.get,
                           evaluate=lambda expression: data[expression])


def test_a_task_outside_any_lane_belongs_to_the_caseworker():
    assert assign("") == (None, 11)


def test_a_task_outside_any_lane_without_a_caseworker_is_an_error():
    with pytest.raises(WorkflowError, match="no lane and the case has no caseworker") as raised:
        assign("", caseworker_id=None)
    assert raised.value.element == "Task_X"


def test_a_group_lane_gives_a_candidate_group_and_nobody_assigned():
    assert assign("Ledelse") == (4, None)


def test_an_expression_lane_gives_the_user_it_names():
    assert assign("Sagsbehandler") == (None, 11)
    assert assign("Sagsbehandler", data={"caseworker": "bo"}) == (None, 12)


def test_a_lane_with_both_gives_group_and_assignee_and_falls_back_to_the_group():
    assert assign("Team", data={"reviewer": "bo"}) == (3, 12)
    assert assign("Team") == (3, None)  # the expression gave nobody: the group still sees the task


@pytest.mark.parametrize("lane, lanes, data, message", [
    ("Ukortlagt", LANES, None, "lane 'Ukortlagt' of task Task_X is not mapped to a group or an expression "
                               "in case type 'aktindsigt'"),
    ("Tom", LANES, None, "lane 'Tom' gave task Task_X neither a group nor an assignee"),
    ("Sagsbehandler", LANES, {"caseworker": None}, "lane 'Sagsbehandler' gave task Task_X neither a group nor"),
    ("Sagsbehandler", LANES, {"caseworker": ""}, "lane 'Sagsbehandler' gave task Task_X neither a group nor"),
    ("Sagsbehandler", LANES, {"caseworker": "mallory"}, "expression 'caseworker' gave unknown user 'mallory'"),
    ("Ukendt", LANES, None, "lane 'Ukendt' is mapped to unknown group 'findes-ikke'"),
    ("Sagsbehandler", None, None, "lane 'Sagsbehandler' of task Task_X is not mapped"),
    ("Sagsbehandler", {"Sagsbehandler": "caseworker"}, None, "lane 'Sagsbehandler' of task Task_X is not mapped"),
])
def test_a_lane_that_yields_nobody_is_an_error_naming_the_lane_and_the_task(lane, lanes, data, message):
    with pytest.raises(WorkflowError) as raised:
        assign(lane, lanes=lanes, data=data)
    assert message in str(raised.value)
    assert raised.value.element == "Task_X"
