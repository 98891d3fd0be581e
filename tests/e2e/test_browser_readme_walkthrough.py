"""Issue 3's done-when, the way a new user meets it: follow README.md, serve, log in, work a case to closed.

The start command and the demo users are read from README.md, so the test fails when the README
drifts from what the program does. The server is the real `sagsgang serve` console command in a
subprocess on a fresh instance directory (nothing shared with the other tests), and the end is
checked again with `sagsgang case show`, as a new user at a shell would.
"""
from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import socket
import subprocess
import time
import urllib.request

import pytest

from engine.settings import PROJECT_ROOT

pytestmark = pytest.mark.browser

README = PROJECT_ROOT / "README.md"


@pytest.fixture
def viewport() -> str:
    """One desktop walk: the phone layout has its own tests (test_browser_casework.py)."""
    return "desktop"


def readme_start_command(text: str) -> list[str]:
    """The command after the install step in the README's first "Two commands" block."""
    section = text.split("## Two commands", 1)[1]
    block = re.search(r"```sh\n(.*?)```", section, re.S).group(1).strip()
    install, _, start = block.rpartition("&&")
    assert "pip install" in install, f"the README's first command no longer installs first: {block!r}"
    command = shlex.split(start)
    assert command[:2] == ["sagsgang", "serve"], f"the README's start command changed: {start!r}"
    return command


def readme_demo_users(text: str) -> tuple[str, dict[str, str]]:
    """The demo password and each demo user with what the README says they are (group or role)."""
    line = re.search(r"Demo users \(password `([^`]+)`[^)]*\):(.*?)(?:\n\n|$)", text, re.S)
    assert line, "README.md no longer names the demo users and their password"
    password, listing = line.group(1), " ".join(line.group(2).split())
    users: dict[str, str] = {}
    for names, what in re.findall(r"((?:`\w+`(?:,\s*|\s+and\s+)?)+)\s*\(([^)]*)\)", listing):
        for name in re.findall(r"`(\w+)`", names):
            users[name] = what
    return password, users


def user_described_as(users: dict[str, str], words: str) -> str:
    found = [name for name, what in users.items() if words in what]
    assert found, f"README.md names no demo user for {words!r}: {users}"
    return found[0]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for_health(base: str, server: subprocess.Popen, log_path) -> dict:
    """Poll /health until the server answers; a server that exits stops the wait with its log."""
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"`sagsgang serve` exited with {server.returncode}:\n{log_path.read_text()}")
        try:
            with urllib.request.urlopen(f"{base}/health", timeout=5) as response:
                return json.loads(response.read())
        except OSError:
            time.sleep(0.5)
    pytest.fail(f"`sagsgang serve` did not answer /health within 180 s:\n{log_path.read_text()}")


@pytest.fixture(scope="module")
def readme_server(tmp_path_factory):
    """The README's start command on a fresh instance directory and a free port (one per module)."""
    tmp_path = tmp_path_factory.mktemp("readme")
    if shutil.which("sagsgang") is None:
        pytest.fail("the `sagsgang` command is not installed (python3 -m pip install -e '.[test]')")
    text = README.read_text("utf-8")
    command = readme_start_command(text)
    port = free_port()
    # Only SAGSGANG_INSTANCE_PATH (README: "where the embedded database and secret live"): every
    # other setting is the embedded default the README promises.
    env = {key: value for key, value in os.environ.items() if not key.startswith("SAGSGANG_")}
    env["SAGSGANG_INSTANCE_PATH"] = str(tmp_path / "instance")
    log_path = tmp_path / "serve.log"
    with log_path.open("w") as log:
        server = subprocess.Popen(command + ["--port", str(port)], cwd=tmp_path, env=env,
                                  stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        health = wait_for_health(base, server, log_path)
        # The README sends the user to the address the command prints.
        assert "on http://127.0.0.1:5000/" in text
        assert f"on {base}/" in log_path.read_text(), log_path.read_text()
        yield base, env, tmp_path, text, health
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout=20)


def log_in(page, base: str, username: str, password: str) -> None:
    page.goto(f"{base}/")
    assert "/login" in page.url
    page.get_by_label("Brugernavn").fill(username)
    page.get_by_label("Adgangskode").fill(password)
    page.get_by_role("button", name="Log ind").click()
    page.wait_for_url(f"{base}/")
    assert page.locator(".account .who").is_visible()


def log_out(page, base: str) -> None:
    page.get_by_role("button", name="Log ud").click()
    page.wait_for_url(re.compile(r".*/login.*"))


def open_my_task(page, number: str, name: str) -> None:
    """From the navigation's "Mine opgaver", the task of this case."""
    page.locator(".main-nav").get_by_role("link", name=re.compile("^Mine opgaver")).click()
    row = page.locator("#task-table tbody tr", has_text=number)
    assert row.count() == 1, page.locator("#task-table").inner_text()
    row.get_by_role("link", name=name).click()
    page.wait_for_selector(f"h1:has-text('{name}')")


def complete(page, base: str, number: str, name: str) -> None:
    page.get_by_role("button", name="Udfør opgaven").click()
    page.wait_for_url(f"{base}/cases/{number}")
    assert f"“{name}” er udført." in page.locator(".flashes").inner_text()


