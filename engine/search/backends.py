"""The two full-text back ends behind one interface: a `Match` for a parsed query.

A Match gives the service what it needs to build one SQL query whatever the dialect: the FROM
source (search_documents joined to the dialect's index), the WHERE condition, a rank expression
that sorts best first when ascending, and the highlighted title and snippet of a page of rows.

A match may carry visibility tokens (engine/search/index.py: who may see a row): then the index
itself finds only rows with one of them, in the same scan as the words (FTS5: the `visibility`
column in the MATCH expression; PostgreSQL: the `vis` tsvector in the same GIN index as `tsv`).
None means no such restriction (an administrator).

Differences a user may notice (docs: README "Search"):
- PostgreSQL stems Danish words (Snowball `danish`): "byggesager" finds "byggesagen", "ansøgninger"
  finds "ansøgning". SQLite's FTS5 has no Danish stemmer: every word of three letters or more
  matches as a prefix instead ("byggesag" finds "byggesagen", but "ansøgninger" does not find
  "ansøgning"), and the unicode61 tokenizer folds diacritics ("Åbenrå" = "abenra"; ø and æ stay).
- PostgreSQL drops Danish stop words ("og", "i", "på"); SQLite matches them.
"""
from __future__ import annotations

import time
import weakref
from dataclasses import dataclass
from html import escape

from sqlalchemy import and_, bindparam, cast, column, func, literal_column, select, table, text, true
from sqlalchemy.dialects.postgresql import TSQUERY
from sqlalchemy.orm import Session

from ..models.cases import Case
from ..models.search import SearchDocument
from .text import MARK_END, MARK_START, Query, highlight

SNIPPET_WORDS = 24
PROBE_ROWS = 4000  # PostgreSQL: newest rows tested for a word before its GIN scan (see rank_newest)
PROBE_SHARE = 0.25  # ... taken from them when at least this share of them match
PROBE_SKEW = 2.0  # the newest rows are assumed to hold a word at most this many times as often as the table
STATS_SECONDS = 300  # PostgreSQL: how long a process keeps pg_stats' lexeme frequencies
WINDOW_MIN_MATCHES = 4  # PostgreSQL: a query estimated to match this many times the cap first looks ...
WINDOW_SPARE = 2  # ... among the newest ids expected to hold this many times the cap, then twice as many


@dataclass
class Match:
    source: object       # FROM: search_documents joined with the dialect's full-text index
    condition: object    # WHERE: the row matches the query
    rank: object         # ORDER BY rank ascending puts the best match first
    backend: "Backend"
    query: Query
    newest: object       # SELECT id of every match from the full-text index alone, newest first
    tokens: list[str] | None = None  # the visibility tokens in the match (None: no such restriction)
    tsquery: object = None           # PostgreSQL: the words' tsquery

    def ids(self, session: Session, cap: int) -> list[int]:
        """The ids of any `cap` matches, in no order, from the full-text index alone (the cheapest
        lookup there is: bench/search.py's baseline)."""
        return list(session.scalars(self.newest.order_by(None).limit(cap)))

    def best_of_newest(self, session: Session, cap: int, where: list | None = None) \
            -> tuple[list[tuple[int, float]], bool, set[int] | None]:
        """((id, rank) of the newest `cap` matches best first (ties newest first), whether that is every
        match, the ids among them that meet `where` or None when the back end left that to the caller).

        The rank is computed for those rows only.
        """
        rows, every_match, allowed = self.backend.rank_newest(session, self, cap, where)
        return sorted(rows, key=lambda hit: (hit[1], -hit[0])), every_match, allowed

    def highlights(self, session: Session, ids: list[int]) -> dict[int, tuple[str, str]]:
        """id -> (title, snippet) as HTML: text escaped, matches in <mark>."""
        if not ids:
            return {}
        return {row_id: (marked(title or ""), marked(snippet or ""))
                for row_id, title, snippet in self.backend.highlight_rows(session, self, ids)}


def marked(raw: str) -> str:
    return escape(raw, quote=False).replace(MARK_START, "<mark>").replace(MARK_END, "</mark>")


