"""Drafts, lint on save, publishing, acknowledged warnings, version pinning and comparing versions,
on real SQLite and PostgreSQL databases."""
from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from engine.errors import Conflict, InvalidInput, ModelError, NotAllowed
from engine.models import CaseTypeVersion, ModelFile
from engine.models.case_types import LintAcknowledgement
from engine.services import case_types
from tests.integration.modeling_helpers import (NOTE_FORM, OWNER, case_row, complete_open, install_flow, linear,
                                                open_case, open_task_rows, publish)


def draft(ctx, key="flow", actor=OWNER):
    with ctx.unit_of_work() as uow:
        return case_types.create_draft(uow, key, actor)


def save(ctx, number, files, key="flow", actor=OWNER, **kw):
    with ctx.unit_of_work() as uow:
        return case_types.save_draft(uow, key, number, actor, files=files, **kw)


def stored(ctx, number, key="flow"):
    with ctx.unit_of_work(read_only=True) as uow:
        case_type = case_types.get_case_type(uow.session, key)
        version = case_types.get_version(uow.session, case_type, number)
        return version.status, version.content_hash, case_types.files_of(uow.session, version)


def test_a_draft_copies_its_base_saves_with_findings_and_publishes_only_when_clean(ctx):
    install_flow(ctx)
    first = draft(ctx)
    assert (first["number"], first["status"], first["based_on"]) == (2, "draft", 1)
    status, digest, files = stored(ctx, 2)
    assert "flow.bpmn" in files and "shared/gdpr_review/gdpr_review.bpmn" in files
    # the owner adds a step that skips the GDPR review: saved anyway, with the finding on the element
    skipping = linear("Task_A", "Task_B").replace(b'sourceRef="Task_B" targetRef="Call_GdprReview"',
                                                  b'sourceRef="Task_B" targetRef="EndEvent"')
    skipping = skipping.replace(b'<bpmn:incoming>F_End</bpmn:incoming></bpmn:endEvent>',
                                b'<bpmn:incoming>F_End</bpmn:incoming><bpmn:incoming>F2</bpmn:incoming></bpmn:endEvent>')
    saved = save(ctx, 2, {"flow.bpmn": skipping})
    assert saved["content_hash"] != digest
    found = {(f["rule"], f["element"]) for f in saved["lint"]["findings"] if f["severity"] == "error"}
    assert ("gdpr-review-skipped", "EndEvent") in found
    assert saved["lint"]["publishable"] is False
    with ctx.unit_of_work() as uow, pytest.raises(ModelError) as refused:
        case_types.publish_version(uow, "flow", 2, OWNER)
    assert "cannot be published" in refused.value.message
    assert ("gdpr-review-skipped", "EndEvent") in {(p["rule"], p["element"]) for p in refused.value.context["problems"]}
    assert stored(ctx, 2)[0] == "draft"  # refused: nothing changed
    save(ctx, 2, {"flow.bpmn": linear("Task_A", "Task_New", "Task_B")})
    with ctx.unit_of_work() as uow:
        published = case_types.publish_version(uow, "flow", 2, OWNER)
    assert (published["status"], published["published_by"]) == ("published", OWNER)
    assert published["published_at"]
    # published means frozen
    with ctx.unit_of_work() as uow, pytest.raises(Conflict):
        case_types.save_draft(uow, "flow", 2, OWNER, files={"flow.bpmn": linear("Task_A")})
    assert stored(ctx, 2)[1] == published["content_hash"]


def test_warnings_must_be_acknowledged_and_the_acknowledgement_is_kept(ctx):
    install_flow(ctx)
    number = draft(ctx)["number"]
    saved = save(ctx, number, {"forms/unused.json": json.dumps(NOTE_FORM).encode()})
    warnings = [f for f in saved["lint"]["findings"] if f["severity"] == "warning"]
    assert [w["rule"] for w in warnings] == ["form-unused"] and saved["lint"]["errors"] == 0
    with ctx.unit_of_work() as uow, pytest.raises(InvalidInput) as refused:
        case_types.publish_version(uow, "flow", number, OWNER)
    assert refused.value.field == "warnings"
    with ctx.unit_of_work() as uow:
        report = case_types.acknowledge_warnings(uow, "flow", number, OWNER, [warnings[0]["key"]], note="kommer i v4")
    assert report["publishable"] and report["findings"][0]["acknowledged_by"] == OWNER
    with ctx.unit_of_work() as uow:
        case_types.publish_version(uow, "flow", number, OWNER)
    with ctx.unit_of_work(read_only=True) as uow:
        ack = uow.session.scalar(select(LintAcknowledgement))
        assert (ack.rule, ack.acknowledged_by, ack.note) == ("form-unused", OWNER, "kommer i v4")
        assert "unused.json" in ack.message


def test_errors_cannot_be_acknowledged(ctx):
    install_flow(ctx)
    number = draft(ctx)["number"]
    saved = save(ctx, number, {"flow.bpmn": linear("Task_A").replace(b'calledElement="gdpr_review"',
                                                                     b'calledElement="gdpr"')})
    error = next(f for f in saved["lint"]["findings"] if f["rule"] == "call-unknown")
    with ctx.unit_of_work() as uow, pytest.raises(InvalidInput):
        case_types.acknowledge_warnings(uow, "flow", number, OWNER, [error["key"]])


