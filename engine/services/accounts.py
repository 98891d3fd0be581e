"""Signing in: a local password, or the claims of an OpenID Connect provider, to one active user.

The web app keeps the session; these functions only decide who someone is. Sign-in never creates
users: the organisation is loaded by an administrator.
"""
from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..errors import NotAllowed, NotFound
from ..models import User
from .org import verify_password

# One message for an unknown user and a wrong password, so the form does not reveal who exists.
WRONG_CREDENTIALS = "wrong username or password"


def _account(user: User) -> dict:
    return {"username": user.username, "name": user.name, "email": user.email}


def authenticate(session: Session, username: str, password: str) -> dict:
    """The account of `username` if `password` is right and the user is active."""
    if not isinstance(username, str) or not isinstance(password, str) or not username.strip() or not password:
        raise NotAllowed(WRONG_CREDENTIALS, field="username")
    user = session.scalar(select(User).where(User.username == username.strip()))
    if user is None or not verify_password(user, password):
        raise NotAllowed(WRONG_CREDENTIALS, field="username")
    return _account(user)


def user_for_claims(session: Session, claims: dict, claim_names: tuple[str, ...] | list[str]) -> dict:
    """The active user an identity provider's claims name, trying `claim_names` in order.

    A value matches a username exactly, or else an e-mail address (case-insensitively, and only
    one user). An address the provider says is unverified (`email_verified: false`) is not used
    for e-mail matching: anyone can put any address in an unverified account.
    """
    email_trusted = claims.get("email_verified") is not False
    for name in claim_names:
        value = claims.get(name)
        if not isinstance(value, str) or not value.strip():
            continue
        value = value.strip()
        user = session.scalar(select(User).where(User.username == value))
        if user is None and "@" in value and email_trusted:
            matches = list(session.scalars(select(User).where(func.lower(User.email) == value.lower()).limit(2)))
            if len(matches) > 1:
                raise NotAllowed(f"more than one Sagsgang user has the e-mail address {value}; "
                                 "an administrator must make them unique", field=name)
            user = matches[0] if matches else None
        if user is not None:
            if not user.is_active:
                raise NotAllowed(f"user '{user.username}' is deactivated", field=name)
            return _account(user)
    tried = ", ".join(f"{n}={claims.get(n)!r}" for n in claim_names if claims.get(n))
    raise NotFound("no Sagsgang user matches the identity provider's claims"
                   + (f" ({tried})" if tried else f" (none of {', '.join(claim_names)} was given)"),
                   field="username")
