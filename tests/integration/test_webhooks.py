"""Webhooks against a real HTTP server on 127.0.0.1: signed POSTs, retries with backoff, giving up."""
from __future__ import annotations

import json
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlalchemy import select

from engine.db import utcnow
from engine.errors import InvalidInput, NotAllowed
from engine.models import WebhookDelivery, WebhookSubscription
from engine.services import webhooks
from tests.agenda_helpers import (case_to_committee, decide, item_of, load_demo_committees, plan,
                                  schedule_and_publish)
from tests.integration.gdpr_helpers import complete, open_rework, run_to_closed
from tests.models import install_rework
from webapp import create_app

SECRET = "s3cret-s3cret-s3cret"


class Receiver:
    """A local HTTP server that records what it receives and answers with the next planned status."""

    def __init__(self):
        self.received: list[dict] = []
        self.statuses: list[int] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.received.append({"headers": dict(self.headers), "body": body})
                status = receiver.statuses.pop(0) if receiver.statuses else 204
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    server = Receiver()
    yield server
    server.close()


def subscribe(ctx, url, events=("case.opened", "case.closed", "task.created", "task.completed")):
    with ctx.unit_of_work() as uow:
        return webhooks.create_subscription(uow, "admin", url, SECRET, list(events), "ESDH-broen")


def sweep(ctx, now=None):
    with ctx.unit_of_work() as uow:
        return webhooks.queue_from_journal(uow, now=now)


def deliver(ctx, now=None):
    return webhooks.deliver_due(ctx.unit_of_work, ctx.settings, now=now)


def test_subscribers_get_signed_posts_for_case_and_task_events(ctx, receiver):
    install_rework(ctx)
    subscribe(ctx, receiver.url)
    number = open_rework(ctx, title="Sag med personnavn")
    run_to_closed(ctx, number)
    assert sweep(ctx) > 0
    assert sweep(ctx) == 0  # events are queued once
    outcome = deliver(ctx)
    assert outcome["delivered"] == len(receiver.received) > 0
    events = [json.loads(r["body"])["event"] for r in receiver.received]
    assert events[0] == "case.opened" and events[-1] == "case.closed"
    assert {"task.created", "task.completed"} <= set(events)
    for request in receiver.received:
        header = request["headers"][webhooks.SIGNATURE_HEADER]
        assert webhooks.verify_signature(SECRET, header, request["body"])
        assert not webhooks.verify_signature("wrong-secret-wrong", header, request["body"])
        assert not webhooks.verify_signature(SECRET, header, request["body"] + b" ")
        payload = json.loads(request["body"])
        assert payload["case"] == {"number": number, "case_type": "rework"}
        assert "personnavn" not in request["body"].decode()  # titles can name people: not sent
    assert deliver(ctx) == {"delivered": 0, "pending": 0, "failed": 0}


def test_a_failing_subscriber_is_retried_with_backoff_then_given_up(ctx, receiver):
    install_rework(ctx)
    subscribe(ctx, receiver.url, ["case.opened"])
    open_rework(ctx)
    sweep(ctx)
    receiver.statuses = [500, 503]
    now = utcnow()
    assert deliver(ctx, now)["pending"] == 1
    assert deliver(ctx, now)["pending"] == 0  # not due again yet
    later = now + webhooks.BACKOFF
    assert deliver(ctx, later)["pending"] == 1  # second failure: 503
    assert deliver(ctx, later + 2 * webhooks.BACKOFF) == {"delivered": 1, "pending": 0, "failed": 0}
    assert len(receiver.received) == 3
    with ctx.unit_of_work(read_only=True) as uow:
        delivery = uow.session.scalars(select(WebhookDelivery)).one()
        assert (delivery.status, delivery.attempts, delivery.last_status) == ("delivered", 3, 204)


def test_deliveries_to_an_unreachable_url_fail_after_their_attempts(ctx, receiver):
    install_rework(ctx)
    url = receiver.url
    receiver.close()  # nobody listens there any more
    subscribe(ctx, url, ["case.opened"])
    open_rework(ctx)
    sweep(ctx)
    now = utcnow()
    for _ in range(webhooks.MAX_ATTEMPTS):
        now += webhooks.MAX_BACKOFF
        outcome = deliver(ctx, now)
    assert outcome == {"delivered": 0, "pending": 0, "failed": 1}
    with ctx.unit_of_work(read_only=True) as uow:
        delivery = uow.session.scalars(select(WebhookDelivery)).one()
        assert delivery.status == "failed" and "ConnectionError" in delivery.last_error
    receiver.server = type("Closed", (), {"shutdown": lambda s: None, "server_close": lambda s: None})()


