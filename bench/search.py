"""Benchmark: search p50/p95/p99 over 200,000 cases with form data and 50,000 documents.

    python bench/search.py [--cases 200000] [--documents 50000] [--queries 320]
                           [--backend sqlite|postgresql|both] [--postgres-url URL]
                           [--sqlite-file PATH] [--postgres-schema NAME]   (keep the data, reuse it)

Builds the data set directly in the tables (a case row, one task row and the index row that
engine.search.index.add_case writes for its title, grouping and start form; a document's index
row as index_document writes it), not through open_case: 200,000 cases through the full engine
would take an hour, and what is measured here is reading. The text is generated: Danish street
names, names and towns, and project descriptions and document bodies drawn Zipf-like from a
vocabulary of real Danish words plus 20,000 made-up ones, so some words are in half the cases and
most are rare, as in real text.

Each query goes through engine.search.service.search as the UI and API call it: permissions (an
administrator, and a caseworker who sees the cases of her own tasks and groups: her visibility
tokens in the full-text query), total count, one ranked page of 20, details, highlighted
snippets, and the access-log write. The mix:
a rare word (a surname), a street (hundreds of cases), a common word (tens of thousands), a
phrase, two words, a filtered search (case type + status + date range), a document word, and a
word that matches nothing. Prints per-kind and overall percentiles in milliseconds, and the
ratio of each p95 to a baseline measured in the same run on the same data: the same words
looked up in the full-text index alone (20 ids, no permissions, ranking, count or snippets).
"""
from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
import uuid
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import create_engine, insert, select, text  # noqa: E402

from engine.context import EngineContext  # noqa: E402
from engine.db import Database, utcnow  # noqa: E402
from engine.models import Case, CaseTask, CaseType, CaseTypeVersion, Group, SearchDocument, User, create_schema  # noqa: E402
from engine.search import index as search_index, service  # noqa: E402
from engine.search.backends import backend_for  # noqa: E402
from engine.search.text import parse_query  # noqa: E402
from engine.search.text import body_of, clean, form_fields  # noqa: E402
from engine.services.org import load_organisation  # noqa: E402
from engine.settings import Settings  # noqa: E402
from webapp.serving import freeze_startup_objects  # noqa: E402

STREETS = ["Skagensvej", "Hjørringvej", "Søndergade", "Danmarksgade", "Havnegade", "Kirkevej", "Strandvejen",
           "Rådhus Allé", "Nørregade", "Vestergade", "Østergade", "Parallelvej", "Lodsvej", "Jernbanegade",
           "Hellevej", "Sæbyvej", "Abildgårdsvej", "Knivholtvej", "Bangsbovej", "Ålbæk Stationsvej"]
TOWNS = ["Frederikshavn", "Sæby", "Skagen", "Ålbæk", "Strandby", "Østervrå", "Gærum", "Hørby", "Jerup"]
FIRST = ["Jens", "Anne", "Mette", "Lars", "Søren", "Kirsten", "Hanne", "Niels", "Bente", "Peter", "Ole",
         "Lone", "Henrik", "Susanne", "Thomas", "Camilla", "Rasmus", "Ida", "Mikkel", "Freja"]
LAST = ["Jensen", "Nielsen", "Hansen", "Pedersen", "Andersen", "Christensen", "Larsen", "Sørensen",
        "Rasmussen", "Jørgensen", "Petersen", "Madsen", "Kristensen", "Olsen", "Thomsen", "Poulsen",
        "Johansen", "Knudsen", "Mortensen", "Møller"]
WORDS = ("byggetilladelse tilbygning carport garage udhus sommerhus etageareal bebyggelsesprocent lokalplan "
         "servitut matrikel skel nabo naboorientering høring dispensation afgørelse klage tagterrasse kvist "
         "facade vinduer tag tagrende fundament kloakering dræning regnvand spildevand varmepumpe solceller "
         "brandsikring flugtvej statiker beregning tegning situationsplan facadetegning snittegning "
         "ansøgning ansøger bygherre rådgiver arkitekt ingeniør tømrer murer entreprenør ibrugtagning "
         "færdigmelding tilsyn kommunen sagsbehandler vurdering bemærkning oplysninger dokumentation "
         "ejendom grund have hæk hegn terrasse udestue anneks drivhus overdækning altan kælder loft "
         "bolig erhverv landbrug stald lade maskinhus skur pergola mur plankeværk indkørsel parkering").split()
MADE_UP = 20_000


