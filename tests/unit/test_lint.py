"""The case-type linter: every rule with a model it fails and a model it passes."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from engine.lint import ERROR, WARNING, lint_model
from engine.services.case_types import read_case_type_directory
from engine.settings import PROJECT_ROOT
from tests.background_models import service_bpmn
from tests.models import GDPR_CALL, definitions, flow, metadata, shared_files, user_task

START = '<bpmn:startEvent id="StartEvent"><bpmn:outgoing>F1</bpmn:outgoing></bpmn:startEvent>'
END = '<bpmn:endEvent id="EndEvent"><bpmn:incoming>{incoming}</bpmn:incoming></bpmn:endEvent>'
FORM = {"type": "object", "properties": {"note": {"type": "string"}, "approved": {"type": "boolean"}}}
LANES = ('<bpmn:laneSet id="LaneSet"><bpmn:lane id="Lane_Case" name="Sagsbehandler">{refs}</bpmn:lane>'
         '</bpmn:laneSet>')


def lanes(*ids: str) -> str:
    return LANES.format(refs="".join(f"<bpmn:flowNodeRef>{i}</bpmn:flowNodeRef>" for i in ids))


def simple(task: str | None = None, extra: str = "", flows: list[str] | None = None, lane_ids=None) -> bytes:
    """start → Task_Work (in lane Sagsbehandler) → GDPR review → end, with room for changes."""
    task = task if task is not None else user_task("Task_Work", "Arbejd", "F1", "F2", form="work.json")
    lane_ids = lane_ids if lane_ids is not None else ("StartEvent", "Task_Work", "Call_GdprReview", "EndEvent")
    return definitions("m", "\n".join([
        lanes(*lane_ids), START, task, GDPR_CALL.format(incoming="F2", outgoing="F3"), END.format(incoming="F3"),
        extra, flow("F1", "StartEvent", "Task_Work"), flow("F2", "Task_Work", "Call_GdprReview"),
        flow("F3", "Call_GdprReview", "EndEvent"), *(flows or []),
    ]))


def lint(bpmn: bytes, forms: dict | None = None, extra_files: dict | None = None, root_elements: str = "",
         known_groups=("byg", "ledelse", "sekretariatet"), **meta):
    files = {"m.bpmn": bpmn, **shared_files()}
    for name, schema in ({"work.json": FORM} if forms is None else forms).items():
        files[f"forms/{name}"] = schema if isinstance(schema, bytes) else json.dumps(schema).encode()
    files.update(extra_files or {})
    process_id = meta.pop("process_id", "m")
    return lint_model(files, metadata("m", process_id, "MM", **meta), known_groups)


def rules(findings, severity=None) -> set[tuple[str, str | None]]:
    return {(f.rule, f.element) for f in findings if severity is None or f.severity == severity}


def test_the_simple_model_and_the_shipped_case_types_are_clean():
    assert lint(simple()) == []
    for directory in sorted((PROJECT_ROOT / "bpmn" / "case_types").iterdir()):
        meta, files = read_case_type_directory(directory, PROJECT_ROOT / "bpmn" / "shared")
        assert lint_model(files, meta, {"byg", "ledelse", "sekretariatet"}) == [], directory.name


def test_a_finding_names_rule_severity_element_file_and_a_readable_message():
    bad = simple(extra=user_task("Task_Orphan", "Glemt opgave", "", "")
                 .replace("<bpmn:incoming></bpmn:incoming>", "").replace("<bpmn:outgoing></bpmn:outgoing>", ""))
    finding = next(f for f in lint(bad) if f.rule == "unreachable")
    assert (finding.severity, finding.element, finding.file) == (ERROR, "Task_Orphan", "m.bpmn")
    assert "'Glemt opgave' can never be reached" in finding.message
    assert finding.as_dict()["key"] == "unreachable|m.bpmn|Task_Orphan"


# --- the process parses and is executable --------------------------------------------------------

def test_not_well_formed_xml_is_a_parse_error():
    findings = lint(b"<bpmn:definitions")
    assert ("parse", None) in rules(findings, ERROR)
    assert next(f for f in findings if f.rule == "parse").file == "m.bpmn"


def test_what_spiffworkflow_refuses_is_a_parse_error_on_the_element():
    # "Start" is an id SpiffWorkflow uses itself: the parser refuses it (engine/runtime/parsing.py)
    bad = simple().replace(b'id="StartEvent"', b'id="Start"').replace(b'sourceRef="StartEvent"', b'sourceRef="Start"')
    bad = bad.replace(b"<bpmn:flowNodeRef>StartEvent<", b"<bpmn:flowNodeRef>Start<")
    assert ("parse", "Start") in rules(lint(bad), ERROR)
    assert "parse" not in {f.rule for f in lint(simple())}


def test_the_process_must_exist_and_be_executable():
    assert ("process-missing", None) in rules(lint(simple(), process_id="nope"), ERROR)
    off = simple().replace(b'isExecutable="true"', b'isExecutable="false"')
    assert ("process-not-executable", "m") in rules(lint(off), ERROR)


# --- lanes -----------------------------------------------------------------------------------------

def test_a_user_task_in_an_unmapped_lane_is_an_error():
    findings = lint(simple(), lanes={"Ledelse": {"group": "ledelse"}})
    assert ("lane-unmapped", "Task_Work") in rules(findings, ERROR)
    # the shared review's task sits in lane Sagsbehandler too, and is resolved against this mapping
    assert ("lane-unmapped", "Task_GdprReview") in rules(findings, ERROR)
    assert not {r for r, _ in rules(lint(simple(), lanes={"Sagsbehandler": {"group": "byg"}}))} & {"lane-unmapped"}


def test_a_user_task_in_no_lane_is_a_warning_and_goes_to_the_caseworker():
    findings = lint(simple(lane_ids=("StartEvent", "Call_GdprReview", "EndEvent")))
    assert rules(findings) == {("lane-missing", "Task_Work")}
    assert findings[0].severity == WARNING


def test_a_lane_mapped_to_an_unknown_group_or_a_bad_expression_is_an_error():
    findings = lint(simple(), lanes={"Sagsbehandler": {"group": "nobody"}})
    assert ("lane-group-unknown", "Lane_Case") in rules(findings, ERROR)
    findings = lint(simple(), lanes={"Sagsbehandler": {"expression": "__import__('os')"}})
    assert ("expression", "Lane_Case") in rules(findings, ERROR)


# --- expressions, conditions, scripts ----------------------------------------------------------------

def gateway_model(condition_yes: str | None = "approved == True", condition_no: str | None = None,
                  default: str | None = "F_No") -> bytes:
    default_attr = f' default="{default}"' if default else ""
    return definitions("m", "\n".join([
        lanes("StartEvent", "Task_Work", "Gateway", "Task_Redo", "Call_GdprReview", "EndEvent"), START,
        user_task("Task_Work", "Arbejd", "F1", "F2", form="work.json"),
        f'<bpmn:exclusiveGateway id="Gateway" name="Godkendt?"{default_attr}><bpmn:incoming>F2</bpmn:incoming>'
        '<bpmn:outgoing>F_Yes</bpmn:outgoing><bpmn:outgoing>F_No</bpmn:outgoing></bpmn:exclusiveGateway>',
        user_task("Task_Redo", "Ret", "F_No", "F4", form="work.json"),
        GDPR_CALL.format(incoming="F_Yes</bpmn:incoming><bpmn:incoming>F4", outgoing="F3"), END.format(incoming="F3"),
        flow("F1", "StartEvent", "Task_Work"), flow("F2", "Task_Work", "Gateway"),
        flow("F_Yes", "Gateway", "Call_GdprReview", condition_yes), flow("F_No", "Gateway", "Task_Redo", condition_no),
        flow("F4", "Task_Redo", "Call_GdprReview"), flow("F3", "Call_GdprReview", "EndEvent"),
    ]))


def test_a_condition_that_does_not_compile_in_the_sandbox_is_an_error_on_its_flow():
    assert lint(gateway_model()) == []
    findings = lint(gateway_model(condition_yes="approved.__class__"))
    finding = next(f for f in findings if f.rule == "expression")
    assert (finding.element, finding.severity) == ("F_Yes", ERROR)
    assert "__class__" in finding.message
    assert ("expression", "F_Yes") in rules(lint(gateway_model(condition_yes="approved ==")), ERROR)


def script_model(script: str) -> bytes:
    task = (f'<bpmn:scriptTask id="Task_Work" name="Beregn"><bpmn:incoming>F1</bpmn:incoming>'
            f'<bpmn:outgoing>F2</bpmn:outgoing><bpmn:script>{script}</bpmn:script></bpmn:scriptTask>')
    return simple(task=task)


def test_a_script_that_the_sandbox_refuses_is_an_error():
    assert lint(script_model("total = 1 + 2"), forms={}) == []
    findings = lint(script_model("import os"), forms={})
    assert ("expression", "Task_Work") in rules(findings, ERROR)
    assert "import" in next(f for f in findings if f.rule == "expression").message


def test_a_pre_script_and_a_due_expression_are_checked_too():
    task = user_task("Task_Work", "Arbejd", "F1", "F2", form="work.json", extra_properties={"dueIn": "open("})
    assert ("expression", "Task_Work") in rules(lint(simple(task=task)), ERROR)
    task = user_task("Task_Work", "Arbejd", "F1", "F2", form="work.json", extra_properties={"dueIn": "P7X"})
    assert ("duration-invalid", "Task_Work") in rules(lint(simple(task=task)), ERROR)
    task = user_task("Task_Work", "Arbejd", "F1", "F2", form="work.json", extra_properties={"dueIn": "P7D"})
    assert lint(simple(task=task)) == []
    pre = user_task("Task_Work", "Arbejd", "F1", "F2", form="work.json").replace(
        "<bpmn:incoming>", "<bpmn:extensionElements><spiffworkflow:preScript>x = ().__class__</spiffworkflow:preScript>"
        "</bpmn:extensionElements><bpmn:incoming>", 1)
    assert ("expression", "Task_Work") in rules(lint(simple(task=pre)), ERROR)


def timer_model(expression: str) -> bytes:
    boundary = ('<bpmn:boundaryEvent id="Timer" attachedToRef="Task_Work" cancelActivity="false">'
                '<bpmn:outgoing>F_Late</bpmn:outgoing><bpmn:timerEventDefinition>'
                f'<bpmn:timeDuration>{expression}</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:boundaryEvent>'
                '<bpmn:endEvent id="End_Late"><bpmn:incoming>F_Late</bpmn:incoming></bpmn:endEvent>')
    return simple(extra=boundary, flows=[flow("F_Late", "Timer", "End_Late")])


def test_timer_expressions_compile_and_literal_durations_are_iso_8601():
    # End_Late skips the review: that is its own finding, not the timer's
    assert "timer-invalid" not in {f.rule for f in lint(timer_model('"P7D"'))}
    assert ("timer-invalid", "Timer") in rules(lint(timer_model('"7 days"')), ERROR)
    assert ("timer-invalid", "Timer") in rules(lint(timer_model("7")), ERROR)
    assert ("expression", "Timer") in rules(lint(timer_model('"P7D" +')), ERROR)
    assert "timer-invalid" not in {f.rule for f in lint(timer_model('deadline_duration'))}


def test_placeholder_errors_in_instructions_are_a_warning():
    task = user_task("Task_Work", "Arbejd", "F1", "F2", form="work.json").replace(
        "<bpmn:extensionElements>", "<bpmn:extensionElements><spiffworkflow:instructionsForEndUser>"
        "Hej {{ name </spiffworkflow:instructionsForEndUser>")
    assert rules(lint(simple(task=task))) == {("instructions-template", "Task_Work")}
    assert lint(simple(task=task.replace("{{ name ", "{{ name }}"))) == []


# --- forms -----------------------------------------------------------------------------------------

def test_a_form_that_is_not_a_valid_json_schema_is_an_error():
    findings = lint(simple(), forms={"work.json": {"type": "object", "properties": {"n": {"type": "nonsense"}}}})
    assert ("form-schema", None) in rules(findings, ERROR)
    assert next(f for f in findings if f.rule == "form-schema").file == "forms/work.json"
    assert ("form-json", None) in rules(lint(simple(), forms={"work.json": b"{not json"}), ERROR)


def test_a_missing_form_an_unusable_field_name_and_an_unused_form_are_found():
    assert ("form-missing", "Task_Work") in rules(lint(simple(), forms={}), ERROR)
    findings = lint(simple(), forms={"work.json": {"type": "object", "properties": {
        "case": {"type": "string"}, "1st": {"type": "string"}, "date": {"type": "string"}, "ok": {"type": "string"}}}})
    assert {e for r, e in rules(findings, ERROR) if r == "form-field-name"} == {"case", "1st", "date"}
    findings = lint(simple(), forms={"work.json": FORM, "old.json": FORM})
    assert rules(findings) == {("form-unused", None)} and findings[0].severity == WARNING
    assert ("form-missing", None) in rules(lint(simple(), start_form="start.json"), ERROR)


# --- the GDPR review --------------------------------------------------------------------------------

def skipping_model() -> bytes:
    """A gateway whose 'withdrawn' branch ends the case without the review."""
    return definitions("m", "\n".join([
        lanes("StartEvent", "Task_Work", "Gateway", "Call_GdprReview", "EndEvent", "End_Withdrawn"), START,
        user_task("Task_Work", "Arbejd", "F1", "F2", form="work.json"),
        '<bpmn:exclusiveGateway id="Gateway" default="F_Go"><bpmn:incoming>F2</bpmn:incoming>'
        '<bpmn:outgoing>F_Go</bpmn:outgoing><bpmn:outgoing>F_Withdrawn</bpmn:outgoing></bpmn:exclusiveGateway>',
        GDPR_CALL.format(incoming="F_Go", outgoing="F3"), END.format(incoming="F3"),
        '<bpmn:endEvent id="End_Withdrawn" name="Trukket tilbage"><bpmn:incoming>F_Withdrawn</bpmn:incoming></bpmn:endEvent>',
        flow("F1", "StartEvent", "Task_Work"), flow("F2", "Task_Work", "Gateway"),
        flow("F_Go", "Gateway", "Call_GdprReview"), flow("F_Withdrawn", "Gateway", "End_Withdrawn", "approved == False"),
        flow("F3", "Call_GdprReview", "EndEvent"),
    ]))


def test_a_path_that_skips_the_gdpr_review_is_an_error_on_its_end_event():
    findings = lint(skipping_model())
    assert rules(findings, ERROR) == {("gdpr-review-skipped", "End_Withdrawn")}
    assert "'Trukket tilbage'" in findings[0].message
    fixed = skipping_model().replace(b'targetRef="End_Withdrawn"', b'targetRef="Call_GdprReview"').replace(
        b"<bpmn:incoming>F_Go</bpmn:incoming>", b"<bpmn:incoming>F_Go</bpmn:incoming><bpmn:incoming>F_Withdrawn</bpmn:incoming>")
    fixed = fixed.replace(b'<bpmn:endEvent id="End_Withdrawn" name="Trukket tilbage"><bpmn:incoming>F_Withdrawn'
                          b'</bpmn:incoming></bpmn:endEvent>', b"").replace(b"<bpmn:flowNodeRef>End_Withdrawn</bpmn:flowNodeRef>", b"")
    assert lint(fixed) == []


# --- structure: unreachable elements, dead ends, gateways ---------------------------------------------

def test_an_element_no_path_reaches_is_an_error():
    orphan = ('<bpmn:userTask id="Task_Orphan" name="Glemt"><bpmn:outgoing>F9</bpmn:outgoing></bpmn:userTask>'
              + flow("F9", "Task_Orphan", "Call_GdprReview"))
    findings = lint(simple(extra=orphan, lane_ids=("StartEvent", "Task_Work", "Task_Orphan", "Call_GdprReview", "EndEvent")))
    assert rules(findings, ERROR) == {("unreachable", "Task_Orphan")}


def test_an_element_without_an_outgoing_flow_is_a_dead_end():
    dead = simple(task=user_task("Task_Work", "Arbejd", "F1", "F2", form="work.json"),
                  extra='<bpmn:manualTask id="Task_Dead" name="Blindgyde"><bpmn:incoming>F8</bpmn:incoming></bpmn:manualTask>',
                  flows=[flow("F8", "Task_Work", "Task_Dead", "approved")],
                  lane_ids=("StartEvent", "Task_Work", "Task_Dead", "Call_GdprReview", "EndEvent"))
    assert ("dead-end", "Task_Dead") in rules(lint(dead), ERROR)


def test_an_exclusive_gateway_needs_conditions_on_every_flow_but_its_default():
    findings = lint(gateway_model(condition_yes=None))
    assert rules(findings, ERROR) == {("gateway-condition", "F_Yes")}
    assert "'Godkendt?'" in findings[0].message


def test_a_gateway_without_a_default_is_a_warning_and_a_default_with_a_condition_too():
    findings = lint(gateway_model(condition_no="approved == False", default=None))
    assert rules(findings) == {("gateway-default-missing", "Gateway")}
    assert findings[0].severity == WARNING
    findings = lint(gateway_model(condition_no="approved == False"))
    assert rules(findings) == {("gateway-default-condition", "F_No")}
    assert ("gateway-default", "Gateway") in rules(lint(gateway_model(default="F_Nowhere")), ERROR)


# --- building blocks and decisions --------------------------------------------------------------------

def test_a_call_of_an_unknown_building_block_is_an_error():
    bad = simple().replace(b'calledElement="gdpr_review"', b'calledElement="gdpr_reveiw"')
    findings = lint(bad)
    assert ("call-unknown", "Call_GdprReview") in rules(findings, ERROR)
    assert "gdpr_review" in next(f for f in findings if f.rule == "call-unknown").message  # names what exists


def decision_model(decision_id: str = "fee") -> bytes:
    task = ('<bpmn:businessRuleTask id="Task_Work" name="Beregn gebyr"><bpmn:extensionElements>'
            f'<spiffworkflow:calledDecisionId>{decision_id}</spiffworkflow:calledDecisionId></bpmn:extensionElements>'
            '<bpmn:incoming>F1</bpmn:incoming><bpmn:outgoing>F2</bpmn:outgoing></bpmn:businessRuleTask>')
    return simple(task=task)


def dmn(input_expression: str = "area", cell: str = "&lt;= 50", output: str = "100", outputs: int = 1) -> bytes:
    output_entries = "".join(f'<outputEntry id="Out_{i}"><text>{output}</text></outputEntry>' for i in range(outputs))
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="https://www.omg.org/spec/DMN/20191111/MODEL/" id="D" name="Gebyr" namespace="http://sagsgang.dk/dmn">
  <decision id="fee" name="Gebyr">
    <decisionTable id="Table" hitPolicy="UNIQUE">
      <input id="Input_Area" label="Areal"><inputExpression id="InputExpression_Area" typeRef="number">
        <text>{input_expression}</text></inputExpression></input>
      <output id="Output_Fee" label="Gebyr" name="fee" typeRef="number" />
      <rule id="Rule_1"><inputEntry id="In_1"><text>{cell}</text></inputEntry>{output_entries}</rule>
    </decisionTable>
  </decision>
</definitions>""".encode()


