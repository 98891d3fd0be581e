"""The REST API under /api/: flask-smorest blueprints, marshmallow schemas, personal API tokens.

Every operation is documented in the OpenAPI 3 document at /api/openapi.json (an interactive page
at /api/docs, from a vendored Swagger UI). Requests carry `Authorization: Bearer <token>` (tokens
are made with POST /api/tokens or in the UI) and act as the token's user, asking the engine's
permission functions like the UI does. Every error is an RFC 9457 problem (application/problem+json):
domain errors through webapp/errors.py, request validation (422, naming the field) here.
"""
from __future__ import annotations

import functools
import inspect
from pathlib import Path

from flask import Blueprint, Flask, render_template, send_from_directory
from flask_smorest import Api

from ..extensions import csrf
from ..security import public
from . import auth, case_types, cases, committees, documents, search, tasks, tokens, webhooks
from .problems import PROBLEM_JSON, ProblemSchema, register_validation_problems

STATIC = Path(__file__).resolve().parent / "static"
API_BLUEPRINTS = (case_types.bp, cases.bp, documents.bp, tasks.bp, committees.bp, search.bp, tokens.bp,
                  webhooks.bp)


class SagsgangApi(Api):
    """flask-smorest's Api whose documented errors are problem details.

    Its own HTTPException handler is not registered: webapp/errors.py answers every error, so the
    API and the UI cannot drift apart on what an error looks like.
    """

    ERROR_SCHEMA = ProblemSchema
    DEFAULT_ERROR_RESPONSE_NAME = "DEFAULT_ERROR"

    def _register_error_handlers(self):
        pass


docs = Blueprint("api_docs", __name__, template_folder="templates")


@docs.get("/api/docs")
@public
def interactive():
    """The interactive API page (Swagger UI, served from this site)."""
    response = render_template("api/docs.html")
    # Swagger UI sets style attributes; scripts stay restricted to this site.
    return response, 200, {"Content-Security-Policy": "default-src 'self'; script-src 'self'; "
                           "style-src 'self' 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'"}


@docs.get("/api/static/<path:filename>")
@public
def asset(filename: str):
    return send_from_directory(STATIC, filename, max_age=3600)


for _blueprint in API_BLUEPRINTS:
    _blueprint.before_request(auth.authenticate)
    register_validation_problems(_blueprint)
    csrf.exempt(_blueprint)  # token-authenticated: no cookies, so no cross-site forgery


def configure_api(app: Flask) -> None:
    """Attach the API to `app`: blueprints, OpenAPI document, token authentication, problem details."""
    app.config.update(
        API_TITLE="Sagsgang API",
        API_VERSION="1",
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX="/api",
        OPENAPI_JSON_PATH="openapi.json",
        API_SPEC_OPTIONS={
            "info": {"description": __doc__.split("\n\n", 1)[1].strip(),
                     "license": {"name": "EUPL-1.2"}},
            "servers": [{"url": "/"}],
            "security": [{"bearerAuth": []}],
            "components": {"securitySchemes": {"bearerAuth": {
                "type": "http", "scheme": "bearer",
                "description": "A personal API token: POST /api/tokens or the user's settings page"}}},
        },
    )
    # One Api per app: it holds the app's OpenAPI document (tests build many apps in one process).
    api = SagsgangApi(app)
    for blueprint in API_BLUEPRINTS:
        api.register_blueprint(blueprint)
    app.register_blueprint(docs)
    _problem_media_type(api)
    # Every API view authenticates its own requests (bearer tokens), not through the UI's session.
    names = {bp.name for bp in API_BLUEPRINTS} | {"api-docs"}
    for endpoint, view in list(app.view_functions.items()):
        if endpoint.split(".", 1)[0] in names:
            app.view_functions[endpoint] = public(_as_function(view))


def _as_function(view):
    """A plain function for a bound method (flask-smorest's document view), so it can be marked."""
    if not inspect.ismethod(view):
        return view

    @functools.wraps(view)
    def function(*args, **kwargs):
        return view(*args, **kwargs)

    return function


def _problem_media_type(api: SagsgangApi) -> None:
    """Document error responses as application/problem+json, which is what webapp/errors.py sends."""
    spec = api.spec
    original = spec.to_dict

    def to_dict():
        document = original()
        for response in document.get("components", {}).get("responses", {}).values():
            content = response.get("content", {})
            if "application/json" in content and _is_problem(content["application/json"]):
                content[PROBLEM_JSON] = content.pop("application/json")
        return document

    spec.to_dict = to_dict


def _is_problem(media: dict) -> bool:
    return media.get("schema", {}).get("$ref", "").endswith("/Problem")
