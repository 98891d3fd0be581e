"""Whoever is given a task, by assignment or by delegation, is notified by the journal sweep."""
from __future__ import annotations

from sqlalchemy import select

from engine.models import Notification, User
from engine.services import notifications, tasks
from tests.integration.task_helpers import install_teamwork, open_teamwork


def notified(ctx, task_id: str) -> list[tuple[str, str]]:
    with ctx.unit_of_work(read_only=True) as uow:
        return sorted(uow.session.execute(
            select(User.username, Notification.kind).join(User, User.id == Notification.user_id)
            .where(Notification.task_id == task_id)).all())


def sweep(ctx) -> int:
    with ctx.unit_of_work() as uow:
        return notifications.notify_from_journal(uow)


def test_the_new_assignee_and_then_the_delegate_get_a_notification(ctx):
    install_teamwork(ctx)
    _, task_id = open_teamwork(ctx)
    sweep(ctx)
    before = notified(ctx, task_id)
    with ctx.unit_of_work() as uow:
        tasks.assign_task(uow, task_id, "admin", "freja")
    assert sweep(ctx) == 1
    assert notified(ctx, task_id) == sorted(before + [("freja", "task_assigned")])
    with ctx.unit_of_work() as uow:
        tasks.delegate_task(uow, task_id, "admin", "gustav")
    assert sweep(ctx) == 1  # journalled as task_delegated, naming the delegate
    assert notified(ctx, task_id) == sorted(before + [("freja", "task_assigned"), ("gustav", "task_assigned")])
    assert sweep(ctx) == 0  # each event notifies once
