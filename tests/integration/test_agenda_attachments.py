"""Attachments that are the case's documents: picking, pinning, who may download, the access log,
and what the published agenda, its PDF and its OS2web JSON say of them (both databases)."""
from __future__ import annotations

from io import BytesIO

import pytest
from pypdf import PdfReader
from sqlalchemy import func, select

from engine.errors import Conflict, InvalidInput, NotAllowed
from engine.models import AccessLogEntry, AgendaAttachment
from engine.services import agenda, agenda_attachments, documents
from engine.services.agenda_documents import publication_pdf
from tests.agenda_helpers import ITEM, case_to_committee, complete, item_of, load_demo_committees, plan
from tests.integration.document_helpers import make_pdf
from tests.web import Browser

PLAN = make_pdf("Situationsplan for Havnegade 4")
HEALTH = make_pdf("Laegeerklaering: ejerens helbred")


def upload(ctx, number: str, name: str, content: bytes, actor: str = "anna") -> int:
    with ctx.unit_of_work() as uow:
        return documents.upload_document(uow, number, actor, name, content)["id"]


def attach(ctx, item_id: int, document_id, actor: str = "anna", **extra) -> dict:
    with ctx.unit_of_work() as uow:
        return agenda_attachments.attach_document(uow, actor, item_id, document_id, **extra)


def download(ctx, attachment_id: int, actor: str) -> tuple[dict, bytes]:
    with ctx.unit_of_work() as uow:
        return agenda_attachments.download_attachment(uow, actor, attachment_id)


def downloads(ctx) -> list[tuple[str, dict]]:
    with ctx.unit_of_work(read_only=True) as uow:
        return [(row.action, row.detail) for row in uow.session.scalars(
            select(AccessLogEntry).where(AccessLogEntry.action == "download").order_by(AccessLogEntry.id))]


def attachment_rows(ctx) -> int:
    with ctx.unit_of_work(read_only=True) as uow:
        return uow.session.scalar(select(func.count()).select_from(AgendaAttachment))


@pytest.fixture
def setup(ctx):
    """A case in the queue of Teknik- og Miljøudvalget with two documents, and a planned meeting."""
    load_demo_committees(ctx)
    number = case_to_committee(ctx, "local", item=dict(ITEM, agenda_attachments=[]))
    item = item_of(ctx, number)
    return {"number": number, "item": item["id"], "plan": upload(ctx, number, "situationsplan.pdf", PLAN),
            "health": upload(ctx, number, "laegeerklaering.pdf", HEALTH), "meeting": plan(ctx, "teknik-miljoe-udvalget")}


def test_the_caseworker_and_the_secretary_pick_case_documents_and_the_published_agenda_lists_them(ctx, setup):
    open_one = attach(ctx, setup["item"], setup["plan"])  # the caseworker, who sees the case
    closed_one = attach(ctx, setup["item"], setup["health"], actor="dorte", closed=True, title="Lægeerklæring")
    assert open_one["title"] == "situationsplan.pdf" and open_one["version"] == 1 and not open_one["closed"]
    assert closed_one["closed"] and closed_one["title"] == "Lægeerklæring"
    # A newer version uploaded later does not change what was attached.
    with ctx.unit_of_work() as uow:
        documents.add_document_version(uow, setup["number"], setup["plan"], "anna", "situationsplan.pdf",
                                       make_pdf("Situationsplan, revideret"))
    with ctx.unit_of_work() as uow:
        agenda.add_to_agenda(uow, "dorte", setup["meeting"], setup["item"])
    with ctx.unit_of_work() as uow:
        agenda.publish_agenda(uow, "dorte", setup["meeting"])
    with ctx.unit_of_work(read_only=True) as uow:
        published = agenda.publication(uow.session, setup["meeting"], "agenda")
    enclosures = published["bullet_points"][0]["enclosures"]
    assert [(e["number"], e["title"], e["access"]) for e in enclosures] == [
        ("1.1", "situationsplan.pdf", True), ("1.2", "Lukket bilag", False)]
    assert enclosures[0]["attachment_id"] == open_one["id"] and "attachment_id" not in enclosures[1]
    text = " ".join(PdfReader(BytesIO(publication_pdf(published))).pages[0].extract_text().split())
    assert "Bilag 1.1: situationsplan.pdf" in text and "Bilag 1.2: Lukket bilag" in text
    assert "Lægeerklæring" not in text
    meta, content = download(ctx, open_one["id"], "bo")  # any employee, once published
    assert content == PLAN and meta["filename"] == "situationsplan.pdf"


