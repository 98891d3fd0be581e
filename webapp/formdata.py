"""JSON-Schema forms in HTML: the fields to draw, and the submitted strings turned into typed data.

A browser sends every value as a string. `parse_form` converts them by the schema's types
(number, integer, boolean, date, choice, rows of objects) and reports a value of the wrong type as
a problem naming its field, in the engine's problem shape ({"field", "validator", ...}); the
engine then validates the typed data against the whole schema. Field names are the JSON paths
the engine uses in its problems: `rows.0.name`.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from datetime import date, datetime
from zoneinfo import ZoneInfo

from engine.services.documents import DOCUMENT_FIELD

ROWS_PREFIX = "_rows."  # hidden input per repeating group: how many rows the form shows
TEXTAREA_LENGTH = 200   # a string allowed to be longer than this gets a textarea
LOCAL_TIME = ZoneInfo("Europe/Copenhagen")
_DANISH_DATE = re.compile(r"^(\d{1,2})[.\-/](\d{1,2})[.\-/](\d{4})$")
_INTEGER = re.compile(r"^[+-]?\d+$")
_NUMBER = re.compile(r"^[+-]?(\d+([.,]\d*)?|[.,]\d+)([eE][+-]?\d+)?$")


@dataclass
class Field:
    """One input (or group of inputs) of a form, at a JSON path."""

    name: str
    key: str
    title: str
    description: str
    kind: str  # text textarea email date datetime number integer choice multichoice boolean rows group file unsupported
    required: bool = False
    options: list[tuple[str, str]] = field(default_factory=list)  # (submitted value, label)
    option_values: dict[str, object] = field(default_factory=dict)  # submitted value -> typed value
    schema: dict = field(default_factory=dict)
    children: list["Field"] = field(default_factory=list)  # a group's fields

    @property
    def id(self) -> str:
        return "f-" + re.sub(r"[^A-Za-z0-9_-]", "-", self.name)

    def row_fields(self, index: int) -> list["Field"]:
        """The fields of row `index` of a repeating group."""
        return fields_of(self.schema.get("items", {}), f"{self.name}.{index}")


def _type(schema: dict) -> str | None:
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), None)
    if kind is None and ("enum" in schema or "oneOf" in schema or "anyOf" in schema or "const" in schema):
        return "string"
    return kind


def _options(schema: dict) -> list[tuple[object, str]]:
    for keyword in ("oneOf", "anyOf"):
        alternatives = schema.get(keyword)
        if isinstance(alternatives, list) and alternatives and all(
                isinstance(a, dict) and "const" in a for a in alternatives):
            return [(a["const"], str(a.get("title", a["const"]))) for a in alternatives]
    if isinstance(schema.get("enum"), list):
        return [(value, str(value)) for value in schema["enum"]]
    return []


def _field(schema: dict, name: str, key: str, required: bool) -> Field:
    kind_of = _type(schema)
    title = str(schema.get("title") or key.replace("_", " ").capitalize())
    made = Field(name=name, key=key, title=title, description=str(schema.get("description", "")),
                 kind="unsupported", required=required, schema=schema)
    options = _options(schema)
    if options and kind_of in ("string", "integer", "number"):
        made.kind = "choice"
    elif kind_of == "string":
        widget = schema.get("x-widget")
        fmt = schema.get("format")
        if fmt == "data-url" or schema.get(DOCUMENT_FIELD) is True:
            # A file that becomes a case document; the engine takes them only at the form's top level.
            made.kind = "file" if "." not in name else "unsupported"
        elif widget in ("textarea", "text"):
            made.kind = widget
        elif fmt in ("date", "email"):
            made.kind = fmt
        elif fmt == "date-time":
            made.kind = "datetime"
        elif schema.get("contentEncoding") or schema.get("contentMediaType") or fmt == "binary":
            made.kind = "unsupported"  # bytes inside the form data: files go to documents instead
        else:
            made.kind = "textarea" if schema.get("maxLength", 0) > TEXTAREA_LENGTH else "text"
    elif kind_of in ("number", "integer", "boolean"):
        made.kind = kind_of
    elif kind_of == "array":
        items = schema.get("items") if isinstance(schema.get("items"), dict) else {}
        if _type(items) == "object":
            made.kind = "rows"
        elif _options(items):
            made.kind = "multichoice"
            options = _options(items)
    elif kind_of == "object" and isinstance(schema.get("properties"), dict):
        made.kind = "group"
        made.children = fields_of(schema, name)
    made.options = [(str(value), label) for value, label in options]
    made.option_values = {str(value): value for value, _ in options}
    return made


def file_fields(schema: dict | None) -> list[Field]:
    """The form's file fields (each file becomes a document of the case)."""
    return [f for f in fields_of(schema) if f.kind == "file"]


