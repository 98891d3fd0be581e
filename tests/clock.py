"""Move the clock the engine's timer code reads, so timer tests do not depend on how fast the
machine is: a timer set an hour ahead is surely not due, and is due once the clock is moved past it.

Two clocks decide a timer: engine.services.cases' utcnow (which cases are due, and whether a case's
timer may fire) and SpiffWorkflow's timer module (whether the workflow's timer event has fired).
"""
from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone

import SpiffWorkflow.bpmn.specs.event_definitions.timer as spiff_timer

from engine import localtime
from engine.services import cases


def move_clock(monkeypatch, by: timedelta) -> None:
    """From now on (until the test ends) both clocks read the real time plus `by`."""

    class Moved(datetime):
        @classmethod
        def now(cls, tz=None):
            return datetime.now(tz) + by

    monkeypatch.setattr(spiff_timer, "datetime", Moved)
    monkeypatch.setattr(cases, "utcnow", lambda: datetime.now(timezone.utc) + by)


def keep_today(monkeypatch, today: date) -> None:
    """Keep the engine's local date at `today`, a date a test module read at import.

    A suite that runs past midnight in Copenhagen would otherwise compare the module's dates with
    tomorrow's. Every local_today() reads engine.localtime's clock, so that is the one to hold.
    """
    if localtime.local_today() != today:
        noon = datetime.combine(today, time(12), localtime.TIMEZONE).astimezone(timezone.utc)
        monkeypatch.setattr(localtime, "utcnow", lambda: noon)
