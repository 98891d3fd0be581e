"""Publishing checks service-task operators; the orphan-document sweep runs on beat's schedule.

On real SQLite and PostgreSQL databases (the `ctx` fixture); the sweep through the eager Celery app
(the real-worker tests are test_workers.py and tests/e2e/test_browser_background.py).
"""
from __future__ import annotations

import os
import time
from datetime import timedelta

import pytest
from flask import Flask
from sqlalchemy import func, select

from engine.errors import ModelError
from engine.models import CaseType, CaseTypeVersion
from engine.models.documents import DocumentVersion
from engine.services import case_types, documents
from engine.storage import store_for
from tests.background_models import service_bpmn
from tests.integration.document_helpers import make_pdf
from tests.integration.gdpr_helpers import install_rework, open_rework
from tests.integration.modeling_helpers import OWNER
from tests.models import install
from workflows.celery_app import beat_schedule, celery_init_app
from workflows.ticker import Ticker


def stored_versions(ctx) -> list[tuple]:
    with ctx.unit_of_work(read_only=True) as uow:
        return uow.session.execute(select(CaseTypeVersion.case_type_id, CaseTypeVersion.number,
                                          CaseTypeVersion.status).order_by(CaseTypeVersion.id)).all()


def test_installing_a_model_with_an_unknown_operator_is_refused_naming_element_and_operator(ctx):
    before = stored_versions(ctx)
    with pytest.raises(ModelError) as refused:
        install(ctx, "servicing", service_bpmn("fax_it", {}), "servicing", "SRV")
    assert refused.value.element == "Service_Call" and refused.value.file == "servicing.bpmn"
    assert "unknown operator 'fax_it'" in refused.value.message
    assert "known: http_request, send_mail" in refused.value.message
    assert stored_versions(ctx) == before
    with ctx.unit_of_work(read_only=True) as uow:
        assert uow.session.scalar(select(func.count(CaseType.id)).where(CaseType.key == "servicing")) == 0


def test_publishing_a_draft_with_an_unknown_operator_is_refused_and_it_stays_a_draft(ctx):
    install(ctx, "servicing", service_bpmn("send_mail", {"to": "'a@example.dk'", "subject": "'Hej'"}),
            "servicing", "SRV")
    with ctx.unit_of_work() as uow:
        draft = case_types.create_draft(uow, "servicing", OWNER)
    with ctx.unit_of_work() as uow:
        saved = case_types.save_draft(uow, "servicing", draft["number"], OWNER,
                                      files={"servicing.bpmn": service_bpmn("fax_it", {})})
    [finding] = [f for f in saved["lint"]["findings"] if f["rule"] == "service-operator-unknown"]
    assert (finding["severity"], finding["element"]) == ("error", "Service_Call")
    assert "'fax_it'" in finding["message"]
    before = stored_versions(ctx)
    with ctx.unit_of_work() as uow, pytest.raises(ModelError) as refused:
        case_types.publish_version(uow, "servicing", draft["number"], OWNER)
    assert refused.value.element == "Service_Call" and "'fax_it'" in refused.value.message
    assert stored_versions(ctx) == before and before[-1][2] == "draft"


# --- the orphan-document sweep ---------------------------------------------------------------------

def test_beat_and_the_embedded_ticker_sweep_orphan_documents_every_hour(settings):
    assert beat_schedule(settings)["sweep-orphan-documents"] == {
        "task": "sagsgang.sweep_orphan_documents", "schedule": timedelta(hours=1)}
    ticker = Ticker.for_app(None, settings.timer_interval)
    assert ticker.jobs["sagsgang.sweep_orphan_documents"] == 3600


def test_the_sweep_task_removes_old_files_without_a_row_and_keeps_documents_and_young_files(ctx):
    app = Flask("sagsgang-test")
    app.extensions["sagsgang"] = ctx
    celery = celery_init_app(app, ctx)
    install_rework(ctx)
    number = open_rework(ctx, title="Tilbygning")
    with ctx.unit_of_work() as uow:
        kept = documents.upload_document(uow, number, "anna", "Tegning.pdf", make_pdf("tegning"))
    store = store_for(ctx.settings)
    store.put("cases/999/1/1", b"left by a process that died before its commit")
    store.put("cases/999/2/1", b"an upload still committing")
    two_hours_ago = time.time() - 2 * 3600
    os.utime(store._path("cases/999/1/1"), (two_hours_ago, two_hours_ago))
    kept_key = next(item.key for item in store.list() if not item.key.startswith("cases/999/"))
    os.utime(store._path(kept_key), (two_hours_ago, two_hours_ago))  # old, but its row names it

    result = celery.tasks["sagsgang.sweep_orphan_documents"].apply_async().get()

    assert result == {"checked": 3, "removed": 1, "missing": 0}
    assert sorted(item.key for item in store.list()) == sorted([kept_key, "cases/999/2/1"])
    with ctx.unit_of_work(read_only=True) as uow:
        _meta, content = documents.download_document(uow, number, kept["id"], "anna")
    assert content.startswith(b"%PDF")
    assert celery.tasks["sagsgang.sweep_orphan_documents"].apply_async().get() == {
        "checked": 2, "removed": 0, "missing": 0}


def test_the_sweep_reports_a_document_whose_file_is_gone_and_keeps_its_row(ctx, caplog):
    app = Flask("sagsgang-test")
    app.extensions["sagsgang"] = ctx
    celery = celery_init_app(app, ctx)
    install_rework(ctx)
    number = open_rework(ctx, title="Tilbygning")
    with ctx.unit_of_work() as uow:
        lost = documents.upload_document(uow, number, "anna", "Tegning.pdf", make_pdf("tegning"))
    with ctx.unit_of_work() as uow:
        documents.upload_document(uow, number, "anna", "Brev.pdf", make_pdf("brev"))
    with ctx.unit_of_work(read_only=True) as uow:
        key = uow.session.scalar(select(DocumentVersion.storage_key)
                                 .where(DocumentVersion.document_id == lost["id"]))
        rows_before = uow.session.execute(select(DocumentVersion.id, DocumentVersion.storage_key)).all()
    store_for(ctx.settings).delete(key)  # removed behind Sagsgang's back

    assert celery.tasks["sagsgang.sweep_orphan_documents"].apply_async().get() == {
        "checked": 1, "removed": 0, "missing": 1}
    assert f"document {lost['id']}, version 1 ({key})" in caplog.text
    with ctx.unit_of_work(read_only=True) as uow:
        assert uow.session.execute(select(DocumentVersion.id, DocumentVersion.storage_key)).all() == rows_before
        assert documents.missing_files(uow) == [{"case_id": uow.session.scalar(
            select(DocumentVersion.case_id).where(DocumentVersion.storage_key == key)),
            "document_id": lost["id"], "version": 1, "key": key}]