def test_closed_attachments_are_for_the_committee_only_and_every_download_is_logged(ctx, setup):
    closed_one = attach(ctx, setup["item"], setup["health"], closed=True)
    open_one = attach(ctx, setup["item"], setup["plan"])
    with pytest.raises(NotAllowed):
        download(ctx, open_one["id"], "erik")  # neither the case nor the committee, nothing published
    for outsider in ("anna", "erik", "admin", "helle"):  # caseworker, other employee, administrator, other committee
        with pytest.raises(NotAllowed, match="closed attachment"):
            download(ctx, closed_one["id"], outsider)
    assert downloads(ctx) == []
    for member in ("freja", "dorte"):  # a member and the secretary
        assert download(ctx, closed_one["id"], member)[1] == HEALTH
    assert download(ctx, open_one["id"], "anna")[1] == PLAN
    logged = downloads(ctx)
    assert [d["agenda_attachment_id"] for _, d in logged] == [closed_one["id"], closed_one["id"], open_one["id"]]
    assert logged[0][1]["document_id"] == setup["health"] and logged[0][1]["version"] == 1
    # Views as each sees it: the closed attachment by number only for the outsider.
    outsider = item_of(ctx, setup["number"], actor="erik")
    assert [(a["title"], a["has_file"]) for a in outsider["attachments"]] == [(None, False), ("situationsplan.pdf", True)]


def test_bad_picks_are_refused_by_field_and_change_nothing(ctx, setup):
    other_case = case_to_committee(ctx, "local")
    foreign = upload(ctx, other_case, "andet.pdf", make_pdf("En anden sag"))
    before = attachment_rows(ctx)
    for document_id in (foreign, 999999, None, "1"):
        with pytest.raises(InvalidInput) as err:
            attach(ctx, setup["item"], document_id)
        assert err.value.field == "document_id"
    attach(ctx, setup["item"], setup["plan"])
    with pytest.raises(InvalidInput, match="already attached") as err:
        attach(ctx, setup["item"], setup["plan"])
    assert err.value.field == "document_id"
    with pytest.raises(InvalidInput) as err:
        attach(ctx, setup["item"], setup["health"], title="x" * 301)
    assert err.value.field == "title"
    with pytest.raises(NotAllowed):
        attach(ctx, setup["item"], setup["health"], actor="erik")
    assert attachment_rows(ctx) == before + 1


def test_a_document_with_cpr_numbers_cannot_be_published_open_and_a_published_agenda_is_fixed(ctx, setup):
    attachment = attach(ctx, setup["item"], upload(ctx, setup["number"], "partshoering.pdf",
                                                   make_pdf("Ejer: Anders And, CPR 010190-1234")))
    with ctx.unit_of_work() as uow:
        agenda.add_to_agenda(uow, "dorte", setup["meeting"], setup["item"])
    with pytest.raises(InvalidInput, match="1.1 contain CPR numbers") as err:
        with ctx.unit_of_work() as uow:
            agenda.publish_agenda(uow, "dorte", setup["meeting"], redact_cpr=True)
    assert err.value.field == "attachments"
    with ctx.unit_of_work(read_only=True) as uow:
        assert agenda.meeting_view(uow.session, "dorte", setup["meeting"])["status"] == "planned"
    with ctx.unit_of_work() as uow:
        agenda.set_closed(uow, "dorte", "attachment", attachment["id"], True)
    with ctx.unit_of_work() as uow:
        agenda.publish_agenda(uow, "dorte", setup["meeting"])
    with pytest.raises(Conflict, match="already published"):
        attach(ctx, setup["item"], setup["plan"], actor="dorte")
    with pytest.raises(Conflict, match="already published"):
        with ctx.unit_of_work() as uow:
            agenda_attachments.remove_attachment(uow, "dorte", attachment["id"])


