"""Where the cases of a case type wait now and how long each step takes, for the diagram overlays.

Waiting counts come from the task index (open user tasks), never from workflow state. Durations
come from the journal: a task's `task_created` and `task_completed` events share its task id, so
each completed task gives one duration; per BPMN element we report the median and the 90th
percentile (nearest rank), over a recent window so a years-old model does not drown today's.
"""
from __future__ import annotations

import math
from datetime import datetime, timedelta

from sqlalchemy import case, func, select

from ..db import UnitOfWork, utcnow
from ..models import Case, CaseTask, JournalEvent
from .case_types import _owner, get_case_type

WINDOW = timedelta(days=365)


def percentile(values: list[float], share: float) -> float:
    """Nearest-rank percentile of a non-empty list: the smallest value with `share` of them at or below."""
    ordered = sorted(values)
    rank = max(1, math.ceil(share * len(ordered)))
    return ordered[rank - 1]


def median(values: list[float]) -> float:
    ordered = sorted(values)
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=utcnow().tzinfo)


def process_overlay(uow: UnitOfWork, key: str, actor: str, now: datetime | None = None,
                    window: timedelta = WINDOW) -> dict:
    """Per BPMN element: open tasks now (and how many overdue, oldest age) and step durations
    (count, median and 90th percentile in hours) of the tasks completed within `window`."""
    session = uow.session
    case_type = get_case_type(session, key)
    _owner(session, actor, case_type)
    now = now or utcnow()
    elements: dict[str, dict] = {}

    def entry(element_id: str, name: str) -> dict:
        return elements.setdefault(element_id, {"element_id": element_id, "name": name, "waiting": 0, "overdue": 0,
                                                "oldest_hours": None, "completed": 0, "median_hours": None,
                                                "p90_hours": None})

    open_rows = session.execute(
        select(CaseTask.element_id, CaseTask.name, func.count(), func.min(CaseTask.created_at),
               func.sum(case((CaseTask.due_at < now, 1), else_=0)))
        .join(Case, Case.id == CaseTask.case_id)
        .where(Case.case_type_id == case_type.id, Case.status == "open", CaseTask.state == "open")
        .group_by(CaseTask.element_id, CaseTask.name)).all()
    for element_id, name, count, oldest, overdue in open_rows:
        row = entry(element_id, name)
        row["waiting"] += count
        row["overdue"] += int(overdue or 0)
        age = (now - _aware(oldest)).total_seconds() / 3600 if oldest else None
        if age is not None and (row["oldest_hours"] is None or age > row["oldest_hours"]):
            row["oldest_hours"] = round(age, 1)

    cases = select(Case.id).where(Case.case_type_id == case_type.id)
    events = session.execute(
        select(JournalEvent.kind, JournalEvent.at, JournalEvent.data)
        .where(JournalEvent.case_id.in_(cases), JournalEvent.kind.in_(("task_created", "task_completed")),
               JournalEvent.at >= now - window)).all()
    created, names, durations = {}, {}, {}
    for kind, at, data in sorted(events, key=lambda e: _aware(e[1])):
        task_id = (data or {}).get("task_id")
        if not task_id:
            continue
        if kind == "task_created":
            created[task_id] = _aware(at)
            names[task_id] = (data.get("task"), data.get("name") or data.get("task"))
        elif task_id in created:
            element_id, name = names[task_id]
            hours = (_aware(at) - created.pop(task_id)).total_seconds() / 3600
            durations.setdefault((element_id, name), []).append(hours)
    for (element_id, name), values in durations.items():
        row = entry(element_id, name)
        row["completed"] = len(values)
        row["median_hours"] = round(median(values), 2)
        row["p90_hours"] = round(percentile(values, 0.9), 2)

    rows = sorted(elements.values(), key=lambda r: r["element_id"])
    most_waiting = max((r["waiting"] for r in rows), default=0)
    slowest = max((r["p90_hours"] or 0 for r in rows), default=0)
    for row in rows:  # 0..1 for the heat map: how full a step is and how slow it is, relative to the others
        row["load"] = round(row["waiting"] / most_waiting, 3) if most_waiting else 0
        row["slowness"] = round((row["p90_hours"] or 0) / slowest, 3) if slowest else 0
    return {"case_type": key, "window_days": window.days, "elements": rows,
            "open_cases": session.scalar(select(func.count()).select_from(Case).where(
                Case.case_type_id == case_type.id, Case.status == "open"))}
