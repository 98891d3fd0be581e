"""Task actions, substitutes and task lists: delegation owner, follow-up date, substitutions, the
case's type and number copied onto its tasks, partial covering indexes for the lists, and the
journal index behind "latest cases".

Revision ID: 0005_task_actions
Revises: 0004_agenda
Create Date: 2026-11-27 17:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0005_task_actions'
down_revision = '0004_agenda'
branch_labels = None
depends_on = None

OPEN = "state = 'open'"


def upgrade() -> None:
    op.create_table('substitutions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('substitute_id', sa.Integer(), nullable=False),
    sa.Column('from_date', sa.Date(), nullable=False),
    sa.Column('to_date', sa.Date(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('ended_by_id', sa.Integer(), nullable=True),
    sa.CheckConstraint('substitute_id <> user_id', name=op.f('ck_substitutions_not_self')),
    sa.CheckConstraint('to_date >= from_date', name=op.f('ck_substitutions_dates_in_order')),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_substitutions_created_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['ended_by_id'], ['users.id'], name=op.f('fk_substitutions_ended_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['substitute_id'], ['users.id'], name=op.f('fk_substitutions_substitute_id_users'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_substitutions_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_substitutions'))
    )
    with op.batch_alter_table('substitutions', schema=None) as batch_op:
        batch_op.create_index('ix_substitutions_substitute_dates', ['substitute_id', 'to_date', 'from_date'], unique=False)
        batch_op.create_index('ix_substitutions_user_dates', ['user_id', 'to_date', 'from_date'], unique=False)

    with op.batch_alter_table('journal_events', schema=None) as batch_op:
        batch_op.create_index('ix_journal_events_actor_at', ['actor', 'at', 'case_id'], unique=False)

    with op.batch_alter_table('tasks', schema=None) as batch_op:
        batch_op.add_column(sa.Column('case_type_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('case_number', sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column('owner_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('follow_up_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.drop_index(batch_op.f('ix_tasks_assignee_state_due'))
        batch_op.drop_index(batch_op.f('ix_tasks_group_state_due'))
        batch_op.create_foreign_key(batch_op.f('fk_tasks_case_type_id_case_types'), 'case_types', ['case_type_id'], ['id'])
        batch_op.create_foreign_key(batch_op.f('fk_tasks_owner_id_users'), 'users', ['owner_id'], ['id'])
    # Existing tasks get their case's type and number, as new ones do when they are created.
    op.execute("UPDATE tasks SET case_type_id = (SELECT cases.case_type_id FROM cases WHERE cases.id = tasks.case_id), "
               "case_number = (SELECT cases.number FROM cases WHERE cases.id = tasks.case_id)")
    with op.batch_alter_table('tasks', schema=None) as batch_op:
        batch_op.create_index('ix_tasks_open_by_assignee', ['assignee_id', 'state', 'due_at', 'priority', 'created_at', 'case_type_id', 'case_number', 'case_id', 'id'], unique=False, sqlite_where=sa.text(OPEN), postgresql_where=sa.text(OPEN))
        batch_op.create_index('ix_tasks_open_by_group', ['candidate_group_id', 'state', 'assignee_id', 'due_at', 'priority', 'created_at', 'case_type_id', 'case_number', 'case_id', 'id'], unique=False, sqlite_where=sa.text(f"{OPEN} AND assignee_id IS NULL"), postgresql_where=sa.text(f"{OPEN} AND assignee_id IS NULL"))
        batch_op.create_index('ix_tasks_open_by_owner', ['owner_id', 'state'], unique=False, sqlite_where=sa.text(f"{OPEN} AND owner_id IS NOT NULL"), postgresql_where=sa.text(f"{OPEN} AND owner_id IS NOT NULL"))


def downgrade() -> None:
    with op.batch_alter_table('tasks', schema=None) as batch_op:
        batch_op.drop_index('ix_tasks_open_by_owner')
        batch_op.drop_index('ix_tasks_open_by_group')
        batch_op.drop_index('ix_tasks_open_by_assignee')
        batch_op.drop_constraint(batch_op.f('fk_tasks_owner_id_users'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('fk_tasks_case_type_id_case_types'), type_='foreignkey')
        batch_op.create_index(batch_op.f('ix_tasks_group_state_due'), ['candidate_group_id', 'state', 'due_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_tasks_assignee_state_due'), ['assignee_id', 'state', 'due_at'], unique=False)
        batch_op.drop_column('follow_up_at')
        batch_op.drop_column('owner_id')
        batch_op.drop_column('case_number')
        batch_op.drop_column('case_type_id')

    with op.batch_alter_table('journal_events', schema=None) as batch_op:
        batch_op.drop_index('ix_journal_events_actor_at')

    with op.batch_alter_table('substitutions', schema=None) as batch_op:
        batch_op.drop_index('ix_substitutions_user_dates')
        batch_op.drop_index('ix_substitutions_substitute_dates')

    op.drop_table('substitutions')
