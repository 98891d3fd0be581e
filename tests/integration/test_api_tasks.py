"""Task actions through the API: claim, unclaim, assign, delegate, take back, dates and priority.

The engine's rules are tested in test_tasks.py; here: the routes call them as the token's user,
answer with the case's new ETag, refuse a stale If-Match with 409, and bad input names its field
and changes nothing (the case row, its journal and its task rows stay as they were).
"""
from __future__ import annotations

import pytest

from tests.integration.task_helpers import case_snapshot, install_teamwork, journal, open_teamwork

from .test_api import bearer, token_for


@pytest.fixture
def team(ctx, client):
    """A teamwork case of anna's with an unassigned task of group byg (anna, bo), and tokens."""
    install_teamwork(ctx)
    number, task_id = open_teamwork(ctx)
    tokens = {name: bearer(token_for(ctx, name)) for name in ("anna", "bo", "carl")}
    return ctx, client, number, task_id, tokens


def test_claim_and_unclaim_a_group_task(team):
    ctx, client, number, task_id, who = team
    claimed = client.post(f"/api/tasks/{task_id}/claim", headers=who["bo"])
    assert claimed.status_code == 200
    body = claimed.get_json()
    assert (body["assignee"], body["candidate_group"]) == ("bo", "byg")
    assert claimed.headers["ETag"] == f'"{body["row_version"]}"'
    taken = client.post(f"/api/tasks/{task_id}/claim", headers=who["anna"])
    assert taken.status_code == 409 and "bo" in taken.get_json()["detail"]
    back = client.post(f"/api/tasks/{task_id}/unclaim", headers={**who["bo"], "If-Match": claimed.headers["ETag"]})
    assert back.status_code == 200 and back.get_json()["assignee"] is None
    assert journal(ctx, number)[-1].kind == "task_unclaimed"


def test_assign_delegate_and_take_back(team):
    ctx, client, number, task_id, who = team
    client.post(f"/api/tasks/{task_id}/claim", headers=who["anna"])
    delegated = client.post(f"/api/tasks/{task_id}/delegate", headers=who["anna"], json={"delegate": "bo"})
    assert delegated.status_code == 200
    assert (delegated.get_json()["assignee"], delegated.get_json()["owner"]) == ("bo", "anna")
    mine = client.get("/api/tasks?scope=mine", headers=who["bo"]).get_json()
    assert [t["id"] for t in mine["items"]] == [task_id]
    back = client.post(f"/api/tasks/{task_id}/take-back", headers=who["anna"])
    assert (back.get_json()["assignee"], back.get_json()["owner"]) == ("anna", None)
    assigned = client.post(f"/api/tasks/{task_id}/assign", headers=who["anna"], json={"assignee": "bo"})
    assert assigned.status_code == 200 and assigned.get_json()["assignee"] == "bo"
    kinds = [event.kind for event in journal(ctx, number)[-4:]]
    assert kinds == ["task_claimed", "task_delegated", "task_taken_back", "task_assigned"]


def test_dates_and_priority(team):
    ctx, client, number, task_id, who = team
    client.post(f"/api/tasks/{task_id}/claim", headers=who["anna"])
    due = client.put(f"/api/tasks/{task_id}/due-date", headers=who["anna"], json={"due_at": "2026-12-24"})
    assert due.status_code == 200 and due.get_json()["due_at"].startswith("2026-12-24T")
    follow = client.put(f"/api/tasks/{task_id}/follow-up-date", headers=who["anna"], json={"follow_up_at": None})
    assert follow.status_code == 200 and follow.get_json()["follow_up_at"] is None
    prio = client.put(f"/api/tasks/{task_id}/priority", headers=who["anna"], json={"priority": 90})
    assert prio.status_code == 200 and prio.get_json()["priority"] == 90
    listed = client.get("/api/tasks?scope=mine", headers=who["anna"]).get_json()["items"][0]
    assert (listed["priority"], listed["due_at"][:10], listed["follow_up_at"]) == (90, "2026-12-24", None)


