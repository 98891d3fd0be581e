"""A case's documents: the section on the case page, upload, versions, download and deletion.

Plain forms (multipart, CSRF-protected like every form) that work without JavaScript. The
engine checks size, kind and permissions; this module reads the upload, at most one byte past
the limit, and shows the engine's refusals beside the file field in the user's language.
"""
from __future__ import annotations

from urllib.parse import quote

from flask import Blueprint, Response, current_app, flash, g, redirect, render_template, request, url_for
from flask_babel import format_decimal
from flask_babel import gettext as _
from werkzeug.exceptions import RequestEntityTooLarge

from engine.errors import InvalidInput
from engine.services import documents

from ..security import current_user

bp = Blueprint("documents", __name__, url_prefix="/cases")


def _engine():
    return current_app.extensions["sagsgang"]


def _max_bytes() -> int:
    return _engine().settings.document_max_bytes


@bp.app_context_processor
def document_helpers():
    def case_documents(number: str) -> list[dict]:
        """The documents shown on the case page (its view of the case is logged by the page itself)."""
        if not getattr(g, "user", None):
            return []
        with _engine().unit_of_work(read_only=True) as uow:
            return documents.list_documents(uow, number, current_user(), log_view=False)

    return {"case_documents": case_documents, "document_kind": document_kind, "document_size": document_size,
            "document_max_mb": lambda: document_size(_max_bytes())}


def document_kind(content_type: str) -> str:
    return {
        "application/pdf": "PDF", "text/plain": _("Text"), "text/csv": "CSV", "message/rfc822": _("E-mail"),
        "image/png": _("Image (PNG)"), "image/jpeg": _("Image (JPEG)"), "image/tiff": _("Image (TIFF)"),
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "Word",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "Excel",
        "application/vnd.oasis.opendocument.text": _("OpenDocument text"),
        "application/vnd.oasis.opendocument.spreadsheet": _("OpenDocument spreadsheet"),
    }.get(content_type, content_type)


def document_size(size: int) -> str:
    if size < 1024:
        return _("%(n)s bytes", n=size)
    if size < 1024 * 1024:
        return _("%(n)s kB", n=format_decimal(round(size / 1024, 1)))
    return _("%(n)s MB", n=format_decimal(round(size / (1024 * 1024), 1)))


def upload_problem(error: InvalidInput) -> str:
    """The engine's refusal of a file, in the user's language."""
    context = error.context
    reason = context.get("reason")
    if reason == "no_file":
        return _("Choose a file to upload.")
    if reason == "empty":
        return _("The file is empty.")
    if reason == "too_large":
        return _("The file is too large. Files may be at most %(size)s.", size=document_size(_max_bytes()))
    if reason == "type_not_allowed":
        return _("Files of this kind cannot be added. Allowed: %(allowed)s.", allowed=context.get("allowed", ""))
    if reason == "name_does_not_match":
        return _("The file's content is %(kind)s, but its name does not end in %(suffixes)s. Check that it is "
                 "the right file.", kind=context.get("kind", ""), suffixes=context.get("suffixes", ""))
    if reason == "encrypted":
        return _("The PDF is password-protected. Save it without a password, so its text can be searched.")
    if reason == "unreadable":
        return _("The file cannot be read; it may be damaged.")
    if reason == "same_as_current":
        return _("The file is the same as the current version.")
    return error.message


def _read_upload() -> tuple[str, bytes | None]:
    """The uploaded file's name and at most the limit plus one byte (more is refused anyway)."""
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        return "", None
    return upload.filename, upload.stream.read(_max_bytes() + 1)


def _documents_page(number: str, error: str | None = None, status: int = 200):
    with _engine().unit_of_work(read_only=True) as uow:
        page = documents.case_documents(uow, number, current_user())
    return render_template("documents/index.html", page=page, upload_error=error), status


@bp.get("/<number>/documents")
def index(number: str):
    return _documents_page(number)


@bp.post("/<number>/documents")
def upload(number: str):
    filename, content = _read_upload()
    try:
        with _engine().unit_of_work() as uow:
            added = documents.upload_document(uow, number, current_user(), filename, content)
    except InvalidInput as err:
        return _documents_page(number, upload_problem(err), 422)
    flash(_("The document %(name)s is added.", name=added["name"]), "success")
    return redirect(url_for("cases.show", number=number, _anchor="documents"))


def _history_page(number: str, document_id: int, error: str | None = None, status: int = 200):
    with _engine().unit_of_work(read_only=True) as uow:
        history = documents.document_history(uow, number, document_id, current_user())
    return render_template("documents/history.html", number=number, history=history, upload_error=error), status


@bp.get("/<number>/documents/<int:document_id>")
def history(number: str, document_id: int):
    return _history_page(number, document_id)


@bp.post("/<number>/documents/<int:document_id>/versions")
def new_version(number: str, document_id: int):
    filename, content = _read_upload()
    try:
        with _engine().unit_of_work() as uow:
            added = documents.add_document_version(uow, number, document_id, current_user(), filename, content)
    except InvalidInput as err:
        return _history_page(number, document_id, upload_problem(err), 422)
    flash(_("Version %(version)s of %(name)s is added.", version=added["version"], name=added["name"]), "success")
    return redirect(url_for("documents.history", number=number, document_id=document_id))


@bp.get("/<number>/documents/<int:document_id>/download")
def download(number: str, document_id: int):
    version = request.args.get("version", type=int)
    with _engine().unit_of_work(read_only=True) as uow:
        meta, content = documents.download_document(uow, number, document_id, current_user(), version,
                                                    purpose=request.args.get("purpose"))
    response = Response(content, mimetype=meta["content_type"])
    # Always a download, never shown inline: a file is someone else's content, not our page.
    response.headers["Content-Disposition"] = _attachment(meta["filename"])
    return response


def _attachment(filename: str) -> str:
    fallback = filename.encode("ascii", "replace").decode("ascii").replace("?", "_").replace('"', "_")
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"


@bp.post("/<number>/documents/<int:document_id>/delete")
def delete(number: str, document_id: int):
    with _engine().unit_of_work() as uow:
        documents.delete_document(uow, number, document_id, current_user())
    flash(_("The document is deleted."), "success")
    return redirect(url_for("cases.show", number=number, _anchor="documents"))


@bp.errorhandler(RequestEntityTooLarge)
def too_large(_error):
    """A request past the app's MAX_CONTENT_LENGTH is cut off before sign-in, CSRF and the view are
    checked, so the answer shows no case data: only why, and the way back."""
    number = (request.view_args or {}).get("number", "")
    body = {"type": "about:blank", "title": _("File too large"), "status": 413,
            "detail": _("The file is too large. Files may be at most %(size)s.", size=document_size(_max_bytes()))}
    return render_template("documents/too_large.html", problem=body, number=number), 413
