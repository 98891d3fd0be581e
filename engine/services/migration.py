"""Move the running cases of a case type from one published version to another, and back.

1. `plan_migration` (the dry run) says for every open case of the old version whether it can move
   and why not (engine/runtime/migrate.py decides, from the case's tasks and the difference between
   the versions). Nothing is written.
2. `start_migration` records a migration job with one item per open case; `migrate_cases` works
   through the pending items, each case in its own unit of work, locked and version-checked like
   every other case write (read_head + LoadedCase.save): a case that moved meanwhile is assessed
   as it is now. Every moved case gets one journal event, and its previous version and state are
   kept on its item; the job's counters are what the owner's progress bar polls.
3. `revert_case` moves one case back: the kept state is restored exactly if the case has not
   changed since the move, otherwise the case is migrated back like any other move (if it can).
"""
from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from ..db import UnitOfWork, utcnow
from ..errors import Conflict, InvalidInput, NotFound, SagsgangError
from ..lint import messages as m
from ..lint.diff import compare_bpmn
from ..lint.messages import Reason
from ..models import Case, CaseTask, CaseType, CaseTypeVersion
from ..models.case_types import CaseMigration, CaseMigrationItem
from ..runtime import advance as runtime
from ..runtime import migrate
from ..runtime.state import dump_state, load_state
from .case_types import _owner, files_of, get_case_type, get_version
from .cases import LoadedCase, _actor, assign, model_for_version, read_head

# Aspects of an element whose change does not matter to a case that already passed it or waits
# at it: its label and texts, and the flows around it (a step added after a done task).
_NOT_RUNTIME = {"name", "documentation", "instructions", "default flow"}


def changed_elements(old_files: dict[str, bytes], new_files: dict[str, bytes]) -> dict[str, list[str]]:
    """BPMN id -> the changes between two versions that can matter to a case passing it."""
    changed = {}
    for element in compare_bpmn(old_files, new_files)["changed"]:
        what = sorted({c["what"] for c in element["changes"] if c["runtime"] and c["what"] not in _NOT_RUNTIME})
        if what:
            changed[element["id"]] = what
    return changed


def _versions(session: Session, case_type: CaseType, from_number: int, to_number: int):
    old, new = get_version(session, case_type, from_number), get_version(session, case_type, to_number)
    if old.id == new.id:
        raise InvalidInput("choose two different versions", field="to_version")
    if new.status != "published":
        raise Conflict(f"version {to_number} is {new.status}; cases can only move to a published version",
                       field="to_version")
    return old, new


_CHANGED: dict[tuple[str, str], dict[str, list[str]]] = {}


class _Target:
    """The new version as a migration needs it (published versions never change, so what changed
    between two of them is kept by their content hashes)."""

    def __init__(self, uow: UnitOfWork, old: CaseTypeVersion, new: CaseTypeVersion):
        self.old, self.new = old, new
        self.model = model_for_version(uow, new.id)
        key = (old.content_hash, new.content_hash)
        if key not in _CHANGED or old.status == "draft" or new.status == "draft":
            if len(_CHANGED) > 256:
                _CHANGED.clear()
            _CHANGED[key] = changed_elements(files_of(uow.session, old), files_of(uow.session, new))
        self.changed = _CHANGED[key]

    def assess(self, workflow) -> migrate.Assessment:
        return migrate.assess(workflow, self.model, self.changed)

    def keep_timers(self, assessment: migrate.Assessment) -> set[str]:
        return {element for element in assessment.waiting_at if element not in self.changed}


def _open_cases(session: Session, version_id: int) -> list[Case]:
    return list(session.scalars(select(Case).where(Case.version_id == version_id, Case.status == "open")
                                .order_by(Case.id)))


def plan_migration(uow: UnitOfWork, key: str, from_number: int, to_number: int, actor: str) -> dict:
    """The dry run: every open case of `from_number`, whether it can move to `to_number` and why not."""
    session = uow.session
    case_type = get_case_type(session, key)
    _owner(session, actor, case_type)
    old, new = _versions(session, case_type, from_number, to_number)
    target = _Target(uow, old, new)
    old_model = model_for_version(uow, old.id)
    rows = []
    for case in _open_cases(session, old.id):
        try:
            workflow = load_state(case.state, old_model, uow.runtime.script_engine)
            assessment = target.assess(workflow)
        except SagsgangError as err:
            assessment = migrate.Assessment(reasons=[Reason(m.STATE_UNREADABLE, {"problem": str(err)})])
        rows.append({"number": case.number, "title": case.title, "movable": assessment.movable,
                     "reasons": [str(r) for r in assessment.reasons], "notes": [str(n) for n in assessment.notes],
                     "reason_details": [r.as_dict() for r in assessment.reasons],
                     "note_details": [n.as_dict() for n in assessment.notes], "waiting_at": assessment.waiting_at})
    return {"case_type": key, "from_version": from_number, "to_version": to_number, "cases": rows,
            "movable": sum(1 for r in rows if r["movable"]), "refused": sum(1 for r in rows if not r["movable"]),
            "changed_elements": target.changed}


