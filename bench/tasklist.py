"""Benchmark (issue 3): the task lists on a municipality-sized database, query and page.

    python bench/tasklist.py [--database sqlite|postgresql|both] [--cases 200000] [--tasks 1000000]
                             [--users 5500] [--groups 300] [--calls 1000] [--requests 100]
                             [--duration 10] [--connections 8] [--threads 4]

One data set is generated in memory (seeded, so every run and both databases get the same rows) and
loaded into a fresh SQLite file and/or a fresh PostgreSQL schema (dropped afterwards), built by
the app's own schema (engine.models.create_schema): executemany on SQLite, COPY on PostgreSQL.

The organisation: 30 departments with 270 teams under them, users spread over the teams by a
log-normal team size (a few teams of 100+, many of 5-20); 15 % of users are also in their
department, 8 % in a second team, 2 % cover for an absent colleague today. 20 case types with a
Zipf-like share of the cases, each handled by a few teams. Cases are opened over three years and
stay open for months (an exponential with a 6-month mean), so about 16 % are open; a task is open
only on an open case (70 % of those cases' tasks): about 11 % of the task rows. Of the open tasks
about 35 % wait unclaimed in a group queue (10 % of those at department level), the rest are
assigned, mostly to members of the handling team, weighted so some colleagues carry far more than
others; 3 % are delegated. 75 % carry a due date 3-60 days after creation, so some are overdue.

Then, per database:

(1) queries, through engine.services.worklists exactly as the pages call them (each in its own
    read-only unit of work): my tasks and my group's tasks in several sort/filter/page
    combinations, and the navigation's counts, for --calls users drawn at random, interleaved
    round-robin with a baseline, the lookup of a user by username (one unique-index probe),
    so machine noise hits all alike. p50/p95/p99 in ms and p95 against the baseline's. Then the
    same for the worst case: the user with the most open tasks and a member of the longest group
    queue. The slowest combinations (and any over the 10 ms target) are EXPLAINed for the worst case.
(2) pages, through the Flask test client, logged in (POST /login) as a sample of users: the
    task-list pages (mine, group's, filtered, a later page), p50/p95/p99, against /health.
(3) pages through gunicorn as production runs it (docker-compose.yml's web command) on 127.0.0.1 with
    wrk (`apt-get install wrk`): log in once per sampled user, then --duration seconds per run
    with --connections connections, rotating cookies and pages; pages/s and latency percentiles,
    against the same gunicorn's /health.

Targets: query p95 < 10 ms, page p95 < 50 ms, >= 300 pages/s (2-core machine, shared).
"""
from __future__ import annotations

import argparse
import bisect
import contextlib
import http.cookiejar
import json
import os
import random
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, event, insert, select  # noqa: E402
from sqlalchemy.schema import AddConstraint, DropConstraint  # noqa: E402
from werkzeug.security import generate_password_hash  # noqa: E402

from engine import crypto  # noqa: E402
from engine.context import EngineContext  # noqa: E402
from engine.db import Database, HotConnection, HotResult, UTCDateTime  # noqa: E402
from engine.models import (Case, CaseTask, CaseType, CaseTypeVersion, Group, Membership,  # noqa: E402
                           Substitution, User, create_schema)
from engine.services import worklists  # noqa: E402
from engine.settings import Settings  # noqa: E402

