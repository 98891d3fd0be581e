"""gunicorn settings for the web service (`gunicorn -c python:webapp.serving 'webapp:create_app()'`).

Only what the command line does not say: what a worker does once it has built the app.
"""
from __future__ import annotations

import gc


def freeze_startup_objects() -> None:
    """Keep what start-up made (modules, classes, the app, its routes and templates: ~200,000
    objects) out of the garbage collector's full passes.

    A full pass walks every tracked object; with the start-up objects among them one took 55-100 ms
    of CPU, and it fell inside whichever request was running (docs/benchmarks.md, search). Frozen
    objects are never collected, so start-up's own garbage is collected first.
    """
    gc.collect()
    gc.freeze()


def post_worker_init(worker) -> None:
    """gunicorn's hook: the worker has loaded the app and is about to serve."""
    freeze_startup_objects()
