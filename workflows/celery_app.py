"""The Celery app, made from a Flask app so that every task runs in its app context.

Configuration comes from the same Settings as the web app (engine/settings.py): the broker is
SAGSGANG_BROKER_URL; in the embedded default (SAGSGANG_CELERY_EAGER) tasks run in-process, and
`sagsgang serve` starts a ticker thread (workflows/ticker.py) instead of beat.
"""
from __future__ import annotations

from datetime import timedelta

from celery import Celery, Task
from celery.schedules import crontab
from flask import Flask

from engine.context import EngineContext
from engine.settings import Settings

from . import integrations, tasks  # noqa: F401  (define the shared tasks every app made here registers)


def celery_config(settings: Settings) -> dict:
    return {
        "broker_url": settings.broker_url,
        "broker_connection_retry_on_startup": True,
        # One Redis can serve several installations (or test runs): each has its own queue.
        "task_default_queue": settings.celery_queue,
        # A message unacknowledged this long (its worker died) is delivered again.
        "broker_transport_options": {"visibility_timeout": settings.broker_visibility_timeout},
        "task_always_eager": settings.celery_eager,
        "task_eager_propagates": True,
        "task_ignore_result": True,
        # Acknowledge after the task ran, and give a message back when its worker process dies:
        # every task is idempotent (it re-reads the database and does nothing if done already).
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        "worker_prefetch_multiplier": 1,
        "worker_hijack_root_logger": False,
        "timezone": "UTC",
        "beat_schedule": beat_schedule(settings),
    }


def beat_schedule(settings: Settings) -> dict:
    """What `celery -A workflows beat` sends, and when (the embedded ticker runs the same sweeps)."""
    mail = (crontab(hour=settings.digest_hour, minute=0) if settings.notify_email == "digest"
            else timedelta(seconds=60))
    return {
        "fire-due-timers": {"task": "sagsgang.fire_due_timers", "schedule": timedelta(seconds=settings.timer_interval)},
        "run-schedules": {"task": "sagsgang.run_schedules", "schedule": timedelta(seconds=60)},
        "dispatch-pending-jobs": {"task": "sagsgang.dispatch_pending_jobs", "schedule": timedelta(seconds=60)},
        "notify-from-journal": {"task": "sagsgang.notify_from_journal", "schedule": timedelta(seconds=30)},
        "notify-due-tasks": {"task": "sagsgang.notify_due_tasks", "schedule": timedelta(minutes=15)},
        "send-notification-mail": {"task": "sagsgang.send_notification_mail", "schedule": mail},
        "retention-sweep": {"task": "sagsgang.retention_sweep", "schedule": crontab(hour=2, minute=30)},
        "queue-webhooks": {"task": "sagsgang.queue_webhooks", "schedule": timedelta(seconds=15)},
        "deliver-webhooks": {"task": "sagsgang.deliver_webhooks", "schedule": timedelta(seconds=15)},
        "search-catch-up": {"task": "sagsgang.search_catch_up", "schedule": timedelta(minutes=5)},
        "sweep-orphan-documents": {"task": "sagsgang.sweep_orphan_documents", "schedule": timedelta(hours=1)},
    }


def celery_init_app(app: Flask, engine_context: EngineContext) -> Celery:
    """Make the Celery app for `app` and let the engine queue work through it after commits."""

    class FlaskTask(Task):
        def __call__(self, *args, **kwargs):
            with app.app_context():
                return self.run(*args, **kwargs)

    celery = Celery(app.name, task_cls=FlaskTask)
    celery.config_from_object(celery_config(engine_context.settings))
    celery.set_default()
    app.extensions["celery"] = celery

    def dispatch(job: str, **ids) -> None:
        celery.tasks[f"sagsgang.{job}"].apply_async(kwargs=ids)

    engine_context.runtime.dispatch = dispatch
    return celery
