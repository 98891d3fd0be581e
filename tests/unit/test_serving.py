"""The web service's gunicorn settings: a worker freezes what start-up made once the app is built."""
from __future__ import annotations

import gc
import weakref
from pathlib import Path

import yaml

from webapp import serving

ROOT = Path(__file__).resolve().parents[2]


def test_a_worker_collects_start_ups_garbage_then_freezes_the_rest():
    class Startup:
        pass

    garbage = Startup()
    garbage.me = garbage  # a cycle: only the collector frees it
    gone = weakref.ref(garbage)
    del garbage
    try:
        serving.post_worker_init(worker=None)
        assert gone() is None                 # collected, not frozen for good
        assert gc.get_freeze_count() > 1000   # the modules, classes and functions loaded so far
    finally:
        gc.unfreeze()


def test_the_image_and_the_compose_file_start_gunicorn_with_these_settings():
    web = yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))["services"]["web"]["command"]
    assert web[:3] == ["gunicorn", "-c", "python:webapp.serving"]
    assert '"gunicorn", "-c", "python:webapp.serving"' in (ROOT / "Dockerfile").read_text(encoding="utf-8")
