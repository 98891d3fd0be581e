"""Real Celery worker processes (`celery -A workflows worker`) on the local Redis and PostgreSQL.

Each test gets its own PostgreSQL schema and its own Celery queue, starts workers as subprocesses
with the environment a deployment would give them, and kills them (the whole process group) at
the end. The same escalation in eager mode is in test_background.py.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
import redis
from celery import Celery
from sqlalchemy import select, text
from sqlalchemy.exc import OperationalError

from engine import crypto
from engine.context import EngineContext
from engine.models import Case, JournalEvent, create_schema
from engine.services import cases, queries
from engine.services.journal import verify_journal
from engine.services.org import load_organisation
from engine.services.setup import DEMO_ORGANISATION
from engine.settings import PROJECT_ROOT, Settings
from tests.conftest import POSTGRES_URL, PostgresSchema
from tests.models import GDPR_CALL, definitions, flow, install, user_task
from workflows.celery_app import celery_config

REDIS_URL = os.environ.get("SAGSGANG_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
pytestmark = pytest.mark.postgres


def held_escalation_bpmn() -> bytes:
    """A deadline whose escalation path first runs a script that holds until `hold_until`.

    It gives a test a moment in which a worker is inside `fire_timers`, holding the case's row
    lock with the timer fired in memory but nothing committed: the moment to kill it.
    """
    script = "while time.time() &lt; hold_until:\n    pass"
    return definitions("held", "\n".join([
        '<bpmn:startEvent id="StartEvent"><bpmn:outgoing>F1</bpmn:outgoing></bpmn:startEvent>',
        user_task("Task_Handle", "Behandl", "F1", "F2"),
        '<bpmn:boundaryEvent id="Timer_Deadline" attachedToRef="Task_Handle" cancelActivity="true">'
        '<bpmn:outgoing>F_Late</bpmn:outgoing><bpmn:timerEventDefinition>'
        '<bpmn:timeDuration>"PT0.5S"</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:boundaryEvent>',
        f'<bpmn:scriptTask id="Script_Hold" name="Hold"><bpmn:incoming>F_Late</bpmn:incoming>'
        f'<bpmn:outgoing>F_Held</bpmn:outgoing><bpmn:script>{script}</bpmn:script></bpmn:scriptTask>',
        user_task("Task_Escalate", "Eskalér", "F_Held", "F3"),
        GDPR_CALL.format(incoming="F2</bpmn:incoming><bpmn:incoming>F3", outgoing="F4"),
        '<bpmn:endEvent id="EndEvent"><bpmn:incoming>F4</bpmn:incoming></bpmn:endEvent>',
        flow("F1", "StartEvent", "Task_Handle"), flow("F2", "Task_Handle", "Call_GdprReview"),
        flow("F_Late", "Timer_Deadline", "Script_Hold"), flow("F_Held", "Script_Hold", "Task_Escalate"),
        flow("F3", "Task_Escalate", "Call_GdprReview"), flow("F4", "Call_GdprReview", "EndEvent"),
    ]))


def deadline_bpmn() -> bytes:
    return definitions("deadline", "\n".join([
        '<bpmn:startEvent id="StartEvent"><bpmn:outgoing>F1</bpmn:outgoing></bpmn:startEvent>',
        user_task("Task_Handle", "Behandl", "F1", "F2"),
        '<bpmn:boundaryEvent id="Timer_Deadline" attachedToRef="Task_Handle" cancelActivity="true">'
        '<bpmn:outgoing>F_Late</bpmn:outgoing><bpmn:timerEventDefinition>'
        '<bpmn:timeDuration>"PT0.5S"</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:boundaryEvent>',
        user_task("Task_Escalate", "Eskalér", "F_Late", "F3"),
        GDPR_CALL.format(incoming="F2</bpmn:incoming><bpmn:incoming>F3", outgoing="F4"),
        '<bpmn:endEvent id="EndEvent"><bpmn:incoming>F4</bpmn:incoming></bpmn:endEvent>',
        flow("F1", "StartEvent", "Task_Handle"), flow("F2", "Task_Handle", "Call_GdprReview"),
        flow("F_Late", "Timer_Deadline", "Task_Escalate"), flow("F3", "Task_Escalate", "Call_GdprReview"),
        flow("F4", "Call_GdprReview", "EndEvent"),
    ]))


class Deployment:
    """A production-mode installation on a fresh PostgreSQL schema, with workers started on demand."""

    def __init__(self, tmp_path: Path, **extra_env: str):
        self.schema = PostgresSchema()
        self.queue = f"sagsgang-test-{uuid.uuid4().hex[:8]}"
        self.tmp_path = tmp_path
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("SAGSGANG_")},
            "SAGSGANG_MODE": "production",
            "SAGSGANG_SECRET_KEY": "test-" + uuid.uuid4().hex,
            "SAGSGANG_DATA_KEY": crypto.new_data_key(),
            "SAGSGANG_LOOKUP_KEY": "test-" + uuid.uuid4().hex,
            "SAGSGANG_DATABASE_URL": f"{POSTGRES_URL}?options=-csearch_path%3D{self.schema.name}",
            "SAGSGANG_BROKER_URL": REDIS_URL,
            "SAGSGANG_CELERY_QUEUE": self.queue,
            "SAGSGANG_CELERY_EAGER": "false",
            "SAGSGANG_INSTANCE_PATH": str(tmp_path / "instance"),
            "SAGSGANG_SCRIPT_TIME_LIMIT": "60",
            "PYTHONPATH": str(PROJECT_ROOT),
            **extra_env,
        }
        self.settings = Settings.from_env(self.env)
        self.ctx = EngineContext(self.settings, self.schema.database())
        create_schema(self.ctx.database.engine)
        with self.ctx.unit_of_work() as uow:
            load_organisation(uow, json.loads(DEMO_ORGANISATION.read_text("utf-8")))
        self.producer = Celery("sagsgang-test-producer")
        self.producer.config_from_object(celery_config(self.settings))
        self.workers: list[subprocess.Popen] = []

    def start_worker(self, name: str) -> subprocess.Popen:
        log = open(self.tmp_path / f"{name}.log", "w")
        process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "workflows", "worker", "-P", "solo", "-l", "info",
             "-n", f"{name}@%h", "--without-gossip", "--without-mingle", "--without-heartbeat"],
            cwd=PROJECT_ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        process.log_path = self.tmp_path / f"{name}.log"
        self.workers.append(process)
        wait_for(lambda: "ready." in process.log_path.read_text() or process.poll() is not None, 60,
                 f"worker {name} to start")
        assert process.poll() is None, process.log_path.read_text()
        return process

    def start_beat(self) -> subprocess.Popen:
        """`celery beat` as deployed: it sends the sweeps of workflows.celery_app.beat_schedule."""
        log = open(self.tmp_path / "beat.log", "w")
        process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "workflows", "beat", "-l", "info",
             "-s", str(self.tmp_path / "beat-schedule"), "--pidfile", str(self.tmp_path / "beat.pid")],
            cwd=PROJECT_ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        process.log_path = self.tmp_path / "beat.log"
        self.workers.append(process)
        wait_for(lambda: "beat: Starting..." in process.log_path.read_text() or process.poll() is not None, 60,
                 "beat to start")
        assert process.poll() is None, process.log_path.read_text()
        return process

    def kill(self, process: subprocess.Popen) -> None:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(10)

    def send(self, name: str, **kwargs) -> None:
        self.producer.send_task(name, kwargs=kwargs)

    def handled(self, task: str) -> int:
        """How many messages of `task` the workers have finished, by their logs."""
        return sum(1 for w in self.workers for line in w.log_path.read_text().splitlines()
                   if f"Task {task}[" in line and "succeeded in" in line)

    def close(self) -> None:
        for process in self.workers:
            self.kill(process)
        client = redis.Redis.from_url(REDIS_URL)
        client.delete(self.queue)
        # The killed worker's unacknowledged message: Redis would hand it back to a queue that no
        # longer has a consumer. Drop it with the queue.
        for tag, raw in client.hgetall("unacked").items():
            if json.loads(raw)[-1] == self.queue:
                client.hdel("unacked", tag)
                client.zrem("unacked_index", tag)
        client.close()
        self.ctx.database.dispose()
        self.schema.drop()


def wait_for(condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def require_servers(postgres_problem: str | None) -> None:
    """Skip (fail in CI) unless the local PostgreSQL and Redis servers answer."""
    if postgres_problem:
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL is required in CI: {postgres_problem}")
        pytest.skip(f"PostgreSQL not reachable: {postgres_problem}")
    try:
        redis.Redis.from_url(REDIS_URL, socket_timeout=2).ping()
    except redis.RedisError as err:
        if os.environ.get("CI"):
            pytest.fail(f"Redis is required in CI: {err}")
        pytest.skip(f"Redis not reachable at {REDIS_URL}: {err}")


@pytest.fixture
def deployment(tmp_path, postgres_problem):
    require_servers(postgres_problem)
    deployment = Deployment(tmp_path)
    yield deployment
    deployment.close()


def timer_events(ctx, number: str) -> int:
    with ctx.unit_of_work(read_only=True) as uow:
        case_id = uow.session.scalar(select(Case.id).where(Case.number == number))
        return len(uow.session.scalars(select(JournalEvent.id).where(
            JournalEvent.case_id == case_id, JournalEvent.kind == "timer_fired")).all())


def task_states(ctx, number: str) -> list:
    with ctx.unit_of_work(read_only=True) as uow:
        found = queries.case_overview(uow.session, number, "admin")
    return sorted((t["element_id"], t["state"]) for t in found["tasks"])


def journal_intact(ctx, number: str) -> bool:
    with ctx.unit_of_work(read_only=True) as uow:
        case = uow.session.scalar(select(Case).where(Case.number == number))
        return verify_journal(uow.session, case.id, case.journal_head) == []


def open_case(ctx, key: str, **data) -> str:
    with ctx.unit_of_work() as uow:
        return cases.open_case(uow, key, "anna", "Frist", data=data)["number"]


def test_a_worker_fires_a_boundary_timer_and_the_case_escalates(deployment):
    ctx = deployment.ctx
    install(ctx, "deadline", deadline_bpmn(), "deadline", "DL")
    deployment.start_worker("w1")
    number = open_case(ctx, "deadline")
    time.sleep(0.6)  # the deadline is half a second
    deployment.send("sagsgang.fire_due_timers")  # what beat sends every SAGSGANG_TIMER_INTERVAL
    wait_for(lambda: timer_events(ctx, number) == 1, 30, "the timer to fire")
    assert task_states(ctx, number) == [("Task_Escalate", "open"), ("Task_Handle", "cancelled")]
    assert journal_intact(ctx, number)


def test_a_worker_killed_while_advancing_a_case_leaves_it_unchanged_and_the_next_fires_it_once(deployment):
    ctx = deployment.ctx
    install(ctx, "held", held_escalation_bpmn(), "held", "HLD")
    first = deployment.start_worker("w1")
    number = open_case(ctx, "held", hold_until=time.time() + 8)
    with ctx.unit_of_work(read_only=True) as uow:
        case_id, before = uow.session.execute(select(Case.id, Case.row_version).where(Case.number == number)).one()
    time.sleep(0.6)
    deployment.send("sagsgang.fire_case_timers", case_id=case_id)

    def worker_holds_the_case() -> bool:
        with ctx.database.engine.connect() as conn:
            try:
                conn.execute(text("SELECT id FROM cases WHERE id = :id FOR UPDATE NOWAIT"), {"id": case_id})
                return False
            except OperationalError:  # lock not available: the worker is inside fire_timers
                return True

    wait_for(worker_holds_the_case, 30, "the worker to start advancing the case")
    deployment.kill(first)
    wait_for(lambda: not worker_holds_the_case(), 30, "PostgreSQL to roll the dead worker's transaction back")
    with ctx.unit_of_work(read_only=True) as uow:
        row_version, due = uow.session.execute(select(Case.row_version, Case.next_timer_at)
                                               .where(Case.id == case_id)).one()
    assert row_version == before and due is not None  # nothing of the half-done step was kept
    assert timer_events(ctx, number) == 0
    assert task_states(ctx, number) == [("Task_Handle", "open")]

    deployment.start_worker("w2")  # the late worker catches up on the next sweep
    deployment.send("sagsgang.fire_due_timers")
    wait_for(lambda: timer_events(ctx, number) == 1, 60, "the timer to fire after the restart")
    assert task_states(ctx, number) == [("Task_Escalate", "open"), ("Task_Handle", "cancelled")]
    assert journal_intact(ctx, number)


def test_two_workers_racing_for_the_same_due_timers_fire_each_once(deployment):
    ctx = deployment.ctx
    install(ctx, "deadline", deadline_bpmn(), "deadline", "DL")
    deployment.start_worker("w1")
    deployment.start_worker("w2")
    numbers = [open_case(ctx, "deadline") for _ in range(8)]
    with ctx.unit_of_work(read_only=True) as uow:
        ids = list(uow.session.scalars(select(Case.id).where(Case.number.in_(numbers))))
    time.sleep(0.6)
    for _ in range(3):  # every case is asked three times, by both workers
        for case_id in ids:
            deployment.send("sagsgang.fire_case_timers", case_id=case_id)
    deployment.send("sagsgang.fire_due_timers")
    wait_for(lambda: all(timer_events(ctx, n) == 1 for n in numbers), 60, "all timers to fire")
    wait_for(lambda: deployment.handled("sagsgang.fire_case_timers") >= 3 * len(ids), 60,
             "every message to be handled")
    for number in numbers:
        assert timer_events(ctx, number) == 1
        assert task_states(ctx, number) == [("Task_Escalate", "open"), ("Task_Handle", "cancelled")]
        assert journal_intact(ctx, number)
