"""Webhook subscriptions (administrators): signed POSTs to other systems when things happen."""
from __future__ import annotations

from flask import current_app
from flask.views import MethodView
from flask_smorest import Blueprint

from engine.services import webhooks

from .auth import current_actor
from .schemas import ID, Delivery, Webhook, WebhookArgs

bp = Blueprint("api_webhooks", __name__, url_prefix="/api/webhooks", description="Webhooks (administrators)")


@bp.route("")
class Webhooks(MethodView):
    @bp.doc(operationId="listWebhooks")
    @bp.response(200, Webhook(many=True))
    def get(self):
        """List webhook subscriptions"""
        with current_app.extensions["sagsgang"].unit_of_work(read_only=True) as uow:
            return webhooks.list_subscriptions(uow.session, current_actor())

    @bp.doc(operationId="createWebhook")
    @bp.arguments(WebhookArgs)
    @bp.response(201, Webhook)
    def post(self, body):
        """Subscribe a URL to events; each delivery is signed with the secret

        Header `Sagsgang-Signature: t=<unix time>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`.
        Failed deliveries are retried with exponential backoff (8 attempts).
        """
        with current_app.extensions["sagsgang"].unit_of_work() as uow:
            return webhooks.create_subscription(uow, current_actor(), body["url"], body["secret"], body["events"],
                                                body["description"])


@bp.route(f"/<{ID}:subscription_id>")
class WebhookById(MethodView):
    @bp.doc(operationId="deleteWebhook")
    @bp.response(204)
    def delete(self, subscription_id: int):
        """Delete a subscription and its deliveries"""
        with current_app.extensions["sagsgang"].unit_of_work() as uow:
            webhooks.delete_subscription(uow, current_actor(), subscription_id)


@bp.get(f"/<{ID}:subscription_id>/deliveries")
@bp.doc(operationId="listDeliveries")
@bp.response(200, Delivery(many=True))
def deliveries(subscription_id: int):
    """The newest deliveries of a subscription, with their status and last error"""
    with current_app.extensions["sagsgang"].unit_of_work(read_only=True) as uow:
        return webhooks.deliveries(uow.session, current_actor(), subscription_id)