def assert_closed_in_the_browser(page, completed: int, claimed: int) -> None:
    """Closed: the badge, the status field, no open tasks, and the journal tells the story."""
    assert page.locator("h1 .badge-closed").inner_text() == "lukket"
    assert page.locator("dl div", has=page.locator("dt", has_text="Status")).locator("dd").inner_text() == "lukket"
    assert "Ingen åbne opgaver." in page.locator("#open-tasks").inner_text()
    journal = page.locator("ol.journal").inner_text()
    for label in ("Sagen oprettet", "Opgave taget", "Opgave udført", "Sagen lukket"):
        assert label in journal, journal
    assert page.locator("ol.journal li", has_text="Opgave udført").count() == completed
    assert page.locator("ol.journal li", has_text="Opgave taget").count() == claimed
    assert page.get_by_text("Der er pillet ved denne sags journal.").count() == 0
    page.screens.shot("case-closed")
    assert not page.console_errors, page.console_errors


def case_show_in_the_shell(number: str, env: dict, workdir) -> dict:
    """README: `sagsgang case show AKT-2026-000001`, on the same instance as the server."""
    shown = subprocess.run(["sagsgang", "case", "show", number], cwd=workdir, env=env,
                           capture_output=True, text=True, timeout=120)
    assert shown.returncode == 0, shown.stderr
    case = json.loads(shown.stdout)
    assert case["number"] == number and case["status"] == "closed"
    assert case["journal_intact"] is True and case["gdpr_review_completed"] is True
    kinds = [event["kind"] for event in case["journal"]]
    assert kinds[0] == "case_opened" and kinds[-1] == "case_closed"
    assert kinds.count("task_completed") == len(case["tasks"])
    return case


def test_a_new_user_follows_the_readme_to_a_closed_case(readme_server, page):
    base, env, workdir, text, health = readme_server
    assert health["status"] == "ok" and health["database"] == "sqlite" and health["case_types"] == 2
    password, users = readme_demo_users(text)
    caseworker = user_described_as(users, "Byggesagsteamet")
    manager = user_described_as(users, "Ledelsen")
    shots = page.screens

    # The caseworker starts an access-to-documents request (aktindsigt).
    page.goto(f"{base}/login")
    shots.shot("login")
    log_in(page, base, caseworker, password)
    page.locator(".main-nav").get_by_role("link", name="Opret sag").click()
    page.get_by_role("link", name="Anmodning om aktindsigt").click()
    page.get_by_label("Sagens titel").fill("Aktindsigt i byggesag på Havnegade 3")
    page.get_by_label("Gruppering").fill("Havnegade 3")
    page.get_by_label("Anmoderens e-mail").fill("borger@example.dk")
    page.get_by_label("Hvilke dokumenter ønskes der aktindsigt i?").fill("Sagens akter om carporten")
    page.get_by_label("Modtaget dato").fill("2026-11-20")
    shots.shot("start-form")
    page.get_by_role("button", name="Opret sag").click()
    page.wait_for_url(re.compile(r".*/cases/AKT-\d{4}-\d{6}$"))
    number = page.url.rsplit("/", 1)[1]
    assert "Registrér anmodning" in page.locator("#open-tasks").inner_text()
    shots.shot("case-started")

    # Lane Sagsbehandler is the case's caseworker: the first two tasks are in her own list.
    open_my_task(page, number, "Registrér anmodning")
    page.get_by_label("Omfattede sager og dokumenter").fill("BYG-2026-000001, tegninger og ansøgning")
    page.get_by_label("Anmodningen er tilstrækkeligt præciseret").check()
    page.get_by_label("Kvittering for modtagelse er sendt").check()
    complete(page, base, number, "Registrér anmodning")

    open_my_task(page, number, "Vurdér anmodning")
    page.get_by_label("Afgørelse").select_option(label="Afslag")
    page.get_by_label("Hjemmel for undtagelse").fill("Offentlighedslovens § 30, nr. 1 (private forhold)")
    shots.shot("assess")
    complete(page, base, number, "Vurdér anmodning")
    # A refusal goes to the Ledelse lane: a group task nobody holds yet.
    assert "Godkend afslag" in page.locator("#open-tasks").inner_text()
    assert "Ledelsen" in page.locator("#open-tasks").inner_text()
    log_out(page, base)

    # The manager claims the approval from the group's list and approves the refusal.
    log_in(page, base, manager, password)
    page.locator(".main-nav").get_by_role("link", name=re.compile("^Min gruppes opgaver")).click()
    row = page.locator("#task-table tbody tr", has_text=number)
    assert row.count() == 1, page.locator("#task-table").inner_text()
    shots.shot("group-tasks")
    row.get_by_role("button", name=re.compile("^Tag")).click()
    page.wait_for_selector("h1:has-text('Godkend afslag')")
    assert "Opgaven er din nu." in page.locator(".flashes").inner_text()
    page.get_by_label("Afslaget godkendes").check()
    complete(page, base, number, "Godkend afslag")
    log_out(page, base)

    # Back to the caseworker: send the response, then the GDPR review that closing requires.
    log_in(page, base, caseworker, password)
    open_my_task(page, number, "Send svar")
    page.get_by_label("Svar sendt dato").fill("2026-11-27")
    page.get_by_label("Sendt via").select_option(label="Digital Post")
    page.get_by_label("Klagevejledning er vedlagt").check()
    complete(page, base, number, "Send svar")

    open_my_task(page, number, "GDPR-gennemgang")
    page.get_by_label("Kategori af personoplysninger").select_option(label="Almindelige personoplysninger (art. 6)")
    page.get_by_label("Behandlingsgrundlag").fill("Databeskyttelsesforordningens art. 6, stk. 1, litra e")
    page.get_by_label("Sagens parter er gennemgået").check()
    page.get_by_label("Sagstypens sletteregel gælder").check()
    shots.shot("gdpr-review")
    complete(page, base, number, "GDPR-gennemgang")

    assert_closed_in_the_browser(page, completed=5, claimed=1)
    case = case_show_in_the_shell(number, env, workdir)
    done = {task["name"]: task for task in case["tasks"]}
    assert set(done) == {"Registrér anmodning", "Vurdér anmodning", "Godkend afslag", "Send svar",
                         "GDPR-gennemgang"}
    assert all(task["state"] == "completed" for task in done.values())
    assert done["Godkend afslag"]["completed_by"] == manager
    assert done["GDPR-gennemgang"]["completed_by"] == caseworker


