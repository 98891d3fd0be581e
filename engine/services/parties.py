"""Parties of a case: citizens by CPR number, companies by CVR number.

A CPR number is stored only as a Fernet token and an HMAC lookup hash (engine.crypto); lists
show it masked (birth date only), and revealing it in full is its own access-log action. The
journal records that a party was added or removed, never the number or the name.
"""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from .. import cpr as cprs
from .. import permissions
from ..crypto import protector_for
from ..db import UnitOfWork
from ..errors import Conflict, InvalidInput, NotFound
from ..models import CaseParty
from ..models.gdpr import PARTY_KINDS
from .access_log import log_access
from .cases import get_case
from .gdpr import append_case_event
from .org import get_user


def _text(value, field: str, limit: int, required: bool = True) -> str:
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise InvalidInput(f"{field} must be text", field=field)
    value = value.strip()
    if required and not value:
        raise InvalidInput(f"a party needs a {field}", field=field)
    if len(value) > limit:
        raise InvalidInput(f"{field} is longer than {limit} characters", field=field)
    if cprs.contains_cpr(value):
        raise InvalidInput(f"{field} must not contain a CPR number; give it as the party's CPR", field=field)
    return value


def party_dict(party: CaseParty, protector, reveal: bool = False) -> dict:
    number = protector.decrypt(party.cpr_encrypted) if party.cpr_encrypted else None
    return {"id": party.id, "kind": party.kind, "name": party.name, "role": party.role,
            "cpr": (cprs.format_cpr(number) if reveal else cprs.mask_cpr(number)) if number else None,
            "cvr": party.cvr, "added_at": party.added_at.isoformat()}


def add_party(uow: UnitOfWork, number: str, actor: str, kind: str, name: str, role: str = "",
              cpr: str | None = None, cvr: str | None = None) -> dict:
    """Add a citizen (needs `cpr`) or a company (needs `cvr`) to an open case."""
    session = uow.session
    user = get_user(session, actor)
    case = get_case(session, number)
    permissions.require(permissions.can_edit_parties(session, user, case),
                        f"{actor} may not change the parties of case {number}")
    if kind not in PARTY_KINDS:
        raise InvalidInput(f"kind must be one of {', '.join(PARTY_KINDS)}", field="kind")
    name, role = _text(name, "name", 200), _text(role, "role", 80, required=False)
    protector = protector_for(uow.runtime.settings)
    party = CaseParty(case_id=case.id, kind=kind, name=name, role=role, added_by_id=user.id)
    if kind == "citizen":
        if cvr:
            raise InvalidInput("a citizen has a CPR number, not a CVR number", field="cvr")
        normalised = cprs.normalise_cpr(cpr if cpr is not None else "", field="cpr")
        party.cpr_encrypted, party.cpr_hash = protector.encrypt(normalised), protector.lookup_hash(normalised)
        duplicate = CaseParty.cpr_hash == party.cpr_hash
    else:
        if cpr:
            raise InvalidInput("a company has a CVR number, not a CPR number", field="cpr")
        party.cvr = cprs.normalise_cvr(cvr if cvr is not None else "", field="cvr")
        duplicate = CaseParty.cvr == party.cvr
    if session.scalar(select(CaseParty.id).where(CaseParty.case_id == case.id, duplicate)) is not None:
        raise Conflict(f"this {'citizen' if kind == 'citizen' else 'company'} is already a party of case {number}",
                       field="cpr" if kind == "citizen" else "cvr")
    session.add(party)
    try:
        session.flush()
    except IntegrityError as err:  # a concurrent add of the same party
        raise Conflict(f"this party was just added to case {number} by someone else") from err
    append_case_event(session, case.id, actor, "party_added", {"party_id": party.id, "kind": kind, "role": role})
    result = party_dict(party, protector)
    uow.commit()
    return result


def remove_party(uow: UnitOfWork, number: str, party_id: int, actor: str) -> dict:
    session = uow.session
    user = get_user(session, actor)
    case = get_case(session, number)
    permissions.require(permissions.can_edit_parties(session, user, case),
                        f"{actor} may not change the parties of case {number}")
    party = session.scalar(select(CaseParty).where(CaseParty.id == party_id, CaseParty.case_id == case.id))
    if party is None:
        raise NotFound(f"case {number} has no party {party_id}", field="party_id")
    session.delete(party)
    session.flush()
    append_case_event(session, case.id, actor, "party_removed", {"party_id": party_id, "kind": party.kind})
    uow.commit()
    return {"number": number, "removed": party_id}


def list_parties(uow: UnitOfWork, number: str, actor: str, purpose: str | None = None,
                 reveal: bool = False) -> list[dict]:
    """A case's parties, CPR numbers masked; `reveal` shows them in full and is logged as such."""
    session = uow.session
    user = get_user(session, actor)
    case = get_case(session, number)
    permissions.require(permissions.can_see_case(session, user, case), f"{actor} may not see case {number}")
    parties = list(session.scalars(select(CaseParty).where(CaseParty.case_id == case.id).order_by(CaseParty.id)))
    log_access(session, user.id, "reveal_cpr" if reveal else "view", purpose, [case.id],
               detail={"parties": len(parties)})
    protector = protector_for(uow.runtime.settings)
    result = [party_dict(p, protector, reveal) for p in parties]
    uow.commit()
    return result
