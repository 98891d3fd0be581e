"""The model files as the linter sees them: XML documents indexed by id, and the flow graph."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from lxml import etree

from ..runtime.parsing import file_kind

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
SPIFF_NS = "http://spiffworkflow.org/bpmn/schema/1.0/core"
NS = {"bpmn": BPMN_NS, "spiffworkflow": SPIFF_NS}

ACTIVITIES = {"task", "userTask", "manualTask", "scriptTask", "serviceTask", "sendTask", "receiveTask",
              "businessRuleTask", "callActivity", "subProcess", "transaction", "adHocSubProcess"}
GATEWAYS = {"exclusiveGateway", "inclusiveGateway", "parallelGateway", "eventBasedGateway", "complexGateway"}
EVENTS = {"startEvent", "endEvent", "intermediateCatchEvent", "intermediateThrowEvent", "boundaryEvent"}
FLOW_NODES = ACTIVITIES | GATEWAYS | EVENTS
CONTAINERS = {"process", "subProcess", "transaction", "adHocSubProcess"}
HUMAN_TASKS = {"userTask", "manualTask"}


def local(element) -> str:
    return etree.QName(element).localname if isinstance(element.tag, str) else ""


def bpmn(element, name: str) -> list:
    """Direct children of `element` named bpmn:`name`."""
    return element.findall(f"{{{BPMN_NS}}}{name}")


def text_of(element) -> str:
    return (element.text or "").strip() if element is not None else ""


@dataclass
class Container:
    """A process or an embedded subprocess: its flow nodes and sequence flows."""

    element: object
    file: str
    process_id: str
    nodes: dict = field(default_factory=dict)       # id -> element
    flows: dict = field(default_factory=dict)       # id -> element
    outgoing: dict = field(default_factory=dict)    # node id -> [flow element]
    incoming: dict = field(default_factory=dict)    # node id -> [flow element]

    @property
    def id(self) -> str:
        return self.element.get("id", "")

    @property
    def is_event_subprocess(self) -> bool:
        return self.element.get("triggeredByEvent") == "true"


@dataclass
class ModelIndex:
    """Every BPMN and DMN document of a version, indexed for the rules."""

    bpmn_docs: dict = field(default_factory=dict)   # file -> root
    dmn_docs: dict = field(default_factory=dict)    # file -> root
    forms: dict = field(default_factory=dict)       # file -> bytes
    broken: dict = field(default_factory=dict)      # file -> reason (not well-formed XML)
    processes: dict = field(default_factory=dict)   # process id -> (file, element)
    collaborations: dict = field(default_factory=dict)
    messages: dict = field(default_factory=dict)    # message id -> (file, element)
    decisions: dict = field(default_factory=dict)   # decision id -> (file, element)
    element_files: dict = field(default_factory=dict)

    def file_of(self, element_id: str | None) -> str | None:
        return self.element_files.get(element_id) if element_id else None

    def containers(self, process_id: str) -> list[Container]:
        """The process and every subprocess nested in it, each with its own graph."""
        found = self.processes.get(process_id)
        if not found:
            return []
        file, element = found
        result = []
        stack = [element]
        while stack:
            current = stack.pop()
            container = Container(current, file, process_id)
            for child in current:
                name = local(child)
                if name in FLOW_NODES:
                    container.nodes[child.get("id")] = child
                    if name in CONTAINERS:
                        stack.append(child)
                elif name == "sequenceFlow":
                    container.flows[child.get("id")] = child
                    container.outgoing.setdefault(child.get("sourceRef"), []).append(child)
                    container.incoming.setdefault(child.get("targetRef"), []).append(child)
            result.append(container)
        return result

    def called_processes(self, entry: list[str]) -> list[str]:
        """The entry processes and, transitively, the processes their call activities call."""
        seen, order, stack = set(), [], list(entry)
        while stack:
            process_id = stack.pop(0)
            if process_id in seen or process_id not in self.processes:
                continue
            seen.add(process_id)
            order.append(process_id)
            for container in self.containers(process_id):
                for node in container.nodes.values():
                    if local(node) == "callActivity" and node.get("calledElement"):
                        stack.append(node.get("calledElement"))
        return order

    def entry_processes(self, process_id: str) -> list[str]:
        """`process_id` names a process, or a collaboration whose participants run together."""
        if process_id in self.processes:
            return [process_id]
        collaboration = self.collaborations.get(process_id)
        if collaboration is None:
            return []
        return [p.get("processRef") for p in bpmn(collaboration[1], "participant")
                if p.get("processRef") in self.processes]


def build_index(files: Mapping[str, bytes]) -> ModelIndex:
    index = ModelIndex()
    parser = etree.XMLParser(resolve_entities=False, no_network=True)
    for name in sorted(files):
        try:
            kind = file_kind(name)
        except Exception:  # noqa: BLE001 - reported by the parse rule
            continue
        if kind == "form":
            index.forms[name] = files[name]
            continue
        try:
            root = etree.fromstring(files[name], parser)
        except etree.XMLSyntaxError as err:
            index.broken[name] = f"{err.msg} (line {err.lineno})"
            continue
        if kind == "dmn":
            index.dmn_docs[name] = root
            for decision in root:
                if local(decision) == "decision" and decision.get("id"):
                    index.decisions.setdefault(decision.get("id"), (name, decision))
        else:
            index.bpmn_docs[name] = root
            for child in root:
                if local(child) == "process" and child.get("id"):
                    index.processes.setdefault(child.get("id"), (name, child))
                elif local(child) == "collaboration" and child.get("id"):
                    index.collaborations.setdefault(child.get("id"), (name, child))
                elif local(child) == "message" and child.get("id"):
                    index.messages.setdefault(child.get("id"), (name, child))
        for element in root.iter():
            if isinstance(element.tag, str) and element.get("id"):
                index.element_files.setdefault(element.get("id"), name)
    return index


def lane_of(process_element) -> dict[str, tuple[str, str]]:
    """Flow node id -> (lane id, lane name), the innermost lane that lists the node."""
    lanes: dict[str, tuple[str, str]] = {}

    def walk(lane_set, depth):
        for lane in bpmn(lane_set, "lane"):
            for ref in bpmn(lane, "flowNodeRef"):
                node_id = text_of(ref)
                if node_id and (node_id not in lanes or lanes[node_id][2] < depth):
                    lanes[node_id] = (lane.get("id", ""), lane.get("name") or lane.get("id", ""), depth)
            for child_set in bpmn(lane, "childLaneSet"):
                walk(child_set, depth + 1)

    for lane_set in bpmn(process_element, "laneSet"):
        walk(lane_set, 0)
    return {node: (lane_id, name) for node, (lane_id, name, _depth) in lanes.items()}
