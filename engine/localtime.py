"""The municipality's calendar: what "today", "this week" and a due date typed by a person mean.

Timestamps are stored as UTC; calendar days (a substitution's dates, "due today") are Danish local
days, so they follow Europe/Copenhagen across summer time.
"""
from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition

from .db import utcnow
from .errors import InvalidInput

TIMEZONE = ZoneInfo("Europe/Copenhagen")


def local_today(now: datetime | None = None) -> date:
    return (now or utcnow()).astimezone(TIMEZONE).date()


def start_of_day(day: date) -> datetime:
    """The first moment of a local calendar day, in UTC."""
    return datetime.combine(day, time.min, TIMEZONE).astimezone(timezone.utc)


def day_bounds(now: datetime | None = None) -> dict[str, datetime]:
    """now, the start of tomorrow and the start of next Monday (local), for due-state buckets."""
    now = now or utcnow()
    today = local_today(now)
    return {"now": now, "tomorrow": start_of_day(today + timedelta(days=1)),
            "next_week": start_of_day(today + timedelta(days=7 - today.weekday()))}


def due_state(due_at: datetime | None, bounds: dict[str, datetime]) -> str:
    """'overdue', 'today', 'week' (later this week), 'later' or 'none'."""
    if due_at is None:
        return "none"
    if due_at < bounds["now"]:
        return "overdue"
    if due_at < bounds["tomorrow"]:
        return "today"
    if due_at < bounds["next_week"]:
        return "week"
    return "later"


def parse_date(value, field: str) -> date:
    """A calendar date from a date or an ISO 8601 date string (YYYY-MM-DD)."""
    if isinstance(value, datetime):
        raise InvalidInput(f"{field} must be a date (YYYY-MM-DD), not a date and time", field=field, reason="format")
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise InvalidInput(f"{field} must be a date (YYYY-MM-DD), not {value!r}", field=field, reason="format")


def parse_moment(value, field: str, now: datetime | None = None) -> datetime | None:
    """A due or follow-up moment typed by a person or given by an API client.

    Accepts an aware or naive datetime (naive means Danish local time), an ISO 8601 duration from
    now ('P7D', 'PT4H'), an ISO 8601 date-time string, or a date ('2026-12-01': the end of that
    local day). None or '' clears the date.
    """
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    now = now or utcnow()
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, date):
        moment = datetime.combine(value, time(23, 59, 59))
    elif isinstance(value, str):
        text = value.strip()
        if text[:1].upper() == "P":
            try:
                parsed = TimerEventDefinition.parse_iso_duration(text)
                return now + TimerEventDefinition.get_timedelta_from_start(parsed, now)
            except Exception as err:  # noqa: BLE001 - SpiffWorkflow raises several kinds here
                raise InvalidInput(f"{field}: {text!r} is not an ISO 8601 duration such as P7D or PT4H",
                                   field=field) from err
        try:
            if len(text) == 10:
                moment = datetime.combine(date.fromisoformat(text), time(23, 59, 59))
            else:
                moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError as err:
            raise InvalidInput(f"{field}: {text!r} is neither a date, a date and time nor an ISO 8601 "
                               "duration", field=field) from err
    else:
        raise InvalidInput(f"{field} must be a date, a date and time or an ISO 8601 duration, "
                           f"not {type(value).__name__}", field=field)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=TIMEZONE)
    return moment.astimezone(timezone.utc)
