"""Initial schema: the tables of engine/models as of the first migration.

Revision ID: 0001
Revises: 
Create Date: 2026-11-27 16:29:55.817306
"""
from alembic import op
import sqlalchemy as sa


revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('case_number_sequences',
    sa.Column('prefix', sa.String(length=10), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('last_value', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('prefix', 'year', name=op.f('pk_case_number_sequences'))
    )
    op.create_table('groups',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=80), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('parent_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['parent_id'], ['groups.id'], name=op.f('fk_groups_parent_id_groups')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_groups')),
    sa.UniqueConstraint('key', name=op.f('uq_groups_key'))
    )
    op.create_table('journal_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('actor', sa.String(length=80), nullable=False),
    sa.Column('kind', sa.String(length=60), nullable=False),
    sa.Column('data', sa.JSON(), nullable=False),
    sa.Column('prev_hash', sa.String(length=64), nullable=False),
    sa.Column('hash', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_journal_events')),
    sa.UniqueConstraint('case_id', 'seq', name=op.f('uq_journal_events_case_id'))
    )
    op.create_index(op.f('ix_journal_events_case_id'), 'journal_events', ['case_id'], unique=False)
    op.create_table('sweep_cursors',
    sa.Column('name', sa.String(length=80), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_sweep_cursors'))
    )
    op.create_table('users',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('username', sa.String(length=80), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('password_hash', sa.String(length=255), nullable=False),
    sa.Column('is_active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_users')),
    sa.UniqueConstraint('username', name=op.f('uq_users_username'))
    )
    op.create_table('case_types',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=80), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('prefix', sa.String(length=10), nullable=False),
    sa.Column('kle_number', sa.String(length=20), nullable=False),
    sa.Column('handlingsfacet', sa.String(length=10), nullable=False),
    sa.Column('deletion_rule', sa.String(length=20), nullable=False),
    sa.Column('personal_data_category', sa.String(length=20), nullable=False),
    sa.Column('owner_group_id', sa.Integer(), nullable=True),
    sa.Column('lanes', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['owner_group_id'], ['groups.id'], name=op.f('fk_case_types_owner_group_id_groups')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_case_types')),
    sa.UniqueConstraint('key', name=op.f('uq_case_types_key')),
    sa.UniqueConstraint('prefix', name=op.f('uq_case_types_prefix'))
    )
    op.create_table('memberships',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('group_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['group_id'], ['groups.id'], name=op.f('fk_memberships_group_id_groups'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_memberships_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_memberships')),
    sa.UniqueConstraint('user_id', 'group_id', name=op.f('uq_memberships_user_id'))
    )
    op.create_index(op.f('ix_memberships_group_id'), 'memberships', ['group_id'], unique=False)
    op.create_index(op.f('ix_memberships_user_id'), 'memberships', ['user_id'], unique=False)
    op.create_table('role_grants',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('role', sa.String(length=40), nullable=False),
    sa.Column('scope', sa.String(length=80), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_role_grants_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_role_grants')),
    sa.UniqueConstraint('user_id', 'role', 'scope', name=op.f('uq_role_grants_user_id'))
    )
    op.create_index(op.f('ix_role_grants_user_id'), 'role_grants', ['user_id'], unique=False)
    op.create_table('case_type_versions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_type_id', sa.Integer(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('process_id', sa.String(length=200), nullable=False),
    sa.Column('start_form', sa.String(length=200), nullable=False),
    sa.Column('content_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('published_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['case_type_id'], ['case_types.id'], name=op.f('fk_case_type_versions_case_type_id_case_types'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_case_type_versions')),
    sa.UniqueConstraint('case_type_id', 'number', name=op.f('uq_case_type_versions_case_type_id'))
    )
    op.create_index(op.f('ix_case_type_versions_case_type_id'), 'case_type_versions', ['case_type_id'], unique=False)
    op.create_index(op.f('ix_case_type_versions_content_hash'), 'case_type_versions', ['content_hash'], unique=False)
    op.create_table('case_type_schedules',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_type_id', sa.Integer(), nullable=False),
    sa.Column('version_id', sa.Integer(), nullable=False),
    sa.Column('element_id', sa.String(length=200), nullable=False),
    sa.Column('expression', sa.String(length=200), nullable=False),
    sa.Column('caseworker', sa.String(length=80), nullable=False),
    sa.Column('title', sa.String(length=300), nullable=False),
    sa.Column('next_run_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('runs_left', sa.Integer(), nullable=False),
    sa.Column('last_run_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_case_number', sa.String(length=40), nullable=False),
    sa.Column('last_error', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['case_type_id'], ['case_types.id'], name=op.f('fk_case_type_schedules_case_type_id_case_types'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['version_id'], ['case_type_versions.id'], name=op.f('fk_case_type_schedules_version_id_case_type_versions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_case_type_schedules')),
    sa.UniqueConstraint('case_type_id', 'element_id', name=op.f('uq_case_type_schedules_case_type_id'))
    )
    op.create_index(op.f('ix_case_type_schedules_case_type_id'), 'case_type_schedules', ['case_type_id'], unique=False)
    op.create_index(op.f('ix_case_type_schedules_next_run_at'), 'case_type_schedules', ['next_run_at'], unique=False)
    op.create_table('cases',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('number', sa.String(length=40), nullable=False),
    sa.Column('case_type_id', sa.Integer(), nullable=False),
    sa.Column('version_id', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=300), nullable=False),
    sa.Column('grouping', sa.String(length=200), nullable=False),
    sa.Column('caseworker_id', sa.Integer(), nullable=True),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('opened_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('next_timer_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('gdpr_review_completed', sa.Boolean(), nullable=False),
    sa.Column('journal_head', sa.String(length=64), nullable=False),
    sa.Column('journal_seq', sa.Integer(), nullable=False),
    sa.Column('awaits_message', sa.Boolean(), nullable=False),
    sa.Column('state', sa.Text(), nullable=True),
    sa.Column('row_version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['case_type_id'], ['case_types.id'], name=op.f('fk_cases_case_type_id_case_types')),
    sa.ForeignKeyConstraint(['caseworker_id'], ['users.id'], name=op.f('fk_cases_caseworker_id_users')),
    sa.ForeignKeyConstraint(['version_id'], ['case_type_versions.id'], name=op.f('fk_cases_version_id_case_type_versions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_cases')),
    sa.UniqueConstraint('number', name=op.f('uq_cases_number'))
    )
    op.create_index(op.f('ix_cases_case_type_id'), 'cases', ['case_type_id'], unique=False)
    op.create_index(op.f('ix_cases_caseworker_id'), 'cases', ['caseworker_id'], unique=False)
    op.create_index(op.f('ix_cases_grouping'), 'cases', ['grouping'], unique=False)
    op.create_index(op.f('ix_cases_next_timer_at'), 'cases', ['next_timer_at'], unique=False)
    op.create_index(op.f('ix_cases_status'), 'cases', ['status'], unique=False)
    op.create_index(op.f('ix_cases_version_id'), 'cases', ['version_id'], unique=False)
    op.create_table('model_files',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('version_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=300), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('content', sa.LargeBinary(), nullable=False),
    sa.ForeignKeyConstraint(['version_id'], ['case_type_versions.id'], name=op.f('fk_model_files_version_id_case_type_versions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_model_files')),
    sa.UniqueConstraint('version_id', 'name', name=op.f('uq_model_files_version_id'))
    )
    op.create_index(op.f('ix_model_files_version_id'), 'model_files', ['version_id'], unique=False)
    op.create_table('message_subscriptions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('task_id', sa.String(length=36), nullable=False),
    sa.Column('message_name', sa.String(length=200), nullable=False),
    sa.Column('correlation_key', sa.String(length=500), nullable=False),
    sa.Column('correlations', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_message_subscriptions_case_id_cases'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_message_subscriptions')),
    sa.UniqueConstraint('case_id', 'task_id', name=op.f('uq_message_subscriptions_case_id'))
    )
    op.create_index(op.f('ix_message_subscriptions_case_id'), 'message_subscriptions', ['case_id'], unique=False)
    op.create_index(op.f('ix_message_subscriptions_correlation_key'), 'message_subscriptions', ['correlation_key'], unique=False)
    op.create_index(op.f('ix_message_subscriptions_message_name'), 'message_subscriptions', ['message_name'], unique=False)
    op.create_table('notifications',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('source', sa.String(length=120), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=True),
    sa.Column('task_id', sa.String(length=36), nullable=True),
    sa.Column('title', sa.String(length=300), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('read_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('email_status', sa.String(length=20), nullable=False),
    sa.Column('emailed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('email_attempts', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_notifications_case_id_cases'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_notifications_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notifications')),
    sa.UniqueConstraint('user_id', 'source', name=op.f('uq_notifications_user_id'))
    )
    op.create_index(op.f('ix_notifications_case_id'), 'notifications', ['case_id'], unique=False)
    op.create_index(op.f('ix_notifications_email_status'), 'notifications', ['email_status'], unique=False)
    op.create_index('ix_notifications_user_read', 'notifications', ['user_id', 'read_at'], unique=False)
    op.create_table('service_jobs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('task_id', sa.String(length=36), nullable=False),
    sa.Column('element_id', sa.String(length=200), nullable=False),
    sa.Column('operator', sa.String(length=100), nullable=False),
    sa.Column('params', sa.JSON(), nullable=False),
    sa.Column('result_variable', sa.String(length=200), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('last_error', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_service_jobs_case_id_cases'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_service_jobs')),
    sa.UniqueConstraint('case_id', 'task_id', name=op.f('uq_service_jobs_case_id'))
    )
    op.create_index(op.f('ix_service_jobs_case_id'), 'service_jobs', ['case_id'], unique=False)
    op.create_index(op.f('ix_service_jobs_status'), 'service_jobs', ['status'], unique=False)
    op.create_table('tasks',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('element_id', sa.String(length=200), nullable=False),
    sa.Column('name', sa.String(length=300), nullable=False),
    sa.Column('lane', sa.String(length=200), nullable=False),
    sa.Column('form', sa.String(length=300), nullable=False),
    sa.Column('instructions', sa.Text(), nullable=False),
    sa.Column('state', sa.String(length=20), nullable=False),
    sa.Column('candidate_group_id', sa.Integer(), nullable=True),
    sa.Column('assignee_id', sa.Integer(), nullable=True),
    sa.Column('priority', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('due_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('completed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('completed_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['assignee_id'], ['users.id'], name=op.f('fk_tasks_assignee_id_users')),
    sa.ForeignKeyConstraint(['candidate_group_id'], ['groups.id'], name=op.f('fk_tasks_candidate_group_id_groups')),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_tasks_case_id_cases'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['completed_by_id'], ['users.id'], name=op.f('fk_tasks_completed_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_tasks'))
    )
    op.create_index('ix_tasks_assignee_state_due', 'tasks', ['assignee_id', 'state', 'due_at'], unique=False)
    op.create_index(op.f('ix_tasks_case_id'), 'tasks', ['case_id'], unique=False)
    op.create_index('ix_tasks_group_state_due', 'tasks', ['candidate_group_id', 'state', 'due_at'], unique=False)
    op.create_table('incidents',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('job_id', sa.Integer(), nullable=True),
    sa.Column('element_id', sa.String(length=200), nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('message', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('resolved_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('resolved_by', sa.String(length=80), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_incidents_case_id_cases'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['job_id'], ['service_jobs.id'], name=op.f('fk_incidents_job_id_service_jobs'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_incidents'))
    )
    op.create_index(op.f('ix_incidents_case_id'), 'incidents', ['case_id'], unique=False)
    op.create_index(op.f('ix_incidents_job_id'), 'incidents', ['job_id'], unique=False)
    op.create_index(op.f('ix_incidents_status'), 'incidents', ['status'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_incidents_status'), table_name='incidents')
    op.drop_index(op.f('ix_incidents_job_id'), table_name='incidents')
    op.drop_index(op.f('ix_incidents_case_id'), table_name='incidents')
    op.drop_table('incidents')
    op.drop_index('ix_tasks_group_state_due', table_name='tasks')
    op.drop_index(op.f('ix_tasks_case_id'), table_name='tasks')
    op.drop_index('ix_tasks_assignee_state_due', table_name='tasks')
    op.drop_table('tasks')
    op.drop_index(op.f('ix_service_jobs_status'), table_name='service_jobs')
    op.drop_index(op.f('ix_service_jobs_case_id'), table_name='service_jobs')
    op.drop_table('service_jobs')
    op.drop_index('ix_notifications_user_read', table_name='notifications')
    op.drop_index(op.f('ix_notifications_email_status'), table_name='notifications')
    op.drop_index(op.f('ix_notifications_case_id'), table_name='notifications')
    op.drop_table('notifications')
    op.drop_index(op.f('ix_message_subscriptions_message_name'), table_name='message_subscriptions')
    op.drop_index(op.f('ix_message_subscriptions_correlation_key'), table_name='message_subscriptions')
    op.drop_index(op.f('ix_message_subscriptions_case_id'), table_name='message_subscriptions')
    op.drop_table('message_subscriptions')
    op.drop_index(op.f('ix_model_files_version_id'), table_name='model_files')
    op.drop_table('model_files')
    op.drop_index(op.f('ix_cases_version_id'), table_name='cases')
    op.drop_index(op.f('ix_cases_status'), table_name='cases')
    op.drop_index(op.f('ix_cases_next_timer_at'), table_name='cases')
    op.drop_index(op.f('ix_cases_grouping'), table_name='cases')
    op.drop_index(op.f('ix_cases_caseworker_id'), table_name='cases')
    op.drop_index(op.f('ix_cases_case_type_id'), table_name='cases')
    op.drop_table('cases')
    op.drop_index(op.f('ix_case_type_schedules_next_run_at'), table_name='case_type_schedules')
    op.drop_index(op.f('ix_case_type_schedules_case_type_id'), table_name='case_type_schedules')
    op.drop_table('case_type_schedules')
    op.drop_index(op.f('ix_case_type_versions_content_hash'), table_name='case_type_versions')
    op.drop_index(op.f('ix_case_type_versions_case_type_id'), table_name='case_type_versions')
    op.drop_table('case_type_versions')
    op.drop_index(op.f('ix_role_grants_user_id'), table_name='role_grants')
    op.drop_table('role_grants')
    op.drop_index(op.f('ix_memberships_user_id'), table_name='memberships')
    op.drop_index(op.f('ix_memberships_group_id'), table_name='memberships')
    op.drop_table('memberships')
    op.drop_table('case_types')
    op.drop_table('users')
    op.drop_table('sweep_cursors')
    op.drop_index(op.f('ix_journal_events_case_id'), table_name='journal_events')
    op.drop_table('journal_events')
    op.drop_table('groups')
    op.drop_table('case_number_sequences')
