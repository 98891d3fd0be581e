"""Tasks: your lists, one task with its form, claim it, complete it."""
from __future__ import annotations

import re

from flask import current_app, request
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import RAISE

from engine.errors import InvalidInput
from engine.services import cases, forms, tasks, worklists

from .auth import current_actor
from .paging import paged
from .schemas import CaseState, CompleteTaskArgs, TaskAction, TaskDetail, TaskListArgs, TaskPage

bp = Blueprint("api_tasks", __name__, url_prefix="/api/tasks", description="Tasks")

IF_MATCH = {"in": "header", "name": "If-Match", "required": False, "schema": {"type": "string"},
            "description": "The case's row_version (its ETag); 409 if the case changed since"}
_ETAG = re.compile(r'^\s*(?:W/)?"?(\d{1,18})"?\s*$')


def _engine():
    return current_app.extensions["sagsgang"]


@bp.route("")
class Tasks(MethodView):
    @bp.doc(operationId="listTasks")
    @bp.arguments(TaskListArgs, location="query", as_kwargs=True, unknown=RAISE)
    @bp.response(200, TaskPage)
    def get(self, scope: str, **args):
        """List your open tasks (scope=mine) or your groups' unassigned ones (scope=group)"""
        with _engine().unit_of_work(read_only=True) as uow:
            listing = worklists.my_tasks if scope == "mine" else worklists.group_tasks
            page = listing(uow.session, current_actor(), **args)
        return paged("api_tasks.Tasks", page, dict(args, scope=scope))


@bp.route("/<string:task_id>")
class Task(MethodView):
    @bp.doc(operationId="getTask")
    @bp.response(200, TaskDetail)
    def get(self, task_id: str):
        """Get a task with its form's JSON Schema, current values and what you may do with it"""
        with _engine().unit_of_work(read_only=True) as uow:
            return forms.task_form(uow, task_id, current_actor())


@bp.post("/<string:task_id>/claim")
@bp.doc(operationId="claimTask")
@bp.response(200, TaskAction)
def claim(task_id: str):
    """Claim an unassigned task of one of your groups (409 if someone was quicker)"""
    with _engine().unit_of_work() as uow:
        return tasks.claim_task(uow, task_id, current_actor())


@bp.post("/<string:task_id>/complete")
@bp.doc(operationId="completeTask")
@bp.arguments(CompleteTaskArgs)
@bp.doc(parameters=[IF_MATCH])
@bp.response(200, CaseState)
def complete(body, task_id: str):
    """Complete a task with its form data; 409 when the case changed since the row_version you send"""
    expected = body["row_version"]
    if_match = request.headers.get("If-Match")
    if if_match is not None and if_match.strip() != "*":
        match = _ETAG.match(if_match)
        if not match:
            raise InvalidInput('If-Match holds the case\'s row_version, e.g. "7"', field="If-Match")
        expected = int(match.group(1))
    with _engine().unit_of_work() as uow:
        return cases.complete_task(uow, task_id, current_actor(), body["data"], expected_row_version=expected)
