"""A file's kind comes from its bytes, and its name must agree; names are cleaned; text is read."""
from __future__ import annotations

import pytest

from engine import document_content as content
from engine.errors import InvalidInput
from tests.integration.document_helpers import EXE, PNG, make_docx, make_pdf, make_zip

JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01" + b"\x00" * 32
ODT = make_zip(mimetype=content.ODT.encode(), **{"content.xml": b"<office:document-content/>"})
XLSX = make_zip(**{"[Content_Types].xml": b"<Types/>", "xl/workbook.xml": b"<workbook/>"})


@pytest.mark.parametrize("name, data, expected", [
    ("Ansøgning.pdf", make_pdf("hej"), "application/pdf"),
    ("Notat.DOCX", make_docx("hej"), content.DOCX),
    ("Regnskab.xlsx", XLSX, content.XLSX),
    ("Referat.odt", ODT, content.ODT),
    ("Foto.jpeg", JPEG, "image/jpeg"),
    ("Foto.jpg", JPEG, "image/jpeg"),
    ("Plan.png", PNG, "image/png"),
    ("Brev.txt", "Kære Søren\nMed venlig hilsen".encode(), "text/plain"),
    ("Gammelt brev.txt", "Kære Søren".encode("cp1252"), "text/plain"),
    ("Liste.csv", b"navn;alder\nBo;3\n", "text/csv"),
    ("Mail.eml", b"From: a@example.dk\r\nSubject: hej\r\n\r\nTekst", "message/rfc822"),
])
def test_allowed_kinds_are_recognised_by_their_bytes(name, data, expected):
    assert content.sniff(data, name) == expected


@pytest.mark.parametrize("name, data, reason", [
    ("Faktura.pdf", EXE, "type_not_allowed"),            # a program renamed
    ("Arkiv.zip", make_zip(a=b"x"), "type_not_allowed"),
    ("Arkiv.docx", make_zip(**{"word/document.xml": b"x"}), "type_not_allowed"),  # no [Content_Types].xml
    ("Gammel.doc", bytes.fromhex("d0cf11e0a1b11ae1") + b"\x00" * 600, "type_not_allowed"),  # OLE, macros
    ("Binær.txt", b"abc\x00def", "type_not_allowed"),
    ("Styring.txt", b"abc\x1b[2Jdef", "type_not_allowed"),
    ("Ansøgning.docx", make_pdf("hej"), "name_does_not_match"),  # a PDF renamed
    ("Notat.pdf", b"just text", "name_does_not_match"),
    ("Side.html", b"<html><body>hej</body></html>", "name_does_not_match"),
    ("Uden endelse", make_pdf("hej"), "name_does_not_match"),
])
def test_other_kinds_and_mismatched_names_are_refused(name, data, reason):
    with pytest.raises(InvalidInput) as refused:
        content.sniff(data, name)
    assert refused.value.field == "file" and refused.value.context["reason"] == reason
    assert name in refused.value.message


@pytest.mark.parametrize("given, expected", [
    ("C:\\Users\\anna\\Skrivebord\\Brev.pdf", "Brev.pdf"),
    ("../../etc/Brev.pdf", "Brev.pdf"),
    ("  Ans\u0303øgning\x07.pdf ", "Ans\u0303øgning.pdf"),
    ("a" * 300 + ".pdf", "a" * 251 + ".pdf"),
])
def test_names_lose_folders_and_control_characters(given, expected):
    assert content.clean_filename(given) == expected


@pytest.mark.parametrize("given", ["", "   ", ".pdf", "../", None, 3])
def test_a_missing_name_is_refused(given):
    with pytest.raises(InvalidInput, match="file"):
        content.clean_filename(given)


def test_text_is_read_from_pdf_word_and_plain_text():
    assert "Skorstenen" in content.extract_text(make_pdf("Skorstenen er for høj"), "application/pdf", "a.pdf")
    assert "Carport" in content.extract_text(make_docx("Carport", "36 m2"), content.DOCX, "a.docx")
    assert content.extract_text("Kære Søren".encode("cp1252"), "text/plain", "a.txt") == "Kære Søren"
    assert content.extract_text(PNG, "image/png", "a.png") == ""


def test_a_damaged_pdf_is_refused_by_name():
    with pytest.raises(InvalidInput, match="Skadet.pdf: the file cannot be read") as refused:
        content.extract_text(b"%PDF-1.4\n" + b"\xff" * 100, "application/pdf", "Skadet.pdf")
    assert refused.value.context["reason"] == "unreadable"