AREA_FORM = {"type": "object", "properties": {"area": {"type": "number"}}}


def test_a_decision_that_does_not_exist_is_an_error():
    files = {"fee.dmn": dmn()}
    assert lint(decision_model(), forms={"start.json": AREA_FORM}, extra_files=files, start_form="start.json") == []
    findings = lint(decision_model("fees"), forms={"start.json": AREA_FORM}, extra_files=files, start_form="start.json")
    assert ("decision-unknown", "Task_Work") in rules(findings, ERROR)


def test_decision_inputs_must_exist_in_the_form_data():
    findings = lint(decision_model(), forms={"start.json": AREA_FORM}, extra_files={"fee.dmn": dmn("areal")},
                    start_form="start.json")
    finding = next(f for f in findings if f.rule == "dmn-input-unknown")
    assert (finding.severity, finding.element, finding.file) == (ERROR, "Input_Area", "fee.dmn")
    assert "'areal'" in finding.message


def test_a_decision_input_set_by_a_script_counts_as_known():
    script = ('<bpmn:scriptTask id="Task_Set" name="Sæt"><bpmn:incoming>F1</bpmn:incoming><bpmn:outgoing>F0'
              '</bpmn:outgoing><bpmn:script>area = 40</bpmn:script></bpmn:scriptTask>')
    model = decision_model().replace(b'<bpmn:incoming>F1</bpmn:incoming><bpmn:outgoing>F2',
                                     b'<bpmn:incoming>F0</bpmn:incoming><bpmn:outgoing>F2')
    model = model.replace(b'targetRef="Task_Work"', b'targetRef="Task_Set"')
    model = model.replace(b"</bpmn:process>", (script + flow("F0", "Task_Set", "Task_Work") + "</bpmn:process>").encode())
    model = model.replace(b"<bpmn:flowNodeRef>Task_Work<", b"<bpmn:flowNodeRef>Task_Set</bpmn:flowNodeRef><bpmn:flowNodeRef>Task_Work<")
    assert lint(model, forms={}, extra_files={"fee.dmn": dmn()}) == []


