"""Case types: install from files; drafts that owners edit, lint, compare and publish; a version's
parsed model.

A draft is an editable version (its files are replaced as the owner saves); publishing runs the
linter, refuses errors and unacknowledged warnings, and freezes the version: its files and content
hash never change again. New cases start on the newest published version; running cases stay on
theirs until an owner migrates them (engine/services/migration.py).
"""
from __future__ import annotations

import json
import re
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from .. import permissions
from ..db import UnitOfWork, utcnow
from ..errors import Conflict, InvalidInput, ModelError, NotFound
from ..lint import ERROR, WARNING, Finding, lint_model
from ..lint.diff import compare_models
from ..lint.model import build_index
from ..models import Case, CaseType, CaseTypeVersion, Group, ModelFile, User
from ..models.case_types import LintAcknowledgement
from ..models.case_types import PERSONAL_DATA_CATEGORIES
from ..runtime.checks import ends_reachable_without_gdpr_review
from ..runtime.parsing import ParsedModel, content_hash, file_kind, parse_model
from ..runtime.service_handlers import operator_names, unknown_operators

DELETION_RULE = re.compile(r"^(P\d{1,5}D|K)$")
PREFIX = re.compile(r"^[A-Z]{2,6}$")
KEY = re.compile(r"^[a-z][a-z0-9_-]{1,79}$")
REQUIRED = ("key", "name", "prefix", "kle_number", "handlingsfacet", "deletion_rule",
            "personal_data_category", "process_id")


def validate_metadata(metadata: dict) -> dict:
    for name in REQUIRED:
        if not isinstance(metadata.get(name), str) or not metadata[name].strip():
            raise InvalidInput(f"'{name}' is required", field=name)
    if not KEY.match(metadata["key"]):
        raise InvalidInput("key must be lower-case letters, digits, '-' or '_'", field="key")
    if not PREFIX.match(metadata["prefix"]):
        raise InvalidInput("prefix must be 2 to 6 capital letters", field="prefix")
    if not DELETION_RULE.match(metadata["deletion_rule"]):
        raise InvalidInput("deletion rule must be a KLE code like P1825D (days after closing) or K (keep)",
                           field="deletion_rule")
    if metadata["personal_data_category"] not in PERSONAL_DATA_CATEGORIES:
        raise InvalidInput(f"personal data category must be one of {', '.join(PERSONAL_DATA_CATEGORIES)}",
                           field="personal_data_category")
    lanes = metadata.get("lanes", {})
    if not isinstance(lanes, dict):
        raise InvalidInput("lanes must map lane names to {group, expression}", field="lanes")
    for lane, rule in lanes.items():
        if not isinstance(rule, dict) or not (rule.get("group") or rule.get("expression")):
            raise InvalidInput(f"lane '{lane}' needs a group or an expression", field=f"lanes.{lane}")
    return metadata


def read_case_type_directory(directory: Path, shared: Path | None) -> tuple[dict, dict[str, bytes]]:
    """Metadata and files of a case type on disk, with the shared building blocks it may call."""
    meta_path = directory / "case_type.json"
    try:
        metadata = json.loads(meta_path.read_text(encoding="utf-8"))
    except FileNotFoundError as err:
        raise ModelError("case_type.json is missing", file=str(meta_path)) from err
    except ValueError as err:
        raise ModelError(f"not valid JSON: {err}", file=str(meta_path)) from err
    files = {}
    for path in sorted(directory.rglob("*")):
        if path.is_file() and path.name != "case_type.json" and path.suffix in (".bpmn", ".dmn", ".json"):
            files[path.relative_to(directory).as_posix()] = path.read_bytes()
    if shared is not None and shared.is_dir():
        for path in sorted(shared.rglob("*")):
            if path.is_file() and path.suffix in (".bpmn", ".dmn", ".json"):
                files["shared/" + path.relative_to(shared).as_posix()] = path.read_bytes()
    return metadata, files


