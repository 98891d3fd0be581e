"""Case documents: upload, new versions, lists, downloads and deletion; the case-deletion hook and
the orphan sweep.

Each action is one unit of work. The order inside it is what keeps rows and files in step:

1. The file is checked (size, kind by its bytes, name) and its text read before the transaction
   starts, so bad input touches nothing and a slow PDF never holds the database's write lock.
2. The rows are inserted and flushed (ids known), then the file is written to a key of its own
   (`<case>/<document>/<version>-<random>`), then the journal event, search row and CPR
   references are added, then one commit.
3. If the unit of work rolls back, the file is removed again (unless the row did commit after
   all: a connection lost during COMMIT). If the process dies before that, the file is an
   orphan: no row names it, and `sweep_orphans` removes it later.

So a committed row always has its file; a file may briefly lack a row, never the reverse.
Deleting goes the other way round: rows first, files after the commit (the sweep again catches a
file whose removal failed).

Journal events hold ids, version numbers, sizes and types, never a document's name: a name can
name a person ("Lægeerklæring Hans Hansen.pdf"), and the journal is append-only, so a document
deleted because it was filed on the wrong case would leave its name behind for good.
"""
from __future__ import annotations

import hashlib
import logging
import secrets
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from .. import cpr as cprs
from .. import document_content, permissions
from ..crypto import protector_for
from ..db import Database, UnitOfWork, utcnow
from ..errors import Conflict, InvalidInput, NotFound
from ..models import Case, CaseTask, User
from ..models.documents import Document, DocumentCprReference, DocumentVersion
from ..search import index as search_index
from ..storage import DocumentStore, StorageError, store_for
from .access_log import log_access
from .cases import complete_task, get_case, model_for_version
from .gdpr import append_case_event
from .org import get_user

log = logging.getLogger(__name__)

# A file younger than this is never an orphan: its upload may still be committing.
ORPHAN_GRACE = timedelta(hours=1)
# A task form's string field with this keyword set to true takes a file (document_fields).
DOCUMENT_FIELD = "x-sagsgang-document"


class _Upload:
    """A checked file: clean name, sniffed type, digest, and the CPR numbers its name and text hold."""

    def __init__(self, filename, content, max_bytes: int):
        if not isinstance(content, (bytes, bytearray)):
            raise InvalidInput("choose a file to upload", field="file", reason="no_file")
        name = document_content.clean_filename(filename)
        if not content:
            raise InvalidInput(f"{name}: the file is empty", field="file", reason="empty")
        if len(content) > max_bytes:
            raise InvalidInput(f"{name}: the file is {_megabytes(len(content))} MB; at most "
                               f"{_megabytes(max_bytes)} MB may be uploaded", field="file", reason="too_large",
                               limit_mb=_megabytes(max_bytes))
        self.content = bytes(content)
        self.content_type = document_content.sniff(self.content, name)
        self.text = document_content.extract_text(self.content, self.content_type, name)
        self.cprs = set(cprs.find_cprs(name)) | set(cprs.find_cprs(self.text))
        # The stored name is shown in lists and the search index: no CPR number in plain text.
        self.filename = cprs.redact(name)
        self.sha256 = hashlib.sha256(self.content).hexdigest()


def _megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):.1f}".rstrip("0").rstrip(".")


def _store(uow: UnitOfWork) -> DocumentStore:
    return store_for(uow.runtime.settings)


def _open_case(session: Session, number: str, user: User, action: str) -> Case:
    """The case, if `user` may see it and it is open (a closed case's documents are fixed)."""
    case = get_case(session, number)
    permissions.require(permissions.can_see_case(session, user, case), f"{user.username} may not see case {number}")
    if case.status != "open":
        raise Conflict(f"case {number} is {case.status}; documents can be {action} only while it is open",
                       field="case", reason="case_not_open")
    return case


def _visible_case(session: Session, number: str, user: User) -> Case:
    case = get_case(session, number)
    permissions.require(permissions.can_see_case(session, user, case), f"{user.username} may not see case {number}")
    return case