def fields_of(schema: dict | None, prefix: str = "") -> list[Field]:
    """The fields of an object schema, in the order the model lists its properties."""
    if not isinstance(schema, dict):
        return []
    required = set(schema.get("required", []))
    return [_field(sub if isinstance(sub, dict) else {}, f"{prefix}.{key}" if prefix else key, key, key in required)
            for key, sub in (schema.get("properties") or {}).items()]


# --- values to show -----------------------------------------------------------------------------------

@dataclass
class FormState:
    """What the form shows: a string (or list) per field path, and the row count per repeating group."""

    values: dict[str, object] = field(default_factory=dict)
    rows: dict[str, int] = field(default_factory=dict)

    def value(self, name: str, default: str = "") -> object:
        return self.values.get(name, default)

    def row_count(self, name: str) -> int:
        return self.rows.get(name, 0)


def state_from_data(schema: dict | None, data: dict | None) -> FormState:
    """Show typed data (a task's current values, a schema's defaults) in the form's inputs."""
    state = FormState()
    _fill(fields_of(schema), data or {}, state, defaults=True)
    return state


def _fill(fields: list[Field], data: dict, state: FormState, defaults: bool) -> None:
    for f in fields:
        value = data.get(f.key, f.schema.get("default") if defaults else None)
        if f.kind == "group":
            _fill(f.children, value if isinstance(value, dict) else {}, state, defaults)
        elif f.kind == "rows":
            rows = value if isinstance(value, list) else []
            state.rows[f.name] = len(rows)
            for index, row in enumerate(rows):
                _fill(f.row_fields(index), row if isinstance(row, dict) else {}, state, defaults)
        elif f.kind == "multichoice":
            state.values[f.name] = [str(v) for v in value] if isinstance(value, list) else []
        elif f.kind == "boolean":
            state.values[f.name] = "true" if value is True else ""
        elif value is None:
            continue
        elif f.kind == "datetime" and isinstance(value, str):
            try:
                state.values[f.name] = datetime.fromisoformat(value).astimezone(LOCAL_TIME).strftime("%Y-%m-%dT%H:%M")
            except ValueError:
                state.values[f.name] = value
        elif f.kind == "number" and isinstance(value, float) and value.is_integer():
            state.values[f.name] = str(int(value))
        else:
            state.values[f.name] = str(value)


# --- submitted strings to data ------------------------------------------------------------------------

def parse_form(schema: dict | None, form) -> tuple[dict, list[dict], FormState]:
    """Convert a submitted form (a werkzeug MultiDict) by the schema.

    Returns (data, problems, state): the typed data, one problem per value of the wrong type, and
    the form's state to show again exactly what was typed. An empty input leaves its field out,
    so the schema's `required` speaks for it; an unticked checkbox is false.
    """
    state = FormState()
    for key in form:
        if key.startswith(ROWS_PREFIX):
            try:
                state.rows[key[len(ROWS_PREFIX):]] = max(0, min(200, int(form.get(key, "0"))))
            except ValueError:
                state.rows[key[len(ROWS_PREFIX):]] = 0
    problems: list[dict] = []
    data = _parse_object(fields_of(schema), form, state, problems)
    return data, problems, state


def _parse_object(fields: list[Field], form, state: FormState, problems: list[dict]) -> dict:
    data = {}
    for f in fields:
        if f.kind in ("unsupported", "file"):  # a file field's file goes to the engine beside the data
            continue
        if f.kind == "group":
            value = _parse_object(f.children, form, state, problems)
            if value or f.required:
                data[f.key] = value
            continue
        if f.kind == "rows":
            count = state.rows.setdefault(f.name, 0)
            rows = [_parse_object(f.row_fields(i), form, state, problems) for i in range(count)]
            if rows or f.required:
                data[f.key] = rows
            continue
        if f.kind == "multichoice":
            chosen = form.getlist(f.name)
            state.values[f.name] = chosen
            unknown = [c for c in chosen if c not in f.option_values]
            if unknown:
                problems.append(_problem(f, "enum", "choose one of the options"))
            elif chosen or f.required:
                data[f.key] = [f.option_values[c] for c in chosen]
            continue
        if f.kind == "boolean":
            raw = form.get(f.name, "")
            state.values[f.name] = "true" if raw else ""
            data[f.key] = bool(raw)
            continue
        raw = form.get(f.name, "")
        raw = raw.replace("\r\n", "\n").strip() if isinstance(raw, str) else ""
        state.values[f.name] = raw
        if raw == "":
            continue
        try:
            data[f.key] = _convert(f, raw)
        except ValueError as err:
            problems.append(_problem(f, *err.args))
    return data


