"""Benchmark: the task-list queries of engine/services/worklists.py on a municipality-sized task index.

    python bench/task_queries.py [--database-url URL] [--cases 200000] [--tasks 1000000]
                                 [--users 5500] [--groups 300] [--samples 400] [--explain]

Fills a fresh database (default: a SQLite file; a PostgreSQL URL gets a fresh schema of its own)
with an organisation, cases, task rows and journal events (--keep keeps it, --reuse FILE_OR_SCHEMA
measures a kept one again without filling), then times each list query through the
engine's own functions for randomly chosen users and prints p50/p95/max in milliseconds. With
--explain it prints the plan of every statement those functions run (EXPLAIN QUERY PLAN on SQLite,
EXPLAIN (ANALYZE, BUFFERS) on PostgreSQL) for the busiest user and group.

The data (see `fill`): 30 % of the task rows are open; of those a third wait unassigned for a
group, 3 % of the rest are delegated; users and groups are chosen with a skew (a few large teams,
a few busy people) so the worst case is measured, not only the mean; 2 % of users cover for an
absent colleague today. `fill` is reusable: bench/tasklist.py can fill the same way.
"""
from __future__ import annotations

import argparse
import random
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import create_engine, event, insert, text  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from engine.db import Database  # noqa: E402
from engine.models import (Case, CaseTask, CaseType, CaseTypeVersion, Group, JournalEvent,  # noqa: E402
                           Membership, Substitution, User, create_schema)
from engine.services import worklists  # noqa: E402

BATCH = 20_000
NOW = datetime.now(timezone.utc)


def skewed(rng: random.Random, n: int, head: float) -> int:
    """An index in [0, n): uniform, except that a share `head` of the picks follows a power law, so
    the first few users and teams are several times busier than the average one."""
    return min(n - 1, int(rng.paretovariate(1.2)) - 1) if rng.random() < head else rng.randrange(n)


def _insert(conn, table, rows: list[dict]) -> None:
    for start in range(0, len(rows), BATCH):
        conn.execute(insert(table), rows[start:start + BATCH])


