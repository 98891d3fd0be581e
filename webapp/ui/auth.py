"""Signing in and out: local accounts, OpenID Connect (Entra ID, Keycloak), and the language choice."""
from __future__ import annotations

import math
import time
from functools import partial

from authlib.integrations.base_client.errors import OAuthError
from authlib.integrations.flask_client import OAuth
from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_limiter import Limiter, RateLimitExceeded, RequestLimit
from flask_limiter.util import get_remote_address
from limits import parse_many

from engine.errors import NotAllowed, NotFound
from engine.services import accounts
from engine.settings import SettingsError

from ..i18n import LANGUAGES
from ..security import public, safe_next, sign_in, sign_out

bp = Blueprint("auth", __name__)

OIDC_CLIENT = "oidc"


def _engine():
    return current_app.extensions["sagsgang"]


def oidc_client():
    """The registered OpenID Connect client, or None when only local accounts are configured."""
    oauth = current_app.extensions.get("sagsgang_oauth")
    return oauth.create_client(OIDC_CLIENT) if oauth is not None else None


def register_oidc(app) -> None:
    """Register the provider from settings; its metadata is fetched on first use, not at start-up.

    One Authlib registry per app (it keeps the app it was given), so apps never share a client.
    """
    settings = app.extensions["sagsgang"].settings
    if settings.oidc_client_id:
        oauth = app.extensions["sagsgang_oauth"] = OAuth(app)
        oauth.register(OIDC_CLIENT, client_id=settings.oidc_client_id, client_secret=settings.oidc_client_secret,
                       server_metadata_url=settings.oidc_metadata_url,
                       client_kwargs={"scope": settings.oidc_scopes})


def _login_page(error: str | None = None, status: int = 200):
    return render_template("auth/login.html", error=error, next=safe_next(request.values.get("next")),
                           oidc_label=_engine().settings.oidc_label if oidc_client() else None,
                           username=request.form.get("username", "")), status


@bp.route("/login", methods=["GET", "POST"])
@public
def login():
    if request.method != "POST":
        return _login_page()
    with _engine().unit_of_work(read_only=True) as uow:
        try:
            account = accounts.authenticate(uow.session, request.form.get("username", ""),
                                            request.form.get("password", ""))
        except NotAllowed:
            return _login_page(_("Wrong username or password."), 401)
    sign_in(account)
    return redirect(safe_next(request.form.get("next")) or url_for("home.index"))


# --- throttling failed sign-ins ---------------------------------------------------------------------

def _account_key() -> str:
    """Failed sign-ins count per account, however its name is typed."""
    return request.form.get("username", "").strip().lower()


def _failed(response) -> bool:
    return response.status_code == 401


def _too_many(limit: RequestLimit):
    """Past the limit every attempt is refused, right password or not, until the window has room."""
    # reset_at is rounded up to the next whole second, so it can lie past the window's own end.
    seconds = min(limit.limit.get_expiry(), limit.reset_at - time.time())
    minutes = max(1, math.ceil(seconds / 60))
    message = ngettext("Too many failed sign-ins. Wait %(num)s minute and try again.",
                       "Too many failed sign-ins. Wait %(num)s minutes and try again.", minutes)
    page, status = _login_page(message, 429)
    response = current_app.make_response((page, status))
    response.headers["Retry-After"] = str(minutes * 60)
    return response


@bp.errorhandler(RateLimitExceeded)
def refused_sign_in(error: RateLimitExceeded):
    """The login page with the reason (made by _too_many), not the app's generic error page."""
    return error.response if error.response is not None else _login_page(
        _("Too many failed sign-ins. Wait a while and try again."), 429)


