"""Issue 7's "done when", in a browser: time and workers move cases without anyone clicking.

A production-like installation: PostgreSQL (a schema of its own), Redis as the broker, a real
`celery worker` and `celery beat` process, the web app served to headless Chromium, and a real
SMTP server in this process (aiosmtpd). In the browser:

- a task with a short deadline escalates by itself: beat's timer sweep finds it due, the worker
  fires the boundary timer, the escalation path mails a reminder (checked at the SMTP server) and
  opens the escalation task;
- a mail step the SMTP server refuses becomes an incident on the case page, with the error and the
  attempts; once the cause is fixed, its "Retry" button has the worker run it again and the case
  moves on;
- the bell in the header counts the notification the incident sent.
"""
from __future__ import annotations

import re
import threading
import time
from email import message_from_bytes, policy

import pytest
from aiosmtpd.controller import Controller
from werkzeug.serving import make_server

from tests.background_models import service_bpmn
from tests.integration.test_background import SmtpSink
from tests.integration.test_workers import Deployment, require_servers, wait_for
from tests.models import GDPR_CALL, definitions, flow, install, user_task
from webapp import create_app

pytestmark = [pytest.mark.browser, pytest.mark.postgres]

REMINDER_TO = "leder@example.dk"
REPORT_TO = "tilsyn@example.dk"


def deadline_bpmn(deadline: str) -> bytes:
    """Behandl ansøgning, with an interrupting deadline: a reminder mail, then an escalation task."""
    return definitions("frist", "\n".join([
        '<bpmn:startEvent id="StartEvent"><bpmn:outgoing>F1</bpmn:outgoing></bpmn:startEvent>',
        user_task("Task_Handle", "Behandl ansøgning", "F1", "F2"),
        '<bpmn:boundaryEvent id="Timer_Deadline" name="Frist" attachedToRef="Task_Handle" cancelActivity="true">'
        '<bpmn:outgoing>F_Late</bpmn:outgoing><bpmn:timerEventDefinition>'
        f'<bpmn:timeDuration>"{deadline}"</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:boundaryEvent>',
        '<bpmn:serviceTask id="Service_Remind" name="Send rykker"><bpmn:extensionElements>'
        '<spiffworkflow:serviceTaskOperator id="send_mail" resultVariable="reminder">'
        '<spiffworkflow:parameters>'
        f'<spiffworkflow:parameter id="to" type="str" value="\'{REMINDER_TO}\'"/>'
        '<spiffworkflow:parameter id="subject" type="str" value="\'Rykker: fristen for Behandl ansøgning er overskredet\'"/>'
        '<spiffworkflow:parameter id="body" type="str" value="\'Sagen er eskaleret.\'"/>'
        '</spiffworkflow:parameters></spiffworkflow:serviceTaskOperator></bpmn:extensionElements>'
        '<bpmn:incoming>F_Late</bpmn:incoming><bpmn:outgoing>F_Reminded</bpmn:outgoing></bpmn:serviceTask>',
        user_task("Task_Escalate", "Eskaleret: behandl straks", "F_Reminded", "F3"),
        GDPR_CALL.format(incoming="F2</bpmn:incoming><bpmn:incoming>F3", outgoing="F4"),
        '<bpmn:endEvent id="EndEvent"><bpmn:incoming>F4</bpmn:incoming></bpmn:endEvent>',
        flow("F1", "StartEvent", "Task_Handle"), flow("F2", "Task_Handle", "Call_GdprReview"),
        flow("F_Late", "Timer_Deadline", "Service_Remind"), flow("F_Reminded", "Service_Remind", "Task_Escalate"),
        flow("F3", "Task_Escalate", "Call_GdprReview"), flow("F4", "Call_GdprReview", "EndEvent"),
    ]))


