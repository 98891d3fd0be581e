"""The sandbox that runs owner-written BPMN/DMN expressions and scripts."""
import datetime as dt
import sys
import threading
import types

import pytest
from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.dmn.engine.DMNEngine import DMNEngine
from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser
from SpiffWorkflow.util.task import TaskState

from engine.runtime.sandbox import (SandboxedScriptEngine, SandboxEnvironment, SandboxViolation,
                                    ScriptTimeout, check_source)


def evaluate(expression, **data):
    return SandboxEnvironment().evaluate(expression, data)


def execute(script, time_limit=1.0, **data):
    SandboxEnvironment(time_limit=time_limit).execute(script, data)
    return data


# --------------------------------------------------------------------------- escapes

@pytest.mark.parametrize("expression, named", [
    ("__import__('os')", "name '__import__' is not allowed"),
    ("().__class__.__base__.__subclasses__()", "attribute '__class__' is not allowed"),
    ("'{0.__class__}'.format(1)", "__class__"),
    ("'{a.__class__}'.format_map({'a': 1})", "__class__"),
    ("str.format('{0.__class__}', 1)", "str.format"),
    ("str.format_map('{a.__class__}', {'a': 1})", "str.format_map"),
    ("open('/etc/passwd')", "name 'open' is not allowed"),
    ("getattr(1, '__class__')", "name 'getattr' is not allowed"),
    ("type(1)", "name 'type' is not allowed"),
    ("globals()", "name 'globals' is not allowed"),
    ("vars()", "name 'vars' is not allowed"),
    ("eval('1')", "name 'eval' is not allowed"),
    ("exec('x=1')", "name 'exec' is not allowed"),
    ("compile('1', 'f', 'eval')", "name 'compile' is not allowed"),
    ("(lambda: 0).__code__", "attribute '__code__' is not allowed"),
    ("(x for x in [1]).gi_frame.f_globals", "attribute 'gi_frame' is not allowed"),
    ("[g.gi_frame.f_back for g in [(x for x in [1])]]", "attribute 'gi_frame' is not allowed"),
    ("int.mro()", "attribute 'mro' is not allowed"),
    ("sum(range(10**12))", "range() would have 1000000000000 items"),
    ("'x' * 10**10", "'*' repetition would have 10000000000 items"),
    ("[0] * 10**10", "'*' repetition"),
    ("2 ** 10**10", "'**' would give an integer"),
    ("1 << 10**10", "'<<' would give an integer"),
    ("'x'.ljust(10**10)", "ljust()"),
    ("f'{1:10000000000}'", "format width"),
    ("'%10000000000d' % 1", "format width"),
    ("'{:10000000000}'.format(1)", "format width"),
    ("sum([[1]] * 1000, [])", "sum() of sequences"),
])
def test_known_escapes_are_refused_with_a_message_naming_them(expression, named):
    with pytest.raises(SandboxViolation, match=None) as info:
        evaluate(expression)
    assert named in str(info.value)


@pytest.mark.parametrize("script, named", [
    ("import os", "import statements are not allowed"),
    ("from os import path", "import statements are not allowed"),
    ("class A:\n    pass", "class definitions are not allowed"),
    ("_secret = 1", "name '_secret' is not allowed"),
    ("def f():\n    return f.__globals__", "attribute '__globals__' is not allowed"),
    ("def g():\n    yield 1\nframe = g().gi_frame", "attribute 'gi_frame' is not allowed"),
    ("x = datetime.datetime.now().__class__", "attribute '__class__' is not allowed"),
])
def test_forbidden_statements_are_refused(script, named):
    with pytest.raises(SandboxViolation) as info:
        execute(script)
    assert named in str(info.value)


def test_modules_expose_only_what_is_listed():
    # the real datetime module has a `sys` attribute, which would lead to sys.modules['os']
    with pytest.raises(AttributeError):
        evaluate("datetime.sys")
    with pytest.raises(AttributeError):
        evaluate("math.factorial(10**6)")
    with pytest.raises(AttributeError):
        evaluate("time.sleep(10)")
    with pytest.raises(TypeError):  # modules cannot be changed by a script
        execute("math.pi = 3")


