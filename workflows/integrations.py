"""Celery tasks for the integrations: webhook sweeps and deliveries, and the search index's catch-up.

Like workflows/tasks.py: explicit names, ids not objects, idempotent, retried only on transient
errors (a lost database connection, a lost race for the sweep cursor).
"""
from __future__ import annotations

from celery import shared_task

from engine.search import service as search
from engine.services import webhooks

from .tasks import RETRY, engine_context

# Each run of the catch-up indexes at most this many cases; beat comes back a minute later.
CATCH_UP_BATCHES = 10


@shared_task(name="sagsgang.queue_webhooks", **RETRY)
def queue_webhooks() -> int:
    """Turn new journal events into webhook deliveries for the subscribers that want them."""
    with engine_context().unit_of_work() as uow:
        return webhooks.queue_from_journal(uow)


@shared_task(name="sagsgang.deliver_webhooks", **RETRY)
def deliver_webhooks() -> dict:
    """POST the deliveries that are due; failures are scheduled again by the delivery table itself."""
    ctx = engine_context()
    return webhooks.deliver_due(ctx.unit_of_work, ctx.settings)


@shared_task(name="sagsgang.search_catch_up", **RETRY)
def search_catch_up() -> dict:
    """Index cases from before the search index existed and drop deleted cases' rows, a batch at a time."""
    done = {"indexed": 0, "forgotten": 0}
    for _ in range(CATCH_UP_BATCHES):
        with engine_context().unit_of_work() as uow:
            step = search.catch_up(uow)
        done = {key: done[key] + step[key] for key in done}
        if not any(step.values()):
            break
    return done