def check_publishable(model: ParsedModel, files: dict[str, bytes]) -> None:
    skipping = ends_reachable_without_gdpr_review(model.spec)
    if skipping:
        raise ModelError(
            "a path from the start reaches this end event without passing the shared GDPR review "
            "building block (gdpr_review)", file=_file_with_element(files, skipping[0]), element=skipping[0])
    unknown = unknown_operators([model.spec, *model.subprocess_specs.values()])
    if unknown:
        element, operator = unknown[0]
        raise ModelError(f"service task calls the unknown operator '{operator}' (known: {', '.join(operator_names())})",
                         file=_file_with_element(files, element), element=element, operator=operator)


def _file_with_element(files: dict[str, bytes], element: str) -> str | None:
    needle = f'id="{element}"'.encode()
    return next((name for name, content in files.items() if needle in content), None)


def install_case_type(uow: UnitOfWork, metadata: dict, files: dict[str, bytes], actor: str,
                      publish: bool = True) -> dict:
    """Create or update a case type and add a version for `files` unless an equal one exists.

    The model is parsed (and, to publish, checked) before anything is stored.
    """
    session = uow.session
    metadata = validate_metadata(metadata)
    for name in files:
        file_kind(name)
    model = parse_model(files, metadata["process_id"])
    if publish:
        check_publishable(model, files)
    digest = content_hash(files)
    owner = None
    if metadata.get("owner_group"):
        owner = session.scalar(select(Group).where(Group.key == metadata["owner_group"]))
        if owner is None:
            raise InvalidInput(f"unknown owner group '{metadata['owner_group']}'", field="owner_group")
    case_type = session.scalar(select(CaseType).where(CaseType.key == metadata["key"]))
    if case_type is None:
        case_type = CaseType(key=metadata["key"])
        session.add(case_type)
    case_type.name = metadata["name"]
    case_type.prefix = metadata["prefix"]
    case_type.kle_number = metadata["kle_number"]
    case_type.handlingsfacet = metadata["handlingsfacet"]
    case_type.deletion_rule = metadata["deletion_rule"]
    case_type.personal_data_category = metadata["personal_data_category"]
    case_type.owner_group_id = owner.id if owner else None
    case_type.lanes = metadata.get("lanes", {})
    session.flush()
    version = session.scalar(select(CaseTypeVersion).where(
        CaseTypeVersion.case_type_id == case_type.id, CaseTypeVersion.content_hash == digest,
        CaseTypeVersion.process_id == metadata["process_id"]))
    created = version is None
    if created:
        number = (session.scalar(select(func.max(CaseTypeVersion.number))
                                 .where(CaseTypeVersion.case_type_id == case_type.id)) or 0) + 1
        version = CaseTypeVersion(case_type_id=case_type.id, number=number, process_id=metadata["process_id"],
                                  start_form=metadata.get("start_form", ""), content_hash=digest, created_by=actor,
                                  files=[ModelFile(name=n, kind=file_kind(n), content=c) for n, c in files.items()])
        session.add(version)
    if publish and version.status != "published":
        version.status = "published"
        version.published_at = utcnow()
        version.published_by = actor
    session.flush()
    result = {"case_type": case_type.key, "version": version.number, "status": version.status,
              "created": created, "content_hash": digest}
    uow.commit()
    uow.runtime.specs.put(digest, metadata["process_id"], model)
    return result


def current_version(session: Session, case_type: CaseType) -> CaseTypeVersion:
    version = session.scalar(select(CaseTypeVersion).where(
        CaseTypeVersion.case_type_id == case_type.id, CaseTypeVersion.status == "published")
        .order_by(CaseTypeVersion.number.desc()).limit(1))
    if version is None:
        raise NotFound(f"case type '{case_type.key}' has no published version", field="case_type")
    return version


def get_case_type(session: Session, key: str) -> CaseType:
    case_type = session.scalar(select(CaseType).where(CaseType.key == key))
    if case_type is None:
        raise NotFound(f"unknown case type '{key}'", field="case_type")
    return case_type


def model_of(uow: UnitOfWork, version: CaseTypeVersion) -> ParsedModel:
    def load_files():
        return {f.name: f.content for f in uow.session.scalars(
            select(ModelFile).where(ModelFile.version_id == version.id))}
    return uow.runtime.specs.get(version.content_hash, version.process_id, load_files)


