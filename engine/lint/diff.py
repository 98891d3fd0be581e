"""Compare two versions of a case type's model: what an owner changed, element by element.

BPMN elements are matched by id (the modeler keeps ids stable), forms by file name and field,
decision tables by decision id and rule id. The diagram layout (DI) is ignored: moving a box is
not a change of the case type. Each change says what changed in words an owner knows ("condition",
"form", "lane") and whether it can change how a case runs (`runtime`), which is what decides
whether a running case can move to the new version.
"""
from __future__ import annotations

import json
from collections.abc import Mapping

from lxml import etree

from .findings import N_
from .forms import field_names
from .model import BPMN_NS, SPIFF_NS, lane_of, local, text_of

S = f"{{{SPIFF_NS}}}"
B = f"{{{BPMN_NS}}}"
# Elements compared one by one (processes and definitions are containers, shown through their parts).
COMPARED = {"startEvent", "endEvent", "intermediateCatchEvent", "intermediateThrowEvent", "boundaryEvent",
            "task", "userTask", "manualTask", "scriptTask", "serviceTask", "sendTask", "receiveTask",
            "businessRuleTask", "callActivity", "subProcess", "transaction", "adHocSubProcess",
            "exclusiveGateway", "inclusiveGateway", "parallelGateway", "eventBasedGateway", "complexGateway",
            "sequenceFlow", "lane", "message", "dataObject", "dataObjectReference"}
COSMETIC = {"name", "documentation", "instructions"}  # labels, not msgids
LABELS = {
    "@name": N_("name"), "@default": N_("default flow"), "@sourceRef": N_("from"), "@targetRef": N_("to"),
    "@calledElement": N_("called building block"), "@attachedToRef": N_("attached to"), "@cancelActivity": N_("interrupting"),
    "@messageRef": N_("message"), "conditionExpression": N_("condition"), "script": N_("script"),
    "property:formJsonSchemaFilename": N_("form"), "property:dueIn": N_("due in"), "property:followUpIn": N_("follow up in"),
    "instructionsForEndUser": N_("instructions"), "calledDecisionId": N_("decision table"), "preScript": N_("pre-script"),
    "postScript": N_("post-script"), "timerEventDefinition": N_("timer"), "messageEventDefinition": N_("message"),
    "multiInstanceLoopCharacteristics": N_("repetition"), "standardLoopCharacteristics": N_("loop"),
    "documentation": N_("documentation"), "type": N_("kind of element"), "lane": N_("lane"),
}
SKIPPED_CHILDREN = {"incoming", "outgoing", "flowNodeRef", "childLaneSet"}


def _canonical(element) -> str:
    """An element's XML without formatting whitespace, for a stable comparison."""
    copy = etree.fromstring(etree.tostring(element))
    for node in copy.iter():
        if isinstance(node.tag, str):
            node.text = (node.text or "").strip() or None
            node.tail = None
    return etree.tostring(copy, method="c14n").decode()


def _aspects(element, lanes: dict) -> dict[str, str]:
    """What there is to compare on one element, as label -> text."""
    aspects = {"type": local(element)}
    for name, value in element.attrib.items():
        if name == "id" or name.startswith("{"):
            continue
        aspects[f"@{name}"] = value
    for child in element:
        name = local(child)
        if not name or name in SKIPPED_CHILDREN:
            continue
        if name == "extensionElements":
            for ext in child:
                ext_name = local(ext)
                if ext_name == "properties":
                    for prop in ext:
                        if local(prop) == "property" and prop.get("name"):
                            aspects[f"property:{prop.get('name')}"] = prop.get("value", "")
                elif ext_name:
                    aspects[ext_name] = text_of(ext) if len(ext) == 0 else _canonical(ext)
        elif name in ("documentation", "script", "conditionExpression"):
            aspects[name] = text_of(child)
        else:
            aspects[name] = _canonical(child)
    if element.get("id") in lanes:
        aspects["lane"] = lanes[element.get("id")][1]
    return aspects


def _bpmn_elements(files: Mapping[str, bytes]) -> dict[str, dict]:
    parser = etree.XMLParser(resolve_entities=False, no_network=True)
    found: dict[str, dict] = {}
    for name in sorted(files):
        if not name.lower().endswith((".bpmn", ".bpmn20.xml")):
            continue
        try:
            root = etree.fromstring(files[name], parser)
        except etree.XMLSyntaxError:
            continue
        lanes: dict = {}
        for process in root.iter(f"{B}process"):
            lanes.update(lane_of(process))
        for element in root.iter():
            if local(element) in COMPARED and element.get("id"):
                found.setdefault(element.get("id"), {
                    "id": element.get("id"), "type": local(element), "name": element.get("name") or "",
                    "file": name, "aspects": _aspects(element, lanes)})
    return found


