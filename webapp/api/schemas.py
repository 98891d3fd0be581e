"""Marshmallow schemas of the API: what requests may hold and what responses promise (the OpenAPI
document is made from them). Schemas live only here; the engine takes and returns plain values."""
from __future__ import annotations

import marshmallow as ma
from flask_smorest.fields import Upload
from marshmallow import fields, validate

from engine.models.agenda import OUTCOMES
from engine.models.search import SEARCH_KINDS
from engine.services.webhooks import EVENT_NAMES


def timestamp(**kwargs):
    """An ISO 8601 timestamp as the engine gives it (already a string)."""
    return fields.String(metadata={"format": "date-time"}, **kwargs)


def day(**kwargs):
    return fields.Date(**kwargs)


# An id in a URL path: a larger number names nothing (404) instead of overflowing a database integer.
ID = "int(max=2147483647)"


class Strict(ma.Schema):
    class Meta:
        unknown = ma.RAISE


# --- paging -----------------------------------------------------------------------------------------

class PageArgs(Strict):
    limit = fields.Integer(load_default=20, validate=validate.Range(1, 100))
    offset = fields.Integer(load_default=0, validate=validate.Range(0, 10_000))


class Links(ma.Schema):
    self = fields.String(required=True)
    first = fields.String(required=True)
    next = fields.String(allow_none=True)
    prev = fields.String(allow_none=True)


class Page(ma.Schema):
    total = fields.Integer(required=True)
    limit = fields.Integer(required=True)
    offset = fields.Integer(required=True)
    links = fields.Nested(Links, required=True)


# --- case types --------------------------------------------------------------------------------------

class CaseTypeSummary(ma.Schema):
    key = fields.String(required=True)
    name = fields.String(required=True)
    prefix = fields.String(required=True)
    kle_number = fields.String(required=True)
    deletion_rule = fields.String(required=True)
    current_version = fields.Integer(allow_none=True, required=True)


class StartForm(ma.Schema):
    case_type = fields.String(required=True)
    name = fields.String(required=True)
    version = fields.Integer(required=True)
    form = fields.String(allow_none=True, metadata={"description": "The start form's file name"})
    schema = fields.Dict(allow_none=True, required=True,
                         metadata={"description": "JSON Schema of `data` when opening a case of this type"})


# --- cases --------------------------------------------------------------------------------------------

class CaseFilterArgs(Strict):
    case_type = fields.String(metadata={"description": "Case type key"})
    kle_number = fields.String(metadata={"description": "KLE number or its start, e.g. 02.34"})
    grouping = fields.String()
    status = fields.String(validate=validate.OneOf(("open", "closed")))
    caseworker = fields.String(metadata={"description": "Username"})
    opened_from = day()
    opened_to = day()
    closed_from = day()
    closed_to = day()
    purpose = fields.String(validate=validate.Length(max=200),
                            metadata={"description": "Why the list is looked at (written to the access log)"})


class CaseListArgs(CaseFilterArgs, PageArgs):
    pass


class CaseSummary(ma.Schema):
    number = fields.String(required=True)
    title = fields.String(required=True)
    case_type = fields.String(required=True)
    status = fields.String(required=True)
    grouping = fields.String(required=True)
    caseworker = fields.String(allow_none=True, required=True)
    opened_at = timestamp(required=True)
    closed_at = timestamp(allow_none=True, required=True)
    updated_at = timestamp(required=True)
    row_version = fields.Integer(required=True)


class CasePage(Page):
    items = fields.List(fields.Nested(CaseSummary), required=True)


class OpenCaseArgs(Strict):
    case_type = fields.String(required=True, validate=validate.Length(min=1, max=80))
    title = fields.String(required=True, validate=validate.Length(min=1, max=300))
    grouping = fields.String(load_default="", validate=validate.Length(max=200))
    data = fields.Dict(load_default=dict, metadata={"description": "Start form data: see the case type's `schema`"})
    caseworker = fields.String(allow_none=True, load_default=None, metadata={"description": "Username; default: you"})