def start_migration(uow: UnitOfWork, key: str, from_number: int, to_number: int, actor: str) -> dict:
    """Record a migration of every open case of `from_number`; `migrate_cases` then moves them."""
    session = uow.session
    case_type = get_case_type(session, key)
    _owner(session, actor, case_type)
    old, new = _versions(session, case_type, from_number, to_number)
    running = session.scalar(select(CaseMigration.id).where(CaseMigration.case_type_id == case_type.id,
                                                           CaseMigration.status == "running").limit(1))
    if running is not None:
        raise Conflict(f"migration {running} of '{key}' is still running; let it finish first", field="migration")
    cases = session.execute(select(Case.id).where(Case.version_id == old.id, Case.status == "open")
                            .order_by(Case.id)).scalars().all()
    job = CaseMigration(case_type_id=case_type.id, from_version_id=old.id, to_version_id=new.id, status="running",
                        total=len(cases), moved=0, refused=0, failed=0, reverted=0, started_by=actor,
                        started_at=utcnow())
    session.add(job)
    session.flush()
    for case_id in cases:
        session.add(CaseMigrationItem(migration_id=job.id, case_id=case_id, outcome="pending", reasons=[],
                                      previous_version_id=old.id))
    if not cases:
        job.status, job.finished_at = "finished", utcnow()
    session.flush()
    result = migration_progress_row(job)
    uow.commit()
    return result


def migration_progress_row(job: CaseMigration) -> dict:
    done = job.moved + job.refused + job.failed
    return {"id": job.id, "status": job.status, "total": job.total, "moved": job.moved, "refused": job.refused,
            "failed": job.failed, "reverted": job.reverted, "done": done,
            "percent": 100 if not job.total else round(100 * done / job.total),
            "started_by": job.started_by, "started_at": job.started_at.isoformat(),
            "finished_at": job.finished_at.isoformat() if job.finished_at else None}


def migrate_cases(unit_of_work: Callable[[], UnitOfWork], migration_id: int, actor: str, limit: int = 50,
                  time_budget: timedelta | None = None) -> dict:
    """Move up to `limit` pending cases of a migration, each in its own unit of work; returns the
    progress. Called again (by a poll or a worker) until the status is 'finished'.

    A case that fails to move is rolled back on its own and recorded as failed with the reason;
    the others move on.
    """
    deadline = utcnow() + time_budget if time_budget else None
    with unit_of_work() as uow:
        job = uow.session.get(CaseMigration, migration_id)
        if job is None:
            raise NotFound(f"unknown migration {migration_id}", field="migration")
        _owner(uow.session, actor, uow.session.get(CaseType, job.case_type_id))
        pending = list(uow.session.scalars(select(CaseMigrationItem.id).where(
            CaseMigrationItem.migration_id == migration_id, CaseMigrationItem.outcome == "pending")
            .order_by(CaseMigrationItem.id).limit(limit)))
    for item_id in pending:
        if deadline is not None and utcnow() > deadline:
            break
        try:
            with unit_of_work() as uow:
                _move_item(uow, item_id, actor)
        except SagsgangError as err:
            with unit_of_work() as uow:
                _record(uow, item_id, "failed", [Reason(m.MOVE_FAILED, {"problem": str(err)})])
    with unit_of_work() as uow:
        job = uow.session.get(CaseMigration, migration_id)
        left = uow.session.scalar(select(CaseMigrationItem.id).where(
            CaseMigrationItem.migration_id == migration_id, CaseMigrationItem.outcome == "pending").limit(1))
        if left is None and job.status == "running":
            job.status, job.finished_at = "finished", utcnow()
            uow.session.flush()
        result = migration_progress_row(job)
        uow.commit()
    return result


def _item(session: Session, item_id: int) -> CaseMigrationItem | None:
    """An item under its row lock: two pollers of one migration must not both handle a case."""
    return session.scalar(select(CaseMigrationItem).where(CaseMigrationItem.id == item_id).with_for_update())


