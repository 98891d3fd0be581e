"""The case-type linter: every rule a model must pass before it may be published.

Rules work on the XML (so one broken element does not hide the others) and, where the engine's
own view matters (does it parse, can a path skip the GDPR review), on the parsed spec. Each
finding names its rule, the element and the file; errors block publishing, warnings must be
acknowledged by an owner.
"""
from __future__ import annotations

import ast
from collections.abc import Iterable, Mapping

from jinja2 import TemplateSyntaxError
from jinja2.sandbox import ImmutableSandboxedEnvironment
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition

from ..errors import ModelError
from ..runtime.checks import ends_reachable_without_gdpr_review
from ..runtime.parsing import GDPR_REVIEW_PROCESS, detect_dialect, parse_model
from ..runtime.sandbox import BUILTINS, MODULES, check_source
from ..runtime.service_handlers import operator_names
from . import dmn, forms
from .expressions import Source, names_set, properties, sources
from .findings import ERROR, WARNING, Finding, N_, sort_findings
from .model import (BPMN_NS, HUMAN_TASKS, SPIFF_NS, Container, ModelIndex, bpmn, build_index, lane_of,
                    local, text_of)

S = f"{{{SPIFF_NS}}}"
B = f"{{{BPMN_NS}}}"
CASE_DATA = {"case", "caseworker"}
_TEMPLATES = ImmutableSandboxedEnvironment()


def lint_model(files: Mapping[str, bytes], metadata: Mapping, known_groups: Iterable[str] | None = None) -> list[Finding]:
    """All findings for a version's files under the case type's metadata (process id, start form,
    lanes). `known_groups`, when given, lets lanes mapped to a group that does not exist be caught."""
    linter = _Linter(files, metadata, None if known_groups is None else set(known_groups))
    linter.run()
    return sort_findings(_dedupe(linter.findings))


def _dedupe(findings: list[Finding]) -> list[Finding]:
    seen, result = set(), []
    for finding in findings:
        key = (finding.rule, finding.file, finding.element, finding.message)
        if key not in seen:
            seen.add(key)
            result.append(finding)
    return result