class TaskRef(ma.Schema):
    id = fields.String(required=True)
    name = fields.String(required=True)


class CaseState(ma.Schema):
    number = fields.String(required=True)
    status = fields.String(required=True)
    row_version = fields.Integer(required=True)
    open_tasks = fields.List(fields.Nested(TaskRef), required=True,
                             metadata={"description": "The case's user tasks that opened with this action"})


class CaseTask(ma.Schema):
    id = fields.String(required=True)
    name = fields.String(required=True)
    element_id = fields.String(required=True)
    state = fields.String(required=True)
    candidate_group = fields.String(allow_none=True)
    assignee = fields.String(allow_none=True)
    due_at = timestamp(allow_none=True)
    completed_at = timestamp(allow_none=True)
    completed_by = fields.String(allow_none=True)


class JournalEntry(ma.Schema):
    seq = fields.Integer(required=True)
    at = timestamp(required=True)
    actor = fields.String(required=True)
    kind = fields.String(required=True)
    data = fields.Dict(required=True)


class CaseDetail(ma.Schema):
    number = fields.String(required=True)
    title = fields.String(required=True)
    grouping = fields.String(required=True)
    case_type = fields.String(required=True)
    version = fields.Integer(required=True)
    status = fields.String(required=True)
    caseworker = fields.String(allow_none=True, required=True)
    opened_at = timestamp(required=True)
    closed_at = timestamp(allow_none=True, required=True)
    row_version = fields.Integer(required=True, metadata={"description": "Also the ETag; send it as If-Match"})
    tasks = fields.List(fields.Nested(CaseTask), required=True)
    journal = fields.List(fields.Nested(JournalEntry), required=True)
    journal_intact = fields.Boolean(required=True)


class ViewArgs(Strict):
    purpose = fields.String(validate=validate.Length(max=200),
                            metadata={"description": "Why the case is looked at (written to the access log)"})


class CloseCaseArgs(Strict):
    reason = fields.String(required=True, validate=validate.Length(min=1, max=500))


class ClosedCase(ma.Schema):
    number = fields.String(required=True)
    status = fields.String(required=True)


# --- tasks --------------------------------------------------------------------------------------------

class TaskListArgs(PageArgs):
    scope = fields.String(load_default="mine", validate=validate.OneOf(("mine", "group")),
                          metadata={"description": "mine: assigned to you (or delegated, or covered); "
                                                   "group: unassigned tasks of your groups"})
    sort = fields.String(load_default="due", validate=validate.OneOf(
        ("due", "-due", "priority", "-priority", "created", "-created", "case", "-case")))
    case_type = fields.String()
    grouping = fields.String()
    due = fields.String(validate=validate.OneOf(("overdue", "today", "week", "none")))


class TaskSummary(ma.Schema):
    id = fields.String(required=True)
    name = fields.String(required=True)
    element_id = fields.String(required=True)
    form = fields.String(required=True)
    case = fields.String(required=True, metadata={"description": "Case number"})
    case_title = fields.String(required=True)
    case_type = fields.String(required=True)
    grouping = fields.String(required=True)
    candidate_group = fields.String(allow_none=True, required=True)
    assignee = fields.String(allow_none=True, required=True)
    owner = fields.String(allow_none=True, required=True)
    priority = fields.Integer(required=True)
    created_at = timestamp(required=True)
    due_at = timestamp(allow_none=True, required=True)
    follow_up_at = timestamp(allow_none=True)
    due_state = fields.String(required=True)


class TaskPage(Page):
    items = fields.List(fields.Nested(TaskSummary), required=True)


class TaskCase(ma.Schema):
    number = fields.String(required=True)
    title = fields.String(required=True)
    status = fields.String(required=True)
    case_type = fields.String(required=True)
    row_version = fields.Integer(required=True)


