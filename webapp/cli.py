"""The `sagsgang` command: set up, serve, and work cases from a shell (scripting and support)."""
from __future__ import annotations

import json
import sys
from datetime import date

import click

from engine.context import EngineContext
from engine.errors import SagsgangError
from engine.services import retention
from engine.services import cases, queries, setup
from engine.services.journal import verify_journal
from engine.schema import current_revision, head_revision, upgrade_schema
from engine.services import incidents
from engine.settings import Settings, SettingsError

from workflows.ticker import Ticker

from . import create_app


class Context:
    def __init__(self):
        self._engine = None

    @property
    def engine(self) -> EngineContext:
        if self._engine is None:
            self._engine = EngineContext(Settings.from_env())
        return self._engine


def _json_option(value: str | None, name: str) -> dict:
    if not value:
        return {}
    try:
        data = json.loads(value)
    except ValueError as err:
        raise click.BadParameter(f"not valid JSON: {err}", param_hint=name) from err
    if not isinstance(data, dict):
        raise click.BadParameter("must be a JSON object", param_hint=name)
    return data


def _print(value) -> None:
    click.echo(json.dumps(value, indent=2, ensure_ascii=False, default=str))


class SagsgangGroup(click.Group):
    """Turn domain and configuration errors into one clear line and exit code 1."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except (SagsgangError, SettingsError) as err:
            field = getattr(err, "field", None)
            click.echo(f"error: {err}" + (f" [field: {field}]" if field else ""), err=True)
            sys.exit(1)


@click.group(cls=SagsgangGroup)
@click.pass_context
def main(ctx):
    """Sagsgang: case work for Danish municipalities, run as BPMN."""
    ctx.obj = Context()


@main.command()
@click.option("--demo/--no-demo", default=True, help="Load the demo organisation.")
@click.pass_obj
def init(obj: Context, demo: bool):
    """Create the database and load the demo organisation and the shipped case types."""
    report = setup.initialise(obj.engine, demo=demo)
    _print(report)


def _demo_users_line() -> str:
    """The demo users and their password(s), from the demo organisation itself."""
    logins = setup.demo_logins()
    passwords = {password for _, password in logins}
    if len(passwords) == 1:
        return f"demo users: {', '.join(name for name, _ in logins)}; password '{passwords.pop()}'"
    return "demo users: " + ", ".join(f"{name} (password '{password}')" for name, password in logins)


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--init/--no-init", "initialise", default=True, help="Run init first (idempotent).")
def serve(host: str, port: int, initialise: bool):
    """Serve Sagsgang on its embedded default (SQLite, Celery eager)."""
    app = create_app()
    if initialise:
        setup.initialise(app.extensions["sagsgang"])
    settings = app.extensions["sagsgang"].settings
    # Embedded: no beat and no worker, so a ticker thread runs the periodic sweeps in-process.
    ticker = Ticker.for_app(app.extensions["celery"], settings.timer_interval).start() \
        if settings.celery_eager else None
    click.echo(f"Sagsgang on http://{host}:{port}/  ({_demo_users_line()})")
    try:
        app.run(host=host, port=port, threaded=True, use_reloader=False)
    finally:
        if ticker is not None:
            ticker.stop()


@main.group()
def case():
    """Start, list, show, complete and close cases."""


@case.command("start")
@click.argument("case_type")
@click.option("--title", required=True)
@click.option("--grouping", default="")
@click.option("--data", default=None, help="Start form data as a JSON object.")
@click.option("--user", default="admin", show_default=True, help="Act as this user.")
@click.option("--caseworker", default=None)
@click.pass_obj
def case_start(obj: Context, case_type, title, grouping, data, user, caseworker):
    with obj.engine.unit_of_work() as uow:
        _print(cases.open_case(uow, case_type, user, title, grouping, _json_option(data, "--data"), caseworker))


@case.command("list")
@click.option("--status", default=None, type=click.Choice(["open", "closed", "deleted"]))
@click.option("--user", default="admin", show_default=True)
@click.pass_obj
def case_list(obj: Context, status, user):
    with obj.engine.unit_of_work(read_only=True) as uow:
        _print(queries.list_cases(uow.session, user, status))


@case.command("show")
@click.argument("number")
@click.option("--user", default="admin", show_default=True)
@click.pass_obj
def case_show(obj: Context, number, user):
    with obj.engine.unit_of_work(read_only=True) as uow:
        _print(queries.case_overview(uow.session, number, user))


@case.command("complete")
@click.argument("task_id")
@click.option("--data", default=None, help="Form data as a JSON object.")
@click.option("--user", default="admin", show_default=True)
@click.pass_obj
def case_complete(obj: Context, task_id, data, user):
    with obj.engine.unit_of_work() as uow:
        _print(cases.complete_task(uow, task_id, user, _json_option(data, "--data")))


@case.command("close")
@click.argument("number")
@click.option("--reason", required=True)
@click.option("--user", default="admin", show_default=True)
@click.pass_obj
def case_close(obj: Context, number, reason, user):
    with obj.engine.unit_of_work() as uow:
        _print(cases.close_case(uow, number, user, reason))


@case.command("verify")
@click.argument("number")
@click.pass_obj
def case_verify(obj: Context, number):
    """Check the case's journal chain; exit 1 if it was tampered with."""
    with obj.engine.unit_of_work(read_only=True) as uow:
        found = cases.get_case(uow.session, number)
        problems = verify_journal(uow.session, found.id, found.journal_head)
    _print({"number": number, "intact": not problems, "problems": [p.__dict__ for p in problems]})
    sys.exit(1 if problems else 0)