def list_case_types(session: Session) -> list[dict]:
    return [_case_type_row(case_type) for case_type in session.scalars(select(CaseType).order_by(CaseType.name))]


def _case_type_row(case_type: CaseType) -> dict:
    published = [v.number for v in case_type.versions if v.status == "published"]
    return {"key": case_type.key, "name": case_type.name, "prefix": case_type.prefix,
            "kle_number": case_type.kle_number, "deletion_rule": case_type.deletion_rule,
            "current_version": max(published) if published else None}


# --- owners: drafts, lint, publish, compare ---------------------------------------------------------

SHARED_PREFIX = "shared/"
EDITABLE_METADATA = ("name", "prefix", "kle_number", "handlingsfacet", "deletion_rule", "personal_data_category",
                     "owner_group", "lanes")


def _owner(session: Session, actor: str, case_type: CaseType | None) -> User:
    user = session.scalar(select(User).where(User.username == actor))
    if user is None:
        raise NotFound(f"unknown user '{actor}'", field="username")
    what = f"case type '{case_type.key}'" if case_type is not None else "case types"
    permissions.require(user.is_active and permissions.can_manage_case_type(session, user, case_type),
                        f"{actor} may not manage {what}")
    return user


def get_version(session: Session, case_type: CaseType, number: int) -> CaseTypeVersion:
    version = session.scalar(select(CaseTypeVersion).where(CaseTypeVersion.case_type_id == case_type.id,
                                                           CaseTypeVersion.number == number))
    if version is None:
        raise NotFound(f"case type '{case_type.key}' has no version {number}", field="version")
    return version


def _draft(session: Session, case_type: CaseType, number: int) -> CaseTypeVersion:
    version = get_version(session, case_type, number)
    if version.status != "draft":
        raise Conflict(f"version {number} of '{case_type.key}' is {version.status}; only a draft can change "
                       "(start a new draft from it)", field="version")
    return version


def files_of(session: Session, version: CaseTypeVersion) -> dict[str, bytes]:
    return {f.name: f.content for f in session.scalars(select(ModelFile).where(ModelFile.version_id == version.id))}


def metadata_of(case_type: CaseType, version: CaseTypeVersion) -> dict:
    """The metadata the engine reads for a version: the case type's, with the version's process."""
    return {"key": case_type.key, "name": case_type.name, "prefix": case_type.prefix,
            "kle_number": case_type.kle_number, "handlingsfacet": case_type.handlingsfacet,
            "deletion_rule": case_type.deletion_rule, "personal_data_category": case_type.personal_data_category,
            "lanes": dict(case_type.lanes or {}), "process_id": version.process_id, "start_form": version.start_form}


def check_file_name(name: str) -> str:
    """A model file's path inside a version: relative, no '..', a known kind, not a shared block."""
    if not isinstance(name, str) or not name.strip():
        raise InvalidInput("a file needs a name", field="file")
    name = name.strip()
    if name.startswith("/") or "\\" in name or any(part in ("", ".", "..") for part in name.split("/")) \
            or len(name) > 300:
        raise InvalidInput(f"'{name}' is not a valid file name (use e.g. forms/decision.json)", field="file")
    file_kind(name)
    if name.startswith(SHARED_PREFIX):
        raise InvalidInput(f"'{name}' is a shared building block; every case type uses the same one, so a draft "
                           "cannot change it", field="file")
    return name


def _shared_files(uow: UnitOfWork) -> dict[str, bytes]:
    """The shared building blocks as shipped now: a new draft calls the current ones."""
    shared = Path(uow.runtime.settings.bpmn_path) / "shared" if uow.runtime is not None else None
    if shared is None or not shared.is_dir():
        return {}
    return {SHARED_PREFIX + p.relative_to(shared).as_posix(): p.read_bytes()
            for p in sorted(shared.rglob("*")) if p.is_file() and p.suffix in (".bpmn", ".dmn", ".json")}


def _group_keys(session: Session) -> set[str]:
    return set(session.scalars(select(Group.key)))


