"""Plain BPMN message events (no SpiffWorkflow extensions) carry data as the standard says, through
the services and the stored state; Spiff-dialect files keep Spiff's rules. SQLite and PostgreSQL."""
from __future__ import annotations

import subprocess
import sys

from sqlalchemy import select

from engine.models import UndeliveredMessage
from engine.runtime.parsing import parse_model
from engine.runtime.plain_messages import PlainMessageEventDefinition
from engine.runtime.state import _REGISTRY
from engine.services import cases
from engine.settings import PROJECT_ROOT
from tests.models import GDPR_CALL, definitions, flow, install, message_bpmn, shared_files



def thrower_bpmn(extension: str = "") -> bytes:
    """Throw the message 'reply' at start; `extension` goes inside the message (Spiff dialect)."""
    return definitions("thrower", "\n".join([
        '<bpmn:startEvent id="StartEvent"><bpmn:outgoing>F1</bpmn:outgoing></bpmn:startEvent>',
        '<bpmn:scriptTask id="Script_Set"><bpmn:incoming>F1</bpmn:incoming><bpmn:outgoing>F2</bpmn:outgoing>'
        '<bpmn:script>answer = "ja"\nround = 2</bpmn:script></bpmn:scriptTask>',
        '<bpmn:intermediateThrowEvent id="Throw_Reply"><bpmn:incoming>F2</bpmn:incoming>'
        '<bpmn:outgoing>F3</bpmn:outgoing><bpmn:messageEventDefinition messageRef="Message_Reply"/>'
        '</bpmn:intermediateThrowEvent>',
        GDPR_CALL.format(incoming="F3", outgoing="F4"),
        '<bpmn:endEvent id="EndEvent"><bpmn:incoming>F4</bpmn:incoming></bpmn:endEvent>',
        flow("F1", "StartEvent", "Script_Set"), flow("F2", "Script_Set", "Throw_Reply"),
        flow("F3", "Throw_Reply", "Call_GdprReview"), flow("F4", "Call_GdprReview", "EndEvent"),
    ]), root_elements=f'<bpmn:message id="Message_Reply" name="reply">{extension}</bpmn:message>\n')


SPIFF_PAYLOAD = ('<bpmn:extensionElements><spiffworkflow:messagePayload>{"answer": answer}'
                 '</spiffworkflow:messagePayload></bpmn:extensionElements>')


def _undelivered(ctx) -> list[tuple]:
    with ctx.unit_of_work(read_only=True) as uow:
        return [(m.message_name, m.source, m.payload) for m in uow.session.scalars(select(UndeliveredMessage))]


def test_a_plain_file_gets_plain_message_events_and_a_spiff_file_keeps_its_own():
    plain = parse_model({"thrower.bpmn": thrower_bpmn(), **shared_files()}, "thrower")
    spiff = parse_model({"thrower.bpmn": thrower_bpmn(SPIFF_PAYLOAD), **shared_files()}, "thrower")
    assert type(plain.spec.task_specs["Throw_Reply"].event_definition) is PlainMessageEventDefinition
    assert type(spiff.spec.task_specs["Throw_Reply"].event_definition) is not PlainMessageEventDefinition


def test_a_plain_thrown_message_carries_the_task_data(ctx):
    install(ctx, "thrower", thrower_bpmn(), "thrower", "THR")
    with ctx.unit_of_work() as uow:
        number = cases.open_case(uow, "thrower", "anna", "Svar")["number"]
    [(name, source, payload)] = _undelivered(ctx)
    assert name == "reply" and source == f"case:{number}"
    # all of the task data: what the script set and what the engine gives every case
    assert payload["answer"] == "ja" and payload["round"] == 2 and payload["case"]["number"] == number


def test_a_spiff_thrown_message_carries_only_its_payload_expression(ctx):
    install(ctx, "thrower", thrower_bpmn(SPIFF_PAYLOAD), "thrower", "THR")
    with ctx.unit_of_work() as uow:
        cases.open_case(uow, "thrower", "anna", "Svar")
    assert [payload for _, _, payload in _undelivered(ctx)] == [{"answer": "ja"}]


def test_a_plain_caught_message_is_merged_into_the_case_data_and_survives_a_reload(ctx):
    install(ctx, "awaits_decision", message_bpmn(), "awaits_decision", "MSG")
    with ctx.unit_of_work() as uow:
        number = cases.open_case(uow, "awaits_decision", "anna", "Venter")["number"]
    with ctx.unit_of_work() as uow:
        cases.deliver_message(uow, "decision", {"approved": True, "note": "Godkendt af udvalget"})
    ctx.runtime.live.clear()  # read it back from the stored state, not the live workflow
    with ctx.unit_of_work(read_only=True) as uow:
        data = cases.workflow_data(uow, number)
    assert data["approved"] is True and data["note"] == "Godkendt af udvalget"


def test_a_plain_message_definition_survives_the_state_serializer():
    """A thrown message waits in the stored state until it is routed; it must come back plain."""
    model = parse_model({"thrower.bpmn": thrower_bpmn(), **shared_files()}, "thrower")
    definition = model.spec.task_specs["Throw_Reply"].event_definition
    restored = _REGISTRY.restore(_REGISTRY.convert(definition))
    assert type(restored) is PlainMessageEventDefinition and restored == definition
    assert restored.name == "reply"


def test_the_state_serializer_knows_plain_messages_without_a_global_registration():
    """A fresh interpreter importing only engine.runtime.state round-trips a stored plain message;
    SpiffWorkflow's global SPIFF_CONFIG stays untouched, so no import order decides it."""
    script = "\n".join([
        "from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG",
        "from engine.runtime import state",
        "from engine.runtime.plain_messages import PlainMessageEventDefinition",
        "assert PlainMessageEventDefinition not in SPIFF_CONFIG, 'the global table was changed'",
        "definition = PlainMessageEventDefinition('reply', [])",
        "restored = state._REGISTRY.restore(state._REGISTRY.convert(definition))",
        "assert type(restored) is PlainMessageEventDefinition and restored.name == 'reply', restored",
    ])
    done = subprocess.run([sys.executable, "-c", script], cwd=PROJECT_ROOT, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
