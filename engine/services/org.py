"""The organisation: users, groups, role grants; and loading an organisation from a file."""
from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from .. import permissions
from ..db import UnitOfWork, utcnow
from ..errors import Conflict, InvalidInput, NotAllowed, NotFound
from ..localtime import local_today, parse_date
from ..models import Group, Membership, RoleGrant, Substitution, User
from ..models.org import ROLES


def get_user(session: Session, username: str) -> User:
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        raise NotFound(f"unknown user '{username}'", field="username")
    return user


def get_group(session: Session, key: str) -> Group:
    group = session.scalar(select(Group).where(Group.key == key))
    if group is None:
        raise NotFound(f"unknown group '{key}'", field="group")
    return group


def verify_password(user: User, password: str) -> bool:
    return bool(user.password_hash) and user.is_active and check_password_hash(user.password_hash, password)


def load_organisation(uow: UnitOfWork, organisation: dict) -> dict:
    """Create or update groups, users, memberships and roles from a dict; idempotent.

    {"groups": [{"key", "name", "parent"?}], "users": [{"username", "name", "email"?, "password"?,
    "groups": [...], "roles": [role or "role:scope"]}]}
    """
    session = uow.session
    groups = {g.key: g for g in session.scalars(select(Group))}
    for index, spec in enumerate(organisation.get("groups", [])):
        key = spec.get("key")
        if not key or not spec.get("name"):
            raise InvalidInput("every group needs a key and a name", field=f"groups[{index}]")
        group = groups.get(key) or Group(key=key, name=spec["name"])
        group.name = spec["name"]
        session.add(group)
        groups[key] = group
    session.flush()
    for index, spec in enumerate(organisation.get("groups", [])):
        parent = spec.get("parent")
        if parent:
            if parent not in groups:
                raise InvalidInput(f"unknown parent group '{parent}'", field=f"groups[{index}].parent")
            groups[spec["key"]].parent_id = groups[parent].id
    created = 0
    for index, spec in enumerate(organisation.get("users", [])):
        username = spec.get("username")
        if not username or not spec.get("name"):
            raise InvalidInput("every user needs a username and a name", field=f"users[{index}]")
        user = session.scalar(select(User).where(User.username == username))
        if user is None:
            user = User(username=username, name=spec["name"])
            session.add(user)
            created += 1
        user.name = spec["name"]
        user.email = spec.get("email", user.email or "")
        if spec.get("password"):
            user.password_hash = generate_password_hash(spec["password"])
        session.flush()
        member_of = {m.group_id for m in session.scalars(select(Membership).where(Membership.user_id == user.id))}
        for key in spec.get("groups", []):
            if key not in groups:
                raise InvalidInput(f"unknown group '{key}'", field=f"users[{index}].groups")
            if groups[key].id not in member_of:
                session.add(Membership(user_id=user.id, group_id=groups[key].id))
        held = {(r.role, r.scope) for r in session.scalars(select(RoleGrant).where(RoleGrant.user_id == user.id))}
        for grant in spec.get("roles", []):
            role, _, scope = grant.partition(":")
            if role not in ROLES:
                raise InvalidInput(f"unknown role '{role}' (known: {', '.join(ROLES)})", field=f"users[{index}].roles")
            if (role, scope) not in held:
                session.add(RoleGrant(user_id=user.id, role=role, scope=scope))
    uow.commit()
    return {"groups": len(groups), "users_created": created}


# --- substitutes for absence ---------------------------------------------------------------------

def create_substitution(uow: UnitOfWork, actor: str, user: str, substitute: str, from_date, to_date,
                        today: date | None = None) -> dict:
    """Name `substitute` to cover `user`'s tasks from `from_date` to `to_date` (local dates, inclusive).

    The absent user or an administrator may. The substitute sees and may complete the user's tasks
    on those days; the journal names both when they do.
    """
    session = uow.session
    actor_id = _active_user_id(session, actor, "username")
    user_row = _user_or_none(session, user)
    if user_row is None:
        raise NotFound(f"unknown user '{user}'", field="user")
    substitute_row = _user_or_none(session, substitute)
    if substitute_row is None:
        raise NotFound(f"unknown user '{substitute}'", field="substitute")
    permissions.require(permissions.may_manage_substitution(session, actor_id, user_row.id),
                        f"{actor} may not name a substitute for {user}")
    if substitute_row.id == user_row.id:
        raise InvalidInput("a user cannot be their own substitute", field="substitute", reason="self")
    if not substitute_row.is_active:
        raise InvalidInput(f"user '{substitute}' is deactivated and cannot substitute", field="substitute",
                           reason="deactivated")
    start, end = parse_date(from_date, "from_date"), parse_date(to_date, "to_date")
    if end < start:
        raise InvalidInput(f"to_date {end.isoformat()} is before from_date {start.isoformat()}", field="to_date",
                           reason="before_start")
    if end < (today or local_today()):
        raise InvalidInput(f"to_date {end.isoformat()} has passed", field="to_date", reason="passed")
    overlapping = session.scalar(select(Substitution.id).where(
        Substitution.user_id == user_row.id, Substitution.substitute_id == substitute_row.id,
        Substitution.ended_at.is_(None), Substitution.from_date <= end, Substitution.to_date >= start).limit(1))
    if overlapping is not None:
        raise InvalidInput(f"{substitute} already substitutes for {user} on some of these days "
                           f"(substitution {overlapping})", field="from_date", reason="overlap")
    row = Substitution(user_id=user_row.id, substitute_id=substitute_row.id, from_date=start, to_date=end,
                       created_by_id=actor_id)
    session.add(row)
    session.flush()
    result = _substitution_dict(row, user_row.username, substitute_row.username, today)
    uow.commit()
    return result


