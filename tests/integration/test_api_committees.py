"""Committees, meetings and agenda items through the API, on SQLite and PostgreSQL.

Demo committees: dorte is secretary of all three; freja and gustav sit in teknik-miljoe-udvalget,
helle and gustav in oekonomiudvalget. A byggetilladelse case with a dispensation sends an item to
teknik-miljoe-udvalget first. The agenda's rules are tested in test_agenda.py; here: the routes act
as the token's user, closed content shows only to the item's committees, a stale If-Match is a 409,
and refused input names its field and changes nothing.
"""
from __future__ import annotations

import pytest

from engine.models import AgendaItem, Meeting
from tests.agenda_helpers import case_to_committee, item_of, load_demo_committees, open_tasks, plan

from .test_api import bearer, token_for

TMU = "teknik-miljoe-udvalget"


@pytest.fixture
def board(ctx, client):
    """Two items in teknik-miljoe-udvalget's queue, a planned meeting, and tokens."""
    load_demo_committees(ctx)
    numbers = [case_to_committee(ctx, "principal"), case_to_committee(ctx, "local")]
    items = [item_of(ctx, number)["id"] for number in numbers]
    meeting = plan(ctx, TMU)
    who = {name: bearer(token_for(ctx, name)) for name in ("dorte", "freja", "anna", "erik", "admin")}
    return ctx, client, numbers, items, meeting, who


def stored(ctx, meeting_id: int) -> tuple:
    """What agenda actions change: the meeting's version and status, and each item's status and closedness."""
    with ctx.unit_of_work(read_only=True) as uow:
        meeting = uow.session.get(Meeting, meeting_id)
        items = uow.session.query(AgendaItem.id, AgendaItem.status, AgendaItem.closed).order_by(AgendaItem.id).all()
        return meeting.row_version, meeting.status, [tuple(row) for row in items]


def test_committees_and_their_meetings_are_listed_and_read(board):
    ctx, client, numbers, items, meeting, who = board
    listed = client.get("/api/committees", headers=who["anna"]).get_json()
    assert {c["key"] for c in listed} == {TMU, "oekonomiudvalget", "kommunalbestyrelsen"}
    detail = client.get(f"/api/committees/{TMU}", headers=who["anna"]).get_json()
    assert ("dorte", "secretary") in {(s["username"], s["role"]) for s in detail["seats"]}
    assert ("freja", "member") in {(s["username"], s["role"]) for s in detail["seats"]}
    assert meeting in [m["id"] for m in detail["meetings"]]
    unknown = client.get("/api/committees/byraadet", headers=who["anna"])
    assert unknown.status_code == 404 and unknown.get_json()["field"] == "committee"


def test_the_secretary_assembles_reorders_publishes_and_records_a_decision(board):
    ctx, client, numbers, items, meeting, who = board
    dorte = who["dorte"]
    view = client.get(f"/api/meetings/{meeting}", headers=dorte)
    assert view.status_code == 200 and view.get_json()["manages"]
    assert [i["id"] for i in view.get_json()["queue"]] == items
    etag = view.headers["ETag"]
    first = client.post(f"/api/meetings/{meeting}/items", headers={**dorte, "If-Match": etag},
                        json={"item_id": items[0]})
    assert first.status_code == 201 and first.get_json()["number"] == 1
    second = client.post(f"/api/meetings/{meeting}/items", headers={**dorte, "If-Match": first.headers["ETag"]},
                         json={"item_id": items[1]})
    assert second.get_json()["number"] == 2
    reordered = client.put(f"/api/meetings/{meeting}/order", headers={**dorte, "If-Match": second.headers["ETag"]},
                           json={"item_ids": [items[1], items[0]]})
    assert reordered.status_code == 200
    agenda = client.get(f"/api/meetings/{meeting}", headers=dorte).get_json()
    assert [(i["id"], i["number"]) for i in agenda["items"]] == [(items[1], 1), (items[0], 2)]
    assert client.put(f"/api/agenda-items/{items[0]}/closed", headers=dorte,
                      json={"closed": True}).get_json() == {"kind": "item", "id": items[0], "closed": True}
    published = client.post(f"/api/meetings/{meeting}/publish-agenda", headers=dorte, json={})
    assert published.status_code == 200 and published.get_json()["number"] == 1
    decided = client.post(f"/api/meetings/{meeting}/decisions", headers=dorte,
                          json={"item_id": items[1], "outcome": "approved", "decision_text": "Godkendt."})
    assert decided.status_code == 201, decided.get_json()
    assert decided.get_json()["delivered"] and decided.get_json()["case"] == numbers[1]
    assert client.get(f"/api/agenda-items/{items[1]}", headers=dorte).get_json()["status"] == "decided"
    assert "Task_Decision" in [t["element_id"] for t in open_tasks(ctx, numbers[1])]  # the case went on
    early = client.post(f"/api/meetings/{meeting}/publish-minutes", headers=dorte, json={})
    assert early.status_code == 422 and early.get_json()["field"] == "meeting_id"  # item 2 is undecided
    client.post(f"/api/meetings/{meeting}/decisions", headers=dorte, json={"item_id": items[0], "outcome": "postponed"})
    minutes = client.post(f"/api/meetings/{meeting}/publish-minutes", headers=dorte, json={})
    assert minutes.status_code == 200 and minutes.get_json()["kind"] == "minutes"


