"""IN-list statements on the hot path: the rendering kept per shape (list lengths, literal values)
gives the SQL and parameters SQLAlchemy's construct_expanded_state gives, for every dialect."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest
from sqlalchemy import bindparam, select, text
from sqlalchemy.dialects import postgresql, sqlite

from engine.db import Prepared
from engine.models import Group
from engine.services.worklists import _NAVIGATION

_GROUPS_IN = select(Group.id).where(Group.key.in_(bindparam("keys", expanding=True)),
                                    Group.name != bindparam("name"))
_TEXT_IN = text("SELECT key FROM groups WHERE key IN :keys OR id IN :ids").bindparams(
    bindparam("keys", expanding=True), bindparam("ids", expanding=True))
NOW = datetime(2026, 11, 28, 5, 0, tzinfo=timezone.utc)


def sqlalchemys(compiled, params):
    expanded = compiled.compiled.construct_expanded_state(params, escape_names=True)
    values = dict(expanded.parameters)
    for name, process in expanded.processors.items():
        if name in values:
            values[name] = process(values[name])
    if expanded.positiontup is not None:
        return expanded.statement, tuple(values[name] for name in expanded.positiontup)
    return expanded.statement, values


CALLS = [
    (_NAVIGATION, [{"user_id": 7, "holders": holders, "now": NOW} for holders in ([7], [7, 9, 11], [3], [4, 5, 6], [8])]),
    (_GROUPS_IN, [{"keys": keys, "name": "x"} for keys in (["a"], ["b", "c"], [], ["d"], ["e", "f"], [])]),
    (_TEXT_IN, [{"keys": ["a", "b"], "ids": [1]}, {"keys": ["c"], "ids": [2, 3]}, {"keys": ["d", "e"], "ids": [4]}]),
]


@pytest.mark.parametrize("dialect", [postgresql.psycopg.dialect(), sqlite.dialect()], ids=["postgresql", "sqlite"])
@pytest.mark.parametrize("statement, calls", CALLS, ids=["navigation", "select_in", "text_in"])
def test_kept_in_list_renderings_match_sqlalchemys(dialect, statement, calls):
    prepared = Prepared(statement)
    for params in calls:  # shapes repeat with other values: the kept rendering is reused
        compiled = prepared.compiled(dialect, params)
        assert compiled.statement_and_parameters(params) == sqlalchemys(compiled, params)
    assert compiled.shapes and len(compiled.shapes) < len(calls)


def test_a_missing_in_list_value_still_names_it():
    compiled = Prepared(_GROUPS_IN).compiled(postgresql.psycopg.dialect(), {})
    with pytest.raises(Exception, match="keys"):
        compiled.statement_and_parameters({"name": "x"})