def compare_bpmn(old_files: Mapping[str, bytes], new_files: Mapping[str, bytes]) -> dict:
    old, new = _bpmn_elements(old_files), _bpmn_elements(new_files)

    def brief(item):
        return {"id": item["id"], "type": item["type"], "name": item["name"], "file": item["file"]}

    changed = []
    for element_id in sorted(set(old) & set(new)):
        before, after = old[element_id]["aspects"], new[element_id]["aspects"]
        changes = []
        for key in sorted(set(before) | set(after)):
            if before.get(key) != after.get(key):
                label = LABELS.get(key, key.lstrip("@").replace("property:", ""))
                changes.append({"what": label, "old": before.get(key), "new": after.get(key),
                                "runtime": label not in COSMETIC})
        if changes:
            changed.append({**brief(new[element_id]), "changes": changes,
                            "runtime": any(c["runtime"] for c in changes)})
    return {"added": [brief(new[i]) for i in sorted(set(new) - set(old))],
            "removed": [brief(old[i]) for i in sorted(set(old) - set(new))],
            "changed": changed}


# ------------------------------------------------------------------------------------------- forms

def _forms(files: Mapping[str, bytes]) -> dict[str, dict | None]:
    found = {}
    for name, content in files.items():
        if name.lower().endswith(".json"):
            try:
                schema = json.loads(content)
            except (ValueError, UnicodeDecodeError):
                schema = None
            found[name.rsplit("/", 1)[-1]] = schema if isinstance(schema, dict) else None
    return found


def _fields(schema: dict) -> dict[str, dict]:
    fields = {}
    stack = [schema]
    while stack:
        current = stack.pop()
        if not isinstance(current, dict):
            continue
        for key, value in (current.get("properties") or {}).items():
            if isinstance(value, dict):
                fields.setdefault(key, {}).update(value)
        for key in ("then", "else"):
            stack.append(current.get(key))
        for key in ("allOf", "anyOf", "oneOf"):
            stack.extend(current.get(key) or [])
    return fields


def _short(value) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True) if value is not None else None


def compare_forms(old_files: Mapping[str, bytes], new_files: Mapping[str, bytes]) -> list[dict]:
    old, new = _forms(old_files), _forms(new_files)
    result = []
    for form in sorted(set(old) | set(new)):
        if form not in new:
            result.append({"form": form, "status": "removed"})
            continue
        if form not in old:
            result.append({"form": form, "status": "added", "fields": sorted(field_names(new[form] or {}))})
            continue
        if old[form] == new[form]:
            continue
        if old[form] is None or new[form] is None:
            result.append({"form": form, "status": "changed", "added": [], "removed": [], "changed": [],
                           "other": [{"what": "file", "old": "(not JSON)" if old[form] is None else "JSON",
                                      "new": "(not JSON)" if new[form] is None else "JSON"}]})
            continue
        before, after = _fields(old[form]), _fields(new[form])
        required_before = set(old[form].get("required") or [])
        required_after = set(new[form].get("required") or [])
        changed = []
        for field in sorted(set(before) & set(after)):
            changes = [{"what": key, "old": _short(before[field].get(key)), "new": _short(after[field].get(key))}
                       for key in sorted(set(before[field]) | set(after[field]))
                       if before[field].get(key) != after[field].get(key)]
            if (field in required_before) != (field in required_after):
                changes.append({"what": "required", "old": str(field in required_before).lower(),
                                "new": str(field in required_after).lower()})
            if changes:
                changed.append({"field": field, "changes": changes})
        other = [{"what": key, "old": _short(old[form].get(key)), "new": _short(new[form].get(key))}
                 for key in sorted(set(old[form]) | set(new[form]))
                 if key not in ("properties", "required") and old[form].get(key) != new[form].get(key)]
        result.append({"form": form, "status": "changed", "added": sorted(set(after) - set(before)),
                       "removed": sorted(set(before) - set(after)), "changed": changed, "other": other})
    return result


# --------------------------------------------------------------------------------------- decisions

