"""The user's API tokens and, for administrators, webhook subscriptions.

Thin pages over engine.services.api_tokens and engine.services.webhooks (the same services as
/api/tokens and /api/webhooks). A new token is shown once, on the page that answers its form, and
never again: the database keeps only its keyed hash. Refusals are shown beside their field in the
user's language; the webhook pages answer 403 to anyone but an administrator (the service decides).
"""
from __future__ import annotations

import secrets

from flask import Blueprint, current_app, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from engine import permissions
from engine.errors import InvalidInput, NotFound
from engine.services import api_tokens, webhooks
from engine.services.org import get_user

from ..security import current_user

bp = Blueprint("account", __name__, url_prefix="/account")

EXPIRY_CHOICES = (30, 90, 365)


def _engine():
    return current_app.extensions["sagsgang"]


@bp.app_context_processor
def account_menu():
    def may_manage_webhooks() -> bool:
        if not getattr(g, "user", None):
            return False
        with _engine().unit_of_work(read_only=True) as uow:
            return permissions.is_administrator_id(uow.session, get_user(uow.session, current_user()).id)
    return {"may_manage_webhooks": may_manage_webhooks}


# --- personal API tokens ---------------------------------------------------------------------------

def _token_problem(error: InvalidInput, name: str) -> str:
    if error.field == "expires_in_days":
        return _("Choose how long the token is valid.")
    if not name.strip() or len(name.strip()) > 100:
        return _("Give the token a name of 1 to 100 characters, such as the system that uses it.")
    return _("You have %(n)s active tokens, the most allowed. Revoke one first.", n=api_tokens.MAX_TOKENS_PER_USER)


def _tokens_page(new_token: dict | None = None, errors: dict | None = None, form: dict | None = None,
                 status: int = 200):
    with _engine().unit_of_work(read_only=True) as uow:
        tokens = api_tokens.list_tokens(uow.session, current_user())
    return render_template("account/tokens.html", tokens=tokens, new_token=new_token, errors=errors or {},
                           form=form or {"name": "", "expires_in_days": "90"}, choices=EXPIRY_CHOICES,
                           active="account"), status


@bp.get("/tokens")
def tokens():
    return _tokens_page()


@bp.post("/tokens")
def create_token():
    """Make a token and show it this once (the answer is no-store, like every page)."""
    name, days = request.form.get("name", ""), request.form.get("expires_in_days", "")
    form = {"name": name, "expires_in_days": days}
    expires = int(days) if days.isdigit() else None
    if days and expires is None:
        return _tokens_page(errors={"expires_in_days": _("Choose how long the token is valid.")}, form=form,
                            status=422)
    try:
        with _engine().unit_of_work() as uow:
            made = api_tokens.create_token(uow, current_user(), name, expires)
    except InvalidInput as err:
        field = "expires_in_days" if err.field == "expires_in_days" else "name"
        return _tokens_page(errors={field: _token_problem(err, name)}, form=form, status=422)
    return _tokens_page(new_token=made)


@bp.post("/tokens/<int:token_id>/revoke")
def revoke_token(token_id: int):
    with _engine().unit_of_work() as uow:
        revoked = api_tokens.revoke_token(uow, current_user(), token_id)
    flash(_("The token %(name)s is revoked; systems using it are refused from now on.", name=revoked["name"]),
          "success")
    return redirect(url_for("account.tokens"))


# --- webhook subscriptions (administrators) -----------------------------------------------------------

WEBHOOK_PROBLEMS = {
    "url": lambda: _("Enter an address beginning with https:// or http://, at most 1000 characters."),
    "secret": lambda: _("The secret must be 16 to 200 characters."),
    "events": lambda: _("Choose at least one event."),
    "description": lambda: _("The description can be at most 200 characters."),
}


def event_title(event: str) -> str:
    return {"case.opened": _("A case is opened"), "case.closed": _("A case is closed"),
            "task.created": _("A task is created"), "task.completed": _("A task is completed"),
            "decision.recorded": _("A committee decision is recorded")}.get(event, event)


def _webhooks_page(errors: dict | None = None, form: dict | None = None, status: int = 200):
    with _engine().unit_of_work(read_only=True) as uow:
        subscriptions = webhooks.list_subscriptions(uow.session, current_user())
    form = form or {"url": "", "events": [], "description": "", "secret": secrets.token_urlsafe(24)}
    return render_template("account/webhooks.html", subscriptions=subscriptions, errors=errors or {}, form=form,
                           events=webhooks.EVENT_NAMES, event_title=event_title, active="account"), status


@bp.get("/webhooks")
def webhook_list():
    return _webhooks_page()


@bp.post("/webhooks")
def create_webhook():
    form = {"url": request.form.get("url", ""), "events": request.form.getlist("events"),
            "description": request.form.get("description", ""), "secret": request.form.get("secret", "")}
    try:
        with _engine().unit_of_work() as uow:
            made = webhooks.create_subscription(uow, current_user(), form["url"], form["secret"], form["events"],
                                                form["description"])
    except InvalidInput as err:
        problem = WEBHOOK_PROBLEMS.get(err.field)
        return _webhooks_page(errors={err.field if problem else "url": (problem or WEBHOOK_PROBLEMS["url"])()},
                              form=form, status=422)
    flash(_("Deliveries to %(url)s begin with the next event. Keep the secret: it is not shown again.",
            url=made["url"]), "success")
    return redirect(url_for("account.webhook_list"))


@bp.get("/webhooks/<int:subscription_id>")
def webhook_deliveries(subscription_id: int):
    with _engine().unit_of_work(read_only=True) as uow:
        subscription = next((s for s in webhooks.list_subscriptions(uow.session, current_user())
                             if s["id"] == subscription_id), None)
        if subscription is None:
            raise NotFound(f"unknown webhook subscription {subscription_id}", field="subscription_id")
        deliveries = webhooks.deliveries(uow.session, current_user(), subscription_id)
    return render_template("account/deliveries.html", subscription=subscription, deliveries=deliveries,
                           event_title=event_title, active="account")


@bp.post("/webhooks/<int:subscription_id>/delete")
def delete_webhook(subscription_id: int):
    with _engine().unit_of_work() as uow:
        webhooks.delete_subscription(uow, current_user(), subscription_id)
    flash(_("The webhook is deleted; nothing more is sent to it."), "success")
    return redirect(url_for("account.webhook_list"))
