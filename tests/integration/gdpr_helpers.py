"""Shared steps for the GDPR tests: run small cases to their review, point the CLI at a test database."""
from __future__ import annotations

from sqlalchemy import select, text

from engine.models import Case, JournalEvent
from engine.services import cases
from tests.models import GDPR_DATA, install, install_rework, rework_loop_bpmn, WORK_FORM


def open_rework(ctx, actor="anna", title="Sag", data=None, grouping="") -> str:
    with ctx.unit_of_work() as uow:
        return cases.open_case(uow, "rework", actor, title, grouping, data or {})["number"]


def open_task_id(ctx, number) -> str:
    with ctx.unit_of_work(read_only=True) as uow:
        return uow.session.execute(text(
            "select t.id from tasks t join cases c on c.id = t.case_id where c.number = :n and t.state = 'open'"),
            {"n": number}).scalar_one()


def complete(ctx, number, data, actor="anna") -> dict:
    task_id = open_task_id(ctx, number)
    with ctx.unit_of_work() as uow:
        return cases.complete_task(uow, task_id, actor, data)


def run_to_review(ctx, number, work=None, actor="anna") -> None:
    complete(ctx, number, dict({"again": False}, **(work or {})), actor)


def run_to_closed(ctx, number, review=None, work=None, actor="anna") -> dict:
    run_to_review(ctx, number, work, actor)
    return complete(ctx, number, review or GDPR_DATA, actor)


def install_keep_type(ctx) -> dict:
    """The rework model under a case type whose deletion rule is K (keep)."""
    return install(ctx, "keeper", rework_loop_bpmn("keeper"), "keeper", "KEEP", forms={"work.json": WORK_FORM},
                   deletion_rule="K")


def journal(ctx, number) -> list[JournalEvent]:
    with ctx.unit_of_work(read_only=True) as uow:
        case_id = uow.session.scalar(select(Case.id).where(Case.number == number))
        events = list(uow.session.scalars(select(JournalEvent).where(JournalEvent.case_id == case_id)
                                          .order_by(JournalEvent.seq)))
        uow.session.expunge_all()  # keep them readable after the read-only unit of work rolls back
        return events


def cli_environment(ctx) -> dict:
    """SAGSGANG_* variables that make the `sagsgang` CLI use the test's database and instance."""
    engine = ctx.database.engine
    url = engine.url
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            schema = conn.execute(text("select current_schema()")).scalar()
        url = url.update_query_dict({"options": f"-csearch_path={schema}"})
    return {"SAGSGANG_DATABASE_URL": url.render_as_string(hide_password=False),
            "SAGSGANG_INSTANCE_PATH": str(ctx.settings.instance_path),
            "SAGSGANG_DATA_KEY": ctx.settings.data_key, "SAGSGANG_LOOKUP_KEY": ctx.settings.lookup_key}


__all__ = ["install_rework", "GDPR_DATA"]
