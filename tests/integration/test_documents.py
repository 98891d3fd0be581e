"""Case documents on SQLite and PostgreSQL: upload, versions, download, deletion, bad input, crashes,
case deletion, data-subject requests and search."""
from __future__ import annotations

import io
import json
import os
from dataclasses import replace
from datetime import timedelta

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from engine.context import EngineContext
from engine.db import utcnow
from engine.errors import Conflict, InvalidInput, NotAllowed, NotFound
from engine.models import AccessLogEntry, Case
from engine.models.documents import DocumentVersion
from engine.search import service as search_service
from engine.services import cases, documents, retention, subject_requests
from engine.storage import store_for
from tests.integration.s3_server import s3_settings, s3_server, s3_store  # noqa: F401 - fixtures
from tests.integration.document_helpers import (EXE, PNG, document_state, make_docx, make_pdf, make_zip,
                                                stored_keys)
from tests.integration.gdpr_helpers import install_rework, journal, open_rework, open_task_id, run_to_closed
from tests.models import install, rework_loop_bpmn

ANNE = "010190-1234"


def upload(ctx, number, name, content, actor="anna") -> dict:
    with ctx.unit_of_work() as uow:
        return documents.upload_document(uow, number, actor, name, content)


def case_id_of(ctx, number) -> int:
    with ctx.unit_of_work(read_only=True) as uow:
        return uow.session.scalar(select(Case.id).where(Case.number == number))


@pytest.fixture
def case(ctx) -> str:
    install_rework(ctx)
    return open_rework(ctx, title="Byggesag Søndergade")


def test_upload_new_version_list_history_and_download(ctx, case):
    first = upload(ctx, case, "Ansøgning.pdf", make_pdf("Ansøgning om carport", "Skorstenen er for høj"))
    assert (first["name"], first["version"], first["content_type"]) == ("Ansøgning.pdf", 1, "application/pdf")
    with ctx.unit_of_work() as uow:
        second = documents.add_document_version(uow, case, first["id"], "anna", "Ansøgning rettet.docx",
                                                make_docx("Ansøgning om carport, rettet"))
    assert second["version"] == 2 and second["name"] == "Ansøgning rettet.docx"
    upload(ctx, case, "Situationsplan.png", PNG)

    with ctx.unit_of_work(read_only=True) as uow:
        listed = documents.list_documents(uow, case, "anna")
    assert [(d["name"], d["version"]) for d in listed] == [("Situationsplan.png", 1), ("Ansøgning rettet.docx", 2)]
    with ctx.unit_of_work(read_only=True) as uow:
        history = documents.document_history(uow, case, first["id"], "anna")
    assert [(v["version"], v["filename"], v["uploaded_by"]) for v in history["versions"]] == [
        (2, "Ansøgning rettet.docx", "anna"), (1, "Ansøgning.pdf", "anna")]

    with ctx.unit_of_work(read_only=True) as uow:
        meta, content = documents.download_document(uow, case, first["id"], "anna", version=1, purpose="partshøring")
    assert content.startswith(b"%PDF") and meta["content_type"] == "application/pdf"
    with ctx.unit_of_work(read_only=True) as uow:
        meta, content = documents.download_document(uow, case, first["id"], "anna")
    assert meta["version"] == 2 and content.startswith(b"PK")
    with ctx.unit_of_work(read_only=True) as uow:
        downloads = uow.session.execute(select(AccessLogEntry.purpose, AccessLogEntry.detail).where(
            AccessLogEntry.action == "download").order_by(AccessLogEntry.id)).all()
    assert [(p, d["version"]) for p, d in downloads] == [("partshøring", 1), ("sagsbehandling", 2)]

    # The journal records the facts by id: no document name (it can name a person).
    events = [e for e in journal(ctx, case) if e.kind.startswith("document_")]
    assert [e.kind for e in events] == ["document_added", "document_version_added", "document_added"]
    assert all("Ansøgning" not in json.dumps(e.data) and "Situationsplan" not in json.dumps(e.data) for e in events)
    assert events[0].data == {"document_id": first["id"], "version": 1, "content_type": "application/pdf",
                              "size": events[0].data["size"]}
    # One file per version, keyed by case and document.
    case_id = case_id_of(ctx, case)
    keys = stored_keys(ctx)
    assert len(keys) == 3 and all(key.startswith(f"{case_id}/") for key in keys)


