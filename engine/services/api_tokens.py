"""Personal API tokens: create, list, revoke, and tell who a presented token belongs to.

A token is shown once, when it is made ("sgt_" and 43 random characters); the database keeps an
HMAC-SHA256 of it under the instance's secret key, so neither a database copy nor a backup holds
usable tokens. A token acts as its user: the API asks the same permission functions as the UI.
Changing SAGSGANG_SECRET_KEY invalidates every token (users make new ones).
"""
from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session

from .. import permissions
from ..db import UnitOfWork, utcnow
from ..errors import InvalidInput, NotAllowed, NotFound
from ..models import ApiToken, User
from .org import get_user

PREFIX = "sgt_"
MAX_TOKENS_PER_USER = 20
MAX_DAYS = 730
# last_used_at is written at most this often per token, so reads stay reads.
TOUCH_EVERY = timedelta(minutes=5)

_BY_HASH = (select(ApiToken.id, ApiToken.expires_at, ApiToken.revoked_at, ApiToken.last_used_at,
                   User.username, User.is_active)
            .join(User, User.id == ApiToken.user_id).where(ApiToken.token_hash == bindparam("token_hash")))


class NotAuthenticated(NotAllowed):
    """No valid credentials: a missing, unknown, expired or revoked token (HTTP 401)."""


def token_hash(token: str, key: str) -> str:
    return hmac.new(key.encode(), b"sagsgang-api-token:" + token.encode(), hashlib.sha256).hexdigest()


def create_token(uow: UnitOfWork, actor: str, name: str, expires_in_days: int | None = None,
                 now: datetime | None = None) -> dict:
    """Make a token for `actor`; the returned dict holds the token itself, which is never shown again."""
    session, now = uow.session, now or utcnow()
    user = _active_user(session, actor)
    if not isinstance(name, str) or not name.strip() or len(name.strip()) > 100:
        raise InvalidInput("a token needs a name of 1 to 100 characters (what it is for)", field="name")
    if expires_in_days is not None and (not isinstance(expires_in_days, int) or isinstance(expires_in_days, bool)
                                        or not 1 <= expires_in_days <= MAX_DAYS):
        raise InvalidInput(f"expires_in_days is a whole number from 1 to {MAX_DAYS}", field="expires_in_days")
    active = [t for t in _tokens(session, user.id) if _state(t, now) == "active"]
    if len(active) >= MAX_TOKENS_PER_USER:
        raise InvalidInput(f"you have {MAX_TOKENS_PER_USER} active tokens; revoke one first", field="name")
    secret = PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(user_id=user.id, name=name.strip(), prefix=secret[:10], created_at=now,
                   token_hash=token_hash(secret, uow.runtime.settings.secret_key),
                   expires_at=now + timedelta(days=expires_in_days) if expires_in_days else None)
    session.add(row)
    session.flush()
    result = dict(_token_dict(row, now), token=secret)
    uow.commit()
    return result


def list_tokens(session: Session, actor: str, now: datetime | None = None) -> list[dict]:
    user = get_user(session, actor)
    return [_token_dict(t, now or utcnow()) for t in _tokens(session, user.id)]


def revoke_token(uow: UnitOfWork, actor: str, token_id: int, now: datetime | None = None) -> dict:
    """Revoke a token: its owner, or an administrator (a leaked token of someone else)."""
    session, now = uow.session, now or utcnow()
    user = get_user(session, actor)
    row = session.get(ApiToken, token_id)
    if row is None or (row.user_id != user.id and not permissions.is_administrator_id(session, user.id)):
        raise NotFound(f"unknown API token {token_id}", field="token_id")
    if row.revoked_at is None:
        row.revoked_at = now
    result = _token_dict(row, now)
    uow.commit()
    return result


def authenticate_token(uow: UnitOfWork, token: str, now: datetime | None = None) -> dict:
    """The user a presented token acts as: {"username", "token_id", "touch"}; NotAuthenticated otherwise.

    `touch` says the caller should record the use (record_token_use) in a unit of work of its own.
    """
    now = now or utcnow()
    if not isinstance(token, str) or not token.startswith(PREFIX) or len(token) > 200:
        raise NotAuthenticated("not a Sagsgang API token", reason="invalid_token")
    row = uow.session.connection().execute(
        _BY_HASH, {"token_hash": token_hash(token, uow.runtime.settings.secret_key)}).first()
    if row is None or row.revoked_at is not None:
        raise NotAuthenticated("unknown or revoked API token", reason="invalid_token")
    if row.expires_at is not None and row.expires_at <= now:
        raise NotAuthenticated("the API token has expired", reason="invalid_token")
    if not row.is_active:
        raise NotAuthenticated(f"user '{row.username}' is deactivated", reason="invalid_token")
    touch = row.last_used_at is None or now - row.last_used_at >= TOUCH_EVERY
    return {"username": row.username, "token_id": row.id, "touch": touch}


def record_token_use(uow: UnitOfWork, token_id: int, now: datetime | None = None) -> None:
    uow.session.execute(update(ApiToken).where(ApiToken.id == token_id).values(last_used_at=now or utcnow()))
    uow.commit()


def _active_user(session: Session, actor: str) -> User:
    user = get_user(session, actor)
    if not user.is_active:
        raise NotAllowed(f"user '{actor}' is deactivated")
    return user


def _tokens(session: Session, user_id: int) -> list[ApiToken]:
    return list(session.scalars(select(ApiToken).where(ApiToken.user_id == user_id).order_by(ApiToken.id)))


def _state(row: ApiToken, now: datetime) -> str:
    if row.revoked_at is not None:
        return "revoked"
    if row.expires_at is not None and row.expires_at <= now:
        return "expired"
    return "active"


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def _token_dict(row: ApiToken, now: datetime) -> dict:
    return {"id": row.id, "name": row.name, "prefix": row.prefix, "state": _state(row, now),
            "created_at": _iso(row.created_at), "expires_at": _iso(row.expires_at),
            "last_used_at": _iso(row.last_used_at), "revoked_at": _iso(row.revoked_at)}