def test_decision_cells_compile_in_the_sandbox_and_tables_are_well_formed():
    extra = {"fee.dmn": dmn(cell="&lt;= 50 and __import__('os')")}
    findings = lint(decision_model(), forms={"start.json": AREA_FORM}, extra_files=extra, start_form="start.json")
    assert ("expression", "In_1") in rules(findings, ERROR)
    extra = {"fee.dmn": dmn(outputs=2)}
    findings = lint(decision_model(), forms={"start.json": AREA_FORM}, extra_files=extra, start_form="start.json")
    assert ("dmn-parse", "Rule_1") in rules(findings, ERROR)
    extra = {"fee.dmn": dmn(cell='? in ("a", "b")')}
    assert lint(decision_model(), forms={"start.json": AREA_FORM}, extra_files=extra, start_form="start.json") == []


# --- messages ---------------------------------------------------------------------------------------

CORRELATION_PROPERTY = ('<bpmn:correlationProperty id="case_number" name="Sagsnummer">'
                        '<bpmn:correlationPropertyRetrievalExpression messageRef="Message_Answer">'
                        '<bpmn:formalExpression>case_number</bpmn:formalExpression>'
                        '</bpmn:correlationPropertyRetrievalExpression></bpmn:correlationProperty>')


def message_model(correlation: bool, key: bool = True) -> bytes:
    """Wait for the message 'answer'; `key`: the message has a correlation property, `correlation`:
    the waiting event computes the case's value of it from the case data."""
    correlate = ('<bpmn:extensionElements><spiffworkflow:processVariableCorrelation><spiffworkflow:propertyId>'
                 'case_number</spiffworkflow:propertyId><spiffworkflow:expression>case["number"]'
                 '</spiffworkflow:expression></spiffworkflow:processVariableCorrelation></bpmn:extensionElements>'
                 if correlation else "")
    catch = ('<bpmn:intermediateCatchEvent id="Catch_Answer" name="Svar modtaget"><bpmn:incoming>F1</bpmn:incoming>'
             f'<bpmn:outgoing>F2</bpmn:outgoing><bpmn:messageEventDefinition messageRef="Message_Answer">{correlate}'
             '</bpmn:messageEventDefinition></bpmn:intermediateCatchEvent>')
    model = simple(task=catch, lane_ids=())
    model = model.replace(b'targetRef="Task_Work"', b'targetRef="Catch_Answer"').replace(
        b'sourceRef="Task_Work"', b'sourceRef="Catch_Answer"')
    message = '<bpmn:message id="Message_Answer" name="answer"/>' + (CORRELATION_PROPERTY if key else "")
    return model.replace(b'<bpmn:process', f'{message}\n<bpmn:process'.encode(), 1)


