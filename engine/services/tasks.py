"""Task actions: claim, unclaim, assign, delegate, take back, due and follow-up dates, priority.

Each is one unit of work that changes the task's index row and appends to the case's journal; none
touches the workflow state (`cases.state`). They still lock the case row and bump its row_version,
like a completion does, because:

- the journal's head lives on the case row: two writers appending at once would fork the chain;
- a completion and an assignment of the same task must queue, not interleave. Both read the task
  with its case under `SELECT ... FOR UPDATE OF cases, tasks` (SQLite: BEGIN IMMEDIATE), so whoever
  comes second sees the first one's result: an assignment after a completion is a Conflict, a
  completion after a reassignment is judged against the new assignee;
- a page or API client holding the case's row_version learns that the case moved on.

The workflow this process keeps in memory for the case stays valid (its state did not change) and
is re-filed under the new row_version after the commit.
"""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session, aliased

from .. import permissions
from ..db import UnitOfWork, utcnow
from ..errors import Conflict, InvalidInput, NotAllowed, NotFound
from ..localtime import local_today, parse_moment
from ..models import Case, CaseTask, Group, User
from ..permissions import TaskHolders, Verdict
from .journal import Journal

_TASK_AND_CASE = (
    select(CaseTask.id, CaseTask.state, CaseTask.name, CaseTask.element_id, CaseTask.assignee_id,
           CaseTask.candidate_group_id, CaseTask.owner_id, CaseTask.due_at, CaseTask.follow_up_at,
           CaseTask.priority, CaseTask.case_id, Case.number, Case.status, Case.row_version, Case.version_id,
           Case.journal_seq, Case.journal_head)
    .select_from(CaseTask).join(Case, Case.id == CaseTask.case_id)
    .where(CaseTask.id == bindparam("task_id")))
# The same lock, in the same order (cases, then tasks), as cases.complete_task takes.
_TASK_AND_CASE_LOCKED = _TASK_AND_CASE.with_for_update(of=(Case, CaseTask))
_UPDATE_TASK = update(CaseTask).where(CaseTask.id == bindparam("b_task_id"))
_TOUCH_CASE = (update(Case).where(Case.id == bindparam("b_case_id"), Case.row_version == bindparam("b_row_version"))
               .values(journal_seq=bindparam("b_journal_seq"), journal_head=bindparam("b_journal_head"),
                       row_version=bindparam("b_new_row_version"), updated_at=bindparam("b_now")))
_USER_BY_NAME = select(User.id, User.is_active).where(User.username == bindparam("username"))
_USERNAME = select(User.username).where(User.id == bindparam("user_id"))
_Assignee, _Owner = aliased(User), aliased(User)
_TASK_VIEW = (
    select(CaseTask.id, CaseTask.state, CaseTask.priority, CaseTask.due_at, CaseTask.follow_up_at,
           _Assignee.username.label("assignee"), _Owner.username.label("owner"), Group.key.label("candidate_group"))
    .select_from(CaseTask)
    .outerjoin(_Assignee, _Assignee.id == CaseTask.assignee_id).outerjoin(_Owner, _Owner.id == CaseTask.owner_id)
    .outerjoin(Group, Group.id == CaseTask.candidate_group_id)
    .where(CaseTask.id == bindparam("task_id")))


# --- the actions ------------------------------------------------------------------------------------

def claim_task(uow: UnitOfWork, task_id: str, actor: str, expected_row_version: int | None = None) -> dict:
    """A member of the candidate group takes an unassigned group task.

    Two members claiming at once: the first wins, the second gets a Conflict naming the winner.
    Claiming a task one already holds changes nothing.
    """
    action = _TaskAction(uow, task_id, actor, expected_row_version=expected_row_version)
    row = action.row
    if row.assignee_id == action.actor_id:
        return action.unchanged()
    if row.assignee_id is not None:
        raise Conflict(f"task '{row.name}' of case {row.number} is already taken by "
                       f"{action.username(row.assignee_id)}", field="task_id")
    verdict = permissions.may_claim_task(uow.session, action.actor_id, action.holders)
    action.require(verdict, "claim")
    return action.write("task_claimed", {"assignee": actor}, {"assignee_id": action.actor_id}, verdict)


def unclaim_task(uow: UnitOfWork, task_id: str, actor: str, expected_row_version: int | None = None) -> dict:
    """Hand a claimed task back to its candidate group (unassigned again)."""
    action = _TaskAction(uow, task_id, actor, expected_row_version=expected_row_version)
    row = action.row
    if row.assignee_id is None:
        raise Conflict(f"task '{row.name}' of case {row.number} is not taken by anyone; it was handed back "
                       "meanwhile", field="task_id")
    verdict = permissions.may_unclaim_task(uow.session, action.actor_id, action.holders, action.today)
    action.require(verdict, "hand back")
    return action.write("task_unclaimed", {"previous_assignee": action.username(row.assignee_id)},
                        {"assignee_id": None, "owner_id": None}, verdict)


