"""Write the search index inside the unit of work that changes what it indexes.

Called with the unit of work's connection, so the index commits (or rolls back) with the change:
a case is findable the moment its opening commits, and a rolled-back completion leaves no text
behind. Each function is one or two prepared statements; the dialect's triggers
(engine/models/search.py) keep the full-text index in step with the rows.

Only submitted form data is indexed (the start form, each completed task's form): values that
scripts compute inside the workflow are not, since reading them would mean walking the whole
workflow state at every step.
"""
from __future__ import annotations

import re

from sqlalchemy import bindparam, delete, insert, select, text, update
from sqlalchemy.engine import Connection

from ..db import utcnow
from ..models.search import SearchDocument, case_visibility_sql
from .text import body_of, clean, form_fields

_BY_KEY = select(SearchDocument.id, SearchDocument.fields).where(SearchDocument.key == bindparam("key"))
_INSERT = insert(SearchDocument)
_UPDATE = update(SearchDocument).where(SearchDocument.id == bindparam("b_id"))
_DELETE_KEY = delete(SearchDocument).where(SearchDocument.key == bindparam("key"))
_DELETE_CASE = delete(SearchDocument).where(SearchDocument.case_id == bindparam("case_id"),
                                            SearchDocument.kind.in_(("case", "document")))
_TOP_KEY = re.compile(r"[.\[]")
# The visibility tokens of cases, by the same SQL as the triggers that keep them (engine/models/search.py).
_CASE_VISIBILITY = {dialect: text(f"SELECT target.id, {case_visibility_sql(dialect, 'target.id')} FROM cases AS target "
                                  "WHERE target.id IN :case_ids").bindparams(bindparam("case_ids", expanding=True))
                    for dialect in ("sqlite", "postgresql")}
_ONE_CASE_VISIBILITY = {dialect: text(f"SELECT {case_visibility_sql(dialect, ':case_id')}")
                        for dialect in ("sqlite", "postgresql")}
PUBLIC = "pub"


def case_key(case_id: int) -> str:
    return f"case:{case_id}"


def document_key(document_id: int) -> str:
    return f"document:{document_id}"


def agenda_item_key(item_id: int) -> str:
    return f"agenda_item:{item_id}"


def add_case(conn: Connection, case_id: int, title: str, grouping: str, data: dict | None) -> None:
    """Index a case being opened: its title, grouping and start form data."""
    fields = form_fields(data or {})
    conn.execute(_INSERT, {"key": case_key(case_id), "kind": "case", "case_id": case_id, "committee": "",
                           "title": clean(title), "grouping": clean(grouping), "body": body_of(fields),
                           "fields": fields, "visibility": one_case_visibility(conn, case_id),
                           "updated_at": utcnow()})


def case_visibility(conn: Connection, case_ids: list[int]) -> dict[int, str]:
    """case id -> the visibility tokens of its index rows (who may see it, engine.permissions.can_see_case):

    "t<case type>" (for its owner group), "u<user>" (the caseworker, a task's completer or
    delegating owner), "a<user>" (a task's assignee, and so their substitutes), "g<group>" (a task's
    candidate group). Triggers on tasks and cases keep stored rows in step; this is for new rows.
    """
    if not case_ids:
        return {}
    return dict(conn.execute(_CASE_VISIBILITY[conn.dialect.name], {"case_ids": list(case_ids)}).all())


def one_case_visibility(conn: Connection, case_id: int) -> str:
    """The visibility tokens of one case (see case_visibility)."""
    return conn.execute(_ONE_CASE_VISIBILITY[conn.dialect.name], {"case_id": case_id}).scalar() or ""


def committee_token(key: str) -> str:
    """A committee's visibility token: "c" and its key's UTF-8 in hex (any key, one index token)."""
    return "c" + key.encode("utf-8").hex()


def agenda_visibility(committee: str) -> str:
    """An agenda row's tokens: "pub" for public text, else the tokens of the committees in `committee`."""
    if committee == "":
        return f" {PUBLIC} "
    tokens = [committee_token(key) for key in committee.split() if key != "-"]
    return f" {' '.join(tokens)} " if tokens else ""


