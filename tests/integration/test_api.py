"""The REST API through the WSGI app: tokens, problem details, stale updates, paging, and another
system that works a case from start to end knowing nothing but the OpenAPI document."""
from __future__ import annotations

import copy
import io
import json
from datetime import date

import jsonschema
from fpdf import FPDF

from engine.services import api_tokens, documents


def token_for(ctx, username: str) -> str:
    with ctx.unit_of_work() as uow:
        return api_tokens.create_token(uow, username, "test")["token"]


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


class OpenApiClient:
    """A client that knows the API only from /api/openapi.json: it finds operations by operationId,
    fills in their paths, and checks every response against the schema the document promises."""

    def __init__(self, client, token: str):
        self.client = client
        self.headers = bearer(token)
        response = client.get("/api/openapi.json")
        assert response.status_code == 200
        self.document = response.get_json()
        self.operations = {op["operationId"]: (method, path, op)
                           for path, item in self.document["paths"].items()
                           for method, op in item.items() if isinstance(op, dict) and "operationId" in op}

    def call(self, operation_id: str, path: dict | None = None, query: dict | None = None, json_body=None,
             headers: dict | None = None, files: dict | None = None):
        method, template, operation = self.operations[operation_id]
        url = template.format(**(path or {}))
        if files is not None:  # only where the document says the body is multipart/form-data
            assert "multipart/form-data" in operation["requestBody"]["content"], operation_id
        response = self.client.open(url, method=method.upper(), query_string=query, json=json_body,
                                    data=files, headers={**self.headers, **(headers or {})})
        self.check(operation, response)
        return response

    def check(self, operation: dict, response) -> None:
        documented = operation["responses"].get(str(response.status_code)) or operation["responses"]["default"]
        documented = self.resolve(documented)
        if response.status_code == 204:
            return
        media = response.mimetype
        assert media in documented.get("content", {}), (response.status_code, media, response.get_data(True))
        schema = self.json_schema(documented["content"][media]["schema"])
        if schema.get("format") == "binary":
            return
        jsonschema.validate(response.get_json(), schema)

    def resolve(self, node):
        while isinstance(node, dict) and "$ref" in node:
            target = self.document
            for part in node["$ref"].lstrip("#/").split("/"):
                target = target[part]
            node = target
        return node

    def json_schema(self, schema):
        """OpenAPI 3.0 schema -> JSON Schema: references inlined, `nullable` as a null type."""
        schema = copy.deepcopy(self.resolve(schema))
        if isinstance(schema, dict):
            if schema.pop("nullable", False) and "type" in schema:
                schema["type"] = [schema["type"], "null"]
            for key in ("properties", "items", "additionalProperties"):
                if isinstance(schema.get(key), dict):
                    if key == "properties":
                        schema[key] = {k: self.json_schema(v) for k, v in schema[key].items()}
                    else:
                        schema[key] = self.json_schema(schema[key])
            for key in ("allOf", "oneOf", "anyOf"):
                if key in schema:
                    schema[key] = [self.json_schema(s) for s in schema[key]]
        return schema


def fill(schema: dict | None) -> dict:
    """Form data that satisfies a task's JSON Schema, made from the schema alone (as a system would)."""
    def value(spec: dict):
        if "const" in spec:
            return spec["const"]
        if "enum" in spec:
            return spec["enum"][0]
        kind = spec.get("type")
        if kind == "boolean":
            return True
        if kind in ("number", "integer"):
            return max(spec.get("minimum", 1), 1)
        if kind == "array":
            return [value(spec.get("items", {"type": "string"})) for _ in range(spec.get("minItems", 0))]
        if kind == "object":
            return fill(spec)
        return {"date": date.today().isoformat(), "email": "borger@example.dk",
                "date-time": f"{date.today().isoformat()}T12:00:00+00:00"}.get(spec.get("format"), "Udfyldt af ESDH")

    return {name: value(spec) for name, spec in (schema or {}).get("properties", {}).items()}


def test_another_system_works_a_case_from_start_to_end_with_only_the_openapi_document(ctx, client):
    api = OpenApiClient(client, token_for(ctx, "admin"))  # the integration's user may complete any task
    types = api.call("listCaseTypes").get_json()
    key = next(t["key"] for t in types if t["key"] == "aktindsigt" and t["current_version"])
    start = api.call("getCaseType", {"key": key}).get_json()
    opened = api.call("openCase", json_body={"case_type": key, "title": "Aktindsigt via ESDH",
                                             "data": fill(start["schema"])})
    assert opened.status_code == 201
    case = opened.get_json()
    number = case["number"]
    for _ in range(20):
        if case["status"] != "open" or not case["open_tasks"]:
            break
        task = api.call("getTask", {"task_id": case["open_tasks"][0]["id"]}).get_json()
        etag = api.call("getCase", {"number": number}).headers["ETag"]
        done = api.call("completeTask", {"task_id": task["id"]}, json_body={"data": fill(task["schema"])},
                        headers={"If-Match": etag})
        assert done.status_code == 200, done.get_json()
        case = done.get_json()
    assert case["status"] == "closed"
    detail = api.call("getCase", {"number": number}).get_json()
    assert detail["status"] == "closed" and all(t["state"] != "open" for t in detail["tasks"])
    found = api.call("search", query={"q": "ESDH"}).get_json()
    assert [hit["case"]["number"] for hit in found["items"]] == [number]


