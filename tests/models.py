"""Small inline models for engine tests, installed beside the shared building blocks."""
from __future__ import annotations

import json
from xml.sax.saxutils import escape
from engine.services.case_types import install_case_type
from engine.settings import PROJECT_ROOT

BPMN_HEAD = ('<?xml version="1.0" encoding="UTF-8"?>\n<bpmn:definitions '
             'xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
             'xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" '
             'id="Definitions_{pid}" targetNamespace="http://sagsgang.dk/test">\n')


def definitions(process_id: str, body: str, root_elements: str = "") -> bytes:
    return (BPMN_HEAD.format(pid=process_id) + root_elements
            + f'<bpmn:process id="{process_id}" isExecutable="true">\n{body}\n</bpmn:process>\n'
            + '</bpmn:definitions>\n').encode()


def user_task(task_id: str, name: str, incoming: str, outgoing: str, form: str | None = None,
              extra_properties: dict | None = None) -> str:
    props = dict(extra_properties or {})
    if form:
        props["formJsonSchemaFilename"] = form
    properties = "".join(f'<spiffworkflow:property name="{k}" value="{v}"/>' for k, v in props.items())
    ext = (f"<bpmn:extensionElements><spiffworkflow:properties>{properties}</spiffworkflow:properties>"
           "</bpmn:extensionElements>") if props else ""
    return (f'<bpmn:userTask id="{task_id}" name="{name}">{ext}<bpmn:incoming>{incoming}</bpmn:incoming>'
            f'<bpmn:outgoing>{outgoing}</bpmn:outgoing></bpmn:userTask>')


def flow(flow_id: str, source: str, target: str, condition: str | None = None) -> str:
    cond = (f'<bpmn:conditionExpression>{condition}</bpmn:conditionExpression>') if condition else ""
    return f'<bpmn:sequenceFlow id="{flow_id}" sourceRef="{source}" targetRef="{target}">{cond}</bpmn:sequenceFlow>'


GDPR_CALL = ('<bpmn:callActivity id="Call_GdprReview" name="GDPR-gennemgang" calledElement="gdpr_review">'
             '<bpmn:incoming>{incoming}</bpmn:incoming><bpmn:outgoing>{outgoing}</bpmn:outgoing></bpmn:callActivity>')


def rework_loop_bpmn(process_id: str = "rework") -> bytes:
    """start → Work → (again? back to Work) → GDPR review → end: the classic rework loop."""
    return definitions(process_id, "\n".join([
        '<bpmn:startEvent id="StartEvent"><bpmn:outgoing>F1</bpmn:outgoing></bpmn:startEvent>',
        user_task("Task_Work", "Arbejd", "F1</bpmn:incoming><bpmn:incoming>F_Again", "F2", form="work.json"),
        '<bpmn:exclusiveGateway id="Gateway_Again" default="F_Done"><bpmn:incoming>F2</bpmn:incoming>'
        '<bpmn:outgoing>F_Again</bpmn:outgoing><bpmn:outgoing>F_Done</bpmn:outgoing></bpmn:exclusiveGateway>',
        GDPR_CALL.format(incoming="F_Done", outgoing="F3"),
        '<bpmn:endEvent id="EndEvent"><bpmn:incoming>F3</bpmn:incoming></bpmn:endEvent>',
        flow("F1", "StartEvent", "Task_Work"), flow("F2", "Task_Work", "Gateway_Again"),
        flow("F_Again", "Gateway_Again", "Task_Work", "again == True"),
        flow("F_Done", "Gateway_Again", "Call_GdprReview"), flow("F3", "Call_GdprReview", "EndEvent"),
    ]))


WORK_FORM = {"type": "object", "properties": {"again": {"type": "boolean"}, "note": {"type": "string"},
                                              "amount": {"type": "integer", "minimum": 0}},
             "required": ["again"]}

GDPR_DATA = {"personal_data_category": "ordinary", "legal_basis": "art. 6, stk. 1, litra e",
             "parties_reviewed": True, "deletion_rule_applies": True}


def shared_files() -> dict[str, bytes]:
    shared = PROJECT_ROOT / "bpmn" / "shared"
    return {"shared/" + p.relative_to(shared).as_posix(): p.read_bytes()
            for p in sorted(shared.rglob("*")) if p.is_file() and p.suffix in (".bpmn", ".dmn", ".json")}


def metadata(key: str, process_id: str, prefix: str, **extra) -> dict:
    base = {"key": key, "name": key.title(), "prefix": prefix, "kle_number": "00.00.00",
            "handlingsfacet": "G01", "deletion_rule": "P1825D", "personal_data_category": "ordinary",
            "owner_group": "sekretariatet", "process_id": process_id,
            "lanes": {"Sagsbehandler": {"expression": "caseworker"}}}
    base.update(extra)
    return base


