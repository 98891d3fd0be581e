"""Migration 0022 fills the visibility tokens of an existing search index, and its triggers keep them."""
from __future__ import annotations

import uuid

from sqlalchemy import insert, select, text, update

from engine.db import utcnow
from engine.models import Case, CaseTask, CaseType, CaseTypeVersion, Group, SearchDocument, User
from engine.schema import upgrade_schema
from tests.integration.test_migrations import empty_database  # noqa: F401  (the fixture)

BEFORE = "0021_tasks_assignee_index"


def found(conn, tokens: str) -> set[str]:
    """Keys of the rows whose visibility matches `tokens` ("u1 OR g2") in the dialect's full-text index."""
    if conn.dialect.name == "sqlite":
        sql = "SELECT d.key FROM search_fts JOIN search_documents d ON d.id = search_fts.rowid " \
              "WHERE search_fts MATCH :q"
        return set(conn.execute(text(sql), {"q": f"visibility : ({tokens})"}).scalars())
    query = " | ".join(f"'{token}'" for token in tokens.split(" OR "))
    return set(conn.execute(text("SELECT key FROM search_documents WHERE vis @@ CAST(:q AS tsquery)"),
                            {"q": query}).scalars())


def test_the_migration_fills_visibility_of_existing_rows_and_the_triggers_keep_it(empty_database):  # noqa: F811
    engine = empty_database.engine
    upgrade_schema(engine, BEFORE)
    now = utcnow()
    with engine.begin() as conn:
        anna, bo = (conn.execute(insert(User.__table__).returning(User.id), {
            "username": name, "name": name, "email": "", "password_hash": "", "is_active": True,
            "created_at": now}).scalar_one() for name in ("anna", "bo"))
        team = conn.execute(insert(Group.__table__).returning(Group.id), {"key": "byg", "name": "Byg"}).scalar_one()
        type_id = conn.execute(insert(CaseType.__table__).returning(CaseType.id), {
            "key": "byg", "name": "Byg", "prefix": "BYG", "kle_number": "02.34.02", "handlingsfacet": "G01",
            "deletion_rule": "P1825D", "personal_data_category": "ordinary", "owner_group_id": None, "lanes": {},
            "created_at": now}).scalar_one()
        version_id = conn.execute(insert(CaseTypeVersion.__table__).returning(CaseTypeVersion.id), {
            "case_type_id": type_id, "number": 1, "status": "published", "process_id": "byg", "start_form": "",
            "content_hash": uuid.uuid4().hex, "created_at": now}).scalar_one()
        case_id = conn.execute(insert(Case.__table__).returning(Case.id), {
            "number": "BYG-2026-000001", "case_type_id": type_id, "version_id": version_id, "title": "Carport",
            "grouping": "", "caseworker_id": anna, "status": "open", "opened_at": now, "updated_at": now,
            "journal_head": "0" * 64, "journal_seq": 0, "row_version": 1, "awaits_message": False,
            "gdpr_review_completed": False, "cpr_detected": False}).scalar_one()
        conn.execute(insert(CaseTask.__table__), {
            "id": str(uuid.uuid4()), "case_id": case_id, "element_id": "Task", "name": "Behandl", "lane": "",
            "form": "", "instructions": "", "state": "open", "candidate_group_id": team, "assignee_id": None,
            "priority": 50, "created_at": now})
        for key, kind, committee, ref in (("case:1", "case", "", case_id), ("document:1", "document", "", case_id),
                                          ("agenda_item:1", "agenda_item", "", None),
                                          ("agenda_item:1:closed", "agenda_item", " teknik ", None)):
            conn.execute(text("INSERT INTO search_documents (key, kind, case_id, committee, title, grouping, body, "
                              "fields, updated_at) VALUES (:key, :kind, :case_id, :committee, 'Carport', '', "
                              "'carport ved skel', '{}', :now)"),
                         {"key": key, "kind": kind, "case_id": ref, "committee": committee, "now": now})
    assert upgrade_schema(engine) == "migrated"
    with engine.begin() as conn:
        stored = dict(conn.execute(select(SearchDocument.key, SearchDocument.visibility)).all())
        assert stored == {"case:1": f" g{team} t{type_id} u{anna} ", "document:1": f" g{team} t{type_id} u{anna} ",
                          "agenda_item:1": " pub ", "agenda_item:1:closed": f" c{'teknik'.encode().hex()} "}
        assert found(conn, f"u{anna}") == {"case:1", "document:1"}
        assert found(conn, f"a{bo} OR u{bo}") == set()
        assert found(conn, "pub") == {"agenda_item:1"}
        conn.execute(update(CaseTask.__table__).values(assignee_id=bo))  # the triggers follow the tasks
    with engine.begin() as conn:
        assert found(conn, f"a{bo} OR u{bo}") == {"case:1", "document:1"}
        conn.execute(update(Case.__table__).values(caseworker_id=bo))
        conn.execute(CaseTask.__table__.delete())
    with engine.begin() as conn:
        assert found(conn, f"u{anna}") == set() and found(conn, f"a{bo}") == set()
        assert found(conn, f"u{bo}") == {"case:1", "document:1"}
        # the words are still found with the tokens beside them
        if conn.dialect.name == "sqlite":
            hits = conn.execute(text("SELECT count(*) FROM search_fts WHERE search_fts MATCH "
                                     "'{title grouping body} : skel'")).scalar()
        else:
            hits = conn.execute(text("SELECT count(*) FROM search_documents "
                                     "WHERE tsv @@ websearch_to_tsquery('danish', 'skel')")).scalar()
        assert hits == 4


def tsv_storage(conn) -> str:
    return conn.execute(text("SELECT attstorage FROM pg_attribute WHERE attrelid = 'search_documents'::regclass "
                             "AND attname = 'tsv'")).scalar_one()


def test_migration_0025_keeps_the_tsvector_in_the_row_on_postgres(empty_database):  # noqa: F811
    engine = empty_database.engine
    if engine.dialect.name != "postgresql":
        return
    upgrade_schema(engine, "0024_search_visibility_skip")
    with engine.begin() as conn:
        assert tsv_storage(conn) == "x"
    assert upgrade_schema(engine) == "migrated"
    with engine.begin() as conn:
        assert tsv_storage(conn) == "m"


def test_a_long_rows_body_leaves_the_row_before_its_tsvector_on_postgres(ctx):
    """A document too long for one row moves its body to the TOAST table and keeps the tsvector,
    which searches read by the thousand (STORAGE MAIN, as the migration sets it)."""
    with ctx.database.engine.begin() as conn:
        if conn.dialect.name != "postgresql":
            return
        assert tsv_storage(conn) == "m"
        body = " ".join(f"ord{i} lokalplan{i % 7}" for i in range(400))
        conn.execute(text("INSERT INTO search_documents (key, kind, committee, title, grouping, body, fields, "
                          "updated_at) VALUES ('document:9', 'document', '', 'Lang', '', :body, '{}', now())"),
                     {"body": body})
        toast = conn.execute(text("SELECT reltoastrelid::regclass::text FROM pg_class "
                                  "WHERE oid = 'search_documents'::regclass")).scalar_one()
        moved = conn.execute(text(f"SELECT coalesce(sum(octet_length(chunk_data)), 0) FROM {toast}")).scalar_one()
        tsv = conn.execute(text("SELECT pg_column_size(tsv) FROM search_documents WHERE key = 'document:9'")).scalar_one()
        assert 0 < moved < tsv, (moved, tsv)  # something left the row, and it was not the tsvector
