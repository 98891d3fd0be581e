"""Committees, their seats and their meetings; loading the demo committees from a file."""
from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone

from sqlalchemy import select
from sqlalchemy.orm import Session

from .. import permissions
from ..db import UnitOfWork
from ..errors import InvalidInput, NotFound
from ..localtime import TIMEZONE, local_today
from ..models import Committee, CommitteeMember, Meeting, User
from ..models.agenda import COMMITTEE_ROLES
from .org import get_user

KEY_CHARS = set("abcdefghijklmnopqrstuvwxyz0123456789-_")
MAX_DEADLINE_DAYS = 60


def get_committee(session: Session, key: str) -> Committee:
    committee = session.scalar(select(Committee).where(Committee.key == key))
    if committee is None:
        raise NotFound(f"unknown committee '{key}'", field="committee")
    return committee


def committee_seats(session: Session, committee_id: int) -> list:
    """(role, username, name) of every seat, by role and then name: the one reading of who sits
    where, for the administrator's page and for what other systems read."""
    return session.execute(select(CommitteeMember.role, User.username, User.name).join(
        User, CommitteeMember.user_id == User.id).where(CommitteeMember.committee_id == committee_id)
        .order_by(CommitteeMember.role, User.name, User.username)).all()


def agenda_deadline(starts_at: datetime, days: int) -> date:
    """The last local day to publish the agenda: the meeting's local date minus `days`."""
    return starts_at.astimezone(TIMEZONE).date() - timedelta(days=days)


def _check_committee_fields(key, name, deadline_days) -> None:
    if not isinstance(key, str) or not key or len(key) > 80 or not set(key) <= KEY_CHARS or not key[0].isalpha():
        raise InvalidInput("a committee key is lower-case letters, digits, '-' or '_', starting with a letter",
                           field="key", reason="format")
    if not isinstance(name, str) or not name.strip() or len(name) > 200:
        raise InvalidInput("a committee needs a name of at most 200 characters", field="name", reason="required")
    if not isinstance(deadline_days, int) or isinstance(deadline_days, bool) or not 0 <= deadline_days <= MAX_DEADLINE_DAYS:
        raise InvalidInput(f"the agenda deadline is 0 to {MAX_DEADLINE_DAYS} days before the meeting",
                           field="agenda_deadline_days", reason="range")


def load_committees(uow: UnitOfWork, organisation: dict, today: date | None = None) -> dict:
    """Create or update committees, their seats and planned meetings from a dict; idempotent.

    {"committees": [{"key", "name", "description"?, "agenda_deadline_days"?, "chair"?: username,
    "members": [...], "secretaries": [...], "meetings"?: {"weekday": 0-6, "time": "HH:MM",
    "every_weeks": n, "count": n, "place": "..."}}]}. Meetings are planned from `today` only while
    the committee has none ahead, so the demo always shows coming meetings.
    """
    session = uow.session
    users = {u.username: u.id for u in session.scalars(select(User))}
    created = meetings = 0
    for index, spec in enumerate(organisation.get("committees", [])):
        where = f"committees[{index}]"
        key, name = spec.get("key"), spec.get("name")
        days = spec.get("agenda_deadline_days", 7)
        try:
            _check_committee_fields(key, name, days)
        except InvalidInput as err:
            raise InvalidInput(f"{where}: {err.message}", field=f"{where}.{err.field}") from err
        committee = session.scalar(select(Committee).where(Committee.key == key))
        if committee is None:
            committee = Committee(key=key, name=name)
            session.add(committee)
            created += 1
        committee.name, committee.agenda_deadline_days = name, days
        committee.description = spec.get("description", committee.description or "")
        session.flush()
        seats = {(m.user_id, m.role) for m in session.scalars(
            select(CommitteeMember).where(CommitteeMember.committee_id == committee.id))}
        wanted = [(u, "member") for u in spec.get("members", [])] + [(u, "secretary") for u in spec.get("secretaries", [])]
        if spec.get("chair"):
            wanted.append((spec["chair"], "chair"))
        for username, role in wanted:
            if username not in users:
                raise InvalidInput(f"{where}: unknown user '{username}'", field=f"{where}.{role}s")
            if (users[username], role) not in seats:
                session.add(CommitteeMember(committee_id=committee.id, user_id=users[username], role=role))
                seats.add((users[username], role))
        schedule = spec.get("meetings")
        if schedule:
            meetings += _plan_schedule(session, committee, schedule, today or local_today(), where)
    session.flush()
    uow.commit()
    return {"committees_created": created, "meetings_planned": meetings}


