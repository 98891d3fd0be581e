"""Where owner-written Python sits in a BPMN model, and what names it reads and sets."""
from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass

from .findings import N_
from .model import BPMN_NS, SPIFF_NS, Container, bpmn, local, text_of

S = f"{{{SPIFF_NS}}}"
B = f"{{{BPMN_NS}}}"
# Task properties that hold an ISO 8601 duration or an expression (engine/services/cases.py: due_date).
DURATION_PROPERTIES = ("dueIn", "followUpIn")
TIMER_KINDS = {"timeDate": N_("timer date"), "timeDuration": N_("timer duration"), "timeCycle": N_("timer cycle")}


@dataclass(frozen=True)
class Source:
    element: str       # the BPMN id the code belongs to (a task, a flow, an event)
    what: str          # a few words for the owner: "condition", "script", "timer duration"
    code: str
    mode: str          # 'eval' or 'exec'


def properties(node) -> dict[str, str]:
    found = {}
    for prop in node.iter(f"{S}property"):
        if prop.get("name"):
            found[prop.get("name")] = prop.get("value", "")
    return found


def sources(container: Container) -> Iterator[Source]:
    """Every expression and script in the container's own nodes and flows (not nested containers)."""
    for flow_id, flow in container.flows.items():
        for condition in bpmn(flow, "conditionExpression"):
            if text_of(condition):
                yield Source(flow_id, N_("condition"), text_of(condition), "eval")
    for node_id, node in container.nodes.items():
        name = local(node)
        if name == "scriptTask":
            for script in bpmn(node, "script"):
                if text_of(script):
                    yield Source(node_id, N_("script"), script.text, "exec")
        for extensions in bpmn(node, "extensionElements"):
            for tag, what in (("preScript", N_("pre-script")), ("postScript", N_("post-script"))):
                for script in extensions.findall(f"{S}{tag}"):
                    if text_of(script):
                        yield Source(node_id, what, script.text, "exec")
            for operator in extensions.findall(f"{S}serviceTaskOperator"):
                for parameter in operator.iter(f"{S}parameter"):
                    if parameter.get("value", "").strip():
                        yield Source(node_id, f"service parameter '{parameter.get('id', '')}'",
                                     parameter.get("value"), "eval")
        for prop, value in properties(node).items():
            if prop in DURATION_PROPERTIES and value.strip() and not value.strip().upper().startswith("P"):
                yield Source(node_id, prop, value, "eval")
        for definition in bpmn(node, "timerEventDefinition"):
            for child in definition:
                kind = TIMER_KINDS.get(local(child))
                if kind and text_of(child):
                    yield Source(node_id, kind, text_of(child), "eval")
        for definition in bpmn(node, "conditionalEventDefinition"):
            for condition in bpmn(definition, "condition"):
                if text_of(condition):
                    yield Source(node_id, N_("event condition"), text_of(condition), "eval")
        for definition in bpmn(node, "messageEventDefinition"):
            for payload in definition.iter(f"{S}messagePayload"):
                if text_of(payload):
                    yield Source(node_id, N_("message payload"), text_of(payload), "eval")
            for correlation in definition.iter(f"{S}processVariableCorrelation"):
                for expression in correlation.findall(f"{S}expression"):
                    if text_of(expression):
                        yield Source(node_id, N_("correlation"), text_of(expression), "eval")
        for loop in bpmn(node, "multiInstanceLoopCharacteristics"):
            for tag, what in (("loopCardinality", N_("loop cardinality")), ("completionCondition", N_("completion condition"))):
                for child in bpmn(loop, tag):
                    if text_of(child):
                        yield Source(node_id, what, text_of(child), "eval")
        for loop in bpmn(node, "standardLoopCharacteristics"):
            for child in bpmn(loop, "loopCondition"):
                if text_of(child):
                    yield Source(node_id, N_("loop condition"), text_of(child), "eval")


def names_set(code: str, mode: str) -> set[str]:
    """Variables a script assigns (they become task data)."""
    try:
        tree = ast.parse(code, mode=mode)
    except SyntaxError:
        return set()
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            found.add(node.id)
    # Names bound only inside comprehensions or functions do not reach the task data; close enough:
    # an over-approximation only makes the DMN input rule more lenient.
    return found


def names_read(code: str, mode: str = "eval") -> set[str]:
    """Top-level variables an expression reads (minus those it binds itself)."""
    try:
        tree = ast.parse(code, mode=mode)
    except SyntaxError:
        return set()
    loads, stores = set(), set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            (loads if isinstance(node.ctx, ast.Load) else stores).add(node.id)
        elif isinstance(node, ast.arg):
            stores.add(node.arg)
    return loads - stores