def test_endless_loop_times_out():
    with pytest.raises(ScriptTimeout, match=r"script exceeded the 0.2 s time limit"):
        execute("while True: pass", time_limit=0.2)


def test_timeout_cannot_be_swallowed_by_except():
    script = ("while True:\n"
              "    try:\n"
              "        while True:\n"
              "            x = 1\n"
              "    except:\n"
              "        pass\n")
    with pytest.raises(ScriptTimeout):
        execute(script, time_limit=0.2)


def test_timeout_survives_recursion_errors_and_finally():
    # a RecursionError must not switch the deadline off (it did with a sys.settrace deadline)
    script = ("def f():\n"
              "    f()\n"
              "while True:\n"
              "    try:\n"
              "        f()\n"
              "    except RecursionError:\n"
              "        pass\n")
    with pytest.raises(ScriptTimeout):
        execute(script, time_limit=0.3)
    with pytest.raises(ScriptTimeout):
        execute("try:\n    while True: pass\nfinally:\n    while True: pass", time_limit=0.2)


def test_expensive_recursion_and_comprehensions_time_out():
    with pytest.raises(ScriptTimeout):
        execute("def f(n):\n    return 1 if n == 0 else f(n - 1) + f(n - 1)\nx = f(40)", time_limit=0.2)
    with pytest.raises(ScriptTimeout):
        SandboxEnvironment(time_limit=0.2).evaluate(
            "sum(1 for a in range(10**6) for b in range(10**6))", {})
    with pytest.raises(ScriptTimeout):
        SandboxEnvironment(time_limit=0.2).evaluate(
            "(f := lambda n: 1 if n == 0 else f(n - 1) + f(n - 1))(40)", {})


def test_timeout_works_outside_the_main_thread():
    caught = []

    def run():
        try:
            execute("while True:\n    x = 1", time_limit=0.2)
        except ScriptTimeout as err:
            caught.append(err)

    worker = threading.Thread(target=run)
    worker.start()
    worker.join(10)
    assert len(caught) == 1


def test_trace_function_is_left_alone():
    # coverage and debuggers keep working: the deadline does not use sys.settrace
    def tracer(frame, event, arg):
        return None

    previous = sys.gettrace()
    sys.settrace(tracer)
    try:
        execute("for i in range(3):\n    x = i")
        with pytest.raises(ScriptTimeout):
            execute("while True: pass", time_limit=0.1)
        assert sys.gettrace() is tracer
    finally:
        sys.settrace(previous)


def test_script_code_cannot_run_after_its_run_ended():
    generator = SandboxEnvironment().evaluate("(x for x in items)", {"items": [1, 2]})
    with pytest.raises(SandboxViolation, match="outside its script"):
        list(generator)


def test_two_argument_iter_is_refused():
    # iter(int, 1) is an endless iterator in C, which no trace function could stop
    with pytest.raises(SandboxViolation, match="iter"):
        evaluate("any(iter(int, 1))")


def test_call_service_is_refused():
    with pytest.raises(SandboxViolation, match="operator 'aws/AddItem'.*service tasks are run by workers"):
        SandboxEnvironment().call_service({}, operation_name="aws/AddItem")


# ------------------------------------------------------------------------ happy paths

def test_conditions_see_task_data():
    assert evaluate("amount > 1000", amount=1500) is True
    assert evaluate("amount > 1000", amount=10) is False
    assert evaluate("status == 'approved' and len(items) >= 2", status="approved", items=[1, 2])
    assert evaluate("applicant['name'].upper()", applicant={"name": "jens"}) == "JENS"
    # data may use names that are forbidden as builtins: a form field called `type`
    assert evaluate("type == 'building'", type="building") is True


