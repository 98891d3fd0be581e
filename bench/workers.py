"""Benchmark: due timers fired by 1, 2 and 4 Celery worker processes on Redis + PostgreSQL.

    python bench/workers.py [--timers 10000] [--workers 1,2,4] [--rounds 1]
                            [--database-url postgresql+psycopg://postgres@127.0.0.1:5432/test]
                            [--broker redis://127.0.0.1:6379/0]

Setup (once): a fresh PostgreSQL schema `bench_workers`, the migrations, the demo organisation and a
case type whose first task has an interrupting boundary timer (PT1S) that escalates to a second
task; N cases of it are opened and their timers become due. Every table is then copied aside.

Each run: the tables are put back as copied (so every run fires the same N due timers from the
same state), K worker processes (`celery -A workflows worker -P solo`, one database connection
each) are started and waited for, then one `sagsgang.fire_case_timers` message per case is
queued and the clock runs until the journal holds N `timer_fired` events. What a timer costs:
lock the case row, load the workflow from JSON, fire the timer, cancel a task, open one, write the
task index, the journal and the state under the version check, commit.

Prints timers/s for each K and the speed-up against 1 worker, measured in the same run, and
checks that every timer fired exactly once. With --rounds R the worker counts are run R times,
interleaved (1, 2, 4, 1, 2, 4, ...), and the best run of each counts: on a machine shared with
other work, the slowest runs measure the neighbours. The load average is printed with each run.
"""
from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import redis  # noqa: E402
from celery import Celery  # noqa: E402
from sqlalchemy import create_engine, text  # noqa: E402

from engine import crypto  # noqa: E402
from engine.context import EngineContext  # noqa: E402
from engine.db import Database  # noqa: E402
from engine.models import Base, create_schema  # noqa: E402
from engine.services import cases  # noqa: E402
from engine.services.case_types import install_case_type  # noqa: E402
from engine.services.org import load_organisation  # noqa: E402
from engine.services.setup import DEMO_ORGANISATION  # noqa: E402
from engine.settings import Settings  # noqa: E402
from workflows.celery_app import celery_config  # noqa: E402

SCHEMA = "bench_workers"
QUEUE = "sagsgang-bench"
NS = ('xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
      'xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core"')
PROCESS = f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions {NS} id="Defs_bench_timers" targetNamespace="http://sagsgang.dk/bench">
  <bpmn:process id="bench_timers" isExecutable="true">
    <bpmn:startEvent id="StartEvent"><bpmn:outgoing>F1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:userTask id="Task_Handle" name="Behandl"><bpmn:incoming>F1</bpmn:incoming><bpmn:outgoing>F2</bpmn:outgoing></bpmn:userTask>
    <bpmn:boundaryEvent id="Timer_Deadline" attachedToRef="Task_Handle" cancelActivity="true">
      <bpmn:outgoing>F_Late</bpmn:outgoing>
      <bpmn:timerEventDefinition><bpmn:timeDuration>"PT1S"</bpmn:timeDuration></bpmn:timerEventDefinition>
    </bpmn:boundaryEvent>
    <bpmn:userTask id="Task_Escalate" name="Eskalér"><bpmn:incoming>F_Late</bpmn:incoming><bpmn:outgoing>F3</bpmn:outgoing></bpmn:userTask>
    <bpmn:callActivity id="Call_GdprReview" calledElement="gdpr_review"><bpmn:incoming>F2</bpmn:incoming><bpmn:incoming>F3</bpmn:incoming><bpmn:outgoing>F4</bpmn:outgoing></bpmn:callActivity>
    <bpmn:endEvent id="EndEvent"><bpmn:incoming>F4</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="F1" sourceRef="StartEvent" targetRef="Task_Handle"/>
    <bpmn:sequenceFlow id="F2" sourceRef="Task_Handle" targetRef="Call_GdprReview"/>
    <bpmn:sequenceFlow id="F_Late" sourceRef="Timer_Deadline" targetRef="Task_Escalate"/>
    <bpmn:sequenceFlow id="F3" sourceRef="Task_Escalate" targetRef="Call_GdprReview"/>
    <bpmn:sequenceFlow id="F4" sourceRef="Call_GdprReview" targetRef="EndEvent"/>
  </bpmn:process>
