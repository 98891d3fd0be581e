"""The expectation table and the run harness for tests/integration/test_corpus.py.

The corpus (../shared/corpus, or $SAGSGANG_CORPUS) holds BPMN/DMN files written by others; its
MANIFEST.md says what each should do. `EXPECTED` below has one row per model file, derived from
the manifest, stating what *Sagsgang* must do with it: parse it, refuse it as not executable, or
reject it with a ModelError whose message contains the key words and names the element.

`issue` on a row (or on a run scenario) names a known engine shortcoming, written down for the
lead engineer: when the check it affects fails, the test is marked xfail with that text instead
of failing; once the engine is fixed the same test simply passes.
"""
from __future__ import annotations

import re
import time
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from uuid import UUID

from SpiffWorkflow.bpmn.specs.mixins.events.end_event import EndEvent
from SpiffWorkflow.bpmn.util import BpmnEvent
from SpiffWorkflow.util.task import TaskState

from engine.errors import ModelError, WorkflowError
from engine.runtime.advance import advance, complete_task, find_ready_task, snapshot, start_workflow
from engine.runtime.parsing import build_parser, detect_dialect, parse_model
from engine.runtime.sandbox import SandboxedScriptEngine
from engine.runtime.state import dump_state, load_state
from tests.conftest import CORPUS

MODEL_SUFFIXES = (".bpmn", ".bpmn20.xml", ".dmn")
MAX_STEPS = 10_000
MAX_DEPTH = 50_000

# outcome kinds of the per-file parse test
PARSES = "parses"                 # document loads, its executable processes parse
NOT_EXECUTABLE = "not-executable"  # document loads, every process is refused as "not executable"
REJECTED = "rejected"             # ModelError (load or parse) with the key words, naming the element


@dataclass(frozen=True)
class Row:
    kind: str
    manifest: str                  # the manifest's expectation: parse-only / parse-error / run / evaluate
    words: tuple[str, ...] = ()    # REJECTED: words the message must contain (case-insensitive)
    element: str | None = None     # REJECTED: the element id/tag the message must name
    siblings: tuple[str, ...] = ()  # corpus files loaded together with it (relative paths)
    process: str | None = None     # the process/collaboration the manifest names (else: all of the file)
    dialect: str | None = None     # what detect_dialect must answer (None: not checked)
    error_file: str | None = None  # REJECTED: the file the message must name (default: this file)
    issue: str | None = None       # known engine shortcoming (xfail instead of fail)


def _folder(folder: str, *names: str) -> tuple[str, ...]:
    return tuple(f"{folder}/{name}" for name in names)


SW = "SpiffWorkflow/bpmn/data"
MIWG = "bpmn-miwg-test-suite"
SAMPLE = "sample-process-models"
CALL_ACTIVITY_CALLEE = f"{SW}/call_activity_call_activity.bpmn"
USER_GUIDE = _folder(f"{SAMPLE}/user-guide-basics", "analyze-telephone-number.dmn", "simple-JSONSchema.json",
                     "simple-UISchema.json")
BOOLEAN_DMN = _folder(f"{SAMPLE}/dmn-boolean-test", *(f"boolean-test-{i}.dmn" for i in range(1, 5)))
FORMS = _folder(f"{SAMPLE}/process-model-with-form", *(f"form{i}{ui}.json" for i in range(1, 5) for ui in ("", "_ui")))
MI_FORMS = _folder(f"{SAMPLE}/simple-multi-instance-examples", "configure-multiinstance-schema.json",
                   "configure-multiinstance-uischema.json", "get-value-schema.json", "get-value-uischema.json")
INVOICE_FORMS = _folder(f"{SAMPLE}/submit-invoice", "check-amounts.dmn", "Submit-the-invoice_JSONSchema.json",
                        "Submit-the-invoice_UISchema.json", "invoice-approval_JSONSchema.json",
                        "invoice-approval_UISchema.json")
JOB = "camunda-bpm-examples/job-announcement"

