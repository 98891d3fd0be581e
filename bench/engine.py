"""Benchmark: the same small process, bare SpiffWorkflow in memory versus Sagsgang persisted.

    python bench/engine.py [--cases 2000] [--rounds 10] [--database-url sqlite:///...]

Process (both runs): start → task → gateway → task → call of the GDPR review block → end. The
review block here is a bare start → end process so that both runs execute the same BPMN; Sagsgang
cannot close a case without a completed review call, and bare SpiffWorkflow runs it too.

(a) bare: BpmnWorkflow with SpiffWorkflow's own script engine, no storage.
(b) Sagsgang: open_case + complete_task + complete_task through the services, each one unit of
    work committed to SQLite (journal, task index, state), sandboxed script engine.
(c) as (b) with the in-process workflow cache off: every action rebuilds the workflow from JSON.

(d) the storage floor: the same statements per unit of work (read actor, read task+case, insert
    case/task/journal rows, update the case under its version check, commit) on a bare sqlite3
    connection, no SpiffWorkflow, no SQLAlchemy. It bounds what any persisted design can reach.

Prints cases/s for each and the ratios against (a), measured in the same run, then the CPU time
this process spent per case in each (SQLite runs in-process, so (b) includes its work). The four
runs take turns in --rounds rounds, so noise from neighbours on a shared machine hits them alike;
the last line gives the spread of the per-round wall ratio.
"""
from __future__ import annotations

import argparse
import os
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from SpiffWorkflow.bpmn.workflow import BpmnWorkflow  # noqa: E402
from SpiffWorkflow.util.task import TaskState  # noqa: E402

from engine.context import EngineContext  # noqa: E402
from engine.db import Database  # noqa: E402
from engine.models import create_schema  # noqa: E402
from engine.runtime.parsing import parse_model  # noqa: E402
from engine.services import cases  # noqa: E402
from engine.services.case_types import install_case_type  # noqa: E402
from engine.services.org import load_organisation  # noqa: E402
from engine.settings import Settings  # noqa: E402

NS = ('xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
      'xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core"')

PROCESS = f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions {NS} id="Defs_bench" targetNamespace="http://sagsgang.dk/bench">
  <bpmn:process id="bench" isExecutable="true">
    <bpmn:startEvent id="StartEvent"><bpmn:outgoing>F1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:userTask id="Task_Register" name="Registrér"><bpmn:incoming>F1</bpmn:incoming><bpmn:outgoing>F2</bpmn:outgoing></bpmn:userTask>
    <bpmn:exclusiveGateway id="Gateway_Approved" default="F_No"><bpmn:incoming>F2</bpmn:incoming><bpmn:outgoing>F_Yes</bpmn:outgoing><bpmn:outgoing>F_No</bpmn:outgoing></bpmn:exclusiveGateway>
    <bpmn:userTask id="Task_Decide" name="Afgør"><bpmn:incoming>F_Yes</bpmn:incoming><bpmn:incoming>F_No</bpmn:incoming><bpmn:outgoing>F3</bpmn:outgoing></bpmn:userTask>
    <bpmn:callActivity id="Call_GdprReview" calledElement="gdpr_review"><bpmn:incoming>F3</bpmn:incoming><bpmn:outgoing>F4</bpmn:outgoing></bpmn:callActivity>
    <bpmn:endEvent id="EndEvent"><bpmn:incoming>F4</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="F1" sourceRef="StartEvent" targetRef="Task_Register"/>
    <bpmn:sequenceFlow id="F2" sourceRef="Task_Register" targetRef="Gateway_Approved"/>
    <bpmn:sequenceFlow id="F_Yes" sourceRef="Gateway_Approved" targetRef="Task_Decide"><bpmn:conditionExpression>approved == True</bpmn:conditionExpression></bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="F_No" sourceRef="Gateway_Approved" targetRef="Task_Decide"/>
    <bpmn:sequenceFlow id="F3" sourceRef="Task_Decide" targetRef="Call_GdprReview"/>
    <bpmn:sequenceFlow id="F4" sourceRef="Call_GdprReview" targetRef="EndEvent"/>
  </bpmn:process>
