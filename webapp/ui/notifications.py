"""The bell in the page header and the notifications page: what is new for me, marked read by me."""
from __future__ import annotations

from flask import Blueprint, current_app, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from engine.services import notifications

from ..security import current_user
from . import navigation

bp = Blueprint("notifications", __name__, url_prefix="/notifications")


def _engine():
    return current_app.extensions["sagsgang"]


@bp.app_context_processor
def bell():
    """The unread count, read once per request and only by pages that draw the header."""
    def unread_notifications() -> int:
        if "unread_notifications" not in g:
            g.unread_notifications = 0
            if g.get("user"):  # the layout's navigation statement counts them (webapp/ui/navigation.py)
                g.unread_notifications = navigation.navigation()["unread"]
        return g.unread_notifications

    return {"unread_notifications": unread_notifications}


@bp.get("/")
def index():
    unread_only = request.args.get("show") == "unread"
    with _engine().unit_of_work(read_only=True) as uow:
        items = notifications.list_notifications(uow.session, current_user(), unread_only=unread_only)
    return render_template("notifications/index.html", items=items, unread_only=unread_only)


@bp.post("/read")
def mark_read():
    """Mark the ticked notifications read (`id`, repeated), or all of them (`all`)."""
    ids = None if request.form.get("all") else [int(v) if v.isdigit() else v for v in request.form.getlist("id")]
    with _engine().unit_of_work() as uow:
        changed = notifications.mark_read(uow, current_user(), ids)
    if ids is None:
        flash(_("All notifications are marked as read."), "success")
    elif changed:
        flash(_("The notification is marked as read."), "success")
    return redirect(url_for("notifications.index", show=request.form.get("show") or None))