class _Linter:
    def __init__(self, files: Mapping[str, bytes], metadata: Mapping, known_groups: set[str] | None):
        self.files = files
        self.metadata = metadata
        self.known_groups = known_groups
        self.lanes = metadata.get("lanes") or {}
        self.index: ModelIndex = build_index(files)
        self.findings: list[Finding] = []
        self.used_forms: set[str] = set()
        self.script_names: set[str] = set()
        self.data_names: set[str] = set()

    def add(self, severity: str, rule: str, template: str, element: str | None = None, file: str | None = None,
            **params) -> None:
        self.findings.append(Finding(severity, rule, template, params, element,
                                     file or self.index.file_of(element)))

    # --------------------------------------------------------------------------------- the run

    def run(self) -> None:
        for name, reason in self.index.broken.items():
            self.add(ERROR, "parse", N_("The file is not well-formed XML: %(problem)s"), file=name, problem=reason)
        process_id = self.metadata.get("process_id") or ""
        entry = self.index.entry_processes(process_id)
        if not entry:
            self.add(ERROR, "process-missing",
                     N_("No process or collaboration has the id '%(process)s' that the case type starts."),
                     process=process_id)
        for pid in entry:
            file, element = self.index.processes[pid]
            if element.get("isExecutable") == "false":
                self.add(ERROR, "process-not-executable",
                         N_("Process '%(process)s' is marked as not executable, so no case can run it. "
                            "Tick 'executable' on the process."), element=pid, file=file, process=pid)
        form_schemas = self.check_forms()
        for pid in self.index.called_processes(entry):
            skip: set[str] = set()
            for container in self.index.containers(pid):
                if container.id in skip:
                    skip.update(container.nodes)
                    continue
                unreachable = self.check_reachable(container)
                skip.update(unreachable)
                self.check_dead_ends(container)
                self.check_gateways(container)
                self.check_calls(container)
                self.check_lanes(container, pid)
                self.check_user_tasks(container, form_schemas)
                self.check_messages(container)
                self.check_service_tasks(container)
                self.check_sources(container)
        self.check_lane_mapping()
        self.check_start_form(form_schemas)
        self.check_unused_forms(form_schemas)
        self.check_decisions(form_schemas)
        self.check_parse_and_gdpr(process_id)

    # ------------------------------------------------------------------------------- structure

    def check_reachable(self, container: Container) -> set[str]:
        nodes = container.nodes
        starts = [i for i, n in nodes.items() if local(n) == "startEvent"]
        if local(container.element) == "adHocSubProcess":
            starts = [i for i in nodes if i not in container.incoming]
        attached: dict[str, list[str]] = {}
        links: dict[str, list[str]] = {}
        for node_id, node in nodes.items():
            if local(node) == "boundaryEvent":
                attached.setdefault(node.get("attachedToRef"), []).append(node_id)
            if local(node) == "intermediateCatchEvent":
                for link in bpmn(node, "linkEventDefinition"):
                    links.setdefault(link.get("name"), []).append(node_id)
        seen, stack = set(starts), list(starts)
        while stack:
            current = stack.pop()
            following = [flow.get("targetRef") for flow in container.outgoing.get(current, [])]
            following += attached.get(current, [])
            if local(nodes.get(current)) == "intermediateThrowEvent":
                for link in bpmn(nodes[current], "linkEventDefinition"):
                    following += links.get(link.get("name"), [])
            for target in following:
                if target in nodes and target not in seen:
                    seen.add(target)
                    stack.append(target)
        unreachable = set()
        for node_id, node in nodes.items():
            if node_id in seen or node.get("isForCompensation") == "true" or node.get("triggeredByEvent") == "true":
                continue
            unreachable.add(node_id)
            self.add(ERROR, "unreachable",
                     N_("'%(name)s' can never be reached: no path from the start event leads to it. "
                        "Connect it with a sequence flow or remove it."),
                     element=node_id, file=container.file, name=node.get("name") or node_id)
        return unreachable

    def check_dead_ends(self, container: Container) -> None:
        if local(container.element) == "adHocSubProcess":
            return
        for node_id, node in container.nodes.items():
            name = local(node)
            if name == "endEvent" or node.get("isForCompensation") == "true" or container.outgoing.get(node_id):
                continue
            if name == "boundaryEvent" and any(bpmn(node, "compensateEventDefinition")):
                continue
            self.add(ERROR, "dead-end",
                     N_("'%(name)s' has no outgoing sequence flow: a case would stop there without "
                        "reaching an end event. Connect it to the next step."),
                     element=node_id, file=container.file, name=node.get("name") or node_id)

    def check_gateways(self, container: Container) -> None:
        for node_id, node in container.nodes.items():
            if local(node) not in ("exclusiveGateway", "inclusiveGateway"):
                continue
            outgoing = container.outgoing.get(node_id, [])
            if len(outgoing) < 2:
                continue
            label = node.get("name") or node_id
            default = node.get("default")
            ids = {flow.get("id") for flow in outgoing}
            if default and default not in ids:
                self.add(ERROR, "gateway-default",
                         N_("Gateway '%(name)s' names '%(flow)s' as its default flow, but that flow does "
                            "not leave the gateway."), element=node_id, file=container.file, name=label, flow=default)
                default = None
            for flow in outgoing:
                flow_id = flow.get("id")
                condition = "".join(text_of(c) for c in bpmn(flow, "conditionExpression"))
                target = container.nodes.get(flow.get("targetRef"))
                target_name = (target.get("name") if target is not None else None) or flow.get("targetRef")
                if flow_id == default:
                    if condition:
                        self.add(WARNING, "gateway-default-condition",
                                 N_("The default flow from gateway '%(name)s' to '%(target)s' has a condition, "
                                    "which is never evaluated: the default is taken when no other condition "
                                    "holds."), element=flow_id, file=container.file, name=label, target=target_name)
                elif not condition:
                    self.add(ERROR, "gateway-condition",
                             N_("The flow from gateway '%(name)s' to '%(target)s' has no condition. Give it a "
                                "condition or make it the gateway's default flow."),
                             element=flow_id, file=container.file, name=label, target=target_name)
            if not default:
                self.add(WARNING, "gateway-default-missing",
                         N_("Gateway '%(name)s' has no default flow: when none of its conditions holds, the "
                            "case stops with an error."), element=node_id, file=container.file, name=label)

    def check_calls(self, container: Container) -> None:
        for node_id, node in container.nodes.items():
            kind = local(node)
            if kind == "callActivity":
                called = node.get("calledElement") or ""
                if called not in self.index.processes:
                    known = sorted(p for p in self.index.processes if p not in self.index.entry_processes(
                        self.metadata.get("process_id") or ""))
                    self.add(ERROR, "call-unknown",
                             N_("'%(name)s' calls the building block '%(called)s', which does not exist. "
                                "Known building blocks: %(known)s."),
                             element=node_id, file=container.file, name=node.get("name") or node_id,
                             called=called or "(none)", known=", ".join(known) or "none")
            elif kind == "businessRuleTask":
                decision = "".join(text_of(d) for d in node.iter(f"{S}calledDecisionId"))
                if decision and decision not in self.index.decisions:
                    self.add(ERROR, "decision-unknown",
                             N_("'%(name)s' uses the decision table '%(decision)s', which is not among the "
                                "model's DMN files."), element=node_id, file=container.file,
                             name=node.get("name") or node_id, decision=decision)

    def check_lanes(self, container: Container, process_id: str) -> None:
        lanes = lane_of(self.index.processes[process_id][1])
        lanes.update(lane_of(container.element))
        for node_id, node in container.nodes.items():
            if local(node) not in HUMAN_TASKS:
                continue
            name = node.get("name") or node_id
            if node_id not in lanes:
                self.add(WARNING, "lane-missing",
                         N_("User task '%(name)s' is in no lane, so it goes to the case's caseworker. Put it "
                            "in a lane to give it to a group."), element=node_id, file=container.file, name=name)
                continue
            lane_id, lane = lanes[node_id]
            rule = self.lanes.get(lane)
            if not isinstance(rule, dict) or not (rule.get("group") or rule.get("expression")):
                self.add(ERROR, "lane-unmapped",
                         N_("User task '%(name)s' is in lane '%(lane)s', which the case type does not map to a "
                            "group or an assignment expression, so nobody would get the task. Map the lane "
                            "on the case type's page."), element=node_id, file=container.file, name=name, lane=lane)

    def check_lane_mapping(self) -> None:
        lane_ids = {}
        for pid in self.index.processes:
            for lane in self.index.processes[pid][1].iter(f"{B}lane"):
                lane_ids.setdefault(lane.get("name") or lane.get("id"), lane.get("id"))
        for lane, rule in sorted(self.lanes.items()):
            element = lane_ids.get(lane)
            if not isinstance(rule, dict):
                continue
            if rule.get("group") and self.known_groups is not None and rule["group"] not in self.known_groups:
                self.add(ERROR, "lane-group-unknown",
                         N_("Lane '%(lane)s' is mapped to the group '%(group)s', which does not exist."),
                         element=element, lane=lane, group=rule["group"])
            if rule.get("expression"):
                for problem in check_source(rule["expression"], "eval"):
                    self.add(ERROR, "expression",
                             N_("The assignment expression of lane '%(lane)s' cannot be used: %(problem)s"),
                             element=element, lane=lane, problem=problem)

    # ---------------------------------------------------------------------------- user tasks, forms

    def check_forms(self) -> dict[str, tuple[str, dict | None]]:
        """Form base name -> (file, schema or None when broken)."""
        schemas: dict[str, tuple[str, dict | None]] = {}
        for name, content in sorted(self.index.forms.items()):
            base = name.rsplit("/", 1)[-1]
            schema, problem = forms.load(name, content)
            if problem:
                self.findings.append(problem)
            else:
                problems = list(forms.check(name, schema))
                self.findings.extend(problems)
                if any(p.rule == "form-schema" for p in problems):
                    schema = None
            if base in schemas:
                self.add(ERROR, "form-duplicate",
                         N_("Two forms are named '%(form)s' (%(other)s); tasks refer to forms by name, so "
                            "names must be unique."), file=name, form=base, other=schemas[base][0])
                continue
            schemas[base] = (name, schema)
        return schemas

    def check_user_tasks(self, container: Container, form_schemas: dict) -> None:
        for node_id, node in container.nodes.items():
            props = properties(node)
            form = props.get("formJsonSchemaFilename")
            if form:
                self.used_forms.add(form)
                if form not in form_schemas:
                    self.add(ERROR, "form-missing",
                             N_("'%(name)s' uses the form '%(form)s', which is not among the model's forms."),
                             element=node_id, file=container.file, name=node.get("name") or node_id, form=form)
            for prop in ("dueIn", "followUpIn"):
                value = (props.get(prop) or "").strip()
                if value.upper().startswith("P") and not _valid_duration(value):
                    self.add(ERROR, "duration-invalid",
                             N_("%(property)s of '%(name)s' is '%(value)s', which is not an ISO 8601 duration "
                                "such as P7D (7 days) or PT4H (4 hours)."), element=node_id, file=container.file,
                             property=prop, name=node.get("name") or node_id, value=value)
            for instructions in node.iter(f"{S}instructionsForEndUser"):
                try:
                    _TEMPLATES.parse(instructions.text or "")
                except TemplateSyntaxError as err:
                    self.add(WARNING, "instructions-template",
                             N_("The instructions of '%(name)s' have a placeholder error on line %(line)s: "
                                "%(problem)s. They would be shown unfilled."), element=node_id,
                             file=container.file, name=node.get("name") or node_id, line=err.lineno,
                             problem=err.message)

    def check_start_form(self, form_schemas: dict) -> None:
        start_form = self.metadata.get("start_form")
        if start_form:
            self.used_forms.add(start_form)
            if start_form not in form_schemas:
                self.add(ERROR, "form-missing",
                         N_("The case type's start form '%(form)s' is not among the model's forms."), form=start_form)

    def check_unused_forms(self, form_schemas: dict) -> None:
        for base, (name, _schema) in sorted(form_schemas.items()):
            if base not in self.used_forms and not name.startswith("shared/"):
                self.add(WARNING, "form-unused", N_("No task and no start of a case uses the form '%(form)s'."),
                         file=name, form=base)

    # --------------------------------------------------------------------------------- messages

    def check_messages(self, container: Container) -> None:
        """A message the case waits for must carry a correlation key, and the waiting case must
        know its own value of that key; else a message meant for another case could be delivered
        to this one (messages are matched by name and correlation key, engine/services/cases.py).

        In the spiff dialect that is: the message has a bpmn:correlationProperty with a retrieval
        expression for it (how a delivered message states its key), and the waiting event has a
        spiffworkflow:processVariableCorrelation for the same property (how the case computes its
        value from its data, e.g. case["number"]) - or the case sent a message with that property
        before, which set the value.
        """
        properties_of = self._message_properties()
        thrown = self._thrown_properties(properties_of)
        for node_id, node in container.nodes.items():
            kind = local(node)
            if kind not in ("intermediateCatchEvent", "boundaryEvent", "receiveTask", "startEvent"):
                continue
            if kind == "startEvent" and container.element.get("triggeredByEvent") != "true":
                continue  # cases start from Sagsgang, not from a message
            definitions = bpmn(node, "messageEventDefinition")
            if kind == "receiveTask" and not definitions and node.get("messageRef"):
                definitions = [node]
            for definition in definitions:
                message_ref = definition.get("messageRef")
                name = node.get("name") or node_id
                if not message_ref or message_ref not in self.index.messages:
                    self.add(ERROR, "message-unknown",
                             N_("'%(name)s' waits for a message that is not defined (%(message)s). Choose a "
                                "message on the event."), element=node_id, file=container.file, name=name,
                             message=message_ref or "none")
                    continue
                message = self.index.messages[message_ref][1].get("name") or message_ref
                keys = properties_of.get(message_ref, set())
                if not keys:
                    self.add(ERROR, "message-correlation",
                             N_("'%(name)s' waits for the message '%(message)s', which has no correlation key, "
                                "so a message meant for another case could be delivered to this one. Give the "
                                "message a correlation property (e.g. case_number) that the sender fills in."),
                             element=node_id, file=container.file, name=name, message=message)
                    continue
                own = {text_of(p) for c in definition.iter(f"{S}processVariableCorrelation")
                       for p in c.findall(f"{S}propertyId")}
                if not (keys & own) and not (keys & thrown):
                    self.add(ERROR, "message-correlation",
                             N_("'%(name)s' waits for the message '%(message)s' but does not say which value of "
                                "its correlation key (%(keys)s) this case has. Add a correlation on the event, "
                                "e.g. %(key)s from the expression case[\"number\"]."),
                             element=node_id, file=container.file, name=name, message=message,
                             keys=", ".join(sorted(keys)), key=sorted(keys)[0])

    def _message_properties(self) -> dict[str, set[str]]:
        """Message id -> ids of the correlation properties with a retrieval expression for it."""
        found: dict[str, set[str]] = {}
        for root in self.index.bpmn_docs.values():
            for prop in root.iter(f"{B}correlationProperty"):
                for expression in prop.iter(f"{B}correlationPropertyRetrievalExpression"):
                    if expression.get("messageRef") and prop.get("id"):
                        found.setdefault(expression.get("messageRef"), set()).add(prop.get("id"))
        return found

    def _thrown_properties(self, properties_of: dict[str, set[str]]) -> set[str]:
        """Correlation properties of messages the model sends: sending one sets the case's value."""
        thrown: set[str] = set()
        for root in self.index.bpmn_docs.values():
            for node in root.iter():
                if local(node) in ("intermediateThrowEvent", "endEvent", "sendTask"):
                    for definition in bpmn(node, "messageEventDefinition") or [node]:
                        thrown |= properties_of.get(definition.get("messageRef"), set())
        return thrown

    # ------------------------------------------------------------------------------ service tasks

    def check_service_tasks(self, container: Container) -> None:
        """A service task's operator must be a handler this installation has; else the case would
        only find out when a worker runs the task, and then wait on an incident."""
        known = operator_names()
        for node_id, node in container.nodes.items():
            for operator in node.iter(f"{S}serviceTaskOperator"):
                name = operator.get("id") or ""
                if name not in known:
                    self.add(ERROR, "service-operator-unknown",
                             N_("Service task '%(name)s' calls the operator '%(operator)s', which this "
                                "installation does not have. Known operators: %(known)s."),
                             element=node_id, file=container.file, name=node.get("name") or node_id,
                             operator=name or "(none)", known=", ".join(known))

    # -------------------------------------------------------------------------------- expressions

    def check_sources(self, container: Container) -> None:
        for source in sources(container):
            problems = check_source(source.code, source.mode)
            node = container.nodes.get(source.element) if source.element in container.nodes else \
                container.flows.get(source.element)
            name = (node.get("name") if node is not None else None) or source.element
            for problem in problems:
                self.add(ERROR, "expression", N_("The %(what)s of '%(name)s' cannot be used: %(problem)s"),
                         element=source.element, file=container.file, what=source.what, name=name, problem=problem)
            if source.mode == "exec" and not problems:
                self.script_names |= names_set(source.code, "exec")
            if source.what.startswith("timer") and not problems:
                self._check_timer_literal(source, container, name)
        for node_id, node in container.nodes.items():
            for operator in node.iter(f"{S}serviceTaskOperator"):
                if operator.get("resultVariable"):
                    self.data_names.add(operator.get("resultVariable"))
            for variable in node.iter(f"{S}messageVariable"):
                if text_of(variable):
                    self.data_names.add(text_of(variable))
            for loop in bpmn(node, "multiInstanceLoopCharacteristics"):
                for item in loop:
                    if local(item) in ("inputDataItem", "outputDataItem") and item.get("name"):
                        self.data_names.add(item.get("name"))
                    if local(item) in ("loopDataOutputRef",) and text_of(item):
                        self.data_names.add(text_of(item))

    def _check_timer_literal(self, source: Source, container: Container, name: str) -> None:
        try:
            value = ast.literal_eval(source.code)
        except (ValueError, SyntaxError):
            return  # computed at run time from the case data
        if not isinstance(value, str):
            self.add(ERROR, "timer-invalid",
                     N_("The %(what)s of '%(name)s' must give text such as \"P7D\", not %(value)r."),
                     element=source.element, file=container.file, what=source.what, name=name, value=value)
            return
        try:
            if source.what == "timer duration":
                TimerEventDefinition.parse_iso_duration(value)
            elif source.what == "timer date":
                TimerEventDefinition.parse_time_or_duration(value)
            else:
                TimerEventDefinition.parse_iso_recurring_interval(value)
        except Exception:  # noqa: BLE001 - SpiffWorkflow raises bare Exception for bad intervals
            self.add(ERROR, "timer-invalid",
                     N_("The %(what)s of '%(name)s' is \"%(value)s\", which is not valid ISO 8601 (a duration "
                        "is written like \"P7D\" or \"PT2H\", a date like \"2026-12-24T12:00:00\")."),
                     element=source.element, file=container.file, what=source.what, name=name, value=value)

    # ------------------------------------------------------------------------------- decisions

    def check_decisions(self, form_schemas: dict) -> None:
        known = set(CASE_DATA) | set(MODULES) | set(BUILTINS) | self.script_names | self.data_names
        for _file, schema in form_schemas.values():
            if schema:
                known |= forms.field_names(schema)
        for root in self.index.dmn_docs.values():
            known |= dmn.output_names(root)
        open_sources = []
        if detect_dialect(self.files) == "camunda":
            open_sources = [f"message '{m[1].get('name') or mid}'" for mid, m in sorted(self.index.messages.items())]
        for name, root in sorted(self.index.dmn_docs.items()):
            problems = list(dmn.check_document(name, root))
            self.findings.extend(problems)
            if not any(p.rule == "dmn-parse" for p in problems):
                self.findings.extend(dmn.check_inputs(name, root, known, open_sources))

    # ---------------------------------------------------------------------------- parse and GDPR

    def check_parse_and_gdpr(self, process_id: str) -> None:
        if self.index.broken or not self.index.entry_processes(process_id):
            return  # already reported; SpiffWorkflow would only repeat it
        try:
            model = parse_model(self.files, process_id)
        except ModelError as err:
            if not any(f.severity == ERROR and f.element and f.element == err.element for f in self.findings):
                self.add(ERROR, "parse", N_("The workflow engine cannot read the model: %(problem)s"),
                         element=err.element, file=err.file, problem=err.reason)
            return
        for end in ends_reachable_without_gdpr_review(model.spec):
            self.add(ERROR, "gdpr-review-skipped",
                     N_("A path from the start reaches the end event '%(name)s' without passing the shared "
                        "GDPR review (a call activity calling '%(block)s'). Every path must pass it before "
                        "the case can close."), element=end, name=self._name_of(end), block=GDPR_REVIEW_PROCESS)

    def _name_of(self, element_id: str) -> str:
        file = self.index.file_of(element_id)
        root = self.index.bpmn_docs.get(file)
        if root is None:
            return element_id
        found = root.xpath("//*[@id=$id]", id=element_id)
        return (found[0].get("name") if found else None) or element_id


def _valid_duration(value: str) -> bool:
    try:
        TimerEventDefinition.parse_iso_duration(value)
        return True
    except Exception:  # noqa: BLE001 - SpiffWorkflow raises bare Exception
        return False