def _lint(session: Session, case_type: CaseType, version: CaseTypeVersion,
          files: dict[str, bytes] | None = None) -> list[Finding]:
    files = files if files is not None else files_of(session, version)
    return lint_model(files, metadata_of(case_type, version), _group_keys(session))


def _acknowledged(session: Session, version: CaseTypeVersion) -> dict[str, LintAcknowledgement]:
    return {a.key: a for a in session.scalars(select(LintAcknowledgement)
                                              .where(LintAcknowledgement.version_id == version.id))}


def _report(findings: list[Finding], acknowledged: dict[str, LintAcknowledgement]) -> dict:
    rows = []
    for finding in findings:
        row = finding.as_dict()
        ack = acknowledged.get(finding.key) if finding.severity == WARNING else None
        row["acknowledged"] = ack is not None
        if ack is not None:
            row["acknowledged_by"], row["acknowledged_at"] = ack.acknowledged_by, ack.acknowledged_at.isoformat()
            row["note"] = ack.note
        rows.append(row)
    errors = sum(1 for f in findings if f.severity == ERROR)
    open_warnings = sum(1 for r in rows if r["severity"] == WARNING and not r["acknowledged"])
    return {"findings": rows, "errors": errors, "warnings": sum(1 for f in findings if f.severity == WARNING),
            "unacknowledged": open_warnings, "publishable": errors == 0 and open_warnings == 0}


def _version_row(version: CaseTypeVersion, open_cases: int = 0) -> dict:
    return {"number": version.number, "status": version.status, "process_id": version.process_id,
            "start_form": version.start_form, "content_hash": version.content_hash,
            "created_at": version.created_at.isoformat() if version.created_at else None,
            "created_by": version.created_by or "",
            "updated_at": version.updated_at.isoformat() if version.updated_at else None,
            "published_at": version.published_at.isoformat() if version.published_at else None,
            "published_by": version.published_by, "open_cases": open_cases,
            "based_on": version.based_on_id}


def case_type_detail(uow: UnitOfWork, key: str, actor: str) -> dict:
    """What an owner's case-type page shows: metadata, lane mapping, versions with their open cases."""
    session = uow.session
    case_type = get_case_type(session, key)
    _owner(session, actor, case_type)
    counts = dict(session.execute(select(Case.version_id, func.count()).where(
        Case.case_type_id == case_type.id, Case.status == "open").group_by(Case.version_id)).all())
    numbers = {v.id: v.number for v in case_type.versions}
    versions = []
    for version in sorted(case_type.versions, key=lambda v: v.number, reverse=True):
        row = _version_row(version, counts.get(version.id, 0))
        row["based_on"] = numbers.get(version.based_on_id)
        versions.append(row)
    owner = session.get(Group, case_type.owner_group_id) if case_type.owner_group_id else None
    published = [v for v in versions if v["status"] == "published"]
    return {"key": case_type.key, "name": case_type.name, "prefix": case_type.prefix,
            "kle_number": case_type.kle_number, "handlingsfacet": case_type.handlingsfacet,
            "deletion_rule": case_type.deletion_rule, "personal_data_category": case_type.personal_data_category,
            "owner_group": owner.key if owner else "", "lanes": dict(case_type.lanes or {}),
            "versions": versions, "current_version": published[0]["number"] if published else None,
            "groups": sorted(_group_keys(session))}


def manageable_case_types(uow: UnitOfWork, actor: str) -> list[dict]:
    session = uow.session
    user = session.scalar(select(User).where(User.username == actor))
    if user is None:
        raise NotFound(f"unknown user '{actor}'", field="username")
    # The permission facts once and the versions in one statement, not a query per case type
    # (the navigation asked this on every page: docs/benchmarks.md, task lists).
    facts = permissions.case_type_owner_facts(session, user.id)
    rows = []
    for case_type in session.scalars(select(CaseType).order_by(CaseType.name).options(
            selectinload(CaseType.versions))):
        if permissions.manages_case_type(facts, case_type):
            rows.append(dict(_case_type_row(case_type),
                             drafts=[v.number for v in case_type.versions if v.status == "draft"]))
    return rows


