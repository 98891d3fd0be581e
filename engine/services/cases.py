"""Cases: open, complete tasks, fire timers, deliver messages, close. One unit of work each.

Each action follows the same runtime (DESIGN.md, "The runtime, one request"): load the case row
and its workflow, act, advance, sync the indexes, save the state with the row's version check,
append journal events, commit.
"""
from __future__ import annotations

import json
import re
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from jsonschema import Draft202012Validator, FormatChecker
from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.bpmn.util import BpmnEvent
from SpiffWorkflow.exceptions import WorkflowException

from .. import permissions
from ..db import UnitOfWork, utcnow
from ..errors import Conflict, InvalidInput, NotAllowed, NotFound, WorkflowError
from ..models import Case, CaseNumberSequence, CaseTask, CaseType, Group, MessageSubscription, User
from ..runtime import advance as runtime
from ..runtime.parsing import ParsedModel
from ..runtime.state import dump_state, load_state
from .case_types import current_version, get_case_type, model_of
from .journal import Journal
from .org import get_user

IDENTIFIER = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
RESERVED_KEYS = {"case", "caseworker"}
_FORMAT_CHECKER = FormatChecker()


# --- input checks --------------------------------------------------------------------------------

def clean_data(data: Any, field: str = "data") -> dict:
    """Form data must be a JSON object whose keys can be script variables."""
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise InvalidInput("form data must be an object of field names and values", field=field)
    try:
        json.dumps(data)
    except (TypeError, ValueError) as err:
        raise InvalidInput(f"form data must be JSON values: {err}", field=field) from err
    for key in data:
        if not isinstance(key, str) or not IDENTIFIER.match(key):
            raise InvalidInput(f"field name {key!r} must start with a letter and hold only letters, "
                               "digits and '_'", field=str(key))
        if key in RESERVED_KEYS:
            raise InvalidInput(f"field name '{key}' is reserved by Sagsgang", field=key)
    return data


def validate_form(schema: dict | None, data: dict, form_name: str) -> None:
    """Check data against the task's JSON Schema; the error names the first offending field."""
    if not schema:
        return
    validator = Draft202012Validator(schema, format_checker=_FORMAT_CHECKER)
    errors = sorted(validator.iter_errors(data), key=lambda e: (list(e.absolute_path), e.message))
    if not errors:
        return
    error = errors[0]
    path = [str(p) for p in error.absolute_path]
    if error.validator == "required":
        missing = re.findall(r"'([^']+)' is a required property", error.message)
        path.append(missing[0] if missing else "?")
        message = "is required"
    else:
        message = error.message
    field = ".".join(path) or "(form)"
    raise InvalidInput(f"{field}: {message} (form {form_name})", field=field,
                       problems=[{"field": ".".join(str(p) for p in e.absolute_path) or "(form)",
                                  "message": e.message} for e in errors])


# --- numbering ------------------------------------------------------------------------------------

def next_case_number(session: Session, prefix: str, year: int) -> str:
    """PREFIX-YYYY-NNNNNN, unique under concurrency: the counter row is updated under its lock."""
    bump = (update(CaseNumberSequence)
            .where(CaseNumberSequence.prefix == prefix, CaseNumberSequence.year == year)
            .values(last_value=CaseNumberSequence.last_value + 1)
            .returning(CaseNumberSequence.last_value))
    value = session.execute(bump).scalar()
    if value is None:
        insert = pg_insert if session.bind.dialect.name == "postgresql" else sqlite_insert
        session.execute(insert(CaseNumberSequence).values(prefix=prefix, year=year, last_value=0)
                        .on_conflict_do_nothing())
        value = session.execute(bump).scalar()
    return f"{prefix}-{year}-{value:06d}"


# --- loading and saving a case's workflow ------------------------------------------------------------

