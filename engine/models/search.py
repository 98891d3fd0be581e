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
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


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
# Names of the dialect-specific objects above (FTS5's shadow tables included), for Alembic to skip.
FULL_TEXT_NAMES = {"search_fts", "search_fts_data", "search_fts_idx", "search_fts_content", "search_fts_docsize",
                   "search_fts_config", "tsv", "ix_search_documents_tsv"}


def include_name(name, type_, parent_names) -> bool:
    """Alembic's include_name hook: compare everything but the full-text objects."""
    if type_ == "table":
        return name not in FULL_TEXT_NAMES
    if type_ in ("column", "index"):
        return not (parent_names.get("table_name") == "search_documents" and name in FULL_TEXT_NAMES)
    return True


for _statement in SQLITE_FULL_TEXT:
    event.listen(SearchDocument.__table__, "after_create", DDL(_statement).execute_if(dialect="sqlite"))
for _statement in POSTGRES_FULL_TEXT:
    event.listen(SearchDocument.__table__, "after_create", DDL(_statement).execute_if(dialect="postgresql"))
