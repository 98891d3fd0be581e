"""Substitutes for absence: name a colleague to cover your tasks for some days, see current and planned
cover, end it early. An administrator names cover for anyone. The engine decides who may."""
from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from engine.errors import Conflict, InvalidInput, NotAllowed, NotFound
from engine.services import org

from ..security import current_user

bp = Blueprint("substitutes", __name__, url_prefix="/substitutes")

FIELDS = ("user", "substitute", "from_date", "to_date")


def _engine():
    return current_app.extensions["sagsgang"]


def _page(values: dict | None = None, errors: dict | None = None, status: int = 200):
    with _engine().unit_of_work(read_only=True) as uow:
        overview = org.substitution_overview(uow.session, current_user())
    shown = {"user": current_user(), "substitute": "", "from_date": overview["today"], "to_date": ""}
    shown.update(values or {})
    return render_template("substitutes/index.html", overview=overview, values=shown, errors=errors or {},
                           active="substitutes"), status


@bp.get("")
def index():
    return _page()


@bp.post("")
def create():
    values = {name: request.form.get(name, "").strip() for name in FIELDS}
    if not values["user"]:
        values["user"] = current_user()
    try:
        with _engine().unit_of_work() as uow:
            made = org.create_substitution(uow, current_user(), values["user"], values["substitute"],
                                           values["from_date"], values["to_date"])
    except (InvalidInput, NotFound) as err:
        field = err.context.get("field")
        if field not in FIELDS:
            raise
        return _page(values, {field: [_problem(err, field, values)]}, 422)
    except NotAllowed:
        return _page(values, {"user": [_("Only %(name)s or an administrator names a substitute for them.",
                                         name=values["user"])]}, 403)
    flash(_("%(substitute)s covers for %(user)s from %(start)s to %(end)s.", substitute=made["substitute"],
            user=made["user"], start=made["from_date"], end=made["to_date"]), "success")
    return redirect(url_for("substitutes.index"))


@bp.post("/<int:substitution_id>/end")
def end(substitution_id: int):
    try:
        with _engine().unit_of_work() as uow:
            org.end_substitution(uow, current_user(), substitution_id)
    except Conflict:
        flash(_("The substitution had already ended."), "error")
    except NotAllowed:
        flash(_("You may not end this substitution."), "error")
    else:
        flash(_("The substitution has ended."), "success")
    return redirect(url_for("substitutes.index"))


def _problem(err: InvalidInput | NotFound, field: str, values: dict) -> str:
    """The engine's refusal, beside its field, in the user's language."""
    typed, reason = values.get(field, ""), err.context.get("reason")
    if isinstance(err, NotFound):
        return _("There is no user “%(name)s”.", name=typed) if typed else _("Choose a colleague.")
    if reason == "format":
        return _("“%(value)s” is not a date. Write it as 2026-12-24.", value=typed) if typed else _("Choose a date.")
    messages = {
        "before_start": _("The last day comes before the first day."),
        "passed": _("The last day has passed."),
        "overlap": _("%(substitute)s already covers for %(user)s on some of these days.",
                     substitute=values["substitute"], user=values["user"]),
        "self": _("Nobody can be their own substitute."),
        "deactivated": _("%(name)s is deactivated and cannot be a substitute.", name=typed),
    }
    return messages.get(reason, err.message)