def fill(database: Database, cases: int, tasks: int, users: int, groups: int, seed: int = 7) -> dict:
    """Fill an empty schema; returns the ids the measurements pick from."""
    rng = random.Random(seed)
    with database.engine.begin() as conn:
        _insert(conn, Group.__table__, [{"id": g + 1, "key": f"g{g:03d}", "name": f"Gruppe {g}"}
                                       for g in range(groups)])
        _insert(conn, User.__table__, [{"id": u + 1, "username": f"u{u:05d}", "name": f"Bruger {u}"}
                                      for u in range(users)])
        member_rows, members_of = [], {}
        for u in range(users):
            first = skewed(rng, groups, 0.01) + 1
            mine = {first} | ({rng.randrange(groups) + 1} if rng.random() < 0.1 else set())
            for g in mine:
                member_rows.append({"user_id": u + 1, "group_id": g})
                members_of.setdefault(g, []).append(u + 1)
        _insert(conn, Membership.__table__, member_rows)
        today = NOW.date()
        subs = []
        for u in rng.sample(range(1, users + 1), users // 50):
            other = rng.randrange(1, users + 1)
            if other != u:
                subs.append({"user_id": other, "substitute_id": u, "from_date": today - timedelta(days=2),
                             "to_date": today + timedelta(days=5), "created_at": NOW})
        _insert(conn, Substitution.__table__, subs)
        types = 12
        _insert(conn, CaseType.__table__, [
            {"id": t + 1, "key": f"type{t}", "name": f"Sagstype {t}", "prefix": f"T{t:02d}", "kle_number": "00.00.00",
             "handlingsfacet": "G01", "deletion_rule": "P1825D", "personal_data_category": "ordinary", "lanes": {},
             "created_at": NOW} for t in range(types)])
        _insert(conn, CaseTypeVersion.__table__, [
            {"id": t + 1, "case_type_id": t + 1, "number": 1, "status": "published", "process_id": "p",
             "content_hash": "0" * 64, "created_at": NOW} for t in range(types)])
        state = "x" * 1000  # stands in for the workflow blob: the lists must never read it
        rows, case_type_of, number_of = [], [0] * (cases + 1), [""] * (cases + 1)
        for c in range(cases):
            t = rng.randrange(types)
            opened = NOW - timedelta(days=rng.uniform(0, 730))
            case_type_of[c + 1], number_of[c + 1] = t + 1, f"T{t:02d}-{opened.year}-{c + 1:06d}"
            rows.append({"id": c + 1, "number": number_of[c + 1], "case_type_id": t + 1,
                         "version_id": t + 1, "title": f"Sag nummer {c}", "grouping": f"Vej {rng.randrange(2000)}",
                         "caseworker_id": rng.randrange(users) + 1,
                         "status": "open" if rng.random() < 0.4 else "closed",
                         "opened_at": opened, "updated_at": opened, "state": state, "row_version": 1,
                         "journal_seq": 0, "journal_head": "0" * 64})
            if len(rows) == BATCH:
                _insert(conn, Case.__table__, rows)
                rows = []
        _insert(conn, Case.__table__, rows)
        rows, events, event_seq = [], [], {}
        for i in range(tasks):
            case_id = rng.randrange(cases) + 1
            created = NOW - timedelta(days=rng.uniform(0, 730))
            roll = rng.random()
            row = {"id": str(uuid.UUID(int=rng.getrandbits(128))), "case_id": case_id, "element_id": "Task_X",
                   "case_type_id": case_type_of[case_id], "case_number": number_of[case_id],
                   "name": f"Opgave {i % 40}", "lane": "", "form": "", "instructions": "",
                   "priority": rng.choice((30, 50, 50, 70, 90)),
                   "created_at": created, "candidate_group_id": None, "assignee_id": None, "owner_id": None,
                   "due_at": None, "follow_up_at": None, "completed_at": None, "completed_by_id": None}
            group = skewed(rng, groups, 0.02) + 1
            if roll < 0.30:  # open
                row["state"] = "open"
                if rng.random() < 0.6:
                    row["due_at"] = NOW + timedelta(days=rng.uniform(-30, 60))
                if rng.random() < 1 / 3:
                    row["candidate_group_id"] = group
                else:
                    row["candidate_group_id"] = group if rng.random() < 0.5 else None
                    row["assignee_id"] = rng.choice(members_of.get(group) or [1]) if rng.random() < 0.5 \
                        else skewed(rng, users, 0.005) + 1
                    if rng.random() < 0.03:
                        row["owner_id"] = rng.randrange(users) + 1
            else:
                row["state"] = "completed" if roll < 0.95 else "cancelled"
                row["candidate_group_id"] = group if rng.random() < 0.4 else None
                row["assignee_id"] = skewed(rng, users, 0.005) + 1
                row["completed_at"] = created + timedelta(days=rng.uniform(0, 20))
                row["completed_by_id"] = row["assignee_id"]
            rows.append(row)
            for actor, at in ((rng.randrange(users), created),) + (
                    ((row["completed_by_id"] - 1, row["completed_at"]),) if row["completed_by_id"] else ()):
                seq = event_seq[case_id] = event_seq.get(case_id, 0) + 1
                events.append({"case_id": case_id, "seq": seq, "at": at, "actor": f"u{actor:05d}",
                               "kind": "task_created",
                               "data": {}, "prev_hash": "0" * 64, "hash": "0" * 64})
            if len(rows) == BATCH:
                _insert(conn, CaseTask.__table__, rows)
                _insert(conn, JournalEvent.__table__, events)
                rows, events = [], []
        _insert(conn, CaseTask.__table__, rows)
        _insert(conn, JournalEvent.__table__, events)
    with database.engine.connect() as conn:
        if conn.dialect.name == "sqlite":
            conn.exec_driver_sql("ANALYZE")
        else:
            conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql("VACUUM ANALYZE")
    return {"users": users, "groups": groups, "members_of": members_of}


class Recorder:
    """Collects the SQL statements the engine runs, to EXPLAIN them afterwards."""

    def __init__(self, engine):
        self.statements: list[tuple[str, object]] = []
        self.on = False
        event.listen(engine, "before_cursor_execute", self._record)

    def _record(self, conn, cursor, statement, parameters, context, executemany):
        if self.on:
            self.statements.append((statement, parameters))


def explain(database: Database, recorder: Recorder, label: str, call) -> None:
    recorder.statements, recorder.on = [], True
    with database.engine.connect() as conn:
        call(conn)
    recorder.on = False
    print(f"\n### {label}")
    with database.engine.connect() as conn:
        for statement, params in recorder.statements:
            if statement.startswith("BEGIN"):
                continue
            print("--", " ".join(statement.split())[:400])
            if conn.dialect.name == "sqlite":
                plan = conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", params).all()
                for row in plan:
                    print("   ", row[-1])
            else:
                plan = conn.exec_driver_sql(f"EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) {statement}", params).all()
                for (line,) in plan:
                    print("   ", line)


def measure(database: Database, filled: dict, samples: int, explain_plans: bool) -> None:
    rng = random.Random(11)
    engine = database.engine.execution_options(sagsgang_read_only=True)
    busiest_group = max(filled["members_of"], key=lambda g: len(filled["members_of"][g]))
    with engine.connect() as conn:
        busiest_user = conn.execute(text(
            "SELECT assignee_id FROM tasks WHERE state = 'open' AND assignee_id IS NOT NULL "
            "GROUP BY assignee_id ORDER BY count(*) DESC LIMIT 1")).scalar()
        open_in_group = conn.execute(text(
            "SELECT count(*) FROM tasks WHERE state = 'open' AND assignee_id IS NULL AND candidate_group_id = :g"),
            {"g": busiest_group}).scalar()
        open_for_user = conn.execute(text("SELECT count(*) FROM tasks WHERE state = 'open' AND assignee_id = :u"),
                                     {"u": busiest_user}).scalar()
    member = filled["members_of"][busiest_group][0]
    print(f"busiest user u{busiest_user - 1:05d}: {open_for_user} open tasks; largest group g{busiest_group - 1:03d}: "
          f"{len(filled['members_of'][busiest_group])} members, {open_in_group} unassigned open tasks")
    queries = {
        "my tasks (due)": lambda s, u: worklists.my_tasks(s, u),
        "my tasks (-priority, page 2)": lambda s, u: worklists.my_tasks(s, u, sort="-priority", offset=50),
        "my tasks (case type filter)": lambda s, u: worklists.my_tasks(s, u, case_type="type3"),
        "my tasks (overdue)": lambda s, u: worklists.my_tasks(s, u, due="overdue"),
        "group tasks (due)": lambda s, u: worklists.group_tasks(s, u),
        "group tasks (case number)": lambda s, u: worklists.group_tasks(s, u, sort="case"),
        "group tasks (case type, due this week)":
            lambda s, u: worklists.group_tasks(s, u, case_type="type3", due="week"),
        "group tasks (page 10)": lambda s, u: worklists.group_tasks(s, u, offset=450),
        "group tasks (grouping)": lambda s, u: worklists.group_tasks(s, u, grouping="Vej 7"),
        "delegated by me": lambda s, u: worklists.delegated_tasks(s, u),
        "counts for the navigation": lambda s, u: worklists.task_counts(s, u),
        "latest cases": lambda s, u: worklists.latest_cases(s, u),
    }
    users = [f"u{rng.randrange(filled['users']):05d}" for _ in range(samples)]
    # Every tenth sample is the worst case: the busiest user, a member of the largest group.
    users[::10] = [f"u{busiest_user - 1:05d}" if i % 2 else f"u{member - 1:05d}" for i in range(len(users[::10]))]
    # Wall time is what a user waits; on a loaded machine it includes waiting for a CPU. The
    # process's CPU time is the query's own cost on SQLite (in-process); on PostgreSQL the server's
    # share is not in it, EXPLAIN ANALYZE (--explain) shows that side.
    print(f"{'query':42} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8} {'cpu p95':>8}   "
          f"({samples} users each, 10 % the worst case)")
    for label, query in queries.items():
        timings, cpu = [], []
        with Session(engine) as session:  # warm-up: statement compilation, pooled connections
            for username in users[:5]:
                query(session, username)
        for username in users:
            with Session(engine) as session:
                started, started_cpu = time.perf_counter(), time.process_time()
                query(session, username)
                timings.append((time.perf_counter() - started) * 1000)
                cpu.append((time.process_time() - started_cpu) * 1000)
        timings.sort()
        cpu.sort()
        p95 = timings[int(len(timings) * 0.95) - 1]
        print(f"{label:42} {statistics.median(timings):8.2f} {p95:8.2f} {timings[-1]:8.2f} "
              f"{cpu[int(len(cpu) * 0.95) - 1]:8.2f}")
    if explain_plans:
        recorder = Recorder(database.engine)
        for label, query in queries.items():
            for who in (f"u{busiest_user - 1:05d}", f"u{member - 1:05d}"):
                explain(database, recorder, f"{label} — {who}",
                        lambda conn, q=query, w=who: q(Session(bind=conn), w))


def filled_already(database: Database) -> dict:
    """What `fill` returns, read back from a database it filled earlier (--reuse)."""
    with database.engine.connect() as conn:
        users = conn.execute(text("SELECT count(*) FROM users")).scalar()
        groups = conn.execute(text("SELECT count(*) FROM groups")).scalar()
        members_of: dict[int, list[int]] = {}
        for user_id, group_id in conn.execute(text("SELECT user_id, group_id FROM memberships")):
            members_of.setdefault(group_id, []).append(user_id)
    return {"users": users, "groups": groups, "members_of": members_of}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default=None, help="default: a fresh SQLite file")
    parser.add_argument("--cases", type=int, default=200_000)
    parser.add_argument("--tasks", type=int, default=1_000_000)
    parser.add_argument("--users", type=int, default=5_500)
    parser.add_argument("--groups", type=int, default=300)
    parser.add_argument("--samples", type=int, default=400)
    parser.add_argument("--explain", action="store_true")
    parser.add_argument("--keep", action="store_true", help="keep the filled database (PostgreSQL: its schema)")
    parser.add_argument("--reuse", metavar="SQLITE_FILE_OR_PG_SCHEMA",
                        help="measure a database filled by an earlier --keep run instead of filling one")
    args = parser.parse_args()
    schema, admin = None, None
    if args.database_url and args.database_url.startswith("postgresql"):
        schema = args.reuse or f"bench_{uuid.uuid4().hex[:8]}"
        admin = create_engine(args.database_url, isolation_level="AUTOCOMMIT")
        if not args.reuse:
            with admin.connect() as conn:
                conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
        database = Database(args.database_url, connect_args={"options": f"-csearch_path={schema}"})
    else:
        path = args.reuse or Path(tempfile.mkdtemp(prefix="sagsgang-tasks-")) / "tasks.sqlite3"
        database = Database(args.database_url or f"sqlite:///{path}")
    try:
        if args.reuse:
            filled = filled_already(database)
            print(f"database: {database.engine.dialect.name}; reusing {args.reuse}")
        else:
            create_schema(database.engine)
            started = time.perf_counter()
            filled = fill(database, args.cases, args.tasks, args.users, args.groups)
            print(f"database: {database.engine.dialect.name}; filled {args.cases} cases, {args.tasks} tasks, "
                  f"{args.users} users, {args.groups} groups in {time.perf_counter() - started:.0f} s"
                  + (f" (kept: {schema or path})" if args.keep else ""))
        measure(database, filled, args.samples, args.explain)
    finally:
        database.dispose()
        if schema and not (args.keep or args.reuse):
            with admin.connect() as conn:
                conn.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
        if admin is not None:
            admin.dispose()
        if not (schema or args.keep or args.reuse or args.database_url):
            shutil.rmtree(Path(path).parent)  # a 1 GB file in /tmp per run otherwise


if __name__ == "__main__":
    main()
