"""Every mapped class, imported here so Base.metadata knows them all."""
from sqlalchemy.engine import Engine

from ..db import Base
from .agenda import (AgendaAttachment, AgendaEntry, AgendaItem, AgendaSection, Committee, CommitteeMember, Meeting,
                     MeetingPublication)
from .background import CaseTypeSchedule, Incident, ServiceJob, SweepCursor
from .case_types import CaseType, CaseTypeVersion, ModelFile
from .cases import Case, CaseNumberSequence, MessageSubscription
from .documents import Document, DocumentCprReference, DocumentVersion
from .gdpr import AccessLogEntry, CaseParty, GdprReview, LegalHold
from .integrations import ApiToken, WebhookDelivery, WebhookSubscription
from .journal import JournalEvent
from .messages import UndeliveredMessage
from .notifications import Notification
from .org import Group, Membership, RoleGrant, Substitution, User
from .search import SearchDocument
from .tasks import CaseTask

__all__ = [
    "ApiToken", "WebhookDelivery", "WebhookSubscription",
    "AgendaAttachment", "AgendaEntry", "AgendaItem", "AgendaSection", "Committee", "CommitteeMember", "Meeting",
    "MeetingPublication", "UndeliveredMessage",
    "AccessLogEntry", "CaseParty", "GdprReview", "LegalHold",
    "Case", "CaseNumberSequence", "CaseTask", "CaseType", "CaseTypeSchedule", "CaseTypeVersion", "Group",
    "Incident", "JournalEvent", "Membership", "MessageSubscription", "ModelFile", "Notification",
    "RoleGrant", "SearchDocument", "ServiceJob", "Substitution", "SweepCursor", "User",
    "Document", "DocumentCprReference", "DocumentVersion",
    "create_schema", "drop_schema",
]


def create_schema(engine: Engine) -> None:
    Base.metadata.create_all(engine)


def drop_schema(engine: Engine) -> None:
    Base.metadata.drop_all(engine)
