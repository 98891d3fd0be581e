"""Bearer-token authentication for the API: every request acts as the token's user."""
from __future__ import annotations

from flask import current_app, g, jsonify, request

from engine.services import api_tokens

from .problems import PROBLEM_JSON


def authenticate():
    """Run before every API view: set g.api_user, or answer 401 with a problem."""
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return _unauthorized("send a personal API token: Authorization: Bearer <token>")
    ctx = current_app.extensions["sagsgang"]
    try:
        with ctx.unit_of_work(read_only=True) as uow:
            found = api_tokens.authenticate_token(uow, token.strip())
    except api_tokens.NotAuthenticated as err:
        return _unauthorized(err.message)
    if found["touch"]:
        with ctx.unit_of_work() as uow:
            api_tokens.record_token_use(uow, found["token_id"])
    g.api_user = found["username"]
    return None


def current_actor() -> str:
    """The username the request acts as (set by `authenticate`)."""
    return g.api_user


def _unauthorized(detail: str):
    response = jsonify(type="https://sagsgang.dk/problems/NotAuthenticated", title="Not authenticated",
                       status=401, detail=detail)
    response.mimetype = PROBLEM_JSON
    response.headers["WWW-Authenticate"] = 'Bearer realm="sagsgang"'
    return response, 401