def update_case_type(uow: UnitOfWork, key: str, actor: str, changes: dict) -> dict:
    """Change a case type's metadata (lane mapping included). It applies to every version at once:
    the lanes say who gets new tasks, which an owner must be able to change for running cases too."""
    session = uow.session
    case_type = get_case_type(session, key)
    _owner(session, actor, case_type)
    unknown = sorted(set(changes) - set(EDITABLE_METADATA))
    if unknown:
        raise InvalidInput(f"'{unknown[0]}' cannot be changed here", field=unknown[0])
    current = {"key": case_type.key, "name": case_type.name, "prefix": case_type.prefix,
               "kle_number": case_type.kle_number, "handlingsfacet": case_type.handlingsfacet,
               "deletion_rule": case_type.deletion_rule, "personal_data_category": case_type.personal_data_category,
               "lanes": dict(case_type.lanes or {}), "process_id": "-"}
    owner = session.get(Group, case_type.owner_group_id) if case_type.owner_group_id else None
    current["owner_group"] = owner.key if owner else ""
    merged = validate_metadata({**current, **changes})
    for lane, rule in merged.get("lanes", {}).items():
        group = rule.get("group")
        if group and group not in _group_keys(session):
            raise InvalidInput(f"lane '{lane}': unknown group '{group}'", field=f"lanes.{lane}")
    if merged["prefix"] != case_type.prefix and session.scalar(
            select(func.count()).select_from(Case).where(Case.case_type_id == case_type.id)):
        raise Conflict("the prefix is part of every case number; it cannot change once cases exist", field="prefix")
    owner_group = None
    if merged.get("owner_group"):
        owner_group = session.scalar(select(Group).where(Group.key == merged["owner_group"]))
        if owner_group is None:
            raise InvalidInput(f"unknown owner group '{merged['owner_group']}'", field="owner_group")
    for name in ("name", "prefix", "kle_number", "handlingsfacet", "deletion_rule", "personal_data_category"):
        setattr(case_type, name, merged[name].strip())
    case_type.lanes = {name.strip(): {k: v.strip() for k, v in rule.items() if k in ("group", "expression") and v}
                       for name, rule in merged["lanes"].items()}
    case_type.owner_group_id = owner_group.id if owner_group else None
    session.flush()
    uow.commit()
    return case_type_detail(uow, key, actor)


def create_draft(uow: UnitOfWork, key: str, actor: str, from_number: int | None = None) -> dict:
    """A new draft with the files of `from_number` (default: the newest published version, else the
    newest), and the shared building blocks as shipped now."""
    session = uow.session
    case_type = get_case_type(session, key)
    _owner(session, actor, case_type)
    if from_number is not None:
        base = get_version(session, case_type, from_number)
    else:
        base = session.scalar(select(CaseTypeVersion).where(
            CaseTypeVersion.case_type_id == case_type.id, CaseTypeVersion.status == "published")
            .order_by(CaseTypeVersion.number.desc()).limit(1)) or session.scalar(
            select(CaseTypeVersion).where(CaseTypeVersion.case_type_id == case_type.id)
            .order_by(CaseTypeVersion.number.desc()).limit(1))
    files = files_of(session, base) if base is not None else {}
    shared = _shared_files(uow)
    if shared:
        files = {n: c for n, c in files.items() if not n.startswith(SHARED_PREFIX)} | shared
    number = (session.scalar(select(func.max(CaseTypeVersion.number))
                             .where(CaseTypeVersion.case_type_id == case_type.id)) or 0) + 1
    now = utcnow()
    version = CaseTypeVersion(
        case_type_id=case_type.id, number=number, status="draft",
        process_id=base.process_id if base else key, start_form=base.start_form if base else "",
        content_hash=content_hash(files), based_on_id=base.id if base else None, created_by=actor,
        created_at=now, updated_at=now,
        files=[ModelFile(name=n, kind=file_kind(n), content=c) for n, c in sorted(files.items())])
    session.add(version)
    session.flush()
    row = _version_row(version)
    row["based_on"] = base.number if base else None
    uow.commit()
    return row