class LoadedCase:
    """A case row with its workflow and model, for the length of one unit of work."""

    def __init__(self, uow: UnitOfWork, case: Case, model: ParsedModel, workflow):
        self.uow = uow
        self.case = case
        self.model = model
        self.workflow = workflow
        self.journal = Journal(uow.session, case.id)

    @classmethod
    def load(cls, uow: UnitOfWork, case: Case) -> "LoadedCase":
        if case.status != "open" or case.state is None:
            raise Conflict(f"case {case.number} is {case.status}; its workflow cannot move")
        model = model_of(uow, case.version)
        workflow = uow.runtime.live.take(case.id, case.row_version, case.version_id)
        if workflow is None:
            workflow = load_state(case.state, model, uow.runtime.script_engine)
        return cls(uow, case, model, workflow)

    @property
    def limits(self) -> tuple[int, int]:
        settings = self.uow.runtime.settings
        return settings.max_engine_steps, settings.max_task_depth

    def save(self, actor: str, completed: dict[str, str] | None = None) -> runtime.Snapshot:
        """Sync the indexes from the workflow, store its state, and schedule the cache update."""
        session, case = self.uow.session, self.case
        snap = runtime.snapshot(self.workflow)
        self._sync_tasks(snap, actor, completed or {})
        self._sync_subscriptions(snap)
        case.next_timer_at = snap.next_timer_at
        case.gdpr_review_completed = snap.gdpr_review_completed
        if snap.completed:
            if not snap.gdpr_review_completed:
                raise WorkflowError(f"case {case.number} cannot close: its GDPR review has not been completed")
            case.status = "closed"
            case.closed_at = utcnow()
            case.next_timer_at = None
            self.journal.append(actor, "case_closed", {"reason": "workflow completed"})
        case.state = dump_state(self.workflow)
        case.updated_at = utcnow()
        case.journal_head = self.journal.head
        flush_case(session, case)
        row_version, live, workflow = case.row_version, self.uow.runtime.live, self.workflow
        if case.status == "open":
            self.uow.after_commit(lambda: live.put(case.id, row_version, case.version_id, workflow))
        return snap

    def _sync_tasks(self, snap: runtime.Snapshot, actor: str, completed: dict[str, str]) -> None:
        session, case = self.uow.session, self.case
        rows = {row.id: row for row in session.scalars(
            select(CaseTask).where(CaseTask.case_id == case.id, CaseTask.state == "open"))}
        open_ids = {task.id for task in snap.open_tasks}
        now = utcnow()
        for task_id, row in rows.items():
            if task_id in open_ids:
                continue
            if task_id in completed:
                row.state, row.completed_at = "completed", now
                row.completed_by_id = get_user(session, completed[task_id]).id
            else:
                row.state, row.completed_at = "cancelled", now
                self.journal.append(actor, "task_cancelled", {"task": row.element_id, "name": row.name})
        for task in snap.open_tasks:
            if task.id in rows:
                continue
            group_id, assignee_id = assign(session, self.workflow, case, task)
            due_at = due_date(self.workflow, task, "dueIn", now)
            row = CaseTask(id=task.id, case_id=case.id, element_id=task.element_id, name=task.name,
                           lane=task.lane, form=task.form, instructions=task.instructions,
                           candidate_group_id=group_id, assignee_id=assignee_id, created_at=now,
                           due_at=due_at, priority=_priority(task))
            session.add(row)
            self.journal.append(actor, "task_created", {
                "task": task.element_id, "name": task.name, "task_id": task.id, "lane": task.lane,
                "candidate_group_id": group_id, "assignee_id": assignee_id,
                "due_at": due_at.isoformat() if due_at else None})

    def _sync_subscriptions(self, snap: runtime.Snapshot) -> None:
        session, case = self.uow.session, self.case
        existing = {s.task_id: s for s in session.scalars(
            select(MessageSubscription).where(MessageSubscription.case_id == case.id))}
        waiting = {w["task_id"]: w for w in snap.message_waits}
        for task_id, sub in existing.items():
            if task_id not in waiting:
                session.delete(sub)
        for task_id, wait in waiting.items():
            if task_id not in existing:
                session.add(MessageSubscription(
                    case_id=case.id, task_id=task_id, message_name=wait["message_name"],
                    correlation_key=correlation_key(wait["correlations"]), correlations=wait["correlations"]))