def test_scripts_set_and_delete_variables_and_leave_only_data():
    data = execute("total = amount * 2\nlabel = 'big' if total > 100 else 'small'\ndel temp\nprint(total)",
                   amount=100, temp="x")
    assert data == {"amount": 100, "total": 200, "label": "big"}


def test_def_try_except_fstrings_comprehensions():
    script = (
        "def fee(area):\n"
        "    return round(area * 12.5, 2)\n"
        "try:\n"
        "    missing = lookup['nothing']\n"
        "except KeyError as err:\n"
        "    missing = None\n"
        "try:\n"
        "    broken = 1 / 0\n"
        "except:\n"
        "    broken = 'caught'\n"
        "fees = [fee(a) for a in areas if a > 0]\n"
        "by_area = {a: fee(a) for a in areas}\n"
        "counts = {'big': 0, 'small': 0}\n"
        "for a in areas:\n"
        "    counts['big' if a > 50 else 'small'] += 1\n"
        "first, *rest = sorted(areas, key=lambda a: -a)\n"
        "n = 0\n"
        "while n < 3:\n"
        "    n += 1\n"
        "message = f'{len(fees)} gebyrer, i alt {sum(fees):.2f} kr.'\n"
        "old = '{} af {}'.format(1, 2) + ' ' + '%s/%d' % ('a', 3)\n"
    )
    data = execute(script, areas=[100, 0, 20], lookup={})
    assert data["fees"] == [1250.0, 250.0]
    assert data["by_area"] == {100: 1250.0, 0: 0.0, 20: 250.0}
    assert data["counts"] == {"big": 1, "small": 2}
    assert (data["first"], data["rest"]) == (100, [20, 0])
    assert data["missing"] is None and data["broken"] == "caught" and data["n"] == 3
    assert data["message"] == "2 gebyrer, i alt 1500.00 kr."
    assert data["old"] == "1 af 2 a/3"
    assert "fee" not in data  # functions are removed, like SpiffWorkflow does


def test_datetime_time_math_json():
    received = dt.datetime(2024, 3, 1, 12, 0)
    data = execute(
        "deadline = received + timedelta(days=14)\n"
        "weekday = deadline.weekday()\n"
        "late = datetime.datetime(2024, 4, 1) > deadline\n"
        "today_is_date = isinstance(date.today(), date)\n"
        "stamp = time.time()\n"
        "rounded = math.floor(2.7)\n"
        "doc = json.dumps({'a': [1, 2]}, sort_keys=True)\n"
        "back = json.loads(doc)\n",
        received=received)
    assert data["deadline"] == dt.datetime(2024, 3, 15, 12, 0)
    assert data["weekday"] == 4 and data["late"] is True and data["today_is_date"] is True
    assert isinstance(data["stamp"], float)
    assert data["rounded"] == 2 and data["back"] == {"a": [1, 2]}
    assert not any(isinstance(v, types.ModuleType) or callable(v) for v in data.values())


def test_shadowing_a_predefined_global_fails_clearly():
    with pytest.raises(ValueError, match="datetime"):
        execute("x = 1", datetime="2024-01-01")


def test_extra_globals_are_available_and_removed_afterwards():
    env = SandboxEnvironment(extra_globals={"cpr_ok": lambda cpr: len(cpr) == 10})
    data = {"cpr": "0101701234"}
    env.execute("valid = cpr_ok(cpr)", data)
    assert data == {"cpr": "0101701234", "valid": True}
    assert env.evaluate("cpr_ok(cpr)", data) is True


def test_check_source_lists_problems_without_running():
    assert check_source("amount > 1000") == []
    assert check_source("x = 1\ndel x", "exec") == []
    assert check_source("import os", "exec") == ["Line 1: import statements are not allowed"]
    assert "syntax error" in check_source("> 5")[0]
    problems = check_source("().__class__.__bases__")
    assert any("'__class__'" in p for p in problems) and any("'__bases__'" in p for p in problems)


