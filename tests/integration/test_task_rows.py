"""The task table's rows drawn in Python (webapp.ui.tasks.task_rows, for throughput) are the HTML the
Jinja row loop drew: escaped, with every relation line, due badge and the group list's claim form."""
from __future__ import annotations

import itertools

from flask import render_template, render_template_string, session

# The row loop as tasks/_table.html had it before task_rows, with the table's set-up lines.
REFERENCE = """{% set label_task, label_case, label_type, label_grouping, label_due = _('Task'), _('Case'), _('Case type'), _('Grouping'), _('Due') %}
{% set word_overdue, word_today, word_no_due, word_claim = _("Overdue"), _("Today"), _("No due date"), _("Claim") %}
{% set task_url, case_url = url_for('tasks.show', task_id='TASKID'), url_for('cases.show', number='CASENO') %}
{% if page.scope == 'group' %}{% set claim_url, token, here = url_for('tasks.claim', task_id='TASKID'), csrf_token(), request.full_path.rstrip('?') %}{% endif %}
  <tbody>
    {% for t in page.rows %}
    {% set task_href = task_url|replace('TASKID', t.id|urlencode) %}
    <tr{% if t.due_state == 'overdue' %} class="overdue"{% endif %}>
      <td data-label="{{ label_task }}"><a href="{{ task_href }}">{{ t.name }}</a>
        {% if t.relation == 'delegated_by_me' %}<span class="sub">{{ _("delegated to %(who)s", who=t.assignee) }}</span>
        {% elif t.relation == 'delegated_to_me' %}<span class="sub">{{ _("delegated by %(who)s", who=t.owner) }}</span>
        {% elif t.relation == 'substitute' %}<span class="sub">{{ _("covering for %(who)s", who=t.on_behalf_of) }}</span>{% endif %}
      </td>
      <td data-label="{{ label_case }}"><a href="{{ case_url|replace('CASENO', t.case|urlencode) }}">{{ t.case }}</a>{% if t.case_title %}<span class="sub">{{ t.case_title }}</span>{% endif %}</td>
      <td data-label="{{ label_type }}">{{ case_type_name(t.case_type) }}</td>
      <td data-label="{{ label_grouping }}">{{ t.grouping or "—" }}</td>
      <td data-label="{{ label_due }}">{% if t.due_at %}{{ t.due_at|datetime }}{% if t.due_state == 'overdue' %} <span class="badge badge-overdue">{{ word_overdue }}</span>{% elif t.due_state == 'today' %} <span class="badge">{{ word_today }}</span>{% endif %}{% else %}<span class="muted">{{ word_no_due }}</span>{% endif %}</td>
      {% if page.scope == 'group' %}
      <td data-label="">
        <form method="post" action="{{ claim_url|replace('TASKID', t.id|urlencode) }}" class="inline">
          <input type="hidden" name="csrf_token" value="{{ token }}">
          <input type="hidden" name="next" value="{{ here }}">
          <input type="hidden" name="then" value="{{ task_href }}">
          <button type="submit" class="button small">{{ word_claim }}<span class="visually-hidden"> {{ t.name }} ({{ t.case }})</span></button>
        </form>
      </td>
      {% endif %}
    </tr>
    {% endfor %}
  </tbody>
"""


def _rows() -> list[dict]:
    rows = []
    for n, (relation, state, due, title, grouping, case_type) in enumerate(itertools.product(
            [None, "assigned", "delegated_by_me", "delegated_to_me", "substitute"], ["overdue", "today", None],
            ["2026-11-27T10:00:00+00:00", None], ["", 'Car<port> & "x"'], [None, "Havne'gade <3>"],
            ["byggetilladelse", "unknown<x>"])):
        row = {"id": f"id-{n} ø/?&", "name": f"<b>Opgave</b> & {n}", "case": f"BYG-{n}/x", "case_title": title,
               "case_type": case_type, "grouping": grouping, "due_at": due, "due_state": state,
               "assignee": "<i>A</i>", "owner": "O&o", "on_behalf_of": 'S"s'}
        if relation:
            row["relation"] = relation
        rows.append(row)
    return rows


def _tbody(html: str) -> str:
    return html[html.index("  <tbody>"):html.index("  </tbody>") + len("  </tbody>")]


def test_task_rows_draw_the_html_of_the_jinja_row_loop(app):
    rows = _rows()
    for language, scope in itertools.product(("da", "en"), ("mine", "group", "delegated")):
        page = {"rows": rows, "total": len(rows), "scope": scope, "filters": None, "pages": 1,
                "case_types": [], "caption": "C"}
        with app.test_request_context(f"/tasks/{scope}?grouping=<x>"):
            session["lang"] = language
            expected = render_template_string(REFERENCE, page=page)
            drawn = _tbody(render_template("tasks/_table.html", page=page))
        assert drawn == expected[expected.index("  <tbody>"):], (language, scope)
        # Nothing from a row reaches the page unescaped.
        assert "<b>" not in drawn and "<i>" not in drawn and "unknown&lt;x&gt;" in drawn
        assert ("covering for S&#34;s" in drawn) == (language == "en")


def test_template_gettext_keeps_each_language_and_escaping_apart(app):
    """The layout's labels are kept per catalogue: switching language switches them, and a text
    template (no autoescape) gets plain text while an HTML one gets Markup."""
    html = app.jinja_env.from_string('{{ _("My tasks") }}|{{ _("delegated to %(who)s", who="<b>") }}')
    text = app.jinja_env.from_string('{% autoescape false %}{{ _("delegated to %(who)s", who="<b>") }}{% endautoescape %}')
    for language, expected in (("da", "Mine opgaver|delegeret til &lt;b&gt;"), ("en", "My tasks|delegated to &lt;b&gt;"),
                               ("da", "Mine opgaver|delegeret til &lt;b&gt;")):
        with app.test_request_context("/"):
            session["lang"] = language
            assert html.render() == expected
            assert text.render().endswith(" <b>")