def test_an_item_moves_to_another_meeting_of_the_committee(board):
    ctx, client, numbers, items, meeting, who = board
    dorte = who["dorte"]
    later = plan(ctx, TMU, days=24)
    etag = client.get(f"/api/meetings/{meeting}", headers=dorte).headers["ETag"]
    client.post(f"/api/meetings/{meeting}/items", headers=dorte, json={"item_id": items[0]})
    before = stored(ctx, meeting)
    stale = client.post(f"/api/meetings/{meeting}/items/{items[0]}/move", headers={**dorte, "If-Match": etag},
                        json={"to_meeting_id": later})
    assert stale.status_code == 409 and stored(ctx, meeting) == before
    same = client.post(f"/api/meetings/{meeting}/items/{items[0]}/move", headers=dorte,
                       json={"to_meeting_id": meeting})
    assert same.status_code == 422 and same.get_json()["field"] == "to_meeting_id"
    moved = client.post(f"/api/meetings/{meeting}/items/{items[0]}/move", headers=dorte,
                        json={"to_meeting_id": later})
    assert moved.status_code == 200 and moved.get_json() == {"item_id": items[0], "meeting_id": later, "number": 1}
    assert client.get(f"/api/meetings/{meeting}", headers=dorte).get_json()["items"] == []
    assert [i["id"] for i in client.get(f"/api/meetings/{later}", headers=dorte).get_json()["items"]] == [items[0]]


def test_a_stale_if_match_is_a_409_and_changes_nothing(board):
    ctx, client, numbers, items, meeting, who = board
    dorte = who["dorte"]
    etag = client.get(f"/api/meetings/{meeting}", headers=dorte).headers["ETag"]
    client.post(f"/api/meetings/{meeting}/items", headers=dorte, json={"item_id": items[0]})  # moves on
    before = stored(ctx, meeting)
    stale = client.post(f"/api/meetings/{meeting}/items", headers={**dorte, "If-Match": etag},
                        json={"item_id": items[1]})
    assert stale.status_code == 409 and stale.mimetype == "application/problem+json"
    reorder = client.put(f"/api/meetings/{meeting}/order", headers={**dorte, "If-Match": etag},
                         json={"item_ids": [items[0]]})
    assert reorder.status_code == 409
    assert stored(ctx, meeting) == before


@pytest.mark.parametrize("method, path, body, status, field", [
    ("post", "items", {"item_id": "first"}, 422, "item_id"),
    ("post", "items", {}, 422, "item_id"),
    ("put", "order", {"item_ids": ["a"]}, 422, "item_ids.0"),
    ("post", "decisions", {"item_id": 1, "outcome": "maybe"}, 422, "outcome"),
    ("post", "decisions", {"item_id": 1, "outcome": "approved", "extra": True}, 422, "extra"),
])
def test_bad_input_names_the_field_and_changes_nothing(board, method, path, body, status, field):
    ctx, client, numbers, items, meeting, who = board
    before = stored(ctx, meeting)
    response = getattr(client, method)(f"/api/meetings/{meeting}/{path}", headers=who["dorte"], json=body)
    assert response.status_code == status and response.get_json()["field"] == field
    assert stored(ctx, meeting) == before


def test_unknown_items_and_meetings_are_404(board):
    ctx, client, numbers, items, meeting, who = board
    before = stored(ctx, meeting)
    unknown_item = client.post(f"/api/meetings/{meeting}/items", headers=who["dorte"], json={"item_id": 999_999})
    assert unknown_item.status_code == 404 and unknown_item.get_json()["field"] == "item_id"
    unknown_meeting = client.get("/api/meetings/999999", headers=who["dorte"])
    assert unknown_meeting.status_code == 404 and unknown_meeting.get_json()["field"] == "meeting_id"
    assert client.get("/api/agenda-items/999999", headers=who["dorte"]).status_code == 404
    assert stored(ctx, meeting) == before


def test_only_the_committees_secretaries_act_and_closed_content_shows_only_to_its_committees(board):
    ctx, client, numbers, items, meeting, who = board
    client.put(f"/api/agenda-items/{items[0]}/closed", headers=who["dorte"], json={"closed": True})
    before = stored(ctx, meeting)
    for name in ("freja", "anna"):  # a member, and the case's caseworker: neither assembles the agenda
        refused = client.post(f"/api/meetings/{meeting}/items", headers=who[name], json={"item_id": items[0]})
        assert refused.status_code == 403 and refused.mimetype == "application/problem+json"
        assert client.put(f"/api/agenda-items/{items[0]}/closed", headers=who[name],
                          json={"closed": False}).status_code == 403
    assert stored(ctx, meeting) == before

    member = client.get(f"/api/agenda-items/{items[0]}", headers=who["freja"]).get_json()
    assert member["closed"] and not member["hidden"] and all(s["body"] for s in member["sections"])
    caseworker = client.get(f"/api/agenda-items/{items[0]}", headers=who["anna"]).get_json()
    assert caseworker["hidden"] and caseworker["sections"] == [] and caseworker["attachments"] == []
    assert client.get(f"/api/agenda-items/{items[0]}", headers=who["erik"]).status_code == 403

    section = client.get(f"/api/agenda-items/{items[1]}", headers=who["dorte"]).get_json()["sections"][0]
    closed = client.put(f"/api/agenda-sections/{section['id']}/closed", headers=who["dorte"], json={"closed": True})
    assert closed.get_json() == {"kind": "section", "id": section["id"], "closed": True}
    seen = client.get(f"/api/agenda-items/{items[1]}", headers=who["anna"]).get_json()
    assert not seen["hidden"] and [(s["id"], s["body"]) for s in seen["sections"] if s["hidden"]] == [
        (section["id"], None)]
    assert client.put(f"/api/agenda-folders/{section['id']}/closed", headers=who["dorte"],
                      json={"closed": True}).status_code == 404
    assert client.get(f"/api/meetings/{meeting}", headers=who["erik"]).status_code == 403
    assert client.get(f"/api/meetings/{meeting}", headers=who["freja"]).get_json()["queue"] == []