</bpmn:definitions>
""".encode()


def environment(database_url: str, broker: str, instance: Path) -> dict:
    return {**{k: v for k, v in os.environ.items() if not k.startswith("SAGSGANG_")},
            "SAGSGANG_MODE": "production",
            "SAGSGANG_SECRET_KEY": "bench-" + uuid.uuid4().hex,
            "SAGSGANG_DATA_KEY": crypto.new_data_key(),
            "SAGSGANG_LOOKUP_KEY": "bench-" + uuid.uuid4().hex,
            "SAGSGANG_DATABASE_URL": f"{database_url}?options=-csearch_path%3D{SCHEMA}",
            "SAGSGANG_BROKER_URL": broker,
            "SAGSGANG_CELERY_QUEUE": QUEUE,
            "SAGSGANG_CELERY_EAGER": "false",
            "SAGSGANG_INSTANCE_PATH": str(instance),
            "PYTHONPATH": str(ROOT)}


def context(env: dict) -> EngineContext:
    settings = Settings.from_env(env)
    url, _, _ = settings.database_url.partition("?")
    return EngineContext(settings, Database(url, connect_args={"options": f"-csearch_path={SCHEMA}"}))


def _open_cases(args) -> int:
    env, count = args
    ctx = context(env)
    for _ in range(count):
        with ctx.unit_of_work() as uow:
            cases.open_case(uow, "bench_timers", "anna", "Frist")
    ctx.database.dispose()
    return count


def set_up(admin, env: dict, timers: int) -> None:
    with admin.connect() as conn:
        conn.execute(text(f'DROP SCHEMA IF EXISTS "{SCHEMA}" CASCADE'))
        conn.execute(text(f'CREATE SCHEMA "{SCHEMA}"'))
    ctx = context(env)
    create_schema(ctx.database.engine)
    with ctx.unit_of_work() as uow:
        load_organisation(uow, json.loads(DEMO_ORGANISATION.read_text("utf-8")))
    shared = ROOT / "bpmn" / "shared"
    files = {"bench_timers.bpmn": PROCESS, **{"shared/" + p.relative_to(shared).as_posix(): p.read_bytes()
                                             for p in sorted(shared.rglob("*")) if p.suffix in (".bpmn", ".dmn", ".json")}}
    metadata = {"key": "bench_timers", "name": "Bench timers", "prefix": "BT", "kle_number": "00.00.00",
                "handlingsfacet": "G01", "deletion_rule": "P1825D", "personal_data_category": "ordinary",
                "process_id": "bench_timers"}
    with ctx.unit_of_work() as uow:
        install_case_type(uow, metadata, files, "admin")
    ctx.database.dispose()
    started = time.perf_counter()
    parts = [timers // 2, timers - timers // 2]
    with ProcessPoolExecutor(2) as pool:
        opened = sum(pool.map(_open_cases, [(env, n) for n in parts]))
    print(f"set-up: opened {opened} cases in {time.perf_counter() - started:.1f} s", flush=True)
    time.sleep(1.2)  # every deadline is one second
    with admin.begin() as conn:
        for table in Base.metadata.sorted_tables:
            conn.execute(text(f'CREATE TABLE "{SCHEMA}"."snap_{table.name}" AS TABLE "{SCHEMA}"."{table.name}"'))


def restore(admin) -> None:
    tables = ", ".join(f'"{SCHEMA}"."{t.name}"' for t in Base.metadata.sorted_tables)
    with admin.begin() as conn:
        conn.execute(text(f"TRUNCATE {tables}"))
        for table in Base.metadata.sorted_tables:
            conn.execute(text(f'INSERT INTO "{SCHEMA}"."{table.name}" TABLE "{SCHEMA}"."snap_{table.name}"'))
    with admin.connect() as conn:
        for table in ("cases", "tasks", "journal_events"):
            conn.execute(text(f'ANALYZE "{SCHEMA}"."{table}"'))


def count(admin, sql: str) -> int:
    with admin.connect() as conn:
        return conn.execute(text(sql)).scalar()


def start_workers(k: int, env: dict, logs: Path) -> list[subprocess.Popen]:
    workers = []
    for i in range(k):
        log = open(logs / f"worker{i}.log", "w")
        process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "workflows", "worker", "-P", "solo", "-l", "info",
             "-n", f"bench{i}@%h", "--without-gossip", "--without-mingle", "--without-heartbeat"],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        process.log_path = logs / f"worker{i}.log"
        workers.append(process)
    deadline = time.monotonic() + 120
    while not all("ready." in w.log_path.read_text() for w in workers):
        if time.monotonic() > deadline or any(w.poll() is not None for w in workers):
            stop(workers)
            raise SystemExit("workers did not start; see " + str(logs))
        time.sleep(0.2)
    return workers


def stop(workers) -> None:
    for process in workers:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
    for process in workers:
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def run(admin, env: dict, settings: Settings, k: int, timers: int, logs: Path) -> float:
    restore(admin)
    client = redis.Redis.from_url(settings.broker_url)
    client.delete(QUEUE)
    due = f'SELECT count(*) FROM "{SCHEMA}".cases WHERE next_timer_at <= now()'
    assert count(admin, due) == timers, "the restored cases are not all due"
    with admin.connect() as conn:
        ids = list(conn.execute(text(f'SELECT id FROM "{SCHEMA}".cases ORDER BY id')).scalars())
    workers = start_workers(k, env, logs)
    producer = Celery("bench-producer")
    producer.config_from_object(celery_config(settings))
    fired_sql = f"""SELECT count(*) FROM "{SCHEMA}".journal_events WHERE kind = 'timer_fired'"""
    try:
        started = time.perf_counter()
        with producer.connection_for_write() as connection:
            for case_id in ids:
                producer.send_task("sagsgang.fire_case_timers", kwargs={"case_id": case_id}, connection=connection)
        while count(admin, fired_sql) < timers:
            time.sleep(0.2)
        elapsed = time.perf_counter() - started
    finally:
        stop(workers)
        client.delete(QUEUE)
        client.close()
    fired, still_due = count(admin, fired_sql), count(admin, due)
    assert fired == timers and still_due == 0, f"{fired} timer_fired events, {still_due} cases still due"
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--timers", type=int, default=10_000)
    parser.add_argument("--workers", default="1,2,4")
    parser.add_argument("--database-url", default=os.environ.get(
        "SAGSGANG_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"))
    parser.add_argument("--broker", default="redis://127.0.0.1:6379/0")
    parser.add_argument("--rounds", type=int, default=1)
    args = parser.parse_args()
    counts = [int(k) for k in args.workers.split(",")]
    with tempfile.TemporaryDirectory() as tmp:
        env = environment(args.database_url, args.broker, Path(tmp) / "instance")
        settings = Settings.from_env(env)
        admin = create_engine(args.database_url, isolation_level="AUTOCOMMIT")
        try:
            set_up(admin, env, args.timers)
            with admin.connect() as conn:
                print("PostgreSQL: " + ", ".join(f"{name}={conn.execute(text(f'SHOW {name}')).scalar()}"
                                                 for name in ("synchronous_commit", "fsync", "shared_buffers")))
            results: dict[int, list[float]] = {k: [] for k in counts}
            for round_ in range(args.rounds):
                for k in counts:
                    elapsed = run(admin, env, settings, k, args.timers, Path(tmp))
                    results[k].append(elapsed)
                    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
                    print(f"round {round_ + 1}, {k} worker(s): {args.timers} timers in {elapsed:.1f} s = "
                          f"{args.timers / elapsed:.0f} timers/s (load average {load})", flush=True)
        finally:
            with admin.connect() as conn:
                conn.execute(text(f'DROP SCHEMA IF EXISTS "{SCHEMA}" CASCADE'))
            admin.dispose()
    best = {k: min(times) for k, times in results.items()}
    base = best.get(1)
    print(f"\n{'workers':>8} {'best s':>9} {'timers/s':>9} {'speed-up':>9}   all runs (s)")
    for k in counts:
        speed_up = f"{base / best[k]:.2f}x" if base else "-"
        runs = ", ".join(f"{t:.1f}" for t in results[k])
        print(f"{k:>8} {best[k]:>9.1f} {args.timers / best[k]:>9.0f} {speed_up:>9}   {runs}")
    print(f"(cores on this machine: {os.cpu_count()}; PostgreSQL and Redis run on the same machine)")


if __name__ == "__main__":
    main()
