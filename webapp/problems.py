"""Form problems (from the engine's InvalidInput or from webapp.formdata) in the user's language."""
from __future__ import annotations

from flask_babel import format_decimal, gettext as _


def _n(value) -> str:
    return format_decimal(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else str(value)


def problem_message(problem: dict) -> str:
    """A sentence a caseworker understands, keyed by the JSON-Schema keyword that failed."""
    validator, value = problem.get("validator"), problem.get("validator_value")
    if validator == "required" or (validator == "minLength" and value == 1):
        return _("Fill in this field.")
    if validator == "type":
        return {"number": _("Enter a number, for example 12,5."),
                "integer": _("Enter a whole number, for example 12."),
                "boolean": _("Tick or untick the box."),
                "string": _("Enter text.")}.get(value, _("The value has the wrong type."))
    if validator == "format":
        return {"date": _("Enter a date, for example 24-12-2026."),
                "date-time": _("Enter a date and a time."),
                "email": _("Enter an e-mail address, for example navn@eksempel.dk.")}.get(
            value, _("The value does not have the expected form."))
    if validator == "const" and value is True:
        return _("This box must be ticked.")
    if validator in ("enum", "oneOf", "anyOf", "const"):
        return _("Choose one of the options.")
    messages = {
        "minLength": _("Enter at least %(n)s characters."),
        "maxLength": _("Enter at most %(n)s characters."),
        "minimum": _("Enter %(n)s or more."),
        "maximum": _("Enter %(n)s or less."),
        "exclusiveMinimum": _("Enter more than %(n)s."),
        "exclusiveMaximum": _("Enter less than %(n)s."),
        "minItems": _("Add at least %(n)s rows."),
        "maxItems": _("Add at most %(n)s rows."),
        "pattern": _("The value does not have the expected form."),
        "additionalProperties": _("The form holds a field the model does not know."),
    }
    if validator in messages:
        return messages[validator] % {"n": _n(value)}
    message = str(problem.get("message", ""))
    return message or _("The value is not valid.")


def problems_by_field(problems: list[dict]) -> tuple[dict[str, list[str]], list[str]]:
    """Messages per field path, and those that belong to the whole form."""
    by_field: dict[str, list[str]] = {}
    general: list[str] = []
    for problem in problems:
        name = problem.get("field") or "(form)"
        message = problem_message(problem)
        if name == "(form)":
            general.append(message)
        elif message not in by_field.setdefault(name, []):
            by_field[name].append(message)
    return by_field, general