def _record(uow: UnitOfWork, item_id: int, outcome: str, reasons: list[Reason]) -> None:
    """Close an item without moving its case, and count it (its own unit of work)."""
    item = _item(uow.session, item_id)
    if item is None or item.outcome != "pending":
        return
    item.outcome, item.reasons = outcome, [r.as_dict() for r in reasons]
    job = _job(uow.session, item.migration_id)
    setattr(job, outcome, getattr(job, outcome) + 1)
    uow.session.flush()
    uow.commit()


def _job(session: Session, migration_id: int) -> CaseMigration:
    """The job under its row lock: its counters are read, added to and written back."""
    return session.scalar(select(CaseMigration).where(CaseMigration.id == migration_id).with_for_update())


def _move_item(uow: UnitOfWork, item_id: int, actor: str) -> None:
    session = uow.session
    item = _item(session, item_id)
    if item is None or item.outcome != "pending":
        return
    job = _job(session, item.migration_id)
    old, new = session.get(CaseTypeVersion, job.from_version_id), session.get(CaseTypeVersion, job.to_version_id)
    head = read_head(session, Case.id == item.case_id)
    reasons = []
    if head is None or head.status != "open":
        reasons = [Reason(m.CASE_NOT_OPEN, {"status": head.status if head else "deleted"})]
    elif head.version_id != old.id:
        reasons = [Reason(m.CASE_MOVED_ON)]
    if reasons:
        _finish(session, job, item, "refused", reasons)
        uow.commit()
        return
    actor_id = _actor(session, actor)[0]
    loaded = LoadedCase.load(uow, head)
    target = _Target(uow, old, new)
    assessment = target.assess(loaded.workflow)
    if not assessment.movable:
        _finish(session, job, item, "refused", assessment.reasons)
        uow.commit()
        return
    previous_state = dump_state(loaded.workflow)
    _switch(uow, loaded, target.model, new, target.keep_timers(assessment), actor, actor_id,
            "case_migrated", {"from_version": old.number, "to_version": new.number, "migration": job.id,
                              "notes": [str(n) for n in assessment.notes]})
    item.previous_state, item.previous_version_id = previous_state, old.id
    item.row_version_after, item.moved_at = loaded.head.row_version, utcnow()
    _finish(session, job, item, "moved", [])
    uow.commit()


def _finish(session: Session, job: CaseMigration, item: CaseMigrationItem, outcome: str,
            reasons: list[Reason]) -> None:
    item.outcome, item.reasons = outcome, [r.as_dict() for r in reasons]
    setattr(job, outcome, getattr(job, outcome) + 1)
    session.flush()


def _switch(uow: UnitOfWork, loaded: LoadedCase, model, version: CaseTypeVersion, keep_timers: set[str],
            actor: str, actor_id: int, event: str, data: dict, workflow=None) -> None:
    """Put the case on `version` (its workflow moved onto `model`, or replaced by `workflow`), sync
    the indexes, journal it and save under the version check."""
    if workflow is None:
        migrate.move(loaded.workflow, model, keep_timers)
        runtime.advance(loaded.workflow, *loaded.limits)
    else:
        loaded.workflow = workflow
    loaded.model = model
    loaded.head.version_id = version.id
    loaded.journal.append(actor, event, data)
    snap = loaded.save(actor, actor_id)
    session = uow.session
    # The save wrote the row under its version check; the version column is ours to set.
    session.execute(update(Case).where(Case.id == loaded.head.id, Case.row_version == loaded.head.row_version)
                    .values(version_id=version.id).execution_options(synchronize_session=False))
    _refresh_kept_tasks(session, loaded, snap)


def _refresh_kept_tasks(session: Session, loaded: LoadedCase, snap: runtime.Snapshot) -> None:
    """Open tasks that stayed open keep their row (assignee, claim, due date); what the new version
    says about them (name, form, instructions, lane) is copied onto the row."""
    for task in snap.open_tasks:
        before = loaded.open_before.get(task.id)
        if before is None:
            continue
        values = {name: getattr(task, attr) for name, attr in (
            ("element_id", "element_id"), ("name", "name"), ("form", "form"), ("instructions", "instructions"),
            ("lane", "lane")) if getattr(task, attr) != getattr(before, attr)}
        if "lane" in values:
            values["candidate_group_id"] = assign(session, loaded.workflow, loaded.head, task)[0]
        if values:
            session.execute(update(CaseTask).where(CaseTask.id == task.id).values(**values)
                            .execution_options(synchronize_session=False))


