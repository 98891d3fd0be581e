"""Liveness and readiness: the database answers and the shipped case types are there."""
from flask import Blueprint, current_app, jsonify
from sqlalchemy import func, select

from engine.models import CaseType

from ..security import public

bp = Blueprint("health", __name__)


@bp.get("/health")
@public
def health():
    ctx = current_app.extensions["sagsgang"]
    with ctx.unit_of_work(read_only=True) as uow:
        case_types = uow.session.scalar(select(func.count(CaseType.id)))
    return jsonify(status="ok", database=ctx.database.engine.dialect.name, case_types=case_types)
