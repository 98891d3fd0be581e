"""Task rules without a database: dates people type, due states, priority, permission verdicts."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest

from engine import permissions
from engine.errors import InvalidInput, NotAllowed
from engine.localtime import day_bounds, due_state, local_today, parse_date, parse_moment, start_of_day
from engine.services.tasks import clean_priority

# A Tuesday night (CET, UTC+1): 23:30 UTC is already Wednesday in Copenhagen.
NOW = datetime(2026, 11, 24, 23, 30, tzinfo=timezone.utc)


def test_today_is_the_danish_calendar_day_not_the_utc_one():
    assert local_today(NOW) == date(2026, 11, 25)
    assert local_today(NOW - timedelta(hours=1)) == date(2026, 11, 24)
    assert local_today(datetime(2026, 7, 1, 21, 59, tzinfo=timezone.utc)) == date(2026, 7, 1)  # CEST
    assert local_today(datetime(2026, 7, 1, 22, 0, tzinfo=timezone.utc)) == date(2026, 7, 2)
    assert start_of_day(date(2026, 7, 2)) == datetime(2026, 7, 1, 22, 0, tzinfo=timezone.utc)


@pytest.mark.parametrize("value, expected", [
    ("P7D", NOW + timedelta(days=7)),
    ("PT4H", NOW + timedelta(hours=4)),
    (" p1d ", NOW + timedelta(days=1)),
    ("2026-12-01T10:00:00+00:00", datetime(2026, 12, 1, 10, 0, tzinfo=timezone.utc)),
    ("2026-12-01T10:00:00Z", datetime(2026, 12, 1, 10, 0, tzinfo=timezone.utc)),
    ("2026-12-01T10:00", datetime(2026, 12, 1, 9, 0, tzinfo=timezone.utc)),  # naive: Danish time (CET)
    ("2026-12-01", datetime(2026, 12, 1, 22, 59, 59, tzinfo=timezone.utc)),  # a date: the end of that day
    (date(2026, 6, 1), datetime(2026, 6, 1, 21, 59, 59, tzinfo=timezone.utc)),  # summer time
    (datetime(2026, 12, 1, 10, 0, tzinfo=timezone.utc), datetime(2026, 12, 1, 10, 0, tzinfo=timezone.utc)),
    (None, None),
    ("", None),
])
def test_a_due_date_may_be_a_duration_a_date_or_a_moment(value, expected):
    assert parse_moment(value, "due_at", NOW) == expected


@pytest.mark.parametrize("value", ["P7", "Px", "next week", "2026-13-01", "2026-12-01T25:00", 7, ["P1D"]])
def test_a_due_date_that_is_none_of_those_names_the_field(value):
    with pytest.raises(InvalidInput) as raised:
        parse_moment(value, "follow_up_at", NOW)
    assert raised.value.field == "follow_up_at"
    assert "follow_up_at" in str(raised.value)


def test_a_calendar_date_is_a_date_and_nothing_else():
    assert parse_date("2026-12-01", "from_date") == date(2026, 12, 1)
    assert parse_date(date(2026, 12, 1), "from_date") == date(2026, 12, 1)
    for bad in ("1/12/2026", "", None, datetime(2026, 12, 1, tzinfo=timezone.utc), 20261201):
        with pytest.raises(InvalidInput) as raised:
            parse_date(bad, "to_date")
        assert raised.value.field == "to_date"


def test_due_states_follow_the_local_day_and_week():
    now = datetime(2026, 11, 24, 10, 0, tzinfo=timezone.utc)  # Tuesday 11:00 in Copenhagen
    bounds = day_bounds(now)
    assert bounds["tomorrow"] == datetime(2026, 11, 24, 23, 0, tzinfo=timezone.utc)
    assert bounds["next_week"] == datetime(2026, 11, 29, 23, 0, tzinfo=timezone.utc)  # Monday 00:00 local
    assert due_state(None, bounds) == "none"
    assert due_state(now - timedelta(minutes=1), bounds) == "overdue"
    assert due_state(now + timedelta(hours=12), bounds) == "today"
    assert due_state(now + timedelta(hours=13), bounds) == "week"
    assert due_state(datetime(2026, 11, 29, 22, 59, tzinfo=timezone.utc), bounds) == "week"
    assert due_state(datetime(2026, 11, 29, 23, 0, tzinfo=timezone.utc), bounds) == "later"


@pytest.mark.parametrize("value, expected", [(0, 0), (100, 100), (70, 70), ("55", 55), (" 5 ", 5)])
def test_priority_is_a_whole_number_from_0_to_100(value, expected):
    assert clean_priority(value) == expected


@pytest.mark.parametrize("value", [-1, 101, "high", "", None, True, 50.5, "-3"])
def test_a_priority_outside_0_to_100_names_the_field(value):
    with pytest.raises(InvalidInput) as raised:
        clean_priority(value)
    assert raised.value.field == "priority"


class NoDatabase:
    """A session that fails the test if a permission asks the database anything."""

    def connection(self):
        raise AssertionError("the permission queried the database")

    execute = scalar = scalars = connection


def test_the_assignee_completing_costs_no_query():
    verdict = permissions.may_complete_task(NoDatabase(), 11, assignee_id=11, candidate_group_id=3)
    assert verdict and verdict.on_behalf_of is None


def test_the_delegate_completing_costs_no_query():
    assert permissions.may_complete_task(NoDatabase(), 12, assignee_id=12, candidate_group_id=None, owner_id=11)


def test_a_refusal_carries_its_reason_into_the_error():
    with pytest.raises(NotAllowed) as raised:
        permissions.require(permissions.refused("it is assigned to anna"), "bo may not complete task 'X'")
    assert str(raised.value) == "bo may not complete task 'X': it is assigned to anna"
    assert raised.value.context["reason"] == "it is assigned to anna"
    with pytest.raises(NotAllowed, match="^carl may not close case X$"):
        permissions.require(False, "carl may not close case X")
    permissions.require(permissions.ALLOWED, "never raised")