TARGET_QUERY_MS, TARGET_PAGE_MS, TARGET_PAGES_PER_S = 10.0, 50.0, 300.0
POSTGRES_URL = os.environ.get("SAGSGANG_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
PASSWORD = "bench"
COMPOSE = ROOT / "docker-compose.yml"
NOW = datetime.now(timezone.utc).replace(microsecond=0)
DAY = timedelta(days=1)

CASE_TYPES = [  # key, name, prefix: the twenty most common kinds of case in a municipality
    ("byggesag", "Byggesag", "BYG"), ("aktindsigt", "Aktindsigt", "AKT"), ("boligstoette", "Boligstøtte", "BST"),
    ("parkering", "Parkeringstilladelse", "PAR"), ("hjaelpemidler", "Hjælpemidler", "HJM"),
    ("pladsanvisning", "Pladsanvisning", "PLA"), ("skole", "Skoleindskrivning", "SKO"),
    ("miljoetilsyn", "Miljøtilsyn", "MIL"), ("vejarbejde", "Vejarbejde", "VEJ"), ("klage", "Klage", "KLA"),
    ("dispensation", "Dispensation", "DIS"), ("affald", "Affaldsordning", "AFF"),
    ("enkeltydelse", "Enkeltydelse", "ENK"), ("ejendomsskat", "Ejendomsskat", "EJD"),
    ("hjemmepleje", "Hjemmepleje", "HJE"), ("tilskud", "Foreningstilskud", "TIL"),
    ("jobcenter", "Jobcentersag", "JOB"), ("lokalplan", "Lokalplan", "LOK"),
    ("kontanthjaelp", "Kontanthjælp", "KON"), ("fritidspas", "Fritidspas", "FRI"),
]
TASK_NAMES = ["Registrér ansøgning", "Vurdér fuldstændighed", "Indhent oplysninger", "Partshøring",
              "Faglig vurdering", "Udarbejd afgørelse", "Godkend afgørelse", "Send afgørelse", "Journalisér",
              "GDPR-gennemgang", "Besigtigelse", "Høring af naboer", "Beregn ydelse", "Kontrollér betaling",
              "Svar borgeren", "Opfølgning"]
# The SQL columns filled in bulk; every other column of these tables is nullable.
CASE_COLUMNS = ("id", "number", "case_type_id", "version_id", "title", "grouping", "caseworker_id", "status",
                "opened_at", "closed_at", "updated_at", "gdpr_review_completed", "cpr_detected", "journal_head",
                "journal_seq", "awaits_message", "state", "row_version")
TASK_COLUMNS = ("id", "case_id", "case_type_id", "case_number", "element_id", "name", "lane", "form",
                "instructions", "state", "candidate_group_id", "assignee_id", "owner_id", "priority", "created_at",
                "due_at", "follow_up_at", "completed_at", "completed_by_id")


# --- the data ---------------------------------------------------------------------------------------

def _pick(rng: random.Random, items: list, cum: list[float]):
    return items[bisect.bisect(cum, rng.random() * cum[-1])]


def _cumulative(weights) -> list[float]:
    total, out = 0.0, []
    for w in weights:
        total += w
        out.append(total)
    return out


def generate(cases: int, tasks: int, users: int, groups: int, seed: int = 3) -> dict:
    """Every row, as dicts (small tables) and tuples in CASE_COLUMNS / TASK_COLUMNS order."""
    rng = random.Random(seed)
    departments = max(1, groups // 10)
    teams = list(range(departments + 1, groups + 1))
    group_rows = [{"id": g, "key": f"afd{g:02d}", "name": f"Afdeling {g}", "parent_id": None}
                  for g in range(1, departments + 1)]
    parent = {}
    for t in teams:
        parent[t] = rng.randrange(1, departments + 1)
        group_rows.append({"id": t, "key": f"team{t:03d}", "name": f"Team {t}", "parent_id": parent[t]})
    if not teams:  # fewer than two groups: the department is the team
        teams, parent = [1], {1: None}
    password_hash = generate_password_hash(PASSWORD)
    user_rows = [{"id": u, "username": f"u{u:05d}", "name": f"Medarbejder {u}", "email": f"u{u:05d}@kommune.dk",
                  "password_hash": password_hash, "is_active": True, "created_at": NOW - 900 * DAY}
                 for u in range(1, users + 1)]
    # Team sizes: log-normal, so a few teams are large and most are small.
    team_cum = _cumulative(rng.lognormvariate(0, 0.9) for _ in teams)
    members: dict[int, list[int]] = {g: [] for g in range(1, groups + 1)}
    team_of = {}
    for u in range(1, users + 1):
        team = _pick(rng, teams, team_cum)
        team_of[u] = team
        members[team].append(u)
        if parent[team] and rng.random() < 0.15:
            members[parent[team]].append(u)
        if rng.random() < 0.08:
            other = rng.choice(teams)
            if u not in members[other]:
                members[other].append(u)
    membership_rows = [{"user_id": u, "group_id": g} for g, us in members.items() for u in us]
    # Within a group some colleagues carry much more than others.
    member_cum = {g: _cumulative(rng.lognormvariate(0, 1.0) for _ in us) for g, us in members.items() if us}
    today = NOW.date()
    substitution_rows = []
    for u in rng.sample(range(1, users + 1), users // 50):
        colleagues = [c for c in members[team_of[u]] if c != u]
        if colleagues:
            substitution_rows.append({"user_id": rng.choice(colleagues), "substitute_id": u,
                                      "from_date": today - 3 * DAY, "to_date": today + 4 * DAY,
                                      "created_at": NOW - 3 * DAY})
    type_rows, version_rows = [], []
    for i, (key, name, prefix) in enumerate(CASE_TYPES, start=1):
        type_rows.append({"id": i, "key": key, "name": name, "prefix": prefix, "kle_number": "00.00.00",
                          "handlingsfacet": "G01", "deletion_rule": "P1825D",
                          "personal_data_category": "ordinary", "lanes": {}, "created_at": NOW - 1000 * DAY})
        version_rows.append({"id": i, "case_type_id": i, "number": 1, "status": "published", "process_id": key,
                             "content_hash": f"{i:064d}", "created_at": NOW - 1000 * DAY,
                             "published_at": NOW - 1000 * DAY})
    type_ids = list(range(1, len(CASE_TYPES) + 1))
    type_cum = _cumulative(1 / i for i in type_ids)
    handlers: dict[int, list[int]] = {t: [] for t in type_ids}
    for team in teams:
        handlers[_pick(rng, type_ids, type_cum)].append(team)
    for t in type_ids:
        if not handlers[t]:
            handlers[t].append(rng.choice(teams))
    handler_cum = {t: _cumulative(1 / (j + 1) for j in range(len(hs))) for t, hs in handlers.items()}
    grouping_cum = _cumulative(1 / (k + 1) ** 0.8 for k in range(5000))
    groupings = [f"Vej {k}" for k in range(5000)]
    state_blob = json.dumps({"tasks": {str(k): {"state": 64, "data": {"felt": "værdi" * 4}} for k in range(6)}})

    case_rows, case_meta, sequence = [], [None], {}
    # Ids and numbers in the order the cases were opened, as the engine gives them.
    openings = sorted(NOW - timedelta(seconds=rng.uniform(0, 3 * 365 * 86400)) for _ in range(cases))
    for c, opened in enumerate(openings, start=1):
        t = _pick(rng, type_ids, type_cum)
        open_case = (NOW - opened).days < rng.expovariate(1 / 180)
        year = opened.year
        seq = sequence[(t, year)] = sequence.get((t, year), 0) + 1
        number = f"{CASE_TYPES[t - 1][2]}-{year}-{seq:06d}"
        team = _pick(rng, handlers[t], handler_cum[t])
        grouping = _pick(rng, groupings, grouping_cum) if rng.random() < 0.8 else ""
        caseworker = _pick(rng, members[team], member_cum[team]) if members[team] else rng.randrange(1, users + 1)
        closed = None if open_case else opened + timedelta(days=rng.uniform(1, 180))
        if closed is not None and closed > NOW:
            closed = NOW - DAY
        case_rows.append((c, number, t, t, f"{CASE_TYPES[t - 1][1]}, {grouping or 'borger'}", grouping, caseworker,
                          "open" if open_case else "closed", opened, closed, closed or opened + DAY,
                          not open_case, False, "0" * 64, 0, False, state_blob, 1))
        case_meta.append((t, number, team, opened, closed, open_case))

    # Every case gets one task, the rest fall on cases at random (about 5 per case).
    task_cases = list(range(1, cases + 1)) + [rng.randrange(1, cases + 1) for _ in range(max(0, tasks - cases))]
    task_cases = task_cases[:tasks]
    task_rows = []
    open_mine: dict[int, int] = {}
    open_queue: dict[int, int] = {}
    for i, c in enumerate(task_cases):
        t, number, team, opened, closed, open_case = case_meta[c]
        name = TASK_NAMES[i % len(TASK_NAMES)]
        element = f"Task_{i % len(TASK_NAMES):02d}"
        group = team
        owner = due = follow_up = completed = completed_by = None
        priority = rng.choice((30, 50, 50, 50, 70, 90))
        if open_case and rng.random() < 0.7:
            state = "open"
            created = NOW - timedelta(seconds=min((NOW - opened).total_seconds(), rng.expovariate(1 / (25 * 86400))))
            if parent.get(team) and rng.random() < 0.1:
                group = parent[team]
            if rng.random() < 0.35 or not members[group]:
                assignee = None
                open_queue[group] = open_queue.get(group, 0) + 1
            else:
                assignee = _pick(rng, members[group], member_cum[group]) if rng.random() < 0.9 \
                    else rng.randrange(1, users + 1)
                if rng.random() < 0.03:
                    delegate = rng.choice(members[group])
                    if delegate != assignee:
                        owner, assignee = assignee, delegate
                open_mine[assignee] = open_mine.get(assignee, 0) + 1
            if rng.random() < 0.75:
                due = created + timedelta(days=rng.uniform(3, 60))
            if rng.random() < 0.1:
                follow_up = created + timedelta(days=rng.uniform(1, 30))
        else:
            end = closed or NOW
            created = opened + timedelta(seconds=rng.uniform(0, max(1.0, (end - opened).total_seconds())))
            state = "completed" if rng.random() < 0.95 else "cancelled"
            assignee = _pick(rng, members[team], member_cum[team]) if members[team] else rng.randrange(1, users + 1)
            if rng.random() < 0.3:
                group = None
            if rng.random() < 0.75:
                due = created + timedelta(days=rng.uniform(3, 60))
            completed = min(end, created + timedelta(days=rng.uniform(0.05, 20)))
            completed_by = assignee if state == "completed" else None
        task_rows.append((str(uuid.UUID(int=rng.getrandbits(128), version=4)), c, t, number, element, name,
                          "Sagsbehandler", f"{element.lower()}.json", "", state, group, assignee, owner, priority,
                          created, due, follow_up, completed, completed_by))
    task_rows.sort(key=lambda row: row[14])  # stored in the order they were created, as in real life
    queue_of_user = {u: sum(open_queue.get(g, 0) for g in gs) for u, gs in _groups_of(members).items()}
    return {"groups": group_rows, "users": user_rows, "memberships": membership_rows,
            "substitutions": substitution_rows, "case_types": type_rows, "versions": version_rows,
            "cases": case_rows, "tasks": task_rows, "members": members, "open_mine": open_mine,
            "open_queue": open_queue, "queue_of_user": queue_of_user,
            "groupings": [g for g in groupings[:200]], "type_keys": [k for k, _, _ in CASE_TYPES],
            "type_cum": type_cum, "n_users": users}


def _groups_of(members: dict[int, list[int]]) -> dict[int, list[int]]:
    out: dict[int, list[int]] = {}
    for g, us in members.items():
        for u in us:
            out.setdefault(u, []).append(g)
    return out


# --- loading --------------------------------------------------------------------------------------

class Target:
    """A fresh database: a SQLite file in a temporary folder, or a PostgreSQL schema of its own."""

    def __init__(self, kind: str, workdir: Path):
        self.kind = kind
        self.schema = None
        if kind == "sqlite":
            self.url = f"sqlite:///{workdir / 'tasklist.sqlite3'}"
            self.app_url = self.url
            self.database = Database(self.url)
        else:
            self.schema = f"bench_tasklist_{uuid.uuid4().hex[:8]}"
            self.admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
            with self.admin.connect() as conn:
                conn.exec_driver_sql(f'CREATE SCHEMA "{self.schema}"')
            self.url = POSTGRES_URL
            self.app_url = f"{POSTGRES_URL}?options=-csearch_path%3D{self.schema}"
            self.database = Database(POSTGRES_URL, connect_args={"options": f"-csearch_path={self.schema}"})

    def drop(self) -> None:
        self.database.dispose()
        if self.schema:
            with self.admin.connect() as conn:
                conn.exec_driver_sql(f'DROP SCHEMA "{self.schema}" CASCADE')
            self.admin.dispose()


def load(target: Target, data: dict) -> dict[str, float]:
    """Create the schema and fill it; returns seconds per phase.

    As a restore does, the two big tables are filled without their secondary indexes and foreign
    key checks: the indexes are built again from the models afterwards, and on PostgreSQL the
    foreign keys are added back (which checks every row). The schema is the models' either way.
    """
    timings = {}
    engine = target.database.engine
    sqlite = target.kind == "sqlite"
    started = time.perf_counter()
    create_schema(engine)
    big = (Case.__table__, CaseTask.__table__)
    indexes = [index for table in big for index in table.indexes]
    foreign_keys = [] if sqlite else [fk for table in big for fk in table.foreign_key_constraints]
    with engine.begin() as conn:
        for index in indexes:
            index.drop(conn)
        for fk in foreign_keys:
            conn.execute(DropConstraint(fk))
        for table, rows in ((Group.__table__, data["groups"]), (User.__table__, data["users"]),
                            (Membership.__table__, data["memberships"]),
                            (Substitution.__table__, data["substitutions"]),
                            (CaseType.__table__, data["case_types"]), (CaseTypeVersion.__table__, data["versions"])):
            if rows:
                conn.execute(insert(table), rows)
    timings["organisation"] = time.perf_counter() - started
    for table, columns, rows in ((Case.__table__, CASE_COLUMNS, data["cases"]),
                                 (CaseTask.__table__, TASK_COLUMNS, data["tasks"])):
        started = time.perf_counter()
        with engine.connect() as conn, _bulk(conn), conn.begin():
            if sqlite:
                times = [i for i, c in enumerate(columns) if isinstance(table.c[c].type, UTCDateTime)]
                sql = f"INSERT INTO {table.name} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"
                for start in range(0, len(rows), 50_000):
                    chunk = [list(row) for row in rows[start:start + 50_000]]
                    for row in chunk:
                        for i in times:
                            if row[i] is not None:  # SQLAlchemy's storage format for UTCDateTime on SQLite
                                row[i] = row[i].replace(tzinfo=None).isoformat(" ", "microseconds")
                    conn.exec_driver_sql(sql, [tuple(row) for row in chunk])
            else:
                # As pg_restore --disable-triggers: the search-visibility triggers (migration 0022)
                # fire per row and made COPY of 200,000 tasks take over ten minutes. They maintain
                # the search index's rows, which no task list reads.
                conn.exec_driver_sql(f"ALTER TABLE {table.name} DISABLE TRIGGER USER")
                with conn.connection.driver_connection.cursor() as cursor:
                    with cursor.copy(f"COPY {table.name} ({', '.join(columns)}) FROM STDIN") as copy:
                        for row in rows:
                            copy.write_row(row)
                conn.exec_driver_sql(f"ALTER TABLE {table.name} ENABLE TRIGGER USER")
        timings[table.name] = time.perf_counter() - started
    started = time.perf_counter()
    with engine.connect() as conn, _bulk(conn), conn.begin():
        for index in indexes:
            index.create(conn)
        for fk in foreign_keys:
            conn.execute(AddConstraint(fk))
    timings["indexes" if sqlite else "indexes, foreign keys"] = time.perf_counter() - started
    started = time.perf_counter()
    with engine.connect() as conn:
        if sqlite:
            conn.exec_driver_sql("ANALYZE")
            conn.commit()
        else:  # what autovacuum would have done by the time anyone looks: statistics, visibility map
            conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql("VACUUM ANALYZE")
            # Index-only scans skip the table only on all-visible pages; VACUUM cannot mark them while
            # another transaction on the server is older than the load (a shared server's test runs).
            pages, visible = conn.exec_driver_sql(
                "SELECT relpages, relallvisible FROM pg_class WHERE oid = 'tasks'::regclass").one()
            print(f"tasks: {visible} of {pages} pages all-visible after VACUUM"
                  + ("" if visible >= 0.99 * pages else " (an older transaction on the server held VACUUM back: "
                     "expect heap fetches and bitmap scans in the plans)"))
    timings["analyze"] = time.perf_counter() - started
    return timings


@contextlib.contextmanager
def _bulk(conn):
    """Settings for one bulk load on this connection, put back afterwards (the pooled connection
    goes on to serve the measurements): on SQLite a large page cache and no foreign-key checks
    (set before the transaction begins), on PostgreSQL memory for building indexes."""
    if conn.dialect.name == "sqlite":
        raw = conn.connection.driver_connection
        cache = raw.execute("PRAGMA cache_size").fetchone()[0]
        raw.execute("PRAGMA cache_size = -1000000")
        raw.execute("PRAGMA foreign_keys = OFF")
        try:
            yield
        finally:
            raw.execute("PRAGMA foreign_keys = ON")
            raw.execute(f"PRAGMA cache_size = {cache}")
    else:
        conn.exec_driver_sql("SET maintenance_work_mem = '512MB'")
        conn.commit()
        try:
            yield
        finally:
            conn.exec_driver_sql("RESET maintenance_work_mem")
            conn.commit()


# --- measuring ------------------------------------------------------------------------------------

def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, int(round(p / 100 * len(ordered))) - 1))]


