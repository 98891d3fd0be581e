"""A committee secretary assembles, orders, publishes an agenda and records a decision in a real browser."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from engine.services import agenda
from tests.agenda_helpers import ITEM, case_to_committee, item_of, load_demo_committees, open_tasks, plan

pytestmark = pytest.mark.browser


def log_in(page, base: str, username: str) -> None:
    page.goto(f"{base}/agenda/")
    page.get_by_label("Brugernavn").fill(username)
    page.get_by_label("Adgangskode").fill("demo")
    page.get_by_role("button", name="Log ind").click()
    page.wait_for_url(f"{base}/agenda/")


def agenda_order(page) -> list[int]:
    return [int(x) for x in page.locator("#agenda-items > li").evaluate_all("els => els.map(e => e.dataset.itemId)")]


def stored_order(ctx, meeting_id: int) -> list[int]:
    with ctx.unit_of_work(read_only=True) as uow:
        return [item["id"] for item in agenda.meeting_view(uow.session, "dorte", meeting_id)["items"]]


def drag_with_mouse(page, source: str, target: str) -> None:
    """A real mouse drag (down, several moves, up) from `source` onto the upper part of `target`."""
    page.locator(target).evaluate("e => window.scrollTo(0, e.getBoundingClientRect().top + window.scrollY - 8)")
    start, end = page.locator(source).bounding_box(), page.locator(target).bounding_box()
    height = page.viewport_size["height"]
    assert 0 <= end["y"] < start["y"] + start["height"] <= height, "both headings must be on the screen"
    page.mouse.move(start["x"] + 20, start["y"] + start["height"] / 2)
    page.mouse.down()
    with page.expect_navigation():
        page.mouse.move(start["x"] + 24, start["y"] + start["height"] / 2 - 10, steps=4)
        page.mouse.move(end["x"] + 20, end["y"] + 2, steps=12)
        page.mouse.up()


def test_assemble_order_publish_and_decide(page, live_server, viewport):
    base, ctx, shots = live_server.url, live_server.ctx, page.screens
    load_demo_committees(ctx)
    first = case_to_committee(ctx, "local")
    second = case_to_committee(ctx, "local", item=dict(ITEM, agenda_title="Påbud om lovliggørelse", agenda_closed=True,
                                                        agenda_presentation="Fortroligt: ejerens helbred."))
    other = case_to_committee(ctx, "principal", item=dict(ITEM, agenda_title="Nyt plejecenter",
                                                          committee_route=["oekonomiudvalget"]))
    ids = [item_of(ctx, n)["id"] for n in (first, second)]
    meeting = plan(ctx, "teknik-miljoe-udvalget")
    plan(ctx, "oekonomiudvalget")

    log_in(page, base, "dorte")
    # One view across her committees: both queues, with the next meetings and their deadlines.
    assert page.locator("#c-teknik-miljoe-udvalget .queue li").count() == 2
    assert page.locator("#c-oekonomiudvalget .queue li", has_text="Nyt plejecenter").count() == 1
    shots.shot("overview")
    page.locator(f"#c-teknik-miljoe-udvalget a[href='/agenda/meetings/{meeting}']").click()
    page.wait_for_url(f"{base}/agenda/meetings/{meeting}")

    for item_id in ids:  # add both from the queue
        page.locator(f"#queue-{item_id} button").click()
        page.wait_for_selector(f"#item-{item_id}")
    assert agenda_order(page) == ids
    shots.shot("assembled")

    # Drag the second above the first with the real mouse: press on its heading, move in steps
    # to the top of the first item, release. The page submits the new order; it is stored.
    drag_with_mouse(page, f"#item-{ids[1]} h3", f"#item-{ids[0]} h3")
    expect(page.locator("#agenda-items > li").first).to_have_attribute("data-item-id", str(ids[1]))
    assert agenda_order(page) == [ids[1], ids[0]]
    assert stored_order(ctx, meeting) == [ids[1], ids[0]]
    # The keyboard's way: focus "down" on the first item and press Enter.
    down = page.locator(f"#item-{ids[1]} .item-actions form").nth(1).locator("button")
    down.focus()
    page.keyboard.press("Enter")
    expect(page.locator("#agenda-items > li").first).to_have_attribute("data-item-id", str(ids[0]))
    assert agenda_order(page) == ids
    assert page.locator(f"#item-{ids[1]} .badge-closed").count() >= 1  # the closed item, marked
    shots.shot("ordered")

    page.locator(".publish-form button").click()
    page.wait_for_selector(".decision-form")
    shots.shot("published")

    public = page.context.new_page()  # the published agenda, as anyone sees it
    public.goto(f"{base}/meetings/{meeting}/agenda")
    body = public.locator("main").inner_text()
    assert "1. Dispensation fra lokalplan 12.3" in body and "2. Påbud om lovliggørelse" in body
    assert "helbred" not in body and "Situationsplan" in body and "Naboindsigelse" not in body
    response = public.request.get(f"{base}/meetings/{meeting}/agenda.pdf")
    assert response.ok and response.headers["content-type"] == "application/pdf"
    public.close()

    form = page.locator(f"#item-{ids[0]} .decision-form")
    form.locator("select[name=outcome]").select_option("approved")
    form.locator("textarea").fill("Dispensation meddelt som indstillet.")
    form.locator("button").click()
    page.wait_for_selector(f"#item-{ids[0]} .decision")
    shots.shot("decided")
    assert [t["element_id"] for t in open_tasks(ctx, first)] == ["Task_Decision"]  # the case moved on
    assert other  # the other committee's item stayed in its own queue
    assert page.console_errors == []
    assert re.search(r"Dispensation meddelt som indstillet", page.locator(f"#item-{ids[0]}").inner_text())


def test_an_administrator_sets_up_a_committee(page, live_server, viewport):
    base = live_server.url
    load_demo_committees(live_server.ctx)
    page.goto(f"{base}/login")
    page.get_by_label("Brugernavn").fill("admin")
    page.get_by_label("Adgangskode").fill("demo")
    page.get_by_role("button", name="Log ind").click()
    page.goto(f"{base}/agenda/")
    page.get_by_role("link", name="Administrér udvalg").click()
    expect(page.locator("#committee-teknik-miljoe-udvalget")).to_contain_text("freja")
    page.get_by_label("Nøgle").fill("Børn og unge")
    page.get_by_label("Navn").fill("Børne- og Ungeudvalget")
    page.get_by_role("button", name="Opret udvalg").click()
    error = page.locator("#key-error")  # beside the field, with what was typed kept
    expect(error).to_contain_text("Brug små bogstaver")
    assert page.get_by_label("Navn").input_value() == "Børne- og Ungeudvalget"
    page.screens.shot("committee-error")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")  # no sideways scroll
    page.get_by_label("Nøgle").fill("boerne-unge-udvalget")
    page.get_by_role("button", name="Opret udvalg").click()
    page.wait_for_url(f"{base}/agenda/admin/committees/boerne-unge-udvalget")
    page.get_by_label("Formand").select_option("freja")
    page.get_by_role("button", name="Gem formand").click()
    expect(page.locator(".flashes")).to_contain_text("Formanden er gemt.")
    page.get_by_label("Person").select_option("dorte")
    page.get_by_label("Plads", exact=True).select_option("secretary")
    page.get_by_role("button", name="Tilføj plads").click()
    expect(page.locator("#secretary-seats")).to_contain_text("dorte")
    expect(page.locator("#member-seats")).to_contain_text("freja")
    page.screens.shot("committee-seated")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    assert page.console_errors == []
