"""search: SQLite's FTS5 index merges a level's segments when it holds two (automerge 2, was 4)

Every commit that writes the search index adds an FTS5 segment. With the default of four, up to
three segments wait on each level; with two, one. bench/engine.py's process (WAL frames after each
unit of work attributed to b-trees with dbstat, 600 cases): search_fts_data pages written 5.6 ->
4.7 a case, all frames 54.5 -> 52.7; callgrind, 100 cases: 15.12 -> 14.95 M instructions a case.
Queries read at most one waiting segment a level instead of three. PostgreSQL is unchanged.

Revision ID: 0027_search_fts_automerge
Revises: 0026_cases_sweep_indexes
Create Date: 2026-11-28 05:20:00
"""
from alembic import op


revision = '0027_search_fts_automerge'
down_revision = '0026_cases_sweep_indexes'
branch_labels = None
depends_on = None


def _automerge(value: int) -> None:
    if op.get_bind().dialect.name == 'sqlite':
        op.execute(f"INSERT INTO search_fts(search_fts, rank) VALUES ('automerge', {value})")


def upgrade() -> None:
    _automerge(2)


def downgrade() -> None:
    _automerge(4)
