"""Case types that open cases on a schedule: the timer start event of their current version.

The schedule is read from the model: a start event with a timer (timeDate: once; timeDuration:
once, that long after the version is first seen; timeCycle: R[n]/start/interval) and two
spiffworkflow properties, `caseworker` (the username who opens and owns the cases) and `title`
(`{date}` becomes the day's date). `sync_schedules` keeps one row per timer start event of each
case type's newest published version; `run_schedule` opens one case when a row is due, under the
row's lock and in the unit of work that moves the row on, so a case is opened once per run.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from ..db import UnitOfWork, utcnow
from ..errors import ModelError, NotFound, SagsgangError
from ..models import CaseType, CaseTypeSchedule, CaseTypeVersion
from ..runtime.timers import (TimerStart, evaluate_expression, next_run, schedule_first_run,
                              timer_start_events)
from . import cases


def _current_versions(uow: UnitOfWork) -> list[tuple[int, int]]:
    newest = {}
    for case_type_id, version_id, number in uow.session.execute(
            select(CaseTypeVersion.case_type_id, CaseTypeVersion.id, CaseTypeVersion.number)
            .where(CaseTypeVersion.status == "published")):
        if case_type_id not in newest or number > newest[case_type_id][1]:
            newest[case_type_id] = (version_id, number)
    return [(case_type_id, version_id) for case_type_id, (version_id, _) in newest.items()]


def sync_schedules(uow: UnitOfWork, now: datetime | None = None) -> dict:
    """Make the schedule rows match the timer start events of the current versions."""
    session, now = uow.session, now or utcnow()
    existing = {(s.case_type_id, s.element_id): s for s in session.scalars(select(CaseTypeSchedule))}
    wanted = set()
    for case_type_id, version_id in _current_versions(uow):
        model = cases.model_for_version(uow, version_id)
        for start in timer_start_events(model.spec):
            key = (case_type_id, start.element_id)
            wanted.add(key)
            row = existing.get(key)
            if row is not None and row.version_id == version_id and row.expression == start.expression:
                continue
            if row is None:
                row = CaseTypeSchedule(case_type_id=case_type_id, element_id=start.element_id)
                session.add(row)
            row.version_id, row.expression = version_id, start.expression
            row.caseworker = start.properties.get("caseworker", "")
            row.title = start.properties.get("title", "")
            row.last_error = ""
            try:
                row.next_run_at, row.runs_left = schedule_first_run(start, uow.runtime.script_engine, now)
            except ModelError as err:
                row.next_run_at, row.runs_left, row.last_error = None, 0, str(err)
            if not row.caseworker:
                row.last_error = (f"timer start event {start.element_id} needs a spiffworkflow property "
                                  "'caseworker' naming who opens the cases")
    removed = [row for key, row in existing.items() if key not in wanted]
    for row in removed:
        session.delete(row)
    uow.commit()
    return {"schedules": len(wanted), "removed": len(removed)}


def due_schedule_ids(uow: UnitOfWork, now: datetime | None = None) -> list[int]:
    return list(uow.session.scalars(select(CaseTypeSchedule.id).where(
        CaseTypeSchedule.next_run_at <= (now or utcnow()), CaseTypeSchedule.last_error == "")
        .order_by(CaseTypeSchedule.next_run_at)))


def run_schedule(uow: UnitOfWork, schedule_id: int, now: datetime | None = None) -> dict:
    """Open the case a due schedule asks for and move the schedule to its next run."""
    session, now = uow.session, now or utcnow()
    row = session.get(CaseTypeSchedule, schedule_id, with_for_update=True)
    if row is None:
        raise NotFound(f"unknown schedule {schedule_id}")
    session.refresh(row)  # read again under the lock: another worker may have run it meanwhile
    if row.next_run_at is None or row.next_run_at > now or row.last_error:
        return {"schedule_id": schedule_id, "opened": None}
    case_type = session.get(CaseType, row.case_type_id)
    start = TimerStart(row.element_id, _kind(uow, row), row.expression, {})
    due = row.next_run_at
    row.next_run_at, row.runs_left = next_run(start, evaluate_expression(start, uow.runtime.script_engine), due, row.runs_left, now)
    row.last_run_at = now
    title = (row.title or case_type.name + " {date}").replace("{date}", due.strftime("%d.%m.%Y"))
    opened = cases.open_case(uow, case_type.key, row.caseworker, title)  # commits the row with the case
    # Which case the run opened, for the case type's page: a second, small commit (open_case
    # commits itself); were it lost, the case and its journal still exist.
    row.last_case_number = opened["number"]
    uow.commit()
    return {"schedule_id": schedule_id, "opened": opened["number"]}


def record_schedule_error(uow: UnitOfWork, schedule_id: int, error: SagsgangError) -> None:
    """A schedule whose case cannot be opened stops until its case type is published again."""
    row = uow.session.get(CaseTypeSchedule, schedule_id)
    if row is not None:
        row.last_error = str(error)[:4000]
        uow.commit()


def _kind(uow: UnitOfWork, row: CaseTypeSchedule) -> str:
    model = cases.model_for_version(uow, row.version_id)
    for start in timer_start_events(model.spec):
        if start.element_id == row.element_id:
            return start.kind
    return "date"
