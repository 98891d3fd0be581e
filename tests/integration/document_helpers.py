"""Files to upload in tests, made here (no fixtures on disk), and what the document store holds."""
from __future__ import annotations

import io
import zipfile

import docx
from fpdf import FPDF
from sqlalchemy import func, select

from engine.models import AccessLogEntry, JournalEvent, SearchDocument
from engine.models.documents import Document, DocumentCprReference, DocumentVersion
from engine.storage import store_for

# A PNG's signature and header chunk: enough for sniffing, which reads the magic number.
PNG = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000") + b"\x00" * 32
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" + b"\x00" * 64


def make_pdf(*lines: str) -> bytes:
    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("Helvetica", size=12)
    for line in lines:
        pdf.cell(0, 10, line, new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())


def make_docx(*paragraphs: str) -> bytes:
    document = docx.Document()
    for paragraph in paragraphs:
        document.add_paragraph(paragraph)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def make_zip(**files: bytes) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, content in files.items():
            archive.writestr(name, content)
    return buffer.getvalue()


def stored_keys(ctx) -> list[str]:
    return sorted(item.key for item in store_for(ctx.settings).list())


def document_state(ctx) -> dict:
    """Rows of every document table, the journal, the index and the access log, and the stored files."""
    with ctx.unit_of_work(read_only=True) as uow:
        counts = {model.__tablename__: uow.session.scalar(select(func.count()).select_from(model))
                  for model in (Document, DocumentVersion, DocumentCprReference, JournalEvent, SearchDocument)}
        counts["downloads"] = uow.session.scalar(select(func.count()).select_from(AccessLogEntry)
                                                 .where(AccessLogEntry.action == "download"))
    return {"rows": counts, "files": stored_keys(ctx)}
