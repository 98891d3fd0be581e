"""Data-subject requests: find everything held on a CPR number, and export it with its look-up log.

Only records managers and administrators may search by CPR number; every search and export is
written to the access log under the number's lookup hash, so it shows in the person's own
look-up history. A search covers the parties of every case (by lookup hash), case titles and
groupings, the form data in every case's workflow state (where the number may appear in
free text), and the documents whose name or text holds it (by the lookup hashes recorded at
upload, engine.services.documents). The export holds the person's own data only: their party
records, the case facts, the form fields that name them, with any other CPR number in those
fields redacted, and the documents that name them (by name and version; the files themselves
are downloaded from the case, each download logged).
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field

from fpdf import FPDF
from sqlalchemy import or_, select

from .. import cpr as cprs
from .. import permissions
from ..crypto import protector_for
from ..db import UnitOfWork, utcnow
from ..models import Case, CaseParty, CaseType, User
from .access_log import log_access, person_lookups
from .documents import documents_naming
from .org import get_user


@dataclass
class _Found:
    case: Case
    case_type: CaseType
    parties: list[CaseParty] = field(default_factory=list)
    fields: dict[tuple[str, str], None] = field(default_factory=dict)  # ordered set of (field, value)
    in_title: bool = False
    documents: list[dict] = field(default_factory=list)  # the documents whose name or text holds the number


def _walk(value, target: str, path: str, hits: dict) -> None:
    if isinstance(value, dict):
        for key, item in value.items():
            _walk(item, target, f"{path}.{key}" if path else str(key), hits)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _walk(item, target, f"{path}[{index}]", hits)
    elif isinstance(value, str) and target in cprs.find_cprs(value):
        hits[(path, _only(value, target))] = None
    elif isinstance(value, int) and not isinstance(value, bool) and f"{value:010d}" == target:
        hits[(path, cprs.format_cpr(target))] = None


def _only(text: str, target: str) -> str:
    """`text` with every CPR number but the subject's redacted (a field may name two people)."""
    return cprs.redact(text, keep=target)


def form_fields_naming(state: str | None, target: str) -> list[tuple[str, str]]:
    """(field, value) pairs in a stored workflow state whose value holds the CPR number `target`."""
    if not state:
        return []
    body = json.loads(state).get("workflow", {})
    hits: dict = {}

    def visit(workflow: dict) -> None:
        _walk(workflow.get("data") or {}, target, "", hits)
        for task in (workflow.get("tasks") or {}).values():
            # Finished tasks keep only what changed (SpiffWorkflow's delta), open ones their data.
            _walk(task.get("data") or {}, target, "", hits)
            _walk((task.get("delta") or {}).get("updates") or {}, target, "", hits)
        for sub in (workflow.get("subprocesses") or {}).values():
            visit(sub)

    visit(body)
    return list(hits)


def _require(uow: UnitOfWork, actor: str) -> User:
    user = get_user(uow.session, actor)
    permissions.require(permissions.may_manage_records(uow.session, user.id),
                        f"{actor} may not search or export personal data by CPR number")
    return user


def _search(uow: UnitOfWork, number: str) -> tuple[str, list[_Found]]:
    session = uow.session
    lookup_hash = protector_for(uow.runtime.settings).lookup_hash(number)
    found: dict[int, _Found] = {}

    def entry(case: Case, case_type: CaseType) -> _Found:
        return found.setdefault(case.id, _Found(case, case_type))

    for party, case, case_type in session.execute(
            select(CaseParty, Case, CaseType).join(Case, Case.id == CaseParty.case_id)
            .join(CaseType, CaseType.id == Case.case_type_id).where(CaseParty.cpr_hash == lookup_hash)):
        entry(case, case_type).parties.append(party)
    # The number as typed in free text: with or without the dash. LIKE only narrows the rows
    # down; each is confirmed by the same recogniser that flags CPR numbers.
    patterns = [f"%{number}%", f"%{cprs.format_cpr(number)}%"]
    text_match = or_(*[column.like(p) for p in patterns for column in (Case.state, Case.title, Case.grouping)])
    for case, case_type in session.execute(select(Case, CaseType).join(CaseType, CaseType.id == Case.case_type_id)
                                           .where(Case.status != "deleted", text_match)):
        in_title = number in cprs.find_cprs(case.title) + cprs.find_cprs(case.grouping)
        fields = form_fields_naming(case.state, number)
        if in_title or fields:
            item = entry(case, case_type)
            item.in_title = in_title
            item.fields.update(dict.fromkeys(fields))
    for case_id, document in documents_naming(session, lookup_hash):
        if case_id not in found:
            entry(*session.execute(select(Case, CaseType).join(CaseType, CaseType.id == Case.case_type_id)
                                   .where(Case.id == case_id)).one())
        found[case_id].documents.append(document)
    return lookup_hash, sorted(found.values(), key=lambda f: f.case.id)