class TaskDetail(ma.Schema):
    id = fields.String(required=True)
    name = fields.String(required=True)
    element_id = fields.String(required=True)
    state = fields.String(required=True)
    form = fields.String(required=True)
    schema = fields.Dict(allow_none=True, required=True,
                         metadata={"description": "JSON Schema of `data` when completing the task"})
    values = fields.Dict(required=True, metadata={"description": "The form fields' current values"})
    instructions = fields.String(required=True)
    assignee = fields.String(allow_none=True, required=True)
    candidate_group = fields.String(allow_none=True, required=True)
    due_at = timestamp(allow_none=True, required=True)
    may_complete = fields.Boolean(required=True)
    actions = fields.Dict(keys=fields.String(), values=fields.Boolean(), required=True)
    case = fields.Nested(TaskCase, required=True)


class CompleteTaskArgs(Strict):
    data = fields.Dict(load_default=dict, metadata={"description": "Form data: see the task's `schema`"})
    row_version = fields.Integer(allow_none=True, load_default=None, metadata={
        "description": "The case's row_version you read; 409 if the case changed since (or send If-Match)"})


class TaskAction(ma.Schema):
    task_id = fields.String(required=True)
    case = fields.String(required=True, metadata={"description": "Case number"})
    state = fields.String(required=True)
    assignee = fields.String(allow_none=True, required=True)
    owner = fields.String(allow_none=True, required=True,
                          metadata={"description": "Who delegated the task (and may take it back)"})
    candidate_group = fields.String(allow_none=True, required=True)
    priority = fields.Integer(metadata={"description": "0 (lowest) to 100 (highest)"})
    due_at = timestamp(allow_none=True)
    follow_up_at = timestamp(allow_none=True)
    row_version = fields.Integer(required=True, metadata={"description": "The case's row_version after the action"})


class AssignArgs(Strict):
    assignee = fields.String(required=True, validate=validate.Length(min=1, max=100),
                             metadata={"description": "Username of the colleague who gets the task"})


class DelegateArgs(Strict):
    delegate = fields.String(required=True, validate=validate.Length(min=1, max=100),
                             metadata={"description": "Username of the colleague who works the task for you"})


MOMENT = ("A date (YYYY-MM-DD: the end of that Danish day), a date-time, or an ISO 8601 duration from now "
          "(P7D); null clears it")


class DueDateArgs(Strict):
    due_at = fields.String(required=True, allow_none=True, validate=validate.Length(max=40),
                           metadata={"description": MOMENT})


class FollowUpDateArgs(Strict):
    follow_up_at = fields.String(required=True, allow_none=True, validate=validate.Length(max=40),
                                 metadata={"description": MOMENT})


class PriorityArgs(Strict):
    priority = fields.Integer(required=True, strict=True, validate=validate.Range(0, 100),
                              metadata={"description": "0 (lowest) to 100 (highest); new tasks have 50"})


# --- search -------------------------------------------------------------------------------------------

class SearchArgs(CaseFilterArgs, PageArgs):
    q = fields.String(required=True, validate=validate.Length(min=1, max=500),
                      metadata={"description": 'Words that must all occur; "a phrase"; -word leaves out'})
    kind = fields.List(fields.String(validate=validate.OneOf(SEARCH_KINDS)),
                       metadata={"description": "Only these kinds of hits"})


class HitCase(ma.Schema):
    number = fields.String(required=True)
    title = fields.String(required=True)
    case_type = fields.String(required=True)
    status = fields.String(required=True)
    grouping = fields.String(required=True)
    caseworker = fields.String(allow_none=True, required=True)
    opened_at = timestamp(required=True)
    closed_at = timestamp(allow_none=True, required=True)


class Hit(ma.Schema):
    kind = fields.String(required=True, validate=validate.OneOf(SEARCH_KINDS))
    ref = fields.String(required=True, metadata={"description": "What was found: case:<id>, document:<id>, ..."})
    title = fields.String(required=True)
    title_html = fields.String(required=True, metadata={"description": "Escaped HTML, matches in <mark>"})
    snippet_html = fields.String(required=True, metadata={"description": "Escaped HTML, matches in <mark>"})
    rank = fields.Float(required=True)
    case = fields.Nested(HitCase, allow_none=True, required=True)


