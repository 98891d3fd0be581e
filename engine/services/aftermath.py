"""Records that must outlive the unit of work that led to them, whether it commits or rolls back."""
from __future__ import annotations

import logging
from collections.abc import Callable

from sqlalchemy.orm import Session

from ..db import UnitOfWork

log = logging.getLogger(__name__)


def record_when_done(uow: UnitOfWork, write: Callable[[Session], None], failure: str) -> None:
    """Run `write(session)` once, in a short unit of work of its own, after `uow` has ended.

    The unit of work that met the problem is usually rolled back (its caller gets an error), so a
    record written inside it would be undone, and one written beside it would wait for the lock
    it still holds (SQLite's write lock, PostgreSQL's row lock). A failure is logged as `failure`,
    never raised: it must not hide the error the caller is about to see.
    """
    database, runtime, done = uow.database, uow.runtime, []

    def record() -> None:
        if done:
            return
        done.append(True)
        try:
            with UnitOfWork(database, runtime) as side:
                write(side.session)
                side.commit()
        except Exception:  # noqa: BLE001 - see the docstring
            log.exception(failure)

    uow.after_rollback(record)
    uow.after_commit(record)
