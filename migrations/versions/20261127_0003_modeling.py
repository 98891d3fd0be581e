"""Case-type owners: drafts with their author and base version, acknowledged lint warnings,
migrations of running cases (with the state to go back to), throw-away test runs.

Revision ID: 0003_modeling
Revises: 0002
Create Date: 2026-11-27 18:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0003_modeling'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('case_type_versions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('based_on_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('created_by', sa.String(length=80), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('published_by', sa.String(length=80), nullable=True))
        batch_op.add_column(sa.Column('updated_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_case_type_versions_based_on_id_case_type_versions'),
                                    'case_type_versions', ['based_on_id'], ['id'], ondelete='SET NULL')
    with op.batch_alter_table('case_type_versions', schema=None) as batch_op:
        batch_op.alter_column('created_by', server_default=None)

    op.create_table('lint_acknowledgements',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('version_id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=500), nullable=False),
    sa.Column('rule', sa.String(length=60), nullable=False),
    sa.Column('message', sa.Text(), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('acknowledged_by', sa.String(length=80), nullable=False),
    sa.Column('acknowledged_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['version_id'], ['case_type_versions.id'], name=op.f('fk_lint_acknowledgements_version_id_case_type_versions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_lint_acknowledgements')),
    sa.UniqueConstraint('version_id', 'key', name=op.f('uq_lint_acknowledgements_version_id'))
    )
    with op.batch_alter_table('lint_acknowledgements', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_lint_acknowledgements_version_id'), ['version_id'], unique=False)

    op.create_table('case_migrations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_type_id', sa.Integer(), nullable=False),
    sa.Column('from_version_id', sa.Integer(), nullable=False),
    sa.Column('to_version_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('total', sa.Integer(), nullable=False),
    sa.Column('moved', sa.Integer(), nullable=False),
    sa.Column('refused', sa.Integer(), nullable=False),
    sa.Column('failed', sa.Integer(), nullable=False),
    sa.Column('reverted', sa.Integer(), nullable=False),
    sa.Column('started_by', sa.String(length=80), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['case_type_id'], ['case_types.id'], name=op.f('fk_case_migrations_case_type_id_case_types'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['from_version_id'], ['case_type_versions.id'], name=op.f('fk_case_migrations_from_version_id_case_type_versions')),
    sa.ForeignKeyConstraint(['to_version_id'], ['case_type_versions.id'], name=op.f('fk_case_migrations_to_version_id_case_type_versions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_case_migrations'))
    )
    with op.batch_alter_table('case_migrations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_case_migrations_case_type_id'), ['case_type_id'], unique=False)

    op.create_table('case_migration_items',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('migration_id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('outcome', sa.String(length=20), nullable=False),
    sa.Column('reasons', sa.JSON(), nullable=False),
    sa.Column('previous_version_id', sa.Integer(), nullable=False),
    sa.Column('previous_state', sa.Text(), nullable=True),
    sa.Column('row_version_after', sa.Integer(), nullable=True),
    sa.Column('moved_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('reverted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('reverted_by', sa.String(length=80), nullable=True),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_case_migration_items_case_id_cases'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['migration_id'], ['case_migrations.id'], name=op.f('fk_case_migration_items_migration_id_case_migrations'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['previous_version_id'], ['case_type_versions.id'], name=op.f('fk_case_migration_items_previous_version_id_case_type_versions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_case_migration_items')),
    sa.UniqueConstraint('migration_id', 'case_id', name=op.f('uq_case_migration_items_migration_id'))
    )
    with op.batch_alter_table('case_migration_items', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_case_migration_items_case_id'), ['case_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_case_migration_items_migration_id'), ['migration_id'], unique=False)

    op.create_table('model_test_runs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('version_id', sa.Integer(), nullable=False),
    sa.Column('content_hash', sa.String(length=64), nullable=False),
    sa.Column('started_by', sa.String(length=80), nullable=False),
    sa.Column('state', sa.Text(), nullable=False),
    sa.Column('steps', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['version_id'], ['case_type_versions.id'], name=op.f('fk_model_test_runs_version_id_case_type_versions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_model_test_runs'))
    )
    with op.batch_alter_table('model_test_runs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_model_test_runs_version_id'), ['version_id'], unique=False)


def downgrade() -> None:
    op.drop_table('model_test_runs')
    op.drop_table('case_migration_items')
    op.drop_table('case_migrations')
    op.drop_table('lint_acknowledgements')
    with op.batch_alter_table('case_type_versions', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_case_type_versions_based_on_id_case_type_versions'), type_='foreignkey')
        batch_op.drop_column('updated_at')
        batch_op.drop_column('published_by')
        batch_op.drop_column('created_by')
        batch_op.drop_column('based_on_id')