def lock_case(session: Session, case: Case) -> Case:
    """Take the case row's lock for this transaction (PostgreSQL: SELECT ... FOR UPDATE).

    Writers of one case then queue instead of racing; the row_version check stays as the
    guard for pages and workers that act on what they read earlier. SQLite needs no row lock:
    BEGIN IMMEDIATE already serializes writers.
    """
    if session.bind.dialect.name != "sqlite":
        session.refresh(case, with_for_update=True)
    return case


def flush_case(session: Session, case: Case) -> None:
    """Write the case row WHERE row_version = <loaded>; zero rows means someone else won."""
    number = case.number
    try:
        session.flush()
    except StaleDataError as err:
        raise Conflict(f"case {number} was changed by someone else meanwhile; reload and try again") from err


def correlation_key(correlations: dict) -> str:
    return json.dumps(correlations, sort_keys=True, separators=(",", ":"), default=str) if correlations else ""


def _priority(task: runtime.OpenTask) -> int:
    try:
        return max(0, min(100, int(task.properties.get("priority", 50))))
    except (TypeError, ValueError):
        return 50


def assign(session: Session, workflow, case: Case, task: runtime.OpenTask) -> tuple[int | None, int | None]:
    """Candidate group and assignee of a new user task, from the case type's lane mapping.

    A task outside any lane belongs to the case's caseworker. A lane that yields nobody is an
    error naming the lane: a task nobody sees is worse than a refused step.
    """
    if not task.lane:
        return None, case.caseworker_id
    rule = (case.case_type.lanes or {}).get(task.lane)
    if rule is None:
        raise WorkflowError(f"lane '{task.lane}' of task {task.element_id} is not mapped to a group or an "
                            f"expression in case type '{case.case_type.key}'", element=task.element_id)
    group_id = assignee_id = None
    if rule.get("group"):
        group = session.scalar(select(Group).where(Group.key == rule["group"]))
        if group is None:
            raise WorkflowError(f"lane '{task.lane}' is mapped to unknown group '{rule['group']}'",
                                element=task.element_id)
        group_id = group.id
    if rule.get("expression"):
        username = runtime.evaluate(workflow, workflow.get_task_from_id(UUID(task.id)), rule["expression"])
        if username:
            user = session.scalar(select(User).where(User.username == str(username)))
            if user is None:
                raise WorkflowError(f"lane '{task.lane}': expression {rule['expression']!r} gave unknown user "
                                    f"'{username}'", element=task.element_id)
            assignee_id = user.id
    if group_id is None and assignee_id is None:
        raise WorkflowError(f"lane '{task.lane}' gave task {task.element_id} neither a group nor an assignee",
                            element=task.element_id)
    return group_id, assignee_id


def due_date(workflow, task: runtime.OpenTask, prop: str, now: datetime) -> datetime | None:
    """A due or follow-up date from an ISO 8601 duration or a sandboxed expression."""
    raw = task.properties.get(prop)
    if not raw:
        return None
    value: Any = raw
    if not str(raw).upper().startswith("P"):
        value = runtime.evaluate(workflow, workflow.get_task_from_id(UUID(task.id)), raw)
    if isinstance(value, datetime):
        return value
    try:
        parsed = TimerEventDefinition.parse_iso_duration(str(value))
        return now + TimerEventDefinition.get_timedelta_from_start(parsed, now)
    except Exception as err:
        raise WorkflowError(f"{prop} of task {task.element_id} is not an ISO 8601 duration: {value!r}",
                            element=task.element_id) from err


# --- queries used by the actions -----------------------------------------------------------------

def get_case(session: Session, number: str) -> Case:
    case = session.scalar(select(Case).where(Case.number == number))
    if case is None:
        raise NotFound(f"unknown case '{number}'", field="case")
    return case


