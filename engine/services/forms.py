"""What a form page needs: the case types a user may start, a start form, a task's form.

Read-only. A task form reads one case's workflow (for the task's data, which fills the
instructions and the fields' current values); task lists never do.
"""
from __future__ import annotations

from uuid import UUID

from sqlalchemy import func, select

from .. import permissions
from ..db import UnitOfWork
from ..errors import InvalidInput, NotFound
from ..models import Case, CaseTask, CaseType, CaseTypeVersion, Membership, User
from ..runtime.instructions import render_instructions
from ..runtime.state import load_state
from .case_types import current_version, get_case_type
from .cases import model_for_version, validate_form
from .org import get_user


def startable_case_types(session, actor: str) -> list[dict]:
    """Published case types `actor` may open a case of, by name."""
    user = get_user(session, actor)
    latest = (select(CaseTypeVersion.case_type_id, func.max(CaseTypeVersion.number).label("version"))
              .where(CaseTypeVersion.status == "published").group_by(CaseTypeVersion.case_type_id).subquery())
    rows = session.execute(select(CaseType, latest.c.version).join(latest, latest.c.case_type_id == CaseType.id)
                           .order_by(CaseType.name))
    return [{"key": case_type.key, "name": case_type.name, "prefix": case_type.prefix, "version": version,
             "kle_number": case_type.kle_number}
            for case_type, version in rows if permissions.can_start_case(session, user, case_type)]


def case_type_names(session) -> dict[str, str]:
    """Case type key -> name, for lists that carry only the key."""
    return {key: name for key, name in session.execute(select(CaseType.key, CaseType.name))}


def start_form(uow: UnitOfWork, case_type_key: str, actor: str) -> dict:
    """The start form of a case type's current published version (schema None: title only)."""
    session = uow.session
    user = get_user(session, actor)
    case_type = get_case_type(session, case_type_key)
    version = current_version(session, case_type)
    permissions.require(permissions.can_start_case(session, user, case_type),
                        f"{actor} may not start cases of type '{case_type_key}'")
    model = model_for_version(uow, version.id)
    return {"case_type": case_type.key, "name": case_type.name, "version": version.number,
            "form": version.start_form, "schema": model.forms.get(version.start_form) if version.start_form else None}


def task_form(uow: UnitOfWork, task_id: str, actor: str) -> dict:
    """A task with its form schema, its instructions filled in, and the fields' current values.

    Raises NotFound for an unknown task and NotAllowed when `actor` may not see its case.
    """
    session = uow.session
    user = get_user(session, actor)
    task = session.get(CaseTask, str(task_id))
    if task is None:
        raise NotFound(f"unknown task '{task_id}'", field="task_id")
    case = task.case
    permissions.require(permissions.can_see_case(session, user, case), f"{actor} may not see case {case.number}")
    model = model_for_version(uow, case.version_id)
    schema = model.forms.get(task.form) if task.form else None
    instructions, instructions_problem, values = task.instructions or "", None, {}
    is_open = task.state == "open" and case.status == "open"
    if is_open and (schema or "{" in instructions):
        data = _task_data(uow, case, model, task.id)
        if instructions:
            instructions, instructions_problem = render_instructions(
                instructions, data, uow.runtime.settings.script_time_limit)
        if schema:
            values = {key: data[key] for key in schema.get("properties", {}) if key in data}
    actions, colleagues = {}, []
    if is_open:
        holders = permissions.TaskHolders(task.assignee_id, task.candidate_group_id, task.owner_id)
        actions = {
            "claim": task.assignee_id is None and bool(permissions.may_claim_task(session, user.id, holders)),
            "unclaim": task.assignee_id is not None and bool(permissions.may_unclaim_task(session, user.id, holders)),
            "assign": bool(permissions.may_assign_task(session, user.id, holders)),
            "delegate": bool(permissions.may_delegate_task(session, user.id, holders)),
            "take_back": task.owner_id is not None and bool(permissions.may_take_back_task(session, user.id, holders)),
            "plan": bool(permissions.may_plan_task(session, user.id, holders)),
        }
        if actions["assign"] or actions["delegate"]:
            colleagues = _colleagues(session, user.id, task.candidate_group_id)
    return {
        "id": task.id, "name": task.name, "element_id": task.element_id, "state": task.state,
        "actions": actions, "colleagues": colleagues,
        "owner": task.owner.username if task.owner else None, "owner_name": task.owner.name if task.owner else None,
        "form": task.form, "schema": schema, "values": values,
        "instructions": instructions, "instructions_problem": instructions_problem,
        "assignee": task.assignee.username if task.assignee else None,
        "assignee_name": task.assignee.name if task.assignee else None,
        "candidate_group": task.candidate_group.key if task.candidate_group else None,
        "candidate_group_name": task.candidate_group.name if task.candidate_group else None,
        "created_at": task.created_at.isoformat(), "due_at": task.due_at.isoformat() if task.due_at else None,
        "follow_up_at": task.follow_up_at.isoformat() if task.follow_up_at else None, "priority": task.priority,
        "completed_at": task.completed_at.isoformat() if task.completed_at else None,
        "completed_by": task.completed_by.username if task.completed_by else None,
        "completed_by_name": task.completed_by.name if task.completed_by else None,
        "may_complete": is_open and permissions.can_complete_task(session, user, task),
        "case": {"number": case.number, "title": case.title, "grouping": case.grouping, "status": case.status,
                 "case_type": case.case_type.key, "case_type_name": case.case_type.name,
                 "row_version": case.row_version},
    }


def _colleagues(session, user_id: int, group_id: int | None) -> list[dict]:
    """Active users a task can go to: the candidate group's members, else the actor's groups' members."""
    groups = [group_id] if group_id is not None else list(permissions.group_ids_of(session, user_id))
    if not groups:
        return []
    rows = session.execute(select(User.username, User.name).join(Membership, Membership.user_id == User.id)
                           .where(Membership.group_id.in_(groups), User.is_active.is_(True))
                           .distinct().order_by(User.name))
    return [{"username": username, "name": name} for username, name in rows]


def check_form(schema: dict | None, data: dict, form_name: str) -> list[dict]:
    """The problems `data` has against a form, without acting (empty when it would pass)."""
    try:
        validate_form(schema, data, form_name)
    except InvalidInput as err:
        return list(err.context.get("problems", []))
    return []


def _task_data(uow: UnitOfWork, case: Case, model, task_id: str) -> dict:
    """The data a READY task sees, read from the stored state (the live cache is left alone)."""
    blob = uow.session.scalar(select(Case.state).where(Case.id == case.id))
    workflow = load_state(blob, model, uow.runtime.script_engine)
    task = workflow.get_task_from_id(UUID(task_id))
    return dict(task.data) if task is not None else {}
