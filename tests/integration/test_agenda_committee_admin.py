"""The administrator's committee pages and services: create, edit, chair, seats; refusals name the
field and change nothing (both databases)."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from engine.errors import InvalidInput, NotAllowed
from engine.models import Committee, CommitteeMember, Meeting
from engine.services import committees
from tests.agenda_helpers import load_demo_committees, plan
from tests.web import Browser


def state(ctx) -> tuple:
    with ctx.unit_of_work(read_only=True) as uow:
        rows = uow.session.execute(select(Committee.key, Committee.name, Committee.agenda_deadline_days,
                                          Committee.description, Committee.active).order_by(Committee.key)).all()
        seats = uow.session.execute(select(CommitteeMember.committee_id, CommitteeMember.user_id,
                                           CommitteeMember.role).order_by(CommitteeMember.id)).all()
        return [tuple(r) for r in rows], [tuple(s) for s in seats]


def detail(ctx, key: str) -> dict:
    with ctx.unit_of_work(read_only=True) as uow:
        return committees.committee_detail(uow.session, "admin", key)


def test_an_administrator_creates_a_committee_seats_people_and_changes_its_deadline(ctx):
    load_demo_committees(ctx)
    with ctx.unit_of_work() as uow:
        committees.create_committee(uow, "admin", "boerne-unge-udvalget", "Børne- og Ungeudvalget", 5, "Skoler")
    with ctx.unit_of_work() as uow:
        committees.set_chair(uow, "admin", "boerne-unge-udvalget", "freja")
    with ctx.unit_of_work() as uow:
        committees.seat(uow, "admin", "boerne-unge-udvalget", "erik", "secretary")
    with ctx.unit_of_work() as uow:
        committees.set_chair(uow, "admin", "boerne-unge-udvalget", "gustav")  # one chair: freja steps down
    found = detail(ctx, "boerne-unge-udvalget")
    assert found["chair"] == "gustav" and found["agenda_deadline_days"] == 5
    with ctx.unit_of_work() as uow:
        committees.seat(uow, "admin", "oekonomiudvalget", "gustav", "chair")  # seating a chair replaces the old
    with ctx.unit_of_work(read_only=True) as uow:
        chairs = uow.session.scalars(select(CommitteeMember).join(Committee).where(
            Committee.key == "oekonomiudvalget", CommitteeMember.role == "chair")).all()
        assert [c.user.username for c in chairs] == ["gustav"]
    assert [m["username"] for m in found["members"]] == ["freja", "gustav"]
    assert [m["username"] for m in found["secretaries"]] == ["erik"]
    meeting = plan(ctx, "boerne-unge-udvalget", days=20, actor="erik")  # the new secretary plans
    with ctx.unit_of_work() as uow:
        committees.update_committee(uow, "admin", "boerne-unge-udvalget", "Børne- og Ungeudvalget", 10, "Skoler")
    with ctx.unit_of_work(read_only=True) as uow:
        planned = uow.session.get(Meeting, meeting)
        assert planned.agenda_deadline == committees.agenda_deadline(planned.starts_at, 10)


@pytest.mark.parametrize("fields, field", [
    ({"key": "Bad Key"}, "key"), ({"key": "teknik-miljoe-udvalget"}, "key"), ({"key": "9lives"}, "key"),
    ({"name": "  "}, "name"), ({"agenda_deadline_days": 61}, "agenda_deadline_days"),
    ({"agenda_deadline_days": "syv"}, "agenda_deadline_days"), ({"description": "x" * 2001}, "description")])
def test_bad_committee_fields_are_refused_by_name_and_change_nothing(ctx, fields, field):
    load_demo_committees(ctx)
    before = state(ctx)
    args = dict({"key": "nyt-udvalg", "name": "Nyt udvalg", "agenda_deadline_days": 7, "description": ""}, **fields)
    with pytest.raises(InvalidInput) as err:
        with ctx.unit_of_work() as uow:
            committees.create_committee(uow, "admin", **args)
    assert err.value.field == field
    if field != "key":
        with pytest.raises(InvalidInput) as err:
            with ctx.unit_of_work() as uow:
                committees.update_committee(uow, "admin", "oekonomiudvalget", args["name"],
                                            args["agenda_deadline_days"], args["description"])
        assert err.value.field == field
    assert state(ctx) == before


def test_only_administrators_change_committees(ctx):
    load_demo_committees(ctx)
    before = state(ctx)
    with pytest.raises(NotAllowed):
        with ctx.unit_of_work() as uow:
            committees.create_committee(uow, "dorte", "nyt-udvalg", "Nyt udvalg")
    with pytest.raises(NotAllowed):
        with ctx.unit_of_work() as uow:
            committees.set_chair(uow, "dorte", "oekonomiudvalget", "dorte")
    with pytest.raises(InvalidInput) as err:
        with ctx.unit_of_work() as uow:
            committees.set_chair(uow, "admin", "oekonomiudvalget", "nobody")
    assert err.value.field == "chair"
    assert state(ctx) == before


def test_the_committee_admin_pages(client, ctx):
    load_demo_committees(ctx)
    admin = Browser(client)
    admin.login("admin")
    assert "Administrér udvalg" in admin.get("/agenda/").get_data(as_text=True)
    listing = admin.get("/agenda/admin/committees").get_data(as_text=True)
    assert "Teknik- og Miljøudvalget" in listing and "freja" in listing
    before = state(ctx)
    response = admin.submit("/agenda/admin/committees", {"key": "Nyt Udvalg", "name": "Nyt udvalg",
                                                         "agenda_deadline_days": "7"},
                            page_url="/agenda/admin/committees")
    body = response.get_data(as_text=True)
    assert response.status_code == 422 and 'id="key-error"' in body and 'aria-invalid="true"' in body
    assert 'value="Nyt udvalg"' in body  # what was typed stays
    assert state(ctx) == before
    response = admin.submit("/agenda/admin/committees", {"key": "nyt-udvalg", "name": "Nyt udvalg",
                                                         "agenda_deadline_days": "4"},
                            page_url="/agenda/admin/committees")
    assert response.status_code == 302
    page_url = "/agenda/admin/committees/nyt-udvalg"
    admin.submit(f"{page_url}/seats", {"username": "dorte", "role": "secretary"}, page_url=page_url)
    admin.submit(f"{page_url}/chair", {"chair": "helle"}, page_url=page_url)
    response = admin.submit(page_url, {"name": "Nyt udvalg", "agenda_deadline_days": "tre", "active": "1"},
                            page_url=page_url)
    assert response.status_code == 422 and 'id="agenda_deadline_days-error"' in response.get_data(as_text=True)
    found = detail(ctx, "nyt-udvalg")
    assert found["chair"] == "helle" and found["secretaries"][0]["username"] == "dorte"
    assert found["agenda_deadline_days"] == 4
    dorte = Browser(client.application.test_client())
    dorte.login("dorte")
    assert dorte.get("/agenda/admin/committees").status_code == 403
