"""Owner-written scripts run sandboxed in real cases, before and after a save/load round trip."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from engine.errors import WorkflowError
from engine.models import Case
from engine.services import cases, queries
from tests.models import install, script_bpmn

ESCAPES = {
    "import": "__import__('os').system('echo pwned')",
    "import statement": "import os",
    "subclasses": "x = ().__class__.__base__.__subclasses__()",
    "format": "x = '{0.__class__}'.format(1)",
    "open": "x = open('/etc/passwd').read()",
    "endless loop": "while True:\n    pass",
}


@pytest.mark.parametrize("name", ESCAPES)
def test_escape_fails_when_the_case_starts(ctx, name):
    install(ctx, "scripted", script_bpmn(ESCAPES[name], after_user_task=False), "scripted", "SCR")
    with ctx.unit_of_work() as uow, pytest.raises(WorkflowError) as raised:
        cases.open_case(uow, "scripted", "anna", "Script")
    assert "Script" in str(raised.value)
    with ctx.unit_of_work(read_only=True) as uow:
        assert uow.session.scalar(select(func.count(Case.id))) == 0


@pytest.mark.parametrize("name", ESCAPES)
def test_escape_fails_after_the_state_was_stored_and_reloaded(ctx, name):
    install(ctx, "scripted", script_bpmn(ESCAPES[name], after_user_task=True), "scripted", "SCR")
    with ctx.unit_of_work() as uow:
        opened = cases.open_case(uow, "scripted", "anna", "Script")
    ctx.runtime.live.clear()  # the next request rebuilds the workflow from the stored blob
    task_id = opened["open_tasks"][0]["id"]
    with ctx.unit_of_work() as uow, pytest.raises(WorkflowError) as raised:
        cases.complete_task(uow, task_id, "anna", {})
    assert "Script" in str(raised.value)
    with ctx.unit_of_work(read_only=True) as uow:
        tasks = queries.case_overview(uow.session, opened["number"], "admin")["tasks"]
    assert [(t["element_id"], t["state"]) for t in tasks] == [("Task_First", "open")]


def test_a_harmless_script_runs_after_reload(ctx):
    install(ctx, "scripted", script_bpmn("total = sum([1, 2, 3])\nlabel = f'i alt {total}'", True),
            "scripted", "SCR")
    with ctx.unit_of_work() as uow:
        opened = cases.open_case(uow, "scripted", "anna", "Script")
    ctx.runtime.live.clear()
    with ctx.unit_of_work() as uow:
        result = cases.complete_task(uow, opened["open_tasks"][0]["id"], "anna", {})
    assert [t["name"] for t in result["open_tasks"]] == ["GDPR-gennemgang"]
