"""Rules of background work that need no database: settings, schedule arithmetic, the Celery config."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from engine.errors import ModelError
from engine.runtime.service_handlers import BUILTIN_OPERATORS, HANDLERS, operator_names
from engine.runtime.timers import TimerStart, first_run, next_run
from engine.services import service_tasks
from engine.settings import PROJECT_ROOT, Settings, SettingsError
from workflows.celery_app import beat_schedule, celery_config

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=timezone.utc)


def settings(**env):
    return Settings.from_env({"SAGSGANG_INSTANCE_PATH": "/tmp/sagsgang-unit", **env})


def test_background_settings_are_read_once_and_bad_values_name_their_variable():
    s = settings(SAGSGANG_TIMER_INTERVAL="2.5", SAGSGANG_SMTP_PORT="2525", SAGSGANG_NOTIFY_EMAIL="digest",
                 SAGSGANG_HTTP_ALLOWED_HOSTS=" API.example.dk , *.kommune.dk ,")
    assert (s.timer_interval, s.smtp_port, s.notify_email) == (2.5, 2525, "digest")
    assert s.http_allowed_hosts == ("api.example.dk", "*.kommune.dk")
    with pytest.raises(SettingsError, match="SAGSGANG_NOTIFY_EMAIL"):
        settings(SAGSGANG_NOTIFY_EMAIL="sometimes")
    with pytest.raises(SettingsError, match="SAGSGANG_SMTP_PORT must be a number"):
        settings(SAGSGANG_SMTP_PORT="smtp")
    with pytest.raises(SettingsError, match="SAGSGANG_DIGEST_HOUR"):
        settings(SAGSGANG_DIGEST_HOUR="24")


def test_celery_runs_eagerly_in_the_embedded_default_and_acknowledges_late_in_production():
    embedded = celery_config(settings())
    assert embedded["task_always_eager"] is True
    production = celery_config(settings(SAGSGANG_CELERY_EAGER="false", SAGSGANG_BROKER_URL="redis://redis:6379/1"))
    assert production["task_always_eager"] is False and production["broker_url"] == "redis://redis:6379/1"
    assert production["task_acks_late"] and production["task_reject_on_worker_lost"]
    assert production["worker_prefetch_multiplier"] == 1


def test_beat_sends_timers_at_the_configured_interval_and_a_digest_once_a_day():
    schedule = beat_schedule(settings(SAGSGANG_TIMER_INTERVAL="5", SAGSGANG_NOTIFY_EMAIL="digest",
                                      SAGSGANG_DIGEST_HOUR="6"))
    assert schedule["fire-due-timers"]["schedule"] == timedelta(seconds=5)
    assert schedule["send-notification-mail"]["schedule"].hour == {6}
    assert all(entry["task"].startswith("sagsgang.") for entry in schedule.values())


def test_a_cycle_schedule_skips_missed_runs_and_counts_down():
    start = TimerStart("Start_Timer", "cycle", '"R3/2026-11-27T08:00:00Z/PT1H"', {})
    value = "R3/2026-11-27T08:00:00+00:00/PT1H"
    first, runs = first_run(start, value, NOW)
    assert (first, runs) == (datetime(2026, 11, 27, 8, tzinfo=timezone.utc), 3)
    # Four hours late: one case now, the next run at 13:00, and the missed ones are used up.
    assert next_run(start, value, first, runs, NOW) == (None, 0)
    endless = TimerStart("Start_Timer", "cycle", '"R/PT1H"', {})
    following, left = next_run(endless, "R/2026-11-27T08:00:00+00:00/PT1H", first, -1, NOW)
    assert (following, left) == (datetime(2026, 11, 27, 13, tzinfo=timezone.utc), -1)
    on_time = next_run(endless, "R/2026-11-27T08:00:00+00:00/PT1H", NOW, -1, NOW)
    assert on_time == (NOW + timedelta(hours=1), -1)


def test_date_and_duration_schedules_run_once_and_bad_iso_names_the_element():
    assert first_run(TimerStart("S", "date", "", {}), "2027-01-04T07:00:00+00:00", NOW) == (
        datetime(2027, 1, 4, 7, tzinfo=timezone.utc), 1)
    assert first_run(TimerStart("S", "duration", "", {}), "P2D", NOW) == (NOW + timedelta(days=2), 1)
    assert next_run(TimerStart("S", "duration", "", {}), "P2D", NOW, 1, NOW) == (None, 0)
    with pytest.raises(ModelError) as err:
        first_run(TimerStart("Start_Monthly", "duration", "", {}), "every month", NOW)
    assert err.value.element == "Start_Monthly" and "ISO 8601" in str(err.value)


def test_every_operator_publishing_accepts_has_a_handler_a_worker_can_run():
    assert set(BUILTIN_OPERATORS) <= set(HANDLERS)
    assert operator_names() == sorted(HANDLERS)
    assert service_tasks.HANDLERS is HANDLERS  # one registry, whichever module a test patches


def test_the_readme_lists_every_entry_of_the_beat_schedule():
    readme = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
    missing = [e["task"] for e in beat_schedule(settings()).values() if f"| `{e['task']}` |" not in readme]
    assert missing == []
