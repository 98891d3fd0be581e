"""Shared by the pages that show a JSON-Schema form (start a case, complete a task); not a blueprint."""
from __future__ import annotations

from dataclasses import dataclass, field

from ..formdata import FormState, fields_of, parse_form, state_from_data, apply_row_action, ROWS_PREFIX
from ..problems import problems_by_field

__all__ = ["FormView", "form_view", "parse_form", "apply_row_action", "ROWS_PREFIX"]


@dataclass
class FormView:
    """Everything the form macros need: fields, what they show, and the problems beside them."""

    fields: list
    state: FormState
    errors: dict[str, list[str]] = field(default_factory=dict)
    general: list[str] = field(default_factory=list)
    file_max_bytes: int = 0  # the largest file a file field takes (the page that draws the form sets it)
    file_max_text: str = ""

    @property
    def has_errors(self) -> bool:
        return bool(self.errors or self.general)

    @property
    def has_files(self) -> bool:
        """A file field needs the form sent as multipart/form-data."""
        return any(f.kind == "file" for f in self.fields)

    def error_list(self) -> list[tuple[str, str, str]]:
        """(input id, field title, message) for the summary above the form, in the form's order."""
        listed, drawn = [], set()

        def walk(fields):
            for f in fields:
                drawn.add(f.name)
                for message in self.errors.get(f.name, []):
                    listed.append((f.id, f.title, message))
                if f.kind == "group":
                    walk(f.children)
                elif f.kind == "rows":
                    for index in range(self.state.row_count(f.name)):
                        walk(f.row_fields(index))

        walk(self.fields)
        for name, messages in self.errors.items():  # a path the form does not draw
            if name not in drawn:
                listed.extend(("", name, message) for message in messages)
        return listed


def form_view(schema: dict | None, state: FormState | None = None, data: dict | None = None,
              problems: list[dict] | None = None) -> FormView:
    errors, general = problems_by_field(problems or [])
    return FormView(fields=fields_of(schema), state=state or state_from_data(schema, data), errors=errors,
                    general=general)


def merge_problems(type_problems: list[dict], schema_problems: list[dict]) -> list[dict]:
    """Type problems first; a schema problem for a field that already has one is left out."""
    named = {p["field"] for p in type_problems}
    return type_problems + [p for p in schema_problems if p.get("field") not in named]
