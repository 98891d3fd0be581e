"""Every journal event kind the engine writes has a Danish label and a summary fit for a case page."""
from __future__ import annotations

import ast
import re

import pytest

from engine.services import parties, tasks
from engine.services.journal import KINDS, Journal
from engine.settings import PROJECT_ROOT
from tests.integration.task_helpers import install_teamwork, open_teamwork
from tests.web import Browser
from webapp.ui.cases import JOURNAL_LABELS, journal_label, journal_summary

# The engine's functions that append a journal event, and the position of their `kind` argument.
WRITERS = {"append": 1, "append_case_event": 3, "append_event": 3, "journal_event": 3, "_journal": 3, "write": 0, "_set_moment": 5,
           "_switch": 7}
KIND = re.compile(r"[a-z]+(_[a-z]+)+")


def _kinds_in_engine_source() -> dict[str, list[str]]:
    """Every string literal passed as a kind to a journal writer anywhere in engine/."""
    found: dict[str, list[str]] = {}
    for path in sorted((PROJECT_ROOT / "engine").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", None)
            position = WRITERS.get(name)
            if position is None or len(node.args) <= position:
                continue
            arg = node.args[position]
            if isinstance(arg, ast.Constant) and isinstance(arg.value, str) and KIND.fullmatch(arg.value):
                found.setdefault(arg.value, []).append(f"{path.relative_to(PROJECT_ROOT)}:{node.lineno}")
    return found


def test_the_registry_holds_exactly_the_kinds_the_engine_source_writes():
    written = _kinds_in_engine_source()
    unregistered = {kind: where for kind, where in written.items() if kind not in KINDS}
    assert not unregistered, f"journal kinds written but not in journal.KINDS: {unregistered}"
    assert not KINDS - set(written), f"journal.KINDS names kinds nothing writes: {sorted(KINDS - set(written))}"


def test_a_journal_refuses_a_kind_that_is_not_registered():
    journal = Journal()
    with pytest.raises(ValueError, match="'task_teleported'"):
        journal.append("anna", "task_teleported", {})
    journal.append("anna", "task_claimed", {})


def test_every_registered_kind_has_a_label_and_nothing_else_has_one():
    assert set(JOURNAL_LABELS) == set(KINDS)


def test_every_label_reads_in_danish_and_no_two_kinds_read_the_same(app):
    with app.test_request_context():
        danish = {kind: journal_label(kind) for kind in KINDS}
        unknown = journal_label("no_such_kind")
    untranslated = sorted(kind for kind in KINDS if danish[kind] == JOURNAL_LABELS[kind])
    assert not untranslated, untranslated
    assert len(set(danish.values())) == len(KINDS)
    assert unknown == "no_such_kind"


SENSITIVE = "0101701234"  # a CPR number that must never reach a journal line


@pytest.mark.parametrize("kind, data, expected", [
    ("message_received", {"message": "committee_decision", "correlations": {"cpr": SENSITIVE}}, "committee_decision"),
    ("message_sent", {"message": "Love Letter", "correlations": {"lover": {"lover_name": "Peggy"}}}, "Love Letter"),
    ("incident_opened", {"incident_id": 3, "task": "Send_Mail", "operator": "send_mail",
                         "error": f"SMTP refused {SENSITIVE}"}, "Send_Mail"),
    ("party_added", {"party_id": 1, "kind": "citizen", "role": "ansøger"}, "borger, ansøger"),
    ("party_removed", {"party_id": 1, "kind": "company"}, "virksomhed"),
    ("cpr_detected", {"fields": ["note", "applicant"]}, "i note, applicant"),
    ("cpr_detected", {"document_id": 7, "version": 2}, "i dokument 7, version 2"),
    ("close_refused", {"reason": "gdpr_review_pending", "attempt": 2}, "GDPR-gennemgangen er ikke afsluttet"),
    ("case_migrated", {"from_version": 1, "to_version": 2, "migration": 4, "notes": ["x"]}, "version 1 til 2"),
    ("task_assigned", {"task": "T", "name": "Vurdering", "assignee": "bo", "previous_assignee": None},
     "Vurdering, til Bo Berg"),
    ("task_completed", {"task": "T", "name": "Vurdering", "fields": ["cpr_note"], "on_behalf_of": "bo"},
     "Vurdering, for Bo Berg"),
    ("task_due_date_set", {"task": "T", "name": "Vurdering", "due_at": None, "previous": None},
     "Vurdering: fjernet"),
    ("case_closed", {"reason": "workflow completed", "deletion_due_on": None}, "processen nåede sin afslutning"),
    ("timer_fired", {"due_at": "2026-11-27T10:00:00"}, ""),
    ("legal_hold_placed", {"hold_id": 1}, ""),
])
def test_a_summary_says_what_happened_without_the_raw_data(app, kind, data, expected):
    with app.test_request_context():
        summary = journal_summary({"kind": kind, "data": data}, {"bo": "Bo Berg"})
    assert summary == expected
    assert SENSITIVE not in summary and "{" not in summary


def test_the_case_page_shows_each_event_with_its_label_and_summary(ctx, client):
    install_teamwork(ctx)
    number, task_id = open_teamwork(ctx, title="Skur", grouping="Vej 2")
    with ctx.unit_of_work() as uow:
        tasks.claim_task(uow, task_id, "anna")
    with ctx.unit_of_work() as uow:
        tasks.set_priority(uow, task_id, "anna", 90)
    with ctx.unit_of_work() as uow:
        tasks.set_due_date(uow, task_id, "anna", None)
    with ctx.unit_of_work() as uow:
        parties.add_party(uow, number, "anna", "citizen", "Peter Hansen", "ansøger", cpr=SENSITIVE)
    browser = Browser(client)
    browser.login("anna")
    html = client.get(f"/cases/{number}").get_data(as_text=True)
    journal = re.search(r'<ol class="journal" reversed>(.*?)</ol>', html, re.S).group(1)
    lines = [" ".join(re.sub(r"<[^>]+>", " ", item).split())
             for item in re.findall(r'<span class="what">(.*?)</span>', journal, re.S)]
    assert lines[::-1] == ["Sagen oprettet: Skur", "Opgave oprettet: Teamopgave", "Opgave taget: Teamopgave",
                           "Prioritet ændret: Teamopgave: 90", "Frist ændret: Teamopgave: fjernet",
                           "Part tilføjet: borger, ansøger"]
    assert SENSITIVE not in html and SENSITIVE[:6] not in journal
