"""Benchmark: what a case-type owner waits for: the linter, the migration dry run, moving cases,
moving one back, and the process overview.

    python bench/modeler.py [--cases 300] [--database sqlite|postgresql]

Uses the shipped case type "aktindsigt" with the demo organisation on a fresh database (a throw-away
schema on the PostgreSQL server at SAGSGANG_TEST_POSTGRES_URL). Opens N cases, completes the first
task in half of them, publishes a version 2 that adds a step after "Send svar" (every case can move),
then times: lint of the shipped models, the dry run over all open cases, moving them all (each case
its own unit of work), reverting one, and the overlay query. Prints milliseconds and cases/s.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import create_engine, select, text  # noqa: E402

from engine.context import EngineContext  # noqa: E402
from engine.db import Database  # noqa: E402
from engine.lint import lint_model  # noqa: E402
from engine.models import CaseTask, create_schema  # noqa: E402
from engine.services import case_types, cases, migration, process_stats  # noqa: E402
from engine.services.org import load_organisation  # noqa: E402
from engine.services.setup import DEMO_ORGANISATION, install_shipped_case_types  # noqa: E402
from engine.settings import PROJECT_ROOT, Settings  # noqa: E402

POSTGRES_URL = os.environ.get("SAGSGANG_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
AKT_START = {"requester_email": "borger@example.dk", "requested_documents": "Sagens akter", "received_date": "2026-11-20"}
OWNER = "dorte"


def database(kind: str, workdir: Path):
    if kind == "sqlite":
        return Database(f"sqlite:///{workdir / 'bench.sqlite3'}"), lambda: None
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))

    def drop():
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
    return Database(POSTGRES_URL, connect_args={"options": f"-csearch_path={schema}"}), drop


def timed(fn, repeat: int = 1) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times), result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cases", type=int, default=300)
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp())
    db, drop = database(args.database, workdir)
    try:
        create_schema(db.engine)
        ctx = EngineContext(Settings.from_env({"SAGSGANG_INSTANCE_PATH": str(workdir)}), db)
        with ctx.unit_of_work() as uow:
            load_organisation(uow, json.loads(DEMO_ORGANISATION.read_text("utf-8")))
        install_shipped_case_types(ctx)

        meta, files = case_types.read_case_type_directory(PROJECT_ROOT / "bpmn" / "case_types" / "aktindsigt",
                                                          PROJECT_ROOT / "bpmn" / "shared")
        lint_ms, findings = timed(lambda: lint_model(files, meta, {"ledelse", "sekretariatet", "byg"}), repeat=5)
        print(f"lint aktindsigt ({len(files)} files, {len(findings)} findings): {lint_ms:.0f} ms")

        numbers = []
        start = time.perf_counter()
        for i in range(args.cases):
            with ctx.unit_of_work() as uow:
                numbers.append(cases.open_case(uow, "aktindsigt", "anna", f"Sag {i}", data=AKT_START)["number"])
        for number in numbers[::2]:
            with ctx.unit_of_work(read_only=True) as uow:
                case_id = cases.get_case(uow.session, number).id
                task_id = uow.session.scalar(select(CaseTask.id).where(CaseTask.case_id == case_id,
                                                                       CaseTask.state == "open"))
            with ctx.unit_of_work() as uow:
                cases.complete_task(uow, task_id, "anna", {"documents_identified": "alle",
                                                           "request_sufficiently_specific": True,
                                                           "acknowledgement_sent": True})
        print(f"set-up: {args.cases} cases in {time.perf_counter() - start:.1f} s")

        # version 2: a step "Journalisér" between "Send svar" and the GDPR review
        with ctx.unit_of_work() as uow:
            draft = case_types.create_draft(uow, "aktindsigt", OWNER)
        bpmn = files["aktindsigt.bpmn"].decode()
        bpmn = bpmn.replace('<bpmn:sequenceFlow id="Flow_Send_Gdpr" sourceRef="Task_SendResponse" targetRef="CallActivity_GdprReview" />',
                            '<bpmn:sequenceFlow id="Flow_Send_Gdpr" sourceRef="Task_SendResponse" targetRef="Task_Journal" />'
                            '<bpmn:userTask id="Task_Journal" name="Journalisér"><bpmn:incoming>Flow_Send_Gdpr</bpmn:incoming>'
                            '<bpmn:outgoing>Flow_Journal_Gdpr</bpmn:outgoing></bpmn:userTask>'
                            '<bpmn:sequenceFlow id="Flow_Journal_Gdpr" sourceRef="Task_Journal" targetRef="CallActivity_GdprReview" />')
        bpmn = bpmn.replace('<bpmn:incoming>Flow_Send_Gdpr</bpmn:incoming>\n      <bpmn:outgoing>Flow_Gdpr_End</bpmn:outgoing>',
                            '<bpmn:incoming>Flow_Journal_Gdpr</bpmn:incoming>\n      <bpmn:outgoing>Flow_Gdpr_End</bpmn:outgoing>')
        bpmn = bpmn.replace("<bpmn:flowNodeRef>Task_SendResponse</bpmn:flowNodeRef>",
                            "<bpmn:flowNodeRef>Task_SendResponse</bpmn:flowNodeRef><bpmn:flowNodeRef>Task_Journal</bpmn:flowNodeRef>")
        with ctx.unit_of_work() as uow:
            saved = case_types.save_draft(uow, "aktindsigt", draft["number"], OWNER, files={"aktindsigt.bpmn": bpmn.encode()})
        assert saved["lint"]["publishable"], saved["lint"]["findings"]
        with ctx.unit_of_work() as uow:
            case_types.publish_version(uow, "aktindsigt", draft["number"], OWNER)

        def dry_run():
            with ctx.unit_of_work(read_only=True) as uow:
                return migration.plan_migration(uow, "aktindsigt", 1, draft["number"], OWNER)
        plan_ms, plan = timed(dry_run)
        print(f"dry run over {len(plan['cases'])} open cases ({plan['movable']} movable): {plan_ms:.0f} ms "
              f"= {len(plan['cases']) / plan_ms * 1000:.0f} cases/s")

        with ctx.unit_of_work() as uow:
            job = migration.start_migration(uow, "aktindsigt", 1, draft["number"], OWNER)
        start = time.perf_counter()
        progress = {"status": "running"}
        polls = 0
        while progress["status"] != "finished":
            progress = migration.migrate_cases(ctx.unit_of_work, job["id"], OWNER, limit=25)
            polls += 1
        move_s = time.perf_counter() - start
        print(f"moved {progress['moved']} cases ({progress['refused']} refused, {progress['failed']} failed) in "
              f"{move_s:.2f} s = {progress['moved'] / move_s:.0f} cases/s, {polls} polls of 25")

        with ctx.unit_of_work(read_only=True) as uow:
            item = migration.migration_status(uow, job["id"], OWNER)["cases"][0]["item"]

        def revert():
            with ctx.unit_of_work() as uow:
                return migration.revert_case(uow, item, OWNER)
        revert_ms, _ = timed(revert)
        print(f"revert one untouched case: {revert_ms:.0f} ms")

        def overlay():
            with ctx.unit_of_work(read_only=True) as uow:
                return process_stats.process_overlay(uow, "aktindsigt", OWNER)
        overlay_ms, result = timed(overlay, repeat=5)
        events = sum(r["completed"] for r in result["elements"])
        print(f"overlay ({result['open_cases']} open cases, {events} completed steps): {overlay_ms:.0f} ms")
    finally:
        db.dispose()
        drop()


if __name__ == "__main__":
    main()
