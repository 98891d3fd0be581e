"""A task-list page reads in one unit of work and a pinned number of statements (issue 3's page
and throughput targets: docs/benchmarks.md, task lists), and the navigation's one-statement
answers are the permission rules' answers."""
from __future__ import annotations

from datetime import datetime

import pytest
from babel import dates
from flask_babel import format_datetime
from sqlalchemy import event, select

from engine import permissions
from engine.db import HotConnection, HotResult
from engine.errors import NotFound
from engine.models import CaseType, User
from engine.services import case_types, notifications, tasks, worklists
from tests.web import Browser, csrf_token

BYG_START = {"_case_title": "Carport", "_case_grouping": "Havnegade 3", "address": "Havnegade 3, 9900 Frederikshavn",
             "cadastral_number": "7a, Frederikshavn Bygrunde", "building_type": "small_building",
             "floor_area": "36,5", "applicant": "Hans Hansen"}

# Statements a task-list page runs, BEGIN not counted: the viewer, the page with its total (SQLite
# counts in a statement of its own), the case types, and the navigation's counts, menu rights and
# the bell's unread count together. Before: 75-81 in five units of work. A change that adds one
# must change this on purpose.
PINNED = {"sqlite": {"/tasks/mine": 5, "/tasks/group": 5},
          "postgresql": {"/tasks/mine": 4, "/tasks/group": 4}}


class Counter:
    """The statements and the connection checkouts (units of work) of the requests in its block:
    those run through SQLAlchemy (its cursor event) and those run on the unit of work's prepared
    connection (engine/db.py HotConnection, which SQLAlchemy's events do not see)."""

    def __init__(self, engine):
        self.engine, self.statements, self.checkouts = engine, [], 0

    def _statement(self, conn, cursor, statement, *_):
        if statement.strip().upper() != "BEGIN":
            self.statements.append(" ".join(statement.split())[:160])

    def _checkout(self, *_):
        self.checkouts += 1

    def __enter__(self):
        event.listen(self.engine, "before_cursor_execute", self._statement)
        event.listen(self.engine.pool, "checkout", self._checkout)
        self._hot_execute = HotConnection.execute
        counter = self

        def execute(hot, statement, params=None):
            result = counter._hot_execute(hot, statement, params)
            if isinstance(result, HotResult):  # not handed on to SQLAlchemy (counted by its event)
                counter._statement(None, result.cursor, result.compiled.sql)
            return result

        HotConnection.execute = execute
        return self

    def __exit__(self, *exc):
        HotConnection.execute = self._hot_execute
        event.remove(self.engine, "before_cursor_execute", self._statement)
        event.remove(self.engine.pool, "checkout", self._checkout)


def _start(browser: Browser) -> str:
    response = browser.submit("/cases/new/byggetilladelse", BYG_START)
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    return response.headers["Location"].rsplit("/", 1)[1]


def test_a_task_list_page_reads_in_one_unit_of_work_and_pinned_statements(client, ctx):
    browser = Browser(client)
    browser.login("anna")
    mine, first = _start(browser), _start(browser)
    with ctx.unit_of_work() as uow:
        tasks.claim_task(uow, _open_task_id(ctx, mine), "anna")
    engine, dialect = ctx.database.engine, ctx.database.engine.dialect.name
    counted = {}
    for path in ("/tasks/mine", "/tasks/group"):
        client.get(path)  # warm: templates compiled, pool filled
        with Counter(engine) as counter:
            html = client.get(path).get_data(as_text=True)
        counted[path] = counter
        assert counter.checkouts == 1, f"{path}: {counter.checkouts} units of work"
        assert len(counter.statements) == PINNED[dialect][path], "\n".join(counter.statements)
    # The page still shows what it showed: the group's task, counts in the navigation, the menu.
    assert first in html and mine not in html and 'Min gruppes opgaver <span class="count">1</span>' in html
    assert 'Mine opgaver <span class="count">1</span>' in html
    # Menu entries by the permission rules: anna's group owns byggetilladelse; she manages no records.
    assert 'href="/case-types/"' in html and 'href="/records/deletion"' not in html
    # More rows, another case: the same statements (nothing runs per row or per case type).
    second = _start(browser)
    with Counter(engine) as counter:
        html = client.get("/tasks/group?sort=-created").get_data(as_text=True)
    assert second in html and first in html and counter.checkouts == 1
    assert len(counter.statements) == PINNED[dialect]["/tasks/group"], "\n".join(counter.statements)
    # The htmx partial has no navigation: fewer statements still, one unit of work.
    with Counter(engine) as counter:
        partial = client.get("/tasks/group", headers={"HX-Request": "true", "HX-Target": "task-table"})
    assert partial.get_data(as_text=True).lstrip().startswith('<div id="task-table"')
    assert counter.checkouts == 1 and len(counter.statements) < PINNED[dialect]["/tasks/group"]
    # A request that reads nothing opens nothing.
    with Counter(engine) as counter:
        assert client.get("/static/favicon.svg").status_code == 200
    assert counter.checkouts == 0 and counter.statements == []