class Backend:
    name = ""

    def match(self, query: Query, tokens: list[str] | None = None) -> Match:
        """The rows that match `query` and, unless `tokens` is None, carry one of `tokens`."""
        raise NotImplementedError

    def highlight_rows(self, session: Session, match: Match, ids: list[int]):
        raise NotImplementedError

    def rank_newest(self, session: Session, match: Match, cap: int, where: list | None = None) \
            -> tuple[list[tuple[int, float]], bool, set[int] | None]:
        """((id, rank) of the newest `cap` matches in any order, whether that is every match, which of
        them meet `where` (SQL over search_documents outer-joined with cases), or None: not checked here).

        From the full-text index alone; the caller checks `where` (FTS5's rank needs the MATCH).
        """
        rows = session.execute(match.newest.add_columns(match.rank).limit(cap)).all()
        return [(row_id, rank) for row_id, rank in rows], len(rows) < cap, None


_FTS = table("search_fts", column("rowid"))
_FTS_NAME = literal_column("search_fts")


class SqliteBackend(Backend):
    """FTS5 with BM25 ranking: title weighs 10, grouping 4, body 1 (visibility tokens 0)."""

    name = "sqlite-fts5"

    def match(self, query: Query, tokens: list[str] | None = None) -> Match:
        expression = "{title grouping body} : (" + fts5_expression(query) + ")"
        if tokens is not None:
            expression += " AND visibility : (" + (" OR ".join(tokens) or "nobody") + ")"
        source = _FTS.join(SearchDocument, SearchDocument.id == _FTS.c.rowid)
        condition = _FTS_NAME.op("MATCH")(bindparam("fts_query", expression))
        rank = func.bm25(_FTS_NAME, 10.0, 4.0, 1.0, 0.0)
        newest = (select(_FTS.c.rowid).select_from(_FTS).where(condition)
                  .order_by(_FTS.c.rowid.desc()))
        return Match(source, condition, rank, self, query, newest, tokens)

    def highlight_rows(self, session: Session, match: Match, ids: list[int]):
        # In Python from the stored text: FTS5's snippet() re-runs the query for every row, which
        # for a word in most rows means reading its whole posting list twenty times.
        words = match.query.words()
        rows = session.execute(select(SearchDocument.id, SearchDocument.title, SearchDocument.body)
                               .where(SearchDocument.id.in_(ids)))
        return [(row_id, highlight(title or "", words), highlight(body or "", words, SNIPPET_WORDS))
                for row_id, title, body in rows]


def fts5_expression(query: Query) -> str:
    """An FTS5 MATCH expression from parsed words only (never the user's raw syntax).

    Words of three letters or more match as prefixes: the nearest FTS5 has to stemming.
    """
    def term(words: tuple[str, ...]) -> str:
        phrase = '"' + " ".join(words) + '"'
        return phrase + "*" if len(words[-1]) >= 3 else phrase

    expression = " AND ".join(term(words) for words in query.terms)
    for words in query.excluded:
        expression = f"({expression}) NOT {term(words)}"
    return expression


_TSV = literal_column("search_documents.tsv")
_VIS = literal_column("search_documents.vis")


