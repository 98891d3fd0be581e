"""Your personal API tokens: make one (shown once), list them, revoke one."""
from __future__ import annotations

from flask import current_app
from flask.views import MethodView
from flask_smorest import Blueprint

from engine.services import api_tokens

from .auth import current_actor
from .schemas import ID, NewToken, Token, TokenArgs

bp = Blueprint("api_tokens", __name__, url_prefix="/api/tokens", description="Personal API tokens")


@bp.route("")
class Tokens(MethodView):
    @bp.doc(operationId="listTokens")
    @bp.response(200, Token(many=True))
    def get(self):
        """List your tokens (never the tokens themselves)"""
        with current_app.extensions["sagsgang"].unit_of_work(read_only=True) as uow:
            return api_tokens.list_tokens(uow.session, current_actor())

    @bp.doc(operationId="createToken")
    @bp.arguments(TokenArgs)
    @bp.response(201, NewToken)
    def post(self, body):
        """Make a token; the response holds it this once"""
        with current_app.extensions["sagsgang"].unit_of_work() as uow:
            return api_tokens.create_token(uow, current_actor(), body["name"], body["expires_in_days"])


@bp.route(f"/<{ID}:token_id>")
class TokenById(MethodView):
    @bp.doc(operationId="revokeToken")
    @bp.response(200, Token)
    def delete(self, token_id: int):
        """Revoke a token (yours; an administrator may revoke anyone's)"""
        with current_app.extensions["sagsgang"].unit_of_work() as uow:
            return api_tokens.revoke_token(uow, current_actor(), token_id)