class SearchPage(Page):
    total_exact = fields.Boolean(required=True, metadata={"description": "false: there are more than `total` hits"})
    backend = fields.String(required=True)
    items = fields.List(fields.Nested(Hit), required=True)


# --- tokens and webhooks ---------------------------------------------------------------------------------

class TokenArgs(Strict):
    name = fields.String(required=True, validate=validate.Length(min=1, max=100))
    expires_in_days = fields.Integer(allow_none=True, load_default=None, validate=validate.Range(1, 730))


class Token(ma.Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    prefix = fields.String(required=True)
    state = fields.String(required=True, validate=validate.OneOf(("active", "expired", "revoked")))
    created_at = timestamp(required=True)
    expires_at = timestamp(allow_none=True, required=True)
    last_used_at = timestamp(allow_none=True, required=True)
    revoked_at = timestamp(allow_none=True, required=True)


class NewToken(Token):
    token = fields.String(required=True, metadata={"description": "Shown this once; keep it secret"})


class WebhookArgs(Strict):
    url = fields.String(required=True, validate=validate.Length(min=1, max=1000))
    secret = fields.String(required=True, validate=validate.Length(min=16, max=200), load_only=True)
    events = fields.List(fields.String(validate=validate.OneOf(EVENT_NAMES)), required=True,
                         validate=validate.Length(min=1))
    description = fields.String(load_default="", validate=validate.Length(max=200))


class Webhook(ma.Schema):
    id = fields.Integer(required=True)
    url = fields.String(required=True)
    events = fields.List(fields.String(), required=True)
    description = fields.String(required=True)
    active = fields.Boolean(required=True)
    created_by = fields.String(required=True)
    created_at = timestamp(required=True)


class Delivery(ma.Schema):
    id = fields.Integer(required=True)
    event = fields.String(required=True)
    event_id = fields.String(required=True)
    status = fields.String(required=True)
    attempts = fields.Integer(required=True)
    last_status = fields.Integer(allow_none=True, required=True)
    last_error = fields.String(required=True)
    next_attempt_at = timestamp(required=True)
    delivered_at = timestamp(allow_none=True, required=True)


# --- documents ----------------------------------------------------------------------------------------

class Document(ma.Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    version = fields.Integer(required=True, metadata={"description": "The current (newest) version"})
    content_type = fields.String(required=True, metadata={"description": "Sniffed from the file's bytes"})
    size = fields.Integer(required=True, metadata={"description": "Bytes of the current version"})
    created_at = timestamp(required=True)
    updated_at = timestamp(required=True)
    uploaded_by = fields.String(allow_none=True, required=True, metadata={"description": "Who added the version"})


class DocumentVersion(ma.Schema):
    version = fields.Integer(required=True)
    filename = fields.String(required=True)
    content_type = fields.String(required=True)
    size = fields.Integer(required=True)
    sha256 = fields.String(required=True)
    created_at = timestamp(required=True)
    uploaded_by = fields.String(allow_none=True, required=True)


class DocumentHistory(ma.Schema):
    document = fields.Nested(Document, required=True)
    versions = fields.List(fields.Nested(DocumentVersion), required=True, metadata={"description": "Newest first"})


class DeletedDocument(ma.Schema):
    id = fields.Integer(required=True)
    versions = fields.Integer(required=True, metadata={"description": "How many versions were removed"})


class UploadArgs(Strict):
    file = Upload(required=True, metadata={"description": "The file (multipart/form-data); its kind is read "
                                                          "from its bytes, and its name must fit that kind"})


class DownloadArgs(ViewArgs):
    version = fields.Integer(validate=validate.Range(1, 1_000_000),
                             metadata={"description": "Which version; default: the newest"})


# --- committees, meetings and agenda items ---------------------------------------------------------------

class CommitteeSummary(ma.Schema):
    key = fields.String(required=True)
    name = fields.String(required=True)
    agenda_deadline_days = fields.Integer(required=True, metadata={"description": "Days before a meeting "
                                                                                  "its agenda is due"})


class Seat(ma.Schema):
    username = fields.String(required=True)
    name = fields.String(required=True)
    role = fields.String(required=True, metadata={"description": "member, chair or secretary"})


class MeetingSummary(ma.Schema):
    id = fields.Integer(required=True)
    committee = fields.String(required=True)
    committee_name = fields.String(required=True)
    starts_at = timestamp(required=True)
    local_start = fields.String(required=True, metadata={"description": "Danish local time, YYYY-MM-DD HH:MM"})
    ends_at = timestamp(allow_none=True, required=True)
    place = fields.String(required=True)
    status = fields.String(required=True, metadata={
        "description": "planned, agenda_published, held or minutes_published"})
    agenda_deadline = fields.String(required=True, metadata={"format": "date"})
    deadline_passed = fields.Boolean(required=True)
    entries = fields.Integer(required=True, metadata={"description": "Items on the agenda"})
    row_version = fields.Integer(required=True, metadata={"description": "Also the meeting's ETag"})


class PublicMeeting(MeetingSummary):
    agenda_published = fields.Boolean(required=True)
    minutes_published = fields.Boolean(required=True)


class CommitteeDetail(CommitteeSummary):
    description = fields.String(required=True)
    seats = fields.List(fields.Nested(Seat), required=True)
    meetings = fields.List(fields.Nested(PublicMeeting), required=True, metadata={"description": "Newest first"})


class AgendaSection(ma.Schema):
    id = fields.Integer(required=True)
    kind = fields.String(required=True)
    title = fields.String(required=True)
    closed = fields.Boolean(required=True)
    hidden = fields.Boolean(required=True, metadata={"description": "Closed, and you are not on its committees"})
    body = fields.String(allow_none=True, required=True, metadata={"description": "null when hidden"})


class AgendaAttachment(ma.Schema):
    id = fields.Integer(required=True)
    number = fields.String(required=True, metadata={"description": "As printed on the agenda, e.g. 3.2"})
    closed = fields.Boolean(required=True)
    hidden = fields.Boolean(required=True)
    title = fields.String(allow_none=True, required=True)
    reference = fields.String(allow_none=True)


class Decision(ma.Schema):
    entry_id = fields.Integer(required=True)
    meeting_id = fields.Integer(required=True)
    committee = fields.String(required=True)
    committee_name = fields.String(required=True)
    meeting_date = fields.String(required=True, metadata={"format": "date"})
    outcome = fields.String(allow_none=True, required=True)
    outcome_title = fields.String(required=True)
    decision_text = fields.String(allow_none=True, required=True, metadata={"description": "null when hidden"})
    decided_at = timestamp(allow_none=True, required=True)
    decided_by = fields.String(allow_none=True, required=True)
    delivery = fields.String(allow_none=True, metadata={"description": "delivered or undelivered to the case"})


class AgendaItemView(ma.Schema):
    class Meta:
        name = "AgendaItem"

    id = fields.Integer(required=True)
    key = fields.String(required=True)
    number = fields.Integer(allow_none=True, required=True, metadata={"description": "Its number on the agenda"})
    title = fields.String(required=True)
    closed = fields.Boolean(required=True, metadata={"description": "A closed item (lukket punkt)"})
    hidden = fields.Boolean(required=True, metadata={"description": "Closed, and you are not on its committees: "
                                                                    "only the title is shown"})
    status = fields.String(required=True, metadata={"description": "draft, ready (queued), scheduled or decided"})
    case = fields.String(required=True, metadata={"description": "Case number"})
    route = fields.List(fields.String(), required=True, metadata={"description": "Committee keys, in order"})
    route_position = fields.Integer(required=True)
    committee = fields.String(allow_none=True, required=True, metadata={"description": "Where the item is now"})
    queued_at = timestamp(allow_none=True, required=True)
    sections = fields.List(fields.Nested(AgendaSection), required=True)
    attachments = fields.List(fields.Nested(AgendaAttachment), required=True)
    history = fields.List(fields.Nested(Decision), required=True, metadata={"description": "Decisions so far"})
    entry = fields.Nested(Decision, metadata={"description": "This meeting's decision, on a meeting's agenda"})


class MeetingDetail(MeetingSummary):
    manages = fields.Boolean(required=True, metadata={"description": "You may assemble this agenda"})
    items = fields.List(fields.Nested(AgendaItemView), required=True, metadata={"description": "In agenda order"})
    queue = fields.List(fields.Nested(AgendaItemView), required=True,
                        metadata={"description": "The committee's queue (for its secretaries)"})


class AddToAgendaArgs(Strict):
    item_id = fields.Integer(required=True, strict=True, validate=validate.Range(1, 2**31 - 1),
                             metadata={"description": "An item in the committee's queue"})


class ReorderArgs(Strict):
    item_ids = fields.List(fields.Integer(strict=True, validate=validate.Range(1, 2**31 - 1)), required=True,
                           metadata={"description": "Every item on the agenda, in the new order"})


class MoveArgs(Strict):
    to_meeting_id = fields.Integer(required=True, strict=True, validate=validate.Range(1, 2**31 - 1),
                                   metadata={"description": "Another planned meeting of the same committee"})


class MovedItem(ma.Schema):
    item_id = fields.Integer(required=True)
    meeting_id = fields.Integer(required=True, metadata={"description": "The meeting the item is on now"})
    number = fields.Integer(required=True, metadata={"description": "Its number there (last)"})


class ClosedArgs(Strict):
    closed = fields.Boolean(required=True, metadata={"description": "true: closed (lukket), false: open"})


class PublishArgs(Strict):
    redact_cpr = fields.Boolean(load_default=False, metadata={"description": "Replace CPR numbers in open text "
                                                                            "instead of refusing"})


class DecisionArgs(Strict):
    item_id = fields.Integer(required=True, strict=True, validate=validate.Range(1, 2**31 - 1))
    outcome = fields.String(required=True, validate=validate.OneOf(OUTCOMES))
    decision_text = fields.String(load_default="", validate=validate.Length(max=20_000))
    next_committee = fields.String(allow_none=True, load_default=None, metadata={
        "description": "sent_on: the committee to send the item to (default: the next on its route)"})


class AgendaChange(ma.Schema):
    meeting_id = fields.Integer(required=True)
    item_id = fields.Integer()
    number = fields.Integer(metadata={"description": "The item's number on the agenda"})
    order = fields.List(fields.Integer())
    row_version = fields.Integer(required=True, metadata={"description": "The meeting's new row_version"})


class ClosedState(ma.Schema):
    kind = fields.String(required=True)
    id = fields.Integer(required=True)
    closed = fields.Boolean(required=True)


class Publication(ma.Schema):
    meeting_id = fields.Integer(required=True)
    kind = fields.String(required=True)
    number = fields.Integer(required=True, metadata={"description": "1 the first time, then 2, ..."})
    redacted = fields.Integer(required=True, metadata={"description": "CPR numbers replaced"})
    published_at = timestamp(required=True)


class RecordedDecision(ma.Schema):
    meeting_id = fields.Integer(required=True)
    item_id = fields.Integer(required=True)
    outcome = fields.String(required=True)
    case = fields.String(required=True)
    delivered = fields.Boolean(required=True, metadata={"description": "false: the case was not waiting; the "
                                                                       "secretaries see an undelivered message"})
    next_committee = fields.String(allow_none=True, required=True)
    undelivered_message_id = fields.Integer(allow_none=True, required=True)
