"""An employee works a case in a real browser, on a desktop and on a phone."""
from __future__ import annotations

import re

import pytest

from engine.services import cases

pytestmark = pytest.mark.browser


def no_horizontal_scroll(page) -> None:
    width = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert width[0] <= width[1], f"page scrolls sideways on {page.url}: {width}"


def log_in(page, base: str, username: str) -> None:
    page.goto(f"{base}/tasks/group")
    assert "/login" in page.url
    page.get_by_label("Brugernavn").fill(username)
    page.get_by_label("Adgangskode").fill("demo")
    page.get_by_role("button", name="Log ind").click()
    page.wait_for_url(f"{base}/tasks/group")


def test_start_a_case_and_work_its_group_task(page, live_server, viewport):
    base = live_server.url
    shots = page.screens
    page.goto(f"{base}/login")
    shots.shot("login")
    no_horizontal_scroll(page)
    log_in(page, base, "anna")

    # Start a building-permit case from the navigation.
    page.get_by_role("link", name="Opret sag").first.click()
    page.get_by_role("link", name="Ansøgning om byggetilladelse").click()
    page.get_by_label("Sagens titel").fill("Carport på Havnegade 3")
    page.get_by_label("Gruppering").fill("Havnegade 3")
    page.get_by_label("Byggeriets adresse").fill("Havnegade 3, 9900 Frederikshavn")
    page.get_by_label("Matrikelnummer").fill("7a, Frederikshavn Bygrunde")
    page.get_by_label("Bygningstype").select_option(label="Garage, carport, udhus o.l.")
    page.get_by_label("Etageareal (m²)").fill("36,5")
    page.get_by_label("Ansøger", exact=True).fill("Hans Hansen")
    shots.shot("start-form")
    no_horizontal_scroll(page)
    page.get_by_role("button", name="Opret sag").click()
    page.wait_for_url(re.compile(r".*/cases/BYG-\d{4}-\d{6}$"))
    number = page.url.rsplit("/", 1)[1]
    assert page.get_by_role("heading", level=1).inner_text().startswith("Carport på Havnegade 3")
    page.wait_for_selector("#diagram.diagram-ready .sg-active", timeout=15_000)
    shots.shot("case-started")
    no_horizontal_scroll(page)

    # The professional assessment waits in the group's list.
    page.get_by_role("link", name=re.compile("Min gruppes opgaver")).click()
    row = page.locator("#task-table tr", has_text=number)
    assert row.count() == 1
    shots.shot("group-tasks")
    no_horizontal_scroll(page)
    row.get_by_role("button", name=re.compile("^Tag")).click()

    # Claimed: the task is anna's now and has left the group's list.
    page.wait_for_selector("h1:has-text('Faglig vurdering')")
    assert "Opgaven er din nu." in page.locator(".flashes").inner_text()
    assert page.get_by_role("button", name="Læg tilbage til gruppen").is_visible()
    assert "Mine opgaver 1" in page.locator(".main-nav").inner_text()

    # Submit with an error: an incomplete application needs the missing information described.
    assert "36.5 m²" in page.locator(".instructions").inner_text()
    page.get_by_label("Faglig vurdering (valgfrit)").fill("Carporten overholder BR18.")
    page.get_by_role("button", name="Udfør opgaven").click()
    summary = page.locator(".error-summary")
    summary.wait_for()
    assert summary.evaluate("element => element === document.activeElement")
    field = page.locator(".field", has=page.get_by_label("Manglende oplysninger (valgfrit)"))
    assert "Udfyld feltet." in field.locator(".error-message").inner_text()
    assert page.get_by_label("Faglig vurdering (valgfrit)").input_value() == "Carporten overholder BR18."
    shots.shot("task-form-error")
    no_horizontal_scroll(page)

    # Fixed: the application is complete.
    page.get_by_label("Ansøgningen er fuldt oplyst").check()
    page.get_by_role("button", name="Udfør opgaven").click()
    page.wait_for_url(f"{base}/cases/{number}")
    assert "“Faglig vurdering” er udført." in page.locator(".flashes").inner_text()
    assert "Afgørelse" in page.locator("#open-tasks").inner_text()
    assert "Faglig vurdering" in page.locator("table.simple").inner_text()
    page.wait_for_selector("#diagram.diagram-ready .sg-completed", timeout=15_000)
    shots.shot("case-updated")
    no_horizontal_scroll(page)
    assert not page.console_errors, page.console_errors


def test_keyboard_reaches_the_navigation_and_shows_focus(page, live_server, viewport):
    base = live_server.url
    log_in(page, base, "bo")
    page.goto(f"{base}/")
    page.keyboard.press("Tab")
    focused = page.evaluate("document.activeElement.textContent.trim()")
    assert focused == "Gå til indhold"
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline == "solid"
    page.screens.shot("keyboard-focus")
    no_horizontal_scroll(page)
    assert not page.console_errors, page.console_errors


def test_filters_swap_the_task_table_in_place(page, live_server, viewport):
    base = live_server.url
    with live_server.ctx.unit_of_work() as uow:
        akt = cases.open_case(uow, "aktindsigt", "anna", "Aktindsigt", "Søndergade 12", {
            "requester_email": "borger@example.dk", "requested_documents": "Akterne", "received_date": "2026-11-20"})
    with live_server.ctx.unit_of_work() as uow:
        byg = cases.open_case(uow, "byggetilladelse", "anna", "Carport", "Havnegade 3", {
            "address": "Havnegade 3", "cadastral_number": "7a", "building_type": "extension", "floor_area": 20,
            "applicant": "Hans Hansen"}, caseworker="anna")
    log_in(page, base, "anna")
    page.goto(f"{base}/tasks/mine")
    assert akt["number"] in page.locator("#task-table").inner_text()
    page.evaluate("window.sagsgangMarker = 'still here'")
    page.get_by_label("Sagstype").select_option(label="Ansøgning om byggetilladelse")
    page.wait_for_url(re.compile(r".*case_type=byggetilladelse.*"))
    page.wait_for_selector("#task-table .empty")
    assert "Ingen opgaver matcher filtrene." in page.locator("#task-table").inner_text()
    assert page.evaluate("window.sagsgangMarker") == "still here"  # swapped by htmx, not reloaded
    page.goto(f"{base}/tasks/group")
    assert byg["number"] in page.locator("#task-table").inner_text()
    page.screens.shot("filtered")
    no_horizontal_scroll(page)
    assert not page.console_errors, page.console_errors
