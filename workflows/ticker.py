"""The embedded ticker: beat's job inside `sagsgang serve` when Celery runs eagerly.

A daemon thread that sends the periodic sweeps (due timers every SAGSGANG_TIMER_INTERVAL seconds,
the others every minute) to the eager Celery app, so they run in this process. Production uses
`celery -A workflows beat` and workers instead; start one or the other, not both (both would
only be wasteful: every sweep is idempotent).
"""
from __future__ import annotations

import logging
import threading
import time

from celery import Celery

log = logging.getLogger(__name__)


class Ticker:
    """Run named Celery tasks at fixed intervals in a background thread, until `stop()`."""

    def __init__(self, celery: Celery, jobs: dict[str, float], clock=time.monotonic):
        self.celery = celery
        self.jobs = dict(jobs)
        self.clock = clock
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.runs: dict[str, int] = {name: 0 for name in jobs}

    @classmethod
    def for_app(cls, celery: Celery, timer_interval: float) -> "Ticker":
        return cls(celery, {"sagsgang.fire_due_timers": timer_interval, "sagsgang.dispatch_pending_jobs": 60,
                            "sagsgang.run_schedules": 60, "sagsgang.notify_from_journal": 30,
                            "sagsgang.notify_due_tasks": 900, "sagsgang.send_notification_mail": 60,
                            "sagsgang.queue_webhooks": 15, "sagsgang.deliver_webhooks": 15,
                            "sagsgang.search_catch_up": 300, "sagsgang.sweep_orphan_documents": 3600})

    def start(self) -> "Ticker":
        if self._thread is not None:
            raise RuntimeError("the ticker is already running")
        self._thread = threading.Thread(target=self._run, name="sagsgang-ticker", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def _run(self) -> None:
        next_at = {name: self.clock() for name in self.jobs}
        while not self._stop.is_set():
            now = self.clock()
            for name, interval in self.jobs.items():
                if now >= next_at[name]:
                    next_at[name] = now + interval
                    self._send(name)
            self._stop.wait(max(0.01, min(next_at.values()) - self.clock()))

    def _send(self, name: str) -> None:
        try:
            self.celery.tasks[name].delay()
            self.runs[name] += 1
        except Exception:  # one failing sweep must not stop the others, nor the ticker
            log.exception("embedded ticker: %s failed", name)
