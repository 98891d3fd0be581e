"""Submitted strings become typed data by the form's JSON Schema; wrong types name their field."""
import pytest
from werkzeug.datastructures import MultiDict

from engine.runtime.instructions import render_instructions
from webapp.formdata import (apply_row_action, fields_of, parse_date, parse_form, parse_number,
                             state_from_data)

SCHEMA = {
    "type": "object",
    "properties": {
        "name": {"type": "string", "title": "Navn"},
        "note": {"type": "string", "maxLength": 2000},
        "summary": {"type": "string", "x-widget": "textarea"},
        "area": {"type": "number"},
        "count": {"type": "integer"},
        "when": {"type": "string", "format": "date"},
        "at": {"type": "string", "format": "date-time"},
        "kind": {"type": "string", "oneOf": [{"const": "a", "title": "A-sag"}, {"const": "b", "title": "B-sag"}]},
        "level": {"type": "integer", "enum": [1, 2, 3]},
        "ok": {"type": "boolean"},
        "tags": {"type": "array", "items": {"type": "string", "enum": ["x", "y"]}},
        "parties": {"type": "array", "items": {"type": "object", "properties": {
            "who": {"type": "string"}, "share": {"type": "number"}}, "required": ["who"]}},
        "address": {"type": "object", "properties": {"street": {"type": "string"}, "zip": {"type": "string"}}},
    },
    "required": ["name"],
}


def test_fields_get_the_input_their_schema_asks_for():
    kinds = {f.key: f.kind for f in fields_of(SCHEMA)}
    assert kinds == {"name": "text", "note": "textarea", "summary": "textarea", "area": "number",
                     "count": "integer", "when": "date", "at": "datetime", "kind": "choice", "level": "choice",
                     "ok": "boolean", "tags": "multichoice", "parties": "rows", "address": "group"}
    kind = next(f for f in fields_of(SCHEMA) if f.key == "kind")
    assert kind.options == [("a", "A-sag"), ("b", "B-sag")]
    assert next(f for f in fields_of(SCHEMA) if f.key == "name").required


def test_strings_are_converted_by_type():
    form = MultiDict([("name", " Anna "), ("area", "1.234,5"), ("count", "12"), ("when", "24.12.2026"),
                      ("at", "2026-12-24T10:30"), ("kind", "b"), ("level", "2"), ("ok", "true"),
                      ("tags", "x"), ("tags", "y"), ("_rows.parties", "2"), ("parties.0.who", "Bo"),
                      ("parties.0.share", "0,5"), ("parties.1.who", "Carl"), ("address.street", "Havnegade 3"),
                      ("note", "")])
    data, problems, state = parse_form(SCHEMA, form)
    assert problems == []
    assert data == {"name": "Anna", "area": 1234.5, "count": 12, "when": "2026-12-24",
                    "at": "2026-12-24T10:30:00+01:00", "kind": "b", "level": 2, "ok": True, "tags": ["x", "y"],
                    "parties": [{"who": "Bo", "share": 0.5}, {"who": "Carl"}], "address": {"street": "Havnegade 3"}}
    assert state.value("area") == "1.234,5" and state.row_count("parties") == 2


def test_an_unticked_box_is_false_and_an_empty_input_is_left_out():
    data, problems, _ = parse_form(SCHEMA, MultiDict({"name": "", "area": "  "}))
    assert data == {"ok": False} and problems == []


@pytest.mark.parametrize("field, value, validator", [
    ("area", "tolv", "type"), ("count", "1,5", "type"), ("when", "31-02-2026", "format"),
    ("at", "i morgen", "format"), ("kind", "c", "enum"), ("level", "7", "enum"), ("parties.0.share", "x", "type"),
])
def test_a_value_of_the_wrong_type_is_a_problem_naming_its_field(field, value, validator):
    data, problems, state = parse_form(SCHEMA, MultiDict({"_rows.parties": "1", field: value}))
    assert [(p["field"], p["validator"]) for p in problems] == [(field, validator)]
    assert state.value(field) == value  # shown again as typed


def test_numbers_and_dates_as_people_type_them():
    assert parse_number("12,5") == 12.5 and parse_number("12.5") == 12.5 and parse_number("1 234") == 1234
    assert parse_number("1,234.5") == 1234.5 and parse_number("-3") == -3
    for bad in ("nan", "inf", "1e999", "12,5,6", ""):
        with pytest.raises(ValueError):
            parse_number(bad)
    assert parse_date("2026-12-24") == "2026-12-24" and parse_date("1/2/2026") == "2026-02-01"


def test_rows_are_added_and_removed_keeping_what_was_typed():
    form = MultiDict({"_rows.parties": "3", "parties.0.who": "A", "parties.1.who": "B", "parties.2.who": "C"})
    _, _, state = parse_form(SCHEMA, form)
    assert apply_row_action(state, "remove:parties:1")
    assert state.row_count("parties") == 2
    assert state.value("parties.0.who") == "A" and state.value("parties.1.who") == "C"
    assert apply_row_action(state, "add:parties") and state.row_count("parties") == 3
    assert not apply_row_action(state, "remove:parties:9")


def test_typed_data_is_shown_in_the_inputs():
    state = state_from_data(SCHEMA, {"area": 12.0, "ok": True, "parties": [{"who": "Bo"}], "tags": ["x"],
                                     "at": "2026-12-24T09:30:00+00:00"})
    assert state.value("area") == "12" and state.value("ok") == "true" and state.row_count("parties") == 1
    assert state.value("parties.0.who") == "Bo" and state.value("tags") == ["x"]
    assert state.value("at") == "2026-12-24T10:30"


def test_instructions_are_filled_in_a_sandbox_with_a_time_limit():
    assert render_instructions("Sag {{ case.number }}", {"case": {"number": "AKT-1"}}) == ("Sag AKT-1", None)
    text, problem = render_instructions("{{ ''.__class__.__mro__ }}", {})
    assert "__mro__" not in text or problem
    slow = "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}"
    text, problem = render_instructions(slow, {}, time_limit=0.2)
    assert text == slow and "longer than" in problem
    text, problem = render_instructions("{{ missing.field }}", {})
    assert problem and "undefined" in problem
