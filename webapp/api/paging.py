"""Paging links: every list answers with total/limit/offset, `links` and an RFC 8288 Link header."""
from __future__ import annotations

from datetime import date

from flask import url_for


def _query(args: dict) -> dict:
    query = {}
    for key, value in args.items():
        if value is None or value == "" or key in ("limit", "offset"):
            continue
        query[key] = value.isoformat() if isinstance(value, date) else value
    return query


def paged(endpoint: str, page: dict, args: dict, **view_args) -> tuple[dict, dict]:
    """(body with `links`, headers with `Link`) for one page of `endpoint`."""
    limit, offset, total = page["limit"], page["offset"], page["total"]
    query = _query(args)

    def link(at: int) -> str:
        return url_for(endpoint, **view_args, **query, limit=limit, offset=at)

    links = {"self": link(offset), "first": link(0),
             "next": link(offset + limit) if offset + limit < total else None,
             "prev": link(max(offset - limit, 0)) if offset > 0 else None}
    header = ", ".join(f'<{url}>; rel="{rel}"' for rel, url in links.items() if url and rel != "self")
    return dict(page, links=links), ({"Link": header} if header else {})