def test_new_cases_use_the_newest_published_version_and_running_cases_stay_on_theirs(ctx):
    install_flow(ctx)
    old_case = open_case(ctx)
    v1 = case_row(ctx, old_case).version_id
    draft(ctx)  # an unpublished draft changes nothing for new cases
    assert case_row(ctx, open_case(ctx)).version_id == v1
    publish(ctx, "flow", linear("Task_A", "Task_New", "Task_B"))
    new_case = open_case(ctx)
    assert case_row(ctx, new_case).version_id != v1
    complete_open(ctx, old_case, "Task_A")
    complete_open(ctx, new_case, "Task_A")
    assert [r.element_id for r in open_task_rows(ctx, old_case)] == ["Task_B"]  # v1 has no Task_New
    assert [r.element_id for r in open_task_rows(ctx, new_case)] == ["Task_New"]
    assert case_row(ctx, old_case).version_id == v1


def test_only_owners_change_case_types_and_bad_file_names_change_nothing(ctx):
    install_flow(ctx)
    with ctx.unit_of_work() as uow, pytest.raises(NotAllowed):
        case_types.create_draft(uow, "flow", "anna")
    number = draft(ctx)["number"]
    before = stored(ctx, number)
    for name in ("../evil.bpmn", "shared/gdpr_review/gdpr_review.bpmn", "notes.txt", "/abs.bpmn"):
        with ctx.unit_of_work() as uow, pytest.raises(InvalidInput):
            case_types.save_draft(uow, "flow", number, OWNER, files={name: b"<x/>"})
    assert stored(ctx, number) == before


def test_metadata_and_lane_mapping_are_edited_and_checked(ctx):
    install_flow(ctx)
    with ctx.unit_of_work() as uow:
        detail = case_types.update_case_type(uow, "flow", OWNER, {
            "name": "Ny sagstype", "lanes": {"Sagsbehandler": {"expression": "caseworker"}, "Jura": {"group": "ledelse"}}})
    assert detail["name"] == "Ny sagstype" and detail["lanes"]["Jura"] == {"group": "ledelse"}
    with ctx.unit_of_work() as uow, pytest.raises(InvalidInput) as bad:
        case_types.update_case_type(uow, "flow", OWNER, {"lanes": {"Jura": {"group": "nobody"}}})
    assert bad.value.field == "lanes.Jura"
    open_case(ctx)
    with ctx.unit_of_work() as uow, pytest.raises(Conflict):
        case_types.update_case_type(uow, "flow", OWNER, {"prefix": "NEW"})


def test_compare_lists_elements_form_fields_and_decision_rules(ctx):
    install_flow(ctx, forms={"b.json": NOTE_FORM}, bpmn=linear("Task_A", "Task_B", forms={"Task_B": "b.json"}))
    number = draft(ctx)["number"]
    changed_form = {"type": "object", "properties": {"note": {"type": "string", "maxLength": 200},
                                                      "amount": {"type": "integer"}}, "required": ["note"]}
    save(ctx, number, {"flow.bpmn": linear("Task_A", "Task_New", "Task_B", forms={"Task_B": "c.json"}),
                       "forms/c.json": json.dumps(changed_form).encode()}, removed=["forms/b.json"])
    with ctx.unit_of_work(read_only=True) as uow:
        diff = case_types.compare_versions(uow, "flow", 1, number, OWNER)
    assert [e["id"] for e in diff["bpmn"]["added"]] == ["F3", "Task_New"]
    task_b = next(e for e in diff["bpmn"]["changed"] if e["id"] == "Task_B")
    assert {"what": "form", "old": "b.json", "new": "c.json", "runtime": True} in task_b["changes"]
    assert {f["form"]: f["status"] for f in diff["forms"]} == {"b.json": "removed", "c.json": "added"}

    # a changed form field and a changed decision rule, field by field and rule by rule
    old = {"note.json": NOTE_FORM}
    new = {"note.json": changed_form}
    from engine.lint.diff import compare_decisions, compare_forms
    forms = compare_forms({k: json.dumps(v).encode() for k, v in old.items()},
                          {k: json.dumps(v).encode() for k, v in new.items()})
    assert forms[0]["added"] == ["amount"]
    assert {c["what"] for c in forms[0]["changed"][0]["changes"]} == {"maxLength", "required"}
    from tests.unit.test_lint import dmn
    decisions = compare_decisions({"fee.dmn": dmn(cell="&lt;= 50")}, {"fee.dmn": dmn(cell="&lt;= 60", output="120")})
    rule = decisions[0]["changed"][0]
    assert rule["rule"] == "Rule_1" and {c["column"] for c in rule["cells"]} == {"Areal", "Gebyr"}
    assert next(c for c in rule["cells"] if c["column"] == "Areal") == {"column": "Areal", "old": "<= 50", "new": "<= 60"}


def test_a_deleted_draft_leaves_no_files(ctx):
    install_flow(ctx)
    number = draft(ctx)["number"]
    with ctx.unit_of_work() as uow:
        case_types.delete_draft(uow, "flow", number, OWNER)
    with ctx.unit_of_work(read_only=True) as uow:
        assert uow.session.scalar(select(CaseTypeVersion).where(CaseTypeVersion.number == number)) is None
        versions = uow.session.scalars(select(CaseTypeVersion.id)).all()
        assert all(f.version_id in versions for f in uow.session.scalars(select(ModelFile)))
    with ctx.unit_of_work() as uow, pytest.raises(Conflict):
        case_types.delete_draft(uow, "flow", 1, OWNER)  # published versions stay
