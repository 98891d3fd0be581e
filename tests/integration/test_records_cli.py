"""`sagsgang records`: the same retention services from a shell, refused and allowed alike."""
from __future__ import annotations

import json
from datetime import date, timedelta

from click.testing import CliRunner
from sqlalchemy import select, update

from engine.models import Case
from tests.integration.gdpr_helpers import cli_environment, install_rework, open_rework, run_to_closed
from webapp.cli import main as cli


def test_records_commands_list_hold_and_delete(ctx):
    install_rework(ctx)
    number = open_rework(ctx, title="Sag om Anne")
    run_to_closed(ctx, number)
    with ctx.unit_of_work() as uow:
        uow.session.execute(update(Case).where(Case.number == number).values(deletion_due_on=date.today() - timedelta(1)))
        uow.commit()
    runner, env = CliRunner(), cli_environment(ctx)

    def run(*args):
        return runner.invoke(cli, ["records", *args], env=env)

    assert "may not manage retention" in run("candidates", "--user", "anna").output
    listed = run("candidates", "--user", "erik")
    assert listed.exit_code == 0 and [c["number"] for c in json.loads(listed.output)] == [number]
    assert run("hold", number, "--reason", "Klagesag", "--user", "erik").exit_code == 0
    assert json.loads(run("candidates", "--user", "erik").output) == []
    refused = run("delete", number, "--user", "erik")
    assert refused.exit_code == 1 and "legal hold" in refused.output
    assert run("release", number, "--user", "erik").exit_code == 0
    deleted = run("delete", number, "--user", "erik")
    assert deleted.exit_code == 0 and json.loads(deleted.output.splitlines()[-1])["deleted"] is True
    with ctx.unit_of_work(read_only=True) as uow:
        assert uow.session.scalar(select(Case.title).where(Case.number == number)) == ""
