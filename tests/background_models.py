"""Inline BPMN models for the background-work tests: timers of every kind and service tasks."""
from __future__ import annotations

from xml.sax.saxutils import escape, quoteattr

from tests.models import GDPR_CALL, definitions, flow, user_task

START = '<bpmn:startEvent id="StartEvent"><bpmn:outgoing>F1</bpmn:outgoing></bpmn:startEvent>'
END = '<bpmn:endEvent id="EndEvent"><bpmn:incoming>F_End</bpmn:incoming></bpmn:endEvent>'


def timer(kind: str, value: str) -> str:
    return f'<bpmn:timerEventDefinition><bpmn:{kind}>"{value}"</bpmn:{kind}></bpmn:timerEventDefinition>'


def reminder_bpmn(cycle: str = "R2/PT0.2S") -> bytes:
    """A task with a non-interrupting cycle timer: each tick opens a reminder task, the task stays."""
    return definitions("reminder", "\n".join([
        START,
        user_task("Task_Handle", "Behandl", "F1", "F2"),
        '<bpmn:boundaryEvent id="Timer_Remind" attachedToRef="Task_Handle" cancelActivity="false">'
        f'<bpmn:outgoing>F_Remind</bpmn:outgoing>{timer("timeCycle", cycle)}</bpmn:boundaryEvent>',
        # A reminder path ends with its task: an end event there would close nothing, and the
        # GDPR rule refuses end events that skip the review.
        '<bpmn:userTask id="Task_Remind" name="Rykker"><bpmn:incoming>F_Remind</bpmn:incoming></bpmn:userTask>',
        GDPR_CALL.format(incoming="F2", outgoing="F_End"), END,
        flow("F1", "StartEvent", "Task_Handle"), flow("F2", "Task_Handle", "Call_GdprReview"),
        flow("F_Remind", "Timer_Remind", "Task_Remind"),
        flow("F_End", "Call_GdprReview", "EndEvent"),
    ]))


def wait_bpmn(duration: str = "PT0.3S") -> bytes:
    """An intermediate timer event between two steps."""
    return definitions("waiting", "\n".join([
        START,
        f'<bpmn:intermediateCatchEvent id="Timer_Wait"><bpmn:incoming>F1</bpmn:incoming>'
        f'<bpmn:outgoing>F2</bpmn:outgoing>{timer("timeDuration", duration)}</bpmn:intermediateCatchEvent>',
        GDPR_CALL.format(incoming="F2", outgoing="F_End"), END,
        flow("F1", "StartEvent", "Timer_Wait"), flow("F2", "Timer_Wait", "Call_GdprReview"),
        flow("F_End", "Call_GdprReview", "EndEvent"),
    ]))


def scheduled_bpmn(cycle: str = "R/PT1H", caseworker: str = "anna", title: str = "Tilsyn {date}") -> bytes:
    """A case type that opens a case on a timer start event's cycle."""
    props = (f'<bpmn:extensionElements><spiffworkflow:properties>'
             f'<spiffworkflow:property name="caseworker" value={quoteattr(caseworker)}/>'
             f'<spiffworkflow:property name="title" value={quoteattr(title)}/>'
             f'</spiffworkflow:properties></bpmn:extensionElements>')
    return definitions("scheduled", "\n".join([
        f'<bpmn:startEvent id="Start_Timer">{props}<bpmn:outgoing>F1</bpmn:outgoing>'
        f'{timer("timeCycle", cycle)}</bpmn:startEvent>',
        user_task("Task_Inspect", "Tilsyn", "F1", "F2"),
        GDPR_CALL.format(incoming="F2", outgoing="F_End"), END,
        flow("F1", "Start_Timer", "Task_Inspect"), flow("F2", "Task_Inspect", "Call_GdprReview"),
        flow("F_End", "Call_GdprReview", "EndEvent"),
    ]))


def service_bpmn(operator: str, params: dict[str, str], with_deadline: str | None = None,
                 then_script: str | None = None) -> bytes:
    """start → service task (operator, parameters as expressions) → user task → review → end.

    With `with_deadline`, an interrupting boundary timer on the service task escalates instead;
    with `then_script`, the service task's outgoing flow passes a script task first.
    """
    parameters = "".join(f'<spiffworkflow:parameter id="{name}" type="str" value={quoteattr(value)}/>'
                         for name, value in params.items())
    deadline = ""
    flows = []
    if with_deadline:
        deadline = ('<bpmn:boundaryEvent id="Timer_ServiceDeadline" attachedToRef="Service_Call" cancelActivity="true">'
                    f'<bpmn:outgoing>F_Late</bpmn:outgoing>{timer("timeDuration", with_deadline)}</bpmn:boundaryEvent>'
                    + user_task("Task_Late", "For sent", "F_Late", "F_LateDone"))
        flows = [flow("F_Late", "Timer_ServiceDeadline", "Task_Late"), flow("F_LateDone", "Task_Late", "Call_GdprReview")]
    into_review = "F3</bpmn:incoming><bpmn:incoming>F_LateDone" if with_deadline else "F3"
    after_service = [flow("F2", "Service_Call", "Task_Next")]
    script = ""
    if then_script:
        script = (f'<bpmn:scriptTask id="Script_After" name="Efter"><bpmn:incoming>F2</bpmn:incoming>'
                  f'<bpmn:outgoing>F2b</bpmn:outgoing><bpmn:script>{escape(then_script)}</bpmn:script></bpmn:scriptTask>')
        after_service = [flow("F2", "Service_Call", "Script_After"), flow("F2b", "Script_After", "Task_Next")]
    return definitions("servicing", "\n".join([
        START,
        '<bpmn:serviceTask id="Service_Call" name="Kald"><bpmn:extensionElements>'
        f'<spiffworkflow:serviceTaskOperator id="{operator}" resultVariable="service_result">'
        f'<spiffworkflow:parameters>{parameters}</spiffworkflow:parameters></spiffworkflow:serviceTaskOperator>'
        '</bpmn:extensionElements><bpmn:incoming>F1</bpmn:incoming><bpmn:outgoing>F2</bpmn:outgoing></bpmn:serviceTask>',
        deadline, script,
        user_task("Task_Next", "Videre", "F2b" if then_script else "F2", "F3"),
        GDPR_CALL.format(incoming=into_review, outgoing="F_End"), END,
        flow("F1", "StartEvent", "Service_Call"), *after_service,
        flow("F3", "Task_Next", "Call_GdprReview"), flow("F_End", "Call_GdprReview", "EndEvent"), *flows,
    ]))
