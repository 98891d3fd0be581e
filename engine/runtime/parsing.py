"""Parse model files into SpiffWorkflow specs, once per content hash.

Every failure becomes a ModelError naming the file, the BPMN element and the reason, because
the people who read these errors are case-type owners, not developers.
"""
from __future__ import annotations

import hashlib
import json
import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from lxml import etree
from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError
from SpiffWorkflow.bpmn.parser.BpmnParser import BpmnValidator
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.camunda.parser import CamundaParser
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.spiff.parser.process import VALIDATOR as SPIFF_VALIDATOR

from ..errors import ModelError
from .plain_messages import use_plain_messages
from .service_tasks import SagsgangSpiffParser

BPMN_SUFFIXES = (".bpmn", ".bpmn20.xml")
DMN_NS_PREFIX = "http://www.omg.org/spec/DMN/"
CAMUNDA_NS = "http://camunda.org/schema/1.0/bpmn"
GDPR_REVIEW_PROCESS = "gdpr_review"


def file_kind(name: str) -> str:
    lower = name.lower()
    if lower.endswith(BPMN_SUFFIXES):
        return "bpmn"
    if lower.endswith(".dmn"):
        return "dmn"
    if lower.endswith(".json"):
        return "form"
    raise ModelError("unsupported file type (expected .bpmn, .dmn or .json)", file=name)


def content_hash(files: Mapping[str, bytes]) -> str:
    digest = hashlib.sha256()
    for name in sorted(files):
        digest.update(name.encode() + b"\0" + hashlib.sha256(files[name]).digest())
    return digest.hexdigest()


@dataclass(frozen=True)
class ParsedModel:
    content_hash: str
    process_id: str
    spec: object  # BpmnProcessSpec
    subprocess_specs: dict
    forms: dict = field(default_factory=dict)  # file name (basename) -> JSON Schema


def _xml(name: str, content: bytes):
    try:
        return etree.fromstring(content, etree.XMLParser(resolve_entities=False, no_network=True))
    except etree.XMLSyntaxError as err:
        raise ModelError(f"not well-formed XML: {err.msg} (line {err.lineno})", file=name) from err


def _check_dmn(name: str, root) -> None:
    """Refuse DMN that SpiffWorkflow would crash on, with the reason instead of a traceback."""
    if not (root.tag.startswith("{" + DMN_NS_PREFIX) or root.tag.startswith("{https://www.omg.org/spec/DMN/")):
        raise ModelError("not a DMN document (root element is not dmn:definitions)", file=name)
    ns = root.tag[1:].split("}")[0]
    decisions = root.findall(f"{{{ns}}}decision")
    if not decisions:
        found = sorted({etree.QName(child).localname for child in root
                        if isinstance(child.tag, str)} & {"decisionService", "businessKnowledgeModel"})
        extra = f" (found {', '.join(found)}, which Sagsgang does not evaluate)" if found else ""
        raise ModelError(f"no top-level decision with a decision table{extra}", file=name)
    if len(decisions) > 1:
        ids = ", ".join(d.get("id", "?") for d in decisions)
        raise ModelError(
            f"{len(decisions)} decisions in one file ({ids}): a decision requirements graph is not "
            "supported; put one decision table in each DMN file", file=name, element=decisions[0].get("id"))
    decision = decisions[0]
    table = decision.find(f"{{{ns}}}decisionTable")
    if table is None:
        kinds = sorted({etree.QName(c).localname for c in decision if isinstance(c.tag, str)})
        raise ModelError(f"decision has no decision table (it holds {', '.join(kinds) or 'nothing'})",
                         file=name, element=decision.get("id"))
    if not table.get("id"):
        raise ModelError("decision table has no id attribute", file=name, element=decision.get("id"))


_LXML_REPR = re.compile(r"<Element \{[^}]*\}(\w+) at 0x[0-9a-f]+>")


def _readable(message: str) -> str:
    """SpiffWorkflow sometimes puts an lxml element's repr in a message; say what it is instead."""
    return _LXML_REPR.sub(lambda m: f"<{m.group(1)}>", message)


