"""search: visibility tokens on the index rows, so permissions filter inside the full-text scan

Each search_documents row gets `visibility` (who may see it: " t3 u17 a17 g5 ", see
engine/search/index.py), filled here for the rows that exist and kept in step afterwards by
triggers on tasks and cases. SQLite's FTS5 table is made again with a fourth column for the
tokens and rebuilt from the table; PostgreSQL gets the tokens as a generated tsvector `vis`, in
one GIN index with `tsv`. Nothing to run after the upgrade: the rows are filled in this step.

Revision ID: 0022_search_visibility
Revises: 0021_tasks_assignee_index
Create Date: 2026-11-27 21:30:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0022_search_visibility'
down_revision = '0021_tasks_assignee_index'
branch_labels = None
depends_on = None

# The same statements as engine/models/search.py at this revision (migrations do not import the engine).
SQLITE_FULL_TEXT = [
    "CREATE VIRTUAL TABLE IF NOT EXISTS search_fts USING fts5(title, grouping, body, visibility, content='search_documents', content_rowid='id', tokenize='unicode61 remove_diacritics 2')",
    'CREATE TRIGGER IF NOT EXISTS search_documents_fts_insert AFTER INSERT ON search_documents BEGIN INSERT INTO search_fts(rowid, title, grouping, body, visibility) VALUES (new.id, new.title, new.grouping, new.body, new.visibility); END',
    "CREATE TRIGGER IF NOT EXISTS search_documents_fts_delete AFTER DELETE ON search_documents BEGIN INSERT INTO search_fts(search_fts, rowid, title, grouping, body, visibility) VALUES ('delete', old.id, old.title, old.grouping, old.body, old.visibility); END",
    "CREATE TRIGGER IF NOT EXISTS search_documents_fts_update AFTER UPDATE OF title, grouping, body, visibility ON search_documents BEGIN INSERT INTO search_fts(search_fts, rowid, title, grouping, body, visibility) VALUES ('delete', old.id, old.title, old.grouping, old.body, old.visibility); INSERT INTO search_fts(rowid, title, grouping, body, visibility) VALUES (new.id, new.title, new.grouping, new.body, new.visibility); END",
    "CREATE TRIGGER IF NOT EXISTS tasks_search_visibility_insert AFTER INSERT ON tasks BEGIN UPDATE search_documents SET visibility = coalesce((SELECT ' ' || group_concat(tok, ' ') || ' ' FROM (SELECT 't' || CAST(case_type_id AS TEXT) AS tok FROM cases WHERE id = new.case_id UNION SELECT 'u' || CAST(caseworker_id AS TEXT) FROM cases WHERE id = new.case_id AND caseworker_id IS NOT NULL UNION SELECT 'a' || CAST(assignee_id AS TEXT) FROM tasks WHERE case_id = new.case_id AND assignee_id IS NOT NULL UNION SELECT 'u' || CAST(completed_by_id AS TEXT) FROM tasks WHERE case_id = new.case_id AND completed_by_id IS NOT NULL UNION SELECT 'u' || CAST(owner_id AS TEXT) FROM tasks WHERE case_id = new.case_id AND owner_id IS NOT NULL UNION SELECT 'g' || CAST(candidate_group_id AS TEXT) FROM tasks WHERE case_id = new.case_id AND candidate_group_id IS NOT NULL ORDER BY 1) AS v), '') WHERE case_id = new.case_id AND kind IN ('case', 'document') AND visibility IS NOT coalesce((SELECT ' ' || group_concat(tok, ' ') || ' ' FROM (SELECT 't' || CAST(case_type_id AS TEXT) AS tok FROM cases WHERE id = new.case_id UNION SELECT 'u' || CAST(caseworker_id AS TEXT) FROM cases WHERE id = new.case_id AND caseworker_id IS NOT NULL UNION SELECT 'a' || CAST(assignee_id AS TEXT) FROM tasks WHERE case_id = new.case_id AND assignee_id IS NOT NULL UNION SELECT 'u' || CAST(completed_by_id AS TEXT) FROM tasks WHERE case_id = new.case_id AND completed_by_id IS NOT NULL UNION SELECT 'u' || CAST(owner_id AS TEXT) FROM tasks WHERE case_id = new.case_id AND owner_id IS NOT NULL UNION SELECT 'g' || CAST(candidate_group_id AS TEXT) FROM tasks WHERE case_id = new.case_id AND candidate_group_id IS NOT NULL ORDER BY 1) AS v), ''); END",
    "CREATE TRIGGER IF NOT EXISTS tasks_search_visibility_update AFTER UPDATE OF assignee_id, candidate_group_id, completed_by_id, owner_id ON tasks BEGIN UPDATE search_documents SET visibility = coalesce((SELECT ' ' || group_concat(tok, ' ') || ' ' FROM (SELECT 't' || CAST(case_type_id AS TEXT) AS tok FROM cases WHERE id = new.case_id UNION SELECT 'u' || CAST(caseworker_id AS TEXT) FROM cases WHERE id = new.case_id AND caseworker_id IS NOT NULL UNION SELECT 'a' || CAST(assignee_id AS TEXT) FROM tasks WHERE case_id = new.case_id AND assignee_id IS NOT NULL UNION SELECT 'u' || CAST(completed_by_id AS TEXT) FROM tasks WHERE case_id = new.case_id AND completed_by_id IS NOT NULL UNION SELECT 'u' || CAST(owner_id AS TEXT) FROM tasks WHERE case_id = new.case_id AND owner_id IS NOT NULL UNION SELECT 'g' || CAST(candidate_group_id AS TEXT) FROM tasks WHERE case_id = new.case_id AND candidate_group_id IS NOT NULL ORDER BY 1) AS v), '') WHERE case_id = new.case_id AND kind IN ('case', 'document') AND visibility IS NOT coalesce((SELECT ' ' || group_concat(tok, ' ') || ' ' FROM (SELECT 't' || CAST(case_type_id AS TEXT) AS tok FROM cases WHERE id = new.case_id UNION SELECT 'u' || CAST(caseworker_id AS TEXT) FROM cases WHERE id = new.case_id AND caseworker_id IS NOT NULL UNION SELECT 'a' || CAST(assignee_id AS TEXT) FROM tasks WHERE case_id = new.case_id AND assignee_id IS NOT NULL UNION SELECT 'u' || CAST(completed_by_id AS TEXT) FROM tasks WHERE case_id = new.case_id AND completed_by_id IS NOT NULL UNION SELECT 'u' || CAST(owner_id AS TEXT) FROM tasks WHERE case_id = new.case_id AND owner_id IS NOT NULL UNION SELECT 'g' || CAST(candidate_group_id AS TEXT) FROM tasks WHERE case_id = new.case_id AND candidate_group_id IS NOT NULL ORDER BY 1) AS v), ''); END",
    "CREATE TRIGGER IF NOT EXISTS tasks_search_visibility_delete AFTER DELETE ON tasks BEGIN UPDATE search_documents SET visibility = coalesce((SELECT ' ' || group_concat(tok, ' ') || ' ' FROM (SELECT 't' || CAST(case_type_id AS TEXT) AS tok FROM cases WHERE id = old.case_id UNION SELECT 'u' || CAST(caseworker_id AS TEXT) FROM cases WHERE id = old.case_id AND caseworker_id IS NOT NULL UNION SELECT 'a' || CAST(assignee_id AS TEXT) FROM tasks WHERE case_id = old.case_id AND assignee_id IS NOT NULL UNION SELECT 'u' || CAST(completed_by_id AS TEXT) FROM tasks WHERE case_id = old.case_id AND completed_by_id IS NOT NULL UNION SELECT 'u' || CAST(owner_id AS TEXT) FROM tasks WHERE case_id = old.case_id AND owner_id IS NOT NULL UNION SELECT 'g' || CAST(candidate_group_id AS TEXT) FROM tasks WHERE case_id = old.case_id AND candidate_group_id IS NOT NULL ORDER BY 1) AS v), '') WHERE case_id = old.case_id AND kind IN ('case', 'document') AND visibility IS NOT coalesce((SELECT ' ' || group_concat(tok, ' ') || ' ' FROM (SELECT 't' || CAST(case_type_id AS TEXT) AS tok FROM cases WHERE id = old.case_id UNION SELECT 'u' || CAST(caseworker_id AS TEXT) FROM cases WHERE id = old.case_id AND caseworker_id IS NOT NULL UNION SELECT 'a' || CAST(assignee_id AS TEXT) FROM tasks WHERE case_id = old.case_id AND assignee_id IS NOT NULL UNION SELECT 'u' || CAST(completed_by_id AS TEXT) FROM tasks WHERE case_id = old.case_id AND completed_by_id IS NOT NULL UNION SELECT 'u' || CAST(owner_id AS TEXT) FROM tasks WHERE case_id = old.case_id AND owner_id IS NOT NULL UNION SELECT 'g' || CAST(candidate_group_id AS TEXT) FROM tasks WHERE case_id = old.case_id AND candidate_group_id IS NOT NULL ORDER BY 1) AS v), ''); END",
    "CREATE TRIGGER IF NOT EXISTS cases_search_visibility AFTER UPDATE OF caseworker_id, case_type_id ON cases BEGIN UPDATE search_documents SET visibility = coalesce((SELECT ' ' || group_concat(tok, ' ') || ' ' FROM (SELECT 't' || CAST(case_type_id AS TEXT) AS tok FROM cases WHERE id = new.id UNION SELECT 'u' || CAST(caseworker_id AS TEXT) FROM cases WHERE id = new.id AND caseworker_id IS NOT NULL UNION SELECT 'a' || CAST(assignee_id AS TEXT) FROM tasks WHERE case_id = new.id AND assignee_id IS NOT NULL UNION SELECT 'u' || CAST(completed_by_id AS TEXT) FROM tasks WHERE case_id = new.id AND completed_by_id IS NOT NULL UNION SELECT 'u' || CAST(owner_id AS TEXT) FROM tasks WHERE case_id = new.id AND owner_id IS NOT NULL UNION SELECT 'g' || CAST(candidate_group_id AS TEXT) FROM tasks WHERE case_id = new.id AND candidate_group_id IS NOT NULL ORDER BY 1) AS v), '') WHERE case_id = new.id AND kind IN ('case', 'document') AND visibility IS NOT coalesce((SELECT ' ' || group_concat(tok, ' ') || ' ' FROM (SELECT 't' || CAST(case_type_id AS TEXT) AS tok FROM cases WHERE id = new.id UNION SELECT 'u' || CAST(caseworker_id AS TEXT) FROM cases WHERE id = new.id AND caseworker_id IS NOT NULL UNION SELECT 'a' || CAST(assignee_id AS TEXT) FROM tasks WHERE case_id = new.id AND assignee_id IS NOT NULL UNION SELECT 'u' || CAST(completed_by_id AS TEXT) FROM tasks WHERE case_id = new.id AND completed_by_id IS NOT NULL UNION SELECT 'u' || CAST(owner_id AS TEXT) FROM tasks WHERE case_id = new.id AND owner_id IS NOT NULL UNION SELECT 'g' || CAST(candidate_group_id AS TEXT) FROM tasks WHERE case_id = new.id AND candidate_group_id IS NOT NULL ORDER BY 1) AS v), ''); END",
]
POSTGRES_FULL_TEXT = [
    "ALTER TABLE search_documents ADD COLUMN IF NOT EXISTS vis tsvector GENERATED ALWAYS AS (array_to_tsvector(string_to_array(btrim(visibility), ' '))) STORED",
    'CREATE INDEX IF NOT EXISTS ix_search_documents_tsv ON search_documents USING gin (tsv, vis)',
    "CREATE OR REPLACE FUNCTION sagsgang_case_visibility(target integer) RETURNS text LANGUAGE sql STABLE AS $$ SELECT coalesce((SELECT ' ' || string_agg(tok, ' ' ORDER BY tok) || ' ' FROM (SELECT 't' || CAST(case_type_id AS TEXT) AS tok FROM cases WHERE id = target UNION SELECT 'u' || CAST(caseworker_id AS TEXT) FROM cases WHERE id = target AND caseworker_id IS NOT NULL UNION SELECT 'a' || CAST(assignee_id AS TEXT) FROM tasks WHERE case_id = target AND assignee_id IS NOT NULL UNION SELECT 'u' || CAST(completed_by_id AS TEXT) FROM tasks WHERE case_id = target AND completed_by_id IS NOT NULL UNION SELECT 'u' || CAST(owner_id AS TEXT) FROM tasks WHERE case_id = target AND owner_id IS NOT NULL UNION SELECT 'g' || CAST(candidate_group_id AS TEXT) FROM tasks WHERE case_id = target AND candidate_group_id IS NOT NULL ORDER BY 1) AS v), '') $$",
    "CREATE OR REPLACE FUNCTION sagsgang_search_visibility() RETURNS trigger LANGUAGE plpgsql AS $$\nDECLARE\n  target integer;\n  tokens text;\nBEGIN\n  IF TG_TABLE_NAME = 'cases' THEN target := NEW.id;\n  ELSIF TG_OP = 'DELETE' THEN target := OLD.case_id;\n  ELSE target := NEW.case_id;\n  END IF;\n  tokens := sagsgang_case_visibility(target);\n  UPDATE search_documents SET visibility = tokens\n   WHERE case_id = target AND kind IN ('case', 'document') AND visibility IS DISTINCT FROM tokens;\n  RETURN NULL;\nEND $$",
    'CREATE OR REPLACE TRIGGER tasks_search_visibility AFTER INSERT OR DELETE OR UPDATE OF assignee_id, candidate_group_id, completed_by_id, owner_id ON tasks FOR EACH ROW EXECUTE FUNCTION sagsgang_search_visibility()',
    'CREATE OR REPLACE TRIGGER cases_search_visibility AFTER UPDATE OF caseworker_id, case_type_id ON cases FOR EACH ROW EXECUTE FUNCTION sagsgang_search_visibility()',
]
SQLITE_CASE_VISIBILITY = "coalesce((SELECT ' ' || group_concat(tok, ' ') || ' ' FROM (SELECT 't' || CAST(case_type_id AS TEXT) AS tok FROM cases WHERE id = search_documents.case_id UNION SELECT 'u' || CAST(caseworker_id AS TEXT) FROM cases WHERE id = search_documents.case_id AND caseworker_id IS NOT NULL UNION SELECT 'a' || CAST(assignee_id AS TEXT) FROM tasks WHERE case_id = search_documents.case_id AND assignee_id IS NOT NULL UNION SELECT 'u' || CAST(completed_by_id AS TEXT) FROM tasks WHERE case_id = search_documents.case_id AND completed_by_id IS NOT NULL UNION SELECT 'u' || CAST(owner_id AS TEXT) FROM tasks WHERE case_id = search_documents.case_id AND owner_id IS NOT NULL UNION SELECT 'g' || CAST(candidate_group_id AS TEXT) FROM tasks WHERE case_id = search_documents.case_id AND candidate_group_id IS NOT NULL ORDER BY 1) AS v), '')"
SQLITE_OLD_TRIGGERS = ["search_documents_fts_insert", "search_documents_fts_delete", "search_documents_fts_update"]
SQLITE_OLD_FULL_TEXT = [
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
VISIBILITY_TRIGGERS = {
    'sqlite': ['tasks_search_visibility_insert ON tasks', 'tasks_search_visibility_update ON tasks',
               'tasks_search_visibility_delete ON tasks', 'cases_search_visibility ON cases'],
    'postgresql': ['tasks_search_visibility ON tasks', 'cases_search_visibility ON cases'],
}


def agenda_visibility(committee: str) -> str:
    """As engine.search.index.agenda_visibility: "pub", or the tokens of the committees named."""
    if committee == '':
        return ' pub '
    tokens = ['c' + key.encode('utf-8').hex() for key in committee.split() if key != '-']
    return f" {' '.join(tokens)} " if tokens else ''


def _agenda_rows() -> None:
    conn = op.get_bind()
    rows = conn.execute(sa.text("SELECT id, committee FROM search_documents WHERE kind = 'agenda_item'")).all()
    for row_id, committee in rows:
        conn.execute(sa.text("UPDATE search_documents SET visibility = :v WHERE id = :id"),
                     {'v': agenda_visibility(committee or ''), 'id': row_id})


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    op.add_column('search_documents', sa.Column('visibility', sa.Text(), server_default='', nullable=False))
    if dialect == 'sqlite':
        for name in SQLITE_OLD_TRIGGERS:
            op.execute(f'DROP TRIGGER IF EXISTS {name}')
        op.execute('DROP TABLE IF EXISTS search_fts')
        op.execute(f"UPDATE search_documents SET visibility = {SQLITE_CASE_VISIBILITY} "
                   "WHERE kind IN ('case', 'document')")
        _agenda_rows()
        for statement in SQLITE_FULL_TEXT:
            op.execute(statement)
        op.execute("INSERT INTO search_fts(search_fts) VALUES ('rebuild')")
    else:
        op.execute('DROP INDEX IF EXISTS ix_search_documents_tsv')
        for statement in POSTGRES_FULL_TEXT:
            if statement.startswith('CREATE OR REPLACE TRIGGER'):
                continue  # after the data step, which they would otherwise follow row by row
            op.execute(statement)
        op.execute("UPDATE search_documents SET visibility = sagsgang_case_visibility(case_id) "
                   "WHERE kind IN ('case', 'document')")
        _agenda_rows()
        for statement in POSTGRES_FULL_TEXT:
            if statement.startswith('CREATE OR REPLACE TRIGGER'):
                op.execute(statement)


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    for trigger in VISIBILITY_TRIGGERS[dialect]:
        op.execute(f'DROP TRIGGER IF EXISTS {trigger.split()[0]}' if dialect == 'sqlite'
                   else f'DROP TRIGGER IF EXISTS {trigger}')
    if dialect == 'sqlite':
        for name in SQLITE_OLD_TRIGGERS:
            op.execute(f'DROP TRIGGER IF EXISTS {name}')
        op.execute('DROP TABLE IF EXISTS search_fts')
        with op.batch_alter_table('search_documents', schema=None) as batch_op:
            batch_op.drop_column('visibility')
        for statement in SQLITE_OLD_FULL_TEXT:
            op.execute(statement)
        op.execute("INSERT INTO search_fts(search_fts) VALUES ('rebuild')")
    else:
        op.execute('DROP FUNCTION IF EXISTS sagsgang_search_visibility()')
        op.execute('DROP FUNCTION IF EXISTS sagsgang_case_visibility(integer)')
        op.execute('DROP INDEX IF EXISTS ix_search_documents_tsv')
        op.execute('ALTER TABLE search_documents DROP COLUMN vis')
        op.drop_column('search_documents', 'visibility')
        op.execute('CREATE INDEX ix_search_documents_tsv ON search_documents USING gin (tsv)')