def test_the_draft_may_name_case_documents_and_items_keep_documents_picked_on_their_page(ctx):
    load_demo_committees(ctx)
    number = case_to_committee(ctx, "local", item=dict(ITEM, agenda_attachments=[]), approve=False)
    plan_id = upload(ctx, number, "situationsplan.pdf", PLAN)
    health_id = upload(ctx, number, "laegeerklaering.pdf", HEALTH)
    item = item_of(ctx, number)
    attach(ctx, item["id"], health_id, closed=True)  # picked while the item awaits approval
    # The head sends it back; the caseworker names a document in the draft itself, and a wrong one.
    complete(ctx, number, "carl", {"item_approved": False, "approval_comment": "Vedlæg situationsplanen."},
             "Task_ApproveItem")
    bad = dict(ITEM, agenda_attachments=[{"title": "Plan", "reference": "document:999999"}])
    with pytest.raises(InvalidInput) as err:
        complete(ctx, number, "anna", bad, "Task_PrepareItem")
    assert err.value.field == "agenda_attachments[0].reference"
    good = dict(ITEM, agenda_attachments=[{"title": "Situationsplan", "reference": f"document:{plan_id}"}])
    complete(ctx, number, "anna", good, "Task_PrepareItem")
    complete(ctx, number, "carl", {"item_approved": True}, "Task_ApproveItem")
    view = item_of(ctx, number)
    assert view["status"] == "ready"
    assert sorted((a["title"], a["closed"], a["has_file"]) for a in view["attachments"]) == [
        ("Situationsplan", False, True), ("laegeerklaering.pdf", True, True)]


def test_item_page_attach_download_and_the_json_export_link(client, ctx, setup):
    dorte = Browser(client)
    dorte.login("dorte")
    url = f"/agenda/items/{setup['item']}"
    page = dorte.get(url).get_data(as_text=True)
    assert "situationsplan.pdf" in page and "laegeerklaering.pdf" in page  # the picker
    response = dorte.submit(f"{url}/attachments", {"document_id": setup["plan"]}, page_url=url)
    assert response.status_code == 302
    response = dorte.submit(f"{url}/attachments", {"document_id": "999999"}, page_url=url)
    assert "choose one of the documents of case" in dorte.get(url).get_data(as_text=True)
    attachment_id = item_of(ctx, setup["number"])["attachments"][0]["id"]
    file = dorte.get(f"/agenda/attachments/{attachment_id}")
    assert file.status_code == 200 and file.data == PLAN and "attachment;" in file.headers["Content-Disposition"]
    meeting_url = f"/agenda/meetings/{setup['meeting']}"
    dorte.submit(f"{meeting_url}/add", {"item_id": setup["item"]}, page_url=meeting_url)
    dorte.submit(f"{meeting_url}/publish", {}, page_url=meeting_url)
    anonymous = client.application.test_client()
    export = anonymous.get(f"/meetings/{setup['meeting']}/agenda.json").get_json()
    assert export["bullet_points"][0]["enclosures"][0]["uri"].endswith(f"/agenda/attachments/{attachment_id}")
    public = anonymous.get(f"/meetings/{setup['meeting']}/agenda").get_data(as_text=True)
    assert f"/agenda/attachments/{attachment_id}" in public
    assert anonymous.get(f"/agenda/attachments/{attachment_id}").status_code in (302, 401)  # sign in first
