"""search: PostgreSQL keeps search_documents.tsv in the row (STORAGE MAIN)

A row over ~2 kB (every document, about half the cases) had its largest value, the tsvector,
moved to the TOAST table, so each tsvector a search tests (an administrator's probe of the newest
rows) or ranks (the newest 2,000 matches) cost a TOAST index lookup and another page. With MAIN the
body and form fields go out of the row first; the tsvector leaves it only when the row cannot fit
in a page. Rows already stored keep their layout until they are written again (or VACUUM FULL).
SQLite is unchanged.

Revision ID: 0025_search_tsv_in_row
Revises: 0024_search_visibility_skip
Create Date: 2026-11-28 00:45:00
"""
from alembic import op


revision = '0025_search_tsv_in_row'
down_revision = '0024_search_visibility_skip'
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        op.execute('ALTER TABLE search_documents ALTER COLUMN tsv SET STORAGE MAIN')


def downgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        op.execute('ALTER TABLE search_documents ALTER COLUMN tsv SET STORAGE EXTENDED')