def test_a_building_permit_goes_through_the_team_to_closed(readme_server, page):
    """The other shipped case type, its shortest path: a colleague takes the assessment from the team's list."""
    base, env, workdir, text, _ = readme_server
    password, users = readme_demo_users(text)
    team = [name for name, what in users.items() if "Byggesagsteamet" in what]
    assert len(team) >= 2, f"README.md names fewer than two Byggesagsteamet users: {users}"
    caseworker, colleague = team[:2]

    log_in(page, base, caseworker, password)
    page.locator(".main-nav").get_by_role("link", name="Opret sag").click()
    page.get_by_role("link", name="Ansøgning om byggetilladelse").click()
    page.get_by_label("Sagens titel").fill("Carport på Skagensvej 14")
    page.get_by_label("Byggeriets adresse").fill("Skagensvej 14, 9900 Frederikshavn")
    page.get_by_label("Matrikelnummer").fill("12b, Frederikshavn Bygrunde")
    page.get_by_label("Bygningstype").select_option(label="Garage, carport, udhus o.l.")
    page.get_by_label("Etageareal (m²)").fill("28")
    page.get_by_label("Ansøger", exact=True).fill("Hans Hansen")
    page.get_by_role("button", name="Opret sag").click()
    page.wait_for_url(re.compile(r".*/cases/BYG-\d{4}-\d{6}$"))
    number = page.url.rsplit("/", 1)[1]
    assert "Faglig vurdering" in page.locator("#open-tasks").inner_text()
    log_out(page, base)

    # Lane Byggesagsteam is the group: the colleague takes the assessment from its list.
    log_in(page, base, colleague, password)
    page.locator(".main-nav").get_by_role("link", name=re.compile("^Min gruppes opgaver")).click()
    row = page.locator("#task-table tbody tr", has_text=number)
    assert row.count() == 1, page.locator("#task-table").inner_text()
    row.get_by_role("button", name=re.compile("^Tag")).click()
    page.wait_for_selector("h1:has-text('Faglig vurdering')")
    page.get_by_label("Ansøgningen er fuldt oplyst").check()
    page.get_by_label("Faglig vurdering (valgfrit)").fill("Carporten overholder BR18 og lokalplanen.")
    complete(page, base, number, "Faglig vurdering")
    assert "Afgørelse" in page.locator("#open-tasks").inner_text()
    log_out(page, base)

    # No dispensation, so no committee: the caseworker decides and reviews the personal data.
    log_in(page, base, caseworker, password)
    open_my_task(page, number, "Afgørelse")
    page.get_by_label("Afgørelse", exact=True).select_option(label="Byggetilladelse meddelt")
    page.get_by_label("Afgørelsesdato").fill("2026-11-27")
    page.get_by_label("Begrundelse").fill("Projektet overholder bygningsreglementet og lokalplanen.")
    complete(page, base, number, "Afgørelse")

    open_my_task(page, number, "GDPR-gennemgang")
    page.get_by_label("Kategori af personoplysninger").select_option(label="Almindelige personoplysninger (art. 6)")
    page.get_by_label("Behandlingsgrundlag").fill("Databeskyttelsesforordningens art. 6, stk. 1, litra e")
    page.get_by_label("Sagens parter er gennemgået").check()
    page.get_by_label("Sagstypens sletteregel gælder").check()
    complete(page, base, number, "GDPR-gennemgang")

    assert_closed_in_the_browser(page, completed=3, claimed=1)
    case = case_show_in_the_shell(number, env, workdir)
    done = {task["name"]: task["completed_by"] for task in case["tasks"]}
    assert done == {"Faglig vurdering": colleague, "Afgørelse": caseworker, "GDPR-gennemgang": caseworker}
