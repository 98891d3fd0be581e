"""The case page: the overview, what the user may do, and the diagram with its tasks marked."""
from __future__ import annotations

import re

from sqlalchemy import select

from .. import permissions
from ..db import UnitOfWork
from ..errors import NotFound
from ..models import Group, ModelFile, User
from .cases import get_case, model_for_version
from .org import get_user
from .queries import case_overview


def case_page(uow: UnitOfWork, number: str, actor: str) -> dict:
    """case_overview plus the case type's name, people's names, the actions `actor` may take, and the
    top-level diagram elements of open and completed tasks (a task inside a called process marks
    the call activity that runs it). Commits: viewing a case may be written to the access log."""
    session = uow.session
    overview = case_overview(session, number, actor)
    user = get_user(session, actor)
    case = get_case(session, number)
    model = model_for_version(uow, case.version_id)
    containers = _top_level_elements(model)
    active, completed = set(), set()
    for task in overview["tasks"]:
        target = active if task["state"] == "open" else completed if task["state"] == "completed" else None
        if target is not None:
            target.add(task["element_id"])
            target.update(containers.get(task["element_id"], ()))
    usernames = {case.caseworker.username} if case.caseworker else set()
    for task in overview["tasks"]:
        usernames.update(u for u in (task["assignee"], task["completed_by"]) if u)
    usernames.update(event["actor"] for event in overview["journal"])
    names = {row.username: row.name for row in session.execute(
        select(User.username, User.name).where(User.username.in_(usernames)))} if usernames else {}
    group_keys = {task["candidate_group"] for task in overview["tasks"] if task["candidate_group"]}
    group_names = {row.key: row.name for row in session.execute(
        select(Group.key, Group.name).where(Group.key.in_(group_keys)))} if group_keys else {}
    overview.update(
        case_type_name=case.case_type.name,
        names=names,
        group_names=group_names,
        may_close=case.status == "open" and permissions.may_close_case(session, user.id, case.caseworker_id),
        diagram={"active": sorted(active), "completed": sorted(completed - active)},
    )
    uow.commit()
    return overview


def case_diagram(uow: UnitOfWork, number: str, actor: str) -> str:
    """The BPMN XML of the file that holds the case's process, for the diagram viewer."""
    session = uow.session
    user = get_user(session, actor)
    case = get_case(session, number)
    permissions.require(permissions.can_see_case(session, user, case), f"{actor} may not see case {number}")
    process_id = case.version.process_id
    pattern = re.compile(rb"<(?:\w+:)?process\b[^>]*\bid=\"" + re.escape(process_id.encode()) + rb"\"")
    files = session.scalars(select(ModelFile).where(ModelFile.version_id == case.version_id,
                                                    ModelFile.kind == "bpmn").order_by(ModelFile.name))
    for model_file in files:
        if pattern.search(model_file.content):
            return model_file.content.decode("utf-8")
    raise NotFound(f"no BPMN file of case {number}'s version holds process '{process_id}'", field="case")


def _top_level_elements(model) -> dict[str, set[str]]:
    """Element id inside a called or embedded process -> the top-level elements that run it."""
    containers: dict[str, set[str]] = {}

    def walk(spec, top: str | None, seen: frozenset):
        for task_spec in spec.task_specs.values():
            element = getattr(task_spec, "bpmn_id", None)
            if not element:
                continue
            if top is not None and element != top:
                containers.setdefault(element, set()).add(top)
            called = getattr(task_spec, "spec", None)
            if isinstance(called, str) and called in model.subprocess_specs and called not in seen:
                walk(model.subprocess_specs[called], top or element, seen | {called})

    walk(model.spec, None, frozenset())
    return containers
