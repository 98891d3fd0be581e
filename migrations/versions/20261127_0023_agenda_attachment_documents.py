"""agenda attachments: case documents

An attachment (bilag) may now be one of the case's documents, pinned at a version: document_id
(set to NULL if the document is deleted from the case) and document_version. Existing attachments
keep their plain reference and have no document.

Revision ID: 0023_agenda_attachment_documents
Revises: 0022_search_visibility
Create Date: 2026-11-27 21:07:02.271497
"""
from alembic import op
import sqlalchemy as sa


revision = '0023_agenda_attachment_documents'
down_revision = '0022_search_visibility'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('agenda_attachments', schema=None) as batch_op:
        batch_op.add_column(sa.Column('document_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('document_version', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_agenda_attachments_document_id'), ['document_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_agenda_attachments_document_id_documents'), 'documents', ['document_id'], ['id'], ondelete='SET NULL')


def downgrade() -> None:
    with op.batch_alter_table('agenda_attachments', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_agenda_attachments_document_id_documents'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_agenda_attachments_document_id'))
        batch_op.drop_column('document_version')
        batch_op.drop_column('document_id')