DATA_STORE = ("data store", "no implementation")
DRG = ("decision requirements graph", "not supported")
DETECT_ISSUE = ("detect_dialect answers 'camunda' for any file that merely declares the Camunda namespace, "
                "so this SpiffWorkflow-dialect model (spiffworkflow: extensions) is parsed by the Camunda "
                "parser; fix: choose 'spiff' when spiffworkflow: elements/attributes are used, and 'camunda' "
                "only when camunda: attributes/elements are actually used")
LXML_REPR_ISSUE = ("SpiffWorkflow's 'Cannot resolve dataInput/OutputAssociation' message ends in a raw lxml "
                   "repr ('<Element {...}sourceRef at 0x...>') instead of the unresolved reference id; "
                   "fix: in parsing._model_error, replace the repr with the element's text")

EXPECTED: dict[str, Row] = {
    # ---- SpiffWorkflow unit-test models -------------------------------------------------------
    f"{SW}/Invalid-Workflows/No-Start-Event.bpmn20.xml": Row(
        REJECTED, "parse-error", ("no start event",), "sid-669ddebf-4196-41ee-8b04-bcc90bc5f983"),
    f"{SW}/Invalid-Workflows/Subprocess-Not-Found.bpmn20.xml": Row(NOT_EXECUTABLE, "parse-error"),
    f"{SW}/Invalid-Workflows/Unsupported-Task.bpmn20.xml": Row(
        REJECTED, "parse-error", ("decision",), "sid-75EEAB28-3B69-4282-B91A-0F3C97931834",
        issue="a businessRuleTask without a decision reference is reported as 'No DMN Diagram available "
              "with id \"None\"'; fix: check for the missing spiffworkflow:calledDecisionId (or "
              "camunda:decisionRef) and say 'business rule task has no decision reference'"),
    f"{SW}/Invalid-Workflows/non-executable-process.bpmn": Row(NOT_EXECUTABLE, "parse-error"),
    f"{SW}/Test-Workflows/CallActivity-Escalation-Test-Sub.bpmn20.xml": Row(PARSES, "run"),
    f"{SW}/Test-Workflows/CallActivity-Escalation-Test.bpmn20.xml": Row(
        PARSES, "run", siblings=(f"{SW}/Test-Workflows/CallActivity-Escalation-Test-Sub.bpmn20.xml",)),
    f"{SW}/Test-Workflows/Parallel.camunda.bpmn20.xml": Row(PARSES, "run", dialect="camunda"),
    f"{SW}/boundary.bpmn": Row(PARSES, "run", dialect="camunda"),
    f"{SW}/boundary_timer_on_task.bpmn": Row(PARSES, "run", dialect="spiff"),
    CALL_ACTIVITY_CALLEE: Row(PARSES, "run"),
    f"{SW}/call_activity_end_event.bpmn": Row(PARSES, "run", siblings=(CALL_ACTIVITY_CALLEE,)),
    f"{SW}/call_activity_with_error.bpmn": Row(PARSES, "run", siblings=(CALL_ACTIVITY_CALLEE,)),
    f"{SW}/collaboration.bpmn": Row(PARSES, "run"),
    f"{SW}/event-gateway.bpmn": Row(PARSES, "run"),
    f"{SW}/event-subprocess.bpmn": Row(PARSES, "run"),
    f"{SW}/inclusive_gateway.bpmn": Row(PARSES, "run"),
    f"{SW}/invalid_cancel.bpmn": Row(REJECTED, "parse-error", ("cancel", "transaction"), "Activity_HowMany"),
    f"{SW}/parallel_multiinstance_loop_input.bpmn": Row(PARSES, "run"),
    f"{SW}/sequential_multiinstance_cardinality.bpmn": Row(PARSES, "run"),
    f"{SW}/standard_loop.bpmn": Row(PARSES, "run"),
    f"{SW}/standard_loop_invalid.bpmn": Row(
        REJECTED, "parse-error", ("loopMaximum", "loopCondition"), "any_task"),
    f"{SW}/timer-non-interrupt-boundary.bpmn": Row(PARSES, "run", dialect="camunda"),
    f"{SW}/timer.bpmn": Row(PARSES, "run"),
    f"{SW}/transaction.bpmn": Row(PARSES, "run", dialect="camunda"),
    "SpiffWorkflow/camunda/data/ExclusiveGatewayIfElseAndDecision.bpmn": Row(
        PARSES, "run", siblings=("SpiffWorkflow/camunda/data/dmn/test_integer_decision.dmn",), dialect="camunda"),
    "SpiffWorkflow/camunda/data/dmn/test_integer_decision.dmn": Row(PARSES, "run"),
    "SpiffWorkflow/dmn/data/collect_hit.dmn": Row(PARSES, "evaluate"),
    "SpiffWorkflow/dmn/data/dmn_version_test/v1_3_unsupported/financial.dmn": Row(
        REJECTED, "parse-error", ("no top-level decision", "decisionService", "businessKnowledgeModel")),
    "SpiffWorkflow/spiff/data/business_rule_task.bpmn": Row(
        PARSES, "run", siblings=("SpiffWorkflow/spiff/data/dmn/business_rules.dmn",), dialect="spiff",
        issue=DETECT_ISSUE + "; the Camunda parser then fails with 'cannot be parsed: KeyError: "
              "'{http://camunda.org/schema/1.0/bpmn}decisionRef'' naming no element"),
    "SpiffWorkflow/spiff/data/correlation.bpmn": Row(PARSES, "run", process="correlation_test", dialect="spiff"),
    "SpiffWorkflow/spiff/data/dmn/business_rules.dmn": Row(PARSES, "run"),
    "SpiffWorkflow/spiff/data/error_event_payload.bpmn": Row(PARSES, "run", dialect="spiff"),
    "SpiffWorkflow/spiff/data/escalation_event_payload.bpmn": Row(PARSES, "run", dialect="spiff"),
    # ---- OMG MIWG reference models: interchange tests, not meant to run ----------------------
    f"{MIWG}/A.1.0.bpmn": Row(NOT_EXECUTABLE, "parse-only"),
    f"{MIWG}/A.2.0.bpmn": Row(NOT_EXECUTABLE, "parse-only"),
    f"{MIWG}/A.2.1.bpmn": Row(NOT_EXECUTABLE, "parse-only"),
    f"{MIWG}/A.3.0.bpmn": Row(NOT_EXECUTABLE, "parse-only"),
    f"{MIWG}/A.4.0.bpmn": Row(NOT_EXECUTABLE, "parse-only"),
    f"{MIWG}/A.4.1.bpmn": Row(NOT_EXECUTABLE, "parse-only"),
    f"{MIWG}/B.1.0.bpmn": Row(REJECTED, "parse-only", DATA_STORE + ("Data Store Reference",)),
    f"{MIWG}/B.2.0.bpmn": Row(REJECTED, "parse-only", DATA_STORE + ("Data Store Reference",)),
    f"{MIWG}/C.1.0.bpmn": Row(
        REJECTED, "parse-only", ("service task", "operator"), "archiveInvoice", process="bpmn-miwg-test-case-c.1.0"),
    f"{MIWG}/C.1.1.bpmn": Row(REJECTED, "parse-only", DATA_STORE + ("Financial Accounting System",)),
    f"{MIWG}/C.2.0.bpmn": Row(NOT_EXECUTABLE, "parse-only"),
    f"{MIWG}/C.3.0.bpmn": Row(
        REJECTED, "parse-only", ("start event",), "_cd6f230f-13c3-4027-aa3e-57de601a1ab2"),
    f"{MIWG}/C.4.0.bpmn": Row(REJECTED, "parse-only", DATA_STORE + ("Employee Details",)),
    f"{MIWG}/C.5.0.bpmn": Row(REJECTED, "parse-only", DATA_STORE + ("Bank System",)),
    f"{MIWG}/C.6.0.bpmn": Row(
        REJECTED, "parse-only", ("dataInputAssociation",), "_9cc2ac34-f12c-49e0-b37c-144e5a84fd92",
        issue=LXML_REPR_ISSUE),
    # Its first problem is a businessRuleTask with no decision reference (it also has unresolvable
    # data associations, which SpiffWorkflow would report next).
    f"{MIWG}/C.7.0.bpmn": Row(
        REJECTED, "parse-only", ("business rule task", "decision reference"), "_eae674ce-4d6e-48ac-819c-c79e0868e40d"),
    f"{MIWG}/C.8.0.bpmn": Row(NOT_EXECUTABLE, "parse-only"),
    # First problem: a businessRuleTask with no decision reference (then service tasks without operator).
    f"{MIWG}/C.8.1.bpmn": Row(
        REJECTED, "parse-only", ("business rule task", "decision reference"), "_1a818a94-ba6f-413b-a7e8-6f8fd2a11e32"),
    f"{MIWG}/C.9.0.bpmn": Row(
        REJECTED, "parse-only", ("decisionRef",), "BusinessRuleTask_CheckApplicationAutomatically",
        issue="Camunda 8 (Zeebe) model: the Camunda 7 parser reads the businessRuleTask's missing "
              "camunda:decisionRef with a bare dict lookup and the engine reports 'cannot be parsed: "
              "KeyError: ...decisionRef' naming no element; fix: before add_bpmn_xml, refuse a "
              "businessRuleTask without camunda:decisionRef (naming it; mention zeebe:calledDecision "
              "is Camunda 8, which is not supported)"),
    f"{MIWG}/C.9.1.bpmn": Row(PARSES, "run", process="requestDocument_en"),
    f"{MIWG}/C.9.2.bpmn": Row(
        REJECTED, "parse-only", ("multiinstance", "cardinality"), "CallActivity_RequestDocument"),
    # ---- Camunda 7 examples ---------------------------------------------------------------------
    "camunda-bpm-examples/dmn-drg/dinnerDecisions.dmn": Row(REJECTED, "evaluate", DRG, "beverages"),
    f"{JOB}/camunda-testing-job-announcement-publication.bpmn": Row(PARSES, "run", dialect="camunda"),
    f"{JOB}/camunda-testing-job-announcement.bpmn": Row(
        PARSES, "run", siblings=(f"{JOB}/camunda-testing-job-announcement-publication.bpmn",), dialect="camunda"),
    "camunda-bpm-examples/order-handling/order-handling.bpmn": Row(PARSES, "run", dialect="camunda"),
    "camunda-bpm-platform/invoice/invoice.v2.bpmn": Row(
        REJECTED, "run", DATA_STORE + ("Financial Accounting System",),
        siblings=("camunda-bpm-platform/invoice/reviewInvoice.bpmn",), dialect="camunda"),
    "camunda-bpm-platform/invoice/invoiceBusinessDecisions.dmn": Row(REJECTED, "run", DRG, "invoiceClassification"),
    "camunda-bpm-platform/invoice/reviewInvoice.bpmn": Row(PARSES, "run", dialect="camunda"),
    # ---- SpiffArena sample models ---------------------------------------------------------------
    **{path: Row(PARSES, "run") for path in BOOLEAN_DMN},
    f"{SAMPLE}/dmn-boolean-test/boolean-test.bpmn": Row(PARSES, "run", siblings=BOOLEAN_DMN, dialect="spiff"),
    f"{SAMPLE}/from-discord/diagram_1.bpmn": Row(PARSES, "run"),
    f"{SAMPLE}/lanes/lanes.bpmn": Row(PARSES, "run", process="Proccess_yhito9d", dialect="spiff"),
    f"{SAMPLE}/manual-task-with-subprocesses/manual_task_with_subprocesses.bpmn": Row(
        REJECTED, "run", ("escalation", "errorCode"),
        siblings=(f"{SAMPLE}/manual-task-with-subprocesses/test_process_to_call.bpmn",),
        error_file="test_process_to_call.bpmn"),
    f"{SAMPLE}/manual-task-with-subprocesses/test_process_to_call.bpmn": Row(
        REJECTED, "run", ("errorCode", "not allowed"), "escalation"),
    f"{SAMPLE}/manual-task-with-timer/manual_task_with_timer.bpmn": Row(PARSES, "run", dialect="spiff"),
    f"{SAMPLE}/message-sender-receivers/message_receiver_one.bpmn": Row(PARSES, "run", dialect="spiff"),
    f"{SAMPLE}/message-sender-receivers/message_receiver_two.bpmn": Row(PARSES, "run", dialect="spiff"),
    f"{SAMPLE}/message-sender-receivers/message_sender.bpmn": Row(PARSES, "run", dialect="spiff"),
    f"{SAMPLE}/multiple-approvals/multi-approvals-1.bpmn": Row(
        REJECTED, "run", ("dataObject", "is_approval", "xs:ID")),
    f"{SAMPLE}/process-model-with-form/test_form.bpmn": Row(PARSES, "run", siblings=FORMS, dialect="spiff"),
    f"{SAMPLE}/simple-multi-instance-examples/mi-script.bpmn": Row(PARSES, "run"),
    f"{SAMPLE}/simple-multi-instance-examples/mi.bpmn": Row(PARSES, "run", siblings=MI_FORMS, dialect="spiff"),
    f"{SAMPLE}/simple-multi-instance-examples/simple-mi.bpmn": Row(PARSES, "run"),
    f"{SAMPLE}/submit-invoice/check-amounts.dmn": Row(PARSES, "run"),
    f"{SAMPLE}/submit-invoice/submit-invoice1.bpmn": Row(PARSES, "run", siblings=INVOICE_FORMS, dialect="spiff"),
    f"{SAMPLE}/tc-b/TC-B.bpmn": Row(REJECTED, "parse-error", ("calledElement",), "Activity_1n70mu3"),
    f"{SAMPLE}/user-guide-basics/analyze-telephone-number.dmn": Row(PARSES, "run"),
    f"{SAMPLE}/user-guide-basics/user-guide-basics.bpmn": Row(PARSES, "run", siblings=USER_GUIDE, dialect="spiff"),
    f"{SAMPLE}/workflow_one/sample.bpmn": Row(
        PARSES, "run", siblings=(f"{SAMPLE}/workflow_one/wonderful.dmn",), dialect="spiff"),
    f"{SAMPLE}/workflow_one/wonderful.dmn": Row(PARSES, "evaluate"),
}