def assign_task(uow: UnitOfWork, task_id: str, actor: str, assignee: str,
                expected_row_version: int | None = None) -> dict:
    """Give a task to a colleague (ends a delegation: the colleague simply holds it)."""
    action = _TaskAction(uow, task_id, actor, expected_row_version=expected_row_version)
    row = action.row
    verdict = permissions.may_assign_task(uow.session, action.actor_id, action.holders, action.today)
    action.require(verdict, "assign")
    target_id = action.colleague(assignee, "assignee")
    if row.assignee_id == target_id and row.owner_id is None:
        return action.unchanged()
    return action.write("task_assigned", {"assignee": assignee, "previous_assignee": action.username(row.assignee_id)},
                        {"assignee_id": target_id, "owner_id": None}, verdict)


def delegate_task(uow: UnitOfWork, task_id: str, actor: str, delegate: str,
                  expected_row_version: int | None = None) -> dict:
    """Let a colleague work a task: the delegate completes it; the owner keeps seeing it and may take it back."""
    action = _TaskAction(uow, task_id, actor, expected_row_version=expected_row_version)
    row = action.row
    verdict = permissions.may_delegate_task(uow.session, action.actor_id, action.holders, action.today)
    action.require(verdict, "delegate")
    target_id = action.colleague(delegate, "delegate")
    owner_id = row.owner_id if row.owner_id is not None else row.assignee_id
    if target_id == owner_id:
        raise InvalidInput(f"{delegate} holds task '{row.name}' already; delegate it to someone else",
                           field="delegate", reason="holds_it")
    if row.assignee_id == target_id:
        return action.unchanged()
    return action.write("task_delegated", {"delegate": delegate, "owner": action.username(owner_id)},
                        {"assignee_id": target_id, "owner_id": owner_id}, verdict)


def take_back_task(uow: UnitOfWork, task_id: str, actor: str, expected_row_version: int | None = None) -> dict:
    """The owner of a delegated task takes it back from the delegate."""
    action = _TaskAction(uow, task_id, actor, expected_row_version=expected_row_version)
    row = action.row
    if row.owner_id is None:
        raise Conflict(f"task '{row.name}' of case {row.number} is not delegated; it was taken back or "
                       "reassigned meanwhile", field="task_id")
    verdict = permissions.may_take_back_task(uow.session, action.actor_id, action.holders, action.today)
    action.require(verdict, "take back")
    return action.write("task_taken_back", {"owner": action.username(row.owner_id),
                                            "delegate": action.username(row.assignee_id)},
                        {"assignee_id": row.owner_id, "owner_id": None}, verdict)


def set_due_date(uow: UnitOfWork, task_id: str, actor: str, due, now: datetime | None = None,
                 expected_row_version: int | None = None) -> dict:
    """Set (or with None clear) a task's due date: a datetime, a date, an ISO date-time or an ISO 8601
    duration from now ('P7D')."""
    return _set_moment(uow, task_id, actor, due, "due_at", "task_due_date_set", now, expected_row_version)


def set_follow_up_date(uow: UnitOfWork, task_id: str, actor: str, follow_up, now: datetime | None = None,
                       expected_row_version: int | None = None) -> dict:
    """Set (or clear) the date on which the task's holder wants to look at it again."""
    return _set_moment(uow, task_id, actor, follow_up, "follow_up_at", "task_follow_up_date_set", now,
                       expected_row_version)


def set_priority(uow: UnitOfWork, task_id: str, actor: str, priority,
                 expected_row_version: int | None = None) -> dict:
    """Set a task's priority, 0 (lowest) to 100 (highest); new tasks have the model's or 50."""
    action = _TaskAction(uow, task_id, actor, expected_row_version=expected_row_version)
    verdict = permissions.may_plan_task(uow.session, action.actor_id, action.holders, action.today)
    action.require(verdict, "change the priority of")
    value = clean_priority(priority)
    if value == action.row.priority:
        return action.unchanged()
    return action.write("task_priority_set", {"priority": value, "previous": action.row.priority},
                        {"priority": value}, verdict)


def clean_priority(priority) -> int:
    if isinstance(priority, str) and priority.strip().lstrip("-").isdigit():
        priority = int(priority.strip())
    if isinstance(priority, bool) or not isinstance(priority, int):
        raise InvalidInput(f"priority must be a whole number from 0 to 100, not {priority!r}", field="priority")
    if not 0 <= priority <= 100:
        raise InvalidInput(f"priority must be from 0 to 100, not {priority}", field="priority")
    return priority


