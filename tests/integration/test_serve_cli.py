"""`sagsgang serve` names every demo user the demo organisation creates."""
from __future__ import annotations

import json

from click.testing import CliRunner
from flask import Flask
from sqlalchemy import select

from engine.models import User
from engine.services.setup import DEMO_ORGANISATION
from tests.integration.gdpr_helpers import cli_environment
from webapp.cli import main as cli


def test_serve_announces_all_demo_users_that_exist(ctx, monkeypatch):
    served = []
    monkeypatch.setattr(Flask, "run", lambda app, **options: served.append(options))  # no real server
    result = CliRunner().invoke(cli, ["serve", "--no-init", "--port", "5099"], env=cli_environment(ctx))
    assert result.exit_code == 0, result.output
    assert served and served[0]["port"] == 5099
    line = result.output.strip().splitlines()[-1]
    listed = line.split("demo users: ")[1].split(";")[0].split(", ")
    with ctx.unit_of_work(read_only=True) as uow:  # the ctx database holds the demo organisation
        existing = set(uow.session.scalars(select(User.username)))
    demo = [u["username"] for u in json.loads(DEMO_ORGANISATION.read_text("utf-8"))["users"]]
    assert listed == demo and set(listed) <= existing
    assert {"freja", "gustav", "helle"} <= set(listed)  # the three the hand-written list left out
    assert "password 'demo'" in line