def end_substitution(uow: UnitOfWork, actor: str, substitution_id: int, today: date | None = None) -> dict:
    """End a substitution now (the absent user came back early); the row stays as a record."""
    session = uow.session
    actor_id = _active_user_id(session, actor, "username")
    row = session.get(Substitution, substitution_id) if isinstance(substitution_id, int) else None
    if row is None:
        raise NotFound(f"unknown substitution '{substitution_id}'", field="substitution_id")
    permissions.require(permissions.may_end_substitution(session, actor_id, row.user_id, row.substitute_id,
                                                         row.created_by_id),
                        f"{actor} may not end substitution {substitution_id}")
    if row.ended_at is not None:
        raise Conflict(f"substitution {substitution_id} already ended at {row.ended_at.isoformat()}")
    row.ended_at, row.ended_by_id = utcnow(), actor_id
    session.flush()
    result = _substitution_dict(row, row.user.username, row.substitute.username, today)
    uow.commit()
    return result


def list_substitutions(session: Session, username: str | None = None, active_on: date | None = None) -> list[dict]:
    """Substitutions covering or naming `username` (all, without it), optionally only those active on a day."""
    query = select(Substitution).order_by(Substitution.from_date, Substitution.id)
    if username is not None:
        user_id = get_user(session, username).id
        query = query.where((Substitution.user_id == user_id) | (Substitution.substitute_id == user_id))
    if active_on is not None:
        query = query.where(Substitution.ended_at.is_(None), Substitution.from_date <= active_on,
                            Substitution.to_date >= active_on)
    return [_substitution_dict(row, row.user.username, row.substitute.username, active_on)
            for row in session.scalars(query)]


def _substitution_dict(row: Substitution, user: str, substitute: str, today: date | None) -> dict:
    today = today or local_today()
    return {"id": row.id, "user": user, "substitute": substitute, "from_date": row.from_date.isoformat(),
            "to_date": row.to_date.isoformat(), "ended_at": row.ended_at.isoformat() if row.ended_at else None,
            "active": row.ended_at is None and row.from_date <= today <= row.to_date}


def _user_or_none(session: Session, username) -> User | None:
    if not isinstance(username, str) or not username:
        return None
    return session.scalar(select(User).where(User.username == username))


def _active_user_id(session: Session, username: str, field: str) -> int:
    user = _user_or_none(session, username)
    if user is None:
        raise NotFound(f"unknown user '{username}'", field=field)
    if not user.is_active:
        raise NotAllowed(f"user '{username}' is deactivated")
    return user.id


def substitution_overview(session: Session, actor: str, today: date | None = None) -> dict:
    """What the substitutes page shows `actor`: the current and planned cover that names them (an
    administrator sees everyone's), whether they may end each, and colleagues to suggest."""
    today = today or local_today()
    user = get_user(session, actor)
    administrator = permissions.is_administrator_id(session, user.id)
    query = (select(Substitution).where(Substitution.ended_at.is_(None), Substitution.to_date >= today)
             .order_by(Substitution.from_date, Substitution.id))
    if not administrator:
        query = query.where((Substitution.user_id == user.id) | (Substitution.substitute_id == user.id))
    rows = []
    for row in session.scalars(query):
        entry = _substitution_dict(row, row.user.username, row.substitute.username, today)
        entry.update(user_name=row.user.name, substitute_name=row.substitute.name,
                     may_end=bool(permissions.may_end_substitution(session, user.id, row.user_id, row.substitute_id,
                                                                   row.created_by_id)))
        rows.append(entry)
    # Suggestions only (any username may be typed): the actor's colleagues, not all 5,000 employees.
    groups = select(Membership.group_id).where(Membership.user_id == user.id)
    people = [{"username": username, "name": name} for username, name in session.execute(
        select(User.username, User.name).join(Membership, Membership.user_id == User.id)
        .where(Membership.group_id.in_(groups), User.is_active.is_(True), User.id != user.id)
        .distinct().order_by(User.name, User.username))]
    return {"substitutions": rows, "people": people, "may_name_for_others": administrator,
            "today": today.isoformat()}