def install(ctx, key: str, bpmn: bytes, process_id: str, prefix: str, forms: dict | None = None,
            publish: bool = True, **meta) -> dict:
    files = {f"{key}.bpmn": bpmn, **shared_files()}
    for name, schema in (forms or {}).items():
        files[f"forms/{name}"] = json.dumps(schema).encode()
    with ctx.unit_of_work() as uow:
        return install_case_type(uow, metadata(key, process_id, prefix, **meta), files, "admin", publish=publish)


def install_rework(ctx) -> dict:
    return install(ctx, "rework", rework_loop_bpmn(), "rework", "RW", forms={"work.json": WORK_FORM})


def deadline_bpmn(duration: str = "PT0.3S") -> bytes:
    """A task with an interrupting boundary timer that escalates to a second task."""
    return definitions("deadline", "\n".join([
        '<bpmn:startEvent id="StartEvent"><bpmn:outgoing>F1</bpmn:outgoing></bpmn:startEvent>',
        user_task("Task_Handle", "Behandl", "F1", "F2"),
        '<bpmn:boundaryEvent id="Timer_Deadline" attachedToRef="Task_Handle" cancelActivity="true">'
        '<bpmn:outgoing>F_Late</bpmn:outgoing><bpmn:timerEventDefinition>'
        f'<bpmn:timeDuration>"{duration}"</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:boundaryEvent>',
        user_task("Task_Escalate", "Eskalér", "F_Late", "F3"),
        GDPR_CALL.format(incoming="F2</bpmn:incoming><bpmn:incoming>F3", outgoing="F4"),
        '<bpmn:endEvent id="EndEvent"><bpmn:incoming>F4</bpmn:incoming></bpmn:endEvent>',
        flow("F1", "StartEvent", "Task_Handle"), flow("F2", "Task_Handle", "Call_GdprReview"),
        flow("F_Late", "Timer_Deadline", "Task_Escalate"), flow("F3", "Task_Escalate", "Call_GdprReview"),
        flow("F4", "Call_GdprReview", "EndEvent"),
    ]))


def message_bpmn() -> bytes:
    """Wait for the message 'decision', then branch on its payload."""
    return definitions("awaits_decision", "\n".join([
        '<bpmn:startEvent id="StartEvent"><bpmn:outgoing>F1</bpmn:outgoing></bpmn:startEvent>',
        '<bpmn:intermediateCatchEvent id="Catch_Decision"><bpmn:incoming>F1</bpmn:incoming>'
        '<bpmn:outgoing>F2</bpmn:outgoing><bpmn:messageEventDefinition messageRef="Message_Decision"/>'
        '</bpmn:intermediateCatchEvent>',
        GDPR_CALL.format(incoming="F2", outgoing="F3"),
        '<bpmn:endEvent id="EndEvent"><bpmn:incoming>F3</bpmn:incoming></bpmn:endEvent>',
        flow("F1", "StartEvent", "Catch_Decision"), flow("F2", "Catch_Decision", "Call_GdprReview"),
        flow("F3", "Call_GdprReview", "EndEvent"),
    ]), root_elements='<bpmn:message id="Message_Decision" name="decision"/>\n')


def script_bpmn(script: str, after_user_task: bool) -> bytes:
    """A script task, run at start or only after a user task (i.e. after a save/load round trip)."""
    first = user_task("Task_First", "Først", "F1", "F2") if after_user_task else ""
    into_script = "F2" if after_user_task else "F1"
    flows = [flow("F1", "StartEvent", "Task_First" if after_user_task else "Script")]
    if after_user_task:
        flows.append(flow("F2", "Task_First", "Script"))
    return definitions("scripted", "\n".join([
        '<bpmn:startEvent id="StartEvent"><bpmn:outgoing>F1</bpmn:outgoing></bpmn:startEvent>',
        first,
        f'<bpmn:scriptTask id="Script" name="Beregn"><bpmn:incoming>{into_script}</bpmn:incoming>'
        f'<bpmn:outgoing>F3</bpmn:outgoing><bpmn:script>{escape(script)}</bpmn:script></bpmn:scriptTask>',
        GDPR_CALL.format(incoming="F3", outgoing="F4"),
        '<bpmn:endEvent id="EndEvent"><bpmn:incoming>F4</bpmn:incoming></bpmn:endEvent>',
        *flows, flow("F3", "Script", "Call_GdprReview"), flow("F4", "Call_GdprReview", "EndEvent"),
    ]))