def _model_error(err: Exception, default_file: str | None = None) -> ModelError:
    if isinstance(err, ModelError):
        return err
    if isinstance(err, ValidationException):
        element = err.id or (f"{err.tag} '{err.name}'" if err.name else err.tag) or None
        reason = _readable(str(err.args[0])) if err.args else err.__class__.__name__
        if err.line_number:
            reason += f" (line {err.line_number})"
        return ModelError(reason, file=err.file_name or default_file, element=element)
    if isinstance(err, SpiffWorkflowException):
        spec = getattr(err, "task_spec", None)
        return ModelError(str(err), file=default_file, element=getattr(spec, "bpmn_id", None))
    return ModelError(f"cannot be parsed: {err.__class__.__name__}: {err}", file=default_file)


SPIFF_NS = "http://spiffworkflow.org/bpmn/schema/1.0/core"


def _uses_namespace(root, namespace: str) -> bool:
    """True if an element or attribute of the namespace is used (not merely declared)."""
    prefix = "{" + namespace + "}"
    for element in root.iter():
        if isinstance(element.tag, str) and element.tag.startswith(prefix):
            return True
        if any(key.startswith(prefix) for key in element.attrib):
            return True
    return False


def detect_dialect(files: Mapping[str, bytes]) -> str:
    """'camunda' for models that use Camunda 7 extensions and none of SpiffWorkflow's, else 'spiff'."""
    camunda = False
    for name, content in files.items():
        if file_kind(name) != "bpmn":
            continue
        try:
            root = etree.fromstring(content, etree.XMLParser(resolve_entities=False, no_network=True))
        except etree.XMLSyntaxError:
            continue  # build_parser reports it with the file name
        if _uses_namespace(root, SPIFF_NS):
            return "spiff"
        camunda = camunda or _uses_namespace(root, CAMUNDA_NS)
    return "camunda" if camunda else "spiff"


def new_parser(dialect: str = "spiff", validate: bool = True):
    if dialect == "camunda":
        return CamundaParser(validator=BpmnValidator() if validate else None)
    return SagsgangSpiffParser(validator=SPIFF_VALIDATOR if validate else None)


def load_forms(files: Mapping[str, bytes]) -> dict:
    forms = {}
    for name, content in files.items():
        if file_kind(name) != "form":
            continue
        try:
            schema = json.loads(content)
        except (ValueError, UnicodeDecodeError) as err:
            raise ModelError(f"form is not valid JSON: {err}", file=name) from err
        if not isinstance(schema, dict):
            raise ModelError("form must be a JSON object (a JSON Schema)", file=name)
        key = name.rsplit("/", 1)[-1]
        if key in forms:
            raise ModelError(f"two forms are named '{key}'; user tasks refer to forms by file name, "
                             "so form names must be unique across the case type and the shared "
                             "building blocks", file=name)
        forms[key] = schema
    return forms


def check_form_schema(name: str, schema: dict) -> None:
    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as err:
        path = "/".join(str(p) for p in err.absolute_path) or "(root)"
        raise ModelError(f"form is not a valid JSON Schema at {path}: {err.message}", file=name) from err


# SpiffWorkflow names its own internal task specs so; a BPMN element with such an id replaces
# them and the workflow dies at start with "No output task connected".
RESERVED_IDS = ("Start", "End", "Root")


def _check_business_rule_tasks(name: str, root, dialect: str) -> None:
    """A business rule task must name its decision in the dialect's own way (SpiffWorkflow crashes
    with a KeyError or looks up the decision "None" otherwise)."""
    attribute = "{%s}decisionRef" % CAMUNDA_NS
    for task in root.iter("{http://www.omg.org/spec/BPMN/20100524/MODEL}businessRuleTask"):
        process = next((a for a in task.iterancestors() if etree.QName(a).localname == "process"), None)
        if process is not None and process.get("isExecutable") == "false":
            continue  # drawn, not run: its process is refused as not executable when asked to run
        if dialect == "camunda":
            ok = bool(task.get(attribute))
        else:
            ok = any(isinstance(c.tag, str) and etree.QName(c).localname == "calledDecisionId" and (c.text or "").strip()
                     for c in task.iter())
        if not ok:
            how = "camunda:decisionRef" if dialect == "camunda" else "spiffworkflow:calledDecisionId"
            raise ModelError(f"business rule task has no decision reference ({how})", file=name,
                             element=task.get("id") or task.get("name"))


