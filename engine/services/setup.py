"""First start: schema, the demo organisation and the shipped case types."""
from __future__ import annotations

import json
from pathlib import Path

from ..context import EngineContext
from ..schema import upgrade_schema
from ..settings import PROJECT_ROOT
from .case_types import install_case_type, read_case_type_directory
from .committees import load_committees
from .org import load_organisation

DEMO_ORGANISATION = PROJECT_ROOT / "demo" / "organisation.json"


def initialise(ctx: EngineContext, demo: bool = True, actor: str = "system") -> dict:
    """Migrate the schema to the newest revision and load what a fresh installation needs; safe to
    run again."""
    ctx.settings.instance_path.mkdir(parents=True, exist_ok=True)
    report = {"schema": upgrade_schema(ctx.database.engine), "organisation": None, "case_types": []}
    if demo:
        with ctx.unit_of_work() as uow:
            report["organisation"] = load_organisation(uow, json.loads(DEMO_ORGANISATION.read_text("utf-8")))
        with ctx.unit_of_work() as uow:
            report["committees"] = load_committees(uow, json.loads(DEMO_ORGANISATION.read_text("utf-8")))
    report["case_types"] = install_shipped_case_types(ctx, actor)
    return report


def demo_logins() -> list[tuple[str, str]]:
    """(username, password) of every demo user, read from the organisation `initialise` loads, so
    start-up messages name exactly the users that exist."""
    organisation = json.loads(DEMO_ORGANISATION.read_text("utf-8"))
    return [(user["username"], user["password"]) for user in organisation["users"]]


def install_shipped_case_types(ctx: EngineContext, actor: str = "system") -> list[dict]:
    bpmn = Path(ctx.settings.bpmn_path)
    results = []
    for directory in sorted((bpmn / "case_types").iterdir()):
        if not (directory / "case_type.json").exists():
            continue
        metadata, files = read_case_type_directory(directory, bpmn / "shared")
        with ctx.unit_of_work() as uow:
            results.append(install_case_type(uow, metadata, files, actor))
    return results