# ------------------------------------------------------------------------------------ corpus files

def is_model_file(path: Path) -> bool:
    return path.is_file() and path.name.lower().endswith(MODEL_SUFFIXES)


def corpus_model_files() -> list[str]:
    """Every .bpmn/.bpmn20.xml/.dmn file under the corpus, as a path relative to it."""
    if not CORPUS.is_dir():
        return []
    return sorted(path.relative_to(CORPUS).as_posix() for path in CORPUS.rglob("*") if is_model_file(path))


def read_files(*rels: str) -> dict[str, bytes]:
    """The files keyed by base name, as the engine receives a case type's files."""
    files = {}
    for rel in rels:
        name = rel.rsplit("/", 1)[-1]
        assert name not in files, f"two corpus files named {name} in one model"
        files[name] = (CORPUS / rel).read_bytes()
    return files


def model_files(rel: str) -> dict[str, bytes]:
    return read_files(rel, *EXPECTED[rel].siblings)


def load_model(rel: str, process: str | None = None, *, dialect: str | None = None, validate: bool = True):
    """parse_model for a corpus file (with its siblings), in the manifest's dialect when known."""
    files = model_files(rel)
    row = EXPECTED[rel]
    dialect = dialect or row.dialect or detect_dialect(files)
    return parse_model(files, process or row.process, dialect=dialect, validate=validate)


