"""The task triggers keep each index row's visibility tokens equal to the case's recomputed tokens,
also where SQLite's triggers skip the recomputation (engine/models/search.py): a holder whose
token is already there, a value set again, a value taken away while another task still holds it."""
from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select, text, update

from engine.db import make_engine, utcnow
from engine.models import CaseTask, Group, SearchDocument, User, create_schema
from engine.models.search import SQLITE_AUTOMERGE, SQLITE_FULL_TEXT
from engine.schema import upgrade_schema
from engine.search import index
from engine.services import cases
from tests.integration.test_migrations import empty_database  # noqa: F401  (the fixture)


def test_tokens_equal_the_recomputed_ones_after_every_task_write(ctx):
    with ctx.unit_of_work() as uow:
        opened = cases.open_case(uow, "byggetilladelse", "anna", "Carport", "", {
            "address": "Skagensvej 12, 9900 Frederikshavn", "cadastral_number": "7a", "building_type": "extension",
            "floor_area": 42, "applicant": "Jens Hansen", "project_description": "Carport"})
    case_id = opened["id"]
    with ctx.unit_of_work(read_only=True) as uow:
        users = dict(uow.session.execute(select(User.username, User.id)).all())
        groups = list(uow.session.scalars(select(Group.id).order_by(Group.id)))
    anna, bo, carl = users["anna"], users["bo"], users["carl"]
    first, second = str(uuid.uuid4()), str(uuid.uuid4())

    def task(task_id, **holders):
        return {"id": task_id, "case_id": case_id, "element_id": "Extra", "name": "Ekstra", "lane": "", "form": "",
                "instructions": "", "state": "open", "priority": 50, "created_at": utcnow(), **holders}

    writes = [
        CaseTask.__table__.insert().values(task(first, assignee_id=anna)),  # anna's u-token is there, a is not
        CaseTask.__table__.insert().values(task(second, assignee_id=anna)),  # nothing new: skipped
        update(CaseTask.__table__).where(CaseTask.id == second).values(assignee_id=anna),  # set again: skipped
        update(CaseTask.__table__).where(CaseTask.id == second).values(assignee_id=bo),  # a<bo> in, a<anna> stays
        update(CaseTask.__table__).where(CaseTask.id == first).values(assignee_id=None,
                                                                      candidate_group_id=groups[0]),
        update(CaseTask.__table__).where(CaseTask.id == second).values(completed_by_id=anna),  # u<anna>: there
        update(CaseTask.__table__).where(CaseTask.id == second).values(owner_id=carl, completed_by_id=None),
        update(CaseTask.__table__).where(CaseTask.id == first).values(candidate_group_id=None),
        CaseTask.__table__.delete().where(CaseTask.id == second),
    ]
    seen = []
    for write in writes:
        with ctx.unit_of_work() as uow:
            conn = uow.session.connection()
            conn.execute(write)
            stored = conn.execute(select(SearchDocument.visibility).where(SearchDocument.case_id == case_id)).scalar()
            assert stored == index.one_case_visibility(conn, case_id), write
            seen.append(stored)
            uow.commit()
    assert f"a{bo}" in seen[3] and f"a{anna}" in seen[3]  # the test went through adding and removing tokens
    assert f"u{carl}" in seen[6] and f"u{carl}" not in seen[-1] and f"g{groups[0]}" not in seen[-1]


def test_sqlite_migrations_make_the_models_triggers(empty_database):  # noqa: F811
    """The migrated database's trigger SQL is the models' (create_all and migrations agree)."""
    engine = empty_database.engine
    if engine.dialect.name != "sqlite":
        pytest.skip("SQLite's triggers; PostgreSQL's are unchanged since migration 0022")
    upgrade_schema(engine)
    with engine.connect() as conn:
        stored = dict(conn.execute(text("SELECT name, sql FROM sqlite_master WHERE type = 'trigger'")).all())
    for statement in SQLITE_FULL_TEXT:
        if statement.startswith("CREATE TRIGGER"):
            name = statement.split()[5]
            assert stored[name] == statement.replace(" IF NOT EXISTS", ""), name


def test_sqlite_full_text_index_merges_at_two_segments(empty_database, tmp_path):  # noqa: F811
    """Migrations and create_all both leave FTS5's automerge at SQLITE_AUTOMERGE (2, not FTS5's 4)."""
    engine = empty_database.engine
    if engine.dialect.name != "sqlite":
        pytest.skip("FTS5's setting; PostgreSQL has none")
    upgrade_schema(engine)
    query = text("SELECT v FROM search_fts_config WHERE k = 'automerge'")
    with engine.connect() as conn:
        assert conn.execute(query).scalar() == SQLITE_AUTOMERGE == 2
    made = make_engine(f"sqlite:///{tmp_path / 'created.sqlite3'}")
    create_schema(made)
    with made.connect() as conn:
        assert conn.execute(query).scalar() == 2
    made.dispose()