def save_draft(uow: UnitOfWork, key: str, number: int, actor: str, files: dict[str, bytes] | None = None,
               removed: list[str] | tuple = (), process_id: str | None = None,
               start_form: str | None = None) -> dict:
    """Replace files of a draft (and its process id or start form); returns the new lint report.

    The draft is saved even with lint errors: owners save half-finished work; publishing refuses it.
    """
    session = uow.session
    case_type = get_case_type(session, key)
    _owner(session, actor, case_type)
    version = _draft(session, case_type, number)
    current = {f.name: f for f in version.files}
    for name in removed or ():
        name = check_file_name(name)
        if name not in current:
            raise NotFound(f"draft {number} has no file '{name}'", field="file")
        version.files.remove(current.pop(name))
    for name, content in (files or {}).items():
        name = check_file_name(name)
        if not isinstance(content, bytes):
            raise InvalidInput(f"the content of '{name}' must be bytes", field="file")
        if len(content) > 2_000_000:
            raise InvalidInput(f"'{name}' is larger than 2 MB", field="file")
        if name in current:
            current[name].content = content
        else:
            current[name] = ModelFile(name=name, kind=file_kind(name), content=content)
            version.files.append(current[name])
    if process_id is not None:
        if not process_id.strip() or len(process_id) > 200:
            raise InvalidInput("the process id must be 1 to 200 characters", field="process_id")
        version.process_id = process_id.strip()
    if start_form is not None:
        version.start_form = start_form.strip()
    contents = {name: f.content for name, f in current.items()}
    version.content_hash = content_hash(contents)
    version.updated_at = utcnow()
    session.flush()
    report = _report(_lint(session, case_type, version, contents), _acknowledged(session, version))
    result = {**_version_row(version), "lint": report}
    uow.commit()
    return result


def delete_draft(uow: UnitOfWork, key: str, number: int, actor: str) -> None:
    session = uow.session
    case_type = get_case_type(session, key)
    _owner(session, actor, case_type)
    version = _draft(session, case_type, number)
    session.delete(version)
    uow.commit()


def version_files(uow: UnitOfWork, key: str, number: int, actor: str) -> dict[str, bytes]:
    session = uow.session
    case_type = get_case_type(session, key)
    _owner(session, actor, case_type)
    return files_of(session, get_version(session, case_type, number))


def version_detail(uow: UnitOfWork, key: str, number: int, actor: str) -> dict:
    """A version with its file list and its lint report (drafts and published versions alike)."""
    session = uow.session
    case_type = get_case_type(session, key)
    _owner(session, actor, case_type)
    version = get_version(session, case_type, number)
    files = files_of(session, version)
    row = _version_row(version)
    base = session.get(CaseTypeVersion, version.based_on_id) if version.based_on_id else None
    row["based_on"] = base.number if base else None
    row["files"] = [{"name": n, "kind": file_kind(n), "size": len(c), "shared": n.startswith(SHARED_PREFIX)}
                    for n, c in sorted(files.items())]
    row["lint"] = _report(_lint(session, case_type, version, files), _acknowledged(session, version))
    row["case_type"] = {"key": case_type.key, "name": case_type.name, "lanes": dict(case_type.lanes or {})}
    index = build_index(files)
    try:
        row["main_file"] = main_bpmn_file(files, version.process_id)[0]
    except NotFound:
        row["main_file"] = None
    # What the modeler's properties panel offers: building blocks to call, decisions, forms.
    row["building_blocks"] = sorted(p for p in index.processes if p != version.process_id)
    row["decisions"] = sorted(index.decisions)
    row["forms"] = sorted({n.rsplit("/", 1)[-1] for n in files if file_kind(n) == "form"})
    row["groups"] = sorted(_group_keys(session))
    return row


def lint_version(uow: UnitOfWork, key: str, number: int, actor: str) -> dict:
    session = uow.session
    case_type = get_case_type(session, key)
    _owner(session, actor, case_type)
    version = get_version(session, case_type, number)
    return _report(_lint(session, case_type, version), _acknowledged(session, version))