class PostgresBackend(Backend):
    """tsvector with the `danish` configuration; ts_rank with weights title A, grouping B, body D."""

    name = "postgresql-danish"

    def match(self, query: Query, tokens: list[str] | None = None) -> Match:
        tsquery = func.websearch_to_tsquery(literal_column("'danish'"), bindparam("ts_query", websearch_text(query)))
        condition, rank = _TSV.op("@@")(tsquery), -func.ts_rank(_TSV, tsquery)
        if tokens is not None:  # lexemes exactly as stored: quoted, no parser, no stemming
            allowed = " | ".join(f"'{token}'" for token in tokens) or "'nobody'"
            condition = condition & _VIS.op("@@")(cast(bindparam("vis_query", allowed), TSQUERY))
        # `id + 0`: ordered by the primary key itself, the planner walks it backwards testing every
        # row against the query until enough match, which for a rare word (or none) is the whole
        # table; this way it takes the matches from the GIN index and sorts those.
        newest = select(SearchDocument.id).where(condition).order_by((SearchDocument.id + 0).desc())
        return Match(SearchDocument.__table__, condition, rank, self, query, newest, tokens, tsquery)

    def __init__(self):
        self._stats: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
        self._stemmed: tuple[str | None, list[str]] = (None, [])  # the last query's words and lexemes

    def rank_newest(self, session: Session, match: Match, cap: int, where: list | None = None) \
            -> tuple[list[tuple[int, float]], bool, set[int] | None]:
        """The newest `cap` matches' ids, then for those rows only ts_rank (it reads each row's whole
        tsvector) and `where`, all in one statement.

        One statement rather than ids, ranks and conditions in turn: each of those passes 2,000 ids
        back and forth (binding them costs the client more than the server spends on them) and looks
        up the same rows again.

        A GIN scan reads every match, which for a word in most rows is most of the table. So
        without visibility tokens (an administrator), unless the planner's statistics say too few
        rows match (see probe_worthwhile), the newest PROBE_ROWS rows are tested first: a word in a
        quarter of them or more is taken from there (the best of the matches among the newest rows;
        not every match), anything rarer from the GIN index: for a query in very many rows, first
        within windows of the newest ids (see newest_windows).
        """
        rows, every_match = [], False
        if match.tokens is None and self.probe_worthwhile(session, match.query):
            recent = select(SearchDocument.id, _TSV.label("tsv")).order_by(SearchDocument.id.desc()) \
                .limit(PROBE_ROWS).cte("recent").prefix_with("MATERIALIZED")
            rows = self._ranked(session, match, where,
                                select(recent.c.id).where(literal_column("recent.tsv").op("@@")(match.tsquery))
                                .order_by(recent.c.id.desc()).limit(cap))
        if len(rows) < PROBE_ROWS * PROBE_SHARE:
            windows = self.newest_windows(session, match.query, cap) if match.tokens is None else ()
            rows = []
            for window in windows:  # cap matches among the newest `window` ids are the newest cap matches
                newest_id = select(func.max(SearchDocument.id)).scalar_subquery()
                rows = self._ranked(session, match, where,
                                    match.newest.where(SearchDocument.id > newest_id - window).limit(cap))
                if len(rows) == cap:
                    break
            if len(rows) < cap:
                rows = self._ranked(session, match, where, match.newest.limit(cap))
                every_match = len(rows) < cap
        allowed = None if where is None else {row_id for row_id, _, meets in rows if meets}
        return [(row_id, rank) for row_id, rank, _ in rows], every_match, allowed

    @staticmethod
    def _ranked(session: Session, match: Match, where: list | None, hits) -> list:
        """(id, rank, whether the row meets `where`) of the rows whose ids `hits` selects."""
        hits = hits.subquery("hits")
        source = hits.join(SearchDocument, SearchDocument.id == hits.c.id)
        if where is None:
            return session.connection().execute(select(SearchDocument.id, match.rank, true()).select_from(source)).all()
        return session.connection().execute(
            select(SearchDocument.id, match.rank, and_(true(), *where).label("meets"))
            .select_from(source.outerjoin(Case, Case.id == SearchDocument.case_id))).all()

    def probe_worthwhile(self, session: Session, query: Query) -> bool:
        """Whether the newest rows can hold PROBE_SHARE matches, judged before reading them.

        Testing the newest rows detoasts PROBE_ROWS tsvectors (~20 ms), wasted on a word that is
        rare or in no row. PostgreSQL's own statistics (pg_stats.most_common_elems of `tsv`, what
        the planner estimates a word's rows from) give each common lexeme's share of rows; for a
        lexeme not among them the planner assumes half the least common listed share, and so do
        we. Every word of a query must match, so its rarest word bounds the query's share. The
        newest rows need not look like the table (in bench/search.py they are all documents: a
        word in 15 % of all rows is in 30 % of them, a street in 4 % of all rows in none), so the
        probe is skipped only when even PROBE_SKEW times that share is below PROBE_SHARE, or when
        the whole table holds fewer matches than the probe needs. Without statistics (never
        analysed) every such query is probed, as before.
        """
        frequencies, floor, rows = self._lexeme_frequencies(session)
        if frequencies is None:
            return True
        lexemes = self._lexemes(session, query)
        if not lexemes:  # only stop words: the query matches nothing
            return False
        share = min(frequencies.get(lexeme, floor / 2) for lexeme in lexemes)
        return share * PROBE_SKEW >= PROBE_SHARE and share * rows >= PROBE_ROWS * PROBE_SHARE

    def newest_windows(self, session: Session, query: Query, cap: int) -> tuple[int, ...]:
        """How many of the newest ids to look among first, then next, for a query with very many matches.

        The GIN scan must read the heap row of every match to learn its id (~20,000 rows, one
        page each, for two common words: most of them read from the OS, the table being larger
        than shared_buffers). With a bound on the id, PostgreSQL ANDs the GIN bitmap with the
        primary key's and reads only the rows in the window. The window is exact when it holds
        `cap` matches, and is otherwise read again without the bound (rank_newest), so a wrong
        guess costs time, never a hit. Estimated matches: the table's rows times each word's
        share from pg_stats (as the planner estimates an AND); the first window is sized to hold
        WINDOW_SPARE times the cap if the newest rows matched as often as the table, the second
        twice that, for when they match less often (in bench/search.py the newest fifth are
        documents that hold no town or street). A window as large as the table is not tried.
        """
        frequencies, floor, rows = self._lexeme_frequencies(session)
        if frequencies is None or rows <= 0:
            return ()
        lexemes = self._lexemes(session, query)
        if not lexemes:
            return ()
        share = 1.0
        for lexeme in lexemes:
            share *= frequencies.get(lexeme, floor / 2)
        if share * rows < WINDOW_MIN_MATCHES * cap:
            return ()
        first = int(WINDOW_SPARE * cap / share)
        return tuple(window for window in (first, 2 * first) if window < rows)

    def _lexemes(self, session: Session, query: Query) -> list[str]:
        """The query's words as the danish configuration stems them: one round trip a search, though
        both probe_worthwhile and newest_windows may ask."""
        words = " ".join(query.words())
        last = self._stemmed  # one read: threads of a worker share the backend
        if last[0] != words:
            last = self._stemmed = (words, session.scalars(text(
                "SELECT unnest(tsvector_to_array(to_tsvector('danish', :words)))"), {"words": words}).all())
        return last[1]

    def _lexeme_frequencies(self, session: Session) -> tuple[dict[str, float] | None, float, float]:
        """(lexeme -> share of rows for search_documents.tsv's most common lexemes, the least
        share listed, the table's estimated rows); cached per engine for STATS_SECONDS."""
        key = session.get_bind()  # a wrong guess costs time, never a hit: either way the result is exact
        now = time.monotonic()
        cached = self._stats.get(key)
        if cached is not None and now - cached[0] < STATS_SECONDS:
            return cached[1:]
        row = session.execute(text(
            "SELECT s.most_common_elems::text::text[], s.most_common_elem_freqs, c.reltuples FROM pg_stats s "
            "JOIN pg_class c ON c.oid = to_regclass('search_documents') "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE s.schemaname = n.nspname AND s.tablename = 'search_documents' AND s.attname = 'tsv'")).first()
        frequencies, floor, rows = None, 0.0, 0.0
        if row is not None and row[0] is not None and row[1] is not None:
            elems, freqs, rows = row
            # most_common_elem_freqs: one share per element, then the minimum, maximum and null share
            frequencies, floor = dict(zip(elems, freqs)), freqs[len(elems)]
        self._stats[key] = (now, frequencies, floor, rows)
        return frequencies, floor, rows

    def highlight_rows(self, session: Session, match: Match, ids: list[int]):
        options_title = f'HighlightAll=true, StartSel={MARK_START}, StopSel={MARK_END}'
        options_body = (f'MaxFragments=2, MaxWords={SNIPPET_WORDS}, MinWords=8, StartSel={MARK_START}, '
                        f'StopSel={MARK_END}, FragmentDelimiter=" … "')
        query = func.websearch_to_tsquery(literal_column("'danish'"), websearch_text(match.query))
        statement = (select(SearchDocument.id,
                            func.ts_headline(literal_column("'danish'"), SearchDocument.title, query, options_title),
                            func.ts_headline(literal_column("'danish'"), SearchDocument.body, query, options_body))
                     .where(SearchDocument.id.in_(ids)))
        return session.execute(statement).all()


def websearch_text(query: Query) -> str:
    """websearch_to_tsquery's input, rebuilt from parsed words: "phrases" and -excluded terms."""
    def term(words: tuple[str, ...]) -> str:
        return words[0] if len(words) == 1 else '"' + " ".join(words) + '"'

    return " ".join([term(w) for w in query.terms] + ["-" + term(w) for w in query.excluded])


BACKENDS = {"sqlite": SqliteBackend(), "postgresql": PostgresBackend()}


def backend_for(session: Session) -> Backend:
    return BACKENDS[session.get_bind().dialect.name]
