"""The front page: my tasks and the cases I changed last."""
from __future__ import annotations

from flask import Blueprint, current_app, render_template

from engine.services import worklists

from ..security import current_user
from .cases import latest_cases

bp = Blueprint("home", __name__)

FRONT_PAGE_TASKS = 10


@bp.get("/")
def index():
    with current_app.extensions["sagsgang"].unit_of_work(read_only=True) as uow:
        tasks = worklists.my_tasks(uow.session, current_user(), limit=FRONT_PAGE_TASKS)
    return render_template("home/index.html", tasks=tasks, cases=latest_cases())
