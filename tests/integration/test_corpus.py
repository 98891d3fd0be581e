"""The shared corpus of real BPMN/DMN files (../shared/corpus, MANIFEST.md) through the engine.

1. Every model file is loaded as the engine loads a case type (build_parser with detect_dialect,
   then parse_model per process) and must parse, be refused as "not executable", or be rejected
   with a ModelError that names the file, the element and the reason -- never a raw exception.
2. The models the manifest says run are run with the sandboxed script engine, saving and
   reloading the state (dump_state/load_state) after every step, and must reach the manifest's
   end data and path.
3. Models that need what Sagsgang does not support (JUEL/FEEL, DRG DMN, data stores, cron timers,
   Camunda Java beans, SpiffArena-only functions, vars()/globals()) must be refused clearly.
4. The last test prints a report line per corpus file (`pytest -s` shows it).

Known engine shortcomings are listed in corpus_cases.py (row `issue`) and in ISSUES below: the
affected check turns into an xfail naming the problem and the suggested fix.
"""
from __future__ import annotations

import time
from collections import defaultdict
from datetime import datetime, timezone
from dataclasses import dataclass

import pytest

from engine.errors import ModelError, WorkflowError
from engine.runtime.parsing import detect_dialect
from engine.runtime.sandbox import SandboxedScriptEngine, SandboxViolation
from engine.runtime.service_tasks import pending_calls
from engine.runtime.timers import schedule_first_run, timer_start_events
from tests.conftest import CORPUS

try:  # a package when tests/integration gets an __init__.py, a rootdir module otherwise
    from . import corpus_cases as cc
except ImportError:
    import corpus_cases as cc

if not CORPUS.is_dir():
    pytest.skip(f"BPMN corpus not found at {CORPUS} (set SAGSGANG_CORPUS to its directory)",
                allow_module_level=True)

FILES = sorted(set(cc.corpus_model_files()) | set(cc.EXPECTED))
PARSE_REPORT: dict[str, str] = {}
RUN_REPORT: dict[str, list[str]] = defaultdict(list)
COVERED: dict[str, list[str]] = defaultdict(list)  # corpus file -> run scenarios using it
MODULE_START = time.monotonic()


def covers(*rels: str):
    """Register a run/refusal scenario as covering these corpus files (checked by a test)."""
    def register(fn):
        for rel in rels:
            assert rel in cc.EXPECTED, rel
            COVERED[rel].append(fn.__name__)
        return fn
    return register


def ran(rel: str, case: cc.CaseRun, label: str = "") -> None:
    ends = ", ".join(case.end_events()) or "-"
    prefix = f"{label}: " if label else ""
    row = cc.EXPECTED[rel]
    if row.dialect and detect_dialect(cc.model_files(rel)) != row.dialect:
        prefix = f"[{row.dialect} dialect forced] " + prefix
    RUN_REPORT[rel].append(f"ran {prefix}{'completed' if case.completed else 'NOT completed'} "
                           f"at end events {ends} ({case.steps} saved steps)")


def norm(text: str) -> str:
    return " ".join(str(text).split()).lower()


def known_issue(ok: bool, issue: str, rel: str | None = None) -> None:
    """An engine shortcoming written down for the lead engineer: xfail while it is there."""
    if not ok:
        if rel:
            RUN_REPORT[rel].append("known engine issue: " + cc.one_line(issue, 120))
        pytest.xfail(issue)


# =============================================================================================
# 1. every file is reported
# =============================================================================================

def test_table_covers_every_corpus_file():
    on_disk = set(cc.corpus_model_files())
    assert on_disk, f"no .bpmn/.bpmn20.xml/.dmn files under {CORPUS}"
    missing_rows = sorted(on_disk - set(cc.EXPECTED))
    missing_files = sorted(set(cc.EXPECTED) - on_disk)
    assert not missing_rows, f"corpus files without an expectation row: {missing_rows}"
    assert not missing_files, f"expectation rows for files not in the corpus: {missing_files}"
    for rel, row in cc.EXPECTED.items():
        for sibling in row.siblings:
            assert (CORPUS / sibling).is_file(), f"{rel}: sibling {sibling} missing"


def _problems(rel: str, row: cc.Row, outcome: cc.ParseOutcome) -> list[str]:
    problems = []
    name = rel.rsplit("/", 1)[-1]
    for pid, err in (outcome.not_executable or {}).items():
        if "not executable" not in norm(err) or pid.lower() not in norm(err) or name.lower() not in norm(err):
            problems.append(f"process {pid} refused without 'not executable', its id and the file: {err}")
    if row.kind == cc.PARSES:
        if outcome.error is not None:
            problems.append(f"expected to parse, got: {outcome.error}")
        elif not (outcome.parsed or outcome.decisions):
            problems.append("expected an executable process or a DMN decision, found none")
    elif row.kind == cc.NOT_EXECUTABLE:
        if outcome.error is not None:
            problems.append(f"expected the document to load, got: {outcome.error}")
        if outcome.parsed or not outcome.not_executable:
            problems.append(f"expected every process refused as not executable; parsed {outcome.parsed}")
    else:
        err = outcome.error
        if err is None:
            return [f"expected a ModelError with {row.words}, but it parsed"]
        message = norm(err)
        missing = [w for w in row.words if norm(w) not in message]
        if missing:
            problems.append(f"message lacks {missing}: {err}")
        if row.element and row.element.lower() not in message:
            problems.append(f"message does not name element {row.element}: {err}")
        error_file = row.error_file or name
        if error_file.lower() not in message or err.file != error_file:
            problems.append(f"message does not name the file {error_file}: {err}")
        why = cc.unclear(str(err))
        if why:
            problems.append(f"unclear message ({why}): {err}")
    return problems


@pytest.mark.parametrize("rel", FILES)
def test_file_is_reported(rel):
    row = cc.EXPECTED.get(rel)
    assert row is not None, f"{rel}: new corpus file, add a row to corpus_cases.EXPECTED"
    assert (CORPUS / rel).is_file(), f"{rel}: in the table but not in the corpus"
    outcome = cc.parse_outcome(rel)
    PARSE_REPORT[rel] = outcome.summary()
    if outcome.crash is not None:
        pytest.fail(f"{rel}: raw {outcome.crash.__class__.__name__} instead of a ModelError: {outcome.crash}")
    problems = _problems(rel, row, outcome)
    if problems and row.issue:
        RUN_REPORT[rel].append("known engine issue: " + cc.one_line(row.issue, 120))
        pytest.xfail(f"{row.issue} -- {'; '.join(problems)}")
    assert not problems, "\n".join([f"{rel} ({row.manifest}, dialect {outcome.dialect}):", *problems])