def migration_status(uow: UnitOfWork, migration_id: int, actor: str) -> dict:
    """A migration's progress and its cases (moved, refused with reasons, failed, reverted)."""
    session = uow.session
    job = session.get(CaseMigration, migration_id)
    if job is None:
        raise NotFound(f"unknown migration {migration_id}", field="migration")
    case_type = session.get(CaseType, job.case_type_id)
    _owner(session, actor, case_type)
    rows = session.execute(select(CaseMigrationItem, Case.number, Case.title).join(
        Case, Case.id == CaseMigrationItem.case_id).where(CaseMigrationItem.migration_id == migration_id)
        .order_by(CaseMigrationItem.id)).all()
    old, new = session.get(CaseTypeVersion, job.from_version_id), session.get(CaseTypeVersion, job.to_version_id)
    return {**migration_progress_row(job), "case_type": case_type.key, "from_version": old.number,
            "to_version": new.number,
            "cases": [{"item": item.id, "number": number, "title": title, "outcome": item.outcome,
                       "reasons": [r["text"] if isinstance(r, dict) else str(r) for r in item.reasons or []],
                       "reason_details": [r if isinstance(r, dict) else {"text": str(r), "template": str(r), "params": {}}
                                          for r in item.reasons or []],
                       "moved_at": item.moved_at.isoformat() if item.moved_at else None,
                       "revertible": item.outcome == "moved"} for item, number, title in rows]}


def migrations_of(uow: UnitOfWork, key: str, actor: str) -> list[dict]:
    session = uow.session
    case_type = get_case_type(session, key)
    _owner(session, actor, case_type)
    numbers = {v.id: v.number for v in case_type.versions}
    return [{**migration_progress_row(job), "from_version": numbers.get(job.from_version_id),
             "to_version": numbers.get(job.to_version_id)}
            for job in session.scalars(select(CaseMigration).where(CaseMigration.case_type_id == case_type.id)
                                       .order_by(CaseMigration.id.desc()))]


def revert_case(uow: UnitOfWork, item_id: int, actor: str) -> dict:
    """Move one migrated case back to the version it came from.

    If nothing happened to the case since the move, its previous state is restored as it was;
    otherwise it is migrated back, which is refused when the case has since passed something the
    old version does not have.
    """
    session = uow.session
    item = _item(session, item_id)
    if item is None:
        raise NotFound(f"unknown migration item {item_id}", field="item")
    job = _job(session, item.migration_id)
    _owner(session, actor, session.get(CaseType, job.case_type_id))
    if item.outcome != "moved":
        raise Conflict(f"the case was not moved by this migration (it is {item.outcome})", field="item")
    head = read_head(session, Case.id == item.case_id)
    if head is None or head.status != "open":
        raise Conflict(f"case {head.number if head else item.case_id} is {head.status if head else 'gone'}; "
                       "only an open case can move back", field="item")
    if head.version_id != job.to_version_id:
        raise Conflict(f"case {head.number} has moved to another version since", field="item")
    actor_id = _actor(session, actor)[0]
    old, new = session.get(CaseTypeVersion, item.previous_version_id), session.get(CaseTypeVersion, job.to_version_id)
    loaded = LoadedCase.load(uow, head)
    old_model = model_for_version(uow, old.id)
    data = {"from_version": new.number, "to_version": old.number, "migration": job.id}
    if head.row_version == item.row_version_after and item.previous_state:
        restored = load_state(item.previous_state, old_model, uow.runtime.script_engine)
        _switch(uow, loaded, old_model, old, set(), actor, actor_id, "case_migration_reverted",
                {**data, "how": "restored the state before the move"}, workflow=restored)
    else:
        target = _Target(uow, new, old)
        assessment = target.assess(loaded.workflow)
        if not assessment.movable:
            raise Conflict(f"case {head.number} cannot move back: " + "; ".join(map(str, assessment.reasons)),
                           field="item", reasons=[str(r) for r in assessment.reasons])
        _switch(uow, loaded, old_model, old, target.keep_timers(assessment), actor, actor_id,
                "case_migration_reverted", {**data, "how": "migrated back (the case changed after the move)"})
    item.outcome, item.previous_state = "reverted", None
    item.reverted_at, item.reverted_by = utcnow(), actor
    job.reverted += 1
    session.flush()
    result = {"number": head.number, "version": old.number, "row_version": loaded.head.row_version}
    uow.commit()
    return result