class RefusingSink(SmtpSink):
    """The SMTP server: keeps what it receives and refuses the recipients in `refused` (550)."""

    def __init__(self):
        super().__init__()
        self.refused: set[str] = set()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refused:
            return "550 5.1.1 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    def received(self, to: str) -> list:
        return [m for m in self.messages if to in m.rcpt_tos]


@pytest.fixture
def viewport() -> str:
    return "desktop"  # one run: the pages themselves are covered on phones by the other browser tests


@pytest.fixture
def site(request, tmp_path, postgres_problem):
    """Web app, worker and beat on one PostgreSQL schema and one Redis queue, mailing to the sink.

    The deadline of the "frist" case type is PT5S unless a test asks for another (indirect param).
    """
    deadline = getattr(request, "param", "PT5S")
    require_servers(postgres_problem)
    sink = RefusingSink()
    smtp = Controller(sink, hostname="127.0.0.1", port=sink.port)
    smtp.start()
    deployment = Deployment(tmp_path, SAGSGANG_SMTP_HOST="127.0.0.1", SAGSGANG_SMTP_PORT=str(sink.port),
                            SAGSGANG_TIMER_INTERVAL="1", SAGSGANG_COOKIE_SECURE="false")
    server = None
    try:
        ctx = deployment.ctx
        install(ctx, "frist", deadline_bpmn(deadline), "frist", "FRI", name="Frist for ansøgning")
        install(ctx, "servicing", service_bpmn("send_mail", {"to": f"'{REPORT_TO}'", "subject": "'Indberetning'"}),
                "servicing", "IND", name="Indberetning til tilsyn")
        deployment.start_worker("w1")
        deployment.start_beat()
        server = make_server("127.0.0.1", 0, create_app(engine_context=ctx), threaded=True)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        yield type("Site", (), {"url": f"http://127.0.0.1:{server.server_port}", "deployment": deployment,
                                "sink": sink})
    finally:
        if server is not None:
            server.shutdown()
        deployment.close()
        smtp.stop()


def log_in(page, base: str, username: str) -> None:
    page.goto(f"{base}/login")
    page.get_by_label("Brugernavn").fill(username)
    page.get_by_label("Adgangskode").fill("demo")
    page.get_by_role("button", name="Log ind").click()
    page.wait_for_url(re.compile(r".*/(tasks/mine)?$"))


def start_case(page, base: str, case_type: str, title: str) -> str:
    page.goto(f"{base}/cases/new/{case_type}")
    page.get_by_label("Sagens titel").fill(title)
    page.get_by_role("button", name="Opret sag").click()
    page.wait_for_url(re.compile(r".*/cases/[A-Z]+-\d{4}-\d{6}$"))
    return page.url.rsplit("/", 1)[1]


def open_tasks(page) -> list[str]:
    return [t.strip() for t in page.locator("#open-tasks .task-cards a").all_inner_texts()]


