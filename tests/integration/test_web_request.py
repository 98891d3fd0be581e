"""What every request pays for and gets: the security headers (a view's own kept), /health's answer,
and the sign-in limiter's hooks only on the requests where they count."""
from __future__ import annotations

from dataclasses import replace

from sqlalchemy import func, select

from engine.models import CaseType
from webapp import create_app
from webapp.ui.auth import _belongs_to

SECURITY_HEADERS = ("Content-Security-Policy", "X-Frame-Options", "X-Content-Type-Options", "Referrer-Policy",
                    "Cross-Origin-Opener-Policy", "Permissions-Policy")


def test_health_counts_the_shipped_case_types(client, ctx):
    response = client.get("/health")
    with ctx.unit_of_work(read_only=True) as uow:
        shipped = uow.session.scalar(select(func.count(CaseType.id)))
    assert shipped > 0
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "database": ctx.database.engine.dialect.name,
                                   "case_types": shipped}


def test_every_response_gets_each_security_header_once_and_keeps_a_views_own(client):
    for response in (client.get("/health"), client.get("/login"), client.get("/no/such/page")):
        for name in SECURITY_HEADERS:
            assert len(response.headers.getlist(name)) == 1, (response.request.path, name)
        assert response.headers.getlist("Cache-Control") == ["no-store"]
        assert "Strict-Transport-Security" not in response.headers  # plain-HTTP settings
    docs = client.get("/api/docs")  # Swagger UI's page sets a CSP of its own
    assert len(docs.headers.getlist("Content-Security-Policy")) == 1
    assert "'unsafe-inline'" in docs.headers["Content-Security-Policy"]
    asset = client.get("/static/favicon.svg")  # static files may be cached
    assert asset.status_code == 200 and "no-store" not in asset.headers.get("Cache-Control", "")
    assert asset.headers["X-Frame-Options"] == "DENY"


def test_secure_cookies_bring_strict_transport_security(ctx):
    ctx.settings = replace(ctx.settings, cookie_secure=True)
    app = create_app(engine_context=ctx)
    response = app.test_client().get("/health")
    assert response.headers.getlist("Strict-Transport-Security") == ["max-age=31536000; includeSubDomains"]
    assert response.headers["Content-Security-Policy"].startswith("default-src 'self'")


def test_the_sign_in_limiters_hooks_run_only_on_the_auth_blueprints_requests(app):
    limiter = app.extensions["sagsgang_login_limiter"]
    everywhere = app.before_request_funcs[None] + app.after_request_funcs[None] + app.teardown_request_funcs[None]
    assert not [hook for hook in everywhere if _belongs_to(hook, limiter)]
    assert [hook for hook in app.after_request_funcs["auth"] if _belongs_to(hook, limiter)]
    assert [hook for hook in app.teardown_request_funcs["auth"] if _belongs_to(hook, limiter)]
