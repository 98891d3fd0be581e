"""validate_form names every offending field, so a form can show each error beside its field."""
import pytest

from engine.errors import InvalidInput
from engine.services.cases import validate_form

SCHEMA = {
    "type": "object",
    "properties": {
        "title": {"type": "string", "minLength": 1},
        "when": {"type": "string", "format": "date"},
        "rows": {"type": "array", "items": {"type": "object", "properties": {"name": {"type": "string"}},
                                            "required": ["name"]}},
    },
    "required": ["title", "when"],
}


def test_every_missing_field_is_named_with_its_keyword():
    with pytest.raises(InvalidInput) as caught:
        validate_form(SCHEMA, {"rows": [{}]}, "f.json")
    problems = caught.value.context["problems"]
    assert {(p["field"], p["validator"]) for p in problems} == {
        ("title", "required"), ("when", "required"), ("rows.0.name", "required")}
    assert caught.value.field in {"title", "when", "rows.0.name"}


def test_format_and_length_problems_carry_the_keyword_value():
    with pytest.raises(InvalidInput) as caught:
        validate_form(SCHEMA, {"title": "", "when": "not a date"}, "f.json")
    by_field = {p["field"]: p for p in caught.value.context["problems"]}
    assert by_field["title"]["validator"] == "minLength" and by_field["title"]["validator_value"] == 1
    assert by_field["when"]["validator"] == "format" and by_field["when"]["validator_value"] == "date"