def mark(value: float, target: float, higher_is_better: bool = False) -> str:
    ok = value >= target if higher_is_better else value < target
    return "ok " if ok else "MISS"


def query_variants(data: dict) -> dict:
    """label -> (kind, call(session, username, rng)); kind says which worst case applies."""
    keys, type_cum, groupings = data["type_keys"], data["type_cum"], data["groupings"]

    def a_type(rng):
        return _pick(rng, keys, type_cum)

    return {
        "baseline: user by username": ("base", lambda s, u, rng: s.connection().execute(
            select(User.id).where(User.username == u)).scalar()),
        "my tasks, by due date": ("mine", lambda s, u, rng: worklists.my_tasks(s, u, limit=25)),
        "my tasks, -priority, overdue": ("mine", lambda s, u, rng: worklists.my_tasks(
            s, u, sort="-priority", due="overdue", limit=25)),
        "my tasks, case type, by case no.": ("mine", lambda s, u, rng: worklists.my_tasks(
            s, u, sort="case", case_type=a_type(rng), limit=25)),
        "group tasks, by due date": ("group", lambda s, u, rng: worklists.group_tasks(s, u, limit=25)),
        "group tasks, -created, page 5": ("group", lambda s, u, rng: worklists.group_tasks(
            s, u, sort="-created", limit=25, offset=100)),
        "group tasks, case type, this week": ("group", lambda s, u, rng: worklists.group_tasks(
            s, u, case_type=a_type(rng), due="week", limit=25)),
        "group tasks, grouping": ("group", lambda s, u, rng: worklists.group_tasks(
            s, u, grouping=rng.choice(groupings), limit=25)),
        "navigation counts": ("both", lambda s, u, rng: worklists.task_counts(s, u)),
    }


