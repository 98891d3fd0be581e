"""Signing in and out, sessions that expire, CSRF, security headers, language, OpenID Connect."""
from __future__ import annotations

import time
from dataclasses import replace
from urllib.parse import parse_qs, urlsplit

import pytest

from engine.services import accounts
from tests.web import Browser, csrf_token
from webapp import create_app


def test_pages_need_a_signed_in_user(client):
    response = client.get("/tasks/mine")
    assert response.status_code == 302
    assert response.headers["Location"] == "/login?next=/tasks/mine"
    htmx = client.get("/tasks/mine", headers={"HX-Request": "true"})
    assert htmx.status_code == 204 and htmx.headers["HX-Redirect"].startswith("/login")
    assert client.get("/health").status_code == 200


def test_log_in_with_a_local_account_and_out_again(client):
    browser = Browser(client)
    page = client.get("/login").get_data(as_text=True)
    assert 'lang="da"' in page and "Log ind i Sagsgang" in page
    assert 'for="username"' in page and 'for="password"' in page
    response = client.post("/login", data={"username": "anna", "password": "demo", "next": "/tasks/mine",
                                           "csrf_token": csrf_token(page)})
    assert response.status_code == 302 and response.headers["Location"] == "/tasks/mine"
    assert "Anna Jensen" in client.get("/").get_data(as_text=True)
    response = browser.logout()
    assert response.headers["Location"] == "/login"
    assert client.get("/").status_code == 302


@pytest.mark.parametrize("username, password", [("anna", "wrong"), ("nobody", "demo"), ("", "")])
def test_a_wrong_password_or_unknown_user_gets_one_message(client, username, password):
    response = Browser(client).login(username, password)
    assert response.status_code == 401
    html = response.get_data(as_text=True)
    assert "Forkert brugernavn eller adgangskode." in html
    assert f'value="{username}"' in html  # what was typed stays
    assert client.get("/").status_code == 302


def test_after_login_only_a_local_path_is_followed(client):
    page = client.get("/login").get_data(as_text=True)
    response = client.post("/login", data={"username": "anna", "password": "demo", "next": "//evil.example/x",
                                           "csrf_token": csrf_token(page)})
    assert response.headers["Location"] == "/"


def test_every_form_needs_its_csrf_token(client):
    response = client.post("/login", data={"username": "anna", "password": "demo"})
    assert response.status_code == 400
    assert "Formularen var udløbet" in response.get_data(as_text=True)
    assert client.get("/").status_code == 302  # not signed in


def test_a_session_expires_after_the_idle_limit(client):
    browser = Browser(client)
    browser.login()
    assert client.get("/").status_code == 200
    with client.session_transaction() as session:
        session["seen"] = int(time.time()) - 121 * 60
    response = client.get("/tasks/mine")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")
    assert "Din session er udløbet" in client.get("/login").get_data(as_text=True)


def test_a_session_expires_after_the_absolute_limit_even_when_used(client):
    Browser(client).login()
    with client.session_transaction() as session:
        session["since"] = int(time.time()) - 721 * 60
    assert client.get("/").status_code == 302


def test_security_headers(client):
    Browser(client).login()
    response = client.get("/")
    csp = response.headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp and "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert "unsafe-inline" not in csp
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert response.headers["Cache-Control"] == "no-store"
    html = response.get_data(as_text=True)
    assert "<script>" not in html and "style=" not in html  # nothing inline for the CSP to block


def test_session_cookie_is_httponly_and_samesite(client):
    page = client.get("/login").get_data(as_text=True)
    response = client.post("/login", data={"username": "anna", "password": "demo", "csrf_token": csrf_token(page)})
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_danish_by_default_and_english_on_request(client):
    browser = Browser(client)
    browser.login()
    assert "Mine opgaver" in client.get("/").get_data(as_text=True)
    browser.submit("/language", {"lang": "en", "next": "/"})
    html = client.get("/").get_data(as_text=True)
    assert 'lang="en"' in html and "My tasks" in html and "Mine opgaver" not in html
    browser.submit("/language", {"lang": "da"})
    assert "Mine opgaver" in client.get("/").get_data(as_text=True)


def test_errors_are_pages_in_the_users_language(client):
    Browser(client).login()
    response = client.get("/cases/NOPE-2026-000001")
    assert response.status_code == 404
    html = response.get_data(as_text=True)
    assert "Ikke fundet" in html and "Mine opgaver" in html  # the layout, with its navigation
    htmx = client.get("/cases/NOPE-2026-000001", headers={"HX-Request": "true"})
    assert htmx.status_code == 404 and "<html" not in htmx.get_data(as_text=True)
    assert client.get("/no/such/page").status_code == 404


# --- OpenID Connect --------------------------------------------------------------------------------

METADATA = {
    "issuer": "https://login.example.test/tenant/v2.0",
    "authorization_endpoint": "https://login.example.test/tenant/oauth2/v2.0/authorize",
    "token_endpoint": "https://login.example.test/tenant/oauth2/v2.0/token",
    "jwks_uri": "https://login.example.test/tenant/discovery/v2.0/keys",
}