def acknowledge_warnings(uow: UnitOfWork, key: str, number: int, actor: str, keys: list[str],
                         note: str = "") -> dict:
    """Record that `actor` read these warnings of a draft and accepts them; returns the lint report."""
    session = uow.session
    case_type = get_case_type(session, key)
    _owner(session, actor, case_type)
    version = _draft(session, case_type, number)
    findings = {f.key: f for f in _lint(session, case_type, version)}
    existing = _acknowledged(session, version)
    for finding_key in keys:
        finding = findings.get(finding_key)
        if finding is None:
            raise NotFound(f"draft {number} has no finding '{finding_key}' (the model changed meanwhile?)",
                           field="finding")
        if finding.severity != WARNING:
            raise InvalidInput(f"'{finding.rule}' is an error; errors must be fixed, not acknowledged",
                               field="finding")
        if finding_key not in existing:
            session.add(LintAcknowledgement(version_id=version.id, key=finding_key, rule=finding.rule,
                                            message=finding.message, note=(note or "").strip()[:2000],
                                            acknowledged_by=actor, acknowledged_at=utcnow()))
    session.flush()
    report = _report(list(findings.values()), _acknowledged(session, version))
    uow.commit()
    return report


def publish_version(uow: UnitOfWork, key: str, number: int, actor: str) -> dict:
    """Freeze a draft: lint it, refuse errors and unacknowledged warnings, record who and when.

    New cases start on it at once; running cases stay on their version.
    """
    session = uow.session
    case_type = get_case_type(session, key)
    _owner(session, actor, case_type)
    version = _draft(session, case_type, number)
    files = files_of(session, version)
    findings = _lint(session, case_type, version, files)
    report = _report(findings, _acknowledged(session, version))
    if report["errors"]:
        first = next(f for f in findings if f.severity == ERROR)
        raise ModelError(f"version {number} cannot be published: {report['errors']} error(s) from the check, "
                         f"the first: {first.message}", file=first.file, element=first.element,
                         problems=[r for r in report["findings"] if r["severity"] == ERROR])
    if report["unacknowledged"]:
        raise InvalidInput(f"version {number} has {report['unacknowledged']} warning(s) nobody acknowledged; "
                           "read and acknowledge them before publishing", field="warnings",
                           problems=[r for r in report["findings"] if r["severity"] == WARNING and not r["acknowledged"]])
    model = parse_model(files, version.process_id)
    version.content_hash = content_hash(files)
    version.status = "published"
    version.published_at = utcnow()
    version.published_by = actor
    session.flush()
    result = _version_row(version)
    uow.commit()
    uow.runtime.specs.put(version.content_hash, version.process_id, model)
    return result


def compare_versions(uow: UnitOfWork, key: str, old_number: int, new_number: int, actor: str) -> dict:
    """What changed from one version to another: BPMN elements, form fields, decision-table rules."""
    session = uow.session
    case_type = get_case_type(session, key)
    _owner(session, actor, case_type)
    old, new = get_version(session, case_type, old_number), get_version(session, case_type, new_number)
    diff = compare_models(files_of(session, old), files_of(session, new))
    changes = {"old": _version_row(old), "new": _version_row(new), **diff}
    if old.process_id != new.process_id or old.start_form != new.start_form:
        changes["settings"] = [{"what": what, "old": a, "new": b} for what, a, b in (
            ("process", old.process_id, new.process_id), ("start form", old.start_form, new.start_form)) if a != b]
    return changes


def diagram_of(uow: UnitOfWork, key: str, number: int, actor: str) -> tuple[str, bytes]:
    """The BPMN file holding a version's process (for the modeler and the viewers)."""
    session = uow.session
    case_type = get_case_type(session, key)
    _owner(session, actor, case_type)
    version = get_version(session, case_type, number)
    return main_bpmn_file(files_of(session, version), version.process_id)


def main_bpmn_file(files: dict[str, bytes], process_id: str) -> tuple[str, bytes]:
    own = {n: c for n, c in files.items() if file_kind(n) == "bpmn" and not n.startswith(SHARED_PREFIX)}
    needle = f'id="{process_id}"'.encode()
    for name in sorted(own):
        if needle in own[name]:
            return name, own[name]
    if own:
        name = sorted(own)[0]
        return name, own[name]
    raise NotFound("the version has no BPMN file of its own", field="file")
