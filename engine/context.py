"""The engine's process-wide objects, built once by whoever hosts it (web app, CLI, worker)."""
from __future__ import annotations

from .db import Database, UnitOfWork
from .runtime.cache import Runtime
from .settings import Settings


class EngineContext:
    def __init__(self, settings: Settings, database: Database | None = None):
        self.settings = settings
        self.database = database or Database(settings.database_url)
        self.runtime = Runtime(settings)

    def unit_of_work(self, read_only: bool = False) -> UnitOfWork:
        return UnitOfWork(self.database, self.runtime, read_only=read_only)
