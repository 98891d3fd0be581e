"""An employee makes a personal API token in a real browser, uses it from another system, and
revokes it: on a desktop and on a phone."""
from __future__ import annotations

import pytest

from tests.e2e.test_browser_casework import log_in, no_horizontal_scroll

pytestmark = pytest.mark.browser


def test_make_a_token_use_it_and_revoke_it(page, live_server, viewport):
    base, shots = live_server.url, page.screens
    log_in(page, base, "anna")
    page.get_by_role("link", name="API-nøgler").first.click()
    assert "Du har ingen API-nøgler." in page.locator("main").inner_text()

    # No name: the form says so beside the field, and nothing is made.
    page.get_by_role("button", name="Lav nøgle").click()
    assert "Giv nøglen et navn" in page.locator("#token-name-error").inner_text()
    shots.shot("refused")
    no_horizontal_scroll(page)

    page.get_by_label("Navn").fill("ESDH-integration")
    page.get_by_label("Gælder i").select_option("90")
    page.get_by_role("button", name="Lav nøgle").click()
    token = page.locator("#new-token-value").input_value()
    assert token.startswith("sgt_")
    shots.shot("shown-once")
    no_horizontal_scroll(page)

    api = page.context.request
    headers = {"Authorization": f"Bearer {token}"}
    assert api.get(f"{base}/api/tasks", headers=headers).status == 200

    page.goto(f"{base}/account/tokens")  # the token itself is not on the page again
    assert token not in page.content() and "ESDH-integration" in page.locator("table.tokens").inner_text()
    page.get_by_role("button", name="Tilbagekald ESDH-integration").click()
    assert "er tilbagekaldt" in page.locator(".flashes").inner_text()
    assert "Tilbagekaldt" in page.locator("table.tokens").inner_text()
    shots.shot("revoked")
    no_horizontal_scroll(page)
    assert api.get(f"{base}/api/tasks", headers=headers).status == 401
    assert page.console_errors == []