def _check_reserved_ids(name: str, root) -> None:
    for element_id in RESERVED_IDS:
        hits = root.xpath(f'//*[@id="{element_id}"]')
        if hits:
            raise ModelError(f"the id '{element_id}' is reserved by the workflow engine; give the "
                             f"{etree.QName(hits[0]).localname} another id", file=name, element=element_id)


def build_parser(files: Mapping[str, bytes], dialect: str | None = None, validate: bool = True):
    """Load every file into a fresh parser; raises ModelError for the first bad file."""
    dialect = dialect or detect_dialect(files)
    parser = new_parser(dialect, validate)
    for name in sorted(files, key=lambda n: (file_kind(n) != "dmn", n)):
        kind = file_kind(name)
        if kind == "form":
            continue
        root = _xml(name, files[name])
        try:
            if kind == "dmn":
                _check_dmn(name, root)
                parser.add_dmn_xml(root, filename=name)
            else:
                _check_reserved_ids(name, root)
                _check_business_rule_tasks(name, root, dialect)
                parser.add_bpmn_xml(root, filename=name)
        except Exception as err:  # SpiffWorkflow raises anything from KeyError to TypeError
            raise _model_error(err, name) from err
    return parser


def parse_model(files: Mapping[str, bytes], process_id: str, dialect: str | None = None,
                validate: bool = True) -> ParsedModel:
    """Parse `files` and build the spec of `process_id` (a process, or a collaboration)."""
    dialect = dialect or detect_dialect(files)
    parser = build_parser(files, dialect, validate)
    try:
        if process_id in parser.collaborations:
            spec, subprocess_specs = parser.get_collaboration(process_id)
        else:
            spec = parser.get_spec(process_id)
            subprocess_specs = parser.get_subprocess_specs(process_id)
    except Exception as err:
        raise _model_error(err, _file_of(parser, process_id)) from err
    if dialect != "camunda":
        use_plain_messages(_all_task_specs(spec, subprocess_specs), _plain_files(files), _spec_file)
    forms = load_forms(files)
    for task_spec in _all_task_specs(spec, subprocess_specs):
        form = _form_name(task_spec)
        if form is None:
            continue
        if form not in forms:
            raise ModelError(f"user task refers to form '{form}', which is not among the files",
                             file=_spec_file(task_spec), element=task_spec.bpmn_id)
        check_form_schema(form, forms[form])
    return ParsedModel(content_hash(files), process_id, spec, subprocess_specs, forms)


def _plain_files(files: Mapping[str, bytes]) -> set[str]:
    """The BPMN files that use neither SpiffWorkflow's nor Camunda's extensions."""
    return {name for name, content in files.items() if file_kind(name) == "bpmn"
            and not any(_uses_namespace(_xml(name, content), ns) for ns in (SPIFF_NS, CAMUNDA_NS))}


def _file_of(parser, process_id: str) -> str | None:
    process_parser = parser.get_process_parser(process_id)
    return getattr(process_parser, "filename", None)


def _spec_file(task_spec) -> str | None:
    return getattr(getattr(task_spec, "_wf_spec", None), "file", None)


def _all_task_specs(spec, subprocess_specs):
    for process in [spec, *subprocess_specs.values()]:
        if process is not None:
            yield from process.task_specs.values()


def _form_name(task_spec) -> str | None:
    properties = (getattr(task_spec, "extensions", None) or {}).get("properties") or {}
    return properties.get("formJsonSchemaFilename")


def task_properties(task_spec) -> dict:
    return (getattr(task_spec, "extensions", None) or {}).get("properties") or {}


class SpecCache:
    """Parsed specs by content hash: a version is parsed once per process, not once per request."""

    def __init__(self, size: int = 64):
        self.size = size
        self._items: OrderedDict[tuple, ParsedModel] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str, process_id: str, load_files: Callable[[], Mapping[str, bytes]]) -> ParsedModel:
        cache_key = (key, process_id)
        with self._lock:
            model = self._items.get(cache_key)
            if model is not None:
                self._items.move_to_end(cache_key)
                return model
        model = parse_model(load_files(), process_id)
        self.put(key, process_id, model)
        return model

    def put(self, key: str, process_id: str, model: ParsedModel) -> None:
        cache_key = (key, process_id)
        with self._lock:
            self._items[cache_key] = model
            while len(self._items) > self.size:
                self._items.popitem(last=False)