def vocabulary(rng: random.Random) -> list[str]:
    syllables = ["ba", "be", "bo", "da", "de", "fa", "fe", "ga", "ha", "he", "ka", "ke", "la", "le", "ma", "me",
                 "na", "ne", "pa", "ra", "re", "sa", "se", "ta", "te", "va", "ve", "sk", "st", "gr", "ør", "æl",
                 "ån", "ing", "ning", "hed", "lig", "vej", "gård", "by", "holm", "lund", "skov", "sø"]
    made = {"".join(rng.choice(syllables) for _ in range(rng.randint(2, 4))) for _ in range(MADE_UP * 2)}
    return WORDS + sorted(made)[:MADE_UP]


class Text:
    """Zipf-like word draws: word i has weight 1/(i+1)."""

    def __init__(self, rng: random.Random):
        self.rng = rng
        self.words = vocabulary(rng)
        weights = [1 / (i + 1) for i in range(len(self.words))]
        total = sum(weights)
        self.cumulative = []
        running = 0.0
        for weight in weights:
            running += weight / total
            self.cumulative.append(running)

    def words_(self, n: int) -> str:
        from bisect import bisect_left
        return " ".join(self.words[min(bisect_left(self.cumulative, self.rng.random()), len(self.words) - 1)]
                        for _ in range(n))

    def sentence(self, lo: int, hi: int) -> str:
        return self.words_(self.rng.randint(lo, hi)).capitalize() + "."


ORGANISATION = {
    "groups": [{"key": f"team{g}", "name": f"Team {g}"} for g in range(20)],
    "users": [{"username": "admin", "name": "Admin", "groups": ["team0"], "roles": ["administrator"]}]
    + [{"username": f"u{u}", "name": f"Bruger {u}", "groups": [f"team{u % 20}"]} for u in range(200)],
}


def build(ctx: EngineContext, n_cases: int, n_documents: int, seed: int = 7) -> dict:
    rng = random.Random(seed)
    prose = Text(rng)
    with ctx.unit_of_work() as uow:
        load_organisation(uow, ORGANISATION)
    database = ctx.database
    now = utcnow()
    with database.engine.begin() as conn:
        users = dict(conn.execute(select(User.username, User.id)).all())
        groups = dict(conn.execute(select(Group.key, Group.id)).all())
        types = []
        for key, kle in (("byggetilladelse", "02.34.02"), ("aktindsigt", "00.01.10"), ("naboklage", "02.00.05")):
            type_id = conn.execute(insert(CaseType).returning(CaseType.id), {
                "key": key, "name": key.title(), "prefix": key[:3].upper(), "kle_number": kle, "handlingsfacet": "G01",
                "deletion_rule": "P1825D", "personal_data_category": "ordinary", "owner_group_id": groups["team19"],
                "lanes": {}, "created_at": now}).scalar_one()
            version_id = conn.execute(insert(CaseTypeVersion).returning(CaseTypeVersion.id), {
                "case_type_id": type_id, "number": 1, "status": "published", "process_id": key, "start_form": "",
                "content_hash": uuid.uuid4().hex, "created_at": now}).scalar_one()
            types.append((type_id, version_id, key))
    surnames_used = []
    batch = 5000
    for start in range(0, n_cases, batch):
        cases, tasks, index = [], [], []
        for i in range(start, min(start + batch, n_cases)):
            type_id, version_id, key = types[i % 10 % 3 if i % 10 < 3 else 0]
            worker = f"u{rng.randrange(200)}"
            street = f"{rng.choice(STREETS)} {rng.randint(1, 150)}"
            town = rng.choice(TOWNS)
            applicant = f"{rng.choice(FIRST)} {rng.choice(LAST)}"
            if i % 997 == 0:  # a rare surname, a few hundred cases in all
                applicant = f"{rng.choice(FIRST)} Bech-Kierkegaard{i % 5}"
                surnames_used.append(applicant.split()[1])
            opened = now - timedelta(days=rng.randint(0, 3650), minutes=rng.randint(0, 1440))
            closed = opened + timedelta(days=rng.randint(5, 200)) if rng.random() < 0.7 else None
            number = f"{key[:3].upper()}-{opened.year}-{i:07d}"
            title = f"{prose.words_(1).capitalize()} på {street}"
            data = {"address": f"{street}, {town}", "applicant": applicant,
                    "cadastral_number": f"{rng.randint(1, 99)}{rng.choice('abcdefg')}, {town} Bygrunde",
                    "floor_area": rng.randint(8, 400), "project_description": prose.sentence(15, 40),
                    "decision_note": prose.sentence(10, 30)}
            case_id = i + 1
            cases.append({"id": case_id, "number": number, "case_type_id": type_id, "version_id": version_id,
                          "title": title, "grouping": street, "caseworker_id": users[worker],
                          "status": "closed" if closed else "open", "opened_at": opened, "closed_at": closed,
                          "updated_at": closed or opened, "journal_head": "0" * 64, "journal_seq": 0,
                          "row_version": 1, "awaits_message": False, "gdpr_review_completed": bool(closed),
                          "cpr_detected": False})
            group = f"team{rng.randrange(20)}"
            tasks.append({"id": str(uuid.UUID(int=rng.getrandbits(128))), "case_id": case_id,
                          "element_id": "Task_Work", "name": "Behandl", "lane": "", "form": "", "instructions": "",
                          "state": "completed" if closed else "open", "candidate_group_id": groups[group],
                          "assignee_id": users[worker] if rng.random() < 0.6 else None, "priority": 50,
                          "created_at": opened})
            fields = form_fields(data)
            index.append({"key": f"case:{case_id}", "kind": "case", "case_id": case_id, "committee": "",
                          "title": clean(title), "grouping": clean(street), "body": body_of(fields),
                          "fields": fields, "updated_at": opened})
        with database.engine.begin() as conn:
            conn.execute(insert(Case), cases)
            conn.execute(insert(CaseTask), tasks)
            # Who may see each case, as add_case stores it (the same SQL as the index's triggers).
            visibility = search_index.case_visibility(conn, [row["case_id"] for row in index])
            for row in index:
                row["visibility"] = visibility[row["case_id"]]
            conn.execute(insert(SearchDocument), index)
        print(f"  cases {min(start + batch, n_cases):>7}", end="\r", flush=True)
    print()
    for start in range(0, n_documents, batch):
        docs = []
        for d in range(start, min(start + batch, n_documents)):
            case_id = rng.randrange(n_cases) + 1
            body = "\n".join(prose.sentence(8, 25) for _ in range(rng.randint(4, 12)))
            if d % 499 == 0:
                body += " Tinglyst deklaration om oversvømmelsesrisiko."
            docs.append({"key": f"document:{d + 1}", "kind": "document", "case_id": case_id, "committee": "",
                         "title": f"{prose.words_(1).capitalize()}-{d}.pdf", "grouping": "", "body": clean(body),
                         "fields": {}, "updated_at": now})
        with database.engine.begin() as conn:
            visibility = search_index.case_visibility(conn, sorted({row["case_id"] for row in docs}))
            for row in docs:
                row["visibility"] = visibility[row["case_id"]]
            conn.execute(insert(SearchDocument), docs)
        print(f"  documents {min(start + batch, n_documents):>7}", end="\r", flush=True)
    print()
    with database.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("ANALYZE"))
        else:
            conn.execute(text("INSERT INTO search_fts(search_fts) VALUES ('optimize')"))
            conn.execute(text("ANALYZE"))
    common = prose.words[3]  # among the most frequent words
    return {"rare": sorted(set(surnames_used)) or ["Kierkegaard"], "common": common, "words": prose.words[:400]}


