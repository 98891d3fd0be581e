"""Failed sign-ins are throttled per account and per client address (Flask-Limiter); the count lives
in memory for one process and in Redis for several."""
from __future__ import annotations

import os
import uuid
from dataclasses import replace

import pytest
import redis

from engine.context import EngineContext
from engine.settings import Settings, SettingsError
from webapp import create_app

TOO_MANY = "For mange mislykkede log ind-forsøg."


def _app(ctx: EngineContext, **settings):
    app = create_app(engine_context=EngineContext(replace(ctx.settings, **settings), ctx.database))
    app.config.update(TESTING=True)
    return app


def _login_from(client, username: str, password: str, address: str):
    env = {"REMOTE_ADDR": address}
    page = client.get("/login", environ_base=env).get_data(as_text=True)
    token = page.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    return client.post("/login", data={"username": username, "password": password, "csrf_token": token},
                        environ_base=env)


def test_an_account_is_refused_after_five_failed_sign_ins_even_with_the_right_password(client, ctx):
    for _ in range(5):
        assert _login_from(client, "anna", "wrong", "10.0.0.1").status_code == 401
    response = _login_from(client, "Anna ", "demo", "10.0.0.2")  # another address, the name typed differently
    assert response.status_code == 429
    html = response.get_data(as_text=True)
    assert TOO_MANY in html and "Vent 15 minutter" in html
    assert response.headers["Retry-After"] == "900"
    assert 'value="Anna "' in html  # the login form is still there, with the name typed
    # Another account is not affected.
    assert _login_from(client, "bo", "demo", "10.0.0.1").status_code == 302


def test_successful_sign_ins_do_not_count(sqlite_ctx):
    client = _app(sqlite_ctx).test_client()
    for _ in range(3):
        assert _login_from(client, "anna", "demo", "10.0.0.1").status_code == 302
    for _ in range(4):
        assert _login_from(client, "anna", "wrong", "10.0.0.1").status_code == 401
    assert _login_from(client, "anna", "demo", "10.0.0.1").status_code == 302


def test_an_address_is_refused_after_its_limit_whatever_the_accounts(sqlite_ctx):
    client = _app(sqlite_ctx, login_limit_address="3 per 15 minutes").test_client()
    for name in ("anna", "bo", "nobody"):
        assert _login_from(client, name, "wrong", "10.0.0.9").status_code == 401
    assert _login_from(client, "carl", "demo", "10.0.0.9").status_code == 429
    assert _login_from(client, "carl", "demo", "10.0.0.10").status_code == 302  # another address


def test_web_processes_share_the_count_in_redis(sqlite_ctx):
    storage = "redis://127.0.0.1:6379/15"
    try:
        redis.Redis.from_url(storage, socket_timeout=2).ping()
    except redis.RedisError as err:
        if os.environ.get("CI"):
            pytest.fail(f"Redis is required in CI: {err}")
        pytest.skip(f"Redis not reachable at 127.0.0.1:6379: {err}")
    first = _app(sqlite_ctx, login_limit_storage=storage).test_client()
    second = _app(sqlite_ctx, login_limit_storage=storage).test_client()
    ghost = f"ghost-{uuid.uuid4().hex[:8]}"  # a fresh account name: no count left from another run
    address = f"10.1.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}"
    for client in (first, second, first, second, first):
        assert _login_from(client, ghost, "wrong", address).status_code == 401
    assert _login_from(second, ghost, "wrong", address).status_code == 429


