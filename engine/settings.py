"""Configuration: every SAGSGANG_* variable is read here, once."""
from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field, replace
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class SettingsError(RuntimeError):
    """Configuration that cannot work; stops start-up with a message naming the variable."""


def _bool(value: str | None, default: bool) -> bool:
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


@dataclass(frozen=True)
class Settings:
    mode: str = "embedded"  # "embedded" (one process, SQLite) or "production"
    instance_path: Path = PROJECT_ROOT / "instance"
    database_url: str = ""
    secret_key: str = ""
    broker_url: str = "redis://127.0.0.1:6379/0"
    celery_eager: bool = True
    bpmn_path: Path = PROJECT_ROOT / "bpmn"
    script_time_limit: float = 1.0
    max_engine_steps: int = 10_000
    max_task_depth: int = 50_000
    spec_cache_size: int = 64
    workflow_cache_size: int = 256
    extra: dict = field(default_factory=dict)

    @classmethod
    def from_env(cls, environ: dict | None = None, **overrides) -> "Settings":
        env = os.environ if environ is None else environ
        mode = env.get("SAGSGANG_MODE", "embedded")
        if mode not in {"embedded", "production"}:
            raise SettingsError(f"SAGSGANG_MODE must be 'embedded' or 'production', not {mode!r}")
        instance = Path(env.get("SAGSGANG_INSTANCE_PATH", str(PROJECT_ROOT / "instance")))
        database_url = env.get("SAGSGANG_DATABASE_URL", "")
        secret_key = env.get("SAGSGANG_SECRET_KEY", "")
        if mode == "production":
            missing = [name for name, value in (("SAGSGANG_DATABASE_URL", database_url),
                                                ("SAGSGANG_SECRET_KEY", secret_key)) if not value]
            if missing:
                raise SettingsError(f"production mode needs {', '.join(missing)} to be set")
        if not database_url:
            database_url = f"sqlite:///{instance / 'sagsgang.sqlite3'}"
        if not secret_key:
            secret_key = _embedded_secret(instance)
        settings = cls(
            mode=mode,
            instance_path=instance,
            database_url=database_url,
            secret_key=secret_key,
            broker_url=env.get("SAGSGANG_BROKER_URL", cls.broker_url),
            celery_eager=_bool(env.get("SAGSGANG_CELERY_EAGER"), mode == "embedded"),
            bpmn_path=Path(env.get("SAGSGANG_BPMN_PATH", str(cls.bpmn_path))),
            script_time_limit=float(env.get("SAGSGANG_SCRIPT_TIME_LIMIT", cls.script_time_limit)),
        )
        return replace(settings, **overrides) if overrides else settings


def _embedded_secret(instance: Path) -> str:
    """Keep one random secret per embedded instance so sessions survive restarts."""
    path = instance / "secret_key"
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        instance.mkdir(parents=True, exist_ok=True)
        key = secrets.token_urlsafe(48)
        path.write_text(key)
        return key
