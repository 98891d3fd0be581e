"""The organisation: users, groups, role grants; and loading an organisation from a file."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from ..db import UnitOfWork
from ..errors import InvalidInput, NotFound
from ..models import Group, Membership, RoleGrant, User
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