def test_a_document_is_found_by_its_text_and_only_by_those_who_see_the_case(ctx, case):
    document = upload(ctx, case, "Høringssvar.pdf", make_pdf("Naboen klager over skorstenen"))
    with ctx.unit_of_work(read_only=True) as uow:
        hits = search_service.search(uow, "anna", "skorstenen")
    assert [(h["kind"], h["ref"]) for h in hits["items"]] == [("document", f"document:{document['id']}")]
    with ctx.unit_of_work(read_only=True) as uow:
        assert search_service.search(uow, "carl", "skorstenen")["total"] == 0
    with ctx.unit_of_work() as uow:
        documents.add_document_version(uow, case, document["id"], "anna", "Høringssvar.pdf",
                                       make_pdf("Naboen trækker klagen tilbage"))
    with ctx.unit_of_work(read_only=True) as uow:
        assert search_service.search(uow, "anna", "skorstenen")["total"] == 0
        assert search_service.search(uow, "anna", "klagen")["total"] == 1
    with ctx.unit_of_work() as uow:
        documents.delete_document(uow, case, document["id"], "anna")
    with ctx.unit_of_work(read_only=True) as uow:
        assert search_service.search(uow, "anna", "klagen")["total"] == 0


@pytest.mark.parametrize("name, content, reason", [
    ("Tom.pdf", b"", "empty"),
    ("Stor.pdf", make_pdf("x") + b"\n" * 5000, "too_large"),
    ("Faktura.pdf", EXE, "type_not_allowed"),
    ("Program.exe", EXE, "type_not_allowed"),
    ("Arkiv.docx", make_zip(**{"a.exe": EXE}), "type_not_allowed"),
    ("Notat.pdf", "Kære Søren".encode(), "name_does_not_match"),
    ("Ansøgning.docx", make_pdf("en pdf"), "name_does_not_match"),
    ("Side.html", b"<html><script>alert(1)</script></html>", "name_does_not_match"),
    ("Skadet.pdf", b"%PDF-1.4\n" + b"\xff" * 200, "unreadable"),
    ("", make_pdf("x"), "no_file"),
])
def test_bad_files_are_refused_and_leave_data_and_storage_unchanged(ctx, case, name, content, reason):
    upload(ctx, case, "Første.pdf", make_pdf("første"))
    small = EngineContext(replace(ctx.settings, document_max_bytes=4096), ctx.database)
    before = document_state(ctx)
    with small.unit_of_work() as uow, pytest.raises(InvalidInput) as refused:
        documents.upload_document(uow, case, "anna", name, content)
    assert refused.value.field == "file" and refused.value.context["reason"] == reason
    assert document_state(ctx) == before


def test_unknown_case_wrong_user_closed_case_and_unknown_document_change_nothing(ctx, case):
    first = make_pdf("første")
    document = upload(ctx, case, "Første.pdf", first)
    closed = open_rework(ctx, title="Lukket sag")
    run_to_closed(ctx, closed)
    before = document_state(ctx)
    attempts = [
        (NotFound, lambda uow: documents.upload_document(uow, "RW-1999-000001", "anna", "a.pdf", make_pdf("a"))),
        (NotAllowed, lambda uow: documents.upload_document(uow, case, "carl", "a.pdf", make_pdf("a"))),
        (NotFound, lambda uow: documents.upload_document(uow, case, "nobody", "a.pdf", make_pdf("a"))),
        (Conflict, lambda uow: documents.upload_document(uow, closed, "anna", "a.pdf", make_pdf("a"))),
        (NotAllowed, lambda uow: documents.add_document_version(uow, case, document["id"], "carl", "a.pdf",
                                                                make_pdf("b"))),
        (NotFound, lambda uow: documents.add_document_version(uow, case, 999, "anna", "a.pdf", make_pdf("b"))),
        (InvalidInput, lambda uow: documents.add_document_version(uow, case, document["id"], "anna", "igen.pdf",
                                                                  first)),
        (NotAllowed, lambda uow: documents.download_document(uow, case, document["id"], "carl")),
        (NotFound, lambda uow: documents.download_document(uow, case, document["id"], "anna", version=7)),
        (NotFound, lambda uow: documents.download_document(uow, closed, document["id"], "anna")),
        (NotAllowed, lambda uow: documents.delete_document(uow, case, document["id"], "carl")),
        (NotAllowed, lambda uow: documents.list_documents(uow, case, "carl")),
    ]
    for error, attempt in attempts:
        with ctx.unit_of_work() as uow, pytest.raises(error):
            attempt(uow)
    assert document_state(ctx) == before


