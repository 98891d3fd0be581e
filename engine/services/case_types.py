"""Case types: install from files, publish versions, and get a version's parsed model."""
from __future__ import annotations

import json
import re
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..db import UnitOfWork, utcnow
from ..errors import InvalidInput, ModelError, NotFound
from ..models import CaseType, CaseTypeVersion, Group, ModelFile
from ..models.case_types import PERSONAL_DATA_CATEGORIES
from ..runtime.checks import ends_reachable_without_gdpr_review
from ..runtime.parsing import ParsedModel, content_hash, file_kind, parse_model

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
                                  start_form=metadata.get("start_form", ""), content_hash=digest,
                                  files=[ModelFile(name=n, kind=file_kind(n), content=c) for n, c in files.items()])
        session.add(version)
    if publish and version.status != "published":
        version.status = "published"
        version.published_at = utcnow()
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
    rows = []
    for case_type in session.scalars(select(CaseType).order_by(CaseType.name)):
        published = [v.number for v in case_type.versions if v.status == "published"]
        rows.append({"key": case_type.key, "name": case_type.name, "prefix": case_type.prefix,
                     "kle_number": case_type.kle_number, "deletion_rule": case_type.deletion_rule,
                     "current_version": max(published) if published else None})
    return rows
