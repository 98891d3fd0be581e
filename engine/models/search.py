"""The search index: one row per findable thing (a case, a document, an agenda item).

The table is the same on both dialects and written by the same code (engine/search/index.py);
each dialect keeps its own full-text index of it, made by DDL below and by the migration:

- SQLite: an FTS5 table over (title, grouping, body) with the unicode61 tokenizer (diacritics
  removed: "Åbenrå" finds "Abenra"), kept in step by triggers. FTS5 has no Danish stemmer;
  queries match word prefixes instead (engine/search/backends.py).
- PostgreSQL: a `tsv` tsvector column set by a trigger with the `danish` text search
  configuration (Snowball stemming: "byggesager" finds "byggesagen"), under a GIN index.

Neither object is in the model: Alembic's comparisons skip them by name (`FULL_TEXT_NAMES`).
Deleting a row (or its case) takes its text out of both indexes: personal data does not linger.

Who may see a row is on the row too (`visibility`, tokens such as "t3 u17 a17 g5"), and in the
full-text index beside the words, so that a search filters by permission inside the index scan
instead of joining every match with its case and tasks (engine/search/service.py). Triggers on
`tasks` and `cases` keep the tokens of a case's rows in step with whoever writes those tables.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import DDL, JSON, ForeignKey, String, Text, event
from sqlalchemy.orm import Mapped, mapped_column

from ..db import Base, UTCDateTime, utcnow

SEARCH_KINDS = ("case", "document", "agenda_item")


class SearchDocument(Base):
    __tablename__ = "search_documents"

    id: Mapped[int] = mapped_column(primary_key=True)
    # What the row indexes, unique: "case:12", "document:7", "agenda_item:3".
    key: Mapped[str] = mapped_column(String(80), unique=True)
    kind: Mapped[str] = mapped_column(String(20))
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    # A closed agenda item: only members of this committee find it (empty: no such restriction).
    committee: Mapped[str] = mapped_column(String(80), default="")
    title: Mapped[str] = mapped_column(String(300), default="")
    grouping: Mapped[str] = mapped_column(String(200), default="")
    body: Mapped[str] = mapped_column(Text, default="")
    # A case's form fields as last submitted (field path -> text); `body` is made from them, so a
    # field corrected in a later task is found by its new value only.
    fields: Mapped[dict] = mapped_column(JSON, default=dict)
    # Who may find the row, as space-separated tokens (" t3 u17 a17 g5 "; engine/search/index.py):
    # for a case and its documents set from `cases` and `tasks` (CASE_VISIBILITY, by triggers),
    # for an agenda item from `committee`.
    visibility: Mapped[str] = mapped_column(Text, default="", server_default="")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


def case_visibility_sql(dialect: str, case_id: str) -> str:
    """SQL for the visibility tokens of case `case_id` (an SQL expression), as can_see_case reads them.

    t<case type> (its owner group sees it), u<user> (caseworker, completer or delegating owner of a
    task: that user only), a<user> (assignee of a task: that user and their substitutes), g<group>
    (candidate group of a task). Sorted, space-separated, with a space at each end.
    """
    joined = "group_concat(tok, ' ')" if dialect == "sqlite" else "string_agg(tok, ' ' ORDER BY tok)"
    parts = [f"SELECT 't' || CAST(case_type_id AS TEXT) AS tok FROM cases WHERE id = {case_id}",
             f"SELECT 'u' || CAST(caseworker_id AS TEXT) FROM cases WHERE id = {case_id} AND caseworker_id IS NOT NULL"]
    parts += [f"SELECT '{prefix}' || CAST({column} AS TEXT) FROM tasks WHERE case_id = {case_id} AND {column} IS NOT NULL"
              for prefix, column in (("a", "assignee_id"), ("u", "completed_by_id"), ("u", "owner_id"),
                                     ("g", "candidate_group_id"))]
    return f"coalesce((SELECT ' ' || {joined} || ' ' FROM ({' UNION '.join(parts)} ORDER BY 1) AS v), '')"


_FTS_COLUMNS = "title, grouping, body, visibility"
SQLITE_AUTOMERGE = 2
_FTS_NEW = "new.id, new.title, new.grouping, new.body, new.visibility"
_FTS_OLD = "'delete', old.id, old.title, old.grouping, old.body, old.visibility"
# The tasks' columns that say who may see a case (engine.permissions.can_see_case).
_TASK_HOLDERS = "assignee_id, candidate_group_id, completed_by_id, owner_id"


def _sqlite_refresh(case_id: str) -> str:
    tokens = case_visibility_sql("sqlite", case_id)
    return (f"UPDATE search_documents SET visibility = {tokens} WHERE case_id = {case_id} "
            f"AND kind IN ('case', 'document') AND visibility IS NOT {tokens};")


# The SQLite task triggers recompute a case's tokens only when the written task can change them
# (the refresh runs six subqueries twice, and the FTS5 row is rewritten when tokens change): a
# task adds tokens only for holders whose token some row of its case lacks, and a holder column
# that loses or changes a value may take a token away. Otherwise the stored tokens already equal
# the recomputed ones, which every writer keeps true (the rows start with them, these triggers
# follow every change).
_HOLDER_TOKENS = (("a", "assignee_id"), ("u", "completed_by_id"), ("u", "owner_id"), ("g", "candidate_group_id"))
_SQLITE_TOKEN_MISSING = (
    "EXISTS (SELECT 1 FROM search_documents WHERE case_id = new.case_id AND kind IN ('case', 'document') AND ("
    + " OR ".join(f"(new.{column} IS NOT NULL AND instr(visibility, ' {prefix}' || new.{column} || ' ') = 0)"
                  for prefix, column in _HOLDER_TOKENS) + "))")
_SQLITE_HOLDER_REMOVED = "(" + " OR ".join(f"(old.{column} IS NOT NULL AND old.{column} IS NOT new.{column})"
                                           for _, column in _HOLDER_TOKENS) + ")"

SQLITE_FULL_TEXT = [
    f"CREATE VIRTUAL TABLE IF NOT EXISTS search_fts USING fts5({_FTS_COLUMNS}, content='search_documents', "
    "content_rowid='id', tokenize='unicode61 remove_diacritics 2')",
    # Merge a level's segments as soon as it holds two (FTS5's default: four). Each commit that
    # writes the index adds a segment; with at most one waiting per level the index keeps fewer,
    # so a commit rewrites fewer pages of search_fts_data and a query reads fewer segments
    # (bench/engine.py: 54.5 -> 52.7 WAL frames a case, 1 % fewer instructions; migration 0027).
    f"INSERT INTO search_fts(search_fts, rank) VALUES ('automerge', {SQLITE_AUTOMERGE})",
    "CREATE TRIGGER IF NOT EXISTS search_documents_fts_insert AFTER INSERT ON search_documents BEGIN "
    f"INSERT INTO search_fts(rowid, {_FTS_COLUMNS}) VALUES ({_FTS_NEW}); END",
    "CREATE TRIGGER IF NOT EXISTS search_documents_fts_delete AFTER DELETE ON search_documents BEGIN "
    f"INSERT INTO search_fts(search_fts, rowid, {_FTS_COLUMNS}) VALUES ({_FTS_OLD}); END",
    f"CREATE TRIGGER IF NOT EXISTS search_documents_fts_update AFTER UPDATE OF {_FTS_COLUMNS} ON search_documents BEGIN "
    f"INSERT INTO search_fts(search_fts, rowid, {_FTS_COLUMNS}) VALUES ({_FTS_OLD}); "
    f"INSERT INTO search_fts(rowid, {_FTS_COLUMNS}) VALUES ({_FTS_NEW}); END",
    f"CREATE TRIGGER IF NOT EXISTS tasks_search_visibility_insert AFTER INSERT ON tasks "
    f"WHEN {_SQLITE_TOKEN_MISSING} BEGIN {_sqlite_refresh('new.case_id')} END",
    f"CREATE TRIGGER IF NOT EXISTS tasks_search_visibility_update AFTER UPDATE OF {_TASK_HOLDERS} ON tasks "
    f"WHEN {_SQLITE_HOLDER_REMOVED} OR {_SQLITE_TOKEN_MISSING} BEGIN {_sqlite_refresh('new.case_id')} END",
    f"CREATE TRIGGER IF NOT EXISTS tasks_search_visibility_delete AFTER DELETE ON tasks BEGIN {_sqlite_refresh('old.case_id')} END",
    "CREATE TRIGGER IF NOT EXISTS cases_search_visibility AFTER UPDATE OF caseworker_id, case_type_id ON cases "
    f"BEGIN {_sqlite_refresh('new.id')} END",
]
POSTGRES_FULL_TEXT = [
    "ALTER TABLE search_documents ADD COLUMN IF NOT EXISTS tsv tsvector",
    # Kept in the row (compressed there first if need be): every search tests or ranks thousands of
    # tsvectors, and a document's, moved to the TOAST table as the row's largest value, cost an
    # index lookup and another page each. The body and form fields move out instead (migration 0025).
    "ALTER TABLE search_documents ALTER COLUMN tsv SET STORAGE MAIN",
    """CREATE OR REPLACE FUNCTION sagsgang_search_tsv() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  NEW.tsv := setweight(to_tsvector('danish', coalesce(NEW.title, '')), 'A')
          || setweight(to_tsvector('danish', coalesce(NEW.grouping, '')), 'B')
          || setweight(to_tsvector('danish', coalesce(NEW.body, '')), 'D');
  RETURN NEW;
