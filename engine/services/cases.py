"""Cases: open, complete tasks, fire timers, deliver messages, close. One unit of work each.

Each action follows the same runtime (DESIGN.md, "The runtime, one request"): load the case row
and its workflow, act, advance, sync the indexes, save the state with the row's version check,
append journal events, commit.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from jsonschema import Draft202012Validator, FormatChecker
from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.bpmn.util import BpmnEvent
from SpiffWorkflow.exceptions import WorkflowException

from .. import cpr, permissions
from ..assignment import lane_assignment
from ..db import UnitOfWork, utcnow
from ..errors import Conflict, InvalidInput, NotAllowed, NotFound, WorkflowError
from ..models import (Case, CaseNumberSequence, CaseTask, CaseType, CaseTypeVersion, Group,
                      MessageSubscription, User)
from ..runtime import advance as runtime
from ..runtime.gdpr import completed_review
from ..runtime.parsing import ParsedModel
from ..runtime.state import dump_state, load_state
from ..search import index as search_index
from . import gdpr
from . import messages
from . import service_jobs
from .case_types import get_case_type, model_of
from .journal import GENESIS, Journal

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
    """Check data against the task's JSON Schema; the error names the first offending field.

    `problems` lists every error with the field it belongs to (a missing field names itself, not
    its parent object) and the JSON-Schema keyword that failed, so a form can show each error
    beside its field in the user's language.
    """
    if not schema:
        return
    validator = Draft202012Validator(schema, format_checker=_FORMAT_CHECKER)
    errors = sorted(validator.iter_errors(data), key=lambda e: (list(e.absolute_path), e.message))
    if not errors:
        return
    problems = [_problem(error) for error in errors]
    first = problems[0]
    raise InvalidInput(f"{first['field']}: {first['message']} (form {form_name})", field=first["field"],
                       problems=problems)


def _problem(error) -> dict:
    path = [str(p) for p in error.absolute_path]
    if error.validator == "required":
        missing = re.findall(r"'([^']+)' is a required property", error.message)
        path.append(missing[0] if missing else "?")
        message = "is required"
    else:
        message = error.message
    problem = {"field": ".".join(path) or "(form)", "message": message, "validator": error.validator}
    if isinstance(error.validator_value, (str, int, float, bool)):
        problem["validator_value"] = error.validator_value
    return problem


# --- numbering ------------------------------------------------------------------------------------

_BUMP_CASE_NUMBER = (update(CaseNumberSequence)
                     .where(CaseNumberSequence.prefix == bindparam("b_prefix"),
                            CaseNumberSequence.year == bindparam("b_year"))
                     .values(last_value=CaseNumberSequence.last_value + 1)
                     .returning(CaseNumberSequence.last_value))
_NEW_SEQUENCE = {name: dialect_insert(CaseNumberSequence).on_conflict_do_nothing()
                 for name, dialect_insert in (("postgresql", pg_insert), ("sqlite", sqlite_insert))}


def next_case_number(session, prefix: str, year: int) -> str:
    """PREFIX-YYYY-NNNNNN, unique under concurrency: the counter row is updated under its lock.

    `session` is a Session or a connection (the hot path passes the unit of work's HotConnection).
    """
    conn = _conn(session)
    params = {"b_prefix": prefix, "b_year": year}
    value = conn.execute(_BUMP_CASE_NUMBER, params).scalar()
    if value is None:
        conn.execute(_NEW_SEQUENCE[conn.dialect.name], {"prefix": prefix, "year": year, "last_value": 0})
        value = conn.execute(_BUMP_CASE_NUMBER, params).scalar()
    return f"{prefix}-{year}-{value:06d}"


# --- the case row an action works on -----------------------------------------------------------

@dataclass
class CaseHead:
    """The columns of a case row (and its case type) that an action needs, read in one query."""

    id: int | None
    number: str
    status: str
    row_version: int
    version_id: int
    caseworker_id: int | None
    journal_seq: int
    journal_head: str
    awaits_message: bool
    case_type_key: str
    lanes: dict
    review_completed: bool = False
    case_type_id: int | None = None
    next_timer_at: datetime | None = None
    deletion_rule: str | None = None  # the case type's, for the deletion date when the case closes


_HEAD_COLUMNS = (Case.id, Case.number, Case.status, Case.row_version, Case.version_id, Case.caseworker_id,
                 Case.journal_seq, Case.journal_head, Case.awaits_message, CaseType.key, CaseType.lanes,
                 Case.gdpr_review_completed, Case.case_type_id, Case.next_timer_at, CaseType.deletion_rule)

# The hot path's statements, built once: building a SQLAlchemy statement costs more than running
# it on SQLite. They run on the unit of work's connection, past the ORM session's bookkeeping.
_SELECT_HEAD = select(*_HEAD_COLUMNS).join(CaseType, CaseType.id == Case.case_type_id)
_HEAD_BY_ID = _SELECT_HEAD.where(Case.id == bindparam("case_id"))
_HEAD_BY_ID_LOCKED = _HEAD_BY_ID.with_for_update(of=Case)
_STATE_BY_ID = select(Case.state).where(Case.id == bindparam("case_id"))
_ACTOR = select(User.id, User.is_active).where(User.username == bindparam("username"))
_TASK_COLUMNS = (CaseTask.state, CaseTask.name, CaseTask.element_id, CaseTask.form, CaseTask.assignee_id,
                 CaseTask.candidate_group_id, CaseTask.owner_id)
# The acting user comes along with the task (or the case type being opened): one statement fewer
# for every action. A missing or deactivated user is then reported by `_actor`, before any other
# error, exactly as when the user was read first.
_ACTOR_COLUMNS = (select(User.id).where(User.username == bindparam("username")).scalar_subquery().label("actor_id"),
                  select(User.is_active).where(User.username == bindparam("username")).scalar_subquery()
                  .label("actor_active"))
_TASK_WITH_HEAD = (select(*_TASK_COLUMNS, *_HEAD_COLUMNS, *_ACTOR_COLUMNS).select_from(CaseTask)
                   .join(Case, Case.id == CaseTask.case_id).join(CaseType, CaseType.id == Case.case_type_id)
                   .where(CaseTask.id == bindparam("task_id")))
# Lock both rows: PostgreSQL re-reads locked rows after waiting, so the task's state is current.
_TASK_WITH_HEAD_LOCKED = _TASK_WITH_HEAD.with_for_update(of=(Case, CaseTask))
_UPDATE_CASE = update(Case).where(Case.id == bindparam("b_case_id"), Case.row_version == bindparam("b_row_version"))
_UPDATE_TASK = update(CaseTask).where(CaseTask.id == bindparam("b_task_id"))
_INSERT_TASKS = insert(CaseTask)
_INSERT_CASE = insert(Case).returning(Case.id)
_GROUP_ID = select(Group.id).where(Group.key == bindparam("key"))
_USER_ID = select(User.id).where(User.username == bindparam("username"))
_USERNAME = select(User.username).where(User.id == bindparam("user_id"))
_PUBLISHED_VERSION = (select(CaseType.id, CaseType.key, CaseType.prefix, CaseType.lanes, CaseTypeVersion.id,
                             CaseTypeVersion.start_form, CaseType.deletion_rule, *_ACTOR_COLUMNS)
                      .join(CaseTypeVersion, CaseTypeVersion.case_type_id == CaseType.id)
                      .where(CaseType.key == bindparam("key"), CaseTypeVersion.status == "published")
                      .order_by(CaseTypeVersion.number.desc()).limit(1))


def _conn(session):
    """The connection to run Core statements on: a Session's, or the connection given."""
    return session.connection() if isinstance(session, Session) else session


class _SessionOnDemand:
    """Stands for `uow.session` where the hot path hands a session to helpers that mostly do not
    use it (permission checks that decide without a query): the session and its connection are
    made only if the helper touches them, and `connection()` is the unit of work's HotConnection."""

    def __init__(self, uow: UnitOfWork):
        self._uow = uow

    def connection(self):
        return self._uow.hot

    def __getattr__(self, name):
        return getattr(self._uow.session, name)


def read_head(session: Session, *where, lock: bool = True) -> CaseHead | None:
    """Read a case's head; on PostgreSQL under the row's lock (SELECT ... FOR UPDATE OF cases).

    Writers of one case then queue instead of racing; the row_version check in `save` stays as
    the guard for anyone who acts on what they read earlier. SQLite needs no row lock: BEGIN
    IMMEDIATE already serializes writers.
    """
    query = _SELECT_HEAD.where(*where)
    if lock and session.bind.dialect.name != "sqlite":
        query = query.with_for_update(of=Case)
    row = session.execute(query).first()
    return CaseHead(*row) if row else None


def read_head_by_id(session: Session, case_id: int) -> CaseHead | None:
    """read_head for the hot path: one prepared statement on the connection."""
    conn = session.connection()
    statement = _HEAD_BY_ID if conn.dialect.name == "sqlite" else _HEAD_BY_ID_LOCKED
    row = conn.execute(statement, {"case_id": case_id}).first()
    return CaseHead(*row) if row else None


# The attribute of a live workflow holding its open tasks as of the save that put it in the cache.
_OPEN_AT_SAVE = "_sagsgang_open_at_save"


class LoadedCase:
    """A case with its workflow and model, for the length of one unit of work.

    The task index is kept equal to the workflow's READY user tasks in every unit of work, so the
    tasks open before the action are read from the workflow, not queried.
    """

    def __init__(self, uow: UnitOfWork, head: CaseHead, model: ParsedModel, workflow,
                 open_before: list[runtime.OpenTask] | None = None):
        self.uow = uow
        self.head = head
        self.model = model
        self.workflow = workflow
        self.journal = Journal(head.journal_seq, head.journal_head)
        if open_before is None:
            open_before = runtime.open_user_tasks(workflow)
        self.open_before = {t.id: t for t in open_before}
        self.waits_before = head.awaits_message
        # Only for a case being opened (head.id is None): the columns of its first insert.
        self.case_type_id: int | None = None
        self.title = self.grouping = ""
        # Paths of submitted fields that held a CPR number (engine.cpr); set by the action.
        self.cpr_fields: list[str] = []
        # The form data the action submitted: indexed for search in this unit of work.
        self.form_data: dict = {}

    @classmethod
    def load(cls, uow: UnitOfWork, head: CaseHead) -> "LoadedCase":
        if head.status != "open":
            raise Conflict(f"case {head.number} is {head.status}; its workflow cannot move")
        model = model_for_version(uow, head.version_id)
        workflow = uow.runtime.live.take(head.id, head.row_version, head.version_id)
        if workflow is None:
            blob = uow.hot.execute(_STATE_BY_ID, {"case_id": head.id}).scalar()
            return cls(uow, head, model, load_state(blob, model, uow.runtime.script_engine))
        # A live workflow is exactly as its last save left it, open tasks included (see save).
        return cls(uow, head, model, workflow, workflow.__dict__.get(_OPEN_AT_SAVE))

    @property
    def limits(self) -> tuple[int, int]:
        settings = self.uow.runtime.settings
        return settings.max_engine_steps, settings.max_task_depth

    def save(self, actor: str, actor_id: int | None, completed_task: str | None = None,
             close_reason: str | None = None) -> runtime.Snapshot:
        """Sync the indexes from the workflow, store its state under the version check, journal it."""
        head, now = self.head, utcnow()
        conn = self.uow.hot
        session = _SessionOnDemand(self.uow)
        snap = runtime.snapshot(self.workflow)
        thrown = runtime.take_thrown_messages(self.workflow)  # before the state is dumped without them
        status, closed_at = head.status, None
        if snap.completed or close_reason:
            if not snap.gdpr_review_completed:
                raise gdpr.close_refused(self.uow, head.id, head.number, actor,
                                         "close" if close_reason else "workflow completed")
            status, closed_at = "closed", now
        values = {"state": dump_state(self.workflow), "updated_at": now}
        next_timer_at = None if status == "closed" else snap.next_timer_at
        awaits_message = bool(snap.message_waits)
        # Only the columns whose values change (the row as read under its version): SQLite rewrites
        # an index entry of every column set, changed or not (status and next_timer_at are indexed).
        for column, new, old in (("status", status, head.status), ("next_timer_at", next_timer_at, head.next_timer_at),
                                 ("gdpr_review_completed", snap.gdpr_review_completed, head.review_completed),
                                 ("awaits_message", awaits_message, head.awaits_message)):
            if new != old or type(new) is not type(old):
                values[column] = new
        if closed_at:
            values["closed_at"] = closed_at
        if head.id is None:  # a new case: its id (which the journal hashes) comes from the insert
            # The state goes in with the insert: a row inserted small and grown to its ~3 KB by the
            # update below made SQLite split the table's last leaf (one WAL frame more a case).
            head.id = conn.execute(_INSERT_CASE, dict(
                number=head.number, case_type_id=self.case_type_id, version_id=head.version_id,
                title=self.title, grouping=self.grouping, caseworker_id=head.caseworker_id, status="open",
                opened_at=now, updated_at=now, row_version=1, journal_seq=0, journal_head=GENESIS,
                state=values.pop("state"),
            )).scalar_one()
            head.row_version = 1
            self._sync_tasks(snap, actor, actor_id, completed_task, now)
            # After its tasks: the row starts with their visibility tokens, and the tasks' insert
            # triggers had no row to update (engine/models/search.py).
            search_index.add_case(conn, head.id, self.title, self.grouping, self.form_data)
        else:
            if self.form_data:
                search_index.add_form_data(conn, head.id, self.form_data)
            self._sync_tasks(snap, actor, actor_id, completed_task, now)
        service_jobs.sync_jobs(self.uow, head.id, self.workflow, self.journal, actor)
        if thrown:
            messages.route_thrown(self.uow, head.id, head.number, thrown, actor, self.journal, deliver_message)
        if snap.message_waits or self.waits_before:
            self._sync_subscriptions(snap)
        rule_applies = None  # known when the review is recorded here: the close then needs no read
        if snap.gdpr_review_completed and not head.review_completed:
            rule_applies = gdpr.record_review(session, head.id, completed_review(self.workflow), actor_id, now)
            head.review_completed = True
        if self.cpr_fields:
            values["cpr_detected"] = True
            self.journal.append(actor, "cpr_detected", {"fields": self.cpr_fields})
        if status == "closed":
            values["deletion_due_on"] = gdpr.deletion_due_on(session, head.id, now, head.deletion_rule, rule_applies)
            self.journal.append(actor, "case_closed", {
                "reason": close_reason or "workflow completed",
                "deletion_due_on": values["deletion_due_on"].isoformat() if values["deletion_due_on"] else None})
        self.journal.write(session, head.id)  # its connection() is the HotConnection
        values.update(journal_seq=self.journal.seq, journal_head=self.journal.head,
                      row_version=head.row_version + 1)
        result = conn.execute(_UPDATE_CASE, dict(values, b_case_id=head.id, b_row_version=head.row_version))
        if result.rowcount != 1:
            raise Conflict(f"case {head.number} was changed by someone else meanwhile; reload and try again")
        head.row_version += 1
        head.status, head.journal_seq, head.journal_head = status, self.journal.seq, self.journal.head
        head.next_timer_at, head.awaits_message = next_timer_at, awaits_message
        if status == "open":
            live, case_id, row_version, version_id, workflow = (self.uow.runtime.live, head.id, head.row_version,
                                                                 head.version_id, self.workflow)
            # Nothing moves the workflow after the snapshot, and the live cache keeps it only as
            # this commit leaves it: the next action's open tasks before it acts are these.
            setattr(workflow, _OPEN_AT_SAVE, snap.open_tasks)
            self.uow.after_commit(lambda: live.put(case_id, row_version, version_id, workflow))
        return snap

    def _sync_tasks(self, snap: runtime.Snapshot, actor: str, actor_id: int | None,
                    completed_task: str | None, now: datetime) -> None:
        conn, head = self.uow.hot, self.head
        open_now = {task.id for task in snap.open_tasks}
        for task_id, task in self.open_before.items():
            if task_id in open_now:
                continue
            if task_id == completed_task:
                values = {"state": "completed", "completed_at": now, "completed_by_id": actor_id}
            else:
                values = {"state": "cancelled", "completed_at": now}
                self.journal.append(actor, "task_cancelled", {"task": task.element_id, "name": task.name})
            conn.execute(_UPDATE_TASK, dict(values, b_task_id=task_id))
        rows = []
        for task in snap.open_tasks:
            if task.id in self.open_before:
                continue
            group_id, assignee_id = assign(conn, self.workflow, head, task)
            due_at = due_date(self.workflow, task, "dueIn", now)
            follow_up_at = due_date(self.workflow, task, "followUpIn", now)
            rows.append({"id": task.id, "case_id": head.id, "element_id": task.element_id, "name": task.name,
                         "lane": task.lane, "form": task.form, "instructions": task.instructions,
                         "state": "open", "candidate_group_id": group_id, "assignee_id": assignee_id,
                         "priority": _priority(task), "created_at": now, "due_at": due_at,
                         "follow_up_at": follow_up_at, "case_type_id": head.case_type_id, "case_number": head.number})
            self.journal.append(actor, "task_created", {
                "task": task.element_id, "name": task.name, "task_id": task.id, "lane": task.lane,
                "candidate_group_id": group_id, "assignee_id": assignee_id,
                "due_at": due_at.isoformat() if due_at else None})
        if rows:
            conn.execute(_INSERT_TASKS, rows)

    def _sync_subscriptions(self, snap: runtime.Snapshot) -> None:
        session, case_id = self.uow.session, self.head.id
        existing = {s.task_id: s for s in session.scalars(
            select(MessageSubscription).where(MessageSubscription.case_id == case_id))}
        waiting = {w["task_id"]: w for w in snap.message_waits}
        for task_id, sub in existing.items():
            if task_id not in waiting:
                session.delete(sub)
        for task_id, wait in waiting.items():
            if task_id not in existing:
                session.add(MessageSubscription(
                    case_id=case_id, task_id=task_id, message_name=wait["message_name"],
                    correlation_key=correlation_key(wait["correlations"]), correlations=wait["correlations"]))
        session.flush()


def model_for_version(uow: UnitOfWork, version_id: int) -> ParsedModel:
    """The parsed model of a version; versions never change their files, so the id is a safe key."""
    model = uow.runtime.models_by_version.get(version_id)
    if model is None:
        model = model_of(uow, uow.session.get(CaseTypeVersion, version_id))
        uow.runtime.models_by_version[version_id] = model
    return model


def correlation_key(correlations: dict) -> str:
    return json.dumps(correlations, sort_keys=True, separators=(",", ":"), default=str) if correlations else ""


def _priority(task: runtime.OpenTask) -> int:
    try:
        return max(0, min(100, int(task.properties.get("priority", 50))))
    except (TypeError, ValueError):
        return 50


def assign(session, workflow, head: CaseHead, task: runtime.OpenTask) -> tuple[int | None, int | None]:
    """Candidate group and assignee of a new user task, from the case type's lane mapping
    (the rule: engine.assignment.lane_assignment; a lane that yields nobody is an error naming it).
    `session` is a Session or a connection."""
    conn = _conn(session)
    return lane_assignment(
        task.lane, task.element_id, head.lanes, head.case_type_key, head.caseworker_id,
        find_group=lambda key: conn.execute(_GROUP_ID, {"key": key}).scalar(),
        find_user=lambda username: conn.execute(_USER_ID, {"username": username}).scalar(),
        evaluate=lambda expression: runtime.evaluate(workflow, workflow.get_task_from_id(UUID(task.id)), expression))


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


def _head_by_number(session: Session, number: str) -> CaseHead:
    head = read_head(session, Case.number == number)
    if head is None:
        raise NotFound(f"unknown case '{number}'", field="case")
    return head


def _actor(session, username: str) -> tuple[int, bool]:
    row = _conn(session).execute(_ACTOR, {"username": username}).first()
    if row is None:
        raise NotFound(f"unknown user '{username}'", field="username")
    if not row.is_active:
        raise NotAllowed(f"user '{username}' is deactivated")
    return row.id, row.is_active


def workflow_data(uow: UnitOfWork, number: str, task_id: str | None = None) -> dict:
    """The data a case's workflow holds (of one task, or the latest), for support and tests."""
    loaded = LoadedCase.load(uow, read_head(uow.session, Case.number == number, lock=False)
                             or _head_by_number(uow.session, number))
    if task_id:
        return dict(loaded.workflow.get_task_from_id(UUID(task_id)).data)
    return dict(loaded.workflow.last_task.data if loaded.workflow.last_task else loaded.workflow.data)


# --- actions ---------------------------------------------------------------------------------------

def open_case(uow: UnitOfWork, case_type_key: str, actor: str, title: str, grouping: str = "",
              data: dict | None = None, caseworker: str | None = None) -> dict:
    session, conn = _SessionOnDemand(uow), uow.hot
    found = conn.execute(_PUBLISHED_VERSION, {"key": case_type_key, "username": actor}).first()
    if found is None or found.actor_id is None or not found.actor_active:
        actor_id, _ = _actor(conn, actor)  # an unknown or deactivated user is refused first, as always
    else:
        actor_id = found.actor_id
    if not isinstance(title, str) or not title.strip():
        raise InvalidInput("a case needs a title", field="title")
    if len(title) > 300:
        raise InvalidInput("title is longer than 300 characters", field="title")
    if not isinstance(grouping, str) or len(grouping) > 200:
        raise InvalidInput("grouping must be text of at most 200 characters", field="grouping")
    data = clean_data(data)
    if found is None:
        get_case_type(uow.session, case_type_key)  # raises NotFound for an unknown key
        raise NotFound(f"case type '{case_type_key}' has no published version", field="case_type")
    case_type_id, key, prefix, lanes, version_id, start_form, deletion_rule = found[:-len(_ACTOR_COLUMNS)]
    permissions.require(permissions.may_start_case(session, actor_id, case_type_id),
                        f"{actor} may not start cases of type '{case_type_key}'")
    model = model_for_version(uow, version_id)
    if start_form:
        validate_form(model.forms.get(start_form), data, start_form)
    worker_id, worker = (actor_id, actor) if not caseworker else (_actor(conn, caseworker)[0], caseworker)
    now = utcnow()
    number = next_case_number(conn, prefix, now.year)
    title, grouping = title.strip(), grouping.strip()
    start_data = dict(data, caseworker=worker,
                      case={"number": number, "title": title, "grouping": grouping, "type": key})
    workflow = runtime.start_workflow(model, uow.runtime.script_engine, start_data,
                                      uow.runtime.settings.max_engine_steps, uow.runtime.settings.max_task_depth)
    head = CaseHead(id=None, number=number, status="open", row_version=0, version_id=version_id,
                    caseworker_id=worker_id, journal_seq=0, journal_head=GENESIS, awaits_message=False,
                    case_type_key=key, lanes=lanes, case_type_id=case_type_id, deletion_rule=deletion_rule)
    loaded = LoadedCase(uow, head, model, workflow)
    loaded.open_before = {}
    loaded.case_type_id, loaded.title, loaded.grouping = case_type_id, title, grouping
    loaded.cpr_fields = cpr.fields_with_cpr({"title": title, "grouping": grouping, **data})
    loaded.form_data = data
    loaded.journal.append(actor, "case_opened", {
        "case_type": key, "version_id": version_id, "title": cpr.redact(title), "grouping": cpr.redact(grouping),
        "caseworker": worker, "fields": sorted(data)})
    snap = loaded.save(actor, actor_id)
    uow.commit()
    return {"number": number, "id": head.id, "status": head.status, "row_version": head.row_version,
            "open_tasks": [{"id": t.id, "name": t.name} for t in snap.open_tasks]}


def complete_task(uow: UnitOfWork, task_id: str, actor: str, data: dict | None = None,
                  expected_row_version: int | None = None) -> dict:
    """Complete a READY user task that `actor` may complete, with form data checked by its schema."""
    session, conn = _SessionOnDemand(uow), uow.hot
    statement = _TASK_WITH_HEAD if conn.dialect.name == "sqlite" else _TASK_WITH_HEAD_LOCKED
    found = conn.execute(statement, {"task_id": str(task_id), "username": actor}).first()
    if found is None or found.actor_id is None or not found.actor_active:
        _actor(conn, actor)  # an unknown or deactivated user: its error comes first, as always
        raise NotFound(f"unknown task '{task_id}'", field="task_id")
    row, head, actor_id = found, CaseHead(*found[len(_TASK_COLUMNS):-len(_ACTOR_COLUMNS)]), found.actor_id
    if row.state != "open":
        raise Conflict(f"task '{row.name}' of case {head.number} is already {row.state}", field="task_id")
    verdict = permissions.may_complete_task(session, actor_id, row.assignee_id, row.candidate_group_id, row.owner_id)
    permissions.require(verdict, f"{actor} may not complete task '{row.name}' of case {head.number}")
    if expected_row_version is not None and expected_row_version != head.row_version:
        raise Conflict(f"case {head.number} changed since the page was loaded; reload and try again")
    data = clean_data(data)
    loaded = LoadedCase.load(uow, head)
    task = runtime.find_ready_task(loaded.workflow, task_id)
    if row.form:
        validate_form(loaded.model.forms.get(row.form), data, row.form)
    runtime.complete_task(loaded.workflow, task, data, *loaded.limits)
    loaded.cpr_fields = cpr.fields_with_cpr(data)
    loaded.form_data = data
    completed = {"task": row.element_id, "name": row.name, "task_id": str(task_id), "fields": sorted(data)}
    if verdict.on_behalf_of is not None:  # a substitute: the journal names both
        completed["on_behalf_of"] = conn.execute(_USERNAME, {"user_id": verdict.on_behalf_of}).scalar()
    if row.owner_id is not None:
        completed["delegated_by"] = conn.execute(_USERNAME, {"user_id": row.owner_id}).scalar()
    loaded.journal.append(actor, "task_completed", completed)
    snap = loaded.save(actor, actor_id, completed_task=str(task_id))
    uow.commit()
    return {"number": head.number, "status": head.status, "row_version": head.row_version,
            "open_tasks": [{"id": t.id, "name": t.name} for t in snap.open_tasks]}


def close_case(uow: UnitOfWork, number: str, actor: str, reason: str) -> dict:
    """Close a case before its workflow ends (withdrawn, duplicate): only after its GDPR review."""
    session = uow.session
    actor_id, _ = _actor(session, actor)
    head = _head_by_number(session, number)
    permissions.require(permissions.may_close_case(session, actor_id, head.caseworker_id),
                        f"{actor} may not close case {number}")
    if not isinstance(reason, str) or not reason.strip():
        raise InvalidInput("closing a case needs a reason", field="reason")
    loaded = LoadedCase.load(uow, head)
    if not runtime.gdpr_review_completed(loaded.workflow):
        raise gdpr.close_refused(uow, head.id, number, actor, "close")
    loaded.workflow.cancel()
    loaded.save(actor, actor_id, close_reason=reason.strip())
    uow.commit()
    return {"number": number, "status": head.status}


def due_timer_case_ids(session: Session, now: datetime | None = None, limit: int = 500) -> list[int]:
    now = now or utcnow()
    return list(session.scalars(select(Case.id).where(Case.status == "open", Case.next_timer_at <= now)
                                .order_by(Case.next_timer_at).limit(limit)))


def fire_timers(uow: UnitOfWork, case_id: int, actor: str = "system") -> dict:
    """Advance one case whose timer is due. A case another worker already moved is left alone."""
    session = uow.session
    head = read_head_by_id(session, case_id)
    if head is None:
        raise NotFound(f"unknown case id {case_id}")
    due = session.scalar(select(Case.next_timer_at).where(Case.id == case_id))
    if head.status != "open" or due is None or due > utcnow():
        return {"number": head.number, "fired": False}
    loaded = LoadedCase.load(uow, head)
    runtime.advance(loaded.workflow, *loaded.limits)
    loaded.journal.append(actor, "timer_fired", {"due_at": due.isoformat()})
    loaded.save(actor, None)
    uow.commit()
    return {"number": head.number, "fired": True, "status": head.status}


def deliver_if_waiting(uow: UnitOfWork, message_name: str, payload: dict | None = None,
                       correlations: dict | None = None, actor: str = "system") -> dict | None:
    """Deliver a BPMN message to the case waiting for it (matched by name and correlation key)
    without committing; None when no case waits for it. The caller commits or records the miss."""
    session = uow.session
    key = correlation_key(correlations or {})
    sub = session.execute(select(MessageSubscription.case_id, MessageSubscription.task_id).where(
        MessageSubscription.message_name == message_name, MessageSubscription.correlation_key == key)
        .order_by(MessageSubscription.id).limit(1)).first()
    if sub is None:
        return None
    head = read_head_by_id(session, sub.case_id)
    loaded = LoadedCase.load(uow, head)
    waiting = loaded.workflow.get_task_from_id(UUID(sub.task_id))
    definition = runtime.message_definition(waiting, message_name)
    event = BpmnEvent(definition, payload=payload or {}, correlations=correlations or {})
    try:
        loaded.workflow.send_event(event)
    except WorkflowException as err:
        raise WorkflowError(f"case {head.number} did not accept message '{message_name}': {err}") from err
    runtime.advance(loaded.workflow, *loaded.limits)
    loaded.cpr_fields = cpr.fields_with_cpr({"payload": payload or {}, "correlations": correlations or {}})
    loaded.journal.append(actor, "message_received", {"message": message_name,
                                                      "correlations": cpr.redact(correlations or {})})
    loaded.save(actor, None)
    return {"number": head.number, "status": head.status}


def deliver_message(uow: UnitOfWork, message_name: str, payload: dict | None = None,
                    correlations: dict | None = None, actor: str = "system", source: str = "api") -> dict:
    """Deliver a BPMN message to the case waiting for it (matched by name and correlation key).

    A message that no case waits for is an error, never silently dropped: it is stored in the
    undelivered messages (engine.services.messages), whatever the caller does with the error.
    """
    delivered = deliver_if_waiting(uow, message_name, payload, correlations, actor)
    if delivered is None:
        key = correlation_key(correlations or {})
        error = NotFound(f"no case waits for message '{message_name}'" + (f" with correlation {key}" if key else ""),
                         field="message_name")
        messages.record_undelivered_after(uow, message_name, key, correlations or {}, payload or {}, source,
                                          error.message)
        raise error
    uow.commit()
    return delivered
