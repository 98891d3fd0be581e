"""Search across the organisation: cases, their documents and agenda items the caller may see."""
from __future__ import annotations

from flask import current_app
from flask_smorest import Blueprint
from marshmallow import RAISE

from engine.search import service

from .auth import current_actor
from .paging import paged
from .schemas import SearchArgs, SearchPage

bp = Blueprint("api_search", __name__, url_prefix="/api/search", description="Search")


@bp.get("")
@bp.doc(operationId="search")
@bp.arguments(SearchArgs, location="query", as_kwargs=True, unknown=RAISE)
@bp.response(200, SearchPage)
def search(**args):
    """Search cases, documents and agenda items, best match first

    Only what the caller may see is found (closed agenda items only by their committee); the cases
    on the page are written to the access log. PostgreSQL stems Danish words; the embedded SQLite
    back end matches words of three letters or more as prefixes instead.
    """
    query = dict(args)
    with current_app.extensions["sagsgang"].unit_of_work(read_only=True) as uow:
        page = service.search(uow, current_actor(), query.pop("q"), kinds=query.pop("kind", None), **query)
    return paged("api_search.search", page, args)