def test_limits_and_their_store_come_from_the_settings(tmp_path):
    env = {"SAGSGANG_INSTANCE_PATH": str(tmp_path)}
    assert Settings.from_env(env).login_limit_storage == "memory://"
    production = dict(env, SAGSGANG_MODE="production", SAGSGANG_DATABASE_URL="sqlite://", SAGSGANG_SECRET_KEY="x",
                      SAGSGANG_DATA_KEY=Settings.from_env(env).data_key,
                      SAGSGANG_LOOKUP_KEY=Settings.from_env(env).lookup_key,
                      SAGSGANG_BROKER_URL="redis://redis:6379/0")
    assert Settings.from_env(production).login_limit_storage == "redis://redis:6379/0"
    named = dict(env, SAGSGANG_LOGIN_LIMIT_STORAGE="redis://cache:6379/3", SAGSGANG_LOGIN_LIMIT_ACCOUNT="3/hour")
    assert Settings.from_env(named).login_limit_storage == "redis://cache:6379/3"
    assert Settings.from_env(named).login_limit_account == "3/hour"
    with pytest.raises(SettingsError, match="SAGSGANG_LOGIN_LIMIT_STORAGE"):
        Settings.from_env(dict(env, SAGSGANG_LOGIN_LIMIT_STORAGE="memcached://x"))


def test_a_limit_that_is_not_a_rate_stops_start_up_naming_the_variable(sqlite_ctx):
    with pytest.raises(SettingsError, match="SAGSGANG_LOGIN_LIMIT_ADDRESS"):
        _app(sqlite_ctx, login_limit_address="lots")


def _login_via_proxy(client, username: str, password: str, forwarded_for: str):
    env = {"REMOTE_ADDR": "10.9.9.9"}  # the proxy's own address, the same for every client
    headers = {"X-Forwarded-For": forwarded_for}
    page = client.get("/login", environ_base=env, headers=headers).get_data(as_text=True)
    token = page.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    return client.post("/login", data={"username": username, "password": password, "csrf_token": token},
                       environ_base=env, headers=headers)


def test_behind_a_trusted_proxy_the_address_limit_counts_each_client(sqlite_ctx):
    client = _app(sqlite_ctx, login_limit_address="2 per 15 minutes", trusted_proxies=1).test_client()
    for name in ("anna", "bo"):
        assert _login_via_proxy(client, name, "wrong", "192.0.2.1").status_code == 401
    assert _login_via_proxy(client, "carl", "demo", "192.0.2.1").status_code == 429
    # Another client behind the same proxy is not refused for the first one's failures.
    assert _login_via_proxy(client, "carl", "demo", "192.0.2.2").status_code == 302


def test_without_trusted_proxies_a_forwarded_address_is_ignored(sqlite_ctx):
    """A client that writes its own X-Forwarded-For cannot step around the limit."""
    client = _app(sqlite_ctx, login_limit_address="2 per 15 minutes").test_client()
    for name, forged in (("anna", "192.0.2.1"), ("bo", "192.0.2.2")):
        assert _login_via_proxy(client, name, "wrong", forged).status_code == 401
    assert _login_via_proxy(client, "carl", "demo", "192.0.2.3").status_code == 429


def test_trusted_proxies_must_be_a_whole_number():
    with pytest.raises(SettingsError, match="SAGSGANG_TRUSTED_PROXIES"):
        Settings.from_env({"SAGSGANG_TRUSTED_PROXIES": "one"})
    assert Settings.from_env({"SAGSGANG_TRUSTED_PROXIES": "2"}).trusted_proxies == 2


def test_the_login_limits_are_the_only_ones_and_no_other_request_pays_for_a_check(client, ctx):
    """The limiter's hook before every request is taken out (webapp/ui/auth.py): right only while
    the login view's own limits are all there are."""
    app = client.application
    limiter = app.extensions["sagsgang_login_limiter"]
    assert not limiter.limit_manager.default_limits and not limiter.limit_manager.application_limits
    assert limiter._check_request_limit not in app.before_request_funcs[None]
    assert {name for name, view in app.view_functions.items() if hasattr(view, "__wrapper-limiter-instance")} == {
        "auth.login"}
    for _ in range(6):  # other pages and other requests do not count towards the limit
        assert client.get("/health").status_code == 200
    for _ in range(5):
        assert _login_from(client, "anna", "wrong", "10.0.0.9").status_code == 401
    assert _login_from(client, "anna", "demo", "10.0.0.9").status_code == 429