def _problem(f: Field, validator: str, message: str, value=None) -> dict:
    problem = {"field": f.name, "validator": validator, "message": f"{f.name}: {message}"}
    if value is not None:
        problem["validator_value"] = value
    return problem


def _convert(f: Field, raw: str):
    """One submitted string to its JSON value; ValueError(validator, message, value) when it is not one."""
    if f.kind == "choice":
        if raw not in f.option_values:
            raise ValueError("enum", "choose one of the options")
        return f.option_values[raw]
    if f.kind == "integer":
        compact = raw.replace(" ", "").replace("\u00a0", "")
        if not _INTEGER.match(compact):
            raise ValueError("type", f"{raw!r} is not a whole number", "integer")
        return int(compact)
    if f.kind == "number":
        return parse_number(raw)
    if f.kind == "date":
        return parse_date(raw)
    if f.kind == "datetime":
        try:
            moment = datetime.fromisoformat(raw)
        except ValueError:
            raise ValueError("format", f"{raw!r} is not a date and time", "date-time") from None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=LOCAL_TIME)
        return moment.isoformat()
    return raw


def parse_number(raw: str) -> int | float:
    """A number as people type it: '12,5', '12.5', '1.234,5', '1 234' (Danish and English)."""
    compact = raw.replace(" ", "").replace("\u00a0", "")
    if "," in compact and "." in compact:
        # Whichever separator comes last is the decimal one.
        if compact.rfind(",") > compact.rfind("."):
            compact = compact.replace(".", "").replace(",", ".")
        else:
            compact = compact.replace(",", "")
    elif "," in compact:
        compact = compact.replace(",", ".")
    if not _NUMBER.match(compact):
        raise ValueError("type", f"{raw!r} is not a number", "number")
    value = float(compact)
    if math.isnan(value) or math.isinf(value):
        raise ValueError("type", f"{raw!r} is not a number", "number")
    if value.is_integer() and "." not in compact and "e" not in compact.lower():
        return int(compact)
    return value


def parse_date(raw: str) -> str:
    """An ISO date from '2026-12-24' (what date inputs send) or '24-12-2026', '24.12.2026', '24/12/2026'."""
    match = _DANISH_DATE.match(raw)
    try:
        if match:
            day, month, year = (int(g) for g in match.groups())
            return date(year, month, day).isoformat()
        return date.fromisoformat(raw).isoformat()
    except ValueError:
        raise ValueError("format", f"{raw!r} is not a date", "date") from None


def apply_row_action(state: FormState, action: str) -> bool:
    """Handle an 'add:<path>' or 'remove:<path>:<index>' button; True when the form should be shown again."""
    verb, _, rest = action.partition(":")
    if verb == "add" and rest:
        state.rows[rest] = state.rows.get(rest, 0) + 1
        return True
    if verb == "remove" and rest:
        path, _, index = rest.rpartition(":")
        try:
            index = int(index)
        except ValueError:
            return False
        count = state.rows.get(path, 0)
        if not 0 <= index < count:
            return False
        _shift_rows(state, path, index, count)
        state.rows[path] = count - 1
        return True
    return False


def _shift_rows(state: FormState, path: str, removed: int, count: int) -> None:
    """Move the values of rows after `removed` one up, so the inputs keep what was typed."""
    def rename(mapping: dict) -> dict:
        renamed = {}
        for key, value in mapping.items():
            head = f"{path}."
            if key.startswith(head):
                index_text, _, tail = key[len(head):].partition(".")
                if index_text.isdigit():
                    index = int(index_text)
                    if index == removed:
                        continue
                    if index > removed:
                        key = f"{head}{index - 1}" + (f".{tail}" if tail else "")
            renamed[key] = value
        return renamed

    state.values = rename(state.values)
    state.rows = rename(state.rows)