END $$""",
    "CREATE OR REPLACE TRIGGER search_documents_tsv BEFORE INSERT OR UPDATE OF title, grouping, body ON search_documents "
    "FOR EACH ROW EXECUTE FUNCTION sagsgang_search_tsv()",
    # The tokens as lexemes, exactly (no parser, no stemming), searched in the same GIN index as the words.
    "ALTER TABLE search_documents ADD COLUMN IF NOT EXISTS vis tsvector GENERATED ALWAYS AS "
    "(array_to_tsvector(string_to_array(btrim(visibility), ' '))) STORED",
    "CREATE INDEX IF NOT EXISTS ix_search_documents_tsv ON search_documents USING gin (tsv, vis)",
    "CREATE OR REPLACE FUNCTION sagsgang_case_visibility(target integer) RETURNS text LANGUAGE sql STABLE AS "
    f"$$ SELECT {case_visibility_sql('postgresql', 'target')} $$",
    """CREATE OR REPLACE FUNCTION sagsgang_search_visibility() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  target integer;
  tokens text;
BEGIN
  IF TG_TABLE_NAME = 'cases' THEN target := NEW.id;
  ELSIF TG_OP = 'DELETE' THEN target := OLD.case_id;
  ELSE target := NEW.case_id;
  END IF;
  tokens := sagsgang_case_visibility(target);
  UPDATE search_documents SET visibility = tokens
   WHERE case_id = target AND kind IN ('case', 'document') AND visibility IS DISTINCT FROM tokens;
  RETURN NULL;