def test_validate_raises_syntax_error_for_dmn_and_violation_for_forbidden():
    engine = SandboxedScriptEngine()
    engine.validate("a != 0")
    with pytest.raises(SyntaxError):
        engine.validate("> 5")
    with pytest.raises(SandboxViolation):
        engine.validate("__import__('os')")


@pytest.mark.parametrize("input_expr, cell, data, expected", [
    ("letter", '"X"', {"letter": "X"}, True),
    ("letter", '"X"', {"letter": "Y"}, False),
    ("a", "!= 0", {"a": 3}, True),
    ("flag", "True", {"flag": True}, True),
    ("telephone", "telephone[-10:]", {"telephone": "+4512345678"}, False),
    ("telephone[-8:]", '"12345678"', {"telephone": "+4512345678"}, True),
    ("area", "<= 50", {"area": 40}, True),
    ("kind", '? in ("house", "cabin")', {"kind": "cabin"}, True),
])
def test_dmn_cells_evaluate_through_the_sandbox(input_expr, cell, data, expected):
    engine = SandboxedScriptEngine()
    task = types.SimpleNamespace(data=data, workflow=types.SimpleNamespace(script_engine=engine))
    assert DMNEngine(None).evaluate(input_expr, cell, task) is expected


# -------------------------------------------------------------- through SpiffWorkflow

BPMN = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="defs"
                  targetNamespace="http://bpmn.io/schema/bpmn">
  <bpmn:process id="fee" isExecutable="true">
    <bpmn:startEvent id="start"/>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="compute"/>
    <bpmn:scriptTask id="compute" name="Compute fee">
      <bpmn:script>{script}</bpmn:script>
    </bpmn:scriptTask>
    <bpmn:sequenceFlow id="f2" sourceRef="compute" targetRef="gateway"/>
    <bpmn:exclusiveGateway id="gateway" default="small"/>
    <bpmn:sequenceFlow id="big" sourceRef="gateway" targetRef="end_big">
      <bpmn:conditionExpression>fee &gt; 1000</bpmn:conditionExpression>
    </bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="small" sourceRef="gateway" targetRef="end_small"/>
    <bpmn:endEvent id="end_big"/>
    <bpmn:endEvent id="end_small"/>
  </bpmn:process>
</bpmn:definitions>
"""


def run_workflow(script, data):
    parser = SpiffBpmnParser()
    parser.add_bpmn_str(BPMN.replace("{script}", script).encode())
    workflow = BpmnWorkflow(parser.get_spec("fee"), parser.get_subprocess_specs("fee"),
                            script_engine=SandboxedScriptEngine(time_limit=0.5))
    workflow.get_tasks(spec_name="start")[0].data.update(data)
    workflow.do_engine_steps()
    return workflow


@pytest.mark.parametrize("area, end", [(200, "end_big"), (20, "end_small")])
def test_script_task_and_gateway_run_in_a_real_workflow(area, end):
    script = "def fee_for(a):\n    return a * 12.5\nfee = fee_for(area)\ndel area"
    workflow = run_workflow(script, {"area": area})
    assert workflow.is_completed()
    reached = {t.task_spec.name for t in workflow.get_tasks(state=TaskState.COMPLETED)}
    assert end in reached and ({"end_big", "end_small"} - {end}).isdisjoint(reached)
    final = workflow.get_tasks(spec_name=end)[0].data
    assert final == {"fee": area * 12.5}


def test_forbidden_script_in_a_script_task_raises():
    with pytest.raises(WorkflowTaskException) as info:
        run_workflow("import os\nfee = 1", {"area": 1})
    err = info.value
    chain = [err.__cause__, err.__context__]
    assert any(isinstance(e, SandboxViolation) for e in chain) or err.error_type == "SandboxViolation"
    assert "import statements are not allowed" in str(err)


def test_endless_script_in_a_script_task_times_out():
    with pytest.raises(WorkflowTaskException) as info:
        run_workflow("while True:\n    fee = 1", {"area": 1})
    assert info.value.error_type == "ScriptTimeout"
    assert "time limit" in str(info.value)
