"""Decision-table rules: tables parse, cells compile in the sandbox, inputs exist in the case data."""
from __future__ import annotations

import re
from collections.abc import Iterator

from ..runtime.sandbox import check_source
from .expressions import names_read
from .findings import ERROR, WARNING, Finding, N_
from .model import local, text_of

_QUESTION_MARK = re.compile(r'(\?)(?=(?:[^\'"]|[\'"][^\'"]*[\'"])*$)')


def _children(element, name: str) -> list:
    return [c for c in element if local(c) == name]


def _text(element) -> str:
    found = _children(element, "text")
    return text_of(found[0]) if found else ""


def input_cell_expression(input_expression: str, cell: str) -> str | None:
    """The Python SpiffWorkflow evaluates for an input cell (DMNEngine.evaluate), None for '-'."""
    if not cell or cell == "-":
        return None
    if _QUESTION_MARK.search(cell):
        return _QUESTION_MARK.sub("dmninputexpr", cell)
    if not check_source(cell, "eval"):
        return f"({input_expression}) == ({cell})"
    return f"{input_expression}{cell}"


def tables(root) -> Iterator[tuple[object, object]]:
    for decision in root:
        if local(decision) == "decision":
            for table in _children(decision, "decisionTable"):
                yield decision, table


def check_document(name: str, root) -> Iterator[Finding]:
    """Structure and cells of one DMN file."""
    decisions = [d for d in root if local(d) == "decision"]
    if not decisions:
        yield Finding(ERROR, "dmn-parse", N_("The file holds no decision with a decision table."), file=name)
        return
    if len(decisions) > 1:
        yield Finding(ERROR, "dmn-parse",
                      N_("The file holds %(count)s decisions; put one decision table in each DMN file."),
                      {"count": len(decisions)}, element=decisions[1].get("id"), file=name)
    for decision in decisions:
        found = _children(decision, "decisionTable")
        if not found:
            yield Finding(ERROR, "dmn-parse", N_("Decision '%(decision)s' has no decision table."),
                          {"decision": decision.get("id")}, element=decision.get("id"), file=name)
    for decision, table in tables(root):
        inputs = _children(table, "input")
        outputs = _children(table, "output")
        input_texts = []
        for column in inputs:
            expression = next(iter(_children(column, "inputExpression")), None)
            text = _text(expression) if expression is not None else ""
            input_texts.append(text)
            where = column.get("id") or decision.get("id")
            if not text:
                yield Finding(ERROR, "dmn-parse", N_("Input column '%(label)s' has no input expression."),
                              {"label": column.get("label") or where}, element=where, file=name)
                continue
            for problem in check_source(text, "eval"):
                yield Finding(ERROR, "expression",
                              N_("The input expression of column '%(label)s' cannot be used: %(problem)s"),
                              {"label": column.get("label") or where, "problem": problem}, element=where, file=name)
        for column in outputs:
            if not column.get("name"):
                yield Finding(ERROR, "dmn-parse",
                              N_("Output column '%(label)s' has no name, so its result cannot be stored."),
                              {"label": column.get("label") or column.get("id")}, element=column.get("id"),
                              file=name)
        for number, rule in enumerate(_children(table, "rule"), start=1):
            rule_id = rule.get("id") or decision.get("id")
            entries = _children(rule, "inputEntry")
            results = _children(rule, "outputEntry")
            if len(entries) != len(inputs) or len(results) != len(outputs):
                yield Finding(ERROR, "dmn-parse",
                              N_("Row %(row)s has %(got)s cells; the table has %(want)s columns."),
                              {"row": number, "got": len(entries) + len(results), "want": len(inputs) + len(outputs)},
                              element=rule_id, file=name)
                continue
            for entry, input_text in zip(entries, input_texts):
                code = input_cell_expression(input_text or "None", _text(entry))
                if code is None:
                    continue
                for problem in check_source(code, "eval"):
                    yield Finding(ERROR, "expression",
                                  N_("Row %(row)s: the cell '%(cell)s' cannot be used: %(problem)s"),
                                  {"row": number, "cell": _text(entry), "problem": problem},
                                  element=entry.get("id") or rule_id, file=name)
            for entry in results:
                cell = _text(entry)
                if not cell:
                    continue
                for problem in check_source(cell, "eval"):
                    yield Finding(ERROR, "expression",
                                  N_("Row %(row)s: the result '%(cell)s' cannot be used: %(problem)s"),
                                  {"row": number, "cell": cell, "problem": problem},
                                  element=entry.get("id") or rule_id, file=name)


def output_names(root) -> set[str]:
    return {column.get("name") for _decision, table in tables(root)
            for column in _children(table, "output") if column.get("name")}


def check_inputs(name: str, root, known: set[str], open_sources: list[str]) -> Iterator[Finding]:
    """Every variable an input expression reads must be something the case's data can hold.

    `known` holds form fields, script results and other decision outputs; `open_sources` names
    places whose data keys cannot be known (a message payload merged as a whole): with any, a
    missing name is only a warning.
    """
    for decision, table in tables(root):
        for column in _children(table, "input"):
            expression = next(iter(_children(column, "inputExpression")), None)
            text = _text(expression) if expression is not None else ""
            for variable in sorted(names_read(text) - known):
                params = {"label": column.get("label") or column.get("id"), "variable": variable,
                          "decision": decision.get("id")}
                if open_sources:
                    params["sources"] = ", ".join(open_sources)
                    yield Finding(WARNING, "dmn-input-unknown",
                                  N_("Input column '%(label)s' reads '%(variable)s', which no form field, script "
                                     "or decision sets; it can only come from %(sources)s."),
                                  params, element=column.get("id") or decision.get("id"), file=name)
                else:
                    yield Finding(ERROR, "dmn-input-unknown",
                                  N_("Input column '%(label)s' reads '%(variable)s', which no form field, script "
                                     "or decision sets: the decision would fail when a case reaches it."),
                                  params, element=column.get("id") or decision.get("id"), file=name)
