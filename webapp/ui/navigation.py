"""What the layout around every signed-in page shows: the task counts and the menu entries the
user may see, and case-type names for lists that carry only keys.

All of it is read once per request, on first use, from the request's one read-only unit of work
(webapp/reading.py), in one statement for counts and menu rights together
(engine.services.worklists.navigation). A page that never draws the navigation reads none of it.
"""
from __future__ import annotations

from flask import Blueprint, g

from engine.services import worklists

from ..reading import reader

bp = Blueprint("navigation", __name__)

NOTHING = {"counts": {}, "records": False, "case_types": False, "unread": 0}


def navigation() -> dict:
    """{"counts": {"mine", "overdue", "group", "delegated"}, "records": bool, "case_types": bool,
    "unread": the bell's unread notifications}."""
    if "navigation" not in g:
        user = g.get("user")
        g.navigation = worklists.navigation(reader().session, user["username"]) if user else NOTHING
    return g.navigation


def case_types() -> list[dict]:
    """Every case type by name, {"key", "name", "published"}, read once per request."""
    if "case_types" not in g:
        g.case_types = worklists.case_type_choices(reader().session)
        g.case_type_names = {row["key"]: row["name"] for row in g.case_types}
    return g.case_types


def case_type_names() -> dict[str, str]:
    """Case-type names by key, read once per request (for a table that names one per row)."""
    if "case_type_names" not in g:
        case_types()
    return g.case_type_names


def case_type_name(key: str) -> str:
    return case_type_names().get(key, key)


@bp.app_context_processor
def layout_helpers() -> dict:
    return {"navigation": navigation, "case_type_name": case_type_name}