@pytest.mark.parametrize("rel", sorted(rel for rel, row in cc.EXPECTED.items() if row.dialect))
def test_dialect_detection(rel):
    row = cc.EXPECTED[rel]
    detected = detect_dialect(cc.model_files(rel))
    known_issue(detected == row.dialect or row.dialect != "spiff", cc.DETECT_ISSUE, rel)
    assert detected == row.dialect


def test_data_stores_are_refused_naming_the_store():
    """Data store references (fact 4) are refused at load, whatever the dialect."""
    for rel, store in (("bpmn-miwg-test-suite/B.1.0.bpmn", "Data Store Reference"),
                       ("bpmn-miwg-test-suite/C.4.0.bpmn", "Employee Details"),
                       ("camunda-bpm-platform/invoice/invoice.v2.bpmn", "Financial Accounting System")):
        outcome = cc.parse_outcome(rel)
        assert isinstance(outcome.error, ModelError), rel
        message = norm(outcome.error)
        assert "data store" in message and "no implementation" in message and store.lower() in message


def test_non_executable_processes_are_refused_for_running():
    outcome = cc.parse_outcome("SpiffWorkflow/bpmn/data/collaboration.bpmn")
    assert outcome.parsed == ("process_buddy",)
    assert list(outcome.not_executable) == ["random_person_process"]
    err = outcome.not_executable["random_person_process"]
    assert err.element == "random_person_process" and "not executable" in err.reason


# =============================================================================================
# 2. the executable models run as the manifest says
# =============================================================================================

UG = "sample-process-models/user-guide-basics/user-guide-basics.bpmn"


@covers(UG, "sample-process-models/user-guide-basics/analyze-telephone-number.dmn")
@pytest.mark.parametrize("person, manual_task, real, which", [
    ({"firstName": "Chuck", "lastName": "Norris", "telephone": "7138686003"},
     "Activity_0s0ak1j", True, "Chuck's Personal Number"),
    ({"firstName": "Chuck", "lastName": "Norris", "telephone": "18005425277"},
     "Activity_1aggwmx", True, "Chuck's Fan Club Number"),
    ({"firstName": "Chuck", "lastName": "Norris", "telephone": "5555555555"},
     "Activity_0uxorq8", False, "Some Other Chuck Norris"),
    ({"firstName": "Chuck", "lastName": "Berry", "telephone": "7138686003"},
     "Activity_1ewbhqq", False, "Some Other Chuck"),
], ids=["real-chuck", "fan-club", "other-norris", "other-chuck"])
def test_user_guide_basics(person, manual_task, real, which):
    case = cc.CaseRun(cc.load_model(UG, "Proccess_rlm9uj3"))
    assert case.ready() == ["Activity_0v7nz5r"]
    assert case.snapshot.open_tasks[0].form == "simple-JSONSchema.json"
    case.complete("Activity_0v7nz5r", person)
    assert case.ready() == [manual_task]
    case.complete(manual_task)
    assert case.completed
    data = case.data
    assert (data["isRealChuckNorris"], data["whichNumber"]) == (real, which)
    if person["telephone"] == "7138686003":
        assert data["telephone_all"] == "1 (713) 868-6003"
    ran(UG, case, which)


BOOL = "sample-process-models/dmn-boolean-test/boolean-test.bpmn"


@covers(BOOL, *cc.BOOLEAN_DMN)
def test_dmn_boolean_tables():
    case = cc.CaseRun(cc.load_model(BOOL, "Proccess_xy8tu6y"))
    assert case.ready() == ["Activity_1pldlic"]
    case.complete("Activity_1pldlic")
    assert case.completed
    assert case.data == {
        "a": -1,
        "result_table_1": "Table 1 Rule 2 - does not equal zero",
        "result_table_2": "Table 2 Rule 2 - a is not greater than zero",
        "result_table_3": "Table 3 Rule 1 - a is less than zero",
        "result_table_4": "Table 4 Rule 1 - a does not equal zero",
    }
    ran(BOOL, case)
    for dmn in cc.BOOLEAN_DMN:
        RUN_REPORT[dmn].append("evaluated by boolean-test.bpmn (first-match rules)")


FORM = "sample-process-models/process-model-with-form/test_form.bpmn"
FORM_INPUTS = [("form1", {"form_num_1": 2}), ("form2", {"form_num_2": 3}),
               ("form3", {"form_num_3": 4}), ("form4", {"form_num_4": 5})]


@covers(FORM)
def test_process_model_with_form():
    case = cc.CaseRun(cc.load_model(FORM, "test_form"))
    for element, data in FORM_INPUTS:
        assert case.ready() == [element]
        assert case.snapshot.open_tasks[0].form == f"{element}.json"
        case.complete(element, data)
    assert case.completed
    data = case.data
    assert "this_will_delete" not in data
    assert {k: data[k] for k in ("system_generated_number", "product_one", "product_two", "product_three",
                                 "product_four", "ab")} == {
        "system_generated_number": 4, "product_one": 8, "product_two": 24, "product_three": 96,
        "product_four": 480, "ab": 1}
    ran(FORM, case)


@covers(FORM)
def test_process_model_with_form_edit_signal_goes_back():
    """Signal_091abqk ('Edit') while form3 waits interrupts it and returns to form2."""
    case = cc.CaseRun(cc.load_model(FORM, "test_form"))
    for element, data in FORM_INPUTS[:2]:
        case.complete(element, data)
    assert case.ready() == ["form3"]
    case.send_to_waiting("Event_1gfda2e", "Signal_091abqk")
    assert case.ready() == ["form2"]
    assert "CANCELLED" in case.states("form3")["form3"]


LANES = "sample-process-models/lanes/lanes.bpmn"


@covers(LANES)
def test_lanes():
    case = cc.CaseRun(cc.load_model(LANES))
    seen = []
    while case.ready():
        task = case.snapshot.open_tasks[0]
        seen.append((task.element_id, task.lane))
        case.complete(task.element_id)
    assert seen == [("initator_one", "Process Initiator"), ("finance_approval", "group1"),
                    ("initiator_two", "Process Initiator")]
    assert case.completed and case.data == {}
    ran(LANES, case)


