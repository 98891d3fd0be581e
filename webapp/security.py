"""Who is signed in, for how long, and the headers and checks every response gets.

Every view needs a signed-in user unless it is marked `@public`: a page another engineer adds is
protected without remembering to. CSRF (Flask-WTF) covers every POST, htmx requests included
(the layout sends the token in the X-CSRFToken header).
"""
from __future__ import annotations

import time
from datetime import timedelta
from urllib.parse import urlsplit

from flask import Flask, current_app, flash, g, jsonify, redirect, request, session, url_for
from flask_babel import gettext as _

from engine.settings import Settings

from .extensions import csrf

SESSION_USER = "user"
# Only our own files: no inline script or style, no other origin, no framing.
CONTENT_SECURITY_POLICY = "; ".join([
    "default-src 'self'", "script-src 'self'", "style-src 'self'", "img-src 'self' data:",
    "font-src 'self'", "connect-src 'self'", "object-src 'none'", "base-uri 'self'",
    "form-action 'self'", "frame-ancestors 'none'",
])


def public(view):
    """Mark a view that anyone may call without signing in (login, health, static files)."""
    view.sagsgang_public = True
    return view


def current_user() -> str:
    """The signed-in user's username (every non-public view has one)."""
    return g.user["username"]


def sign_in(account: dict) -> None:
    """Start a fresh session for `account` (a new session id, so a planted one is worthless)."""
    language = session.get("lang")
    session.clear()
    session.permanent = True
    now = int(time.time())
    session[SESSION_USER] = {"username": account["username"], "name": account["name"]}
    session["since"] = now
    session["seen"] = now
    if language:
        session["lang"] = language


def sign_out() -> None:
    language = session.get("lang")
    session.clear()
    if language:
        session["lang"] = language


def safe_next(target: str | None) -> str | None:
    """A path on this site to return to after signing in; anything else is dropped."""
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return None
    return target


def _session_expired(settings: Settings) -> bool:
    now = time.time()
    seen, since = session.get("seen", 0), session.get("since", 0)
    return now - seen > settings.session_idle_minutes * 60 or now - since > settings.session_max_minutes * 60


def _require_login():
    g.user = None
    view = current_app.view_functions.get(request.endpoint) if request.endpoint else None
    settings: Settings = current_app.extensions["sagsgang"].settings
    if session.get(SESSION_USER):
        if _session_expired(settings):
            sign_out()
            flash(_("Your session has expired. Please log in again."), "info")
        else:
            g.user = session[SESSION_USER]
            now = int(time.time())
            if now - session.get("seen", 0) > 30:  # rewrite the cookie at most twice a minute
                session["seen"] = now
    if g.user is not None or view is None or request.endpoint == "static" or getattr(view, "sagsgang_public", False):
        return None
    if request.path.startswith("/api/"):
        response = jsonify(type="https://sagsgang.dk/problems/NotSignedIn", title="Not signed in", status=401,
                           detail="sign in first")
        response.mimetype = "application/problem+json"
        return response, 401
    target = url_for("auth.login", next=request.full_path.rstrip("?") if request.method == "GET" else None)
    if request.headers.get("HX-Request"):
        return "", 204, {"HX-Redirect": target}
    return redirect(target)


# Every response's headers, unless the view set its own: (name, lower-case name, value).
_SECURITY_HEADERS = tuple((name, name.lower(), value) for name, value in (
    ("Content-Security-Policy", CONTENT_SECURITY_POLICY),
    ("X-Frame-Options", "DENY"),
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "same-origin"),
    ("Cross-Origin-Opener-Policy", "same-origin"),
    ("Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=()"),
))
_HSTS = ("Strict-Transport-Security", "strict-transport-security", "max-age=31536000; includeSubDomains")


def _security_headers(response):
    """Add the security headers the view did not set itself.

    One pass over the response's headers: Werkzeug's `setdefault` looks a missing header up by
    raising and catching a KeyError, ~7 µs for each of the seven (docs/benchmarks.md, task lists)."""
    headers = response.headers
    present = {name.lower() for name, _value in headers}
    for name, lower, value in _SECURITY_HEADERS:
        if lower not in present:
            headers.add(name, value)
    if current_app.config["SESSION_COOKIE_SECURE"] and _HSTS[1] not in present:
        headers.add(_HSTS[0], _HSTS[2])
    if "cache-control" not in present and request.endpoint != "static":
        # Pages carry personal data: keep them out of shared and back/forward caches.
        headers["Cache-Control"] = "no-store"
    return response


def configure_security(app: Flask, settings: Settings) -> None:
    app.config.update(
        PERMANENT_SESSION_LIFETIME=timedelta(minutes=settings.session_max_minutes),
        SESSION_COOKIE_SECURE=settings.cookie_secure,
        SESSION_COOKIE_NAME="sagsgang_session",
        # The cookie is signed anew only when the session changes: _require_login moves "seen" at
        # most twice a minute, which is what keeps an active session alive (expiry is checked on
        # the server); signing it on every page cost ~0.3 ms each (docs/benchmarks.md, task lists).
        SESSION_REFRESH_EACH_REQUEST=False,
        WTF_CSRF_TIME_LIMIT=settings.session_max_minutes * 60,
    )
    csrf.init_app(app)
    app.before_request(_require_login)
    app.after_request(_security_headers)

    @app.context_processor
    def signed_in_user():
        return {"user": g.get("user")}

