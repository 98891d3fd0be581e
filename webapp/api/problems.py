"""Request validation errors as RFC 9457 problem details that name the field.

webargs (under flask-smorest) rejects a request body or query string with HTTP 422 and its
messages keyed by location and field; this turns them into the same shape as the engine's
InvalidInput problems (webapp/errors.py): `field` names the first offending field, `errors` all.
"""
from __future__ import annotations

import marshmallow as ma
from flask import jsonify
from werkzeug.exceptions import UnprocessableEntity

PROBLEM_JSON = "application/problem+json"


class ProblemSchema(ma.Schema):
    """An RFC 9457 problem: what went wrong, for people (`detail`) and programs (`type`, `field`)."""

    class Meta:
        name = "Problem"
        unknown = ma.INCLUDE  # RFC 9457 extension members: a problem may say more (reason, allowed, ...)

    type = ma.fields.String(required=True, metadata={"description": "A URI naming the kind of problem"})
    title = ma.fields.String(required=True)
    status = ma.fields.Integer(required=True)
    detail = ma.fields.String()
    field = ma.fields.String(metadata={"description": "The request field at fault, when there is one"})
    errors = ma.fields.List(ma.fields.Dict(), metadata={"description": "Every field error: field, location, message"})


def flatten(messages, location: str = "", path: str = "") -> list[dict]:
    """webargs' {"json": {"data": {"x": ["msg"]}}} -> [{"field": "data.x", "location": "json", "message": "msg"}]."""
    found: list[dict] = []
    if isinstance(messages, dict):
        for key, value in messages.items():
            if not location:
                found.extend(flatten(value, str(key), ""))
            else:
                key = "(body)" if key == "_schema" else str(key)
                found.extend(flatten(value, location, f"{path}.{key}" if path and key != "(body)" else
                                     path or key))
    elif isinstance(messages, (list, tuple)):
        for message in messages:
            if isinstance(message, (dict, list)):
                found.extend(flatten(message, location, path))
            else:
                found.append({"field": path or "(body)", "location": location or "json", "message": str(message)})
    else:
        found.append({"field": path or "(body)", "location": location or "json", "message": str(messages)})
    return found


def validation_problem(error: UnprocessableEntity):
    data = getattr(error, "data", None) or {}
    errors = flatten(data.get("messages") or data.get("errors") or {}) or \
        [{"field": "(body)", "location": "json", "message": error.description or "invalid request"}]
    first = errors[0]
    body = {"type": "https://sagsgang.dk/problems/ValidationError", "title": "Invalid input", "status": 422,
            "detail": f"{first['field']}: {first['message']}", "field": first["field"], "errors": errors}
    response = jsonify(body)
    response.mimetype = PROBLEM_JSON
    return response, 422


def register_validation_problems(blueprint) -> None:
    blueprint.register_error_handler(UnprocessableEntity, validation_problem)