END $$""",
    f"CREATE OR REPLACE TRIGGER tasks_search_visibility AFTER INSERT OR DELETE OR UPDATE OF {_TASK_HOLDERS} ON tasks "
    "FOR EACH ROW EXECUTE FUNCTION sagsgang_search_visibility()",
    "CREATE OR REPLACE TRIGGER cases_search_visibility AFTER UPDATE OF caseworker_id, case_type_id ON cases "
    "FOR EACH ROW EXECUTE FUNCTION sagsgang_search_visibility()",
]
# Names of the dialect-specific objects above (FTS5's shadow tables included), for Alembic to skip.
FULL_TEXT_NAMES = {"search_fts", "search_fts_data", "search_fts_idx", "search_fts_content", "search_fts_docsize",
                   "search_fts_config", "tsv", "vis", "ix_search_documents_tsv"}


def include_name(name, type_, parent_names) -> bool:
    """Alembic's include_name hook: compare everything but the full-text objects."""
    if type_ == "table":
        return name not in FULL_TEXT_NAMES
    if type_ in ("column", "index"):
        return not (parent_names.get("table_name") == "search_documents" and name in FULL_TEXT_NAMES)
    return True


# After the whole schema (the triggers name `tasks` and `cases` too); each statement may run again
# on a schema that has it (engine.schema completes a database made before migrations).
for _statement in SQLITE_FULL_TEXT:
    event.listen(Base.metadata, "after_create", DDL(_statement).execute_if(dialect="sqlite"))
for _statement in POSTGRES_FULL_TEXT:
    event.listen(Base.metadata, "after_create", DDL(_statement).execute_if(dialect="postgresql"))