def reload_until(page, condition, timeout: float, what: str, every: float = 0.5) -> None:
    """Reload the page every `every` seconds, as a person would, until `condition(page)` holds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        page.reload()
        if condition(page):
            return
        time.sleep(every)
    raise AssertionError(f"timed out waiting for {what}")


def test_a_deadline_escalates_by_itself_with_a_reminder_mail_and_a_failed_step_is_retried(page, site):
    base, sink, shots = site.url, site.sink, page.screens
    log_in(page, base, "anna")

    # 1. A task with a deadline: nobody acts, and the case escalates by itself.
    started = time.monotonic()
    number = start_case(page, base, "frist", "Tilbygning på Strandvejen 4")
    assert open_tasks(page) == ["Behandl ansøgning"]
    shots.shot("deadline-running")
    reload_until(page, lambda p: open_tasks(p) == ["Eskaleret: behandl straks"], 60,
                 "the deadline to escalate the case")
    assert time.monotonic() - started >= 5  # not before its deadline
    assert "Frist nået" in page.locator(".journal").inner_text()
    shots.shot("deadline-escalated")
    [reminder] = sink.received(REMINDER_TO)
    mail = message_from_bytes(reminder.content, policy=policy.default)
    assert mail["Subject"] == "Rykker: fristen for Behandl ansøgning er overskredet"
    assert mail.get_content().strip() == "Sagen er eskaleret."
    assert page.locator("#incidents").count() == 0

    # 2. A mail step the server refuses: an incident on the case page, with the error and attempts.
    sink.refused.add(REPORT_TO)
    report = start_case(page, base, "servicing", "Indberetning om byggeaffald")
    reload_until(page, lambda p: p.locator("#incidents").count() == 1, 60, "the failed step to become an incident")
    section = page.locator("#incidents")
    assert "Service_Call" in section.inner_text() and "send_mail" in section.inner_text()
    assert "refused the recipients" in section.inner_text() and REPORT_TO in section.inner_text()
    assert section.locator("td[data-label='Forsøg']").inner_text().strip() == "1"
    assert open_tasks(page) == []
    bell = page.locator(".bell .count")
    assert int(bell.get_attribute("data-unread")) >= 1  # the incident told its caseworker
    shots.shot("incident")

    # 3. The cause is fixed; the caseworker retries with the button, and the worker runs the step.
    sink.refused.clear()
    section.get_by_role("button", name=re.compile("^Prøv igen")).click()
    page.wait_for_url(f"{base}/cases/{report}")
    assert "sat i kø igen" in page.locator(".flashes").inner_text()
    reload_until(page, lambda p: open_tasks(p) == ["Videre"], 60, "the retried step to move the case on")
    assert page.locator("#incidents").count() == 0
    assert len(sink.received(REPORT_TO)) == 1
    shots.shot("incident-retried")

    # The bell leads to the notifications; marking them read empties it.
    page.locator(".bell").click()
    page.wait_for_url(f"{base}/notifications/")
    assert report in page.locator(".notifications").inner_text()
    page.get_by_role("button", name="Marker alle som læst").click()
    assert page.locator(".bell .count").get_attribute("data-unread") == "0"
    shots.shot("notifications-read")
    assert page.console_errors == []
    assert number != report


@pytest.mark.parametrize("site", ["PT2M"], indirect=True)
def test_a_two_minute_deadline_escalates_by_itself_in_the_browser(page, site):
    """The done-when's own numbers: a two-minute deadline, nobody touching the case."""
    base, sink = site.url, site.sink
    log_in(page, base, "anna")
    started = time.monotonic()
    number = start_case(page, base, "frist", "Nyt tag på Havnegade 12")
    assert open_tasks(page) == ["Behandl ansøgning"]
    reload_until(page, lambda p: open_tasks(p) == ["Eskaleret: behandl straks"], 240,
                 "the two-minute deadline to escalate the case", every=5)
    assert time.monotonic() - started >= 120  # not before its deadline
    assert "Frist nået" in page.locator(".journal").inner_text()
    assert len(sink.received(REMINDER_TO)) == 1
    page.screens.shot("two-minute-deadline-escalated")

    # Beat's journal sweep (every 30 s) notifies the caseworker of the escalation task: the bell
    # counts it, and the notification mail (every minute) reaches her inbox at the SMTP server.
    wait_for(lambda: sink.received("anna@sagsgang.local"), 150, "the notification mail")
    [mail] = [message_from_bytes(m.content, policy=policy.default) for m in sink.received("anna@sagsgang.local")]
    assert mail["Subject"] == f"Ny opgave: Eskaleret: behandl straks ({number})"
    assert f"/cases/{number}" in mail.get_content()
    page.reload()
    assert int(page.locator(".bell .count").get_attribute("data-unread")) == 1
    page.locator(".bell").click()
    page.get_by_role("link", name=f"Ny opgave: Eskaleret: behandl straks ({number})").click()
    assert page.get_by_role("heading", level=1).inner_text().startswith("Eskaleret: behandl straks")
    assert page.console_errors == []