def add_form_data(conn: Connection, case_id: int, data: dict | None) -> bool:
    """Merge a completed task's form data into its case's row; returns whether the row changed.

    A field submitted again replaces what it said before (everything under the same top-level
    field), so a corrected value is found by its new text only. Data of checkboxes only costs
    nothing; other data without new text costs one read.
    """
    if not data or all(value is None or isinstance(value, bool) for value in data.values()):
        return False  # checkboxes and empty choices: nothing to find, nothing to replace, no read
    submitted = set(data)
    fields = form_fields(data)
    row = conn.execute(_BY_KEY, {"key": case_key(case_id)}).first()
    if row is None:  # a case from before the index existed: service.catch_up indexes it whole
        return False
    old = row.fields or {}
    merged = {path: text for path, text in old.items() if _TOP_KEY.split(path, 1)[0] not in submitted}
    merged.update(fields)
    if merged == old:
        return False
    conn.execute(_UPDATE, {"b_id": row.id, "fields": merged, "body": body_of(merged), "updated_at": utcnow()})
    return True


def set_case_heading(conn: Connection, case_id: int, title: str, grouping: str) -> None:
    """A case's title or grouping changed."""
    row = conn.execute(_BY_KEY, {"key": case_key(case_id)}).first()
    if row is not None:
        conn.execute(_UPDATE, {"b_id": row.id, "title": clean(title), "grouping": clean(grouping),
                               "updated_at": utcnow()})


def index_document(conn: Connection, document_id: int, case_id: int, title: str, text: str) -> None:
    """Index (or re-index) a case's document by its title and extracted text (engine.document_content.extract_text)."""
    upsert(conn, document_key(document_id), {"kind": "document", "case_id": case_id, "committee": "",
                                              "title": clean(title)[:300], "body": clean(text)})


def index_agenda_item(conn: Connection, item_id: int, title: str, open_text: str, closed_text: str = "",
                      committees=(), closed: bool = False, public: bool = True, case_id: int | None = None) -> None:
    """Index an agenda item; call again when it changes or moves on.

    `committees`: the keys of the committees on its route, whose members (chairs and secretaries
    included) find all of it. Everyone else finds its open text once it is `public` (on a
    published agenda), and never `closed_text` (closed sections) or a `closed` item.
    """
    rows = agenda_item_rows(item_id, title, open_text, closed_text, committees, closed, public)
    for key, (row_title, body, committee) in rows.items():
        if row_title is None:
            forget(conn, key)
        else:
            upsert(conn, key, {"kind": "agenda_item", "case_id": case_id, "title": row_title, "body": body,
                                "committee": committee})


def agenda_item_rows(item_id: int, title: str, open_text: str, closed_text: str, committees, closed: bool,
                     public: bool) -> dict[str, tuple]:
    """key -> (title, body, committee) of an item's two index rows; (None, None, None): no such row."""
    public_key, closed_key = agenda_item_key(item_id), agenda_item_key(item_id) + ":closed"
    restricted, title, gone = committee_restriction(committees), clean(title)[:300], (None, None, None)
    if closed or not public:
        return {public_key: gone, closed_key: (title, clean(open_text + "\n" + closed_text), restricted)}
    return {public_key: (title, clean(open_text), ""),
            closed_key: (title, clean(closed_text), restricted) if closed_text.strip() else gone}


def committee_restriction(committees) -> str:
    """The `committee` column of a restricted row: " key1 key2 " (never empty: "-" if no committee)."""
    keys = sorted({key for key in committees if key})
    return f" {' '.join(keys)} " if keys else " - "


def forget_agenda_item(conn: Connection, item_id: int) -> None:
    forget(conn, agenda_item_key(item_id))
    forget(conn, agenda_item_key(item_id) + ":closed")


def forget(conn: Connection, key: str) -> None:
    """Take one indexed thing out of the index (a document removed, an agenda item withdrawn)."""
    conn.execute(_DELETE_KEY, {"key": key})


def forget_case(conn: Connection, case_id: int) -> int:
    """Take a deleted case and its documents out of the index (engine.services.retention deletes
    every row with its case_id anyway; this is for the catch-up sweep)."""
    return conn.execute(_DELETE_CASE, {"case_id": case_id}).rowcount


def upsert(conn: Connection, key: str, values: dict) -> None:
    """Insert or update the row with `key` (the columns in `values`, updated_at set now)."""
    values = dict(values, grouping=values.get("grouping", ""), updated_at=utcnow())
    if values["kind"] == "agenda_item":
        values["visibility"] = agenda_visibility(values["committee"])
    else:
        values["visibility"] = one_case_visibility(conn, values["case_id"])
    row = conn.execute(_BY_KEY, {"key": key}).first()
    if row is None:
        conn.execute(_INSERT, dict(values, key=key, fields={}))
    else:
        conn.execute(_UPDATE, dict(values, b_id=row.id))