@pytest.mark.parametrize("method, path, body, status, field", [
    ("put", "priority", {"priority": "high"}, 422, "priority"),
    ("put", "priority", {"priority": 101}, 422, "priority"),
    ("put", "priority", {}, 422, "priority"),
    ("put", "due-date", {"due_at": "soon"}, 422, "due_at"),
    ("put", "follow-up-date", {"follow_up_at": 7}, 422, "follow_up_at"),
    ("post", "assign", {"assignee": "nobody"}, 404, "assignee"),
    ("post", "assign", {"assignee": 42}, 422, "assignee"),
    ("post", "delegate", {"delegate": "anna"}, 422, "delegate"),   # delegating to oneself
    ("post", "assign", {"assignee": "bo", "note": "x"}, 422, "note"),
])
def test_bad_input_names_the_field_and_changes_nothing(team, method, path, body, status, field):
    ctx, client, number, task_id, who = team
    client.post(f"/api/tasks/{task_id}/claim", headers=who["anna"])
    before = case_snapshot(ctx, number)
    response = getattr(client, method)(f"/api/tasks/{task_id}/{path}", headers=who["anna"], json=body)
    assert response.status_code == status and response.mimetype == "application/problem+json"
    assert response.get_json()["field"] == field
    assert case_snapshot(ctx, number) == before


def test_a_stale_if_match_is_a_409_and_changes_nothing(team):
    ctx, client, number, task_id, who = team
    claimed = client.post(f"/api/tasks/{task_id}/claim", headers=who["anna"])
    etag = claimed.headers["ETag"]
    client.put(f"/api/tasks/{task_id}/priority", headers=who["anna"], json={"priority": 10})  # the case moves on
    before = case_snapshot(ctx, number)
    for method, path, body in (("post", "assign", {"assignee": "bo"}), ("put", "priority", {"priority": 20}),
                               ("post", "unclaim", None)):
        stale = getattr(client, method)(f"/api/tasks/{task_id}/{path}", json=body,
                                        headers={**who["anna"], "If-Match": etag})
        assert stale.status_code == 409 and stale.get_json()["field"] == "If-Match"
    bad = client.post(f"/api/tasks/{task_id}/unclaim", headers={**who["anna"], "If-Match": "latest"})
    assert bad.status_code == 422 and bad.get_json()["field"] == "If-Match"
    assert case_snapshot(ctx, number) == before
    fresh = client.get(f"/api/cases/{number}", headers=who["anna"]).headers["ETag"]
    assert client.post(f"/api/tasks/{task_id}/assign", json={"assignee": "bo"},
                       headers={**who["anna"], "If-Match": fresh}).status_code == 200


def test_no_permission_is_403_and_an_unknown_task_404(team):
    ctx, client, number, task_id, who = team
    assert client.post(f"/api/tasks/{task_id}/claim", headers=who["carl"]).status_code == 403  # not in byg
    client.post(f"/api/tasks/{task_id}/claim", headers=who["bo"])
    before = case_snapshot(ctx, number)
    for method, path, body, status in (("post", "assign", {"assignee": "carl"}, 403),
                                       ("post", "delegate", {"delegate": "carl"}, 403),
                                       ("put", "priority", {"priority": 1}, 403), ("post", "unclaim", None, 403),
                                       ("post", "take-back", None, 409)):  # 409: the task is not delegated
        response = getattr(client, method)(f"/api/tasks/{task_id}/{path}", headers=who["carl"], json=body)
        assert response.status_code == status, (path, response.get_json())
        assert response.mimetype == "application/problem+json"
    assert case_snapshot(ctx, number) == before
    missing = client.post("/api/tasks/no-such-task/assign", headers=who["bo"], json={"assignee": "anna"})
    assert missing.status_code == 404 and missing.get_json()["field"] == "task_id"