def test_a_closed_case_keeps_its_documents_readable_and_unchangeable(ctx, case):
    document = upload(ctx, case, "Afgørelse.pdf", make_pdf("Afgørelse"))
    run_to_closed(ctx, case)
    with ctx.unit_of_work(read_only=True) as uow:
        _meta, content = documents.download_document(uow, case, document["id"], "anna")
    assert content.startswith(b"%PDF")
    for attempt in (lambda uow: documents.delete_document(uow, case, document["id"], "anna"),
                    lambda uow: documents.add_document_version(uow, case, document["id"], "anna", "Ny.pdf",
                                                               make_pdf("ny"))):
        with ctx.unit_of_work() as uow, pytest.raises(Conflict, match="only while it is open"):
            attempt(uow)


def test_deleting_a_document_removes_its_rows_and_every_version_file(ctx, case):
    keep = upload(ctx, case, "Behold.pdf", make_pdf("behold"))
    gone = upload(ctx, case, "Forkert sag.pdf", make_pdf("forkert"))
    with ctx.unit_of_work() as uow:
        documents.add_document_version(uow, case, gone["id"], "anna", "Forkert sag.pdf", make_pdf("forkert 2"))
    assert len(stored_keys(ctx)) == 3
    with ctx.unit_of_work() as uow:
        assert documents.delete_document(uow, case, gone["id"], "anna") == {"id": gone["id"], "versions": 2}
    with ctx.unit_of_work(read_only=True) as uow:
        assert [d["id"] for d in documents.list_documents(uow, case, "anna")] == [keep["id"]]
    assert len(stored_keys(ctx)) == 1
    assert journal(ctx, case)[-1].data == {"document_id": gone["id"], "versions": 2}


def test_a_rolled_back_upload_takes_its_file_away(ctx, case):
    before = document_state(ctx)
    with ctx.unit_of_work() as uow:
        def fail():
            raise RuntimeError("the database went away during COMMIT")
        uow.commit = fail
        with pytest.raises(RuntimeError):
            documents.upload_document(uow, case, "anna", "Brev.pdf", make_pdf("brev"))
        assert len(stored_keys(ctx)) == 1  # written before the commit ...
    assert document_state(ctx) == before  # ... and removed when the unit of work rolled back


def test_a_crash_between_file_and_commit_leaves_an_orphan_that_the_sweep_removes(ctx, case):
    kept = upload(ctx, case, "Behold.pdf", make_pdf("behold"))
    before = document_state(ctx)
    with ctx.unit_of_work() as uow:
        # The process dies after writing the file: no commit, and no clean-up hook ever runs.
        def die():
            raise SystemExit("killed")
        uow.commit = die
        uow.after_rollback = lambda hook: None
        with pytest.raises(SystemExit):
            documents.upload_document(uow, case, "anna", "Brev.pdf", make_pdf("brev"))
    assert document_state(ctx)["rows"] == before["rows"]  # no row without a file ...
    orphans = sorted(set(stored_keys(ctx)) - set(before["files"]))
    assert len(orphans) == 1  # ... but a file without a row

    with ctx.unit_of_work(read_only=True) as uow:  # too young: its upload might still be committing
        assert documents.sweep_orphans(uow) == {"checked": 2, "removed": 0}
    with ctx.unit_of_work(read_only=True) as uow:
        assert documents.sweep_orphans(uow, now=utcnow() + timedelta(hours=2)) == {"checked": 2, "removed": 1}
    assert document_state(ctx) == before
    with ctx.unit_of_work(read_only=True) as uow:
        _meta, content = documents.download_document(uow, case, kept["id"], "anna")
    assert content.startswith(b"%PDF")


def test_deleting_a_case_removes_its_documents_from_storage(ctx, case):
    other = open_rework(ctx, title="Anden sag")
    document = upload(ctx, case, "Ansøgning.pdf", make_pdf("ansøgning"))
    with ctx.unit_of_work() as uow:
        documents.add_document_version(uow, case, document["id"], "anna", "Ansøgning.pdf", make_pdf("ansøgning 2"))
    upload(ctx, case, f"Kopi af sygesikring {ANNE}.txt", f"CPR {ANNE}".encode())
    upload(ctx, other, "Andet.pdf", make_pdf("andet"))
    case_id, other_id = case_id_of(ctx, case), case_id_of(ctx, other)
    assert len([k for k in stored_keys(ctx) if k.startswith(f"{case_id}/")]) == 3
    run_to_closed(ctx, case)
    with ctx.unit_of_work(read_only=True) as uow:
        due = uow.session.scalar(select(Case.deletion_due_on).where(Case.id == case_id))
    with ctx.unit_of_work() as uow:
        tombstone = retention.delete_case(uow, case, "erik", today=due)
    assert tombstone["removed"]["documents"] == 2 and tombstone["removed"]["document_versions"] == 3
    assert [k for k in stored_keys(ctx) if k.startswith(f"{case_id}/")] == []
    assert [k.split("/")[0] for k in stored_keys(ctx)] == [str(other_id)]
    assert not (ctx.settings.document_path / str(case_id)).exists()  # no folder left naming the case
    with ctx.unit_of_work(read_only=True) as uow:
        remains = retention.verify_deletion(uow, case, "erik")
    assert remains["clean"], remains