def run_queries(ctx: EngineContext, variants: dict, users: list[str], seed: int) -> dict[str, dict[str, list]]:
    """Each user's calls run round-robin over the variants, each in its own read-only unit of work.

    Wall time is what a user waits, including waiting for a CPU on a busy machine; this process's
    CPU time is the call's own cost on SQLite (in-process; on PostgreSQL only the client's side)."""
    rng = random.Random(seed)
    timings: dict[str, dict[str, list]] = {label: {"wall": [], "cpu": []} for label in variants}
    for username in users:
        for label, (_, call) in variants.items():
            started, started_cpu = time.perf_counter(), time.process_time()
            with ctx.unit_of_work(read_only=True) as uow:
                call(uow.session, username, rng)
            timings[label]["wall"].append((time.perf_counter() - started) * 1000)
            timings[label]["cpu"].append((time.process_time() - started_cpu) * 1000)
    return timings


def print_query_table(title: str, timings: dict[str, dict[str, list]]) -> None:
    base = percentile(timings["baseline: user by username"]["wall"], 95)
    n = len(next(iter(timings.values()))["wall"])
    print(f"\n{title} ({n} calls each, ms; target p95 < {TARGET_QUERY_MS:g} ms)")
    print(f"  {'query':36} {'p50':>7} {'p95':>7} {'p99':>7} {'max':>7} {'cpu p95':>8}   p95/baseline")
    for label, t in timings.items():
        wall = t["wall"]
        p95 = percentile(wall, 95)
        verdict = "" if label.startswith("baseline") else mark(p95, TARGET_QUERY_MS)
        print(f"  {label:36} {percentile(wall, 50):7.2f} {p95:7.2f} {percentile(wall, 99):7.2f} {max(wall):7.2f} "
              f"{percentile(t['cpu'], 95):8.2f}   {p95 / base:5.1f}x  {verdict}")


