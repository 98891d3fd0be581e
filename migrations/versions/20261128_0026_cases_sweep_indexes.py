"""cases: the sweeps' indexes hold only the rows they look for; no index on status alone

ix_cases_next_timer_at and ix_cases_deletion_due_on held every case, NULL for most (no timer,
not closed), so every case paid their entries; now only cases with a timer or a deletion date.
ix_cases_status (three values) goes: the timer sweep, retention, migrations and the case-type
page read by those two indexes, by version or by case type; the search index's catch-up finds
deleted cases in ix_cases_deleted, which holds only them. On SQLite each of these entries had
cost a WAL page at the opening or closing of a case: ~58 -> ~54 frames a bench case
(bench/engine.py's process, three units of work).

Revision ID: 0026_cases_sweep_indexes
Revises: 0025_search_tsv_in_row
Create Date: 2026-11-28 04:50:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0026_cases_sweep_indexes'
down_revision = '0025_search_tsv_in_row'
branch_labels = None
depends_on = None

PARTIAL = {'ix_cases_next_timer_at': ('next_timer_at', 'next_timer_at IS NOT NULL'),
           'ix_cases_deletion_due_on': ('deletion_due_on', 'deletion_due_on IS NOT NULL')}


def upgrade() -> None:
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_index('ix_cases_status')
        for name, (column, where) in PARTIAL.items():
            batch_op.drop_index(name)
            batch_op.create_index(name, [column], unique=False,
                                  sqlite_where=sa.text(where), postgresql_where=sa.text(where))
        batch_op.create_index('ix_cases_deleted', ['id'], unique=False,
                              sqlite_where=sa.text("status = 'deleted'"), postgresql_where=sa.text("status = 'deleted'"))


def downgrade() -> None:
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_index('ix_cases_deleted')
        for name, (column, _) in PARTIAL.items():
            batch_op.drop_index(name)
            batch_op.create_index(name, [column], unique=False)
        batch_op.create_index('ix_cases_status', ['status'], unique=False)