def queries(facts: dict, rng: random.Random, n: int) -> list[tuple[str, str, dict]]:
    """(kind, q, filters) in a fixed mix."""
    mix = []
    for i in range(n):
        kind = ("rare", "street", "common", "phrase", "two_words", "filtered", "document", "nothing")[i % 8]
        if kind == "rare":
            mix.append((kind, rng.choice(facts["rare"]), {}))
        elif kind == "street":
            mix.append((kind, rng.choice(STREETS), {}))
        elif kind == "common":
            mix.append((kind, facts["common"], {}))
        elif kind == "phrase":
            mix.append((kind, f'"{rng.choice(STREETS)} {rng.randint(1, 150)}"', {}))
        elif kind == "two_words":
            mix.append((kind, f"{rng.choice(facts['words'][:100])} {rng.choice(TOWNS)}", {}))
        elif kind == "filtered":
            mix.append((kind, rng.choice(facts["words"][:50]), {"case_type": "byggetilladelse", "status": "closed",
                                                               "opened_from": "2020-01-01"}))
        elif kind == "document":
            mix.append((kind, "oversvømmelsesrisiko", {"kinds": ["document"]}))
        else:
            mix.append((kind, "qqxyzzy", {}))
    return mix


def measure(ctx: EngineContext, facts: dict, n: int, actor: str) -> dict[str, list[float]]:
    rng = random.Random(11)
    timings: dict[str, list[float]] = {}
    for kind, q, filters in queries(facts, rng, n):
        started, cpu = time.perf_counter(), time.process_time()
        with ctx.unit_of_work(read_only=True) as uow:
            result = service.search(uow, actor, q, **filters)
        timings.setdefault(kind, []).append((time.perf_counter() - started) * 1000)
        timings.setdefault("_cpu", []).append((time.process_time() - cpu) * 1000)
        timings.setdefault("_totals", []).append(result["total"])
    return timings


