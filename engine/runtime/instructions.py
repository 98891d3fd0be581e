"""Task instructions: the model's Markdown with Jinja placeholders filled from the task's data.

Case-type owners write these templates, so they run like scripts do: in Jinja's immutable
sandbox (no attribute walks to Python internals, no mutation) and within a time limit, which a
line tracer enforces (nested loops over large ranges would otherwise run unbounded).
"""
from __future__ import annotations

import sys
import time

from jinja2 import TemplateError
from jinja2.sandbox import ImmutableSandboxedEnvironment

MAX_OUTPUT = 20_000

_ENVIRONMENT = ImmutableSandboxedEnvironment(autoescape=False, keep_trailing_newline=True)


class _Deadline(BaseException):
    """Raised inside the template's frames; a BaseException so templates cannot swallow it."""


def render_instructions(template: str, data: dict, time_limit: float = 1.0) -> tuple[str, str | None]:
    """Fill the placeholders; return (markdown, problem). On a problem the raw template comes back."""
    if not template or ("{{" not in template and "{%" not in template):
        return template or "", None
    deadline = time.monotonic() + time_limit

    def tracer(frame, event, arg):
        if time.monotonic() > deadline:
            raise _Deadline()
        return tracer

    previous = sys.gettrace()
    sys.settrace(tracer)
    try:
        text = _ENVIRONMENT.from_string(template).render(**data)
    except _Deadline:
        return template, f"the instructions took longer than {time_limit:g} s to fill in"
    except (TemplateError, ArithmeticError, TypeError, ValueError, LookupError, AttributeError) as err:
        return template, f"the instructions could not be filled in: {err}"
    finally:
        sys.settrace(previous)
    if len(text) > MAX_OUTPUT:
        text = text[:MAX_OUTPUT] + "…"
    return text, None