def get_task_row(session: Session, task_id: str) -> CaseTask:
    row = session.get(CaseTask, str(task_id))
    if row is None:
        raise NotFound(f"unknown task '{task_id}'", field="task_id")
    return row


# --- actions ---------------------------------------------------------------------------------------

def open_case(uow: UnitOfWork, case_type_key: str, actor: str, title: str, grouping: str = "",
              data: dict | None = None, caseworker: str | None = None) -> dict:
    session = uow.session
    user = get_user(session, actor)
    case_type = get_case_type(session, case_type_key)
    permissions.require(permissions.can_start_case(session, user, case_type),
                        f"{actor} may not start cases of type '{case_type_key}'")
    if not isinstance(title, str) or not title.strip():
        raise InvalidInput("a case needs a title", field="title")
    if len(title) > 300:
        raise InvalidInput("title is longer than 300 characters", field="title")
    if not isinstance(grouping, str) or len(grouping) > 200:
        raise InvalidInput("grouping must be text of at most 200 characters", field="grouping")
    data = clean_data(data)
    version = current_version(session, case_type)
    model = model_of(uow, version)
    if version.start_form:
        validate_form(model.forms.get(version.start_form), data, version.start_form)
    worker = get_user(session, caseworker) if caseworker else user
    now = utcnow()
    case = Case(number=next_case_number(session, case_type.prefix, now.year), case_type=case_type,
                version=version, title=title.strip(), grouping=grouping.strip(), caseworker_id=worker.id,
                status="open", opened_at=now, updated_at=now)
    session.add(case)
    session.flush()
    start_data = dict(data, caseworker=worker.username,
                      case={"number": case.number, "title": case.title, "grouping": case.grouping,
                            "type": case_type.key})
    steps, depth = uow.runtime.settings.max_engine_steps, uow.runtime.settings.max_task_depth
    workflow = runtime.start_workflow(model, uow.runtime.script_engine, start_data, steps, depth)
    loaded = LoadedCase(uow, case, model, workflow)
    loaded.journal.append(actor, "case_opened", {
        "case_type": case_type.key, "version": version.number, "title": case.title,
        "grouping": case.grouping, "caseworker": worker.username, "fields": sorted(data)})
    snap = loaded.save(actor)
    uow.commit()
    return {"number": case.number, "id": case.id, "status": case.status,
            "open_tasks": [{"id": t.id, "name": t.name} for t in snap.open_tasks]}


def complete_task(uow: UnitOfWork, task_id: str, actor: str, data: dict | None = None,
                  expected_row_version: int | None = None) -> dict:
    """Complete a READY user task that `actor` may complete, with form data checked by its schema."""
    session = uow.session
    user = get_user(session, actor)
    row = get_task_row(session, task_id)
    case = lock_case(session, row.case)
    session.refresh(row)  # read after the lock: another writer may just have completed it
    if row.state != "open":
        raise Conflict(f"task '{row.name}' of case {case.number} is already {row.state}", field="task_id")
    permissions.require(permissions.can_complete_task(session, user, row),
                        f"{actor} may not complete task '{row.name}' of case {case.number}")
    if expected_row_version is not None and expected_row_version != case.row_version:
        raise Conflict(f"case {case.number} changed since the page was loaded; reload and try again")
    data = clean_data(data)
    loaded = LoadedCase.load(uow, case)
    task = runtime.find_ready_task(loaded.workflow, task_id)
    if row.form:
        validate_form(loaded.model.forms.get(row.form), data, row.form)
    runtime.complete_task(loaded.workflow, task, data, *loaded.limits)
    loaded.journal.append(actor, "task_completed", {"task": row.element_id, "name": row.name,
                                                    "task_id": row.id, "fields": sorted(data)})
    snap = loaded.save(actor, completed={row.id: actor})
    uow.commit()
    return {"number": case.number, "status": case.status, "row_version": case.row_version,
            "open_tasks": [{"id": t.id, "name": t.name} for t in snap.open_tasks]}


