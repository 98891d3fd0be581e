"""Text for the index: form data flattened, queries parsed, matches highlighted.

A document's text comes from engine/document_content.py (PDF, Word, plain text), read when it is
uploaded; `clean` makes any text fit for the index.

CPR numbers are replaced by [CPR] before anything reaches the index: the index is a copy of the
case's text, and the number itself is never copied (engine/cpr.py). People are found by CPR
through their party records (a keyed hash), not through search.
"""
from __future__ import annotations

import re
import unicodedata
from bisect import bisect_left
from dataclasses import dataclass
from functools import lru_cache

from .. import cpr
from ..errors import InvalidInput

# Characters per index row. PostgreSQL refuses a tsvector over 1 MB; a document's first 200,000
# characters (some 60 pages) are what a person searches for in practice.
MAX_BODY = 200_000
MAX_QUERY = 500
MAX_TERMS = 16



def form_fields(data, path: str = "") -> dict[str, str]:
    """Field path -> text of every text or number value in nested form data (booleans say nothing)."""
    found: dict[str, str] = {}
    if isinstance(data, dict):
        for key, value in data.items():
            found.update(form_fields(value, f"{path}.{key}" if path else str(key)))
    elif isinstance(data, (list, tuple)):
        for index, value in enumerate(data):
            found.update(form_fields(value, f"{path}[{index}]"))
    elif isinstance(data, str):
        if data.strip():
            found[path] = clean(data.strip())
    elif isinstance(data, (int, float)) and not isinstance(data, bool):
        # A number field loses a CPR number's leading zero: 0101901234 arrives as 101901234.
        looks_like_cpr = isinstance(data, int) and 100_000_000 <= data <= 9_999_999_999 and \
            cpr.contains_cpr(f"{data:010d}")
        found[path] = "[CPR]" if looks_like_cpr else str(data)
    return found


def body_of(fields: dict[str, str]) -> str:
    return clip("\n".join(fields.values()))


def clip(text: str) -> str:
    return text[:MAX_BODY]


# Snippets mark matches with these two private-use characters (then turn them into <mark>), so
# they are taken out of indexed text first.
MARK_START, MARK_END = "\ue000", "\ue001"
_UNWANTED = str.maketrans({"\x00": " ", MARK_START: " ", MARK_END: " "})


def clean(text: str) -> str:
    """Text fit for the index: CPR numbers redacted, NUL bytes and marks gone, at most MAX_BODY characters."""
    return clip(cpr.redact(text.translate(_UNWANTED)))


# --- queries ---------------------------------------------------------------------------------------

_TOKEN = re.compile(r'(-?)"([^"]*)"?|(-?)(\S+)')
_WORD = re.compile(r"\w+", re.UNICODE)


@dataclass(frozen=True)
class Query:
    """What the user typed: words and "quoted phrases" that must all occur, -excluded ones.

    A term is a tuple of words: one word, or a phrase (also what "3-2" or "e-mail" become).
    """

    terms: tuple[tuple[str, ...], ...]
    excluded: tuple[tuple[str, ...], ...] = ()

    def words(self) -> list[str]:
        return [word for term in self.terms for word in term]


def parse_query(text: str | None, field: str = "q") -> Query:
    if not isinstance(text, str) or not text.strip():
        raise InvalidInput("write at least one word to search for", field=field)
    if len(text) > MAX_QUERY:
        raise InvalidInput(f"a search is at most {MAX_QUERY} characters", field=field)
    if cpr.contains_cpr(text):
        raise InvalidInput("search does not find CPR numbers (the index never holds them); find a person's "
                           "cases through their party records", field=field)
    terms, excluded = [], []
    for match in _TOKEN.finditer(text):
        negative = bool(match.group(1) or match.group(3))
        words = tuple(w.lower() for w in _WORD.findall(match.group(2) if match.group(2) is not None
                                                      else match.group(4)))
        if not words:
            continue
        (excluded if negative else terms).append(words)
    if not terms:
        raise InvalidInput("write at least one word to search for (not only words to leave out)", field=field)
    if len(terms) + len(excluded) > MAX_TERMS:
        raise InvalidInput(f"a search has at most {MAX_TERMS} words or phrases", field=field)
    return Query(tuple(terms), tuple(excluded))


# --- highlighting (the SQLite back end; PostgreSQL's ts_headline knows its stems) -------------------

@lru_cache(maxsize=65_536)  # called for every word of every snippet; words repeat
def fold(word: str) -> str:
    """Lower case without diacritics, as FTS5's unicode61 tokenizer folds (å -> a; æ and ø stay)."""
    return "".join(c for c in unicodedata.normalize("NFKD", word.lower()) if not unicodedata.combining(c))


def _matcher(words: list[str]):
    folded = {fold(w) for w in words}
    prefixes = tuple(w for w in folded if len(w) >= 3)
    exact = {w for w in folded if len(w) < 3}
    return lambda token: (token := fold(token)) in exact or token.startswith(prefixes) if prefixes else \
        fold(token) in exact


def highlight(text: str, words: list[str], window: int | None = None) -> str:
    """`text` with the words a query matches (prefixes of 3+ letters) between MARK_START and MARK_END.

    With `window`, only the `window` words around the best stretch of matches, "…" where cut.
    """
    tokens = list(_WORD.finditer(text))
    matches = _matcher(words)
    hits = [i for i, token in enumerate(tokens) if matches(token.group())]
    if window is None or len(tokens) <= window:
        start, end = 0, len(tokens)
    else:
        # The window that starts at a match and holds the most matches (hits are in order).
        best = max(hits, key=lambda i: bisect_left(hits, i + window) - bisect_left(hits, i), default=0)
        start = max(0, min(best - window // 4, len(tokens) - window))
        end = start + window
    if not tokens:
        return text[:300]
    hit_set, marked, position = set(hits), [], tokens[start].start() if start else 0
    for i in range(start, end):
        token = tokens[i]
        marked.append(text[position:token.start()])
        marked.append(f"{MARK_START}{token.group()}{MARK_END}" if i in hit_set else token.group())
        position = token.end()
    tail = text[position:] if end >= len(tokens) else ""
    return ("…" if start else "") + "".join(marked) + tail + ("…" if end < len(tokens) else "")