# ------------------------------------------------------------------------------- error clarity

_RAW_EXCEPTION = re.compile(r"\b(KeyError|AttributeError|IndexError|TypeError)\b")


def unclear(message: str) -> str | None:
    """Why an error message would puzzle a case-type owner, or None when it reads fine."""
    if "cannot be parsed:" in message or _RAW_EXCEPTION.search(message):
        return "it passes on a raw Python exception"
    if re.search(r"<Element [^>]*at 0x[0-9a-f]+>", message):
        return "it contains a raw lxml element repr"
    if re.search(r"""\bid ["']None["']""", message):
        return "it names the element as 'None'"
    return None


def root_cause(err: BaseException) -> BaseException:
    """The innermost exception behind err (following both `raise from` and implicit chaining)."""
    seen = {id(err)}
    while True:
        nxt = err.__cause__ or err.__context__
        if nxt is None or id(nxt) in seen:
            return err
        seen.add(id(nxt))
        err = nxt


# ---------------------------------------------------------------------------- parse outcome

@dataclass
class ParseOutcome:
    rel: str
    dialect: str
    error: ModelError | None = None           # load error, or the first executable process's error
    crash: BaseException | None = None        # anything but a ModelError (never acceptable)
    parsed: tuple[str, ...] = ()              # executable processes that parsed
    not_executable: dict | None = None        # process id -> the ModelError refusing it
    decisions: tuple[str, ...] = ()

    def summary(self) -> str:
        if self.crash is not None:
            return f"CRASH {self.crash.__class__.__name__}: {self.crash}"
        if self.error is not None:
            return "rejected: " + one_line(str(self.error))
        parts = []
        if self.parsed:
            parts.append("parsed " + ", ".join(self.parsed))
        if self.decisions:
            parts.append("parsed DMN decision " + ", ".join(self.decisions))
        if self.not_executable:
            parts.append("not executable: " + ", ".join(self.not_executable))
        return "; ".join(parts) or "parsed (no processes)"


