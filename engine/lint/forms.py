"""Form rules: every form is a valid JSON Schema whose field names can be task data."""
from __future__ import annotations

import json
import re
from collections.abc import Iterator

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError

from ..runtime.sandbox import MODULES, SAFE_BUILTIN_NAMES
from .findings import ERROR, Finding, N_

IDENTIFIER = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
RESERVED_FIELDS = {"case", "caseworker"}
# Names the sandbox predefines: a field with one of these names makes every script fail
# ("task data overwrites a predefined function").
PREDEFINED = set(MODULES)


def load(name: str, content: bytes) -> tuple[dict | None, Finding | None]:
    try:
        schema = json.loads(content)
    except (ValueError, UnicodeDecodeError) as err:
        return None, Finding(ERROR, "form-json", N_("The form is not valid JSON: %(problem)s"),
                             {"problem": str(err)}, file=name)
    if not isinstance(schema, dict):
        return None, Finding(ERROR, "form-json", N_("The form must be a JSON object (a JSON Schema)."),
                             file=name)
    return schema, None


def check(name: str, schema: dict) -> Iterator[Finding]:
    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as err:
        path = "/".join(str(p) for p in err.absolute_path) or "(root)"
        yield Finding(ERROR, "form-schema", N_("The form is not a valid JSON Schema at %(path)s: %(problem)s"),
                      {"path": path, "problem": err.message}, file=name)
        return
    for field in sorted(field_names(schema)):
        if not IDENTIFIER.match(field):
            yield Finding(ERROR, "form-field-name",
                          N_("Field '%(field)s' cannot be used: a field name must start with a letter and "
                             "hold only letters, digits and '_', or submitted forms are refused."),
                          {"field": field}, element=field, file=name)
        elif field in RESERVED_FIELDS:
            yield Finding(ERROR, "form-field-name",
                          N_("Field '%(field)s' cannot be used: Sagsgang reserves that name for the case's "
                             "own data."), {"field": field}, element=field, file=name)
        elif field in PREDEFINED or field in SAFE_BUILTIN_NAMES:
            yield Finding(ERROR, "form-field-name",
                          N_("Field '%(field)s' has the name of a function scripts use; every script of "
                             "the case would fail. Rename the field."), {"field": field}, element=field, file=name)


def field_names(schema: dict) -> set[str]:
    """Top-level fields a form can submit (also from if/then/else and all/any/oneOf branches)."""
    names: set[str] = set()
    stack = [schema]
    while stack:
        current = stack.pop()
        if not isinstance(current, dict):
            continue
        props = current.get("properties")
        if isinstance(props, dict):
            names.update(k for k in props if isinstance(k, str))
        for key in ("then", "else", "if"):
            if isinstance(current.get(key), dict):
                stack.append(current[key])
        for key in ("allOf", "anyOf", "oneOf"):
            if isinstance(current.get(key), list):
                stack.extend(current[key])
    return names