</bpmn:definitions>
""".encode()

REVIEW = f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions {NS} id="Defs_review" targetNamespace="http://sagsgang.dk/bench">
  <bpmn:process id="gdpr_review" isExecutable="true">
    <bpmn:startEvent id="ReviewStart"><bpmn:outgoing>R1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:endEvent id="ReviewEnd"><bpmn:incoming>R1</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="R1" sourceRef="ReviewStart" targetRef="ReviewEnd"/>
  </bpmn:process>
</bpmn:definitions>
""".encode()

FILES = {"bench.bpmn": PROCESS, "shared/gdpr_review.bpmn": REVIEW}


def run_bare(n: int) -> float:
    model = parse_model(FILES, "bench")
    started = time.perf_counter()
    for i in range(n):
        workflow = BpmnWorkflow(model.spec, model.subprocess_specs)
        workflow.do_engine_steps()
        for data in ({"approved": i % 2 == 0}, {"decision": "granted"}):
            task = workflow.get_next_task(state=TaskState.READY, manual=True)
            task.set_data(**data)
            task.run()
            workflow.do_engine_steps()
        assert workflow.is_completed()
    return n / (time.perf_counter() - started)


def make_context(url: str, cache: bool) -> EngineContext:
    settings = Settings.from_env({"SAGSGANG_INSTANCE_PATH": tempfile.mkdtemp()},
                                 workflow_cache_size=1024 if cache else 0)
    database = Database(url)
    create_schema(database.engine)
    ctx = EngineContext(settings, database)
    with ctx.unit_of_work() as uow:
        load_organisation(uow, {"groups": [{"key": "bench", "name": "Bench"}],
                                "users": [{"username": "bench", "name": "Bench", "groups": ["bench"]}]})
    with ctx.unit_of_work() as uow:
        install_case_type(uow, {"key": "bench", "name": "Bench", "prefix": "BEN", "kle_number": "00.00.00",
                                "handlingsfacet": "G01", "deletion_rule": "P1825D",
                                "personal_data_category": "none", "process_id": "bench", "lanes": {}},
                          FILES, "bench")
    return ctx


def run_sagsgang(ctx: EngineContext, n: int) -> float:
    started = time.perf_counter()
    for i in range(n):
        with ctx.unit_of_work() as uow:
            opened = cases.open_case(uow, "bench", "bench", f"Sag {i}")
        task_id = opened["open_tasks"][0]["id"]
        with ctx.unit_of_work() as uow:
            result = cases.complete_task(uow, task_id, "bench", {"approved": i % 2 == 0})
        with ctx.unit_of_work() as uow:
            result = cases.complete_task(uow, result["open_tasks"][0]["id"], "bench", {"decision": "granted"})
        assert result["status"] == "closed", result
    return n / (time.perf_counter() - started)