def one_line(text: str, limit: int = 220) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def parse_outcome(rel: str) -> ParseOutcome:
    """Load a file the way the engine does (build_parser with detect_dialect), then parse_model
    each of its processes (or the one the manifest names)."""
    row = EXPECTED[rel]
    files = model_files(rel)
    dialect = detect_dialect(files)
    outcome = ParseOutcome(rel, dialect)
    try:
        parser = build_parser(files, dialect=dialect)
    except ModelError as err:
        outcome.error = err
        return outcome
    except Exception as err:  # noqa: BLE001 - reported, and the test fails on it
        outcome.crash = err
        return outcome
    name = rel.rsplit("/", 1)[-1]
    outcome.decisions = tuple(d for d, p in getattr(parser, "dmn_parsers", {}).items()
                              if getattr(p, "filename", None) == name)
    if row.process:
        targets = [row.process]
    else:
        targets = [pid for pid, p in parser.process_parsers.items() if p.filename == name]
    parsed, refused = [], {}
    for pid in targets:
        process_parser = parser.process_parsers.get(pid)
        executable = process_parser is None or process_parser.process_executable
        try:
            parse_model(files, pid, dialect=dialect)
        except ModelError as err:
            if executable:
                outcome.error = err
                break
            refused[pid] = err
        except Exception as err:  # noqa: BLE001
            outcome.crash = err
            break
        else:
            if not executable:
                outcome.crash = AssertionError(f"non-executable process {pid} was parsed for running")
                break
            parsed.append(pid)
    outcome.parsed = tuple(parsed)
    outcome.not_executable = refused
    return outcome


