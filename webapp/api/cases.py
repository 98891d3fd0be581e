"""Cases: list the ones you may see, open one, read one, close one."""
from __future__ import annotations

from flask import current_app, url_for
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import RAISE

from engine.search import service as search
from engine.services import cases, queries

from .auth import current_actor
from .paging import paged
from .schemas import CaseDetail, CaseListArgs, CasePage, CaseState, CloseCaseArgs, ClosedCase, OpenCaseArgs, ViewArgs

bp = Blueprint("api_cases", __name__, url_prefix="/api/cases", description="Cases")


def _engine():
    return current_app.extensions["sagsgang"]


@bp.route("")
class Cases(MethodView):
    @bp.doc(operationId="listCases")
    @bp.arguments(CaseListArgs, location="query", as_kwargs=True, unknown=RAISE)
    @bp.response(200, CasePage)
    def get(self, **args):
        """List the cases you may see, last changed first (the page goes to the access log)"""
        with _engine().unit_of_work(read_only=True) as uow:
            page = search.list_cases(uow, current_actor(), **args)
        return paged("api_cases.Cases", page, args)

    @bp.doc(operationId="openCase")
    @bp.arguments(OpenCaseArgs)
    @bp.response(201, CaseState, headers={"Location": {"description": "The new case", "schema": {"type": "string"}}})
    def post(self, body):
        """Open a case: `data` must satisfy the case type's start form (GET /api/case-types/{key})"""
        with _engine().unit_of_work() as uow:
            opened = cases.open_case(uow, body["case_type"], current_actor(), body["title"], body["grouping"],
                                     body["data"], body["caseworker"])
        return opened, 201, {"Location": url_for("api_cases.Case", number=opened["number"])}


@bp.route("/<string:number>")
class Case(MethodView):
    @bp.doc(operationId="getCase")
    @bp.arguments(ViewArgs, location="query", as_kwargs=True, unknown=RAISE)
    @bp.response(200, CaseDetail, headers={"ETag": {"description": "The case's row_version",
                                                    "schema": {"type": "string"}}})
    def get(self, number: str, purpose: str | None = None):
        """Get a case with its tasks and journal (the view goes to the access log)"""
        with _engine().unit_of_work(read_only=True) as uow:
            overview = queries.case_overview(uow.session, number, current_actor(), purpose)
        return overview, 200, {"ETag": f'"{overview["row_version"]}"'}


@bp.post("/<string:number>/close")
@bp.doc(operationId="closeCase")
@bp.arguments(CloseCaseArgs)
@bp.response(200, ClosedCase)
def close(body, number: str):
    """Close a case before its workflow ends (its caseworker or an administrator; after its GDPR review)"""
    with _engine().unit_of_work() as uow:
        return cases.close_case(uow, number, current_actor(), body["reason"])