def test_the_group_list_rows_link_and_claim_as_before(client, ctx):
    browser = Browser(client)
    browser.login("anna")
    number = _start(browser)
    html = client.get("/tasks/group").get_data(as_text=True)
    task_id = _open_task_id(ctx, number)
    assert f'href="/tasks/{task_id}"' in html and f'href="/cases/{number}"' in html
    assert f'action="/tasks/{task_id}/claim"' in html and 'name="next" value="/tasks/group"' in html
    assert f'name="then" value="/tasks/{task_id}"' in html and 'data-label="Sagstype"' in html
    response = client.post(f"/tasks/{task_id}/claim", data={"csrf_token": csrf_token(html), "next": "/tasks/group",
                                                              "then": f"/tasks/{task_id}"})
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/tasks/{task_id}")
    assert 'Mine opgaver <span class="count">1</span>' in client.get("/tasks/mine").get_data(as_text=True)


def _open_task_id(ctx, number: str) -> str:
    with ctx.unit_of_work(read_only=True) as uow:
        items = worklists.group_tasks(uow.session, "anna")["items"]
    return next(item["id"] for item in items if item["case"] == number)


def test_the_navigations_one_statement_answers_as_the_permission_rules(ctx):
    # The shipped case types are owned by groups (byggetilladelse by byg, aktindsigt by sekretariatet).
    seen = set()
    with ctx.unit_of_work(read_only=True) as uow:
        session = uow.session
        every_type = list(session.scalars(select(CaseType).order_by(CaseType.name)))
        for user in session.scalars(select(User).order_by(User.username)):
            facts = worklists.navigation(session, user.username)
            managed = [t.key for t in every_type if permissions.can_manage_case_type(session, user, t)]
            expected_menu = permissions.can_manage_case_type(session, user, None) or bool(managed)
            assert facts["case_types"] is expected_menu, user.username
            assert facts["records"] is permissions.may_manage_records(session, user.id), user.username
            assert facts["counts"] == worklists.task_counts(session, user.username), user.username
            assert facts["unread"] == notifications.unread_count(session, user.username), user.username
            assert [row["key"] for row in case_types.manageable_case_types(uow, user.username)] == managed
            seen.add((user.username, facts["case_types"], facts["records"]))
    # The demo organisation has each kind: the administrator, an owner by grant, one by group,
    # a records manager (in an owning group too), and an employee with neither.
    assert {("admin", True, True), ("dorte", True, False), ("anna", True, False), ("erik", True, True),
            ("carl", False, False)} <= seen
    with ctx.unit_of_work(read_only=True) as uow, pytest.raises(NotFound) as refused:
        worklists.navigation(uow.session, "nobody")
    assert refused.value.context["field"] == "username" and "nobody" in refused.value.message