@main.command("tasks")
@click.option("--user", default="admin", show_default=True)
@click.option("--scope", type=click.Choice(["mine", "group"]), default="mine", show_default=True)
@click.pass_obj
def tasks(obj: Context, user, scope):
    """List open tasks of a user or of the user's groups."""
    with obj.engine.unit_of_work(read_only=True) as uow:
        _print(queries.open_tasks(uow.session, user, scope))


@main.command("fire-timers")
@click.pass_obj
def fire_timers(obj: Context):
    """Advance every case whose timer is due (what the worker's beat does in production)."""
    with obj.engine.unit_of_work(read_only=True) as uow:
        due = cases.due_timer_case_ids(uow.session)
    fired = []
    for case_id in due:
        with obj.engine.unit_of_work() as uow:
            fired.append(cases.fire_timers(uow, case_id))
    _print(fired)


@main.group()
def records():
    """Retention (records managers): deletion candidates, deletion, legal holds."""


def _day(value: str | None) -> date:
    try:
        return date.fromisoformat(value) if value else date.today()
    except ValueError as err:
        raise click.BadParameter("must be YYYY-MM-DD", param_hint="--today") from err


@records.command("candidates")
@click.option("--user", default="admin", show_default=True)
@click.option("--today", default=None, help="The day to judge deletion dates by (YYYY-MM-DD).")
@click.pass_obj
def records_candidates(obj: Context, user, today):
    """Closed cases past their deletion date and not on legal hold (what the daily job lists)."""
    with obj.engine.unit_of_work(read_only=True) as uow:
        _print(retention.deletion_candidates(uow, user, _day(today)))


@records.command("delete")
@click.argument("numbers", nargs=-1, required=True)
@click.option("--user", default="admin", show_default=True)
@click.pass_obj
def records_delete(obj: Context, numbers, user):
    """Delete cases down to their tombstones, one line of progress per case; exit 1 if any was refused."""
    failed = 0
    for step in retention.delete_cases(obj.engine.unit_of_work, list(numbers), user):
        click.echo(json.dumps(step, ensure_ascii=False))
        failed = step["failed_count"]
    sys.exit(1 if failed else 0)


@records.command("hold")
@click.argument("number")
@click.option("--reason", required=True)
@click.option("--user", default="admin", show_default=True)
@click.pass_obj
def records_hold(obj: Context, number, reason, user):
    with obj.engine.unit_of_work() as uow:
        _print(retention.place_legal_hold(uow, number, user, reason))


@records.command("release")
@click.argument("number")
@click.option("--user", default="admin", show_default=True)
@click.pass_obj
def records_release(obj: Context, number, user):
    with obj.engine.unit_of_work() as uow:
        _print(retention.release_legal_hold(uow, number, user))


@main.group()
def db():
    """The database schema: Alembic migrations (migrations/)."""


@db.command("upgrade")
@click.option("--revision", default="head", show_default=True)
@click.pass_obj
def db_upgrade(obj: Context, revision: str):
    """Migrate the database to the newest (or the given) revision."""
    _print({"schema": upgrade_schema(obj.engine.database.engine, revision),
            "revision": current_revision(obj.engine.database.engine)})


@db.command("current")
@click.pass_obj
def db_current(obj: Context):
    """Show the database's revision and the newest one the code has."""
    _print({"revision": current_revision(obj.engine.database.engine), "head": head_revision()})


@main.group()
def incident():
    """Incidents: background work that failed for good (a service task out of retries)."""


@incident.command("list")
@click.option("--user", default="admin", show_default=True)
@click.option("--status", default="open", type=click.Choice(["open", "retrying", "resolved"]), show_default=True)
@click.pass_obj
def incident_list(obj: Context, user, status):
    with obj.engine.unit_of_work(read_only=True) as uow:
        _print(incidents.list_incidents(uow, user, status))


@incident.command("retry")
@click.argument("incident_id", type=int)
@click.option("--user", default="admin", show_default=True)
@click.pass_obj
def incident_retry(obj: Context, incident_id, user):
    """Queue the failed work again (a worker, or the next sweep, runs it)."""
    with obj.engine.unit_of_work() as uow:
        _print(incidents.retry_incident(uow, incident_id, user))


if __name__ == "__main__":
    main()