def _set_moment(uow: UnitOfWork, task_id: str, actor: str, value, column: str, kind: str,
                now: datetime | None, expected_row_version: int | None = None) -> dict:
    action = _TaskAction(uow, task_id, actor, expected_row_version=expected_row_version)
    verdict = permissions.may_plan_task(uow.session, action.actor_id, action.holders, action.today)
    action.require(verdict, "plan")
    moment = parse_moment(value, column, now)
    previous = getattr(action.row, column)
    if moment == previous:
        return action.unchanged()
    return action.write(kind, {column: _iso(moment), "previous": _iso(previous)}, {column: moment}, verdict)


# --- one action's unit of work ------------------------------------------------------------------

class _TaskAction:
    """The task row and its case, locked, plus what every action does with them."""

    def __init__(self, uow: UnitOfWork, task_id: str, actor: str, today: date | None = None,
                 expected_row_version: int | None = None):
        self.uow, self.session = uow, uow.session
        self.conn = self.session.connection()
        self.actor = actor
        self.actor_id = _user_id(self.session, actor, "username", acting=True)
        statement = _TASK_AND_CASE if self.conn.dialect.name == "sqlite" else _TASK_AND_CASE_LOCKED
        self.row = self.conn.execute(statement, {"task_id": str(task_id)}).first()
        if self.row is None:
            raise NotFound(f"unknown task '{task_id}'", field="task_id")
        if self.row.state != "open":
            raise Conflict(f"task '{self.row.name}' of case {self.row.number} is already {self.row.state}",
                           field="task_id")
        # A page or client that read the case at another row_version decided on what it no longer shows.
        if expected_row_version is not None and expected_row_version != self.row.row_version:
            raise Conflict(f"case {self.row.number} was changed meanwhile (version {self.row.row_version}, "
                           f"the page showed {expected_row_version}); reload and try again", field="row_version")
        self.holders = TaskHolders(self.row.assignee_id, self.row.candidate_group_id, self.row.owner_id)
        self.today = today or local_today()

    def require(self, verdict: Verdict, verb: str) -> None:
        permissions.require(verdict, f"{self.actor} may not {verb} task '{self.row.name}' of case {self.row.number}")

    def username(self, user_id: int | None) -> str | None:
        return self.conn.execute(_USERNAME, {"user_id": user_id}).scalar() if user_id is not None else None

    def colleague(self, username, field: str) -> int:
        if not isinstance(username, str) or not username.strip():
            raise InvalidInput(f"{field} must name a user", field=field)
        return _user_id(self.session, username, field)

    def write(self, kind: str, data: dict, values: dict, verdict: Verdict) -> dict:
        row, now = self.row, utcnow()
        event = {"task": row.element_id, "name": row.name, "task_id": row.id, **data}
        if verdict.on_behalf_of is not None:  # a substitute acts: the journal names both
            event["on_behalf_of"] = self.username(verdict.on_behalf_of)
        self.conn.execute(_UPDATE_TASK, dict(values, b_task_id=row.id))
        journal = Journal(row.journal_seq, row.journal_head)
        journal.append(self.actor, kind, event)
        journal.write(self.session, row.case_id)
        new_version = row.row_version + 1
        result = self.conn.execute(_TOUCH_CASE, {
            "b_case_id": row.case_id, "b_row_version": row.row_version, "b_new_row_version": new_version,
            "b_journal_seq": journal.seq, "b_journal_head": journal.head, "b_now": now})
        if result.rowcount != 1:
            raise Conflict(f"case {row.number} was changed by someone else meanwhile; reload and try again")
        live = self.uow.runtime.live if self.uow.runtime is not None else None
        case_id, old_version, version_id = row.case_id, row.row_version, row.version_id

        def refile() -> None:  # the state did not change: the workflow in memory is still the row's
            workflow = live.take(case_id, old_version, version_id)
            if workflow is not None:
                live.put(case_id, new_version, version_id, workflow)

        if live is not None:
            self.uow.after_commit(refile)
        view = self.view(new_version)
        self.uow.commit()
        return view

    def unchanged(self) -> dict:
        return self.view(self.row.row_version)

    def view(self, row_version: int) -> dict:
        task = self.conn.execute(_TASK_VIEW, {"task_id": self.row.id}).first()
        return {"task_id": task.id, "case": self.row.number, "row_version": row_version, "state": task.state,
                "assignee": task.assignee, "owner": task.owner, "candidate_group": task.candidate_group,
                "priority": task.priority, "due_at": _iso(task.due_at), "follow_up_at": _iso(task.follow_up_at)}


def _user_id(session: Session, username, field: str, acting: bool = False) -> int:
    row = session.connection().execute(_USER_BY_NAME, {"username": str(username)}).first()
    if row is None:
        raise NotFound(f"unknown user '{username}'", field=field)
    if not row.is_active:
        if acting:
            raise NotAllowed(f"user '{username}' is deactivated")
        raise InvalidInput(f"user '{username}' is deactivated and cannot take tasks", field=field,
                           reason="deactivated")
    return row.id


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None