# ------------------------------------------------------------------------------------- runs

class CaseRun:
    """One case, run the way the engine runs cases: after every step (start, completing a task,
    firing timers, delivering a message) the workflow is saved with dump_state, and the next step
    works on a workflow rebuilt by load_state from that blob and the parsed spec, with the
    sandboxed script engine attached again."""

    def __init__(self, model, data: dict | None = None, script_engine=None):
        self.model = model
        self.script_engine = script_engine or SandboxedScriptEngine()
        self.steps = 0
        self.blob = None
        self._save(start_workflow(model, self.script_engine, dict(data or {}), MAX_STEPS, MAX_DEPTH))

    def _save(self, workflow) -> None:
        self.blob = dump_state(workflow)
        self.steps += 1

    def load(self):
        return load_state(self.blob, self.model, self.script_engine)

    @property
    def snapshot(self):
        return snapshot(self.load())

    def ready(self) -> list[str]:
        return [task.element_id for task in self.snapshot.open_tasks]

    def open_tasks(self, element: str):
        return [task for task in self.snapshot.open_tasks if task.element_id == element]

    def complete(self, element: str, data: dict | None = None, task_id: str | None = None) -> None:
        workflow = self.load()
        if task_id is None:
            candidates = [t for t in snapshot(workflow).open_tasks if t.element_id == element]
            assert candidates, f"{element} is not ready; ready: {[t.element_id for t in snapshot(workflow).open_tasks]}"
            task_id = candidates[0].id
        task = find_ready_task(workflow, task_id)
        complete_task(workflow, task, dict(data or {}), MAX_STEPS, MAX_DEPTH)
        self._save(workflow)

    def complete_each(self, element: str, data_for) -> int:
        """Complete every READY instance of `element` (multi-instance, parallel pools), one step each;
        `data_for(index, task_data)` gives the submitted data."""
        instances = [(task.id, dict(task.data)) for task in self.open_tasks(element)]
        for index, (task_id, data) in enumerate(instances):
            self.complete(element, data_for(index, data), task_id=task_id)
        return len(instances)

    def run_manual_tasks(self, limit: int = 20) -> list[str]:
        """Complete whatever user/manual task is ready, without data, until none is left."""
        done = []
        while self.ready():
            assert len(done) < limit, f"still tasks after {limit}: {done}"
            element = self.ready()[0]
            self.complete(element)
            done.append(element)
        return done

    def wait_and_fire_timers(self, seconds: float) -> None:
        time.sleep(seconds)
        workflow = self.load()
        advance(workflow, MAX_STEPS, MAX_DEPTH)
        self._save(workflow)

    def deliver(self, message_name: str, payload: dict | None = None, correlations: dict | None = None) -> None:
        """Deliver a message as services.cases.deliver_message does: to the wait the snapshot lists."""
        workflow = self.load()
        waits = [w for w in snapshot(workflow).message_waits if w["message_name"] == message_name]
        assert waits, f"no wait for message {message_name!r}: {snapshot(workflow).message_waits}"
        task = workflow.get_task_from_id(UUID(waits[0]["task_id"]))
        self._send(workflow, task.task_spec.event_definition, payload, correlations)

    def send_to_waiting(self, element: str, event_name: str, payload: dict | None = None) -> None:
        """Send the event `event_name` that the WAITING task `element` catches (a boundary signal, a
        branch of an event-based gateway): for events the engine's snapshot does not list."""
        workflow = self.load()
        tasks = [t for t in workflow.get_tasks(state=TaskState.WAITING) if t.task_spec.bpmn_id == element]
        assert tasks, f"{element} is not waiting"
        definition = tasks[0].task_spec.event_definition
        for candidate in [definition, *getattr(definition, "event_definitions", [])]:
            if getattr(candidate, "name", None) == event_name:
                return self._send(workflow, candidate, payload, None)
        raise AssertionError(f"{element} does not catch {event_name!r}")

    def _send(self, workflow, definition, payload, correlations) -> None:
        workflow.send_event(BpmnEvent(definition, payload=payload or {}, correlations=correlations or {}))
        advance(workflow, MAX_STEPS, MAX_DEPTH)
        self._save(workflow)

    # -- reading the result

    @property
    def completed(self) -> bool:
        return self.load().is_completed()

    @property
    def data(self) -> dict:
        return dict(self.load().data)

    def end_events(self) -> list[str]:
        """BPMN ids of the end events reached (subprocesses included), in task-tree order."""
        return [t.task_spec.bpmn_id for t in self.load().get_tasks(state=TaskState.COMPLETED)
                if isinstance(t.task_spec, EndEvent) and t.task_spec.bpmn_id]

    def states(self, *elements: str) -> dict[str, list[str]]:
        workflow = self.load()
        return {element: [TaskState.get_name(t.state) for t in workflow.get_tasks()
                          if t.task_spec.bpmn_id == element] for element in elements}

    def task_data(self, element: str) -> list[dict]:
        return [dict(t.data) for t in self.load().get_tasks() if t.task_spec.bpmn_id == element]

    def stalled(self) -> bool:
        """Not completed, and nothing the engine could ever act on: no open task, timer or message."""
        shot = self.snapshot
        return not (shot.completed or shot.open_tasks or shot.next_timer_at or shot.message_waits)


def decide(rel: str, decision: str, data: dict) -> dict:
    """Evaluate one DMN decision table of a corpus file with the sandboxed script engine.

    The engine has no stand-alone DMN entry point: the parser built by build_parser gives the
    DMNEngine SpiffWorkflow's businessRuleTask uses, evaluated over a task-like object that carries
    the data and the sandbox.
    """
    parser = build_parser(model_files(rel))
    engine = parser.get_engine(decision, None)
    task = SimpleNamespace(data=dict(data), workflow=SimpleNamespace(script_engine=SandboxedScriptEngine()))
    return dict(engine.result(task))