def _plan_schedule(session: Session, committee: Committee, schedule: dict, today: date, where: str) -> int:
    ahead = session.scalar(select(Meeting.id).where(
        Meeting.committee_id == committee.id, Meeting.starts_at >= datetime.combine(today, time.min, TIMEZONE)).limit(1))
    if ahead is not None:
        return 0
    try:
        weekday, (hour, minute) = int(schedule["weekday"]), map(int, schedule.get("time", "16:00").split(":"))
        every, count = int(schedule.get("every_weeks", 2)), int(schedule.get("count", 4))
    except (KeyError, ValueError, TypeError) as err:
        raise InvalidInput(f"{where}: meetings need weekday (0-6), time HH:MM, every_weeks, count",
                           field=f"{where}.meetings") from err
    first = today + timedelta(days=(weekday - today.weekday()) % 7 or 7)
    for n in range(count):
        day = first + timedelta(weeks=every * n)
        starts = datetime.combine(day, time(hour, minute), TIMEZONE).astimezone(timezone.utc)
        session.add(Meeting(committee_id=committee.id, starts_at=starts, ends_at=starts + timedelta(hours=2),
                            place=schedule.get("place", ""), status="planned",
                            agenda_deadline=agenda_deadline(starts, committee.agenda_deadline_days)))
    return count


def _aware(value, field: str) -> datetime:
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.strip())
        except ValueError as err:
            raise InvalidInput(f"{field} must be a date and time (YYYY-MM-DDTHH:MM)", field=field) from err
    if not isinstance(value, datetime):
        raise InvalidInput(f"{field} must be a date and time (YYYY-MM-DDTHH:MM)", field=field)
    if value.tzinfo is None:  # a time a person typed is the municipality's local time
        value = value.replace(tzinfo=TIMEZONE)
    return value.astimezone(timezone.utc)


def plan_meeting(uow: UnitOfWork, actor: str, committee_key: str, starts_at, place: str = "",
                 ends_at=None) -> dict:
    """Plan a meeting of a committee; the agenda deadline is counted back from its date."""
    session = uow.session
    user = get_user(session, actor)
    committee = get_committee(session, committee_key)
    permissions.require(permissions.may_manage_committee(session, user.id, committee.id),
                        f"{actor} may not plan meetings of {committee.name}")
    starts = _aware(starts_at, "starts_at")
    ends = _aware(ends_at, "ends_at") if ends_at else None
    if ends is not None and ends <= starts:
        raise InvalidInput("the meeting must end after it starts", field="ends_at")
    if not isinstance(place, str) or len(place) > 200:
        raise InvalidInput("place is text of at most 200 characters", field="place")
    meeting = Meeting(committee_id=committee.id, starts_at=starts, ends_at=ends, place=place.strip(),
                      status="planned", agenda_deadline=agenda_deadline(starts, committee.agenda_deadline_days))
    session.add(meeting)
    session.flush()
    result = {"id": meeting.id, "committee": committee.key, "starts_at": starts.isoformat(),
              "agenda_deadline": meeting.agenda_deadline.isoformat()}
    uow.commit()
    return result


def seat(uow: UnitOfWork, actor: str, committee_key: str, username: str, role: str) -> dict:
    """Give a user a seat (member, chair or secretary) in a committee: administrators only."""
    session = uow.session
    admin = get_user(session, actor)
    permissions.require(permissions.may_administer_committees(session, admin.id),
                        f"{actor} may not change committee seats")
    if role not in COMMITTEE_ROLES:
        raise InvalidInput(f"role must be one of {', '.join(COMMITTEE_ROLES)}", field="role")
    committee, user = get_committee(session, committee_key), get_user(session, username)
    if role == "chair":  # a committee has one chair: the new one takes over
        for other in session.scalars(select(CommitteeMember).where(
                CommitteeMember.committee_id == committee.id, CommitteeMember.role == "chair",
                CommitteeMember.user_id != user.id)):
            session.delete(other)
    exists = session.scalar(select(CommitteeMember.id).where(
        CommitteeMember.committee_id == committee.id, CommitteeMember.user_id == user.id, CommitteeMember.role == role))
    if exists is None:
        session.add(CommitteeMember(committee_id=committee.id, user_id=user.id, role=role))
    uow.commit()
    return {"committee": committee.key, "username": username, "role": role}


def unseat(uow: UnitOfWork, actor: str, committee_key: str, username: str, role: str) -> dict:
    session = uow.session
    admin = get_user(session, actor)
    permissions.require(permissions.may_administer_committees(session, admin.id),
                        f"{actor} may not change committee seats")
    committee, user = get_committee(session, committee_key), get_user(session, username)
    row = session.scalar(select(CommitteeMember).where(
        CommitteeMember.committee_id == committee.id, CommitteeMember.user_id == user.id, CommitteeMember.role == role))
    if row is None:
        raise NotFound(f"{username} has no {role} seat in {committee.name}", field="username")
    session.delete(row)
    uow.commit()
    return {"committee": committee.key, "username": username, "role": role, "removed": True}


def served_committee_ids(session: Session, user_id: int) -> list[int]:
    """The committees a user is secretary of (administrators: all active ones)."""
    if permissions.is_administrator_id(session, user_id):
        return list(session.scalars(select(Committee.id).where(Committee.active.is_(True)).order_by(Committee.name)))
    return list(session.scalars(select(CommitteeMember.committee_id).join(Committee).where(
        CommitteeMember.user_id == user_id, CommitteeMember.role == "secretary").order_by(Committee.name)))


