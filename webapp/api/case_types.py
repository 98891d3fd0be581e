"""Case types: what can be opened, and the start form each one asks for."""
from __future__ import annotations

from flask import current_app
from flask.views import MethodView
from flask_smorest import Blueprint

from engine.services import case_types, forms

from .auth import current_actor
from .schemas import CaseTypeSummary, StartForm

bp = Blueprint("api_case_types", __name__, url_prefix="/api/case-types", description="Case types")


@bp.route("")
class CaseTypes(MethodView):
    @bp.doc(operationId="listCaseTypes")
    @bp.response(200, CaseTypeSummary(many=True))
    def get(self):
        """List case types (current_version is null until one is published)"""
        with current_app.extensions["sagsgang"].unit_of_work(read_only=True) as uow:
            return case_types.list_case_types(uow.session)


@bp.route("/<string:key>")
class CaseTypeStartForm(MethodView):
    @bp.doc(operationId="getCaseType")
    @bp.response(200, StartForm)
    def get(self, key: str):
        """Get a case type's published version and its start form (JSON Schema of the case's `data`)"""
        with current_app.extensions["sagsgang"].unit_of_work(read_only=True) as uow:
            return forms.start_form(uow, key, current_actor())
