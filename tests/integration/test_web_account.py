"""The API-token and webhook pages: a token shown once and usable, revoked and refused; webhooks for
administrators only; refused input shown beside its field with nothing stored."""
from __future__ import annotations

import re

from sqlalchemy import func, select

from engine.models import ApiToken, WebhookSubscription
from engine.services import api_tokens
from tests.web import Browser, error_messages, input_value

TOKEN = re.compile(r'id="new-token-value"[^>]*value="(sgt_[^"]+)"')


def count(ctx, model) -> int:
    with ctx.unit_of_work(read_only=True) as uow:
        return uow.session.scalar(select(func.count()).select_from(model))


def test_a_token_is_shown_once_works_in_the_api_and_is_refused_once_revoked(client, ctx):
    browser = Browser(client)
    browser.login("anna")
    page = browser.get("/account/tokens")
    assert page.status_code == 200 and "Du har ingen API-nøgler." in page.get_data(as_text=True)
    made = browser.submit("/account/tokens", {"name": "ESDH-integration", "expires_in_days": "30"})
    html = made.get_data(as_text=True)
    assert made.status_code == 200 and made.headers["Cache-Control"] == "no-store"
    token = TOKEN.search(html).group(1)
    assert client.get("/api/tasks", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    listed = browser.get("/account/tokens").get_data(as_text=True)
    assert "ESDH-integration" in listed and token not in listed and token[:10] in listed  # only its beginning

    with ctx.unit_of_work(read_only=True) as uow:
        token_id = uow.session.scalar(select(ApiToken.id))
    revoked = browser.submit(f"/account/tokens/{token_id}/revoke", page_url="/account/tokens", follow_redirects=True)
    assert "er tilbagekaldt" in revoked.get_data(as_text=True)
    assert client.get("/api/tasks", headers={"Authorization": f"Bearer {token}"}).status_code == 401


def test_a_refused_token_form_names_the_field_and_stores_nothing(client, ctx):
    browser = Browser(client)
    browser.login("anna")
    for data, field in (({"name": "  ", "expires_in_days": "30"}, "token-name"),
                        ({"name": "x" * 101, "expires_in_days": "30"}, "token-name"),
                        ({"name": "Godt navn", "expires_in_days": "evigt"}, "token-expiry"),
                        ({"name": "Godt navn", "expires_in_days": "9999"}, "token-expiry")):
        response = browser.submit("/account/tokens", data)
        assert response.status_code == 422
        assert list(error_messages(response.get_data(as_text=True))) == [field]
    assert input_value(response.get_data(as_text=True), "name") == "Godt navn"  # typed input kept
    assert count(ctx, ApiToken) == 0


def test_someone_elses_token_cannot_be_revoked(client, ctx):
    with ctx.unit_of_work() as uow:
        bos = api_tokens.create_token(uow, "bo", "Bo's")
    browser = Browser(client)
    browser.login("anna")
    response = browser.submit(f"/account/tokens/{bos['id']}/revoke", page_url="/account/tokens")
    assert response.status_code == 404
    with ctx.unit_of_work(read_only=True) as uow:
        assert api_tokens.list_tokens(uow.session, "bo")[0]["state"] == "active"


def test_an_administrator_adds_lists_and_deletes_a_webhook(client, ctx):
    browser = Browser(client)
    browser.login("admin")
    page = browser.get("/account/webhooks").get_data(as_text=True)
    secret = input_value(page, "secret")
    assert secret and len(secret) >= 16  # a strong secret is offered
    added = browser.submit("/account/webhooks", {"url": "https://esdh.example.dk/hook", "secret": secret,
                                                 "events": ["case.opened", "task.completed"],
                                                 "description": "ESDH"}, follow_redirects=True)
    html = added.get_data(as_text=True)
    assert added.status_code == 200 and "https://esdh.example.dk/hook" in html and "En sag oprettes" in html
    assert secret not in html  # the secret is not shown again
    with ctx.unit_of_work(read_only=True) as uow:
        subscription = uow.session.scalars(select(WebhookSubscription)).one()
        assert sorted(subscription.events) == ["case.opened", "task.completed"]
        subscription_id = subscription.id
    deliveries = browser.get(f"/account/webhooks/{subscription_id}")
    assert deliveries.status_code == 200 and "Der er ikke sendt noget endnu." in deliveries.get_data(as_text=True)
    assert browser.get("/account/webhooks/999999").status_code == 404
    deleted = browser.submit(f"/account/webhooks/{subscription_id}/delete", page_url="/account/webhooks",
                             follow_redirects=True)
    assert deleted.status_code == 200 and count(ctx, WebhookSubscription) == 0


def test_a_refused_webhook_names_the_field_and_stores_nothing(client, ctx):
    browser = Browser(client)
    browser.login("admin")
    good = {"url": "https://esdh.example.dk/hook", "secret": "s" * 20, "events": ["case.opened"]}
    for change, field in (({"url": "ftp://esdh"}, "webhook-url"), ({"secret": "kort"}, "webhook-secret"),
                          ({"events": []}, "webhook-events"), ({"description": "d" * 201}, "webhook-description")):
        response = browser.submit("/account/webhooks", {**good, **change})
        assert response.status_code == 422, change
        assert list(error_messages(response.get_data(as_text=True))) == [field]
    assert count(ctx, WebhookSubscription) == 0


def test_webhooks_are_for_administrators_only(client, ctx):
    browser = Browser(client)
    browser.login("anna")
    assert browser.get("/account/webhooks").status_code == 403
    assert 'href="/account/webhooks"' not in browser.get("/account/tokens").get_data(as_text=True)
    response = browser.submit("/account/webhooks", {"url": "https://x.example.dk", "secret": "s" * 20,
                                                    "events": ["case.opened"]}, page_url="/account/tokens")
    assert response.status_code == 403 and count(ctx, WebhookSubscription) == 0
