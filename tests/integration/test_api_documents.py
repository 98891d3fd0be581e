"""A case's documents through the API: multipart upload, versions, list, download, delete.

The engine's document rules are tested in test_documents.py; here: the routes act as the token's
user, downloads land in the access log like the UI's, and refused input names its field and
leaves every row and stored file as it was.
"""
from __future__ import annotations

import io

import pytest
from sqlalchemy import select

from engine.models import AccessLogEntry
from tests.integration.document_helpers import EXE, document_state, make_pdf

from .test_api import bearer, open_aktindsigt, token_for


@pytest.fixture
def setup(ctx, client):
    anna, carl = bearer(token_for(ctx, "anna")), bearer(token_for(ctx, "carl"))
    number = open_aktindsigt(client, anna)["number"]
    return ctx, client, number, anna, carl


def send(client, url, headers, name, content, field="file"):
    return client.post(url, headers=headers, content_type="multipart/form-data",
                       data={field: (io.BytesIO(content), name)})


def test_upload_version_list_download_and_delete(setup):
    ctx, client, number, anna, _ = setup
    base = f"/api/cases/{number}/documents"
    added = send(client, base, anna, "Ansøgning.pdf", make_pdf("Ansøgning om byggetilladelse"))
    assert added.status_code == 201, added.get_json()
    document = added.get_json()
    assert (document["name"], document["version"], document["content_type"]) == ("Ansøgning.pdf", 1,
                                                                                   "application/pdf")
    assert added.headers["Location"].endswith(f"{base}/{document['id']}")
    second = send(client, f"{base}/{document['id']}/versions", anna, "Ansøgning.txt", "Rettet ansøgning".encode())
    assert second.status_code == 201 and second.get_json()["version"] == 2
    listed = client.get(base, headers=anna).get_json()
    assert [(d["id"], d["version"], d["content_type"]) for d in listed] == [(document["id"], 2, "text/plain")]
    history = client.get(f"{base}/{document['id']}", headers=anna).get_json()
    assert [v["version"] for v in history["versions"]] == [2, 1]

    newest = client.get(f"{base}/{document['id']}/content", headers=anna)
    assert newest.status_code == 200 and newest.data == "Rettet ansøgning".encode() and newest.mimetype == "text/plain"
    assert newest.headers["Content-Disposition"].startswith("attachment;")
    first = client.get(f"{base}/{document['id']}/content?version=1&purpose=partshøring", headers=anna)
    assert first.data.startswith(b"%PDF") and first.mimetype == "application/pdf"
    with ctx.unit_of_work(read_only=True) as uow:
        downloads = uow.session.execute(select(AccessLogEntry.purpose, AccessLogEntry.detail).where(
            AccessLogEntry.action == "download").order_by(AccessLogEntry.id)).all()
    assert [(purpose, detail["version"]) for purpose, detail in downloads] == [("sagsbehandling", 2),
                                                                               ("partshøring", 1)]

    deleted = client.delete(f"{base}/{document['id']}", headers=anna)
    assert deleted.status_code == 200 and deleted.get_json() == {"id": document["id"], "versions": 2}
    assert client.get(base, headers=anna).get_json() == []
    gone = client.get(f"{base}/{document['id']}/content", headers=anna)
    assert gone.status_code == 404 and gone.get_json()["field"] == "document"


@pytest.mark.parametrize("name, content, field, status", [
    ("program.exe", EXE, "file", 422),           # a kind that may not be added
    ("tom.txt", b"", "file", 422),                # empty
    ("notat.pdf", b"just text", "file", 422),     # the name says PDF, the bytes say text
    (None, None, "file", 422),                    # no file at all
])
def test_a_refused_upload_names_the_field_and_stores_nothing(setup, name, content, field, status):
    ctx, client, number, anna, _ = setup
    before = document_state(ctx)
    url = f"/api/cases/{number}/documents"
    if name is None:
        response = client.post(url, headers=anna, content_type="multipart/form-data", data={"other": "x"})
    else:
        response = send(client, url, anna, name, content)
    assert response.status_code == status and response.mimetype == "application/problem+json"
    assert response.get_json()["field"] == field
    assert document_state(ctx) == before


def test_versions_and_downloads_refuse_what_is_not_there(setup):
    ctx, client, number, anna, _ = setup
    base = f"/api/cases/{number}/documents"
    document = send(client, base, anna, "notat.txt", b"Notat").get_json()
    before = document_state(ctx)
    same = send(client, f"{base}/{document['id']}/versions", anna, "notat.txt", b"Notat")
    assert same.status_code == 422 and same.get_json()["field"] == "file"
    missing = client.get(f"{base}/{document['id']}/content?version=9", headers=anna)
    assert missing.status_code == 404 and missing.get_json()["field"] == "version"
    typo = client.get(f"{base}/{document['id']}/content?version=two", headers=anna)
    assert typo.status_code == 422 and typo.get_json()["field"] == "version"
    unknown = send(client, f"{base}/{document['id'] + 1}/versions", anna, "notat.txt", b"Andet")
    assert unknown.status_code == 404 and unknown.get_json()["field"] == "document"
    assert client.get("/api/cases/AKT-1999-000001/documents", headers=anna).status_code == 404
    assert document_state(ctx) == before


def test_someone_who_may_not_see_the_case_gets_403_and_changes_nothing(setup):
    ctx, client, number, anna, carl = setup
    base = f"/api/cases/{number}/documents"
    document = send(client, base, anna, "notat.txt", b"Notat").get_json()
    before = document_state(ctx)
    for response in (client.get(base, headers=carl), send(client, base, carl, "mit.txt", b"Mit"),
                     client.get(f"{base}/{document['id']}/content", headers=carl),
                     send(client, f"{base}/{document['id']}/versions", carl, "notat.txt", b"Ny"),
                     client.delete(f"{base}/{document['id']}", headers=carl)):
        assert response.status_code == 403 and response.mimetype == "application/problem+json"
    assert document_state(ctx) == before
