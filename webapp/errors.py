"""The one place where domain errors become HTTP responses."""
from __future__ import annotations

from flask import Flask, jsonify, render_template, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from engine.errors import Conflict, InvalidInput, NotAllowed, NotFound, SagsgangError, WorkflowError

STATUS = [(NotFound, 404), (NotAllowed, 403), (Conflict, 409), (InvalidInput, 422), (WorkflowError, 422)]
TITLES = {404: "Not found", 403: "Not allowed", 409: "Conflict", 422: "Invalid input"}


def status_of(error: SagsgangError) -> int:
    return next((code for cls, code in STATUS if isinstance(error, cls)), 400)


def problem(error: SagsgangError) -> dict:
    """RFC 9457 problem details."""
    code = status_of(error)
    body = {"type": f"https://sagsgang.dk/problems/{type(error).__name__}", "title": TITLES.get(code, "Error"),
            "status": code, "detail": error.message}
    body.update({k: v for k, v in error.context.items() if isinstance(v, (str, int, float, bool, list, dict))})
    return body


def wants_json() -> bool:
    return request.path.startswith("/api/") or request.accept_mimetypes.best == "application/json"


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(SagsgangError)
    def handle_domain_error(error: SagsgangError):
        body = problem(error)
        if wants_json():
            response = jsonify(body)
            response.mimetype = "application/problem+json"
            return response, body["status"]
        template = "error_partial.html" if request.headers.get("HX-Request") else "error.html"
        return render_template(template, problem=body), body["status"]

    @app.errorhandler(CSRFError)
    def handle_csrf_error(error: CSRFError):
        # An old tab or an expired session: say so instead of a bare "Bad Request".
        body = {"type": "https://sagsgang.dk/problems/CSRF", "title": "Form expired", "status": 400,
                "detail": error.description, "csrf": True}
        if wants_json():
            return jsonify(body), 400
        template = "error_partial.html" if request.headers.get("HX-Request") else "error.html"
        return render_template(template, problem=body), 400

    @app.errorhandler(HTTPException)
    def handle_http_error(error: HTTPException):
        if error.code is None or error.code < 400 or request.endpoint == "static":
            return error
        body = {"type": "about:blank", "title": error.name, "status": error.code, "detail": error.description}
        # Keep what the error says in headers, such as Allow on a 405 (RFC 9110 requires it).
        headers = {k: v for k, v in error.get_headers() if k.lower() != "content-type"}
        if wants_json():
            response = jsonify(body)
            response.mimetype = "application/problem+json"
            return response, error.code, headers
        template = "error_partial.html" if request.headers.get("HX-Request") else "error.html"
        return render_template(template, problem=body), error.code, headers