def test_another_system_hands_over_plans_and_files_on_a_task_with_only_the_openapi_document(ctx, client):
    api = OpenApiClient(client, token_for(ctx, "anna"))
    start = api.call("getCaseType", {"key": "aktindsigt"}).get_json()
    case = api.call("openCase", json_body={"case_type": "aktindsigt", "title": "Aktindsigt, vejsag",
                                           "data": fill(start["schema"])}).get_json()
    task_id, number = case["open_tasks"][0]["id"], case["number"]
    etag = api.call("getCase", {"number": number}).headers["ETag"]
    planned = api.call("setTaskPriority", {"task_id": task_id}, json_body={"priority": 90},
                       headers={"If-Match": etag})
    assert planned.status_code == 200 and planned.get_json()["priority"] == 90
    stale = api.call("setTaskDueDate", {"task_id": task_id}, json_body={"due_at": "P7D"}, headers={"If-Match": etag})
    assert stale.status_code == 409
    due = api.call("setTaskDueDate", {"task_id": task_id}, json_body={"due_at": "P7D"},
                   headers={"If-Match": planned.headers["ETag"]})
    assert due.status_code == 200
    handed = api.call("delegateTask", {"task_id": task_id}, json_body={"delegate": "bo"}).get_json()
    assert (handed["assignee"], handed["owner"]) == ("bo", "anna")
    added = api.call("uploadDocument", {"number": number},
                     files={"file": (io.BytesIO(b"Aktliste: 3 dokumenter"), "aktliste.txt")})
    assert added.status_code == 201
    document_id = added.get_json()["id"]
    assert [d["id"] for d in api.call("listDocuments", {"number": number}).get_json()] == [document_id]
    content = api.call("downloadDocument", {"number": number, "document_id": document_id})
    assert content.status_code == 200 and content.data == b"Aktliste: 3 dokumenter"
    assert api.call("takeBackTask", {"task_id": task_id}).get_json()["assignee"] == "anna"


def test_requests_without_a_valid_token_get_401_problems(ctx, client):
    for headers in ({}, {"Authorization": "Basic abc"}, bearer("sgt_unknown")):
        response = client.get("/api/cases", headers=headers)
        assert response.status_code == 401 and response.mimetype == "application/problem+json"
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert client.get("/api/openapi.json").status_code == 200  # the document itself is public
    docs = client.get("/api/docs")
    assert docs.status_code == 200 and b"swagger-ui-bundle.js" in docs.data
    assert client.get("/api/static/swagger-ui/swagger-ui-bundle.js").status_code == 200


def test_validation_errors_are_problems_that_name_the_field(ctx, client):
    headers = bearer(token_for(ctx, "anna"))
    response = client.post("/api/cases", headers=headers, json={"case_type": "aktindsigt"})
    body = response.get_json()
    assert response.status_code == 422 and response.mimetype == "application/problem+json"
    assert body["field"] == "title" and body["type"].endswith("ValidationError")
    response = client.post("/api/cases", headers=headers, json={"case_type": "aktindsigt", "title": "x",
                                                                "data": {"requester_email": "a@b.dk"}})
    assert response.status_code == 422 and response.get_json()["field"] == "received_date"
    response = client.get("/api/search?q=x&limit=1000", headers=headers)
    assert response.status_code == 422 and response.get_json()["field"] == "limit"
    response = client.post("/api/cases", headers=headers, json={"case_type": "aktindsigt", "title": "x", "extra": 1})
    assert response.status_code == 422 and response.get_json()["field"] == "extra"
    response = client.get("/api/cases", headers=headers)
    assert response.get_json()["total"] == 0  # nothing was stored by the refused requests