@pytest.fixture
def oidc_app(ctx):
    ctx.settings = replace(ctx.settings, oidc_client_id="sagsgang-web", oidc_client_secret="s3cret",
                           oidc_metadata_url="https://login.example.test/tenant/v2.0/.well-known/openid-configuration",
                           oidc_label="Entra ID")
    app = create_app(engine_context=ctx)
    app.config.update(TESTING=True)
    client = app.extensions["sagsgang_oauth"].create_client("oidc")
    client.server_metadata.update(METADATA, _loaded_at=time.time())  # no provider to ask in a test
    return app


def test_oidc_login_redirects_to_the_provider(oidc_app):
    client = oidc_app.test_client()
    page = client.get("/login").get_data(as_text=True)
    assert "Log ind med Entra ID" in page
    response = client.get("/login/oidc?next=/tasks/group")
    assert response.status_code == 302
    target = urlsplit(response.headers["Location"])
    assert f"{target.scheme}://{target.netloc}{target.path}" == METADATA["authorization_endpoint"]
    query = parse_qs(target.query)
    assert query["client_id"] == ["sagsgang-web"] and query["response_type"] == ["code"]
    assert query["redirect_uri"] == ["http://localhost/login/oidc/callback"]
    assert "openid" in query["scope"][0].split() and query["state"][0] and query["nonce"][0]


def test_oidc_callback_signs_in_the_user_the_claims_name(oidc_app, monkeypatch):
    client = oidc_app.test_client()
    client.get("/login/oidc?next=/tasks/group")
    provider = oidc_app.extensions["sagsgang_oauth"].create_client("oidc")
    monkeypatch.setattr(provider, "authorize_access_token", lambda **kw: {
        "userinfo": {"sub": "x1", "preferred_username": "Bo@Sagsgang.local", "email_verified": True}})
    response = client.get("/login/oidc/callback?code=abc&state=xyz")
    assert response.status_code == 302 and response.headers["Location"] == "/tasks/group"
    assert "Bo Nielsen" in client.get("/").get_data(as_text=True)


def test_oidc_callback_refuses_someone_without_a_user(oidc_app, monkeypatch):
    client = oidc_app.test_client()
    provider = oidc_app.extensions["sagsgang_oauth"].create_client("oidc")
    monkeypatch.setattr(provider, "authorize_access_token", lambda **kw: {
        "userinfo": {"sub": "x2", "preferred_username": "stranger@elsewhere.example"}})
    response = client.get("/login/oidc/callback?code=abc&state=xyz")
    assert response.status_code == 403
    assert "ingen aktiv Sagsgang-bruger" in response.get_data(as_text=True)
    assert client.get("/").status_code == 302


def test_without_oidc_settings_there_is_no_oidc_login(client):
    assert client.get("/login/oidc").status_code == 404
    assert "Log ind med" not in client.get("/login").get_data(as_text=True)


# --- the mapping itself (engine/services/accounts.py) ------------------------------------------------

def test_claims_map_to_a_username_or_a_verified_email(ctx):
    claims = ("preferred_username", "email")
    with ctx.unit_of_work() as uow:
        session = uow.session
        assert accounts.user_for_claims(session, {"preferred_username": "anna"}, claims)["username"] == "anna"
        assert accounts.user_for_claims(session, {"preferred_username": "ANNA@sagsgang.local"}, claims)["username"] \
            == "anna"
        assert accounts.user_for_claims(session, {"preferred_username": "x@y", "email": "bo@sagsgang.local"},
                                        claims)["username"] == "bo"
        with pytest.raises(accounts.NotFound, match="no Sagsgang user"):
            accounts.user_for_claims(session, {"email": "anna@sagsgang.local", "email_verified": False}, claims)
        with pytest.raises(accounts.NotFound, match="none of preferred_username, email"):
            accounts.user_for_claims(session, {"sub": "only-a-subject"}, claims)
        # a local part alone is not a username match
        with pytest.raises(accounts.NotFound):
            accounts.user_for_claims(session, {"preferred_username": "anna@evil.example"}, claims)


def test_a_deactivated_or_ambiguous_user_cannot_sign_in(ctx):
    from engine.models import User
    from sqlalchemy import select, update

    with ctx.unit_of_work() as uow:
        uow.session.execute(update(User).where(User.username == "bo").values(is_active=False))
        uow.session.execute(update(User).where(User.username == "carl").values(email="ANNA@sagsgang.local"))
        uow.commit()
    with ctx.unit_of_work() as uow:
        with pytest.raises(accounts.NotAllowed, match="deactivated"):
            accounts.user_for_claims(uow.session, {"preferred_username": "bo"}, ("preferred_username",))
        with pytest.raises(accounts.NotAllowed, match="more than one"):
            accounts.user_for_claims(uow.session, {"email": "anna@sagsgang.local"}, ("email",))
        with pytest.raises(accounts.NotAllowed):
            accounts.authenticate(uow.session, "bo", "demo")
        assert accounts.authenticate(uow.session, "anna", "demo")["name"] == "Anna Jensen"
        assert uow.session.scalar(select(User.is_active).where(User.username == "bo")) is False
