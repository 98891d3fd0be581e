"""If-Match: a client sends the row_version (ETag) it read; a changed row is a 409, never overwritten."""
from __future__ import annotations

import re

from flask import request

from engine.errors import InvalidInput

_ETAG = re.compile(r'^\s*(?:W/)?"?(\d{1,18})"?\s*$')


def if_match_parameter(what: str) -> dict:
    """The OpenAPI description of the If-Match header for an operation on `what`."""
    return {"in": "header", "name": "If-Match", "required": False, "schema": {"type": "string"},
            "description": f"The {what}'s row_version (its ETag); 409 if it changed since"}


def expected_version(default: int | None = None) -> int | None:
    """The row_version the request's If-Match names; `default` without one (or with `*`)."""
    header = request.headers.get("If-Match")
    if header is None or header.strip() == "*":
        return default
    match = _ETAG.match(header)
    if not match:
        raise InvalidInput('If-Match holds the row_version from the ETag, e.g. "7"', field="If-Match")
    return int(match.group(1))


def etag(row_version: int) -> dict:
    return {"ETag": f'"{row_version}"'}