def open_aktindsigt(client, headers) -> dict:
    response = client.post("/api/cases", headers=headers, json={
        "case_type": "aktindsigt", "title": "Aktindsigt", "data": {
            "requester_email": "borger@example.dk", "requested_documents": "Sagens akter",
            "received_date": "2026-11-20"}})
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def test_a_stale_update_is_a_409_and_changes_nothing(ctx, client):
    headers = bearer(token_for(ctx, "anna"))
    case = open_aktindsigt(client, headers)
    task_id = case["open_tasks"][0]["id"]
    data = {"documents_identified": "Alt", "request_sufficiently_specific": True, "acknowledgement_sent": True}
    stale = client.post(f"/api/tasks/{task_id}/complete", headers={**headers, "If-Match": '"1"'}, json={"data": data})
    assert stale.status_code == 409 and stale.mimetype == "application/problem+json"
    assert client.get(f"/api/tasks/{task_id}", headers=headers).get_json()["state"] == "open"
    bad = client.post(f"/api/tasks/{task_id}/complete", headers={**headers, "If-Match": "yesterday"},
                      json={"data": data})
    assert bad.status_code == 422 and bad.get_json()["field"] == "If-Match"
    etag = client.get(f"/api/cases/{case['number']}", headers=headers).headers["ETag"]
    done = client.post(f"/api/tasks/{task_id}/complete", headers={**headers, "If-Match": etag}, json={"data": data})
    assert done.status_code == 200
    again = client.post(f"/api/tasks/{task_id}/complete", headers=headers, json={"data": data})
    assert again.status_code == 409  # already completed


def test_lists_page_with_links(ctx, client):
    headers = bearer(token_for(ctx, "anna"))
    numbers = [open_aktindsigt(client, headers)["number"] for _ in range(3)]
    first = client.get("/api/cases?limit=2", headers=headers)
    body = first.get_json()
    assert body["total"] == 3 and len(body["items"]) == 2 and body["links"]["prev"] is None
    assert 'rel="next"' in first.headers["Link"]
    second = client.get(body["links"]["next"], headers=headers).get_json()
    assert [c["number"] for c in body["items"] + second["items"]] == list(reversed(numbers))
    assert second["links"]["next"] is None


def test_the_api_uses_the_same_permissions_as_the_ui(ctx, client):
    annas = open_aktindsigt(client, bearer(token_for(ctx, "anna")))
    carl = bearer(token_for(ctx, "carl"))
    assert client.get(f"/api/cases/{annas['number']}", headers=carl).status_code == 403
    assert client.get("/api/search?q=aktindsigt", headers=carl).get_json()["total"] == 0
    assert client.get("/api/cases", headers=carl).get_json()["total"] == 0
    task_id = annas["open_tasks"][0]["id"]
    response = client.post(f"/api/tasks/{task_id}/complete", headers=carl, json={"data": {}})
    assert response.status_code == 403 and response.mimetype == "application/problem+json"
    assert client.get("/api/webhooks", headers=carl).status_code == 403  # administrators only


def test_tokens_are_made_listed_and_revoked_through_the_api(ctx, client):
    headers = bearer(token_for(ctx, "bo"))
    made = client.post("/api/tokens", headers=headers, json={"name": "Ny integration", "expires_in_days": 30})
    assert made.status_code == 201
    new = made.get_json()
    assert client.get("/api/case-types", headers=bearer(new["token"])).status_code == 200
    listed = client.get("/api/tokens", headers=headers).get_json()
    assert {t["name"] for t in listed} == {"test", "Ny integration"} and all("token" not in t for t in listed)
    assert client.delete(f"/api/tokens/{new['id']}", headers=headers).get_json()["state"] == "revoked"
    assert client.get("/api/case-types", headers=bearer(new["token"])).status_code == 401


def test_the_openapi_document_describes_every_route_and_its_errors(client):
    document = client.get("/api/openapi.json").get_json()
    assert document["openapi"].startswith("3.")
    assert document["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    problem = document["components"]["responses"]["DEFAULT_ERROR"]["content"]
    assert list(problem) == ["application/problem+json"]
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if isinstance(operation, dict) and "responses" in operation:
                assert operation.get("operationId"), (method, path)
                assert "default" in operation["responses"], (method, path)
    json.dumps(document)


def test_a_user_finds_a_case_through_the_api_from_a_word_in_an_attached_pdf(ctx, client):
    """Issue 8's 'done when': the PDF goes in through the documents service, the search is the API's."""
    headers = bearer(token_for(ctx, "anna"))
    case = open_aktindsigt(client, headers)
    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("helvetica", size=12)
    pdf.multi_cell(0, 10, "Tinglyst servitut om vejret over matriklen")
    with ctx.unit_of_work() as uow:
        documents.upload_document(uow, case["number"], "anna", "Servitut.pdf", bytes(pdf.output()))
    found = client.get("/api/search?q=servitut", headers=headers).get_json()
    assert [(h["kind"], h["case"]["number"]) for h in found["items"]] == [("document", case["number"])]
    assert "<mark>servitut</mark>" in found["items"][0]["snippet_html"].lower()
    assert client.get("/api/search?q=servitut", headers=bearer(token_for(ctx, "carl"))).get_json()["total"] == 0