@bp.record_once
def limit_sign_ins(state) -> None:
    """Throttle failed sign-ins per account and per client address (Flask-Limiter, one limiter per app).

    Runs when the blueprint is registered, after its routes are: it wraps the app's login view. Only
    a failed attempt (401) counts; a successful one does not. If the counting store (Redis) is down,
    sign-in still works and the error is logged: a Redis outage must not lock every employee out.
    """
    app = state.app
    settings = app.extensions["sagsgang"].settings
    for variable, value in (("SAGSGANG_LOGIN_LIMIT_ACCOUNT", settings.login_limit_account),
                            ("SAGSGANG_LOGIN_LIMIT_ADDRESS", settings.login_limit_address)):
        try:
            parse_many(value)
        except ValueError:
            raise SettingsError(f"{variable} must be a rate such as '5 per 15 minutes', not {value!r}") from None
    limiter = Limiter(get_remote_address, app=app, storage_uri=settings.login_limit_storage,
                      key_prefix="sagsgang-login", strategy="moving-window", headers_enabled=False,
                      swallow_errors=True)
    app.extensions["sagsgang_login_limiter"] = limiter
    # The limits below are the only ones (no default or application limits), and a decorated view
    # checks its own in its wrapper. The check Flask-Limiter also hooks before every request of the
    # app only looked for limits that do not exist, at ~0.1-0.2 ms a request (docs/benchmarks.md,
    # task lists); a default limit added to the Limiter above needs that hook back.
    app.before_request_funcs[None].remove(limiter._check_request_limit)
    # Its after-request hook (which counts a failed sign-in: deduct_when) and its teardown have work
    # only where a limit ran, in this blueprint: they move here, and every other request skips them
    # (~25 µs a request).
    for hooks in (app.after_request_funcs, app.teardown_request_funcs):
        for hook in [hook for hook in hooks[None] if _belongs_to(hook, limiter)]:
            hooks[None].remove(hook)
            hooks.setdefault(bp.name, []).append(hook)
    view = app.view_functions["auth.login"]
    view = limiter.limit(settings.login_limit_account, key_func=_account_key, scope="account", methods=["POST"],
                         deduct_when=_failed, on_breach=_too_many)(view)
    view = limiter.limit(settings.login_limit_address, scope="address", methods=["POST"], deduct_when=_failed,
                         on_breach=_too_many)(view)
    app.view_functions["auth.login"] = view


def _belongs_to(hook, limiter: Limiter) -> bool:
    """Whether an app hook is one the limiter registered (a bound method, or a partial of one)."""
    return getattr(hook, "__self__", None) is limiter or (isinstance(hook, partial) and hook.args[:1] == (limiter,))


@bp.post("/logout")
@public
def logout():
    sign_out()
    flash(_("You are logged out."), "info")
    return redirect(url_for("auth.login"))


@bp.get("/login/oidc")
@public
def oidc_login():
    client = oidc_client()
    if client is None:
        abort(404)
    session["oidc_next"] = safe_next(request.args.get("next"))
    return client.authorize_redirect(url_for("auth.oidc_callback", _external=True))


@bp.get("/login/oidc/callback")
@public
def oidc_callback():
    client = oidc_client()
    if client is None:
        abort(404)
    try:
        token = client.authorize_access_token()
    except OAuthError as err:
        current_app.logger.warning("OpenID Connect sign-in failed: %s", err)
        return _login_page(_("Signing in with %(provider)s failed. Try again.",
                             provider=_engine().settings.oidc_label), 401)
    claims = token.get("userinfo") or {}
    with _engine().unit_of_work(read_only=True) as uow:
        try:
            account = accounts.user_for_claims(uow.session, claims, _engine().settings.oidc_user_claims)
        except (NotFound, NotAllowed) as err:
            current_app.logger.warning("OpenID Connect sign-in refused: %s", err)
            return _login_page(_("You are signed in at %(provider)s, but there is no active Sagsgang user for "
                                 "you. Ask an administrator.", provider=_engine().settings.oidc_label), 403)
    target = session.pop("oidc_next", None)
    sign_in(account)
    return redirect(safe_next(target) or url_for("home.index"))


@bp.post("/language")
@public
def language():
    chosen = request.form.get("lang", "")
    if chosen in LANGUAGES:
        session["lang"] = chosen
    return redirect(safe_next(request.form.get("next")) or url_for("home.index"))