def measure_bare(ctx: EngineContext, facts: dict, n: int) -> dict[str, list[float]]:
    """The baseline: the same words looked up in the full-text index alone, any 20 ids
    (no order, permissions, filters, ranking, count, details, snippets or access log)."""
    rng = random.Random(11)
    timings: dict[str, list[float]] = {}
    for kind, q, _filters in queries(facts, rng, n):
        started = time.perf_counter()
        with ctx.unit_of_work(read_only=True) as uow:
            ids = backend_for(uow.session).match(parse_query(q)).ids(uow.session, 20)
        timings.setdefault(kind, []).append((time.perf_counter() - started) * 1000)
        timings.setdefault("_totals", []).append(len(ids))
    return timings


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def report(name: str, timings: dict[str, list[float]]) -> float:
    totals = timings.pop("_totals")
    cpu = timings.pop("_cpu", None)
    every = [t for values in timings.values() for t in values]
    print(f"  {name}: {len(every)} searches, hits per search median {statistics.median(totals):.0f}, "
          f"max {max(totals)}")
    print(f"    {'kind':<10} {'p50':>8} {'p95':>8} {'p99':>8}   (ms)")
    for kind, values in timings.items():
        print(f"    {kind:<10} {percentile(values, 50):8.1f} {percentile(values, 95):8.1f} {percentile(values, 99):8.1f}")
    p95 = percentile(every, 95)
    print(f"    {'all':<10} {percentile(every, 50):8.1f} {p95:8.1f} {percentile(every, 99):8.1f}")
    if cpu:  # this process's CPU time: SQLite's work included, PostgreSQL's server not; a shared machine's
        # load stretches the wall-clock figures above, much less these
        print(f"    {'all, CPU':<10} {percentile(cpu, 50):8.1f} {percentile(cpu, 95):8.1f} {percentile(cpu, 99):8.1f}")
    return p95


def run(backend: str, args) -> None:
    settings = Settings.from_env({"SAGSGANG_INSTANCE_PATH": tempfile.mkdtemp()})
    schema, admin_engine = None, None
    if backend == "sqlite":
        path = Path(args.sqlite_file) if args.sqlite_file else Path(tempfile.mkdtemp()) / "search.sqlite3"
        database = Database(f"sqlite:///{path}")
    else:
        schema = args.postgres_schema or f"bench_{uuid.uuid4().hex[:10]}"
        path = Path(tempfile.gettempdir()) / schema
        admin_engine = create_engine(args.postgres_url, isolation_level="AUTOCOMMIT")
        with admin_engine.connect() as conn:
            conn.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
        database = Database(args.postgres_url, connect_args={"options": f"-csearch_path={schema}"})
    try:
        ctx = EngineContext(settings, database)
        kept = args.sqlite_file if backend == "sqlite" else args.postgres_schema
        saved = Path(f"{path}.facts.json") if kept else None
        if saved and saved.exists():  # built by an earlier run with --sqlite-file (to profile against)
            facts = json.loads(saved.read_text())
            print(f"{backend}: reusing {path}")
        else:
            create_schema(database.engine)
            print(f"{backend}: building {args.cases} cases and {args.documents} documents")
            started = time.perf_counter()
            facts = build(ctx, args.cases, args.documents)
            print(f"  built in {time.perf_counter() - started:.0f} s")
            if saved:
                saved.write_text(json.dumps(facts))
        freeze_startup_objects()  # what a gunicorn worker does once its app is built (webapp/serving.py)
        measure(ctx, facts, 40, "admin")  # warm the caches, as a running server has them
        bare = report("baseline: the full-text index alone, any 20 ids", measure_bare(ctx, facts, args.queries))
        for actor, label in (("admin", "administrator (sees everything)"),
                             ("u7", "caseworker (sees her cases and her group's)")):
            p95 = report(label, measure(ctx, facts, args.queries, actor))
            print(f"    p95 {p95:.1f} ms = {p95 / bare:.1f} x the bare index lookup's p95 ({bare:.1f} ms); "
                  f"target 100 ms: {'met' if p95 < 100 else 'NOT met'}")
    finally:
        database.dispose()
        if schema:
            if not args.postgres_schema:
                with admin_engine.connect() as conn:
                    conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
            admin_engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=200_000)
    parser.add_argument("--documents", type=int, default=50_000)
    parser.add_argument("--queries", type=int, default=320)
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--sqlite-file", help="build the SQLite database here and keep it; reuse it when it exists")
    parser.add_argument("--postgres-schema", help="build in this PostgreSQL schema and keep it; reuse it when built")
    parser.add_argument("--postgres-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    args = parser.parse_args()
    for backend in (("sqlite", "postgresql") if args.backend == "both" else (args.backend,)):
        run(backend, args)


if __name__ == "__main__":
    main()
