"""What an uploaded file is, judged by its bytes, and the text inside it.

A file is accepted only when its bytes are one of the allowed kinds *and* its name ends the way
that kind's files do: a program renamed to `.pdf` is refused for its bytes, a PDF renamed to
`.docx` for its name. The bytes are read by `filetype` (magic numbers); ZIP-based office files
are opened and checked for their main part, since any ZIP archive starts with the same bytes;
plain text has no magic number and is recognised by decoding cleanly.

The text (PDF through pypdf, Word through python-docx, plain text) feeds the search index and
the CPR numbers a data-subject request finds; it is read before anything is stored, so a file
that cannot be read is refused instead of becoming a blind spot of those searches.
"""
from __future__ import annotations

import io
import posixpath
import unicodedata
import zipfile
from dataclasses import dataclass

import filetype

from .errors import InvalidInput

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
ODT = "application/vnd.oasis.opendocument.text"
ODS = "application/vnd.oasis.opendocument.spreadsheet"


@dataclass(frozen=True)
class Kind:
    content_type: str
    label: str
    suffixes: tuple[str, ...]


# The allow-list: what casework receives and produces. Not legacy .doc/.xls (OLE files carry
# macros), not HTML or SVG (script), not archives (they hide what is inside).
KINDS = (
    Kind("application/pdf", "PDF", (".pdf",)),
    Kind(DOCX, "Word", (".docx",)),
    Kind(XLSX, "Excel", (".xlsx",)),
    Kind(ODT, "OpenDocument text", (".odt",)),
    Kind(ODS, "OpenDocument spreadsheet", (".ods",)),
    Kind("image/png", "PNG", (".png",)),
    Kind("image/jpeg", "JPEG", (".jpg", ".jpeg")),
    Kind("image/tiff", "TIFF", (".tif", ".tiff")),
    Kind("text/plain", "plain text", (".txt",)),
    Kind("text/csv", "CSV", (".csv",)),
    Kind("message/rfc822", "e-mail", (".eml",)),
)
BY_TYPE = {kind.content_type: kind for kind in KINDS}
TEXT_TYPES = ("text/plain", "text/csv", "message/rfc822")
ALLOWED_SUFFIXES = tuple(suffix for kind in KINDS for suffix in kind.suffixes)
MAX_NAME = 255
_CONTROL = {c for c in range(32) if chr(c) not in "\t\n\r\f"} | {0x7F}


def describe_allowed() -> str:
    return ", ".join(suffix for suffix in ALLOWED_SUFFIXES)


def clean_filename(filename) -> str:
    """The file's own name without any folder, control characters or surrounding space (NFC)."""
    if not isinstance(filename, str):
        raise InvalidInput("choose a file to upload", field="file", reason="no_file")
    name = unicodedata.normalize("NFC", filename.replace("\\", "/").rsplit("/", 1)[-1])
    # Trailing dots and spaces vanish on Windows; a leading dot hides a file and leaves no name.
    name = "".join(ch for ch in name if ord(ch) >= 32 and ord(ch) != 0x7F).strip().rstrip(". ")
    if not name or name.startswith("."):
        raise InvalidInput("the file has no name; choose a file to upload", field="file", reason="no_file")
    if len(name) > MAX_NAME:
        stem, suffix = posixpath.splitext(name)
        name = stem[:MAX_NAME - len(suffix)] + suffix
    return name


def suffix_of(name: str) -> str:
    return posixpath.splitext(name)[1].lower()


def sniff(content: bytes, filename: str) -> str:
    """The content type of `content`, if it is an allowed kind whose name fits; InvalidInput otherwise."""
    suffix = suffix_of(filename)
    if content[:4] == b"PK\x03\x04":
        content_type = _zip_kind(content)
    else:
        guess = filetype.guess(content[:8192])
        content_type = guess.mime if guess is not None else _text_kind(content, suffix)
    kind = BY_TYPE.get(content_type)
    if kind is None:
        what = f"of type {content_type}" if content_type else "of a kind we cannot recognise"
        raise InvalidInput(f"{filename}: the file is {what}; allowed are {describe_allowed()}", field="file",
                           reason="type_not_allowed", allowed=describe_allowed())
    if suffix not in kind.suffixes:
        raise InvalidInput(f"{filename}: the file's content is {kind.label} ({', '.join(kind.suffixes)}), "
                           f"but its name ends in {suffix or 'no extension'}", field="file",
                           reason="name_does_not_match", kind=kind.label, suffixes=", ".join(kind.suffixes))
    return content_type


def _zip_kind(content: bytes) -> str:
    """An office file by what its archive holds; 'application/zip' for any other archive."""
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            names = set(archive.namelist())
            if "mimetype" in names:
                declared = archive.read("mimetype").decode("ascii", "replace").strip()
                if declared in (ODT, ODS) and "content.xml" in names:
                    return declared
            if "[Content_Types].xml" in names:
                if "word/document.xml" in names:
                    return DOCX
                if "xl/workbook.xml" in names:
                    return XLSX
    except (zipfile.BadZipFile, OSError, RuntimeError, ValueError):
        return "application/zip"  # damaged or encrypted: not an office file we can read
    return "application/zip"


def _text_kind(content: bytes, suffix: str) -> str:
    """Plain text: no NUL or other control bytes, decodes as UTF-8 (or Windows-1252, older Danish files)."""
    text = decode_text(content)
    if text is None or any(ord(ch) in _CONTROL for ch in text[:65536]):
        return ""
    for content_type in TEXT_TYPES:
        if suffix in BY_TYPE[content_type].suffixes:
            return content_type
    return "text/plain"  # refused by its name in sniff(): text is accepted as .txt, .csv or .eml


def decode_text(content: bytes) -> str | None:
    if b"\x00" in content:
        return None
    try:
        return content.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        return content.decode("cp1252")
    except UnicodeDecodeError:
        return None


def extract_text(content: bytes, content_type: str, filename: str) -> str:
    """The text of an accepted file ('' for images and spreadsheets); InvalidInput if it cannot be read."""
    try:
        if content_type == "application/pdf":
            from pypdf import PdfReader  # noqa: PLC0415 - 0.4 s to import; loaded on the first upload only
            reader = PdfReader(io.BytesIO(content))
            if reader.is_encrypted:
                raise InvalidInput(f"{filename}: the PDF is password-protected; save it without a password "
                                   "so its text can be searched", field="file", reason="encrypted")
            return "\n".join(page.extract_text() or "" for page in reader.pages)
        if content_type == DOCX:
            import docx  # noqa: PLC0415 - python-docx, loaded on first use like pypdf
            document = docx.Document(io.BytesIO(content))
            parts = [paragraph.text for paragraph in document.paragraphs]
            for table in document.tables:
                parts.extend(cell.text for row in table.rows for cell in row.cells)
            return "\n".join(parts)
        if content_type in TEXT_TYPES:
            return decode_text(content) or ""
    except InvalidInput:
        raise
    except Exception as err:  # noqa: BLE001 - each reader raises its own kinds on a damaged file
        raise InvalidInput(f"{filename}: the file cannot be read; it may be damaged ({type(err).__name__})",
                           field="file", reason="unreadable") from err
    return ""
