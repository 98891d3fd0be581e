"""Journal events keep what the JSON column gives back (so their hash verifies later): stored_form
copies plain data instead of writing and parsing it, and must equal the round trip it replaced."""
from __future__ import annotations

import hashlib
import json
import math
from datetime import date, datetime, timezone
from decimal import Decimal
from enum import IntEnum

from engine.services.journal import event_hash, stored_form


class Level(IntEnum):
    HIGH = 2


class Name(str):
    pass


def round_trip(data):
    return json.loads(json.dumps(data or {}, default=str))


CASES = [
    None, {}, {"a": 1, "b": "x", "c": None, "d": True, "e": 1.5, "f": -0.0, "g": 10 ** 30},
    {"nested": {"list": [1, [2, {"deep": "æøå"}]], "tuple": (1, 2)}},
    {"when": datetime(2026, 11, 28, 1, 2, 3, tzinfo=timezone.utc), "day": date(2026, 1, 1)},
    {"money": Decimal("12.50")}, {1: "int key"}, {"level": Level.HIGH}, {"name": Name("x")},
    {"set": {1}}, {"fields": ["a", "b"], "inner": {2: "two"}},
]


def test_stored_form_equals_the_json_round_trip():
    for data in CASES:
        got, expected = stored_form(data), round_trip(data)
        assert got == expected and json.dumps(got) == json.dumps(expected), data
        assert [type(v) for v in got.values()] == [type(v) for v in expected.values()], data


def test_stored_form_of_special_floats_and_a_copy():
    got = stored_form({"nan": float("nan"), "inf": float("inf")})
    assert math.isnan(got["nan"]) and got["inf"] == float("inf")
    data = {"list": [1, 2], "inner": {"a": 1}}
    got = stored_form(data)
    data["list"].append(3)
    data["inner"]["a"] = 2
    assert got == {"list": [1, 2], "inner": {"a": 1}}


def test_the_hash_text_is_unchanged():
    """event_hash reuses one encoder: a digest of a known event, as json.dumps with the same options gave it."""
    at = datetime(2026, 11, 28, 0, 0, tzinfo=timezone.utc)
    data = {"b": "æ", "a": [1, 2.5, None], "when": "2026-11-28"}
    body = json.dumps(["0" * 64, 7, 3, "2026-11-28T00:00:00.000000", "anna", "task_created", data],
                      sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    assert event_hash("0" * 64, 7, 3, at, "anna", "task_created", data) == hashlib.sha256(body.encode()).hexdigest()
