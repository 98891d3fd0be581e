"""Personal API tokens: shown once, stored as a keyed hash, revoked or expired means refused."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from engine.db import utcnow
from engine.errors import InvalidInput, NotFound
from engine.models import ApiToken
from engine.services import api_tokens


def make(ctx, actor="anna", name="Integration", days=None):
    with ctx.unit_of_work() as uow:
        return api_tokens.create_token(uow, actor, name, days)


def who(ctx, token, now=None):
    with ctx.unit_of_work(read_only=True) as uow:
        return api_tokens.authenticate_token(uow, token, now)


def test_a_token_acts_as_its_user_and_only_its_hash_is_stored(ctx):
    made = make(ctx)
    assert made["token"].startswith("sgt_") and made["prefix"] == made["token"][:10]
    assert who(ctx, made["token"])["username"] == "anna"
    with ctx.unit_of_work(read_only=True) as uow:
        row = uow.session.scalars(select(ApiToken)).one()
        assert made["token"] not in (row.token_hash, row.prefix)
        assert row.token_hash == api_tokens.token_hash(made["token"], ctx.settings.secret_key)
    with ctx.unit_of_work(read_only=True) as uow:
        listed = api_tokens.list_tokens(uow.session, "anna")
    assert [t["state"] for t in listed] == ["active"] and "token" not in listed[0]


def test_revoked_expired_and_unknown_tokens_are_refused(ctx):
    made = make(ctx, days=1)
    assert who(ctx, made["token"], utcnow() + timedelta(hours=23))["username"] == "anna"
    with pytest.raises(api_tokens.NotAuthenticated):
        who(ctx, made["token"], utcnow() + timedelta(days=2))
    with pytest.raises(api_tokens.NotAuthenticated):
        who(ctx, made["token"] + "x")
    with pytest.raises(api_tokens.NotAuthenticated):
        who(ctx, "Bearer nonsense")
    with ctx.unit_of_work() as uow, pytest.raises(NotFound):
        api_tokens.revoke_token(uow, "bo", made["id"])  # someone else's token is not even named
    with ctx.unit_of_work() as uow:
        assert api_tokens.revoke_token(uow, "anna", made["id"])["state"] == "revoked"
    with pytest.raises(api_tokens.NotAuthenticated):
        who(ctx, made["token"])


@pytest.mark.parametrize("name, days, field", [("", None, "name"), ("x" * 101, None, "name"),
                                               ("ok", 0, "expires_in_days"), ("ok", 10_000, "expires_in_days")])
def test_bad_token_input_names_the_field(ctx, name, days, field):
    with pytest.raises(InvalidInput) as err:
        make(ctx, name=name, days=days)
    assert err.value.field == field
    with ctx.unit_of_work(read_only=True) as uow:
        assert uow.session.scalars(select(ApiToken)).all() == []


def test_use_is_recorded_at_most_every_few_minutes(ctx):
    made = make(ctx)
    seen = who(ctx, made["token"])
    assert seen["touch"]
    with ctx.unit_of_work() as uow:
        api_tokens.record_token_use(uow, seen["token_id"])
    assert not who(ctx, made["token"])["touch"]
    assert who(ctx, made["token"], utcnow() + api_tokens.TOUCH_EVERY)["touch"]