TIMER_TASK = "sample-process-models/manual-task-with-timer/manual_task_with_timer.bpmn"


@covers(TIMER_TASK)
def test_manual_task_with_timer_completed_in_time():
    case = cc.CaseRun(cc.load_model(TIMER_TASK, "Process_ppiuwh1"))
    assert case.ready() == ["Activity_00rjpvx"]
    assert case.snapshot.next_timer_at is not None
    case.complete("Activity_00rjpvx")
    assert case.ready() == ["Activity_0txnrr1"]
    case.complete("Activity_0txnrr1")
    assert case.completed and case.data == {"a": "START", "b": "AFTER TASK"}
    ran(TIMER_TASK, case, "in time")


@covers(TIMER_TASK)
def test_manual_task_with_timer_expires():
    case = cc.CaseRun(cc.load_model(TIMER_TASK, "Process_ppiuwh1"))
    case.wait_and_fire_timers(1.05)
    assert case.states("Activity_00rjpvx") == {"Activity_00rjpvx": ["CANCELLED"]}
    assert case.ready() == ["Activity_0txnrr1"]
    case.complete("Activity_0txnrr1")
    assert case.completed and case.data == {"a": "START"}
    ran(TIMER_TASK, case, "timer expired")


MI = "sample-process-models/simple-multi-instance-examples/mi.bpmn"
SIMPLE_MI = "sample-process-models/simple-multi-instance-examples/simple-mi.bpmn"
MI_SCRIPT = "sample-process-models/simple-multi-instance-examples/mi-script.bpmn"


@covers(MI)
def test_parallel_multi_instance_user_task():
    case = cc.CaseRun(cc.load_model(MI, "Process_zonrb16"))
    case.complete("Activity_0wsxv0z", {"tasks": "3"})
    assert case.ready() == ["Activity_1i0kokz"] * 3
    values = [{"value_one": f"one {i}", "value_two": f"two {i}"} for i in range(3)]
    assert case.complete_each("Activity_1i0kokz", lambda i, _data: {"values": values[i]}) == 3
    assert case.ready() == ["Activity_09mrv8o"]
    case.complete("Activity_09mrv8o")
    assert case.completed and case.data["value_collection"] == values
    ran(MI, case)


@covers(SIMPLE_MI)
def test_sequential_multi_instance_manual_task():
    case = cc.CaseRun(cc.load_model(SIMPLE_MI, "Process_ewlevoz"))
    completed = 0
    while case.ready():
        assert case.ready() == ["Activity_03gpoh6"]  # one at a time
        case.complete("Activity_03gpoh6")
        completed += 1
    assert completed == 3 and case.completed
    ran(SIMPLE_MI, case)


@covers(MI_SCRIPT)
def test_standard_loop_script_loops_while_condition_holds():
    """loopCondition `x == 5` from x=1: 'loop while true' runs the script once (x=2)."""
    case = cc.CaseRun(cc.load_model(MI_SCRIPT, "Process_agrt3x1"))
    assert case.completed and case.data == {"x": 2}
    ran(MI_SCRIPT, case)


APPROVALS = "sample-process-models/multiple-approvals/multi-approvals-1.bpmn"


@covers(APPROVALS)
def test_multi_approvals_runs_when_xsd_validation_is_off():
    """The engine rejects the file (duplicate id is_approval, see its parse row); with validation
    off it runs as the manifest says: two approvals throw 'Cancel', the third task is cancelled."""
    case = cc.CaseRun(cc.load_model(APPROVALS, "Process_s7xfbti", validate=False))
    case.complete("Activity_0h7r2xf")
    assert sorted(case.ready()) == ["Activity_02qvs11", "Activity_0649vw3", "Activity_1vdzcey"]
    case.complete("Activity_02qvs11")
    case.complete("Activity_0649vw3")
    assert case.states("Activity_1vdzcey", "Event_0t2z9gc") == {
        "Activity_1vdzcey": ["CANCELLED"], "Event_0t2z9gc": ["COMPLETED"]}
    assert case.ready() == ["Activity_0fxkugq"]
    case.complete("Activity_0fxkugq")
    assert case.completed
    data = case.data
    assert data["data_objects"] == {"approval_cnt": 2,
                                    "is_approval": {"approver1": True, "approver2": True, "approver3": False}}
    assert data["gateway_approval_cnt"] == 2
    ran(APPROVALS, case, "validation off")


SW = cc.SW
BTOT = f"{SW}/boundary_timer_on_task.bpmn"


@covers(BTOT)
def test_non_interrupting_timer_on_user_task():
    case = cc.CaseRun(cc.load_model(BTOT, "test_timer"))
    assert case.ready() == ["user_task"]
    case.wait_and_fire_timers(0.01)
    assert case.task_data("set_variable") == [{"timer_called": True}]
    assert case.ready() == ["user_task"]
    case.complete("user_task")
    assert case.completed and case.end_events() == ["final_end_event"]
    ran(BTOT, case)


BOUNDARY = f"{SW}/boundary.bpmn"


@covers(BOUNDARY)
def test_interrupting_timer_on_subprocess():
    case = cc.CaseRun(cc.load_model(BOUNDARY, "boundary_event"))
    case.complete("Activity_09c27ms")
    assert case.ready() == ["Activity_Pester_Dad"]
    case.wait_and_fire_timers(0.04)
    assert case.states("Subworkflow")["Subworkflow"] == ["CANCELLED"]
    assert case.run_manual_tasks() == ["Activity_1ya1db2", "StopCar"]
    assert case.completed
    ran(BOUNDARY, case, "timer fired")


@covers(BOUNDARY)
def test_interrupting_timer_on_subprocess_answered_in_time():
    case = cc.CaseRun(cc.load_model(BOUNDARY, "boundary_event"))
    case.complete("Activity_09c27ms")
    case.complete("Activity_Pester_Dad", {"answer": "Yes"})
    assert case.run_manual_tasks() == ["StopCar"]
    assert case.completed and case.data == {"answer": "Yes"}
    ran(BOUNDARY, case, "answered Yes")


TIMER = f"{SW}/timer.bpmn"