def test_a_message_the_case_waits_for_needs_a_correlation_key_and_the_cases_value_of_it():
    assert lint(message_model(correlation=True), forms={}) == []
    findings = lint(message_model(correlation=True, key=False), forms={})
    assert rules(findings, ERROR) == {("message-correlation", "Catch_Answer")}
    assert "has no correlation key" in findings[0].message
    findings = lint(message_model(correlation=False), forms={})
    assert rules(findings, ERROR) == {("message-correlation", "Catch_Answer")}
    assert "case_number" in findings[0].message
    unknown = message_model(correlation=True).replace(b'messageRef="Message_Answer">', b'messageRef="Message_Nope">')
    assert ("message-unknown", "Catch_Answer") in rules(lint(unknown, forms={}), ERROR)


def test_the_linter_reads_files_from_a_directory_like_install_does(tmp_path: Path):
    # the same inputs `sagsgang init` installs: nothing for the shipped aktindsigt
    meta, files = read_case_type_directory(PROJECT_ROOT / "bpmn" / "case_types" / "aktindsigt",
                                           PROJECT_ROOT / "bpmn" / "shared")
    assert lint_model(files, meta) == []  # without known groups the group check is skipped
    assert pytest.importorskip("engine.lint").lint_model is lint_model


# --- service tasks -------------------------------------------------------------------------------

def test_a_service_task_naming_an_operator_without_a_handler_is_an_error_on_the_element():
    def lint_service(operator: str):
        files = {"servicing.bpmn": service_bpmn(operator, {"to": "'a@example.dk'"}), **shared_files()}
        return lint_model(files, metadata("servicing", "servicing", "SRV"), {"byg", "ledelse", "sekretariatet"})

    [finding] = [f for f in lint_service("fax_it") if f.rule == "service-operator-unknown"]
    assert (finding.severity, finding.element, finding.file) == (ERROR, "Service_Call", "servicing.bpmn")
    assert "'Kald' calls the operator 'fax_it'" in finding.message
    assert "Known operators: http_request, send_mail." in finding.message
    assert "service-operator-unknown" not in {f.rule for f in lint_service("send_mail")}