def close_case(uow: UnitOfWork, number: str, actor: str, reason: str) -> dict:
    """Close a case before its workflow ends (withdrawn, duplicate): only after its GDPR review."""
    session = uow.session
    user = get_user(session, actor)
    case = lock_case(session, get_case(session, number))
    permissions.require(case.caseworker_id == user.id or permissions.is_administrator(session, user),
                        f"{actor} may not close case {number}")
    if not reason or not reason.strip():
        raise InvalidInput("closing a case needs a reason", field="reason")
    loaded = LoadedCase.load(uow, case)
    if not runtime.gdpr_review_completed(loaded.workflow):
        raise WorkflowError(f"case {number} cannot close: its GDPR review has not been completed")
    loaded.workflow.cancel()
    snap = runtime.snapshot(loaded.workflow)
    loaded._sync_tasks(runtime.Snapshot(open_tasks=[], next_timer_at=None), actor, {})
    loaded._sync_subscriptions(runtime.Snapshot(open_tasks=[], next_timer_at=None))
    case.status, case.closed_at, case.next_timer_at = "closed", utcnow(), None
    case.gdpr_review_completed = snap.gdpr_review_completed
    loaded.journal.append(actor, "case_closed", {"reason": reason.strip()})
    case.state = dump_state(loaded.workflow)
    case.updated_at = utcnow()
    case.journal_head = loaded.journal.head
    flush_case(session, case)
    uow.commit()
    return {"number": case.number, "status": case.status}


def due_timer_case_ids(session: Session, now: datetime | None = None, limit: int = 500) -> list[int]:
    now = now or utcnow()
    return list(session.scalars(select(Case.id).where(Case.status == "open", Case.next_timer_at <= now)
                                .order_by(Case.next_timer_at).limit(limit)))


def fire_timers(uow: UnitOfWork, case_id: int, actor: str = "system") -> dict:
    """Advance one case whose timer is due. A case another worker already moved is left alone."""
    session = uow.session
    case = session.get(Case, case_id)
    if case is None:
        raise NotFound(f"unknown case id {case_id}")
    lock_case(session, case)
    if case.status != "open" or case.next_timer_at is None or case.next_timer_at > utcnow():
        return {"number": case.number, "fired": False}
    loaded = LoadedCase.load(uow, case)
    before = case.next_timer_at
    runtime.advance(loaded.workflow, *loaded.limits)
    loaded.journal.append(actor, "timer_fired", {"due_at": before.isoformat()})
    loaded.save(actor)
    uow.commit()
    return {"number": case.number, "fired": True, "status": case.status}


def deliver_message(uow: UnitOfWork, message_name: str, payload: dict | None = None,
                    correlations: dict | None = None, actor: str = "system") -> dict:
    """Deliver a BPMN message to the case waiting for it (matched by name and correlation key).

    A message that no case waits for is an error, never silently dropped.
    """
    session = uow.session
    key = correlation_key(correlations or {})
    subs = list(session.scalars(select(MessageSubscription).where(
        MessageSubscription.message_name == message_name, MessageSubscription.correlation_key == key)))
    if not subs:
        raise NotFound(f"no case waits for message '{message_name}'" + (f" with correlation {key}" if key else ""),
                       field="message_name")
    case = lock_case(session, session.get(Case, subs[0].case_id))
    loaded = LoadedCase.load(uow, case)
    waiting = loaded.workflow.get_task_from_id(UUID(subs[0].task_id))
    event = BpmnEvent(waiting.task_spec.event_definition, payload=payload or {}, correlations=correlations or {})
    try:
        loaded.workflow.send_event(event)
    except WorkflowException as err:
        raise WorkflowError(f"case {case.number} did not accept message '{message_name}': {err}") from err
    runtime.advance(loaded.workflow, *loaded.limits)
    loaded.journal.append(actor, "message_received", {"message": message_name, "correlations": correlations or {}})
    loaded.save(actor)
    uow.commit()
    return {"number": case.number, "status": case.status}
