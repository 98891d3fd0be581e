"""The GDPR review of a case: record its outcome, guard closing, flag CPR numbers, set the deletion date.

Called from the case runtime (engine.services.cases) at the moments that matter only: when a
review call completes, when a case closes, when form data holds a CPR number. The hot path of
an ordinary task completion pays one boolean column and a regex over the submitted values.
"""
from __future__ import annotations

import logging
import re
from datetime import date, datetime, timedelta

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.orm import Session

from ..db import UnitOfWork
from ..errors import WorkflowError
from ..models import Case, CaseType
from ..models.case_types import PERSONAL_DATA_CATEGORIES
from ..models.gdpr import GdprReview
from .aftermath import record_when_done
from .journal import Journal

log = logging.getLogger(__name__)

_DAYS_RULE = re.compile(r"^P(\d+)D$")
_INSERT_REVIEW = insert(GdprReview)
_CLOSE_FACTS = (select(CaseType.deletion_rule, GdprReview.deletion_rule_applies)
                .select_from(Case).join(CaseType, CaseType.id == Case.case_type_id)
                .outerjoin(GdprReview, GdprReview.case_id == Case.id)
                .where(Case.id == bindparam("case_id")))
_JOURNAL_HEAD = select(Case.journal_seq, Case.journal_head).where(Case.id == bindparam("case_id"))


def deletion_date(rule: str, closed_on: date) -> date | None:
    """The day a case closed on `closed_on` may be deleted under a KLE deletion rule; None for K (keep)."""
    if rule == "K":
        return None
    match = _DAYS_RULE.match(rule or "")
    if not match:
        raise WorkflowError(f"unknown deletion rule {rule!r}: expected P<days>D or K")
    return closed_on + timedelta(days=int(match.group(1)))


def deletion_due_on(session: Session, case_id: int, closed_at: datetime, rule: str | None = None,
                    rule_applies: bool | None = None) -> date | None:
    """The deletion date of a case closing now: its type's rule, unless its review made an exception.

    A caller that has the type's `rule` and the review's `rule_applies` at hand (a review recorded
    in the same unit of work) passes them, and nothing is read.
    """
    if rule is None or rule_applies is None:
        rule, rule_applies = session.connection().execute(_CLOSE_FACTS, {"case_id": case_id}).one()
    if rule_applies is False:
        return None
    return deletion_date(rule, closed_at.date())


def record_review(session: Session, case_id: int, review: dict | None, actor_id: int | None,
                  now: datetime) -> bool:
    """Store the outcome of a completed review call (once per case); returns whether the case
    type's deletion rule applies (as stored)."""
    review = review or {}
    category = review.get("category") or review.get("personal_data_category") or ""
    applies = review.get("deletion_rule_applies")
    session.connection().execute(_INSERT_REVIEW, {
        "case_id": case_id,
        "category": category if category in PERSONAL_DATA_CATEGORIES else "ordinary",
        "legal_basis": str(review.get("legal_basis") or ""),
        "parties_reviewed": bool(review.get("parties_reviewed")),
        "deletion_rule_applies": applies is not False,
        "exception_reason": "" if applies is not False else str(
            review.get("exception_reason") or review.get("deletion_exception_reason") or ""),
        "reviewed_by_id": actor_id, "reviewed_at": now})
    return applies is not False


def review_of(session: Session, case_id: int) -> dict | None:
    review = session.scalar(select(GdprReview).where(GdprReview.case_id == case_id))
    if review is None:
        return None
    return {"category": review.category, "legal_basis": review.legal_basis,
            "parties_reviewed": review.parties_reviewed, "deletion_rule_applies": review.deletion_rule_applies,
            "exception_reason": review.exception_reason, "reviewed_at": review.reviewed_at.isoformat()}


def append_case_event(session: Session, case_id: int, actor: str, kind: str, data: dict | None = None) -> None:
    """Append one journal event outside a workflow action, under the case row's lock.

    Moves the journal head on the case row but not its row_version: the workflow did not change,
    so neither a page's expected version nor the live-workflow cache should be invalidated.
    """
    conn = session.connection()
    query = _JOURNAL_HEAD if conn.dialect.name == "sqlite" else _JOURNAL_HEAD.with_for_update()
    seq, head = conn.execute(query, {"case_id": case_id}).one()
    journal = Journal(seq, head)
    journal.append(actor, kind, data)
    journal.write(session, case_id)
    conn.execute(update(Case).where(Case.id == case_id, Case.journal_seq == seq)
                 .values(journal_seq=journal.seq, journal_head=journal.head))


def close_refused(uow: UnitOfWork, case_id: int | None, number: str, actor: str, attempt: str) -> WorkflowError:
    """The error for a close before the review, recorded in the case's journal whatever happens next.

    The unit of work that tried is rolled back (nothing of the attempt may stay), so the record
    is written by a short unit of work of its own once that one has ended: writing it earlier
    would wait for the write lock the attempt still holds (SQLite) or its row lock (PostgreSQL).
    """
    error = WorkflowError(f"case {number} cannot close: its GDPR review has not been completed",
                          reason="gdpr_review_pending")
    if case_id is None:  # a case being opened has no row (and no journal) to record it in
        return error
    record_when_done(uow, lambda session: append_case_event(
        session, case_id, actor, "close_refused", {"reason": "gdpr_review_pending", "attempt": attempt}),
        f"could not record the refused close of case {number}")
    return error
