"""The GDPR review: recorded per case, guarding every way to close, and CPR numbers flagged."""
from __future__ import annotations

from datetime import timedelta
from types import SimpleNamespace

import pytest
from click.testing import CliRunner
from sqlalchemy import select, update

from engine.errors import WorkflowError
from engine.models import Case, CaseTypeVersion, GdprReview
from engine.services import cases
from engine.services.journal import verify_journal
from tests.integration.gdpr_helpers import (GDPR_DATA, cli_environment, complete, install_keep_type,
                                            install_rework, journal, open_rework, run_to_closed, run_to_review)
from tests.models import definitions, flow, install, user_task
from webapp.cli import main as cli

CPR = "010190-1234"


def case_row(ctx, number) -> SimpleNamespace:
    with ctx.unit_of_work(read_only=True) as uow:
        return SimpleNamespace(**uow.session.execute(select(Case.__table__).where(Case.number == number))
                               .mappings().one())


def review_row(ctx, number) -> SimpleNamespace | None:
    with ctx.unit_of_work(read_only=True) as uow:
        row = uow.session.execute(select(GdprReview.__table__).join(Case, Case.id == GdprReview.case_id)
                                  .where(Case.number == number)).mappings().first()
        return SimpleNamespace(**row) if row else None


def test_completed_review_is_recorded_and_closing_sets_the_deletion_date(ctx):
    install_rework(ctx)
    number = open_rework(ctx)
    run_to_review(ctx, number)
    assert review_row(ctx, number) is None
    result = complete(ctx, number, dict(GDPR_DATA, personal_data_category="sensitive",
                                        legal_basis="art. 9, stk. 2, litra b"))
    assert result["status"] == "closed"
    review = review_row(ctx, number)
    assert (review.category, review.legal_basis, review.parties_reviewed, review.deletion_rule_applies,
            review.exception_reason) == ("sensitive", "art. 9, stk. 2, litra b", True, True, "")
    case = case_row(ctx, number)
    assert review.reviewed_by_id == case.caseworker_id
    assert case.deletion_due_on == case.closed_at.date() + timedelta(days=1825)
    closed = journal(ctx, number)[-1]
    assert closed.kind == "case_closed" and closed.data["deletion_due_on"] == case.deletion_due_on.isoformat()


def test_review_exception_and_keep_rule_give_no_deletion_date(ctx):
    install_rework(ctx)
    install_keep_type(ctx)
    excepted = open_rework(ctx)
    run_to_closed(ctx, excepted, dict(GDPR_DATA, deletion_rule_applies=False,
                                      deletion_exception_reason="Verserende klagesag"))
    review = review_row(ctx, excepted)
    assert review.deletion_rule_applies is False and review.exception_reason == "Verserende klagesag"
    assert case_row(ctx, excepted).deletion_due_on is None
    with ctx.unit_of_work() as uow:
        kept = cases.open_case(uow, "keeper", "anna", "Bevares", data={})["number"]
    run_to_closed(ctx, kept)
    assert case_row(ctx, kept).status == "closed" and case_row(ctx, kept).deletion_due_on is None


def refusals(ctx, number) -> list[dict]:
    return [e.data for e in journal(ctx, number) if e.kind == "close_refused"]


def unchanged_but_journal(ctx, number) -> tuple:
    case = case_row(ctx, number)
    return case.row_version, case.state, case.status, case.closed_at, case.deletion_due_on


def test_refused_close_through_the_service_is_recorded_though_the_attempt_rolls_back(ctx):
    install_rework(ctx)
    number = open_rework(ctx)
    before = unchanged_but_journal(ctx, number)
    with ctx.unit_of_work() as uow, pytest.raises(WorkflowError, match="GDPR review has not been completed"):
        cases.close_case(uow, number, "anna", "Trukket tilbage")
    assert unchanged_but_journal(ctx, number) == before
    assert refusals(ctx, number) == [{"reason": "gdpr_review_pending", "attempt": "close"}]
    refused = [e for e in journal(ctx, number) if e.kind == "close_refused"][0]
    assert refused.actor == "anna"
    with ctx.unit_of_work(read_only=True) as uow:
        case = cases.get_case(uow.session, number)
        assert verify_journal(uow.session, case.id, case.journal_head) == []
    # The refusal moved the journal, not the workflow: the open task still completes.
    run_to_closed(ctx, number)
    assert case_row(ctx, number).status == "closed"