def test_the_request_catalogue_and_date_patterns_give_flask_babels_text(app):
    moments = [datetime(2026, 12, 24, 13, 5, tzinfo=dates.UTC), datetime(2026, 7, 1, 22, 59, tzinfo=dates.UTC),
               "2026-03-29T00:30:00+00:00", datetime(2026, 10, 25, 1, 30)]
    from webapp.i18n import datetime_filter
    for language in ("da", "en"):
        with app.test_request_context("/"):
            from flask import session
            session["lang"] = language
            for style in ("short", "medium", "long", "full"):
                for moment in moments:
                    value = datetime.fromisoformat(moment) if isinstance(moment, str) else moment
                    assert datetime_filter(moment, style) == format_datetime(value, style), (language, style, moment)
            rendered = app.jinja_env.from_string("{{ _('My tasks') }}|{{ ngettext('%(num)s task', '%(num)s tasks', 3) }}")
            assert rendered.render() == {"da": "Mine opgaver|3 opgaver", "en": "My tasks|3 tasks"}[language]


def test_written_dates_are_kept_per_language_and_stay_babels_text(app, monkeypatch):
    """webapp.i18n keeps each written date per locale, time zone and style: a second request and the
    other language get babel's text, equal instants (string, datetime, another offset) one text, and
    a full store is emptied, not wrong."""
    from datetime import timedelta, timezone

    from webapp import i18n
    monkeypatch.setattr(i18n, "_WRITTEN", {})
    monkeypatch.setattr(i18n, "WRITTEN_MAX", 5)
    noon = datetime(2026, 12, 24, 12, 0, tzinfo=dates.UTC)
    same = [noon, "2026-12-24T12:00:00+00:00", noon.astimezone(timezone(timedelta(hours=5))),
            "2026-12-24T13:00:00+01:00"]
    others = [noon + timedelta(minutes=n) for n in range(1, 9)]
    for round_ in range(2):
        for language in ("da", "en", "da"):
            with app.test_request_context("/"):
                from flask import session
                session["lang"] = language
                for style in ("short", "long"):
                    expected = format_datetime(noon, style)
                    assert [i18n.datetime_filter(value, style) for value in same] == [expected] * 4, (language, style)
                    for moment in others:  # more than the store holds: emptied on the way
                        assert i18n.datetime_filter(moment, style) == format_datetime(moment, style)
                        assert i18n.datetime_filter(moment.isoformat(), style) == format_datetime(moment, style)
    assert {key[0] for key in i18n._WRITTEN} == {"da", "en"}
    assert all(len(kept) <= 5 for kept in i18n._WRITTEN.values())
    assert i18n.datetime_filter("", "short") == "" and i18n.datetime_filter(None) == ""


def test_list_urls_are_url_fors_kept_per_process(app, monkeypatch):
    """The table's sort links and pager (webapp.ui.tasks.list_url) are url_for's URLs, for every list,
    filter and typed text; and the store of them is emptied when full, not wrong."""
    import itertools

    from flask import url_for

    from webapp.ui import tasks as task_pages
    monkeypatch.setattr(task_pages, "_LIST_URLS", {})
    monkeypatch.setattr(task_pages, "LIST_URLS_MAX", 7)
    for script_root in ("", "/sagsgang"):
        with app.test_request_context("/tasks/group", base_url=f"http://localhost{script_root}"):
            for endpoint, sort, case_type, grouping, due, page in itertools.product(
                    ("tasks.mine", "tasks.group", "tasks.delegated"), ("due", "-created"), ("", "byg<&>"),
                    ("", "Havne gade 3/4?x=1&y", "Æblevej ø"), ("", "overdue"), (1, 12)):
                filters = {"sort": sort, "case_type": case_type, "grouping": grouping, "due": due, "page": page}
                for changes in ({"sort": "-due", "page": 1}, {"page": page + 1}, {"page": page - 1}):
                    for _ in range(2):  # made, then kept
                        assert task_pages.list_url(endpoint, filters, **changes) == url_for(
                            endpoint, **dict(filters, **changes)), (script_root, filters, changes)
    assert 0 < len(task_pages._LIST_URLS) <= 7