def _document(session: Session, case: Case, document_id, lock: bool = False) -> Document:
    document = None
    if isinstance(document_id, int) and not isinstance(document_id, bool):
        query = select(Document).where(Document.id == document_id, Document.case_id == case.id)
        if lock and session.get_bind().dialect.name != "sqlite":  # SQLite's BEGIN IMMEDIATE locks already
            query = query.with_for_update()
        document = session.scalar(query)
    if document is None:
        raise NotFound(f"case {case.number} has no document {document_id}", field="document")
    return document


def _key(case_id: int, document_id: int, version: int) -> str:
    return f"{case_id}/{document_id}/{version}-{secrets.token_hex(8)}"


def _write_file(uow: UnitOfWork, key: str, content: bytes) -> None:
    """Write before the commit; take the file away again if the unit of work rolls back."""
    store, database = _store(uow), uow.database
    store.put(key, content)
    uow.after_rollback(lambda: _discard_unless_committed(database, store, key))


def _discard_unless_committed(database: Database, store: DocumentStore, key: str) -> None:
    """A rolled-back upload's file goes, unless its row is there after all (COMMIT succeeded on the
    server but its answer was lost); when the database cannot say, the sweep decides later."""
    try:
        with database.read_session_factory() as session:
            committed = session.scalar(select(DocumentVersion.id).where(DocumentVersion.storage_key == key))
        if committed is None:
            store.delete(key)
    except Exception:  # noqa: BLE001 - a failed clean-up must not hide the error that rolled back
        log.warning("left document file %s for the orphan sweep", key, exc_info=True)


def _remove_after_commit(uow: UnitOfWork, keys: list[str]) -> None:
    store = _store(uow)

    def remove() -> None:
        for key in keys:
            try:
                store.delete(key)
            except StorageError:  # the rows are gone; the sweep removes what is left
                log.warning("could not remove document file %s; the orphan sweep will", key, exc_info=True)

    if keys:
        uow.after_commit(remove)


def _add_version(uow: UnitOfWork, case: Case, document: Document, number: int, upload: _Upload,
                 user: User) -> DocumentVersion:
    session = uow.session
    version = DocumentVersion(document_id=document.id, case_id=case.id, version=number, filename=upload.filename,
                              content_type=upload.content_type, size=len(upload.content), sha256=upload.sha256,
                              storage_key=_key(case.id, document.id, number), created_by_id=user.id,
                              created_at=utcnow())
    session.add(version)
    try:
        session.flush()
    except IntegrityError as err:  # someone added this version number meanwhile
        raise Conflict(f"document {document.id} of case {case.number} got a new version meanwhile; "
                       "reload and try again", field="document") from err
    _write_file(uow, version.storage_key, upload.content)
    conn = session.connection()
    search_index.index_document(conn, document.id, case.id, upload.filename, upload.text)
    if upload.cprs:
        protector = protector_for(uow.runtime.settings)
        session.add_all([DocumentCprReference(version_id=version.id, document_id=document.id, case_id=case.id,
                                              cpr_hash=protector.lookup_hash(number_))
                         for number_ in sorted(upload.cprs)])
        session.flush()
        conn.execute(update(Case).where(Case.id == case.id).values(cpr_detected=True))
    return version


def upload_document(uow: UnitOfWork, number: str, actor: str, filename: str, content: bytes) -> dict:
    """Add a document to an open case the actor may see; returns the document (document_dict)."""
    upload = _Upload(filename, content, uow.runtime.settings.document_max_bytes)
    session = uow.session
    user = get_user(session, actor)
    case = _open_case(session, number, user, "added")
    result = _stage_new_document(uow, case, user, upload)
    uow.commit()
    return result


def _stage_new_document(uow: UnitOfWork, case: Case, user: User, upload: _Upload) -> dict:
    """A new document's rows, file, journal events, index and CPR references; the caller commits."""
    session = uow.session
    now = utcnow()
    document = Document(case_id=case.id, name=upload.filename, current_version=1, created_by_id=user.id,
                        created_at=now, updated_at=now)
    session.add(document)
    session.flush()
    version = _add_version(uow, case, document, 1, upload, user)
    append_case_event(session, case.id, user.username, "document_added",
                      {"document_id": document.id, "version": 1, "content_type": version.content_type,
                       "size": version.size})
    if upload.cprs:
        append_case_event(session, case.id, user.username, "cpr_detected", {"document_id": document.id, "version": 1})
    return document_dict(document, version, user.username)


