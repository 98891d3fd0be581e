"""Search index (FTS5 on SQLite, tsvector + GIN with the danish configuration on PostgreSQL),
personal API tokens, webhook subscriptions and deliveries.

Revision ID: 0010_search_api
Revises: 0005_task_actions
Create Date: 2026-11-27 18:00:00

Cases that exist before this migration are indexed by the worker task sagsgang.search_catch_up
(engine.search.service.catch_up), a few hundred per run, after the upgrade.
"""
from alembic import op
import sqlalchemy as sa


revision = '0010_search_api'
down_revision = '0005_task_actions'
branch_labels = None
depends_on = None

# The same statements as engine/models/search.py (migrations do not import the engine).
SQLITE_FULL_TEXT = [
    "CREATE VIRTUAL TABLE search_fts USING fts5(title, grouping, body, content='search_documents', "
    "content_rowid='id', tokenize='unicode61 remove_diacritics 2')",
    "CREATE TRIGGER search_documents_fts_insert AFTER INSERT ON search_documents BEGIN "
    "INSERT INTO search_fts(rowid, title, grouping, body) VALUES (new.id, new.title, new.grouping, new.body); END",
    "CREATE TRIGGER search_documents_fts_delete AFTER DELETE ON search_documents BEGIN "
    "INSERT INTO search_fts(search_fts, rowid, title, grouping, body) "
    "VALUES ('delete', old.id, old.title, old.grouping, old.body); END",
    "CREATE TRIGGER search_documents_fts_update AFTER UPDATE OF title, grouping, body ON search_documents BEGIN "
    "INSERT INTO search_fts(search_fts, rowid, title, grouping, body) "
    "VALUES ('delete', old.id, old.title, old.grouping, old.body); "
    "INSERT INTO search_fts(rowid, title, grouping, body) VALUES (new.id, new.title, new.grouping, new.body); END",
]
POSTGRES_FULL_TEXT = [
    "ALTER TABLE search_documents ADD COLUMN tsv tsvector",
    """CREATE OR REPLACE FUNCTION sagsgang_search_tsv() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  NEW.tsv := setweight(to_tsvector('danish', coalesce(NEW.title, '')), 'A')
          || setweight(to_tsvector('danish', coalesce(NEW.grouping, '')), 'B')
          || setweight(to_tsvector('danish', coalesce(NEW.body, '')), 'D');
  RETURN NEW;
END $$""",
    "CREATE TRIGGER search_documents_tsv BEFORE INSERT OR UPDATE OF title, grouping, body ON search_documents "
    "FOR EACH ROW EXECUTE FUNCTION sagsgang_search_tsv()",
    "CREATE INDEX ix_search_documents_tsv ON search_documents USING gin (tsv)",
]


def upgrade() -> None:
    op.create_table('search_documents',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=80), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=True),
    sa.Column('committee', sa.String(length=80), nullable=False),
    sa.Column('title', sa.String(length=300), nullable=False),
    sa.Column('grouping', sa.String(length=200), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('fields', sa.JSON(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_search_documents_case_id_cases'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_search_documents')),
    sa.UniqueConstraint('key', name=op.f('uq_search_documents_key'))
    )
    op.create_index(op.f('ix_search_documents_case_id'), 'search_documents', ['case_id'], unique=False)
    dialect = op.get_bind().dialect.name
    for statement in SQLITE_FULL_TEXT if dialect == 'sqlite' else POSTGRES_FULL_TEXT:
        op.execute(statement)
    op.create_table('api_tokens',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('prefix', sa.String(length=16), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_used_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_api_tokens_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_api_tokens')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_api_tokens_token_hash'))
    )
    op.create_index(op.f('ix_api_tokens_user_id'), 'api_tokens', ['user_id'], unique=False)
    op.create_table('webhook_subscriptions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('url', sa.String(length=1000), nullable=False),
    sa.Column('secret_encrypted', sa.Text(), nullable=False),
    sa.Column('events', sa.JSON(), nullable=False),
    sa.Column('description', sa.String(length=200), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_by', sa.String(length=80), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_webhook_subscriptions'))
    )
    op.create_table('webhook_deliveries',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('subscription_id', sa.Integer(), nullable=False),
    sa.Column('event_id', sa.String(length=80), nullable=False),
    sa.Column('event', sa.String(length=40), nullable=False),
    sa.Column('payload', sa.JSON(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_status', sa.Integer(), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('delivered_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['subscription_id'], ['webhook_subscriptions.id'], name=op.f('fk_webhook_deliveries_subscription_id_webhook_subscriptions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_webhook_deliveries')),
    sa.UniqueConstraint('subscription_id', 'event_id', name=op.f('uq_webhook_deliveries_subscription_id'))
    )
    op.create_index('ix_webhook_deliveries_status_next', 'webhook_deliveries', ['status', 'next_attempt_at'], unique=False)


def downgrade() -> None:
    op.drop_table('webhook_deliveries')
    op.drop_table('webhook_subscriptions')
    op.drop_table('api_tokens')
    if op.get_bind().dialect.name == 'sqlite':
        op.execute("DROP TABLE search_fts")
    else:
        op.execute("DROP FUNCTION IF EXISTS sagsgang_search_tsv() CASCADE")
    op.drop_table('search_documents')
