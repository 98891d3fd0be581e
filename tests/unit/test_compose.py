"""docker-compose.yml parses, and it and the README's service table name the same services."""
from __future__ import annotations

import re

import yaml

from engine.settings import PROJECT_ROOT

COMPOSE = PROJECT_ROOT / "docker-compose.yml"
README = PROJECT_ROOT / "README.md"


def compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))


def readme_services() -> list[str]:
    """The first column of the table under '### Services' in the README."""
    text = README.read_text(encoding="utf-8")
    section = text.split("### Services", 1)[1].split("\n#", 1)[0]
    return re.findall(r"^\| `([a-z0-9_-]+)` \|", section, flags=re.MULTILINE)


def test_every_service_the_readme_mentions_is_in_the_compose_file_and_back():
    named = readme_services()
    assert {"postgres", "redis", "web", "worker", "beat"} <= set(named)
    assert set(named) == set(compose()["services"])


def test_services_have_health_checks_and_the_data_lives_in_volumes():
    services = compose()["services"]
    for name, service in services.items():
        if name != "migrate":  # a one-shot job: it exits
            assert "healthcheck" in service, name
    assert "postgres-data:/var/lib/postgresql/data" in services["postgres"]["volumes"]
    assert "redis-data:/data" in services["redis"]["volumes"]
    assert set(compose()["volumes"]) >= {"postgres-data", "redis-data"}


def test_web_worker_and_beat_run_what_the_readme_says_with_the_same_environment():
    services = compose()["services"]
    assert services["web"]["command"][0] == "gunicorn"
    assert services["worker"]["command"][:4] == ["celery", "-A", "workflows", "worker"]
    assert services["beat"]["command"][:4] == ["celery", "-A", "workflows", "beat"]
    for name in ("web", "worker", "beat", "migrate"):
        env = services[name]["environment"]
        assert env["SAGSGANG_MODE"] == "production"
        assert env["SAGSGANG_DATABASE_URL"].startswith("postgresql+psycopg://") and "@postgres:" in env[
            "SAGSGANG_DATABASE_URL"]
        assert env["SAGSGANG_BROKER_URL"] == "redis://redis:6379/0"
    for name in ("web", "worker", "beat"):
        assert services[name]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"


def test_every_variable_the_compose_file_sets_is_documented_in_the_readme():
    readme = README.read_text(encoding="utf-8")
    env = compose()["services"]["web"]["environment"]
    undocumented = [name for name in env if name.startswith("SAGSGANG_") and f"`{name}`" not in readme]
    assert undocumented == []


def test_the_image_serves_with_the_web_services_command_which_the_task_list_bench_runs():
    """bench/tasklist.py measures pages/s through docker-compose.yml's web command; the image's own
    CMD must be that command, or the bench would measure something production does not run."""
    import json
    import sys

    cmd = next(line for line in (PROJECT_ROOT / "Dockerfile").read_text().splitlines() if line.startswith("CMD "))
    web = compose()["services"]["web"]["command"]
    assert json.loads(cmd[len("CMD "):]) == web
    sys.path.insert(0, str(PROJECT_ROOT / "bench"))
    try:
        import tasklist
    finally:
        sys.path.remove(str(PROJECT_ROOT / "bench"))
    measured = tasklist.production_command(port=8123)
    assert measured == [part if part != "0.0.0.0:8000" else "127.0.0.1:8123" for part in web]
    assert "--access-logfile" in measured and "python:webapp.serving" in measured
