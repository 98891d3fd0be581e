"""tasks: the assignee index leaves unassigned rows out

ix_tasks_open_by_assignee held the open rows with assignee_id NULL too. SQLite, which knows only
the average number of rows per assignee, then read the group lists' page query (`assignee_id IS
NULL AND candidate_group_id IN (...) ORDER BY due_at`) through it: every unassigned open task of
every group, each looked up in the table. Without the NULLs it cannot; the lists of one's own
tasks (`assignee_id = ?`, `IN (...)`) still match it on SQLite and PostgreSQL.

Revision ID: 0021_tasks_assignee_index
Revises: 0020_documents
Create Date: 2026-11-27 18:10:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0021_tasks_assignee_index'
down_revision = '0020_documents'
branch_labels = None
depends_on = None

COLUMNS = ['assignee_id', 'state', 'due_at', 'priority', 'created_at', 'case_type_id', 'case_number', 'case_id', 'id']
OPEN = "state = 'open'"


def _replace(where: str) -> None:
    with op.batch_alter_table('tasks', schema=None) as batch_op:
        batch_op.drop_index('ix_tasks_open_by_assignee')
        batch_op.create_index('ix_tasks_open_by_assignee', COLUMNS, unique=False,
                              sqlite_where=sa.text(where), postgresql_where=sa.text(where))


def upgrade() -> None:
    _replace(f"{OPEN} AND assignee_id IS NOT NULL")


def downgrade() -> None:
    _replace(OPEN)
