"""Browser tests: a real server on a free localhost port, driven by Playwright in Debian's Chromium."""
from __future__ import annotations

import json
import os
import threading
from pathlib import Path
from types import SimpleNamespace

import pytest
from werkzeug.serving import make_server

from engine.context import EngineContext
from engine.db import Database
from engine.models import create_schema
from engine.services.org import load_organisation
from engine.services.setup import DEMO_ORGANISATION, install_shipped_case_types
from engine.settings import PROJECT_ROOT
from webapp import create_app

CHROMIUM = os.environ.get("SAGSGANG_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]
ARTIFACTS = PROJECT_ROOT / "test-artifacts"
VIEWPORTS = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 390, "height": 844}}


@pytest.fixture(scope="session")
def browser():
    playwright_api = pytest.importorskip("playwright.sync_api")
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            pytest.fail(f"Chromium is required in CI at {CHROMIUM}")
        pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install chromium)")
    with playwright_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def live_server(settings, tmp_path):
    """Sagsgang on SQLite with the demo organisation, served by werkzeug in a thread."""
    database = Database(f"sqlite:///{tmp_path / 'e2e.sqlite3'}")
    create_schema(database.engine)
    context = EngineContext(settings, database)
    with context.unit_of_work() as uow:
        load_organisation(uow, json.loads(DEMO_ORGANISATION.read_text("utf-8")))
    install_shipped_case_types(context)
    app = create_app(engine_context=context)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield SimpleNamespace(url=f"http://127.0.0.1:{server.server_port}", ctx=context)
    server.shutdown()
    thread.join(timeout=10)
    database.dispose()


class Screens:
    """Screenshots as test artifacts: test-artifacts/<test>/<nn>-<step>.png."""

    def __init__(self, page, name: str):
        self.page = page
        self.directory = ARTIFACTS / name
        self.directory.mkdir(parents=True, exist_ok=True)
        self.count = 0

    def shot(self, step: str) -> Path:
        self.count += 1
        path = self.directory / f"{self.count:02d}-{step}.png"
        self.page.screenshot(path=str(path), full_page=True)
        return path


@pytest.fixture(params=sorted(VIEWPORTS))
def viewport(request) -> str:
    return request.param


@pytest.fixture
def page(browser, viewport, request):
    """A fresh browser context per test; console errors (CSP violations among them) are collected."""
    context = browser.new_context(viewport=VIEWPORTS[viewport], locale="da-DK",
                                  is_mobile=viewport == "phone", has_touch=viewport == "phone")
    tab = context.new_page()
    tab.console_errors = []

    def on_console(message):
        # A form answered 422 or 409 is logged as a failed load; that is the app working, not an error.
        if message.type == "error" and not message.text.startswith("Failed to load resource: the server responded"):
            tab.console_errors.append(message.text)

    tab.on("console", on_console)
    tab.on("pageerror", lambda error: tab.console_errors.append(str(error)))
    tab.screens = Screens(tab, request.node.name.replace("[", "-").rstrip("]"))
    yield tab
    context.close()
