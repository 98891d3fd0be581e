"""A case's documents: list, upload (multipart), new versions, download and delete.

The same engine service as the UI's documents pages: it checks size, kind (sniffed from the bytes)
and permissions, and writes the list, each version history and each download to the access log.
"""
from __future__ import annotations

from flask import Response, current_app, url_for
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import RAISE

from engine.document_content import BY_TYPE
from engine.services import documents

from ..ui.documents import _attachment
from .auth import current_actor
from .schemas import ID, DeletedDocument, Document, DocumentHistory, DownloadArgs, UploadArgs, ViewArgs

bp = Blueprint("api_documents", __name__, url_prefix="/api/cases", description="Documents of a case")

LOCATION = {"Location": {"description": "The document", "schema": {"type": "string"}}}
# A download is served as the kind its bytes were sniffed as: one of these.
CONTENT = {content_type: {"schema": {"type": "string", "format": "binary"}} for content_type in sorted(BY_TYPE)}


def _engine():
    return current_app.extensions["sagsgang"]


def _read(upload) -> tuple[str, bytes]:
    """The file's name and at most the limit plus one byte (the engine refuses more anyway)."""
    return upload.filename or "", upload.stream.read(_engine().settings.document_max_bytes + 1)


@bp.route("/<string:number>/documents")
class Documents(MethodView):
    @bp.doc(operationId="listDocuments")
    @bp.arguments(ViewArgs, location="query", as_kwargs=True, unknown=RAISE)
    @bp.response(200, Document(many=True))
    def get(self, number: str, purpose: str | None = None):
        """List a case's documents, last changed first (a view of the case for the access log)"""
        with _engine().unit_of_work(read_only=True) as uow:
            return documents.list_documents(uow, number, current_actor(), purpose)

    @bp.doc(operationId="uploadDocument")
    @bp.arguments(UploadArgs, location="files")
    @bp.response(201, Document, headers=LOCATION)
    def post(self, files, number: str):
        """Add a document to an open case you may see (PDF, Word, text, images, ...; see the problem's detail)"""
        filename, content = _read(files["file"])
        with _engine().unit_of_work() as uow:
            added = documents.upload_document(uow, number, current_actor(), filename, content)
        return added, 201, {"Location": url_for("api_documents.DocumentById", number=number, document_id=added["id"])}


@bp.route(f"/<string:number>/documents/<{ID}:document_id>")
class DocumentById(MethodView):
    @bp.doc(operationId="getDocument")
    @bp.arguments(ViewArgs, location="query", as_kwargs=True, unknown=RAISE)
    @bp.response(200, DocumentHistory)
    def get(self, number: str, document_id: int, purpose: str | None = None):
        """Get a document with all its versions, newest first (a view of the case for the access log)"""
        with _engine().unit_of_work(read_only=True) as uow:
            return documents.document_history(uow, number, document_id, current_actor(), purpose)

    @bp.doc(operationId="deleteDocument")
    @bp.response(200, DeletedDocument)
    def delete(self, number: str, document_id: int):
        """Remove a document and all its versions from an open case (filed on the wrong case, say)"""
        with _engine().unit_of_work() as uow:
            return documents.delete_document(uow, number, document_id, current_actor())


@bp.post(f"/<string:number>/documents/<{ID}:document_id>/versions")
@bp.doc(operationId="addDocumentVersion")
@bp.arguments(UploadArgs, location="files")
@bp.response(201, Document, headers=LOCATION)
def add_version(files, number: str, document_id: int):
    """Add a new version of a document; the earlier ones stay downloadable (the same bytes again: 422)"""
    filename, content = _read(files["file"])
    with _engine().unit_of_work() as uow:
        added = documents.add_document_version(uow, number, document_id, current_actor(), filename, content)
    return added, 201, {"Location": url_for("api_documents.DocumentById", number=number, document_id=document_id)}


@bp.get(f"/<string:number>/documents/<{ID}:document_id>/content")
@bp.doc(operationId="downloadDocument", responses={200: {
    "description": "The file, as an attachment", "content": CONTENT,
    "headers": {"Content-Disposition": {"schema": {"type": "string"}}}}})
@bp.arguments(DownloadArgs, location="query", as_kwargs=True, unknown=RAISE)
def download(number: str, document_id: int, version: int | None = None, purpose: str | None = None):
    """Download a version of a document (the newest by default); written to the access log as a download"""
    with _engine().unit_of_work(read_only=True) as uow:
        meta, content = documents.download_document(uow, number, document_id, current_actor(), version, purpose)
    response = Response(content, mimetype=meta["content_type"])
    response.headers["Content-Disposition"] = _attachment(meta["filename"])
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response