def document_fields(schema: dict | None) -> list[str]:
    """The top-level fields of a form that take a file, which becomes a document of the case.

    A string property marked `"x-sagsgang-document": true`, or with `"format": "data-url"` (the
    react-jsonschema-form convention for files); the field's value is then `document:<id>`.
    """
    properties = (schema or {}).get("properties") or {}
    return [name for name, prop in properties.items() if isinstance(prop, dict) and prop.get("type") == "string"
            and (prop.get(DOCUMENT_FIELD) is True or prop.get("format") == "data-url")]


def document_reference(document_id: int) -> str:
    return f"document:{document_id}"


def complete_task_with_documents(uow: UnitOfWork, task_id: str, actor: str, data: dict | None,
                                 files: dict[str, tuple[str, bytes]],
                                 expected_row_version: int | None = None) -> dict:
    """Complete a task whose form has document fields (document_fields): each file given becomes a
    document of the task's case and its field holds the reference. One unit of work with the
    completion, so a refused form (or a lost race) keeps neither rows nor files.

    `files` maps a field name to (file name, bytes); a refused file names its field.
    """
    limit = uow.runtime.settings.document_max_bytes
    uploads = {}
    for field, (filename, content) in files.items():
        try:
            uploads[field] = _Upload(filename, content, limit)
        except InvalidInput as err:
            raise InvalidInput(err.message, **dict(err.context, field=field)) from err
    session = uow.session
    user = get_user(session, actor)
    task = session.get(CaseTask, str(task_id))
    if task is None:
        raise NotFound(f"unknown task '{task_id}'", field="task_id")
    case = _open_case(session, task.case.number, user, "added")
    schema = model_for_version(uow, case.version_id).forms.get(task.form) if task.form else None
    accepted = document_fields(schema)
    data = dict(data or {})
    for field, upload in uploads.items():
        if field not in accepted:
            raise InvalidInput(f"{field}: the task's form has no document field of that name", field=field)
        data[field] = document_reference(_stage_new_document(uow, case, user, upload)["id"])
    return complete_task(uow, str(task_id), actor, data, expected_row_version)


def add_document_version(uow: UnitOfWork, number: str, document_id: int, actor: str, filename: str,
                         content: bytes) -> dict:
    """A new version of a document of an open case; the earlier versions stay downloadable."""
    upload = _Upload(filename, content, uow.runtime.settings.document_max_bytes)
    session = uow.session
    user = get_user(session, actor)
    case = _open_case(session, number, user, "changed")
    document = _document(session, case, document_id, lock=True)
    current = session.scalar(select(DocumentVersion).where(DocumentVersion.document_id == document.id,
                                                           DocumentVersion.version == document.current_version))
    if current is not None and current.sha256 == upload.sha256:
        raise InvalidInput(f"{upload.filename}: the file is the same as version {current.version}", field="file",
                           reason="same_as_current", version=current.version)
    new_number = document.current_version + 1
    version = _add_version(uow, case, document, new_number, upload, user)
    document.current_version, document.name, document.updated_at = new_number, upload.filename, utcnow()
    session.flush()
    append_case_event(session, case.id, actor, "document_version_added",
                      {"document_id": document.id, "version": new_number, "content_type": version.content_type,
                       "size": version.size})
    if upload.cprs:
        append_case_event(session, case.id, actor, "cpr_detected",
                          {"document_id": document.id, "version": new_number})
    result = document_dict(document, version, actor)
    uow.commit()
    return result


def document_dict(document: Document, version: DocumentVersion, uploaded_by: str | None) -> dict:
    return {"id": document.id, "name": document.name, "version": document.current_version,
            "content_type": version.content_type, "size": version.size,
            "created_at": document.created_at.isoformat(), "updated_at": document.updated_at.isoformat(),
            "uploaded_by": uploaded_by}


def _version_dict(version: DocumentVersion, uploaded_by: str | None) -> dict:
    return {"version": version.version, "filename": version.filename, "content_type": version.content_type,
            "size": version.size, "sha256": version.sha256, "created_at": version.created_at.isoformat(),
            "uploaded_by": uploaded_by}


