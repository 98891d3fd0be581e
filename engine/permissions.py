"""Who may see, start, complete and manage what. Every entry point asks these functions."""
from __future__ import annotations

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from .errors import NotAllowed
from .models import Case, CaseTask, CaseType, CommitteeMember, Membership, RoleGrant, User


def has_role(session: Session, user: User, role: str, scope: str = "") -> bool:
    query = select(RoleGrant.id).where(RoleGrant.user_id == user.id, RoleGrant.role == role)
    if scope:
        query = query.where(RoleGrant.scope.in_(("", scope)))
    return session.execute(query.limit(1)).first() is not None


def is_administrator(session: Session, user: User) -> bool:
    return is_administrator_id(session, user.id)


def group_ids(session: Session, user: User) -> set[int]:
    return group_ids_of(session, user.id)


def is_administrator_id(session: Session, user_id: int) -> bool:
    return session.execute(select(RoleGrant.id).where(RoleGrant.user_id == user_id,
                                                      RoleGrant.role == "administrator").limit(1)).first() is not None


def group_ids_of(session: Session, user_id: int) -> set[int]:
    return set(session.scalars(select(Membership.group_id).where(Membership.user_id == user_id)))


def may_complete_task(session: Session, user_id: int, assignee_id: int | None,
                      candidate_group_id: int | None) -> bool:
    """The assignee; or, while nobody is assigned, a member of the candidate group; or an administrator."""
    if assignee_id == user_id:
        return True
    if assignee_id is None and candidate_group_id is not None and candidate_group_id in group_ids_of(session, user_id):
        return True
    return is_administrator_id(session, user_id)


def may_close_case(session: Session, user_id: int, caseworker_id: int | None) -> bool:
    """The case's caseworker or an administrator may close a case before its workflow ends."""
    return caseworker_id == user_id or is_administrator_id(session, user_id)


def may_start_case(session: Session, user_id: int, case_type_id: int) -> bool:
    """Every active employee may open a case of any published case type (the municipality's rule)."""
    return True


def can_complete_task(session: Session, user: User, task: CaseTask) -> bool:
    if not user.is_active or task.state != "open":
        return False
    return may_complete_task(session, user.id, task.assignee_id, task.candidate_group_id)


def can_see_case(session: Session, user: User, case: Case) -> bool:
    """Need to know: the caseworker, anyone a task of the case was meant for, the case type's owners."""
    if not user.is_active:
        return False
    if case.caseworker_id == user.id or is_administrator(session, user):
        return True
    groups = group_ids(session, user)
    if case.case_type.owner_group_id in groups:
        return True
    task_for_user = select(CaseTask.id).where(CaseTask.case_id == case.id).where(
        (CaseTask.assignee_id == user.id) | (CaseTask.completed_by_id == user.id)
        | (CaseTask.candidate_group_id.in_(groups) if groups else False))
    return session.execute(select(exists(task_for_user))).scalar()


def can_start_case(session: Session, user: User, case_type: CaseType) -> bool:
    return user.is_active and may_start_case(session, user.id, case_type.id)


def can_manage_case_type(session: Session, user: User, case_type: CaseType | None) -> bool:
    if is_administrator(session, user):
        return True
    if case_type is None:
        return has_role(session, user, "case_type_owner")
    return has_role(session, user, "case_type_owner", case_type.key) or (
        case_type.owner_group_id is not None and case_type.owner_group_id in group_ids(session, user))


RECORDS_ROLES = ("records_manager", "administrator")


def may_manage_records(session: Session, user_id: int) -> bool:
    """Retention, deletion, legal holds, access logs and data-subject requests.

    Records managers (who also act as the DPO's hands) and administrators.
    """
    return session.execute(select(RoleGrant.id).where(RoleGrant.user_id == user_id,
                                                      RoleGrant.role.in_(RECORDS_ROLES)).limit(1)).first() is not None


def can_edit_parties(session: Session, user: User, case: Case) -> bool:
    """Whoever may see an open case may record its parties; a closed case's parties are fixed."""
    return case.status == "open" and can_see_case(session, user, case)


def require(allowed: bool, message: str) -> None:
    if not allowed:
        raise NotAllowed(message)

# --- committees and agendas --------------------------------------------------------------------

def committee_roles(session: Session, user_id: int, committee_id: int) -> set[str]:
    """The user's seats in a committee: 'member', 'chair', 'secretary'."""
    return set(session.scalars(select(CommitteeMember.role).where(
        CommitteeMember.user_id == user_id, CommitteeMember.committee_id == committee_id)))


def may_manage_committee(session: Session, user_id: int, committee_id: int) -> bool:
    """Assemble agendas, plan meetings, publish, record decisions: the committee's secretaries,
    or an administrator."""
    return "secretary" in committee_roles(session, user_id, committee_id) or is_administrator_id(session, user_id)


def may_see_closed_agenda_content(session: Session, user_id: int, committee_ids) -> bool:
    """Closed items, sections, attachments and decisions: only the members (the chair included) and
    secretaries of a committee that treats the item. Not administrators: a closed item is closed
    because of whom it names, and running the system is no need to know."""
    ids = [i for i in committee_ids if i is not None]
    if not ids:
        return False
    return session.execute(select(CommitteeMember.id).where(
        CommitteeMember.user_id == user_id, CommitteeMember.committee_id.in_(ids)).limit(1)).first() is not None


def may_administer_committees(session: Session, user_id: int) -> bool:
    """Create committees and seat their members and secretaries: administrators."""
    return is_administrator_id(session, user_id)
