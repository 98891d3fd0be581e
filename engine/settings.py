"""Configuration: every SAGSGANG_* variable is read here, once."""
from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field, replace
from collections.abc import Callable
from pathlib import Path

from . import crypto

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
    # Encrypts CPR numbers (Fernet keys, comma-separated, first one encrypts) and keys their
    # lookup hash (HMAC-SHA256): two keys, so a leaked lookup key does not decrypt anything.
    data_key: str = field(default="", repr=False)
    lookup_key: str = field(default="", repr=False)
    broker_url: str = "redis://127.0.0.1:6379/0"
    celery_eager: bool = True
    bpmn_path: Path = PROJECT_ROOT / "bpmn"
    script_time_limit: float = 1.0
    max_engine_steps: int = 10_000
    max_task_depth: int = 50_000
    spec_cache_size: int = 64
    workflow_cache_size: int = 256
    # Background work (workflows/): how often due timers are swept, and how workers retry.
    timer_interval: float = 10.0
    celery_queue: str = "sagsgang"
    broker_visibility_timeout: int = 3600
    service_task_retries: int = 5
    service_task_backoff: float = 2.0
    http_timeout: float = 10.0
    http_allowed_hosts: tuple = ()
    # Mail: notifications and the send_mail service task. No SMTP host means no mail is sent.
    smtp_host: str = ""
    smtp_port: int = 25
    smtp_user: str = ""
    smtp_password: str = ""
    smtp_starttls: bool = False
    mail_from: str = "sagsgang@localhost"
    notify_email: str = "immediate"  # off, immediate or digest
    digest_hour: int = 7
    due_soon_hours: int = 24
    base_url: str = "http://127.0.0.1:5000"
    # Web sessions and sign-in (webapp/): idle and absolute session limits in minutes, and
    # OpenID Connect (Entra ID, Keycloak); no client id means local accounts only.
    session_idle_minutes: int = 120
    session_max_minutes: int = 720
    cookie_secure: bool = False
    oidc_metadata_url: str = ""
    oidc_client_id: str = ""
    oidc_client_secret: str = ""
    oidc_scopes: str = "openid email profile"
    oidc_user_claims: tuple = ("preferred_username", "email")
    oidc_label: str = "Microsoft Entra ID"
    # Failed sign-ins allowed per account and per client address in a moving window ("5 per 15
    # minutes", the limits library's notation); counted in Redis when configured, else in memory.
    login_limit_account: str = "5 per 15 minutes"
    login_limit_address: str = "50 per 15 minutes"
    login_limit_storage: str = "memory://"
    # Reverse proxies in front of the app whose X-Forwarded-For/-Proto/-Host headers are believed
    # (0: none; the client address is the socket's, so a client cannot forge its own).
    trusted_proxies: int = 0
    # Case documents (engine/storage.py): on disk under document_path, or in an S3-compatible
    # bucket; each upload at most document_max_bytes.
    document_store: str = "file"  # file or s3
    document_path: Path = PROJECT_ROOT / "instance" / "documents"
    document_max_bytes: int = 25 * 1024 * 1024
    s3_bucket: str = ""
    s3_endpoint_url: str = ""
    s3_region: str = ""
    s3_access_key: str = field(default="", repr=False)
    s3_secret_key: str = field(default="", repr=False)
    s3_prefix: str = ""
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
        data_key = env.get("SAGSGANG_DATA_KEY", "")
        lookup_key = env.get("SAGSGANG_LOOKUP_KEY", "")
        if mode == "production":
            missing = [name for name, value in (("SAGSGANG_DATABASE_URL", database_url),
                                                ("SAGSGANG_SECRET_KEY", secret_key),
                                                ("SAGSGANG_DATA_KEY", data_key),
                                                ("SAGSGANG_LOOKUP_KEY", lookup_key)) if not value]
            if missing:
                raise SettingsError(f"production mode needs {', '.join(missing)} to be set")
        if not database_url:
            database_url = f"sqlite:///{instance / 'sagsgang.sqlite3'}"
        if not secret_key:
            secret_key = _embedded_secret(instance)
        if not data_key:
            data_key = _embedded_secret(instance, "data_key", crypto.new_data_key)
        if not lookup_key:
            lookup_key = _embedded_secret(instance, "lookup_key")
        for name, value, check in (("SAGSGANG_DATA_KEY", data_key, crypto.check_data_key),
                                   ("SAGSGANG_LOOKUP_KEY", lookup_key, crypto.check_lookup_key)):
            problem = check(value)
            if problem:
                raise SettingsError(f"{name} {problem}")
        settings = cls(
            mode=mode,
            instance_path=instance,
            database_url=database_url,
            secret_key=secret_key,
            data_key=data_key,
            lookup_key=lookup_key,
            broker_url=env.get("SAGSGANG_BROKER_URL", cls.broker_url),
            celery_eager=_bool(env.get("SAGSGANG_CELERY_EAGER"), mode == "embedded"),
            bpmn_path=Path(env.get("SAGSGANG_BPMN_PATH", str(cls.bpmn_path))),
            script_time_limit=float(env.get("SAGSGANG_SCRIPT_TIME_LIMIT", cls.script_time_limit)),
            **_background_settings(env),
            **_web_settings(env, mode),
            **_document_settings(env, instance),
        )
        return replace(settings, **overrides) if overrides else settings