@covers(TIMER)
def test_intermediate_timer():
    started = time.monotonic()
    case = cc.CaseRun(cc.load_model(TIMER, "timer"))
    assert not case.completed and case.snapshot.next_timer_at is not None
    case.wait_and_fire_timers(max(0.0, 0.26 - (time.monotonic() - started)))
    assert case.completed
    assert 0.2 <= time.monotonic() - started < 1.0
    ran(TIMER, case)


NIT = f"{SW}/timer-non-interrupt-boundary.bpmn"


@covers(NIT)
def test_non_interrupting_timer_on_subprocess():
    case = cc.CaseRun(cc.load_model(NIT, "NonInterruptTimer"))
    assert case.ready() == ["Activity_Work"]
    case.wait_and_fire_timers(0.21)
    assert sorted(case.ready()) == ["Activity_Work", "GetReason"]
    case.complete("GetReason", {"delay_reason": "Just Because"})
    case.complete("Activity_Work", {"work_done": "Yes"})
    assert case.completed and case.data == {"work_done": "Yes", "delay_reason": "Just Because"}
    ran(NIT, case)


COLLAB = f"{SW}/collaboration.bpmn"


@covers(COLLAB)
def test_collaboration_message_round_trip():
    case = cc.CaseRun(cc.load_model(COLLAB, "process_buddy"), {"lover_name": "Peggy"})
    thrown = case.load().bpmn_events
    assert [event.event_definition.name for event in thrown] == ["Love Letter"]
    assert [w["message_name"] for w in case.snapshot.message_waits] == ["Love Letter Response"]
    payload = {"from_name": "Peggy", "other_nonsense": 1001}
    case.deliver("Love Letter Response", payload, {"lover": {"lover_name": "Peggy"}})
    assert case.completed and case.end_events() == ["Event_01h5zqa"]
    ran(COLLAB, case)
    # plain BPMN semantics (manifest, SpiffWorkflow's plain parser): the message carries the task
    # data and its correlation key, and the received payload is merged into the task data
    assert thrown[0].payload == {"lover_name": "Peggy"}
    assert thrown[0].correlations == {"lover": {"lover_name": "Peggy"}}
    assert case.data == {"lover_name": "Peggy", **payload}


@covers(COLLAB)
def test_collaboration_starts_only_executable_processes():
    model = cc.load_model(COLLAB, "my_collaboration")
    assert set(model.subprocess_specs) == {"process_buddy"}
    case = cc.CaseRun(model, {"lover_name": "Peggy"})
    assert [w["message_name"] for w in case.snapshot.message_waits] == ["Love Letter Response"]


CALL_END = f"{SW}/call_activity_end_event.bpmn"
CALL_ERR = f"{SW}/call_activity_with_error.bpmn"


@covers(CALL_END, cc.CALL_ACTIVITY_CALLEE)
def test_call_activity_passes_data_both_ways():
    case = cc.CaseRun(cc.load_model(CALL_END, "Process_8200379"))
    assert case.completed
    assert case.data == {"pre_var": "some string", "my_var": "World", "my_other_var": "Mike"}
    ran(CALL_END, case)
    RUN_REPORT[cc.CALL_ACTIVITY_CALLEE].append("ran as callee of call_activity_end_event.bpmn")


@covers(CALL_ERR, cc.CALL_ACTIVITY_CALLEE)
def test_call_activity_script_error_names_the_callee_task():
    with pytest.raises(WorkflowError) as info:
        cc.CaseRun(cc.load_model(CALL_ERR, "ErroringBPMN"))
    err = info.value
    assert err.element == "Sub_Bpmn_Task"
    assert "remove_this_var" in str(err) and "Create Data" in str(err)
    RUN_REPORT[CALL_ERR].append("refused at run time (as the manifest expects): " + cc.one_line(err))


INCLUSIVE = f"{SW}/inclusive_gateway.bpmn"


@covers(INCLUSIVE)
@pytest.mark.parametrize("data, end", [
    ({"v": -1, "u": -1, "w": -1}, {"v": 0, "u": -1, "w": -1}),
    ({"v": 0, "u": 1, "w": 1}, {"v": 0, "u": 1, "w": 1}),
], ids=["default-only", "both-conditions"])
def test_inclusive_gateway(data, end):
    case = cc.CaseRun(cc.load_model(INCLUSIVE, "main"))
    case.complete("set_data", data)
    assert case.completed and case.data == end
    ran(INCLUSIVE, case, str(data))


@covers(INCLUSIVE)
def test_inclusive_gateway_without_matching_flow_is_an_error():
    case = cc.CaseRun(cc.load_model(INCLUSIVE, "main"))
    with pytest.raises(WorkflowError) as info:
        case.complete("set_data", {"v": 0, "u": -1, "w": -1})
    assert info.value.element == "second" and "no conditions" in norm(info.value)
    assert case.ready() == ["set_data"]  # the stored state is unchanged
    RUN_REPORT[INCLUSIVE].append("refused (as expected) when no flow of 'second' matches: "
                                 + cc.one_line(info.value))


PMI = f"{SW}/parallel_multiinstance_loop_input.bpmn"


@covers(PMI)
@pytest.mark.parametrize("input_data, output_data", [
    ([1, 2, 3], [2, 4, 6]), ({"a": 1, "b": 2, "c": 3}, {"a": 2, "b": 4, "c": 6}), ([], []),
], ids=["list", "dict", "empty"])
def test_parallel_multi_instance_loop_input(input_data, output_data):
    case = cc.CaseRun(cc.load_model(PMI, "main"), {"input_data": input_data})
    assert len(case.ready()) == len(input_data)  # all instances READY at once
    case.complete_each("any_task", lambda _i, data: {"output_item": data["input_item"] * 2})
    assert case.completed and case.data == {"input_data": input_data, "output_data": output_data}
    ran(PMI, case, f"input {input_data!r}")


SMI = f"{SW}/sequential_multiinstance_cardinality.bpmn"


@covers(SMI)
def test_sequential_multi_instance_cardinality():
    case = cc.CaseRun(cc.load_model(SMI, "main"))
    items = []
    while case.ready():
        (task,) = case.snapshot.open_tasks
        items.append(task.data["input_item"])
        case.complete("any_task", {"output_item": task.data["input_item"] * 2})
    assert items == [0, 1, 2]
    assert case.completed and case.data == {"output_data": [0, 2, 4]}
    ran(SMI, case)


LOOP = f"{SW}/standard_loop.bpmn"


