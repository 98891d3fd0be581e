"""The domain must not depend on its hosts: no Flask, Flask-SQLAlchemy, marshmallow or Celery in engine/."""
import ast
from pathlib import Path

FORBIDDEN = {"flask", "flask_sqlalchemy", "flask_smorest", "flask_babel", "marshmallow", "celery"}
ENGINE = Path(__file__).resolve().parents[2] / "engine"


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_engine_imports_no_web_or_worker_framework():
    offenders = {str(p.relative_to(ENGINE)): sorted(imported_modules(p) & FORBIDDEN)
                 for p in ENGINE.rglob("*.py") if imported_modules(p) & FORBIDDEN}
    assert offenders == {}
    assert len(list(ENGINE.rglob("*.py"))) > 10  # the walk really saw the engine