def _number(env, name: str, default, kind=float):
    raw = env.get(name, "")
    if raw == "":
        return default
    try:
        value = kind(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a number, not {raw!r}") from None
    if value < 0:
        raise SettingsError(f"{name} must not be negative")
    return value


def _background_settings(env) -> dict:
    """Timers, workers, mail and notifications (see the README's configuration table)."""
    notify_email = env.get("SAGSGANG_NOTIFY_EMAIL", Settings.notify_email)
    if notify_email not in {"off", "immediate", "digest"}:
        raise SettingsError(f"SAGSGANG_NOTIFY_EMAIL must be off, immediate or digest, not {notify_email!r}")
    digest_hour = _number(env, "SAGSGANG_DIGEST_HOUR", Settings.digest_hour, int)
    if digest_hour > 23:
        raise SettingsError("SAGSGANG_DIGEST_HOUR must be an hour from 0 to 23")
    return dict(
        timer_interval=_number(env, "SAGSGANG_TIMER_INTERVAL", Settings.timer_interval) or Settings.timer_interval,
        celery_queue=env.get("SAGSGANG_CELERY_QUEUE", "") or Settings.celery_queue,
        broker_visibility_timeout=_number(env, "SAGSGANG_BROKER_VISIBILITY_TIMEOUT",
                                          Settings.broker_visibility_timeout, int),
        service_task_retries=_number(env, "SAGSGANG_SERVICE_TASK_RETRIES", Settings.service_task_retries, int),
        service_task_backoff=_number(env, "SAGSGANG_SERVICE_TASK_BACKOFF", Settings.service_task_backoff),
        http_timeout=_number(env, "SAGSGANG_HTTP_TIMEOUT", Settings.http_timeout),
        http_allowed_hosts=tuple(h.strip().lower() for h in env.get("SAGSGANG_HTTP_ALLOWED_HOSTS", "").split(",")
                                 if h.strip()),
        smtp_host=env.get("SAGSGANG_SMTP_HOST", ""),
        smtp_port=_number(env, "SAGSGANG_SMTP_PORT", Settings.smtp_port, int),
        smtp_user=env.get("SAGSGANG_SMTP_USER", ""),
        smtp_password=env.get("SAGSGANG_SMTP_PASSWORD", ""),
        smtp_starttls=_bool(env.get("SAGSGANG_SMTP_STARTTLS"), False),
        mail_from=env.get("SAGSGANG_MAIL_FROM", Settings.mail_from),
        notify_email=notify_email,
        digest_hour=digest_hour,
        due_soon_hours=_number(env, "SAGSGANG_DUE_SOON_HOURS", Settings.due_soon_hours, int),
        base_url=env.get("SAGSGANG_BASE_URL", Settings.base_url).rstrip("/"),
    )


def _web_settings(env, mode: str) -> dict:
    """Sessions and sign-in (see the README's configuration table)."""
    idle = _number(env, "SAGSGANG_SESSION_IDLE_MINUTES", Settings.session_idle_minutes, int)
    maximum = _number(env, "SAGSGANG_SESSION_MAX_MINUTES", Settings.session_max_minutes, int)
    if idle < 1 or maximum < idle:
        raise SettingsError("SAGSGANG_SESSION_IDLE_MINUTES must be at least 1 and at most "
                            "SAGSGANG_SESSION_MAX_MINUTES")
    metadata_url = env.get("SAGSGANG_OIDC_METADATA_URL", "").strip()
    client_id = env.get("SAGSGANG_OIDC_CLIENT_ID", "").strip()
    client_secret = env.get("SAGSGANG_OIDC_CLIENT_SECRET", "")
    if client_id and not metadata_url:
        raise SettingsError("SAGSGANG_OIDC_CLIENT_ID is set but SAGSGANG_OIDC_METADATA_URL is not (the provider's "
                            ".well-known/openid-configuration URL)")
    if client_id and not client_secret:
        raise SettingsError("SAGSGANG_OIDC_CLIENT_ID is set but SAGSGANG_OIDC_CLIENT_SECRET is not")
    claims = tuple(c.strip() for c in env.get("SAGSGANG_OIDC_USER_CLAIMS", "").split(",") if c.strip())
    return dict(
        session_idle_minutes=idle,
        session_max_minutes=maximum,
        cookie_secure=_bool(env.get("SAGSGANG_COOKIE_SECURE"), mode == "production"),
        oidc_metadata_url=metadata_url,
        oidc_client_id=client_id,
        oidc_client_secret=client_secret,
        oidc_scopes=env.get("SAGSGANG_OIDC_SCOPES", Settings.oidc_scopes),
        oidc_user_claims=claims or Settings.oidc_user_claims,
        oidc_label=env.get("SAGSGANG_OIDC_LABEL", Settings.oidc_label),
        login_limit_account=env.get("SAGSGANG_LOGIN_LIMIT_ACCOUNT", "").strip() or Settings.login_limit_account,
        login_limit_address=env.get("SAGSGANG_LOGIN_LIMIT_ADDRESS", "").strip() or Settings.login_limit_address,
        login_limit_storage=_login_limit_storage(env, mode),
        trusted_proxies=_number(env, "SAGSGANG_TRUSTED_PROXIES", Settings.trusted_proxies, int),
    )


def _login_limit_storage(env, mode: str) -> str:
    """Where failed sign-ins are counted: one process keeps them in memory; several web processes
    must share the count, so production uses Redis (the broker's, unless named apart)."""
    storage = env.get("SAGSGANG_LOGIN_LIMIT_STORAGE", "").strip()
    if not storage:
        broker = env.get("SAGSGANG_BROKER_URL", Settings.broker_url)
        storage = broker if mode == "production" and broker.startswith(("redis://", "rediss://")) else "memory://"
    if not storage.startswith(("memory://", "redis://", "rediss://")):
        raise SettingsError(f"SAGSGANG_LOGIN_LIMIT_STORAGE must be memory:// or a redis:// URL, not {storage!r}")
    return storage


def _document_settings(env, instance: Path) -> dict:
    """Where case documents are kept (see the README's configuration table)."""
    store = env.get("SAGSGANG_DOCUMENT_STORE", "") or Settings.document_store
    if store not in {"file", "s3"}:
        raise SettingsError(f"SAGSGANG_DOCUMENT_STORE must be file or s3, not {store!r}")
    max_bytes = _number(env, "SAGSGANG_DOCUMENT_MAX_BYTES", Settings.document_max_bytes, int)
    if max_bytes < 1:
        raise SettingsError("SAGSGANG_DOCUMENT_MAX_BYTES must be at least 1")
    bucket = env.get("SAGSGANG_S3_BUCKET", "").strip()
    access_key = env.get("SAGSGANG_S3_ACCESS_KEY", "").strip()
    secret_key = env.get("SAGSGANG_S3_SECRET_KEY", "")
    if store == "s3" and not bucket:
        raise SettingsError("SAGSGANG_DOCUMENT_STORE is s3 but SAGSGANG_S3_BUCKET is not set")
    if bool(access_key) != bool(secret_key):
        raise SettingsError("SAGSGANG_S3_ACCESS_KEY and SAGSGANG_S3_SECRET_KEY are set together or not at all")
    return dict(
        document_store=store,
        document_path=Path(env.get("SAGSGANG_DOCUMENT_PATH", "") or instance / "documents"),
        document_max_bytes=max_bytes,
        s3_bucket=bucket,
        s3_endpoint_url=env.get("SAGSGANG_S3_ENDPOINT_URL", "").strip(),
        s3_region=env.get("SAGSGANG_S3_REGION", "").strip(),
        s3_access_key=access_key,
        s3_secret_key=secret_key,
        s3_prefix=env.get("SAGSGANG_S3_PREFIX", "").strip().strip("/"),
    )


def _embedded_secret(instance: Path, name: str = "secret_key",
                     generate: Callable[[], str] = lambda: secrets.token_urlsafe(48)) -> str:
    """Keep one random secret per embedded instance so sessions (and encrypted data) survive restarts.

    The file is created readable by its owner only: the data key decrypts every CPR number.
    """
    path = instance / name
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        instance.mkdir(parents=True, exist_ok=True)
        key = generate()
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(key)
        return key
