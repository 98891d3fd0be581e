"""Liveness and readiness: the database answers and the shipped case types are there."""
from flask import Blueprint, current_app, jsonify
from sqlalchemy import func, select

from engine.models import CaseType

from ..security import public

bp = Blueprint("health", __name__)

# Built once and run as a prepared statement on the unit of work's connection: through the ORM
# session the count cost ~0.6 ms of CPU, most of a /health request (docs/benchmarks.md, task lists).
_CASE_TYPE_COUNT = select(func.count(CaseType.id))


@bp.get("/health")
@public
def health():
    ctx = current_app.extensions["sagsgang"]
    with ctx.unit_of_work(read_only=True) as uow:
        case_types = uow.hot.execute(_CASE_TYPE_COUNT).scalar()
    return jsonify(status="ok", database=ctx.database.engine.dialect.name, case_types=case_types)