def run_storage_floor(path: Path, n: int, blob_size: int = 3100) -> float:
    """Three committed units of work per case with Sagsgang's statements, on raw sqlite3."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.executescript("""
        create table if not exists users(id integer primary key, username text unique);
        create table if not exists cases(id integer primary key, number text unique, state text, row_version int,
                                         journal_seq int, journal_head text);
        create table if not exists tasks(id text primary key, case_id int, state text, name text);
        create table if not exists journal(id integer primary key, case_id int, seq int, data text, hash text,
                                           unique(case_id, seq));
        insert or ignore into users(username) values ('bench');""")
    first = conn.execute("select count(*) from cases").fetchone()[0]  # later rounds go on numbering
    blob = "x" * blob_size
    started = time.perf_counter()
    for i in range(first, first + n):
        for step in range(3):
            conn.execute("BEGIN IMMEDIATE")
            conn.execute("select id from users where username = ?", ("bench",)).fetchone()
            if step == 0:
                case_id = conn.execute("insert into cases(number, state, row_version, journal_seq, journal_head)"
                                       " values (?, null, 1, 0, '') returning id", (f"BEN-{i}",)).fetchone()[0]
            else:
                conn.execute("select t.state, c.row_version from tasks t join cases c on c.id = t.case_id"
                             " where t.id = ?", (f"{i}-{step - 1}",)).fetchone()
                conn.execute("update tasks set state = 'completed' where id = ?", (f"{i}-{step - 1}",))
            conn.execute("insert into tasks values (?, ?, 'open', 'x')", (f"{i}-{step}", case_id))
            conn.executemany("insert into journal(case_id, seq, data, hash) values (?, ?, '{}', 'h')",
                             [(case_id, 2 * step + 1), (case_id, 2 * step + 2)])
            conn.execute("update cases set state = ?, row_version = row_version + 1 where id = ? and row_version = ?",
                         (blob, case_id, step + 1))
            conn.execute("COMMIT")
    conn.close()
    return n / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=10,
                        help="the runs take turns in this many rounds of cases/rounds each (default 10)")
    parser.add_argument("--database-url", default=None, help="default: a fresh SQLite file")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="sagsgang-bench-"))
    url_warm = args.database_url or f"sqlite:///{workdir / 'warm.sqlite3'}"
    url_cold = args.database_url or f"sqlite:///{workdir / 'cold.sqlite3'}"
    warm, cold = make_context(url_warm, cache=True), make_context(url_cold, cache=False)
    run_bare(50), run_sagsgang(warm, 20), run_sagsgang(cold, 20)  # warm-up: imports, caches, pools
    # The runs take turns, so a neighbour's burst on a shared machine slows all of them alike
    # instead of whichever ran during it (bare alone moved 1.2-2.0 ms a case between runs).
    runs = {"a": (run_bare,), "b": (run_sagsgang, warm), "c": (run_sagsgang, cold),
            "d": (run_storage_floor, workdir / "floor.sqlite3")}
    per_round = max(1, args.cases // args.rounds)
    wall = dict.fromkeys(runs, 0.0)
    cpu_seconds = dict.fromkeys(runs, 0.0)
    round_ratios = []
    for _ in range(args.rounds):
        this_round = {}
        for label, (run, *run_args) in runs.items():
            started_cpu, started = time.process_time(), time.perf_counter()
            run(*run_args, per_round)
            this_round[label] = time.perf_counter() - started
            wall[label] += this_round[label]
            cpu_seconds[label] += time.process_time() - started_cpu
        round_ratios.append(this_round["b"] / this_round["a"])
    cases_run = per_round * args.rounds
    bare, persisted, uncached, floor = (cases_run / wall[label] for label in "abcd")
    cpu = {label: seconds / cases_run * 1e6 for label, seconds in cpu_seconds.items()}
    round_ratios.sort()
    print(f"cases: {cases_run} in {args.rounds} rounds  database: {warm.database.engine.dialect.name}  "
          f"load average: {os.getloadavg()[0]:.1f}")
    print(f"(a) bare SpiffWorkflow, in memory       {bare:9.1f} cases/s")
    print(f"(b) Sagsgang, persisted                 {persisted:9.1f} cases/s   ratio a/b = {bare / persisted:.2f}x")
    print(f"(c) Sagsgang, persisted, no live cache  {uncached:9.1f} cases/s   ratio a/c = {bare / uncached:.2f}x")
    print(f"(d) storage floor, raw sqlite3 only     {floor:9.1f} cases/s   "
          f"(a)+(d) together: ratio {(1 / bare + 1 / floor) * bare:.2f}x")
    # CPU time of this process per case: on a shared machine it moves less than the wall clock.
    print("CPU time per case (this process): " + "  ".join(f"({k}) {v:.0f} us" for k, v in cpu.items())
          + f"   ratio b/a = {cpu['b'] / cpu['a']:.2f}x")
    print(f"wall ratio a/b per round: min {round_ratios[0]:.2f}x  median {round_ratios[len(round_ratios) // 2]:.2f}x  "
          f"max {round_ratios[-1]:.2f}x")


if __name__ == "__main__":
    main()
