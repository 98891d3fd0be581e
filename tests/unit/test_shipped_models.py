"""The shipped case types and shared building blocks under bpmn/, run with bare SpiffWorkflow.

Each case type is parsed the way docs/conventions.md describes (its own .bpmn and .dmn files plus
every shared building block), validated against the BPMN/DMN XSDs, and then run in memory through
every path with forms filled in as a user would: the submitted data is validated against the task's
JSON-Schema form first. The engine's own integration tests come later; these tests use SpiffWorkflow
directly on purpose, so a broken model is caught independently of the engine.
"""

from __future__ import annotations

import ast
import functools
import json
import re
from collections import Counter, deque
from datetime import datetime, timedelta, timezone
from pathlib import Path

import jsonschema
import pytest
from lxml import etree
from SpiffWorkflow.bpmn.specs.mixins.user_task import UserTask
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.spiff.parser.process import VALIDATOR, SpiffBpmnParser
from SpiffWorkflow.util.task import TaskState

REPO = Path(__file__).resolve().parents[2]
BPMN_DIR = REPO / "bpmn"
CASE_TYPES_DIR = BPMN_DIR / "case_types"
SHARED_DIR = BPMN_DIR / "shared"

CASE_TYPES = sorted(p.parent.name for p in CASE_TYPES_DIR.glob("*/case_type.json"))

NS = {
    "bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL",
    "bpmndi": "http://www.omg.org/spec/BPMN/20100524/DI",
    "dc": "http://www.omg.org/spec/DD/20100524/DC",
    "di": "http://www.omg.org/spec/DD/20100524/DI",
    "spiffworkflow": "http://spiffworkflow.org/bpmn/schema/1.0/core",
}
DRAFT_2020_12 = "https://json-schema.org/draft/2020-12/schema"
ISO_DURATION = re.compile(r"^P(?!$)(\d+Y)?(\d+M)?(\d+W)?(\d+D)?(T(?=\d)(\d+H)?(\d+M)?(\d+S)?)?$")
FLOW_NODES = (
    "startEvent", "endEvent", "intermediateCatchEvent", "intermediateThrowEvent", "boundaryEvent",
    "task", "userTask", "manualTask", "scriptTask", "serviceTask", "sendTask", "receiveTask",
    "businessRuleTask", "callActivity", "subProcess",
    "exclusiveGateway", "inclusiveGateway", "parallelGateway", "eventBasedGateway",
)
# Keys the engine puts in the case data itself; a form that could overwrite them would let a user
# reassign a case (lane expressions read `caseworker`) or fake the GDPR review.
RESERVED_DATA_KEYS = {"caseworker", "case", "gdpr_review"}
# Names the engine's sandbox predefines for scripts; SpiffWorkflow refuses task data that hides them.
SANDBOX_NAMES = {"date", "datetime", "json", "math", "time", "timedelta"}

CASEWORKER = "kim.sagsbehandler"


# -------------------------------------------------------------------------------------------------
# Loading
# -------------------------------------------------------------------------------------------------

def case_dir(key: str) -> Path:
    return CASE_TYPES_DIR / key


@functools.cache
def load_case_type(key: str) -> dict:
    return json.loads((case_dir(key) / "case_type.json").read_text(encoding="utf-8"))


def shared_bpmn_files() -> list[Path]:
    return sorted(SHARED_DIR.rglob("*.bpmn"))


def bpmn_files(key: str) -> list[Path]:
    return sorted(case_dir(key).glob("*.bpmn")) + shared_bpmn_files()


def dmn_files(key: str) -> list[Path]:
    return sorted(case_dir(key).glob("*.dmn")) + sorted(SHARED_DIR.rglob("*.dmn"))


def make_parser(key: str) -> SpiffBpmnParser:
    """A parser holding the case type's models and every shared block, validated against the XSDs."""
    parser = SpiffBpmnParser(validator=VALIDATOR)
    parser.add_bpmn_files([str(p) for p in bpmn_files(key)])
    parser.add_dmn_files([str(p) for p in dmn_files(key)])
    return parser


@functools.cache
def specs(key: str):
    """(process spec, subprocess specs) of a case type; parsed once, like the engine's spec cache."""
    parser = make_parser(key)
    process_id = load_case_type(key)["process_id"]
    return parser.get_spec(process_id), parser.get_subprocess_specs(process_id)


def all_task_specs(key: str):
    spec, subprocess_specs = specs(key)
    for process_spec in [spec, *subprocess_specs.values()]:
        yield from process_spec.task_specs.values()


def user_task_specs(key: str):
    return [ts for ts in all_task_specs(key) if isinstance(ts, UserTask)]


def form_path(task_spec) -> Path:
    """Forms are referenced by file name and live in forms/ next to the BPMN file that uses them."""
    filename = task_spec.extensions.get("properties", {}).get("formJsonSchemaFilename")
    assert filename, f"user task {task_spec.bpmn_id} has no formJsonSchemaFilename property"
    return Path(task_spec._wf_spec.file).parent / "forms" / filename