def seated_committee_ids(session: Session, user_id: int) -> set[int]:
    """Committees a user has any seat in (member, chair, secretary)."""
    return set(session.scalars(select(CommitteeMember.committee_id).where(CommitteeMember.user_id == user_id)))


def list_committees(session: Session) -> list[dict]:
    rows = session.scalars(select(Committee).where(Committee.active.is_(True)).order_by(Committee.name))
    return [{"key": c.key, "name": c.name, "agenda_deadline_days": c.agenda_deadline_days} for c in rows]


# --- administration: committees and their seats --------------------------------------------------

def _administrator(session: Session, actor: str) -> User:
    admin = get_user(session, actor)
    permissions.require(admin.is_active and permissions.may_administer_committees(session, admin.id),
                        f"{actor} may not administer committees")
    return admin


def _description(description) -> str:
    if description is None:
        return ""
    if not isinstance(description, str) or len(description) > 2000:
        raise InvalidInput("the description is text of at most 2,000 characters", field="description",
                           reason="too_long")
    return description.strip()


def administered_committees(session: Session, actor: str) -> list[dict]:
    """Every committee, active or not, with its seats: the administrator's list."""
    _administrator(session, actor)
    return [committee_detail(session, actor, c.key)
            for c in session.scalars(select(Committee).order_by(Committee.active.desc(), Committee.name))]


def committee_detail(session: Session, actor: str, key: str, with_people: bool = False) -> dict:
    """A committee with its chair, members and secretaries, for the administrator (and, with
    `with_people`, the active users who could be seated)."""
    _administrator(session, actor)
    committee = get_committee(session, key)
    seats = committee_seats(session, committee.id)
    by_role = {role: [{"username": u, "name": n} for r, u, n in seats if r == role] for role in COMMITTEE_ROLES}
    return {"key": committee.key, "name": committee.name, "description": committee.description or "",
            "agenda_deadline_days": committee.agenda_deadline_days, "active": committee.active,
            "chair": by_role["chair"][0]["username"] if by_role["chair"] else None,
            "members": by_role["member"], "secretaries": by_role["secretary"],
            "people": [{"username": u, "name": n} for u, n in session.execute(
                select(User.username, User.name).where(User.is_active.is_(True)).order_by(User.name))]
            if with_people else []}


def create_committee(uow: UnitOfWork, actor: str, key, name, agenda_deadline_days=7, description="") -> dict:
    """A new committee (administrators); the key is how case types' routes name it, and stays."""
    session = uow.session
    _administrator(session, actor)
    _check_committee_fields(key, name, agenda_deadline_days)
    description = _description(description)
    if session.scalar(select(Committee.id).where(Committee.key == key)) is not None:
        raise InvalidInput(f"a committee with the key '{key}' exists already", field="key", reason="taken")
    committee = Committee(key=key, name=name.strip(), description=description,
                          agenda_deadline_days=agenda_deadline_days, active=True)
    session.add(committee)
    session.flush()
    uow.commit()
    return {"key": key, "name": committee.name}


def update_committee(uow: UnitOfWork, actor: str, key: str, name, agenda_deadline_days, description="",
                     active: bool = True) -> dict:
    """Rename, describe, change the deadline (the planned meetings' deadlines follow) or retire."""
    session = uow.session
    _administrator(session, actor)
    committee = get_committee(session, key)
    _check_committee_fields(key, name, agenda_deadline_days)
    committee.description = _description(description)
    committee.name, committee.active = name.strip(), bool(active)
    if committee.agenda_deadline_days != agenda_deadline_days:
        committee.agenda_deadline_days = agenda_deadline_days
        for meeting in session.scalars(select(Meeting).where(Meeting.committee_id == committee.id,
                                                             Meeting.status == "planned")):
            meeting.agenda_deadline = agenda_deadline(meeting.starts_at, agenda_deadline_days)
    uow.commit()
    return {"key": key, "name": committee.name, "active": committee.active}


def set_chair(uow: UnitOfWork, actor: str, key: str, username: str | None) -> dict:
    """Make `username` the committee's one chair (a member too), or leave it without one."""
    session = uow.session
    _administrator(session, actor)
    committee = get_committee(session, key)
    chair = None
    if username:
        chair = session.scalar(select(User).where(User.username == username))
        if chair is None or not chair.is_active:
            raise InvalidInput(f"unknown user '{username}'", field="chair", reason="unknown_user")
    for row in session.scalars(select(CommitteeMember).where(CommitteeMember.committee_id == committee.id,
                                                             CommitteeMember.role == "chair")):
        session.delete(row)
    if chair is not None:
        session.add(CommitteeMember(committee_id=committee.id, user_id=chair.id, role="chair"))
        if session.scalar(select(CommitteeMember.id).where(
                CommitteeMember.committee_id == committee.id, CommitteeMember.user_id == chair.id,
                CommitteeMember.role == "member")) is None:
            session.add(CommitteeMember(committee_id=committee.id, user_id=chair.id, role="member"))
    uow.commit()
    return {"committee": key, "chair": username or None}