def _tables(files: Mapping[str, bytes]) -> dict[str, dict]:
    parser = etree.XMLParser(resolve_entities=False, no_network=True)
    found = {}
    for name, content in files.items():
        if not name.lower().endswith(".dmn"):
            continue
        try:
            root = etree.fromstring(content, parser)
        except etree.XMLSyntaxError:
            continue
        for decision in root:
            if local(decision) != "decision":
                continue
            table = next((c for c in decision if local(c) == "decisionTable"), None)
            if table is None:
                continue
            columns = []
            for column in table:
                kind = local(column)
                if kind == "input":
                    expression = next((c for c in column if local(c) == "inputExpression"), None)
                    text = next((text_of(t) for t in expression if local(t) == "text"), "") if expression is not None else ""
                    columns.append({"id": column.get("id"), "kind": "input", "label": column.get("label") or text,
                                    "expression": text})
                elif kind == "output":
                    columns.append({"id": column.get("id"), "kind": "output",
                                    "label": column.get("label") or column.get("name") or "",
                                    "expression": column.get("name") or ""})
            rules = {}
            for number, rule in enumerate((c for c in table if local(c) == "rule"), start=1):
                cells = [next((text_of(t) for t in entry if local(t) == "text"), "")
                         for entry in rule if local(entry) in ("inputEntry", "outputEntry")]
                description = next((text_of(c) for c in rule if local(c) == "description"), "")
                rules[rule.get("id") or f"row {number}"] = {"row": number, "cells": cells, "description": description}
            found[decision.get("id")] = {"file": name, "name": decision.get("name") or decision.get("id"),
                                         "hit_policy": table.get("hitPolicy", "UNIQUE"), "columns": columns,
                                         "rules": rules}
    return found


def compare_decisions(old_files: Mapping[str, bytes], new_files: Mapping[str, bytes]) -> list[dict]:
    old, new = _tables(old_files), _tables(new_files)
    result = []
    for decision in sorted(set(old) | set(new)):
        if decision not in new:
            result.append({"decision": decision, "name": old[decision]["name"], "status": "removed"})
            continue
        if decision not in old:
            result.append({"decision": decision, "name": new[decision]["name"], "status": "added",
                           "rules": len(new[decision]["rules"])})
            continue
        before, after = old[decision], new[decision]
        labels = [c["label"] for c in after["columns"]]
        columns = []
        old_columns = {c["id"]: c for c in before["columns"]}
        new_columns = {c["id"]: c for c in after["columns"]}
        for column_id in sorted(set(old_columns) | set(new_columns), key=str):
            a, b = old_columns.get(column_id), new_columns.get(column_id)
            if a != b:
                columns.append({"column": (b or a)["label"], "status": "added" if a is None else
                                "removed" if b is None else "changed",
                                "old": a and a["expression"], "new": b and b["expression"]})
        changed = []
        for rule_id in [r for r in after["rules"] if r in before["rules"]]:
            a, b = before["rules"][rule_id], after["rules"][rule_id]
            if a["cells"] == b["cells"] and a["description"] == b["description"]:
                continue
            cells = [{"column": labels[i] if i < len(labels) else f"#{i + 1}",
                      "old": a["cells"][i] if i < len(a["cells"]) else None,
                      "new": b["cells"][i] if i < len(b["cells"]) else None}
                     for i in range(max(len(a["cells"]), len(b["cells"])))
                     if (a["cells"][i] if i < len(a["cells"]) else None) != (b["cells"][i] if i < len(b["cells"]) else None)]
            if a["description"] != b["description"]:
                cells.append({"column": "description", "old": a["description"], "new": b["description"]})
            changed.append({"rule": rule_id, "row": b["row"], "cells": cells})
        added = [{"rule": r, "row": after["rules"][r]["row"], "cells": after["rules"][r]["cells"]}
                 for r in after["rules"] if r not in before["rules"]]
        removed = [{"rule": r, "row": before["rules"][r]["row"], "cells": before["rules"][r]["cells"]}
                   for r in before["rules"] if r not in after["rules"]]
        hit_policy = None if before["hit_policy"] == after["hit_policy"] else \
            {"old": before["hit_policy"], "new": after["hit_policy"]}
        if added or removed or changed or columns or hit_policy:
            result.append({"decision": decision, "name": after["name"], "status": "changed", "columns": columns,
                           "added": added, "removed": removed, "changed": changed, "hit_policy": hit_policy})
    return result


def compare_models(old_files: Mapping[str, bytes], new_files: Mapping[str, bytes]) -> dict:
    """Everything that differs between two versions' files."""
    return {
        "files": {"added": sorted(set(new_files) - set(old_files)),
                  "removed": sorted(set(old_files) - set(new_files)),
                  "changed": sorted(n for n in set(old_files) & set(new_files) if old_files[n] != new_files[n])},
        "bpmn": compare_bpmn(old_files, new_files),
        "forms": compare_forms(old_files, new_files),
        "decisions": compare_decisions(old_files, new_files),
    }
