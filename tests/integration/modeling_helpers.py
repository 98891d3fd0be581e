"""Small linear case types for the drafts, publish and migration tests."""
from __future__ import annotations

import json
from types import SimpleNamespace

from sqlalchemy import select

from engine.models import CaseTask, JournalEvent
from engine.services import case_types, cases
from tests.models import GDPR_CALL, definitions, flow, install, user_task

NOTE_FORM = {"type": "object", "properties": {"note": {"type": "string"}}}
OWNER = "dorte"


def linear(*tasks: str, forms: dict | None = None, timer_on: str | None = None, process_id: str = "flow") -> bytes:
    """start → user tasks (ids; all in lane Sagsbehandler, form note.json) → GDPR review → end.

    `forms` maps a task id to another form; `timer_on` puts a non-interrupting "P7D" reminder on a task.
    """
    forms = forms or {}
    chain = ["StartEvent", *tasks, "Call_GdprReview", "EndEvent"]
    body = [f'<bpmn:laneSet id="LaneSet"><bpmn:lane id="Lane_Case" name="Sagsbehandler">'
            + "".join(f"<bpmn:flowNodeRef>{n}</bpmn:flowNodeRef>" for n in chain + (["Timer", "Task_Remind"] if timer_on else []))
            + "</bpmn:lane></bpmn:laneSet>",
            '<bpmn:startEvent id="StartEvent"><bpmn:outgoing>F0</bpmn:outgoing></bpmn:startEvent>']
    for i, task in enumerate(tasks):
        body.append(user_task(task, task.replace("Task_", ""), f"F{i}", f"F{i + 1}", form=forms.get(task, "note.json")))
    n = len(tasks)
    incoming = f"F{n}" + ("</bpmn:incoming><bpmn:incoming>F_Reminded" if timer_on else "")
    body.append(GDPR_CALL.format(incoming=incoming, outgoing="F_End"))
    body.append('<bpmn:endEvent id="EndEvent"><bpmn:incoming>F_End</bpmn:incoming></bpmn:endEvent>')
    for i, (source, target) in enumerate(zip(chain, chain[1:-1])):
        body.append(flow(f"F{i}", source, target))
    body.append(flow("F_End", "Call_GdprReview", "EndEvent"))
    if timer_on:
        body.append(f'<bpmn:boundaryEvent id="Timer" name="Påmindelse" attachedToRef="{timer_on}" cancelActivity="false">'
                    '<bpmn:outgoing>F_Remind</bpmn:outgoing><bpmn:timerEventDefinition>'
                    '<bpmn:timeDuration>"P7D"</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:boundaryEvent>')
        body.append(user_task("Task_Remind", "Påmind", "F_Remind", "F_Reminded", form="note.json"))
        body.append(flow("F_Remind", "Timer", "Task_Remind"))
        body.append(flow("F_Reminded", "Task_Remind", "Call_GdprReview"))
    return definitions(process_id, "\n".join(body))


def install_flow(ctx, key: str = "flow", prefix: str = "FLW", bpmn: bytes | None = None, forms: dict | None = None):
    return install(ctx, key, bpmn or linear("Task_A", "Task_B"), "flow", prefix,
                   forms={"note.json": NOTE_FORM, **(forms or {})})


def publish(ctx, key: str, bpmn: bytes, forms: dict | None = None, actor: str = OWNER) -> int:
    """A new draft of `key` with `bpmn` as its process file (and forms), published; its number."""
    with ctx.unit_of_work() as uow:
        draft = case_types.create_draft(uow, key, actor)
    files = {f"{key}.bpmn": bpmn, **{f"forms/{n}": json.dumps(s).encode() for n, s in (forms or {}).items()}}
    with ctx.unit_of_work() as uow:
        saved = case_types.save_draft(uow, key, draft["number"], actor, files=files)
    assert saved["lint"]["errors"] == 0, saved["lint"]["findings"]
    warnings = [f["key"] for f in saved["lint"]["findings"] if f["severity"] == "warning"]
    if warnings:
        with ctx.unit_of_work() as uow:
            case_types.acknowledge_warnings(uow, key, draft["number"], actor, warnings)
    with ctx.unit_of_work() as uow:
        case_types.publish_version(uow, key, draft["number"], actor)
    return draft["number"]


def open_case(ctx, key: str = "flow", actor: str = "anna") -> str:
    with ctx.unit_of_work() as uow:
        return cases.open_case(uow, key, actor, "Prøvesag")["number"]


def open_task_rows(ctx, number: str) -> list[tuple]:
    with ctx.unit_of_work(read_only=True) as uow:
        case_id = cases.get_case(uow.session, number).id
        return uow.session.execute(select(CaseTask.id, CaseTask.element_id, CaseTask.assignee_id).where(
            CaseTask.case_id == case_id, CaseTask.state == "open").order_by(CaseTask.element_id)).all()


def complete_open(ctx, number: str, element: str, actor: str = "anna", data: dict | None = None) -> None:
    rows = [r for r in open_task_rows(ctx, number) if r.element_id == element]
    assert rows, (element, open_task_rows(ctx, number))
    with ctx.unit_of_work() as uow:
        cases.complete_task(uow, rows[0].id, actor, data or {"note": "ok"})


def case_row(ctx, number: str) -> dict:
    with ctx.unit_of_work(read_only=True) as uow:
        case = cases.get_case(uow.session, number)
        return SimpleNamespace(id=case.id, version_id=case.version_id, state=case.state,
                               row_version=case.row_version, status=case.status, next_timer_at=case.next_timer_at)


def journal_kinds(ctx, number: str) -> list[str]:
    with ctx.unit_of_work(read_only=True) as uow:
        case_id = cases.get_case(uow.session, number).id
        return list(uow.session.scalars(select(JournalEvent.kind).where(JournalEvent.case_id == case_id)
                                        .order_by(JournalEvent.seq)))