@functools.cache
def load_schema(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def validator_for(schema: dict) -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(
        schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    )


def assert_valid(data: dict, schema_path: Path):
    errors = sorted(validator_for(load_schema(schema_path)).iter_errors(data), key=str)
    assert not errors, f"{schema_path.name}: " + "; ".join(e.message for e in errors)


def start_form_path(key: str) -> Path:
    return case_dir(key) / "forms" / load_case_type(key)["start_form"]


def model_documents(key: str):
    """(path, parsed XML) of every BPMN file a case type is run with."""
    return [(p, etree.parse(str(p))) for p in bpmn_files(key)]


# -------------------------------------------------------------------------------------------------
# Running a case in memory
# -------------------------------------------------------------------------------------------------

class CaseRun:
    """One case of a case type, run in memory; completes user tasks as a user would."""

    def __init__(self, key: str, start_data: dict, validate_start: bool = True):
        self.key = key
        self.completed: list[str] = []
        if validate_start:
            assert_valid(start_data, start_form_path(key))
        spec, subprocess_specs = specs(key)
        self.workflow = BpmnWorkflow(spec, subprocess_specs)
        start = self.workflow.get_next_task(state=TaskState.READY, spec_name="Start")
        start.set_data(
            caseworker=CASEWORKER,
            case={"number": f"{load_case_type(key)['prefix']}-2025-000001", "title": "Testsag", "grouping": None},
            **start_data,
        )
        self.workflow.do_engine_steps()

    def ready(self) -> list:
        return self.workflow.get_tasks(state=TaskState.READY, manual=True)

    def ready_ids(self) -> list[str]:
        return sorted(t.task_spec.bpmn_id for t in self.ready())

    def waiting(self, bpmn_id: str) -> list:
        return [t for t in self.workflow.get_tasks(state=TaskState.WAITING) if t.task_spec.bpmn_id == bpmn_id]

    def complete(self, bpmn_id: str, data: dict):
        tasks = [t for t in self.ready() if t.task_spec.bpmn_id == bpmn_id]
        assert len(tasks) == 1, f"{bpmn_id} is not ready; ready: {self.ready_ids()}"
        task = tasks[0]
        assert_valid(data, form_path(task.task_spec))
        task.set_data(**data)
        task.run()
        self.workflow.do_engine_steps()
        self.completed.append(bpmn_id)

    def expire_timer(self, bpmn_id: str):
        """Move a waiting timer's due time into the past and let the workflow notice it."""
        (timer,) = self.waiting(bpmn_id)
        timer._set_internal_data(event_value=(datetime.now(timezone.utc) - timedelta(seconds=1)).isoformat())
        self.workflow.refresh_timers()
        self.workflow.do_engine_steps()

    @property
    def data(self) -> dict:
        return self.workflow.data

    def finish_with_gdpr_review(self, review: dict):
        """The last step of every case type: the case may not be complete before it."""
        assert self.ready_ids() == ["Task_GdprReview"]
        assert not self.workflow.is_completed()
        assert "gdpr_review" not in self.data
        self.complete("Task_GdprReview", review)
        assert self.workflow.is_completed(), f"still open: {self.ready_ids()}"


# -------------------------------------------------------------------------------------------------
# Form data used by the runs (every dict is validated against its form before it is submitted)
# -------------------------------------------------------------------------------------------------

GDPR_RULE_APPLIES = {
    "personal_data_category": "ordinary",
    "legal_basis": "Databeskyttelsesforordningens art. 6, stk. 1, litra e",
    "parties_reviewed": True,
    "deletion_rule_applies": True,
}
GDPR_EXCEPTION = {
    "personal_data_category": "cpr",
    "legal_basis": "Databeskyttelsesforordningens art. 6, stk. 1, litra e, og databeskyttelseslovens § 11",
    "parties_reviewed": True,
    "deletion_rule_applies": False,
    "deletion_exception_reason": "Verserende klagesag hos Planklagenævnet",
}
EXPECTED_GDPR_RULE_APPLIES = {
    "category": "ordinary",
    "legal_basis": "Databeskyttelsesforordningens art. 6, stk. 1, litra e",
    "deletion_rule_applies": True,
    "exception_reason": None,
}
EXPECTED_GDPR_EXCEPTION = {
    "category": "cpr",
    "legal_basis": "Databeskyttelsesforordningens art. 6, stk. 1, litra e, og databeskyttelseslovens § 11",
    "deletion_rule_applies": False,
    "exception_reason": "Verserende klagesag hos Planklagenævnet",
}

AKT_START = {
    "requester_name": "Mette Jensen",
    "requester_email": "mette.jensen@example.dk",
    "requested_documents": "Alle dokumenter i sagen om renovering af Rådhuspladsen i 2024",
    "received_date": "2025-03-03",
}
AKT_REGISTER = {
    "documents_identified": "Sag 2024-001234, 14 dokumenter",
    "request_sufficiently_specific": True,
    "acknowledgement_sent": True,
}
AKT_FULL = {"access_decision": "full", "assessment_note": "Ingen undtagelsesbestemmelser finder anvendelse."}
AKT_PARTIAL = {
    "access_decision": "partial",
    "legal_grounds": "Offentlighedslovens § 30, nr. 1 (private forhold)",
    "assessment_note": "Oplysninger om en ansats helbred er undtaget.",
}
AKT_REFUSED = {
    "access_decision": "refused",
    "legal_grounds": "Offentlighedslovens § 23, stk. 1, nr. 1 (interne dokumenter)",
}
AKT_APPROVE = {"refusal_approved": True}
AKT_REJECT = {"refusal_approved": False, "management_comment": "Overvej meroffentlighed, jf. § 14."}
AKT_REASSESS_PARTIAL = {
    "access_decision": "partial",
    "legal_grounds": "Offentlighedslovens § 30, nr. 1 (private forhold)",
    "assessment_note": "Meroffentlighed for alt andet end helbredsoplysninger.",
}
AKT_REASSESS_FULL = {"access_decision": "full"}
AKT_NOTIFY = {
    "extension_reason": "Anmodningen omfatter mange dokumenter, som skal gennemgås enkeltvis.",
    "expected_decision_date": "2025-03-24",
    "requester_notified": True,
}
AKT_SEND = {"response_sent_date": "2025-03-10", "response_channel": "email", "complaint_guidance_included": True}

BYG_START = {
    "address": "Rådhus Allé 100, 9900 Frederikshavn",
    "cadastral_number": "7a, Frederikshavn Bygrunde",
    "building_type": "single_family_house",
    "floor_area": 162,
    "applicant": "Jens Hansen",
    "project_description": "Nyt enfamiliehus i ét plan med integreret carport.",
}
BYG_INCOMPLETE = {"application_complete": False, "missing_information": "Situationsplan og facadetegninger mangler."}
BYG_REQUEST_INFO = {
    "information_requested_date": "2025-04-01",
    "information_received_date": "2025-04-09",
    "information_summary": "Situationsplan og facadetegninger modtaget.",
}
BYG_COMPLETE = {"application_complete": True, "assessment_note": "Projektet overholder BR18 og lokalplan 12.3."}
BYG_GRANTED = {
    "permit_decision": "granted",
    "decision_date": "2025-04-20",
    "decision_reasoning": "Projektet overholder byggeloven, BR18 og lokalplanen.",
    "permit_conditions": "Byggeriet skal færdigmeldes senest 14 dage efter ibrugtagning.",
}
BYG_REFUSED = {
    "permit_decision": "refused",
    "decision_date": "2025-04-20",
    "decision_reasoning": "Bebyggelsesprocenten overskrider lokalplanens maksimum på 30.",
}


# -------------------------------------------------------------------------------------------------
# Metadata, parsing and forms
# -------------------------------------------------------------------------------------------------

def test_shipped_case_types_are_present():
    assert {"aktindsigt", "byggetilladelse"} <= set(CASE_TYPES)
    assert (SHARED_DIR / "gdpr_review" / "gdpr_review.bpmn").is_file()


@pytest.mark.parametrize("key", CASE_TYPES)
def test_case_type_metadata_follows_conventions(key):
    ct = load_case_type(key)
    assert ct["key"] == key
    assert ct["name"]
    assert re.fullmatch(r"[A-ZÆØÅ]{2,5}", ct["prefix"])
    assert re.fullmatch(r"\d\d\.\d\d\.\d\d", ct["kle_number"])
    assert re.fullmatch(r"[A-ZÆØÅ]\d\d", ct["handlingsfacet"])
    assert re.fullmatch(r"P\d+D|K", ct["deletion_rule"])
    assert ct["personal_data_category"] in {"none", "ordinary", "sensitive", "cpr"}
    assert ct["owner_group"]
    assert ct["process_id"]
    assert start_form_path(key).is_file()
    assert ct["lanes"], "a case type declares its lanes"
    for lane, mapping in ct["lanes"].items():
        assert set(mapping) <= {"group", "expression"} and mapping, lane
        if "expression" in mapping:
            compile(mapping["expression"], f"{key}:lane {lane}", "eval")
    # The shared gdpr_review block puts its user task in lane "Sagsbehandler" (see gdpr_review.bpmn).
    assert "Sagsbehandler" in ct["lanes"]


def test_shipped_metadata_values():
    akt, byg = load_case_type("aktindsigt"), load_case_type("byggetilladelse")
    assert (akt["prefix"], akt["kle_number"], akt["deletion_rule"], akt["owner_group"]) == (
        "AKT", "00.01.10", "P1825D", "sekretariatet")
    assert akt["lanes"] == {"Sagsbehandler": {"expression": "caseworker"}, "Ledelse": {"group": "ledelse"}}
    assert (byg["prefix"], byg["kle_number"]) == ("BYG", "02.34.02")
    assert byg["lanes"] == {"Sagsbehandler": {"expression": "caseworker"}, "Byggesagsteam": {"group": "byg"},
                            "Ledelse": {"group": "ledelse"}}  # the committee block's approval
    assert byg["note"], "the deletion rule of building permits is explained"


@pytest.mark.parametrize("key", CASE_TYPES)
def test_models_parse_and_validate_against_the_xsds(key):
    parser = make_parser(key)
    process_id = load_case_type(key)["process_id"]
    assert process_id in parser.get_process_ids()
    spec = parser.get_spec(process_id)
    subprocess_specs = parser.get_subprocess_specs(process_id)
    assert "gdpr_review" in subprocess_specs
    assert spec.name == process_id


@pytest.mark.parametrize("key", CASE_TYPES)
def test_models_are_executable_with_collaboration_and_lanes(key):
    for path, doc in model_documents(key):
        processes = doc.xpath("//bpmn:process", namespaces=NS)
        assert len(processes) == 1, path
        process = processes[0]
        assert process.get("isExecutable") == "true", path
        participants = doc.xpath("//bpmn:collaboration/bpmn:participant", namespaces=NS)
        assert [p.get("processRef") for p in participants] == [process.get("id")], path
        lanes = process.xpath("./bpmn:laneSet/bpmn:lane", namespaces=NS)
        assert lanes and all(lane.get("name") for lane in lanes), path
        # every flow node lies in exactly one lane
        in_lanes = Counter(ref.text for ref in process.xpath(".//bpmn:flowNodeRef", namespaces=NS))
        node_ids = [n.get("id") for tag in FLOW_NODES for n in process.xpath(f"./bpmn:{tag}", namespaces=NS)]
        assert {n: in_lanes[n] for n in node_ids} == {n: 1 for n in node_ids}, path


@pytest.mark.parametrize("key", CASE_TYPES)
def test_every_user_task_has_a_valid_form_and_due_date(key):
    tasks = user_task_specs(key)
    assert tasks
    for ts in tasks:
        path = form_path(ts)
        assert path.is_file(), f"{ts.bpmn_id}: {path} missing"
        schema = load_schema(path)
        jsonschema.Draft202012Validator.check_schema(schema)
        assert schema.get("$schema") == DRAFT_2020_12, path
        assert schema.get("type") == "object" and schema.get("title"), path
        due = ts.extensions["properties"].get("dueIn")
        assert due and ISO_DURATION.match(due), f"{ts.bpmn_id}: dueIn {due!r}"
        assert ts.bpmn_name, f"{ts.bpmn_id} has a Danish label"


@pytest.mark.parametrize("key", CASE_TYPES)
def test_forms_are_valid_and_all_used(key):
    used = {form_path(ts) for ts in user_task_specs(key)} | {start_form_path(key)}
    # The forms of the shared blocks this case type calls (a block it does not call is not its business).
    called = {Path(sub.file).parent for sub in specs(key)[1].values()}
    shipped = set((case_dir(key) / "forms").glob("*.json")) | {
        p for p in SHARED_DIR.rglob("forms/*.json") if p.parent.parent in called}
    assert used == shipped, f"unused: {shipped - used}, missing: {used - shipped}"
    for path in shipped:
        schema = load_schema(path)
        jsonschema.Draft202012Validator.check_schema(schema)
        assert schema.get("additionalProperties") is False, f"{path.name} accepts arbitrary keys"
        assert not RESERVED_DATA_KEYS & set(schema["properties"]), f"{path.name} may overwrite case data"
        assert not SANDBOX_NAMES & set(schema["properties"]), f"{path.name} hides a sandbox name"
        assert set(schema["required"]) <= set(schema["properties"]), path.name
        for name, prop in schema["properties"].items():
            assert prop.get("title"), f"{path.name}: {name} has no Danish title"
            if "oneOf" in prop:
                assert [o["const"] for o in prop["oneOf"]] == prop["enum"], f"{path.name}: {name}"


@pytest.mark.parametrize("key", CASE_TYPES)
def test_every_user_task_lies_in_a_declared_lane(key):
    lanes = load_case_type(key)["lanes"]
    placed = {ts.bpmn_id: ts.lane for ts in user_task_specs(key)}
    assert placed and all(lane in lanes for lane in placed.values()), placed
    # and every declared lane is used by the model
    used = {lane.get("name") for _, doc in model_documents(key) for lane in doc.xpath("//bpmn:lane", namespaces=NS)}
    assert set(lanes) <= used


def test_user_task_lanes():
    assert {ts.bpmn_id: ts.lane for ts in user_task_specs("aktindsigt")} == {
        "Task_RegisterRequest": "Sagsbehandler",
        "Task_AssessRequest": "Sagsbehandler",
        "Task_NotifyExtension": "Sagsbehandler",
        "Task_ApproveRefusal": "Ledelse",
        "Task_ReassessRequest": "Sagsbehandler",
        "Task_SendResponse": "Sagsbehandler",
        "Task_GdprReview": "Sagsbehandler",
    }
    assert {ts.bpmn_id: ts.lane for ts in user_task_specs("byggetilladelse")} == {
        "Task_ProfessionalAssessment": "Byggesagsteam",
        "Task_RequestInformation": "Sagsbehandler",
        "Task_Decision": "Sagsbehandler",
        "Task_NotifyRefusal": "Sagsbehandler",
        "Task_GdprReview": "Sagsbehandler",
        # the shared committee_decision block
        "Task_PrepareItem": "Sagsbehandler",
        "Task_ApproveItem": "Ledelse",
    }


@pytest.mark.parametrize("key", CASE_TYPES)
def test_gateway_flows_have_conditions_except_the_default(key):
    for path, doc in model_documents(key):
        for gateway in doc.xpath("//bpmn:exclusiveGateway | //bpmn:inclusiveGateway", namespaces=NS):
            gid = gateway.get("id")
            outgoing = doc.xpath(f"//bpmn:sequenceFlow[@sourceRef='{gid}']", namespaces=NS)
            if len(outgoing) < 2:
                continue  # a merging gateway
            default = gateway.get("default")
            assert default in {f.get("id") for f in outgoing}, f"{gid} needs a default flow"
            for f in outgoing:
                conditions = f.xpath("./bpmn:conditionExpression", namespaces=NS)
                if f.get("id") == default:
                    assert not conditions, f"default flow {f.get('id')} has a condition"
                else:
                    assert len(conditions) == 1 and conditions[0].text.strip(), f"{f.get('id')} has no condition"
                    compile(conditions[0].text, f"{path.name}:{f.get('id')}", "eval")


@pytest.mark.parametrize("key", CASE_TYPES)
def test_expressions_and_scripts_fit_the_sandbox(key):
    """No imports, no dunder names: what Sagsgang's sandbox refuses (DESIGN.md, Security)."""
    sources = []
    for path, doc in model_documents(key):
        for el in doc.xpath("//bpmn:conditionExpression | //bpmn:script | //bpmn:timeDuration", namespaces=NS):
            mode = "exec" if etree.QName(el).localname == "script" else "eval"
            sources.append((f"{path.name}:{el.getparent().get('id')}", el.text, mode))
    for path in dmn_files(key):
        for el in etree.parse(str(path)).iter("{*}text"):
            text = el.text.strip()
            if etree.QName(el.getparent()).localname == "inputEntry":
                if text == "-":
                    continue
                text = text.replace("?", "v") if "?" in text else f"v {text}" if text[0] in "<>=!" else text
            sources.append((f"{path.name}:{el.getparent().get('id')}", text, "eval"))
    assert sources
    for where, source, mode in sources:
        tree = ast.parse(source, where, mode)
        for node in ast.walk(tree):
            assert not isinstance(node, (ast.Import, ast.ImportFrom)), where
            name = getattr(node, "id", None) or getattr(node, "attr", None) or ""
            assert not name.startswith("__"), where


# -------------------------------------------------------------------------------------------------
# Diagram interchange: bpmn-js must be able to draw every model
# -------------------------------------------------------------------------------------------------

def _bounds(shape):
    b = shape.find("dc:Bounds", NS)
    return tuple(float(b.get(k)) for k in ("x", "y", "width", "height"))


def _on_or_in(point, bounds, tolerance=1.0):
    x, y = point
    bx, by, bw, bh = bounds
    return bx - tolerance <= x <= bx + bw + tolerance and by - tolerance <= y <= by + bh + tolerance


@pytest.mark.parametrize("key", CASE_TYPES)
def test_every_element_has_diagram_interchange(key):
    for path, doc in model_documents(key):
        shapes = {s.get("bpmnElement"): s for s in doc.xpath("//bpmndi:BPMNShape", namespaces=NS)}
        edges = {e.get("bpmnElement"): e for e in doc.xpath("//bpmndi:BPMNEdge", namespaces=NS)}
        (plane,) = doc.xpath("//bpmndi:BPMNPlane", namespaces=NS)
        (collaboration,) = doc.xpath("//bpmn:collaboration", namespaces=NS)
        assert plane.get("bpmnElement") == collaboration.get("id"), path

        participant = doc.xpath("//bpmn:participant", namespaces=NS)[0]
        pool = _bounds(shapes[participant.get("id")])
        lane_of = {}
        for lane in doc.xpath("//bpmn:lane", namespaces=NS):
            lane_bounds = _bounds(shapes[lane.get("id")])
            assert _on_or_in(lane_bounds[:2], pool) and _on_or_in(
                (lane_bounds[0] + lane_bounds[2], lane_bounds[1] + lane_bounds[3]), pool), lane.get("id")
            for ref in lane.xpath("./bpmn:flowNodeRef", namespaces=NS):
                lane_of[ref.text] = lane_bounds

        process = doc.xpath("//bpmn:process", namespaces=NS)[0]
        nodes = {n.get("id"): n for tag in FLOW_NODES for n in process.xpath(f"./bpmn:{tag}", namespaces=NS)}
        for node_id in nodes:
            assert node_id in shapes, f"{path.name}: no shape for {node_id}"
            x, y, w, h = _bounds(shapes[node_id])
            assert w > 0 and h > 0
            # the shape's centre lies in its lane (a boundary event sits on its task's edge)
            assert _on_or_in((x + w / 2, y + h / 2), lane_of[node_id]), f"{node_id} is drawn outside its lane"

        for flow in process.xpath("./bpmn:sequenceFlow", namespaces=NS):
            fid = flow.get("id")
            assert fid in edges, f"{path.name}: no edge for {fid}"
            points = [(float(w.get("x")), float(w.get("y"))) for w in edges[fid].findall("di:waypoint", NS)]
            assert len(points) >= 2, fid
            assert _on_or_in(points[0], _bounds(shapes[flow.get("sourceRef")])), f"{fid} does not start at its source"
            assert _on_or_in(points[-1], _bounds(shapes[flow.get("targetRef")])), f"{fid} does not end at its target"


# -------------------------------------------------------------------------------------------------
# GDPR review: every path to the end passes it
# -------------------------------------------------------------------------------------------------

def _reachable_ends(process, skip: set[str]) -> set[str]:
    successors: dict[str, list[str]] = {}
    for flow in process.xpath("./bpmn:sequenceFlow", namespaces=NS):
        successors.setdefault(flow.get("sourceRef"), []).append(flow.get("targetRef"))
    for event in process.xpath("./bpmn:boundaryEvent", namespaces=NS):
        successors.setdefault(event.get("attachedToRef"), []).append(event.get("id"))
    ends = {e.get("id") for e in process.xpath("./bpmn:endEvent", namespaces=NS)}
    queue = deque(s.get("id") for s in process.xpath("./bpmn:startEvent", namespaces=NS))
    seen = set()
    while queue:
        node = queue.popleft()
        if node in seen or node in skip:
            continue
        seen.add(node)
        queue.extend(successors.get(node, []))
    return seen & ends


@pytest.mark.parametrize("key", CASE_TYPES)
def test_every_path_to_an_end_event_passes_the_gdpr_review(key):
    doc = etree.parse(str(case_dir(key) / f"{load_case_type(key)['process_id']}.bpmn"))
    process = doc.xpath("//bpmn:process", namespaces=NS)[0]
    reviews = {c.get("id") for c in process.xpath("./bpmn:callActivity[@calledElement='gdpr_review']", namespaces=NS)}
    assert reviews, "the case type calls gdpr_review"
    assert _reachable_ends(process, skip=set()), "an end event is reachable at all"
    assert _reachable_ends(process, skip=reviews) == set(), "an end event is reachable without the GDPR review"


def test_gdpr_review_block():
    parser = SpiffBpmnParser(validator=VALIDATOR)
    parser.add_bpmn_files([str(p) for p in shared_bpmn_files()])
    spec = parser.get_spec("gdpr_review")
    (task,) = [ts for ts in spec.task_specs.values() if isinstance(ts, UserTask)]
    assert (task.bpmn_id, task.bpmn_name, task.lane) == ("Task_GdprReview", "GDPR-gennemgang", "Sagsbehandler")
    assert form_path(task) == SHARED_DIR / "gdpr_review" / "forms" / "gdpr_review.json"
    # the script task comes after the user task and before the end
    assert [ts.bpmn_id for ts in task.outputs] == ["Task_StoreGdprReview"]


def test_gdpr_form_requires_a_reason_when_the_deletion_rule_does_not_apply():
    validator = validator_for(load_schema(SHARED_DIR / "gdpr_review" / "forms" / "gdpr_review.json"))
    assert validator.is_valid(GDPR_RULE_APPLIES)
    assert validator.is_valid(GDPR_EXCEPTION)
    no_reason = {k: v for k, v in GDPR_EXCEPTION.items() if k != "deletion_exception_reason"}
    assert not validator.is_valid(no_reason)
    assert not validator.is_valid({**no_reason, "deletion_exception_reason": ""})
    assert not validator.is_valid({**GDPR_RULE_APPLIES, "personal_data_category": "secret"})
    assert not validator.is_valid({**GDPR_RULE_APPLIES, "caseworker": "mallory"})
    for key in ("personal_data_category", "legal_basis", "parties_reviewed", "deletion_rule_applies"):
        assert not validator.is_valid({k: v for k, v in GDPR_RULE_APPLIES.items() if k != key}), key


# -------------------------------------------------------------------------------------------------
# Aktindsigt
# -------------------------------------------------------------------------------------------------

def start_aktindsigt() -> CaseRun:
    run = CaseRun("aktindsigt", AKT_START)
    assert run.ready_ids() == ["Task_RegisterRequest"]
    run.complete("Task_RegisterRequest", AKT_REGISTER)
    assert run.ready_ids() == ["Task_AssessRequest"]
    return run


AKT_PATHS = {
    "full": [("Task_AssessRequest", AKT_FULL)],
    "partial": [("Task_AssessRequest", AKT_PARTIAL)],
    "refused_and_approved": [("Task_AssessRequest", AKT_REFUSED), ("Task_ApproveRefusal", AKT_APPROVE)],
    "refusal_not_approved_then_partial": [
        ("Task_AssessRequest", AKT_REFUSED),
        ("Task_ApproveRefusal", AKT_REJECT),
        ("Task_ReassessRequest", AKT_REASSESS_PARTIAL),
    ],
    "refusal_not_approved_then_full": [
        ("Task_AssessRequest", AKT_REFUSED),
        ("Task_ApproveRefusal", AKT_REJECT),
        ("Task_ReassessRequest", AKT_REASSESS_FULL),
    ],
}
AKT_FINAL_DECISION = {"full": "full", "partial": "partial", "refused_and_approved": "refused",
                      "refusal_not_approved_then_partial": "partial", "refusal_not_approved_then_full": "full"}


@pytest.mark.parametrize("path", AKT_PATHS)
def test_aktindsigt_paths(path):
    run = start_aktindsigt()
    for task_id, data in AKT_PATHS[path]:
        assert task_id in run.ready_ids()
        if task_id == "Task_AssessRequest":
            assert len(run.waiting("Event_AssessmentDeadline")) == 1, "the deadline runs while assessing"
        run.complete(task_id, data)
    # the deadline timer is gone once the assessment is done, and nobody is asked about an extension
    assert run.waiting("Event_AssessmentDeadline") == []
    assert run.ready_ids() == ["Task_SendResponse"]
    run.complete("Task_SendResponse", AKT_SEND)
    run.finish_with_gdpr_review(GDPR_RULE_APPLIES)
    assert run.data["gdpr_review"] == EXPECTED_GDPR_RULE_APPLIES
    assert run.data["access_decision"] == AKT_FINAL_DECISION[path]
    assert "Task_NotifyExtension" not in run.completed
    assert run.completed == ["Task_RegisterRequest", *[t for t, _ in AKT_PATHS[path]], "Task_SendResponse",
                             "Task_GdprReview"]


def test_aktindsigt_deadline_timer_is_a_non_interrupting_p7d_boundary_timer():
    run = start_aktindsigt()
    (timer,) = run.waiting("Event_AssessmentDeadline")
    assert timer.task_spec.cancel_activity is False
    assert timer.task_spec.event_definition.expression == '"P7D"'
    due = datetime.fromisoformat(timer._get_internal_data("event_value"))
    assert timedelta(days=6, hours=23) < due - datetime.now(timezone.utc) <= timedelta(days=7)


def test_aktindsigt_deadline_fires_while_assessing():
    run = start_aktindsigt()
    run.expire_timer("Event_AssessmentDeadline")
    # the assessment stays open; the extension notice is added
    assert run.ready_ids() == ["Task_AssessRequest", "Task_NotifyExtension"]
    run.complete("Task_AssessRequest", AKT_PARTIAL)
    # the answer waits for the extension notice (inclusive join)
    assert run.ready_ids() == ["Task_NotifyExtension"]
    run.complete("Task_NotifyExtension", AKT_NOTIFY)
    assert run.ready_ids() == ["Task_SendResponse"]
    run.complete("Task_SendResponse", AKT_SEND)
    run.finish_with_gdpr_review(GDPR_EXCEPTION)
    assert run.data["gdpr_review"] == EXPECTED_GDPR_EXCEPTION
    assert Counter(run.completed)["Task_SendResponse"] == 1, "the answer is sent once"
    assert run.data["expected_decision_date"] == "2025-03-24"


def test_aktindsigt_extension_notice_before_assessment():
    run = start_aktindsigt()
    run.expire_timer("Event_AssessmentDeadline")
    run.complete("Task_NotifyExtension", AKT_NOTIFY)
    assert run.ready_ids() == ["Task_AssessRequest"]
    run.complete("Task_AssessRequest", AKT_FULL)
    assert run.ready_ids() == ["Task_SendResponse"]
    run.complete("Task_SendResponse", AKT_SEND)
    run.finish_with_gdpr_review(GDPR_RULE_APPLIES)


def test_aktindsigt_deadline_then_refusal_not_approved():
    run = start_aktindsigt()
    run.expire_timer("Event_AssessmentDeadline")
    run.complete("Task_NotifyExtension", AKT_NOTIFY)
    # the notice alone does not release the answer: the assessment is still open
    assert run.ready_ids() == ["Task_AssessRequest"]
    run.complete("Task_AssessRequest", AKT_REFUSED)
    assert run.ready_ids() == ["Task_ApproveRefusal"]
    run.complete("Task_ApproveRefusal", AKT_REJECT)
    assert run.ready_ids() == ["Task_ReassessRequest"]
    run.complete("Task_ReassessRequest", AKT_REASSESS_PARTIAL)
    assert run.ready_ids() == ["Task_SendResponse"]
    run.complete("Task_SendResponse", AKT_SEND)
    run.finish_with_gdpr_review(GDPR_RULE_APPLIES)
    assert run.completed == [
        "Task_RegisterRequest", "Task_NotifyExtension", "Task_AssessRequest", "Task_ApproveRefusal",
        "Task_ReassessRequest", "Task_SendResponse", "Task_GdprReview",
    ]
    assert run.data["access_decision"] == "partial"


def test_aktindsigt_refusal_waits_for_a_pending_extension_notice():
    run = start_aktindsigt()
    run.expire_timer("Event_AssessmentDeadline")
    run.complete("Task_AssessRequest", AKT_REFUSED)
    assert run.ready_ids() == ["Task_ApproveRefusal", "Task_NotifyExtension"]
    run.complete("Task_ApproveRefusal", AKT_APPROVE)
    assert run.ready_ids() == ["Task_NotifyExtension"], "no answer before the extension notice"
    run.complete("Task_NotifyExtension", AKT_NOTIFY)
    assert run.ready_ids() == ["Task_SendResponse"]
    run.complete("Task_SendResponse", AKT_SEND)
    run.finish_with_gdpr_review(GDPR_RULE_APPLIES)
    assert run.data["access_decision"] == "refused"
    assert run.data["refusal_approved"] is True


@pytest.mark.parametrize("key", CASE_TYPES)
def test_models_with_an_inclusive_join_have_no_cycles(key):
    """SpiffWorkflow's inclusive join walks the model backwards to see whether a token can still
    arrive; inside a loop it takes an open task upstream of the loop for one that already
    contributed and fires too early. So a process with an inclusive join must not loop."""
    for path, doc in model_documents(key):
        process = doc.xpath("//bpmn:process", namespaces=NS)[0]
        if not process.xpath("./bpmn:inclusiveGateway", namespaces=NS):
            continue
        successors: dict[str, list[str]] = {}
        for flow in process.xpath("./bpmn:sequenceFlow", namespaces=NS):
            successors.setdefault(flow.get("sourceRef"), []).append(flow.get("targetRef"))
        for event in process.xpath("./bpmn:boundaryEvent", namespaces=NS):
            successors.setdefault(event.get("attachedToRef"), []).append(event.get("id"))
        state: dict[str, str] = {}

        def visit(node):
            state[node] = "open"
            for nxt in successors.get(node, []):
                assert state.get(nxt) != "open", f"{path.name}: cycle through {nxt}"
                if nxt not in state:
                    visit(nxt)
            state[node] = "done"

        for start in process.xpath("./bpmn:startEvent", namespaces=NS):
            visit(start.get("id"))


def test_aktindsigt_forms_reject_incomplete_decisions():
    assess = validator_for(load_schema(case_dir("aktindsigt") / "forms" / "assess_request.json"))
    assert assess.is_valid(AKT_FULL)
    assert not assess.is_valid({"access_decision": "partial"}), "partial access needs its legal grounds"
    assert not assess.is_valid({"access_decision": "refused", "legal_grounds": ""})
    assert not assess.is_valid({"access_decision": "maybe"})
    approve = validator_for(load_schema(case_dir("aktindsigt") / "forms" / "approve_refusal.json"))
    assert not approve.is_valid({"refusal_approved": False}), "a rejected refusal needs a comment"
    reassess = validator_for(load_schema(case_dir("aktindsigt") / "forms" / "reassess_request.json"))
    assert not reassess.is_valid(AKT_REFUSED), "after a rejected refusal, access is given"
    assert not reassess.is_valid({"access_decision": "partial"})
    start = validator_for(load_schema(start_form_path("aktindsigt")))
    anonymous = {k: v for k, v in AKT_START.items() if k != "requester_name"}
    assert start.is_valid(anonymous), "a requester need not give a name"
    assert not start.is_valid({**AKT_START, "received_date": "3. marts 2025"})


# -------------------------------------------------------------------------------------------------
# Byggetilladelse
# -------------------------------------------------------------------------------------------------

FEES = [
    # building_type, floor_area, fee (DKK), row
    ("small_building", 18, 1300, 1),
    ("small_building", 50, 1300, 1),
    ("small_building", 50.5, 3 * 760, 2),
    ("extension", 35, 4 * 760, 3),
    ("extension", 120, 6 * 760, 4),
    ("single_family_house", 162, 8 * 760, 5),
    ("single_family_house", 250, 8 * 760, 5),
    ("holiday_home", 90, 8 * 760, 5),
    ("single_family_house", 310, 12 * 760, 6),
    ("holiday_home", 251, 12 * 760, 6),
    ("multi_storey_housing", 1000, 30 * 760, 7),
    ("multi_storey_housing", 4800, 60 * 760, 8),
    ("commercial", 400, 20 * 760, 9),
    ("commercial", 2500, 40 * 760, 10),
    ("agricultural", 900, 8 * 760, 11),
    ("agricultural", 2400, 16 * 760, 12),
]


def start_byggetilladelse(**overrides) -> CaseRun:
    run = CaseRun("byggetilladelse", {**BYG_START, **overrides})
    assert run.ready_ids() == ["Task_ProfessionalAssessment"]
    return run


@pytest.mark.parametrize("building_type,floor_area,fee,row", FEES)
def test_fee_table(building_type, floor_area, fee, row):
    run = start_byggetilladelse(building_type=building_type, floor_area=floor_area)
    (task,) = run.ready()
    assert task.data["fee"] == fee
    assert task.data["fee_basis"]
    if row == 1:
        assert "fast gebyr" in task.data["fee_basis"]
    else:
        assert f"{fee // 760} timer à 760 kr." in task.data["fee_basis"]


def test_fee_table_rows():
    rules = etree.parse(str(case_dir("byggetilladelse") / "byggesagsgebyr.dmn")).getroot()
    (table,) = rules.iter("{*}decisionTable")
    assert table.get("hitPolicy") == "UNIQUE"
    assert len(list(table.iter("{*}rule"))) == 13
    # every building type of the start form has rows of its own, so only the catch-all row is left
    building_types = load_schema(start_form_path("byggetilladelse"))["properties"]["building_type"]["enum"]
    assert {bt for bt, *_ in FEES} == set(building_types)
    assert {row for *_, row in FEES} == set(range(1, 13))


def test_fee_table_falls_back_to_billing_by_time():
    # not reachable through the start form, whose enum has a row for each type: the last row catches the rest
    run = CaseRun("byggetilladelse", {**BYG_START, "building_type": "demolition"}, validate_start=False)
    (task,) = run.ready()
    assert task.data["fee"] == 0
    assert "medgået tid" in task.data["fee_basis"]


@pytest.mark.parametrize("decision", [BYG_GRANTED, BYG_REFUSED], ids=["granted", "refused"])
def test_byggetilladelse_complete_application(decision):
    run = start_byggetilladelse()
    run.complete("Task_ProfessionalAssessment", BYG_COMPLETE)
    assert run.ready_ids() == ["Task_Decision"]
    run.complete("Task_Decision", decision)
    run.finish_with_gdpr_review(GDPR_EXCEPTION)
    assert run.data["gdpr_review"] == EXPECTED_GDPR_EXCEPTION
    assert run.data["permit_decision"] == decision["permit_decision"]
    assert run.data["fee"] == 8 * 760
    assert run.completed == ["Task_ProfessionalAssessment", "Task_Decision", "Task_GdprReview"]


def test_byggetilladelse_rework_loop_twice_round():
    run = start_byggetilladelse()
    for _ in range(2):
        run.complete("Task_ProfessionalAssessment", BYG_INCOMPLETE)
        assert run.ready_ids() == ["Task_RequestInformation"]
        run.complete("Task_RequestInformation", BYG_REQUEST_INFO)
        assert run.ready_ids() == ["Task_ProfessionalAssessment"]
    run.complete("Task_ProfessionalAssessment", BYG_COMPLETE)
    assert run.ready_ids() == ["Task_Decision"]
    run.complete("Task_Decision", BYG_GRANTED)
    run.finish_with_gdpr_review(GDPR_RULE_APPLIES)
    assert run.completed == [
        "Task_ProfessionalAssessment", "Task_RequestInformation",
        "Task_ProfessionalAssessment", "Task_RequestInformation",
        "Task_ProfessionalAssessment", "Task_Decision", "Task_GdprReview",
    ]
    assert run.data["gdpr_review"] == EXPECTED_GDPR_RULE_APPLIES
    assert run.data["application_complete"] is True


def test_byggetilladelse_forms():
    assess = validator_for(load_schema(case_dir("byggetilladelse") / "forms" / "professional_assessment.json"))
    assert not assess.is_valid({"application_complete": False}), "say what is missing"
    start = validator_for(load_schema(start_form_path("byggetilladelse")))
    assert not start.is_valid({**BYG_START, "floor_area": 0})
    assert not start.is_valid({**BYG_START, "building_type": "castle"})
    assert not start.is_valid({k: v for k, v in BYG_START.items() if k != "cadastral_number"})