def test_a_deletion_that_rolls_back_keeps_the_files(ctx, case):
    upload(ctx, case, "Ansøgning.pdf", make_pdf("ansøgning"))
    run_to_closed(ctx, case)
    with ctx.unit_of_work(read_only=True) as uow:
        due = uow.session.scalar(select(Case.deletion_due_on).where(Case.number == case))
    before = document_state(ctx)
    with ctx.unit_of_work() as uow:
        uow.commit = lambda: (_ for _ in ()).throw(RuntimeError("lost"))
        with pytest.raises(RuntimeError):
            retention.delete_case(uow, case, "erik", today=due)
    assert document_state(ctx) == before


def test_a_cpr_number_in_a_document_is_found_by_a_data_subject_request_and_never_stored(ctx, case):
    other = open_rework(ctx, title="Sag uden Anne")
    upload(ctx, other, "Andet.pdf", make_pdf("Bent 020290-5678"))
    named = upload(ctx, case, f"Lægeerklæring {ANNE}.pdf", make_pdf("Lægeerklæring", f"Patient: Anne, CPR {ANNE}"))
    assert named["name"] == "Lægeerklæring [CPR].pdf"
    word = upload(ctx, case, "Notat.docx", make_docx(f"Samtale med borger {ANNE.replace('-', '')}"))
    upload(ctx, case, "Uden.pdf", make_pdf("ingen personnumre"))
    with ctx.unit_of_work(read_only=True) as uow:
        assert uow.session.scalar(select(Case.cpr_detected).where(Case.number == case))
    assert "cpr_detected" in [e.kind for e in journal(ctx, case)]

    with ctx.unit_of_work() as uow:
        found = subject_requests.find_person(uow, ANNE, "erik", "indsigtsanmodning")
    assert [(f["number"], f["documents"]) for f in found] == [
        (case, ["Lægeerklæring [CPR].pdf", "Notat.docx"])]
    with ctx.unit_of_work() as uow:
        export = subject_requests.export_person(uow, ANNE, "erik", "indsigtsanmodning")
    [exported] = export["cases"]
    assert [(d["document_id"], d["name"], d["version"]) for d in exported["documents"]] == [
        (named["id"], "Lægeerklæring [CPR].pdf", 1), (word["id"], "Notat.docx", 1)]
    pdf_text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(subject_requests.export_pdf(export))).pages)
    assert "Notat.docx" in pdf_text

    # The number is in the files only, not in any row.
    with ctx.unit_of_work(read_only=True) as uow:
        rows = "\n".join(repr(tuple(row)) for table in DocumentVersion.metadata.sorted_tables
                         for row in uow.session.execute(select(table)))
    assert ANNE not in rows and ANNE.replace("-", "") not in rows


def test_data_subject_search_no_longer_finds_a_deleted_document(ctx, case):
    document = upload(ctx, case, "Brev.txt", f"Til {ANNE}".encode())
    with ctx.unit_of_work() as uow:
        documents.delete_document(uow, case, document["id"], "anna")
    with ctx.unit_of_work() as uow:
        assert subject_requests.find_person(uow, ANNE, "erik", "indsigtsanmodning") == []


def test_the_store_is_the_configured_one(ctx):
    store = store_for(ctx.settings)
    assert store.name == "file" and store.root == ctx.settings.instance_path / "documents"