def list_documents(uow: UnitOfWork, number: str, actor: str, purpose: str | None = None,
                   log_view: bool = True) -> list[dict]:
    """The documents of a case the actor may see, newest change first, each as its newest version.

    The list names documents, so it is a view of the case for the access log; the case page, which
    logs its own view of the case, passes log_view=False.
    """
    return case_documents(uow, number, actor, purpose, log_view)["documents"]


def case_documents(uow: UnitOfWork, number: str, actor: str, purpose: str | None = None,
                   log_view: bool = True) -> dict:
    """list_documents with the case's number, title and status (a page of its own)."""
    session = uow.session
    user = get_user(session, actor)
    case = _visible_case(session, number, user)
    rows = session.execute(
        select(Document, DocumentVersion, User.username)
        .join(DocumentVersion, (DocumentVersion.document_id == Document.id)
              & (DocumentVersion.version == Document.current_version))
        .outerjoin(User, User.id == DocumentVersion.created_by_id)
        .where(Document.case_id == case.id)
        .order_by(Document.updated_at.desc(), Document.id.desc())).all()
    if log_view:
        log_access(session, user.id, "view", purpose, [case.id], detail={"documents": len(rows)})
    return {"number": case.number, "title": case.title, "status": case.status, "open": case.status == "open",
            "documents": [document_dict(document, version, username) for document, version, username in rows]}


def document_history(uow: UnitOfWork, number: str, document_id: int, actor: str,
                     purpose: str | None = None) -> dict:
    """A document with every version, newest first; a view of the case for the access log."""
    session = uow.session
    user = get_user(session, actor)
    case = _visible_case(session, number, user)
    document = _document(session, case, document_id)
    rows = session.execute(
        select(DocumentVersion, User.username).outerjoin(User, User.id == DocumentVersion.created_by_id)
        .where(DocumentVersion.document_id == document.id).order_by(DocumentVersion.version.desc())).all()
    log_access(session, user.id, "view", purpose, [case.id], detail={"document_id": document.id})
    newest, newest_by = rows[0]
    return {"case": {"number": case.number, "title": case.title, "status": case.status,
                     "open": case.status == "open"},
            "document": document_dict(document, newest, newest_by),
            "versions": [_version_dict(version, username) for version, username in rows]}


def download_document(uow: UnitOfWork, number: str, document_id: int, actor: str, version: int | None = None,
                      purpose: str | None = None) -> tuple[dict, bytes]:
    """One version of a document (the newest without `version`) and its bytes; logged as a download."""
    session = uow.session
    user = get_user(session, actor)
    case = _visible_case(session, number, user)
    document = _document(session, case, document_id)
    wanted = document.current_version if version is None else version
    found = session.scalar(select(DocumentVersion).where(DocumentVersion.document_id == document.id,
                                                         DocumentVersion.version == wanted))
    if found is None:
        raise NotFound(f"document {document.id} of case {number} has no version {version}", field="version")
    content = _store(uow).get(found.storage_key)
    log_access(session, user.id, "download", purpose, [case.id],
               detail={"document_id": document.id, "version": found.version})
    uow.commit()
    return _version_dict(found, None), content


def delete_document(uow: UnitOfWork, number: str, document_id: int, actor: str) -> dict:
    """Remove a document and all its versions from an open case (filed on the wrong case, say)."""
    session = uow.session
    user = get_user(session, actor)
    case = _open_case(session, number, user, "deleted")
    document = _document(session, case, document_id, lock=True)
    keys = list(session.scalars(select(DocumentVersion.storage_key).where(DocumentVersion.document_id == document.id)))
    _delete_rows(session, Document.id == document.id, DocumentVersion.document_id == document.id,
                 DocumentCprReference.document_id == document.id)
    search_index.forget(session.connection(), search_index.document_key(document.id))
    append_case_event(session, case.id, actor, "document_deleted",
                      {"document_id": document.id, "versions": len(keys)})
    _remove_after_commit(uow, keys)
    uow.commit()
    return {"id": document.id, "versions": len(keys)}