def explain(target: Target, ctx: EngineContext, label: str, call, username: str, shown: set) -> None:
    """The plans of the statements on the task index that one call runs (each shape once)."""
    statements: list[tuple[str, object]] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        if "FROM tasks" in statement and not statement.lstrip().upper().startswith("EXPLAIN"):
            statements.append((statement, parameters))

    hot_execute = HotConnection.execute

    def record_prepared(hot, sql, params=None):  # the task lists' statements bypass SQLAlchemy's events
        result = hot_execute(hot, sql, params)
        if isinstance(result, HotResult) and not isinstance(params, list):
            compiled = HotConnection._prepared[id(sql)].compiled(hot.dialect, params or {})
            record(None, None, *compiled.statement_and_parameters(params or {}), None, False)
        return result

    engine = target.database.engine
    event.listen(engine, "before_cursor_execute", record)
    HotConnection.execute = record_prepared
    try:
        with ctx.unit_of_work(read_only=True) as uow:
            call(uow.session, username, random.Random(5))
    finally:
        HotConnection.execute = hot_execute
        event.remove(engine, "before_cursor_execute", record)
    print(f"\n  -- {label} (as {username})")
    with engine.connect() as conn:
        for statement, params in statements:
            sql = " ".join(statement.split())
            print("    SQL:", _short(sql, 400))
            shape = re.sub(r"\b(IN \([^)]*\))", "IN (...)", sql)
            if shape in shown:
                print("       (plan shown above)")
                continue
            shown.add(shape)
            if target.kind == "sqlite":
                for row in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", params).all():
                    print("      ", _short(row[-1]))
            else:
                for (line,) in conn.exec_driver_sql(
                        f"EXPLAIN (ANALYZE, BUFFERS, COSTS OFF, TIMING OFF, SUMMARY ON) {statement}", params).all():
                    print("      ", _short(line))


