"""The registry of service-task handlers: the operator names a model may pick.

It lives here, below the services, so that publishing (engine/services/case_types.py, the linter)
can check a model's operator names without importing the services that run them
(engine/services/service_tasks.py imports the case services, which import case_types: a cycle).
The handlers themselves register from engine/services/service_tasks.py with `@handler(name)`.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ..settings import Settings
from .service_tasks import DeferredServiceTask

# The handlers Sagsgang ships. Listed by name as well, so a check in a process that has not
# imported engine.services.service_tasks (a script, a unit test) still knows them;
# tests/unit/test_background_rules.py checks that each has its handler.
BUILTIN_OPERATORS = ("http_request", "send_mail")


@dataclass(frozen=True)
class ServiceCall:
    job_id: int
    case_id: int
    case_number: str
    element_id: str
    operator: str
    params: dict
    attempts: int


Handler = Callable[[ServiceCall, Settings], object]
HANDLERS: dict[str, Handler] = {}


def handler(name: str):
    """Register a handler under the name owners write in the model."""
    def register(func: Handler) -> Handler:
        HANDLERS[name] = func
        return func
    return register


def operator_names() -> list[str]:
    """Every operator name a model may use, sorted."""
    return sorted(set(BUILTIN_OPERATORS) | set(HANDLERS))


def unknown_operators(specs) -> list[tuple[str, str]]:
    """(element id, operator) for each service task in these process specs whose operator has no handler.

    A worker would only find out when it runs the task and the case then waits on an incident.
    """
    known = set(operator_names())
    found = []
    for spec in specs:
        for task_spec in spec.task_specs.values():
            if isinstance(task_spec, DeferredServiceTask) and task_spec.operation_name not in known:
                found.append((task_spec.bpmn_id or task_spec.name, task_spec.operation_name or ""))
    return sorted(found)