@covers(LOOP)
@pytest.mark.parametrize("start_done, set_done, rounds", [(False, False, 3), (False, True, 1), (True, False, 0)],
                         ids=["loop-maximum", "done-in-round-1", "skipped"])
def test_standard_loop(start_done, set_done, rounds):
    case = cc.CaseRun(cc.load_model(LOOP, "main"), {"done": start_done})
    done = 0
    while case.ready():
        case.complete(case.ready()[0], {"done": True} if set_done else {})
        done += 1
    assert done == rounds and case.completed
    ran(LOOP, case, f"{rounds} rounds")


EVENT_GW = f"{SW}/event-gateway.bpmn"


@covers(EVENT_GW)
def test_event_based_gateway_message():
    case = cc.CaseRun(cc.load_model(EVENT_GW, "Process_0pvx19v"))
    case.send_to_waiting("Gateway_1434v9l", "message_1")
    assert case.completed and case.end_events() == ["message_1_end"]
    assert case.states("message_1_event", "message_2_event", "timer_event") == {
        "message_1_event": ["COMPLETED"], "message_2_event": [], "timer_event": []}
    ran(EVENT_GW, case, "message_1")


@covers(EVENT_GW)
def test_event_based_gateway_timer():
    case = cc.CaseRun(cc.load_model(EVENT_GW, "Process_0pvx19v"))
    case.wait_and_fire_timers(1.0)
    assert case.completed and case.end_events() == ["timer"]
    ran(EVENT_GW, case, "timer")


EVENT_SUB = f"{SW}/event-subprocess.bpmn"


@covers(EVENT_SUB)
def test_event_subprocess_started_by_signal():
    case = cc.CaseRun(cc.load_model(EVENT_SUB, "main"))
    case.complete("set_data", {"v1": True, "v2": False})
    assert case.ready() == ["task"]
    assert case.snapshot.open_tasks[0].data == {"v1": True, "v2": False}
    case.complete("task")
    assert case.completed
    ran(EVENT_SUB, case)


TX = f"{SW}/transaction.bpmn"
TX_BOUNDARIES = ("Activity_Print_Data", "Cancel_Action", "Catch_Error_1", "Catch_Error_None", "Catch_Cancel_Event")


@covers(TX)
@pytest.mark.parametrize("value, quantity, completed", [
    ("asdf", 2, {"Activity_Print_Data"}),
    ("", None, {"Cancel_Action", "Catch_Cancel_Event"}),
    ("asdf", 0, {"Catch_Error_None"}),
    # SpiffWorkflow fires both the specific and the catch-all error boundary (see the manifest)
    ("asdf", -1, {"Catch_Error_1", "Catch_Error_None"}),
], ids=["normal", "cancel", "error-none", "error-1"])
def test_transaction_subprocess(value, quantity, completed):
    case = cc.CaseRun(cc.load_model(TX, "Main_Process"))
    case.complete("Activity_Get_Data", {"value": value})
    if quantity is not None:
        case.complete("Activity_Get_Quantity", {"quantity": quantity})
    assert case.completed
    states = case.states(*TX_BOUNDARIES)
    assert {element for element, found in states.items() if "COMPLETED" in found} == completed
    if value == "":
        assert "value" not in case.data
    ran(TX, case, f"value={value!r} quantity={quantity}")


PARALLEL = f"{SW}/Test-Workflows/Parallel.camunda.bpmn20.xml"


@covers(PARALLEL)
def test_parallel_gateway():
    case = cc.CaseRun(cc.load_model(PARALLEL, "Process_1hb021r"))
    case.complete("Task_0rpy9wa")
    branches = case.snapshot.open_tasks
    assert [t.name for t in branches] == ["Parallel Task A", "Parallel Task B", "Parallel Task C"]
    for task, key in zip(branches, ("taskA", "taskB", "taskC")):
        assert "Task_1liod5x" not in case.ready()  # the join waits for all three
        case.complete(task.element_id, {key: key}, task_id=task.id)
    (last,) = case.snapshot.open_tasks
    assert last.name == "Last Task" and last.data == {"taskA": "taskA", "taskB": "taskB", "taskC": "taskC"}
    case.complete(last.element_id)
    assert case.completed
    ran(PARALLEL, case)


CORRELATION = "SpiffWorkflow/spiff/data/correlation.bpmn"


@covers(CORRELATION)
def test_correlation_between_multi_instance_and_message_started_processes():
    case = cc.CaseRun(cc.load_model(CORRELATION))
    assert case.complete_each("configure", lambda i, _d: {"task_num": i, "task_name": f"subprocess {i}"}) == 2
    responses = case.open_tasks("prepare_response")
    assert sorted(t.data["source_task"]["num"] for t in responses) == [0, 1]
    for task in responses:
        case.complete("prepare_response", {"response": "OK" if task.data["source_task"]["num"] else "No"},
                      task_id=task.id)
    assert case.completed
    ends = case.task_data("subprocess_end")
    assert len(ends) == 2
    for data in ends:
        assert data["response"] == {"init_id": data["task_num"], "response": "OK" if data["task_num"] else "No"}
    ran(CORRELATION, case)


PAYLOAD_EVENTS = ["SpiffWorkflow/spiff/data/error_event_payload.bpmn",
                  "SpiffWorkflow/spiff/data/escalation_event_payload.bpmn"]


@covers(*PAYLOAD_EVENTS)
@pytest.mark.parametrize("rel", PAYLOAD_EVENTS, ids=["error", "escalation"])
@pytest.mark.parametrize("thrown", [True, False], ids=["thrown", "not-thrown"])
def test_event_payload_caught_by_boundary(rel, thrown):
    key = "error" if "error_" in rel else "escalation"
    case = cc.CaseRun(cc.load_model(rel, "event_test"))
    case.complete("set_data", {key: thrown, "payload": "ERROR!"})
    assert case.completed
    if thrown:
        assert case.states("catch")["catch"] == ["COMPLETED"]
        assert case.data == {"result": "ERROR!"}  # subprocess variables do not leak
    else:
        assert "Event_1n1i393" in case.end_events()
        assert case.data == {key: False, "payload": "ERROR!"}
    ran(rel, case, f"{key} {'thrown' if thrown else 'not thrown'}")


BRT = "SpiffWorkflow/spiff/data/business_rule_task.bpmn"