def test_refused_close_through_the_cli_is_refused_with_a_reason_and_recorded(ctx):
    install_rework(ctx)
    number = open_rework(ctx)
    before = unchanged_but_journal(ctx, number)
    result = CliRunner().invoke(cli, ["case", "close", number, "--reason", "Dublet", "--user", "anna"],
                                env=cli_environment(ctx))
    assert result.exit_code == 1
    assert f"case {number} cannot close: its GDPR review has not been completed" in result.output
    assert unchanged_but_journal(ctx, number) == before
    assert refusals(ctx, number) == [{"reason": "gdpr_review_pending", "attempt": "close"}]


def test_a_workflow_ending_without_review_is_refused_and_recorded(ctx):
    """A version published before the static check existed: the run-time guard is the second line."""
    bpmn = definitions("unreviewed", "\n".join([
        '<bpmn:startEvent id="StartEvent"><bpmn:outgoing>F1</bpmn:outgoing></bpmn:startEvent>',
        user_task("Task_Only", "Eneste", "F1", "F2"),
        '<bpmn:endEvent id="EndEvent"><bpmn:incoming>F2</bpmn:incoming></bpmn:endEvent>',
        flow("F1", "StartEvent", "Task_Only"), flow("F2", "Task_Only", "EndEvent")]))
    installed = install(ctx, "unreviewed", bpmn, "unreviewed", "UNR", publish=False)
    with ctx.unit_of_work() as uow:
        uow.session.execute(update(CaseTypeVersion).where(CaseTypeVersion.number == installed["version"],
                                                          CaseTypeVersion.content_hash == installed["content_hash"])
                            .values(status="published"))
        uow.commit()
    with ctx.unit_of_work() as uow:
        number = cases.open_case(uow, "unreviewed", "anna", "Uden gennemgang")["number"]
    before = unchanged_but_journal(ctx, number)
    with pytest.raises(WorkflowError, match="GDPR review has not been completed"):
        complete(ctx, number, {})
    assert unchanged_but_journal(ctx, number) == before
    assert refusals(ctx, number) == [{"reason": "gdpr_review_pending", "attempt": "workflow completed"}]


def all_journal_text(ctx, number) -> str:
    return " ".join(repr((e.kind, e.data)) for e in journal(ctx, number))


def test_cpr_in_the_start_data_or_a_task_flags_the_case_without_copying_the_number(ctx):
    install_rework(ctx)
    clean = open_rework(ctx, title="Byggesag Vestergade 4")
    complete(ctx, clean, {"again": True, "note": "Ring på 98 45 63 00 eller 12345678", "amount": 1234567890})
    assert case_row(ctx, clean).cpr_detected is False
    assert "cpr_detected" not in all_journal_text(ctx, clean)

    in_title = open_rework(ctx, title=f"Ansøgning fra {CPR}")
    assert case_row(ctx, in_title).cpr_detected is True
    flagged = [e.data for e in journal(ctx, in_title) if e.kind == "cpr_detected"]
    assert flagged == [{"fields": ["title"]}]
    assert "010190" not in all_journal_text(ctx, in_title)

    in_task = open_rework(ctx)
    complete(ctx, in_task, {"again": True, "note": f"Borgerens cpr-nr. er {CPR.replace('-', '')}."})
    assert case_row(ctx, in_task).cpr_detected is True
    assert [e.data for e in journal(ctx, in_task) if e.kind == "cpr_detected"] == [{"fields": ["note"]}]
    assert "0101901234" not in all_journal_text(ctx, in_task) and "010190" not in all_journal_text(ctx, in_task)
