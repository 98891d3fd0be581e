"""Process-wide runtime state: parsed specs, the sandboxed script engine, live workflows."""
from __future__ import annotations

import threading
from collections import OrderedDict

from ..settings import Settings
from .parsing import SpecCache
from .sandbox import SandboxedScriptEngine


class LiveWorkflows:
    """Workflows this process saved last, keyed by case id and the row version it committed.

    Rebuilding a workflow from JSON costs more than advancing it; when the row still carries the
    version this process wrote, the object in memory is exactly what the row holds. An entry is
    taken out while a unit of work uses it and only put back after that unit of work commits, so
    a rolled-back change never leaks into a later request.
    """

    def __init__(self, size: int):
        self.size = size
        self._items: OrderedDict[int, tuple[int, int, object]] = OrderedDict()
        self._lock = threading.Lock()

    def take(self, case_id: int, row_version: int, version_id: int):
        with self._lock:
            entry = self._items.pop(case_id, None)
        if entry is None or entry[0] != row_version or entry[1] != version_id:
            return None
        return entry[2]

    def put(self, case_id: int, row_version: int, version_id: int, workflow) -> None:
        if self.size <= 0:
            return
        with self._lock:
            self._items[case_id] = (row_version, version_id, workflow)
            self._items.move_to_end(case_id)
            while len(self._items) > self.size:
                self._items.popitem(last=False)

    def forget(self, case_id: int) -> None:
        with self._lock:
            self._items.pop(case_id, None)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


class Runtime:
    def __init__(self, settings: Settings):
        self.settings = settings
        self.specs = SpecCache(settings.spec_cache_size)
        self.script_engine = SandboxedScriptEngine(time_limit=settings.script_time_limit)
        self.live = LiveWorkflows(settings.workflow_cache_size)
        # Version id -> parsed model; a version's files never change once it exists.
        self.models_by_version: dict[int, object] = {}
        # Set by the host (workflows/): dispatch(job_name, **ids) queues background work. It is
        # called only after a commit; without it the periodic sweeps pick the work up.
        self.dispatch = None
