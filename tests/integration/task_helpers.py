"""A small case type for the task-action tests: a team task (group lane) then the caseworker's own task.

start → Task_Team (lane Team → group byg; dueIn P3D, followUpIn P1D, priority 70)
      → Task_Own (lane Sagsbehandler → the caseworker) → GDPR review → end
"""
from __future__ import annotations

from sqlalchemy import func, select

from engine.models import Case, CaseTask, JournalEvent, User
from engine.services import cases
from engine.services.journal import verify_journal
from tests.models import GDPR_CALL, definitions, flow, install, user_task

LANES = ('<bpmn:laneSet id="LaneSet_Teamwork">'
         '<bpmn:lane id="Lane_Team" name="Team"><bpmn:flowNodeRef>Task_Team</bpmn:flowNodeRef></bpmn:lane>'
         '<bpmn:lane id="Lane_Sagsbehandler" name="Sagsbehandler"><bpmn:flowNodeRef>StartEvent</bpmn:flowNodeRef>'
         '<bpmn:flowNodeRef>Task_Own</bpmn:flowNodeRef><bpmn:flowNodeRef>Call_GdprReview</bpmn:flowNodeRef>'
         '<bpmn:flowNodeRef>EndEvent</bpmn:flowNodeRef></bpmn:lane></bpmn:laneSet>')


def teamwork_bpmn() -> bytes:
    return definitions("teamwork", "\n".join([
        LANES,
        '<bpmn:startEvent id="StartEvent"><bpmn:outgoing>F1</bpmn:outgoing></bpmn:startEvent>',
        user_task("Task_Team", "Teamopgave", "F1", "F2",
                  extra_properties={"dueIn": "P3D", "followUpIn": "P1D", "priority": "70"}),
        user_task("Task_Own", "Egen opgave", "F2", "F3"),
        GDPR_CALL.format(incoming="F3", outgoing="F4"),
        '<bpmn:endEvent id="EndEvent"><bpmn:incoming>F4</bpmn:incoming></bpmn:endEvent>',
        flow("F1", "StartEvent", "Task_Team"), flow("F2", "Task_Team", "Task_Own"),
        flow("F3", "Task_Own", "Call_GdprReview"), flow("F4", "Call_GdprReview", "EndEvent"),
    ]))


def install_teamwork(ctx) -> dict:
    return install(ctx, "teamwork", teamwork_bpmn(), "teamwork", "TW",
                   lanes={"Sagsbehandler": {"expression": "caseworker"}, "Team": {"group": "byg"}})


def open_teamwork(ctx, actor: str = "anna", title: str = "Teamsag", grouping: str = "Vej 1") -> tuple[str, str]:
    """Open a case; returns (case number, id of its open team task)."""
    with ctx.unit_of_work() as uow:
        opened = cases.open_case(uow, "teamwork", actor, title, grouping=grouping)
    return opened["number"], opened["open_tasks"][0]["id"]


def task_row(ctx, task_id: str) -> dict:
    with ctx.unit_of_work(read_only=True) as uow:
        row = uow.session.get(CaseTask, task_id)
        return {c: getattr(row, c) for c in ("state", "assignee_id", "owner_id", "candidate_group_id", "priority",
                                             "due_at", "follow_up_at", "completed_by_id")}


def case_snapshot(ctx, number: str) -> tuple:
    """Everything an action may change: the case row's version, state and journal, and its task rows."""
    with ctx.unit_of_work(read_only=True) as uow:
        case = cases.get_case(uow.session, number)
        events = uow.session.scalar(select(func.count()).where(JournalEvent.case_id == case.id))
        tasks = uow.session.execute(
            select(CaseTask.id, CaseTask.state, CaseTask.assignee_id, CaseTask.owner_id, CaseTask.priority,
                   CaseTask.due_at, CaseTask.follow_up_at).where(CaseTask.case_id == case.id)
            .order_by(CaseTask.id)).all()
        return case.row_version, case.state, case.journal_head, events, tasks


def journal(ctx, number: str) -> list:
    """The case's journal events (seq, actor, kind, data), after checking that the chain is intact."""
    with ctx.unit_of_work(read_only=True) as uow:
        case = uow.session.scalar(select(Case).where(Case.number == number))
        assert verify_journal(uow.session, case.id, case.journal_head) == []
        return uow.session.execute(select(JournalEvent.seq, JournalEvent.actor, JournalEvent.kind, JournalEvent.data)
                                   .where(JournalEvent.case_id == case.id).order_by(JournalEvent.seq)).all()


def user_id(ctx, username: str) -> int:
    with ctx.unit_of_work(read_only=True) as uow:
        return uow.session.scalar(select(User.id).where(User.username == username))