@covers(BRT, "SpiffWorkflow/spiff/data/dmn/business_rules.dmn")
def test_business_rule_task():
    case = cc.CaseRun(cc.load_model(BRT, "Process_bd2e724"))
    assert case.completed and case.data == {"question": "X", "answer": "Y"}
    ran(BRT, case)
    RUN_REPORT["SpiffWorkflow/spiff/data/dmn/business_rules.dmn"].append("evaluated by business_rule_task.bpmn")


XOR_DMN = "SpiffWorkflow/camunda/data/ExclusiveGatewayIfElseAndDecision.bpmn"


@covers(XOR_DMN, "SpiffWorkflow/camunda/data/dmn/test_integer_decision.dmn")
@pytest.mark.parametrize("x, end, y", [
    (1, "EndEvent_0ofyivj", None), (2, "EndEvent_01jecqa", None), (3, "EndEvent_0n32cxd", "A"),
    (4, "EndEvent_0n32cxd", "B"), (5, "EndEvent_0n32cxd", "C"), (6, "EndEvent_0n32cxd", "D"),
])
def test_exclusive_gateway_else_and_decision(x, end, y):
    case = cc.CaseRun(cc.load_model(XOR_DMN, "Process_1"), {"x": x})
    assert case.completed and case.end_events() == [end]
    assert case.data == ({"x": x} if y is None else {"x": x, "y": y})
    ran(XOR_DMN, case, f"x={x}")
    if y:
        RUN_REPORT["SpiffWorkflow/camunda/data/dmn/test_integer_decision.dmn"].append(f"evaluated x={x} -> {y}")


REVIEW = "camunda-bpm-platform/invoice/reviewInvoice.bpmn"


@covers(REVIEW)
def test_review_invoice_callee_alone():
    """The invoice's called process, alone (the invoice itself is refused: data store, DRG DMN)."""
    case = cc.CaseRun(cc.load_model(REVIEW, "ReviewInvoice"))
    case.complete("assignReviewer", {"reviewer": "peter"})
    case.complete("reviewInvoice", {"clarified": False})
    assert case.completed and case.data == {"reviewer": "peter", "clarified": False}
    ran(REVIEW, case, "unhappy path of the invoice, called process only")


# -- DMN tables evaluated on their own ----------------------------------------------------------

@covers("SpiffWorkflow/dmn/data/collect_hit.dmn")
def test_collect_hit_policy():
    rel = "SpiffWorkflow/dmn/data/collect_hit.dmn"
    (decision,) = cc.build_parser(cc.model_files(rel)).dmn_parsers
    assert cc.decide(rel, decision, {"type": "stooge"}) == {
        "name": ["Larry", "Mo", "Curly", "Shemp"], "result": [1, 2, 3, 4]}
    assert cc.decide(rel, decision, {"type": "farmer"}) == {"name": ["Elmer Fudd"], "result": [5]}
    RUN_REPORT[rel].append("evaluated: COLLECT gives 4 stooges / 1 farmer")


@covers("sample-process-models/workflow_one/wonderful.dmn")
def test_wonderful_dmn_alone():
    rel = "sample-process-models/workflow_one/wonderful.dmn"
    assert cc.decide(rel, "wonderful", {"person": "Kevin"}) == {"wonderfulness": "Very wonderful"}
    RUN_REPORT[rel].append("evaluated: Kevin -> Very wonderful")


@covers("sample-process-models/submit-invoice/check-amounts.dmn")
def test_check_amounts_dmn_alone():
    rel = "sample-process-models/submit-invoice/check-amounts.dmn"
    decision = "Check_Amount_Documentation_Submit_Invoice"
    assert cc.decide(rel, decision, {"annual_salary": 1200, "invoiceAmount": 100}) == {"isMatch": True}
    assert cc.decide(rel, decision, {"annual_salary": 1200, "invoiceAmount": 50}) == {"isMatch": False}
    RUN_REPORT[rel].append("evaluated: salary/12 == amount -> isMatch")


# =============================================================================================
# 3. what Sagsgang does not support is refused clearly, at parse time or at run time
# =============================================================================================

ISSUES = {
    "reason-dropped": (
        "advance._wrap looks for the cause in `err.exception`, which SpiffWorkflow 3.2's "
        "WorkflowTaskException does not keep for expression errors (it only sets error_type); the "
        "real reason (SandboxViolation, SyntaxError, NameError) sits in __context__ and is dropped, so "
        "the owner reads only \"Error evaluating expression '...'\"; fix: in _wrap also walk "
        "__cause__/__context__ to the innermost non-SpiffWorkflow exception and append "
        "'(<class>: <message>)'; ideally refuse JUEL/FEEL/cron/unquoted ISO timer expressions at parse time"),
    "service-operator": (
        "a spiffworkflow:serviceTaskOperator task fails with 'SandboxViolation: service tasks are run by "
        "workers, not in scripts', which names neither the operator (aws/AddDynamoItem) nor what to do, "
        "while no worker exists that would run it; fix: raise WorkflowError(\"no connector for service "
        "operator 'aws/AddDynamoItem'\", element=...) from SandboxedScriptEngine.call_service, or "
        "refuse unknown operators at publish time"),
    "silent-stall": (
        "the case stops with no open task, no timer and no message wait, and is not completed: nothing "
        "can ever move it and advance() says nothing; fix: after do_engine_steps, if the workflow is not "
        "completed and has no READY manual task and no WAITING timer/message, raise WorkflowError naming "
        "the STARTED/WAITING element(s) (here a Camunda serviceTask with camunda:expression/class is left "
        "STARTED; better still, refuse camunda:expression/class/delegateExpression service tasks at parse time)"),
    "event-gateway-snapshot": (
        "runtime.snapshot only looks at WAITING tasks whose event_definition is a Timer/Message definition; "
        "an event-based gateway waits with a MultipleEventDefinition, so the case gets no message "
        "subscription and no next_timer_at (its timer never fires, its messages are 'not awaited'), and "
        "deliver_message's BpmnEvent(MultipleEventDefinition) is not accepted; fix: expand "
        "MultipleEventDefinition.event_definitions in snapshot and deliver with the matching definition"),
    "subprocess-correlation": (
        "runtime.snapshot gives every message wait `task.workflow.top_workflow.correlations`, i.e. all of "
        "the top process's correlation keys, not the keys of the awaited message and not those of the "
        "subprocess it waits in (SpiffWorkflow correlates on task.workflow.correlations); the reply to a "
        "conversation started in a subprocess is never matched; fix: use task.workflow.correlations "
        "restricted to the keys of definition.correlation_properties, and match deliveries by those keys"),
}


