"""Who may see, start, complete and manage what. Every entry point asks these functions."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import bindparam, exists, or_, select
from sqlalchemy.orm import Session

from .errors import NotAllowed
from .localtime import local_today
from .models import Case, CaseTask, CaseType, CommitteeMember, Group, Membership, RoleGrant, Substitution, User


@dataclass(frozen=True)
class Verdict:
    """A permission's answer: truthy when allowed; a refusal says why, in words a user understands.

    `on_behalf_of` is the absent user whose substitute is acting: journal events name both.
    """

    allowed: bool
    reason: str = ""
    on_behalf_of: int | None = None

    def __bool__(self) -> bool:
        return self.allowed


ALLOWED = Verdict(True)


def refused(reason: str) -> Verdict:
    return Verdict(False, reason)


@dataclass(frozen=True)
class TaskHolders:
    """Who a task is for, as the task index row says: all a task permission needs to decide."""

    assignee_id: int | None
    candidate_group_id: int | None
    owner_id: int | None = None  # set while delegated: the user who delegated it


# Prepared once: these run inside the task actions' units of work.
_IS_ADMINISTRATOR = (select(RoleGrant.id).where(RoleGrant.user_id == bindparam("user_id"),
                                                RoleGrant.role == "administrator").limit(1))
_IS_MEMBER = (select(Membership.id).where(Membership.user_id == bindparam("user_id"),
                                          Membership.group_id == bindparam("group_id")).limit(1))
_ACTIVE_SUBSTITUTION = (select(Substitution.id).where(
    Substitution.user_id == bindparam("user_id"), Substitution.substitute_id == bindparam("substitute_id"),
    Substitution.from_date <= bindparam("today"), Substitution.to_date >= bindparam("today"),
    Substitution.ended_at.is_(None)).limit(1))
_SUBSTITUTED_USERS = (select(Substitution.user_id).distinct().where(
    Substitution.substitute_id == bindparam("substitute_id"), Substitution.from_date <= bindparam("today"),
    Substitution.to_date >= bindparam("today"), Substitution.ended_at.is_(None)))
_USERNAME = select(User.username).where(User.id == bindparam("user_id"))
_GROUP_NAME = select(Group.name).where(Group.id == bindparam("group_id"))


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
    return session.connection().execute(_IS_ADMINISTRATOR, {"user_id": user_id}).first() is not None


def is_member(session: Session, user_id: int, group_id: int) -> bool:
    return session.connection().execute(_IS_MEMBER, {"user_id": user_id, "group_id": group_id}).first() is not None


def substitutes_for(session: Session, substitute_id: int, user_id: int, today: date | None = None) -> bool:
    """Whether `substitute_id` covers `user_id` today (an active, not ended substitution)."""
    params = {"user_id": user_id, "substitute_id": substitute_id, "today": today or local_today()}
    return session.connection().execute(_ACTIVE_SUBSTITUTION, params).first() is not None


def substituted_user_ids(session: Session, substitute_id: int, today: date | None = None) -> list[int]:
    """The users whose tasks `substitute_id` covers today."""
    params = {"substitute_id": substitute_id, "today": today or local_today()}
    return sorted(session.connection().execute(_SUBSTITUTED_USERS, params).scalars())


def group_ids_of(session: Session, user_id: int) -> set[int]:
    return set(session.scalars(select(Membership.group_id).where(Membership.user_id == user_id)))


def may_complete_task(session: Session, user_id: int, assignee_id: int | None,
                      candidate_group_id: int | None, owner_id: int | None = None,
                      today: date | None = None) -> Verdict:
    """The assignee (the delegate, while delegated); while nobody is assigned, a member of the
    candidate group; an active substitute of the assignee; or an administrator.

    The common case, the assignee completing, decides without a query (the hot path).
    """
    if assignee_id is not None and assignee_id == user_id:
        return ALLOWED
    if assignee_id is None:
        if candidate_group_id is not None and is_member(session, user_id, candidate_group_id):
            return ALLOWED
    elif substitutes_for(session, user_id, assignee_id, today):
        return Verdict(True, on_behalf_of=assignee_id)
    if is_administrator_id(session, user_id):
        return ALLOWED
    if owner_id is not None and owner_id == user_id:
        return refused(f"you delegated it to {_username(session, assignee_id)}; take it back first")
    return refused(_held_by(session, TaskHolders(assignee_id, candidate_group_id, owner_id)))


def _username(session: Session, user_id: int | None) -> str:
    name = session.connection().execute(_USERNAME, {"user_id": user_id}).scalar() if user_id else None
    return name or "nobody"


def _group_name(session: Session, group_id: int | None) -> str:
    name = session.connection().execute(_GROUP_NAME, {"group_id": group_id}).scalar() if group_id else None
    return name or "no group"


def _held_by(session: Session, task: TaskHolders) -> str:
    """Why a user who neither holds a task nor covers for its holder is refused."""
    if task.assignee_id is not None:
        return f"it is assigned to {_username(session, task.assignee_id)}, and you are not their active substitute"
    if task.candidate_group_id is not None:
        return f"it waits for group {_group_name(session, task.candidate_group_id)}, and you are not a member"
    return "it has neither an assignee nor a candidate group"


def _as_holder(session: Session, user_id: int, holder_id: int | None, today: date | None) -> Verdict | None:
    """The user is the holder, or covers for the holder today (then on their behalf)."""
    if holder_id is None:
        return None
    if holder_id == user_id:
        return ALLOWED
    if substitutes_for(session, user_id, holder_id, today):
        return Verdict(True, on_behalf_of=holder_id)
    return None


def may_claim_task(session: Session, user_id: int, task: TaskHolders) -> Verdict:
    """A member of the candidate group (or an administrator) takes an unassigned group task.

    That the task is still unassigned is the caller's check: losing that race is a Conflict.
    """
    if task.candidate_group_id is None:
        return refused("it has no candidate group to claim it from")
    if is_member(session, user_id, task.candidate_group_id) or is_administrator_id(session, user_id):
        return ALLOWED
    return refused(f"it waits for group {_group_name(session, task.candidate_group_id)}, and you are not a member")


def may_unclaim_task(session: Session, user_id: int, task: TaskHolders, today: date | None = None) -> Verdict:
    """The assignee (or their substitute, or an administrator) hands a task back to its group."""
    if task.candidate_group_id is None:
        return refused("it has no candidate group to go back to; assign it to a colleague instead")
    if task.owner_id is not None and not is_administrator_id(session, user_id):
        return refused(f"it is delegated by {_username(session, task.owner_id)}, who takes it back first")
    verdict = _as_holder(session, user_id, task.assignee_id, today)
    if verdict:
        return verdict
    if is_administrator_id(session, user_id):
        return ALLOWED
    return refused(_held_by(session, task))


def may_assign_task(session: Session, user_id: int, task: TaskHolders, today: date | None = None) -> Verdict:
    """Hand a task to a colleague: its holder (or the holder's substitute), a member of its
    candidate group, or an administrator. While delegated, the owner decides, not the delegate."""
    holder = task.owner_id if task.owner_id is not None else task.assignee_id
    verdict = _as_holder(session, user_id, holder, today)
    if verdict:
        return verdict
    if task.candidate_group_id is not None and is_member(session, user_id, task.candidate_group_id):
        return ALLOWED
    if is_administrator_id(session, user_id):
        return ALLOWED
    if task.owner_id is not None and task.assignee_id == user_id:
        return refused(f"{_username(session, task.owner_id)} delegated it to you and decides who gets it next")
    return refused(_held_by(session, task))


def may_delegate_task(session: Session, user_id: int, task: TaskHolders, today: date | None = None) -> Verdict:
    """The holder (or their substitute, or an administrator) lets a colleague work a task and keeps
    seeing it. A delegated task is re-delegated only by its owner."""
    if task.assignee_id is None:
        return refused("nobody holds it yet; claim it first")
    holder = task.owner_id if task.owner_id is not None else task.assignee_id
    verdict = _as_holder(session, user_id, holder, today)
    if verdict:
        return verdict
    if is_administrator_id(session, user_id):
        return ALLOWED
    if task.owner_id is not None and task.assignee_id == user_id:
        return refused(f"{_username(session, task.owner_id)} delegated it to you; only they delegate it on")
    return refused(_held_by(session, task))


def may_take_back_task(session: Session, user_id: int, task: TaskHolders, today: date | None = None) -> Verdict:
    """The owner of a delegated task (or their substitute, or an administrator) takes it back."""
    verdict = _as_holder(session, user_id, task.owner_id, today)
    if verdict:
        return verdict
    if is_administrator_id(session, user_id):
        return ALLOWED
    return refused(f"{_username(session, task.owner_id)} delegated it, not you")


def may_plan_task(session: Session, user_id: int, task: TaskHolders, today: date | None = None) -> Verdict:
    """Set due date, follow-up date or priority: whoever holds or owns the task (or covers for them),
    a member of its candidate group, or an administrator."""
    for holder in (task.assignee_id, task.owner_id):
        verdict = _as_holder(session, user_id, holder, today)
        if verdict:
            return verdict
    if task.candidate_group_id is not None and is_member(session, user_id, task.candidate_group_id):
        return ALLOWED
    if is_administrator_id(session, user_id):
        return ALLOWED
    return refused(_held_by(session, task))


def may_manage_substitution(session: Session, user_id: int, absent_user_id: int) -> Verdict:
    """Who names a substitute: the absent user themself or an administrator."""
    if user_id == absent_user_id or is_administrator_id(session, user_id):
        return ALLOWED
    return refused("only the absent user or an administrator names their substitute")


def may_end_substitution(session: Session, user_id: int, absent_user_id: int, substitute_id: int,
                         created_by_id: int | None) -> Verdict:
    """Ending cover early: the absent user, the substitute, whoever named them, or an administrator."""
    if user_id in (absent_user_id, substitute_id, created_by_id) or is_administrator_id(session, user_id):
        return ALLOWED
    return refused("only the absent user, the substitute, whoever named them or an administrator ends it")


def may_close_case(session: Session, user_id: int, caseworker_id: int | None) -> bool:
    """The case's caseworker or an administrator may close a case before its workflow ends."""
    return caseworker_id == user_id or is_administrator_id(session, user_id)


def may_start_case(session: Session, user_id: int, case_type_id: int) -> bool:
    """Every active employee may open a case of any published case type (the municipality's rule)."""
    return True


def can_complete_task(session: Session, user: User, task: CaseTask) -> bool:
    if not user.is_active or task.state != "open":
        return False
    return bool(may_complete_task(session, user.id, task.assignee_id, task.candidate_group_id, task.owner_id))


def can_see_case(session: Session, user: User, case: Case) -> bool:
    """Need to know: the caseworker, anyone a task of the case was meant for, the case type's owners."""
    if not user.is_active:
        return False
    if case.caseworker_id == user.id or is_administrator(session, user):
        return True
    groups = group_ids(session, user)
    if case.case_type.owner_group_id in groups:
        return True
    # A substitute sees the cases of the tasks they cover; an owner those of the tasks they delegated.
    holders = [user.id, *substituted_user_ids(session, user.id)]
    task_for_user = select(CaseTask.id).where(CaseTask.case_id == case.id).where(
        CaseTask.assignee_id.in_(holders) | (CaseTask.completed_by_id == user.id) | (CaseTask.owner_id == user.id)
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


def case_type_owner_facts(session: Session, user_id: int) -> tuple[bool, set[str], set[int]]:
    """What can_manage_case_type asks, read once for every case type at once: (administrator, the
    scopes of the user's case-type owner grants, '' meaning all, and the user's group ids)."""
    grants = session.connection().execute(select(RoleGrant.role, RoleGrant.scope).where(
        RoleGrant.user_id == user_id, RoleGrant.role.in_(("administrator", "case_type_owner")))).all()
    administrator = any(role == "administrator" for role, _ in grants)
    scopes = {scope or "" for role, scope in grants if role == "case_type_owner"}
    return administrator, scopes, group_ids_of(session, user_id)


def manages_case_type(facts: tuple[bool, set[str], set[int]], case_type: CaseType) -> bool:
    """can_manage_case_type for one case type, from case_type_owner_facts (no query)."""
    administrator, scopes, groups = facts
    return administrator or bool(scopes & {"", case_type.key}) or (
        case_type.owner_group_id is not None and case_type.owner_group_id in groups)


RECORDS_ROLES = ("records_manager", "administrator")


def manages_records_clause(user_id):
    """may_manage_records as an SQL truth value, to ask it inside a statement that reads more."""
    return exists(select(RoleGrant.id).where(RoleGrant.user_id == user_id, RoleGrant.role.in_(RECORDS_ROLES)))


def manages_some_case_type_clause(user_id):
    """Whether can_manage_case_type holds for the user and some case type (or for none in
    particular), as an SQL truth value: an administrator, a case-type owner grant of any scope, or a
    member of a group that owns a case type. The case-type menu shows for exactly these users."""
    grants = exists(select(RoleGrant.id).where(RoleGrant.user_id == user_id,
                                               RoleGrant.role.in_(("administrator", "case_type_owner"))))
    owning_group = exists(select(CaseType.id).where(CaseType.owner_group_id.in_(
        select(Membership.group_id).where(Membership.user_id == user_id))))
    return or_(grants, owning_group)


def may_manage_some_case_type(session: Session, user_id: int) -> bool:
    """The case-type pages' menu entry: see manages_some_case_type_clause (one statement)."""
    return bool(session.connection().execute(select(manages_some_case_type_clause(user_id))).scalar())


def may_manage_records(session: Session, user_id: int) -> bool:
    """Retention, deletion, legal holds, access logs and data-subject requests.

    Records managers (who also act as the DPO's hands) and administrators.
    """
    return bool(session.connection().execute(select(manages_records_clause(user_id))).scalar())


def can_edit_parties(session: Session, user: User, case: Case) -> bool:
    """Whoever may see an open case may record its parties; a closed case's parties are fixed."""
    return case.status == "open" and can_see_case(session, user, case)


def require(allowed: bool | Verdict, message: str) -> None:
    """Raise NotAllowed with `message`, followed by the verdict's reason when it gives one."""
    if not allowed:
        reason = getattr(allowed, "reason", "")
        raise NotAllowed(f"{message}: {reason}" if reason else message, reason=reason or None)


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
