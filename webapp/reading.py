"""One read-only unit of work per request, shared by the view and the layout around it.

A page reads its list, the navigation's counts and menu rights, and the case-type names; each in a
unit of work of its own cost a pool checkout, BEGIN and ROLLBACK apiece (five per task-list page,
docs/benchmarks.md). `reader()` opens one on first use and the request's teardown closes it, so a
request that reads nothing opens nothing. Writes still go through `unit_of_work()` of their own:
the reader is read-only (on SQLite a plain BEGIN, never the write lock).
"""
from __future__ import annotations

from flask import Flask, current_app, g

from engine.db import UnitOfWork

_KEY = "sagsgang_reader"


def reader() -> UnitOfWork:
    """The request's read-only unit of work, opened now if this is its first use."""
    uow = g.get(_KEY)
    if uow is None:
        uow = current_app.extensions["sagsgang"].unit_of_work(read_only=True)
        uow.__enter__()
        setattr(g, _KEY, uow)
    return uow


def close_reader(_error: BaseException | None = None) -> None:
    """Roll back and hand the connection back to the pool (teardown: after the response is built)."""
    uow = g.pop(_KEY, None)
    if uow is not None:
        uow.__exit__(None, None, None)


def configure_reading(app: Flask) -> None:
    # At the end of the request (a test that holds an app context open around several requests
    # must not see one request's snapshot in the next), and of an app context used without one.
    app.teardown_request(close_reader)
    app.teardown_appcontext(close_reader)