def _delete_rows(session: Session, documents, versions, references) -> tuple[int, int]:
    session.execute(delete(DocumentCprReference).where(references))
    removed_versions = session.execute(delete(DocumentVersion).where(versions)).rowcount
    removed_documents = session.execute(delete(Document).where(documents)).rowcount
    return removed_documents, removed_versions


def delete_case_documents(uow: UnitOfWork, case_id: int) -> dict:
    """The deletion hook (engine.services.retention registers it): a deleted case's document rows go
    in its unit of work, its files after the commit."""
    session = uow.session
    keys = list(session.scalars(select(DocumentVersion.storage_key).where(DocumentVersion.case_id == case_id)))
    documents, versions = _delete_rows(session, Document.case_id == case_id, DocumentVersion.case_id == case_id,
                                       DocumentCprReference.case_id == case_id)
    _remove_after_commit(uow, keys)
    return {"documents": documents, "document_versions": versions} if documents or versions else {}


def sweep_orphans(uow: UnitOfWork, now: datetime | None = None, grace: timedelta = ORPHAN_GRACE) -> dict:
    """Remove stored files that no document version names and that are older than `grace`.

    They are left by a process that died between writing a file and committing its row, by a
    removal that failed after a deletion committed, or by an interrupted write (a temporary file).
    Idempotent; safe beside running uploads, whose files are younger than `grace`.
    """
    store = _store(uow)
    cutoff = (now or utcnow()) - grace
    checked = removed = 0
    batch: list[str] = []

    def flush() -> int:
        known = set(uow.session.scalars(select(DocumentVersion.storage_key)
                                        .where(DocumentVersion.storage_key.in_(batch))))
        count = 0
        for key in batch:
            if key not in known:
                store.delete(key)
                count += 1
        batch.clear()
        return count

    for item in store.list():
        checked += 1
        if item.modified_at <= cutoff:
            batch.append(item.key)
            if len(batch) >= 500:
                removed += flush()
    if batch:
        removed += flush()
    return {"checked": checked, "removed": removed}



def missing_files(uow: UnitOfWork) -> list[dict]:
    """Document versions whose stored file is gone (a backup restored without its files, an object
    removed from the bucket by hand). Nothing here can bring a file back: the hourly sweep reports
    them so that someone restores them, and their rows stay as they are.
    """
    session = uow.session
    # Rows first, then the files: an upload writes its file before it commits its row.
    rows = session.execute(select(DocumentVersion.storage_key, DocumentVersion.case_id,
                                  DocumentVersion.document_id, DocumentVersion.version)).all()
    present = {item.key for item in _store(uow).list()}
    gone = [row for row in rows if row.storage_key not in present]
    if gone:  # a deletion removes the row, then the file: it may have done both meanwhile
        still = set(session.scalars(select(DocumentVersion.storage_key)
                                    .where(DocumentVersion.storage_key.in_([r.storage_key for r in gone]))))
        gone = [row for row in gone if row.storage_key in still]
    return [{"case_id": r.case_id, "document_id": r.document_id, "version": r.version, "key": r.storage_key}
            for r in gone]

def documents_naming(session: Session, lookup_hash: str) -> list[tuple[int, dict]]:
    """(case id, document) for every document version that names the CPR number with this lookup hash.

    For data-subject requests (engine.services.subject_requests); the newest matching version each.
    """
    rows = session.execute(
        select(DocumentCprReference.case_id, Document.id, Document.name, DocumentVersion.version,
               DocumentVersion.filename, DocumentVersion.created_at)
        .join(DocumentVersion, DocumentVersion.id == DocumentCprReference.version_id)
        .join(Document, Document.id == DocumentCprReference.document_id)
        .where(DocumentCprReference.cpr_hash == lookup_hash)
        .order_by(DocumentCprReference.case_id, Document.id, DocumentVersion.version)).all()
    found: dict[int, tuple[int, dict]] = {}
    for row in rows:
        found[row.id] = (row.case_id, {"document_id": row.id, "name": row.name, "version": row.version,
                                       "filename": row.filename, "uploaded_on": row.created_at.date().isoformat()})
    return list(found.values())
