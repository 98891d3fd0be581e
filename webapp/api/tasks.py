"""Tasks: your lists, one task with its form, and what can be done with it.

Every action answers with the task as it now is and the case's new row_version as ETag; send that
back as If-Match and a case someone else changed meanwhile is a 409 that changes nothing.
"""
from __future__ import annotations

from flask import current_app
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import RAISE

from engine.errors import Conflict
from engine.services import cases, forms, tasks, worklists

from .auth import current_actor
from .paging import paged
from .preconditions import etag, expected_version, if_match_parameter
from .schemas import (AssignArgs, CaseState, CompleteTaskArgs, DelegateArgs, DueDateArgs, FollowUpDateArgs,
                      PriorityArgs, TaskAction, TaskDetail, TaskListArgs, TaskPage)

bp = Blueprint("api_tasks", __name__, url_prefix="/api/tasks", description="Tasks")

IF_MATCH = if_match_parameter("case")
ETAG = {"ETag": {"description": "The case's new row_version", "schema": {"type": "string"}}}


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


def _act(task_id: str, action, *args):
    """One task action in one unit of work; the service checks If-Match under the lock it takes.

    The service names the stale version `row_version` (what a page sends); here the client sent it
    as If-Match, so the 409 names that.
    """
    expected = expected_version()
    try:
        with _engine().unit_of_work() as uow:
            result = action(uow, task_id, current_actor(), *args, expected_row_version=expected)
    except Conflict as stale:
        if stale.context.get("field") != "row_version":
            raise
        raise Conflict(stale.message, field="If-Match") from stale
    return result, 200, etag(result["row_version"])


@bp.post("/<string:task_id>/claim")
@bp.doc(operationId="claimTask", parameters=[IF_MATCH])
@bp.response(200, TaskAction, headers=ETAG)
def claim(task_id: str):
    """Claim an unassigned task of one of your groups (409 if someone was quicker)"""
    return _act(task_id, tasks.claim_task)


@bp.post("/<string:task_id>/unclaim")
@bp.doc(operationId="unclaimTask", parameters=[IF_MATCH])
@bp.response(200, TaskAction, headers=ETAG)
def unclaim(task_id: str):
    """Hand a task you hold back to its candidate group (unassigned again)"""
    return _act(task_id, tasks.unclaim_task)


@bp.post("/<string:task_id>/assign")
@bp.doc(operationId="assignTask", parameters=[IF_MATCH])
@bp.arguments(AssignArgs)
@bp.response(200, TaskAction, headers=ETAG)
def assign(body, task_id: str):
    """Give a task to a colleague, who then simply holds it (this ends a delegation)"""
    return _act(task_id, tasks.assign_task, body["assignee"])


@bp.post("/<string:task_id>/delegate")
@bp.doc(operationId="delegateTask", parameters=[IF_MATCH])
@bp.arguments(DelegateArgs)
@bp.response(200, TaskAction, headers=ETAG)
def delegate(body, task_id: str):
    """Let a colleague work a task you hold: they complete it; you keep seeing it and may take it back"""
    return _act(task_id, tasks.delegate_task, body["delegate"])


@bp.post("/<string:task_id>/take-back")
@bp.doc(operationId="takeBackTask", parameters=[IF_MATCH])
@bp.response(200, TaskAction, headers=ETAG)
def take_back(task_id: str):
    """Take a task you delegated back from the delegate"""
    return _act(task_id, tasks.take_back_task)


@bp.put("/<string:task_id>/due-date")
@bp.doc(operationId="setTaskDueDate", parameters=[IF_MATCH])
@bp.arguments(DueDateArgs)
@bp.response(200, TaskAction, headers=ETAG)
def due_date(body, task_id: str):
    """Set or clear a task's due date"""
    return _act(task_id, tasks.set_due_date, body["due_at"])


@bp.put("/<string:task_id>/follow-up-date")
@bp.doc(operationId="setTaskFollowUpDate", parameters=[IF_MATCH])
@bp.arguments(FollowUpDateArgs)
@bp.response(200, TaskAction, headers=ETAG)
def follow_up_date(body, task_id: str):
    """Set or clear the date you want to look at a task again"""
    return _act(task_id, tasks.set_follow_up_date, body["follow_up_at"])


@bp.put("/<string:task_id>/priority")
@bp.doc(operationId="setTaskPriority", parameters=[IF_MATCH])
@bp.arguments(PriorityArgs)
@bp.response(200, TaskAction, headers=ETAG)
def priority(body, task_id: str):
    """Set a task's priority"""
    return _act(task_id, tasks.set_priority, body["priority"])


@bp.post("/<string:task_id>/complete")
@bp.doc(operationId="completeTask", parameters=[IF_MATCH])
@bp.arguments(CompleteTaskArgs)
@bp.response(200, CaseState)
def complete(body, task_id: str):
    """Complete a task with its form data; 409 when the case changed since the row_version you send"""
    expected = expected_version(body["row_version"])
    with _engine().unit_of_work() as uow:
        return cases.complete_task(uow, task_id, current_actor(), body["data"], expected_row_version=expected)