@dataclass(frozen=True)
class Refusal:
    id: str
    rel: str
    process: str
    element: str
    words: tuple[str, ...]          # the unsupported thing the message must name
    steps: tuple = ()               # (element, data) completed before the refusing step
    start: dict | None = None
    validate: bool = True
    issue: str | None = None        # known shortcoming of the message
    wanted: tuple[str, ...] = ()    # words a clear message would carry (missing -> issue)


JOB = f"{cc.JOB}/camunda-testing-job-announcement.bpmn"
REFUSALS = [
    Refusal("vars-globals-in-condition", f"{SW}/Test-Workflows/CallActivity-Escalation-Test.bpmn20.xml",
            "CallActivity-Escalation-Test", "ExclusiveGateway_0faf08n", ("vars()",), start={"should_escalate": True},
            issue="reason-dropped", wanted=("not allowed",)),
    Refusal("juel-condition", JOB, "camunda-testing-job-announcement", "Gateway_0o79ay3", ("#{approved}",),
            steps=(("edit", {}), ("review", {"approved": True})), start={"jobAnnouncementId": 1}, issue="reason-dropped", wanted=("syntax",)),
    Refusal("unquoted-iso-cycle", f"{cc.MIWG}/C.9.1.bpmn", "requestDocument_en", "BoundaryEvent_1",
            ("R6/P1D",), issue="reason-dropped", wanted=("not defined",)),
    Refusal("unquoted-unbounded-cycle", "sample-process-models/from-discord/diagram_1.bpmn", "Process_1x1q5m5",
            "Event_1vhjqne", ("R/P1H",), issue="reason-dropped", wanted=("not defined",)),
    Refusal("spiffarena-function", "sample-process-models/workflow_one/sample.bpmn", "sample",
            "Activity_0pxf6g1", ("get_current_user", "not defined")),
]


def _refusal_model(refusal: Refusal):
    return cc.load_model(refusal.rel, refusal.process, validate=refusal.validate)


@covers(*{r.rel for r in REFUSALS}, f"{SW}/Test-Workflows/CallActivity-Escalation-Test-Sub.bpmn20.xml")
@pytest.mark.parametrize("refusal", REFUSALS, ids=[r.id for r in REFUSALS])
def test_unsupported_is_refused_at_run_time(refusal):
    model = _refusal_model(refusal)
    case = step = None
    with pytest.raises(WorkflowError) as info:
        case = cc.CaseRun(model, refusal.start)
        for step, data in refusal.steps:
            case.complete(step, data)
    if case is not None:  # refused while completing `step`: the saved state is the one before it
        assert step in case.ready(), "a refused step must leave the stored state unchanged"
    err = info.value
    message = str(err)
    RUN_REPORT[refusal.rel].append(f"refused at run time at {err.element}: {cc.one_line(message)}")
    assert err.element == refusal.element and refusal.element in message, message
    missing = [w for w in refusal.words if w.lower() not in message.lower()]
    assert not missing, f"message does not name {missing}: {message}"
    assert cc.unclear(message) is None, message
    if refusal.issue:
        known_issue(all(w.lower() in message.lower() for w in refusal.wanted), ISSUES[refusal.issue], refusal.rel)


@covers("sample-process-models/submit-invoice/submit-invoice1.bpmn")
def test_service_connector_waits_for_a_worker_with_its_operator():
    """Service tasks are run by workers (engine/runtime/service_tasks.py): the case waits at the
    task, its operator and parameters recorded; an operator no handler serves becomes an
    incident on the case when a worker tries it (engine/services/service_tasks.py)."""
    rel = "sample-process-models/submit-invoice/submit-invoice1.bpmn"
    case = cc.CaseRun(cc.load_model(rel, "Proccess_submit_invoice_1"), {})
    case.complete("Activity_0yes9h3", {"contributorName": "Ann", "contributorId": 12, "invoiceId": 1234,
                                       "invoiceAmount": 100.0, "invoiceCurrency": "Euro (EUR)",
                                       "dueDate": "2026-12-01"})
    calls = pending_calls(case.load())
    assert [(c.element_id, c.operator) for c in calls] == [("Activity_1hdxh4e", "aws/AddDynamoItem")]
    RUN_REPORT[rel].append("waits for a worker at Activity_1hdxh4e (operator aws/AddDynamoItem)")


@covers("camunda-bpm-examples/order-handling/order-handling.bpmn")
def test_cron_timer_start_is_refused_by_the_schedule():
    """A timer start event is the case type's schedule (engine/services/schedules.py); a Quartz
    cron expression is refused there, naming the start event and the expression."""
    rel = "camunda-bpm-examples/order-handling/order-handling.bpmn"
    model = cc.load_model(rel, "Order_Process")
    [start] = timer_start_events(model.spec)
    with pytest.raises(ModelError) as info:
        schedule_first_run(start, SandboxedScriptEngine(), datetime.now(timezone.utc))
    assert info.value.element == "StartEvent_1"
    assert "0/5 0/1 * 1/1 * ?" in str(info.value) and "SyntaxError" in str(info.value)
    RUN_REPORT[rel].append(f"schedule refused: {cc.one_line(str(info.value))}")


def test_bare_except_in_a_script_runs_as_except_exception():
    """The sandbox reads a bare `except:` as `except Exception:` (so the time limit cannot be
    swallowed); the model, XSD-invalid upstream, then runs with validation off."""
    model = cc.load_model("sample-process-models/manual-task-with-subprocesses/manual_task_with_subprocesses.bpmn",
                          "top_level_process", validate=False)
    case = cc.CaseRun(model, {})
    for step in ("top_level_manual_task_one", "top_level_manual_task_two"):
        case.complete(step, {})
    workflow = case.load()
    # The subprocess script ran: its try/except set `we_move_on` (False: the variable it probes
    # is only set by the called process, which is another file).
    data = [t.data for t in workflow.get_tasks() if "we_move_on" in t.data]
    assert data and data[-1]["we_move_on"] is False
    RUN_REPORT["sample-process-models/manual-task-with-subprocesses/manual_task_with_subprocesses.bpmn"].append(
        "ran past its bare-except script with validation off")