def test_cases_keep_their_documents_in_s3_and_deletion_removes_them(ctx, s3_store):
    """The services on the S3 store: upload, version, download, orphan sweep, case deletion."""
    s3_ctx = EngineContext(s3_settings(ctx.settings, s3_store.client.meta.endpoint_url,
                                       s3_store.prefix.rstrip("/")), ctx.database)
    assert store_for(s3_ctx.settings) is s3_store
    install_rework(s3_ctx)
    number = open_rework(s3_ctx)
    with s3_ctx.unit_of_work() as uow:
        document = documents.upload_document(uow, number, "anna", "Ansøgning.pdf", make_pdf("ansøgning"))
    with s3_ctx.unit_of_work() as uow:
        documents.add_document_version(uow, number, document["id"], "anna", "Ansøgning.pdf", make_pdf("rettet"))
    with s3_ctx.unit_of_work(read_only=True) as uow:
        _meta, content = documents.download_document(uow, number, document["id"], "anna", version=1)
    assert content.startswith(b"%PDF")
    assert len(list(s3_store.list())) == 2
    s3_store.put("999/1/1-orphan", b"left by a crash")
    with s3_ctx.unit_of_work(read_only=True) as uow:
        assert documents.sweep_orphans(uow, now=utcnow() + timedelta(hours=2)) == {"checked": 3, "removed": 1}
    run_to_closed(s3_ctx, number)
    with s3_ctx.unit_of_work(read_only=True) as uow:
        due = uow.session.scalar(select(Case.deletion_due_on).where(Case.number == number))
    with s3_ctx.unit_of_work() as uow:
        tombstone = retention.delete_case(uow, number, "erik", today=due)
    assert tombstone["removed"]["document_versions"] == 2
    assert list(s3_store.list()) == []
    assert json.dumps(tombstone).count("Ansøgning") == 0
    assert not os.path.exists(s3_ctx.settings.document_path)  # nothing went to disk


# --- task forms with document fields ------------------------------------------------------------

ATTACHING_FORM = {"type": "object", "required": ["again", "letter"], "properties": {
    "again": {"type": "boolean"},
    "letter": {"type": "string", "format": "data-url", "title": "Brev"},
    "appendix": {"type": "string", "x-sagsgang-document": True, "title": "Bilag"},
    "note": {"type": "string"}}}


def attaching_case(ctx) -> str:
    install(ctx, "attach", rework_loop_bpmn("attach"), "attach", "ATT", forms={"work.json": ATTACHING_FORM})
    with ctx.unit_of_work() as uow:
        return cases.open_case(uow, "attach", "anna", "Sag med bilag", "", {})["number"]


def test_the_fields_of_a_form_that_take_documents():
    assert documents.document_fields(ATTACHING_FORM) == ["letter", "appendix"]
    assert documents.document_fields(None) == [] and documents.document_fields({"type": "object"}) == []


def test_a_task_form_attaches_its_files_to_the_case_in_the_same_unit_of_work(ctx):
    number = attaching_case(ctx)
    task_id = open_task_id(ctx, number)
    before = document_state(ctx)
    # A refused completion (the form misses 'again') keeps neither the documents nor their files.
    with ctx.unit_of_work() as uow, pytest.raises(InvalidInput):
        documents.complete_task_with_documents(uow, task_id, "anna", {}, {"letter": ("Brev.pdf", make_pdf("brev"))})
    # A refused file names its field; a field the form does not mark takes no file.
    with ctx.unit_of_work() as uow, pytest.raises(InvalidInput) as refused:
        documents.complete_task_with_documents(uow, task_id, "anna", {"again": False},
                                               {"letter": ("Brev.pdf", EXE)})
    assert refused.value.field == "letter" and refused.value.context["reason"] == "type_not_allowed"
    with ctx.unit_of_work() as uow, pytest.raises(InvalidInput, match="no document field") as refused:
        documents.complete_task_with_documents(uow, task_id, "anna", {"again": False},
                                               {"note": ("Brev.pdf", make_pdf("brev"))})
    with ctx.unit_of_work() as uow, pytest.raises(NotAllowed):
        documents.complete_task_with_documents(uow, task_id, "carl", {"again": False},
                                               {"letter": ("Brev.pdf", make_pdf("brev"))})
    assert document_state(ctx) == before

    with ctx.unit_of_work() as uow:
        documents.complete_task_with_documents(uow, task_id, "anna", {"again": False, "note": "se bilag"}, {
            "letter": ("Brev.pdf", make_pdf("Kære borger")), "appendix": ("Tegning.png", PNG)})
    with ctx.unit_of_work(read_only=True) as uow:
        listed = {d["name"]: d["id"] for d in documents.list_documents(uow, number, "anna")}
    assert set(listed) == {"Brev.pdf", "Tegning.png"}
    completed = [e for e in journal(ctx, number) if e.kind == "task_completed"][-1]
    assert completed.data["fields"] == ["again", "appendix", "letter", "note"]
    with ctx.unit_of_work(read_only=True) as uow:
        state = uow.session.scalar(select(Case.state).where(Case.number == number))
    assert f'"letter":"document:{listed["Brev.pdf"]}"' in state
    assert f'"appendix":"document:{listed["Tegning.png"]}"' in state