def find_person(uow: UnitOfWork, cpr: str, actor: str, purpose: str) -> list[dict]:
    """Every case that names a CPR number, and how (party, title, form data); logged."""
    user = _require(uow, actor)
    number = cprs.normalise_cpr(cpr)
    lookup_hash, found = _search(uow, number)
    log_access(uow.session, user.id, "search", purpose, subject_hash=lookup_hash, detail={"cases": len(found)})
    if found:
        log_access(uow.session, user.id, "list", purpose, [f.case.id for f in found], subject_hash=lookup_hash)
    result = [{"number": f.case.number, "case_type": f.case_type.key, "title": f.case.title,
               "status": f.case.status, "as_party": bool(f.parties), "in_title": f.in_title,
               "form_fields": sorted({name for name, _ in f.fields}),
               "documents": [d["name"] for d in f.documents]} for f in found]
    uow.commit()
    return result


def export_person(uow: UnitOfWork, cpr: str, actor: str, purpose: str) -> dict:
    """The person's data and the dates and purposes of look-ups on them, as one JSON-ready dict."""
    user = _require(uow, actor)
    number = cprs.normalise_cpr(cpr)
    lookup_hash, found = _search(uow, number)
    protector = protector_for(uow.runtime.settings)
    lookups = person_lookups(uow.session, lookup_hash)
    export = {
        "subject": {"cpr": cprs.format_cpr(number)},
        "generated_at": utcnow().isoformat(timespec="seconds"),
        "cases": [{
            "number": f.case.number, "case_type": f.case_type.key, "case_type_name": f.case_type.name,
            "title": _only(f.case.title, number), "status": f.case.status,
            "opened_on": f.case.opened_at.date().isoformat(),
            "closed_on": f.case.closed_at.date().isoformat() if f.case.closed_at else None,
            "deletion_due_on": f.case.deletion_due_on.isoformat() if f.case.deletion_due_on else None,
            "as_party": [{"kind": p.kind, "name": p.name, "role": p.role,
                          "cpr": cprs.format_cpr(protector.decrypt(p.cpr_encrypted))} for p in f.parties],
            "form_data": [{"field": name, "value": value} for name, value in f.fields],
            "documents": f.documents,
        } for f in found],
        "lookups": lookups,
    }
    log_access(uow.session, user.id, "export", purpose, [f.case.id for f in found] or [None],
               subject_hash=lookup_hash, detail={"cases": len(found)})
    uow.commit()
    return export


def export_pdf(export: dict) -> bytes:
    """The export as a PDF (fpdf2): the same content as the JSON, for sending to the person."""
    return _PdfWriter().render(export)


class _PdfWriter:
    """A plain, searchable PDF: the core Helvetica font covers Danish (Latin-1)."""

    def render(self, export: dict) -> bytes:
        pdf = FPDF(format="A4")
        pdf.set_auto_page_break(auto=True, margin=15)
        pdf.add_page()
        self.pdf = pdf
        self.heading("Indsigt i egne personoplysninger", 16)
        self.line(f"CPR-nummer: {export['subject']['cpr']}")
        self.line(f"Udtrukket: {export['generated_at']}")
        self.heading(f"Sager ({len(export['cases'])})", 13)
        if not export["cases"]:
            self.line("Ingen sager nævner CPR-nummeret.")
        for case in export["cases"]:
            self.heading(f"Sag {case['number']}: {case['title']}", 11)
            self.line(f"Sagstype: {case['case_type_name']} ({case['case_type']}); status: {case['status']}")
            self.line(f"Oprettet: {case['opened_on']}; lukket: {case['closed_on'] or '-'}; "
                      f"slettes: {case['deletion_due_on'] or '-'}")
            for party in case["as_party"]:
                self.line(f"Part: {party['name']}, {party['role'] or party['kind']}, CPR {party['cpr']}")
            for item in case["form_data"]:
                self.line(f"Oplysning ({item['field']}): {item['value']}")
            for document in case.get("documents", ()):
                self.line(f"Dokument: {document['name']} (version {document['version']}, "
                          f"modtaget {document['uploaded_on']})")
        self.heading(f"Opslag på dig ({len(export['lookups'])})", 13)
        for entry in export["lookups"]:
            self.line(f"{entry['at'][:19].replace('T', ' ')}  {entry['action']}  "
                      f"{entry['case'] or '-'}  formål: {entry['purpose']}")
        return bytes(pdf.output())

    def heading(self, text: str, size: int) -> None:
        self.pdf.set_font("Helvetica", "B", size)
        self.pdf.multi_cell(0, size * 0.6, _latin1(text), new_x="LMARGIN", new_y="NEXT")
        self.pdf.ln(1)

    def line(self, text: str) -> None:
        self.pdf.set_font("Helvetica", "", 10)
        self.pdf.multi_cell(0, 5, _latin1(text), new_x="LMARGIN", new_y="NEXT")


def _latin1(text: str) -> str:
    return str(text).encode("latin-1", "replace").decode("latin-1")