def _short(line: str, width: int = 150) -> str:
    return line if len(line) <= width else line[:width - 3] + "..."


def measure_queries(target: Target, ctx: EngineContext, data: dict, calls: int, explain_count: int) -> dict:
    variants = query_variants(data)
    rng = random.Random(17)
    users = [f"u{rng.randrange(1, data['n_users'] + 1):05d}" for _ in range(calls)]
    run_queries(ctx, variants, users[:50], seed=1)  # warm-up: pool, compiled-statement cache, page cache
    timings = run_queries(ctx, variants, users, seed=2)
    print_query_table("queries, users drawn at random", timings)
    busiest = max(data["open_mine"], key=data["open_mine"].get)
    longest = max(data["queue_of_user"], key=data["queue_of_user"].get)
    print(f"\n  worst case: u{busiest:05d} holds {data['open_mine'][busiest]} open tasks; u{longest:05d}'s groups "
          f"have {data['queue_of_user'][longest]} unclaimed open tasks")
    worst_calls = max(100, calls // 10)
    worst: dict[str, list[float]] = {}
    for label, (kind, call) in variants.items():
        user = f"u{(longest if kind == 'group' else busiest):05d}"
        worst.update(run_queries(ctx, {label: (kind, call)}, [user] * worst_calls, seed=3))
    print_query_table("queries, worst case", worst)
    # The slowest for the worst case by median (steadier than p95 on a shared machine).
    ranked = sorted((label for label in variants if not label.startswith("baseline")),
                    key=lambda label: percentile(worst[label]["wall"], 50), reverse=True)
    if explain_count:
        print(f"\nplans of the {explain_count} slowest for the worst case "
              f"({'EXPLAIN QUERY PLAN' if target.kind == 'sqlite' else 'EXPLAIN (ANALYZE, BUFFERS)'})")
    shown: set = set()
    for label in ranked[:explain_count]:
        kind, call = variants[label]
        explain(target, ctx, label, call, f"u{(longest if kind == 'group' else busiest):05d}", shown)
    return {"timings": timings, "worst": worst, "busiest": busiest, "longest": longest}


PAGES = {"my tasks": "/tasks/mine", "group's tasks": "/tasks/group",
         "my tasks, overdue by priority": "/tasks/mine?sort=-priority&due=overdue",
         "group's tasks, newest, page 3": "/tasks/group?sort=-created&page=3"}
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def page_users(data: dict, found: dict, count: int) -> list[str]:
    rng = random.Random(23)
    sample = [found["busiest"], found["longest"]] + rng.sample(range(1, data["n_users"] + 1), max(0, count - 2))
    return [f"u{u:05d}" for u in sample]


def app_environment(target: Target, workdir: Path) -> dict:
    return {**{k: v for k, v in os.environ.items() if not k.startswith("SAGSGANG_")},
            "SAGSGANG_MODE": "embedded", "SAGSGANG_DATABASE_URL": target.app_url,
            "SAGSGANG_SECRET_KEY": "bench-" + uuid.uuid4().hex, "SAGSGANG_DATA_KEY": crypto.new_data_key(),
            "SAGSGANG_LOOKUP_KEY": "bench-" + uuid.uuid4().hex + uuid.uuid4().hex,
            "SAGSGANG_INSTANCE_PATH": str(workdir / "instance"), "SAGSGANG_NOTIFY_EMAIL": "off",
            "PYTHONPATH": str(ROOT)}


def measure_test_client(env: dict, users: list[str], requests: int) -> dict:
    from webapp import create_app

    app = create_app(Settings.from_env(env))
    clients = []
    for username in users:
        client = app.test_client()
        token = CSRF.search(client.get("/login").get_data(as_text=True)).group(1)
        response = client.post("/login", data={"username": username, "password": PASSWORD, "csrf_token": token})
        assert response.status_code == 302, (username, response.status_code)
        clients.append(client)
    kinds = {"health (baseline)": "/health", **PAGES}
    timings: dict[str, dict[str, list]] = {kind: {"wall": [], "cpu": []} for kind in kinds}
    warm_up = 5
    for i in range(requests + warm_up):
        client = clients[i % len(clients)]
        for kind, path in kinds.items():
            started, started_cpu = time.perf_counter(), time.process_time()
            response = client.get(path)
            elapsed, cpu = (time.perf_counter() - started) * 1000, (time.process_time() - started_cpu) * 1000
            assert response.status_code == 200, (path, response.status_code)
            if i >= warm_up:  # the first rounds warm the templates and pools
                timings[kind]["wall"].append(elapsed)
                timings[kind]["cpu"].append(cpu)
    # What one page asks of the database (as the busiest user, the first client).
    engine = app.extensions["sagsgang"].database.engine
    counted = {"statements": 0, "checkouts": 0}

    def statement(*_):
        counted["statements"] += 1

    def checkout(*_):
        counted["checkouts"] += 1

    def prepared(hot, sql, params=None):  # statements on the unit of work's DBAPI connection (no SQLAlchemy event)
        result = hot_execute(hot, sql, params)
        if isinstance(result, HotResult):
            statement()
        return result

    hot_execute = HotConnection.execute
    event.listen(engine, "before_cursor_execute", statement)
    event.listen(engine.pool, "checkout", checkout)
    HotConnection.execute = prepared
    try:
        clients[0].get(PAGES["my tasks"])
    finally:
        HotConnection.execute = hot_execute
        event.remove(engine, "before_cursor_execute", statement)
        event.remove(engine.pool, "checkout", checkout)
    app.extensions["sagsgang"].database.dispose()
    base = percentile(timings["health (baseline)"]["wall"], 95)
    print(f"\npages through the Flask test client ({requests} requests each, {len(users)} users logged in, ms; "
          f"target p95 < {TARGET_PAGE_MS:g} ms)")
    print(f"  {'page':36} {'p50':>7} {'p95':>7} {'p99':>7} {'max':>7} {'cpu p95':>8}   p95/health")
    for kind, t in timings.items():
        values = t["wall"]
        p95 = percentile(values, 95)
        verdict = "" if kind.startswith("health") else mark(p95, TARGET_PAGE_MS)
        print(f"  {kind:36} {percentile(values, 50):7.2f} {p95:7.2f} {percentile(values, 99):7.2f} "
              f"{max(values):7.2f} {percentile(t['cpu'], 95):8.2f}   {p95 / base:5.1f}x  {verdict}")
    print(f"  one 'my tasks' page runs {counted['statements']} SQL statements in {counted['checkouts']} "
          f"connection checkouts (units of work)")
    return timings


WRK_SCRIPT = """
local requests = {%s}
local i = 0
request = function()
  i = i + 1
  local r = requests[(i %% #requests) + 1]
  return wrk.format("GET", r[1], {["Cookie"] = r[2]})
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("WRKRESULT %%d %%d %%d %%d %%d %%d %%d %%d\\n", summary.requests, summary.duration,
    e.status, e.connect + e.read + e.write + e.timeout, latency:percentile(50), latency:percentile(95),
    latency:percentile(99), latency.max))
end
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _login(base: str, username: str) -> str:
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    token = CSRF.search(opener.open(f"{base}/login", timeout=30).read().decode()).group(1)
    form = urllib.parse.urlencode({"username": username, "password": PASSWORD, "csrf_token": token}).encode()
    opener.open(f"{base}/login", data=form, timeout=30).read()
    cookie = "; ".join(f"{c.name}={c.value}" for c in jar)
    check = urllib.request.Request(f"{base}/tasks/mine", headers={"Cookie": cookie})
    with urllib.request.urlopen(check, timeout=30) as response:
        assert response.status == 200 and b"task-table" in response.read(), username
    return cookie


def _wrk(base: str, pairs: list[tuple[str, str]], seconds: int, connections: int, workdir: Path) -> dict:
    script = workdir / "wrk.lua"
    script.write_text(WRK_SCRIPT % ", ".join(f"{{{json.dumps(p)}, {json.dumps(c)}}}" for p, c in pairs))
    out = subprocess.run(["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--timeout", "10s", "-s", str(script),
                          base + pairs[0][0]], capture_output=True, text=True, timeout=seconds + 60)
    line = next((ln for ln in out.stdout.splitlines() if ln.startswith("WRKRESULT")), None)
    if line is None:
        raise RuntimeError(f"wrk printed no result: {out.stdout}\n{out.stderr}")
    n, duration, status_errors, socket_errors, p50, p95, p99, worst = map(int, line.split()[1:])
    return {"requests": n, "rate": n / (duration / 1e6), "non_2xx": status_errors, "socket_errors": socket_errors,
            "p50": p50 / 1000, "p95": p95 / 1000, "p99": p99 / 1000, "max": worst / 1000}


def _cpu_seconds(pid: int) -> float:
    """User + system CPU of a process and its children so far (the gunicorn arbiter and workers)."""
    total = 0.0
    tick = os.sysconf("SC_CLK_TCK")
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        children = []
    for child in [pid, *map(int, children)]:
        try:
            fields = Path(f"/proc/{child}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / tick  # utime, stime
    return total


def production_command(port: int, workers: int | None = None, threads: int | None = None) -> list[str]:
    """The web service's command from docker-compose.yml (the Dockerfile's CMD is the same:
    tests/unit/test_compose.py), bound to 127.0.0.1:`port`: what production runs, access log
    included; --workers/--threads replace its own only when given."""
    import yaml

    command = [str(part) for part in yaml.safe_load(COMPOSE.read_text())["services"]["web"]["command"]]
    for flag, value in (("--bind", f"127.0.0.1:{port}"), ("--workers", workers), ("--threads", threads)):
        if value is not None:
            command[command.index(flag) + 1] = str(value)
    return command


def measure_gunicorn(env: dict, users: list[str], workdir: Path, seconds: int, connections: int,
                     threads: int | None = None, workers: int | None = None) -> dict | None:
    if shutil.which("wrk") is None:
        print("\ngunicorn: skipped, wrk is not installed (apt-get install -y wrk)")
        return None
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    log = open(workdir / "gunicorn.log", "w")  # its access log too, as production writes it to stdout
    command = production_command(port, workers, threads)
    server = subprocess.Popen([sys.executable, "-m", *command], cwd=ROOT, env=env, stdout=log,
                              stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{base}/health", timeout=5) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"gunicorn did not start; see {workdir / 'gunicorn.log'}")
            time.sleep(0.3)
        cookies = [_login(base, username) for username in users]
        runs = {
            "health (baseline)": [("/health", "")],
            "my tasks": [("/tasks/mine", c) for c in cookies],
            "mix of the four task pages": [(path, c) for c in cookies for path in PAGES.values()],
        }
        _wrk(base, runs["mix of the four task pages"], 2, connections, workdir)  # warm-up
        results = {}
        for label, pairs in runs.items():
            # The server's own CPU per page: what the two cores could serve if wrk and the
            # machine's other work took none (the rate itself shares the cores with both).
            cpu_before = _cpu_seconds(server.pid)
            results[label] = _wrk(base, pairs, seconds, connections, workdir)
            results[label]["cpu_ms"] = (_cpu_seconds(server.pid) - cpu_before) * 1000 / max(1, results[label]["requests"])
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        log.close()
    health = results["health (baseline)"]["rate"]
    shown = " ".join(part for part in command if part != "webapp:create_app()")
    print(f"\npages through {shown} 'webapp:create_app()', wrk -t1 -c{connections} "
          f"-d{seconds}s on 127.0.0.1 (keep-alive), {len(users)} users' cookies "
          f"(target >= {TARGET_PAGES_PER_S:g} pages/s, p95 < {TARGET_PAGE_MS:g} ms)")
    cores = os.cpu_count() or 1
    print(f"  {'run':30} {'pages/s':>8} {'p50 ms':>7} {'p95 ms':>7} {'p99 ms':>7} {'errors':>6}   rate/health"
          f"  server cpu ms/page  ({cores} cores / cpu)")
    for label, r in results.items():
        verdict = "" if label.startswith("health") else (
            f"{mark(r['rate'], TARGET_PAGES_PER_S, True)} pages/s, {mark(r['p95'], TARGET_PAGE_MS)} p95")
        print(f"  {label:30} {r['rate']:8.1f} {r['p50']:7.1f} {r['p95']:7.1f} {r['p99']:7.1f} "
              f"{r['non_2xx'] + r['socket_errors']:6d}   {r['rate'] / health:5.2f}x  {verdict:24}"
              f" {r['cpu_ms']:6.2f}  ({cores * 1000 / max(r['cpu_ms'], 0.001):6.0f}/s)")
    return results


def tree_state() -> str:
    """The commit measured, and whether engine/ or webapp/ had changes not yet committed."""
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                              timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "engine", "webapp", "migrations"], cwd=ROOT,
                               capture_output=True, text=True, timeout=10).stdout.splitlines()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return head + (f" with {len(dirty)} uncommitted files in engine/, webapp/, migrations/" if dirty else "")


def machine_state() -> str:
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    return f"{os.cpu_count()} cores, load average {load}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--cases", type=int, default=200_000)
    parser.add_argument("--tasks", type=int, default=1_000_000)
    parser.add_argument("--users", type=int, default=5_500)
    parser.add_argument("--groups", type=int, default=300)
    parser.add_argument("--calls", type=int, default=1000, help="users sampled per query (each runs every query)")
    parser.add_argument("--requests", type=int, default=100, help="test-client requests per page")
    parser.add_argument("--page-users", type=int, default=20, help="users logged in for the page runs")
    parser.add_argument("--duration", type=int, default=10, help="seconds per wrk run")
    parser.add_argument("--connections", type=int, default=8, help="wrk connections")
    parser.add_argument("--threads", type=int, help="gunicorn threads per worker (default: docker-compose.yml's)")
    parser.add_argument("--workers", type=int, help="gunicorn worker processes (default: docker-compose.yml's)")
    parser.add_argument("--explain", type=int, default=3, help="also EXPLAIN this many slowest queries")
    parser.add_argument("--skip-pages", action="store_true", help="queries only")
    args = parser.parse_args()
    kinds = ["sqlite", "postgresql"] if args.database == "both" else [args.database]
    print(f"command: python bench/tasklist.py {' '.join(sys.argv[1:])}".rstrip())
    print(f"tree: {tree_state()}")
    print(f"machine: {machine_state()}")
    started = time.perf_counter()
    data = generate(args.cases, args.tasks, args.users, args.groups)
    open_tasks = sum(1 for row in data["tasks"] if row[9] == "open")
    print(f"generated {args.cases} cases, {args.tasks} tasks ({open_tasks / max(1, args.tasks):.1%} open; "
          f"{sum(data['open_queue'].values())} unclaimed in group queues), {args.users} users, {args.groups} groups, "
          f"{len(data['memberships'])} memberships, {len(data['substitutions'])} substitutions "
          f"in {time.perf_counter() - started:.0f} s")
    for kind in kinds:
        workdir = Path(tempfile.mkdtemp(prefix="sagsgang-tasklist-"))
        target = Target(kind, workdir)
        try:
            print(f"\n=== {kind} " + "=" * 60)
            timings = load(target, data)
            print("loaded in " + ", ".join(f"{name} {seconds:.0f} s" for name, seconds in timings.items())
                  + f"  ({machine_state()})")
            ctx = EngineContext(Settings.from_env(app_environment(target, workdir)), target.database)
            found = measure_queries(target, ctx, data, args.calls, args.explain)
            if not args.skip_pages:
                env = app_environment(target, workdir)
                users = page_users(data, found, args.page_users)
                measure_test_client(env, users, args.requests)
                measure_gunicorn(env, users, workdir, args.duration, args.connections, args.threads, args.workers)
            print(f"\n({machine_state()})")
        finally:
            target.drop()
            shutil.rmtree(workdir, ignore_errors=True)
    print(f"\ntotal {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