def test_vars_and_globals_are_refused_by_the_sandbox():
    refusal = REFUSALS[0]
    for start in ({"should_escalate": True}, {"should_escalate": False}, {}):
        with pytest.raises(WorkflowError) as info:
            cc.CaseRun(_refusal_model(refusal), start)
        assert isinstance(cc.root_cause(info.value), SandboxViolation)
        assert "vars" in str(cc.root_cause(info.value))


MESSAGES = "sample-process-models/message-sender-receivers"


@covers(f"{MESSAGES}/message_sender.bpmn", f"{MESSAGES}/message_receiver_one.bpmn",
        f"{MESSAGES}/message_receiver_two.bpmn")
def test_message_sender_and_receivers_report_stale_dot_access():
    """The sender runs (time.time() in the sandbox) and emits both messages; each receiver, started
    by its message, fails clearly on the stale `payload.attribute` access to a dict."""
    sender = cc.CaseRun(cc.load_model(f"{MESSAGES}/message_sender.bpmn", "message_send_process"))
    messages = {event.event_definition.name: event for event in sender.load().bpmn_events}
    assert set(messages) == {"Message Send One", "Message Send Two"}
    assert messages["Message Send One"].payload["initial_var_one"] == 3
    assert messages["Message Send Two"].payload["initial_var_two"] == 5
    assert messages["Message Send One"].payload["topica_one"].startswith("topic_one_a_conversation_")
    RUN_REPORT[f"{MESSAGES}/message_sender.bpmn"].append(
        "ran: emitted 'Message Send One' and 'Message Send Two', waits for the replies")
    for suffix, number in (("one", "One"), ("two", "Two")):
        rel = f"{MESSAGES}/message_receiver_{suffix}.bpmn"
        receiver = cc.CaseRun(cc.load_model(rel, f"message_receiver_process_{suffix}"))
        assert [w["message_name"] for w in receiver.snapshot.message_waits] == [f"Message Send {number}"]
        event = messages[f"Message Send {number}"]
        with pytest.raises(WorkflowError) as info:
            receiver.deliver(f"Message Send {number}", event.payload, event.correlations)
        assert info.value.element == "add_numbers"
        assert f"'dict' object has no attribute 'initial_var_{suffix}'" in str(info.value)
        RUN_REPORT[rel].append("refused at run time at add_numbers: " + cc.one_line(info.value))


@covers(f"{cc.JOB}/camunda-testing-job-announcement-publication.bpmn")
def test_camunda_java_bean_service_task_is_refused():
    rel = f"{cc.JOB}/camunda-testing-job-announcement-publication.bpmn"
    model = cc.load_model(rel, "camunda-testing-job-announcement-publication")
    try:
        case = cc.CaseRun(model, {"jobAnnouncementId": 1, "twitter": True, "facebook": True})
    except WorkflowError as err:  # what a fixed engine does
        assert err.element == "publish_announcement_website"
        RUN_REPORT[rel].append("refused at run time: " + cc.one_line(err))
        return
    assert not case.completed
    RUN_REPORT[rel].append("STALLED at publish_announcement_website (camunda:expression bean call)")
    known_issue(not case.stalled(), ISSUES["silent-stall"], rel)


# =============================================================================================
# engine findings the manifest asks about (stuck instances, message waits)
# =============================================================================================

@covers(NIT)
def test_stuck_parallel_join_is_reported():
    """Manifest trap: work_done='Yes' before the timer fires cancels the timer branch, and the
    parallel join Gateway_19fdoel waits forever; the engine should say so."""
    case = cc.CaseRun(cc.load_model(NIT, "NonInterruptTimer"))
    try:
        case.complete("Activity_Work", {"work_done": "Yes"})
    except WorkflowError as err:  # what a fixed engine does
        assert "Gateway_19fdoel" in str(err)
        return
    assert not case.completed
    known_issue(not case.stalled(), ISSUES["silent-stall"], NIT)


@covers(EVENT_GW)
def test_event_based_gateway_waits_are_indexed():
    case = cc.CaseRun(cc.load_model(EVENT_GW, "Process_0pvx19v"))
    shot = case.snapshot
    known_issue(shot.next_timer_at is not None
                and {w["message_name"] for w in shot.message_waits} == {"message_1", "message_2"},
                ISSUES["event-gateway-snapshot"], EVENT_GW)


@covers(f"{MESSAGES}/message_sender.bpmn")
def test_message_waits_carry_their_own_correlation_keys():
    sender = cc.CaseRun(cc.load_model(f"{MESSAGES}/message_sender.bpmn", "message_send_process"))
    sent = {event.event_definition.name: event.correlations for event in sender.load().bpmn_events}
    waits = {w["message_name"]: w["correlations"] for w in sender.snapshot.message_waits}
    assert "Message Response Two" in waits  # inside the subprocess "Do Message Two"
    known_issue(waits["Message Response Two"] == sent["Message Send Two"], ISSUES["subprocess-correlation"],
                f"{MESSAGES}/message_sender.bpmn")


# =============================================================================================
# coverage of the manifest's run rows, and the report
# =============================================================================================

def test_every_run_row_has_a_scenario():
    """Each file the manifest wants run/evaluated is run, refused at run time, or rejected at load."""
    uncovered = [rel for rel, row in cc.EXPECTED.items()
                 if row.manifest in ("run", "evaluate") and row.kind != cc.REJECTED and rel not in COVERED]
    assert not uncovered, f"run rows without a scenario: {uncovered}"


def test_report_covers_every_file():
    """`pytest -s` prints one line per corpus file: parse outcome, then run outcomes."""
    files = cc.corpus_model_files()
    lines = []
    for rel in files:
        parsed = PARSE_REPORT.get(rel) or cc.parse_outcome(rel).summary()
        runs = list(dict.fromkeys(RUN_REPORT.get(rel, [])))
        lines.append(f"{rel}\n    {parsed}" + "".join(f"\n    {run}" for run in runs))
    counts = defaultdict(int)
    for rel in files:
        counts[rel.rsplit(".", 1)[-1].lower()] += 1
    print(f"\n==== corpus report: {len(files)} model files under {CORPUS} ({dict(counts)}), "
          f"{time.monotonic() - MODULE_START:.1f} s ====")
    print("\n".join(lines))
    n_models = sum(1 for path in CORPUS.rglob("*") if cc.is_model_file(path))
    assert len(lines) == n_models == len(cc.EXPECTED)