def test_a_claimed_delivery_is_not_posted_twice_and_returns_after_its_lease(ctx, receiver):
    install_rework(ctx)
    subscribe(ctx, receiver.url, ["case.opened"])
    open_rework(ctx)
    sweep(ctx)
    now = utcnow()
    with ctx.unit_of_work() as uow:
        assert len(webhooks.claim_due(uow, now=now)) == 1  # a worker took it and died
    with ctx.unit_of_work() as uow:
        assert webhooks.claim_due(uow, now=now) == []
    assert deliver(ctx, now + webhooks.LEASE)["delivered"] == 1


def test_only_administrators_manage_subscriptions_and_input_names_the_field(ctx, receiver):
    with ctx.unit_of_work() as uow, pytest.raises(NotAllowed):
        webhooks.create_subscription(uow, "anna", receiver.url, SECRET, ["case.opened"])
    for url, secret, events, field in [("ftp://x", SECRET, ["case.opened"], "url"),
                                       (receiver.url, "short", ["case.opened"], "secret"),
                                       (receiver.url, SECRET, ["case.eaten"], "events"),
                                       (receiver.url, SECRET, [], "events")]:
        with ctx.unit_of_work() as uow, pytest.raises(InvalidInput) as err:
            webhooks.create_subscription(uow, "admin", url, secret, events)
        assert err.value.field == field
    with ctx.unit_of_work(read_only=True) as uow:
        assert uow.session.scalars(select(WebhookSubscription)).all() == []
    created = subscribe(ctx, receiver.url)
    with ctx.unit_of_work(read_only=True) as uow:
        stored = uow.session.get(WebhookSubscription, created["id"])
        assert SECRET not in stored.secret_encrypted  # encrypted at rest
    with ctx.unit_of_work() as uow:
        webhooks.delete_subscription(uow, "admin", created["id"])


def test_a_new_subscription_does_not_replay_old_history(ctx, receiver):
    install_rework(ctx)
    open_rework(ctx)
    subscribe(ctx, receiver.url, ["case.opened"])
    assert sweep(ctx, utcnow() + timedelta(minutes=5)) == 0


def test_the_worker_tasks_queue_and_deliver(ctx, receiver):
    """The Celery tasks beat sends (here run in the app's worker context, as a worker would)."""
    app = create_app(engine_context=ctx)
    celery = app.extensions["celery"]
    install_rework(ctx)
    subscribe(ctx, receiver.url, ["case.opened"])
    open_rework(ctx)
    assert celery.tasks["sagsgang.queue_webhooks"].apply().get() == 1
    assert celery.tasks["sagsgang.deliver_webhooks"].apply().get()["delivered"] == 1
    assert celery.tasks["sagsgang.search_catch_up"].apply().get() == {"indexed": 0, "forgotten": 0}
    assert len(receiver.received) == 1


def test_a_committee_decision_reaches_subscribers_as_a_signed_decision_recorded(ctx, receiver):
    """The decision is journalled on the case as `decision_recorded`, which the webhook maps."""
    load_demo_committees(ctx)
    number = case_to_committee(ctx, "local")
    item = item_of(ctx, number)
    meeting = plan(ctx, "teknik-miljoe-udvalget")
    schedule_and_publish(ctx, meeting, item["id"])
    subscribe(ctx, receiver.url, ["decision.recorded"])
    assert decide(ctx, meeting, item["id"], "approved", "Dispensation meddeles.")["delivered"]
    assert sweep(ctx) == 1
    assert deliver(ctx)["delivered"] == 1
    [request] = receiver.received
    assert webhooks.verify_signature(SECRET, request["headers"][webhooks.SIGNATURE_HEADER], request["body"])
    payload = json.loads(request["body"])
    assert payload["event"] == "decision.recorded"
    assert payload["case"] == {"number": number, "case_type": "byggetilladelse"}
    assert payload["decision"] == {"committee": "teknik-miljoe-udvalget", "meeting_id": meeting,
                                   "item_id": item["id"], "outcome": "approved"}
    assert "Dispensation" not in request["body"].decode()  # the decision's text stays behind the API
