"""Restricted script engine for the expressions and scripts that case-type owners write.

Gateway conditions, script tasks and DMN cells come from municipal case-type owners, not from
developers, and SpiffWorkflow would run them with plain eval/exec. Here they are compiled with
RestrictedPython under a stricter policy of our own, run against a short, explicit list of
builtins and modules, and stopped by a deadline: the compiler puts a `_tick_()` check into every
loop pass, function call and comprehension step, which works in any thread (Flask request
threads, Celery workers), unlike signal.alarm. (A sys.settrace deadline was tried first: CPython
switches tracing off for good when the trace function raises, and a RecursionError raised while
calling the tracer did exactly that, after which `while True:` ran forever; a one-line
`while True: pass` also raises no line events at all.)

Evaluation follows SpiffWorkflow's TaskDataEnvironment: expressions see the task data as
variables; scripts run with the task data as their globals, so assignments and `del` change
the data, and the injected helpers, modules and functions are removed again afterwards.
"""
from __future__ import annotations

import ast
import builtins
import copy
import datetime as _dt
import functools
import json
import logging
import math
import operator
import re
import string
import sys
import time as _time
import types

from RestrictedPython import RestrictingNodeTransformer
from RestrictedPython.Guards import full_write_guard, guarded_iter_unpack_sequence, guarded_unpack_sequence
from RestrictedPython.transformer import INSPECT_ATTRIBUTES, IOPERATOR_TO_STR
from SpiffWorkflow.bpmn.script_engine.python_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.script_engine.python_environment import BasePythonScriptEngineEnvironment

log = logging.getLogger(__name__)

FILENAME = "<string>"  # SpiffWorkflow looks for this name in tracebacks to report the script line
MAX_ITEMS = 1_000_000  # the longest range, repeated sequence, padding or format width allowed
MAX_INT_BITS = 100_000  # the largest integer one *, ** or << may produce
COMPILE_CACHE_SIZE = 4096

# frame/generator/traceback internals (gi_frame, f_globals, ...) and `mro`, which leads to object
FORBIDDEN_ATTRIBUTES = INSPECT_ATTRIBUTES | {"mro"}
# Builtins that would open the sandbox: calling them raises SandboxViolation naming them. They live
# in __builtins__, so task data with the same name (a form field called `type`) still wins.
FORBIDDEN_NAMES = ("open", "exec", "eval", "compile", "globals", "locals", "vars", "getattr", "setattr",
                   "delattr", "hasattr", "type", "dir", "input", "breakpoint", "help", "object", "super",
                   "memoryview", "bytearray", "classmethod", "staticmethod", "property", "exit", "quit", "id")


class SandboxViolation(Exception):
    """A script used a construct, name or attribute the sandbox forbids; the message names it."""


class ScriptTimeout(Exception):
    """A script or expression ran longer than the time limit."""


class _Deadline(BaseException):
    """Raised by `_tick_()` once the time is up. A BaseException, and a bare `except:` means
    `except Exception:` here, so scripts cannot catch it; every later tick raises it again."""


# ---------------------------------------------------------------------------------------- compile

def _call(name, *args):
    return ast.Call(func=ast.Name(name, ast.Load()), args=list(args), keywords=[])


def _is_plain(node):
    """True if evaluating the expression twice cannot differ from once (no calls or assignments)."""
    return not any(isinstance(n, (ast.Call, ast.NamedExpr, ast.Yield, ast.YieldFrom, ast.Await, ast.Lambda))
                   for n in ast.walk(node))


class _Policy(RestrictingNodeTransformer):
    """RestrictedPython's policy with messages that name the construct, plus what the deadline and
    the resource caps need: ticks, bare `except:` narrowed, and *, **, <<, % and computed format
    specs routed through runtime guards."""

    BINOP_GUARDS = {ast.Mult: "_mul_", ast.Pow: "_pow_", ast.LShift: "_lshift_", ast.Mod: "_mod_"}
    ticks = False  # set once a `_tick_()` is inserted: only then does the code need a deadline

    def check_name(self, node, name, allow_magic_methods=False):
        if name and name.startswith("_") and name != "_":
            self.error(node, f"name '{name}' is not allowed")
        else:
            super().check_name(node, name)

    def visit_Import(self, node):
        self.error(node, "import statements are not allowed")

    visit_ImportFrom = visit_Import

    def visit_ClassDef(self, node):
        self.error(node, "class definitions are not allowed")

    def visit_ExceptHandler(self, node):
        """A bare `except:` becomes `except Exception:`, so it cannot catch the deadline."""
        if node.type is None:
            node.type = ast.copy_location(ast.Name("Exception", ast.Load()), node)
        return super().visit_ExceptHandler(node)

    def visit_Attribute(self, node):
        if node.attr.startswith("_") or node.attr in FORBIDDEN_ATTRIBUTES:
            self.error(node, f"attribute '{node.attr}' is not allowed")
            return self.node_contents_visit(node)
        return super().visit_Attribute(node)

    def visit_Call(self, node):
        if isinstance(node.func, ast.Name) and node.func.id in ("eval", "exec"):
            self.error(node, f"name '{node.func.id}' is not allowed")
            return self.node_contents_visit(node)
        return super().visit_Call(node)

    def tick(self, node):
        self.ticks = True
        return ast.copy_location(_call("_tick_"), node)

    def visit_While(self, node):
        node = super().visit_While(node)
        node.body.insert(0, ast.Expr(self.tick(node)))
        return node

    visit_For = visit_While

    def visit_FunctionDef(self, node):
        node = super().visit_FunctionDef(node)
        node.body.insert(0, ast.Expr(self.tick(node)))
        return node

    def visit_Lambda(self, node):
        node = super().visit_Lambda(node)
        node.body = ast.copy_location(ast.BoolOp(op=ast.And(), values=[self.tick(node), node.body]), node)
        return node

    def visit_comprehension(self, node):
        node = super().visit_comprehension(node)
        node.ifs.insert(0, self.tick(node.target))
        return node

    def visit_BinOp(self, node):
        node = self.node_contents_visit(node)
        guard = self.BINOP_GUARDS.get(type(node.op))
        return node if guard is None else ast.copy_location(_call(guard, node.left, node.right), node)

    def visit_AugAssign(self, node):
        """`n += 1` stays native unless the operator needs a guard; `d[k] += v` is allowed too
        (RestrictedPython refuses it, but counters in dicts are common in scripts)."""
        if isinstance(node.target, ast.Name) and type(node.op) not in self.BINOP_GUARDS:
            return self.node_contents_visit(node)
        if not (isinstance(node.target, ast.Subscript) and _is_plain(node.target)):
            return super().visit_AugAssign(node)
        load = copy.deepcopy(node.target)
        load.ctx = ast.Load()
        value = _call("_inplacevar_", ast.Constant(IOPERATOR_TO_STR[type(node.op)]),
                      self.visit(load), self.visit(node.value))
        return ast.copy_location(ast.Assign(targets=[self.visit(node.target)], value=value), node)

    def visit_FormattedValue(self, node):
        node = self.node_contents_visit(node)
        spec = node.format_spec
        if spec is None:
            return node
        if all(isinstance(part, ast.Constant) for part in spec.values):
            try:
                _check_spec("".join(str(part.value) for part in spec.values))
            except SandboxViolation as err:
                self.error(node, str(err))
            return node
        node.value = _call("_format_", node.value, ast.Constant(node.conversion), spec)
        node.conversion, node.format_spec = -1, None
        return node


@functools.lru_cache(maxsize=COMPILE_CACHE_SIZE)
def _compile_cached(source: str, mode: str):
    """Return (code, ticks, problems, syntax error args); cached: a condition runs thousands of times."""
    try:
        tree = ast.parse(source, FILENAME, mode)
    except SyntaxError as err:
        details = (FILENAME, err.lineno, err.offset, err.text, err.end_lineno, err.end_offset)
        return None, False, (f"Line {err.lineno}: syntax error: {err.msg}",), (err.msg, details)
    errors = []
    policy = _Policy(errors, [], {})
    tree = policy.visit(tree)
    if errors:
        return None, False, tuple(errors), None
    return compile(ast.fix_missing_locations(tree), FILENAME, mode, dont_inherit=True), policy.ticks, (), None


def _compile(source: str, mode: str):
    """Return (code, whether it has ticks), or raise SyntaxError / SandboxViolation."""
    code, ticks, problems, syntax_error = _compile_cached(source, mode)
    if syntax_error:
        raise SyntaxError(*syntax_error)
    if problems:
        raise SandboxViolation("; ".join(problems))
    return code, ticks


def check_source(source: str, mode: str = "eval") -> list[str]:
    """Compile without running; return human-readable problems (empty list = fine).

    `mode` is 'eval' for expressions (conditions, DMN cells) and 'exec' for scripts. Used by the
    case-type linter, so owners see every problem before a case ever runs.
    """
    if mode not in ("eval", "exec"):
        raise ValueError(f"mode must be 'eval' or 'exec', not {mode!r}")
    return list(_compile_cached(source, mode)[2])


# ----------------------------------------------------------------------------- runtime guards

_SEQUENCES = (str, bytes, list, tuple)


def _check_size(n, what):
    if n > MAX_ITEMS:
        raise SandboxViolation(f"{what} would have {n} items; the limit is {MAX_ITEMS}")


def _check_spec(spec):
    """Refuse widths/precisions like f'{x:999999999}' that allocate gigabytes in one C call."""
    for number in re.findall(r"\d+", spec):
        digits = number.lstrip("0")
        if len(digits) > len(str(MAX_ITEMS)) or (digits and int(digits) > MAX_ITEMS):
            raise SandboxViolation(f"format width {number} is too large; the limit is {MAX_ITEMS}")


def _mul_(a, b):
    if isinstance(a, int) and isinstance(b, int):
        if a.bit_length() + b.bit_length() > MAX_INT_BITS:
            raise SandboxViolation(f"'*' would give an integer of more than {MAX_INT_BITS} bits")
    elif isinstance(a, _SEQUENCES) and isinstance(b, int):
        _check_size(len(a) * b, "'*' repetition")
    elif isinstance(b, _SEQUENCES) and isinstance(a, int):
        _check_size(len(b) * a, "'*' repetition")
    return a * b


def _pow_(a, b):
    if isinstance(a, int) and isinstance(b, int) and b > 0 and (abs(a).bit_length() - 1) * b > MAX_INT_BITS:
        raise SandboxViolation(f"'**' would give an integer of more than {MAX_INT_BITS} bits")
    return a ** b


def _lshift_(a, b):
    if isinstance(a, int) and isinstance(b, int) and a and a.bit_length() + b > MAX_INT_BITS:
        raise SandboxViolation(f"'<<' would give an integer of more than {MAX_INT_BITS} bits")
    return a << b


def _mod_(a, b):
    if isinstance(a, (str, bytes)):  # %-formatting: check widths such as '%999999999d'
        text = a.decode("latin-1") if isinstance(a, bytes) else a
        for match in re.finditer(r"%%|%(?:\([^)]*\))?[-#0 +]*(\*|\d*)(?:\.(\*|\d*))?", text):
            if "*" in match.groups():
                raise SandboxViolation("'*' widths in %-formatting are not allowed")
            _check_spec("".join(g for g in match.groups() if g))
    return a % b


_INPLACE = {"+=": operator.iadd, "-=": operator.isub, "*=": _mul_, "/=": operator.itruediv,
            "//=": operator.ifloordiv, "%=": _mod_, "**=": _pow_, "<<=": _lshift_, ">>=": operator.irshift,
            "&=": operator.iand, "|=": operator.ior, "^=": operator.ixor, "@=": operator.imatmul}


def _inplacevar_(op, x, y):
    return _INPLACE[op](x, y)


def _tick_():
    """Placeholder: _run() puts in one that knows the deadline, so this one is never reached."""
    raise SandboxViolation("script code cannot run outside its script or expression")


def _apply_(func, *args, **kwargs):
    return func(*args, **kwargs)


_CONVERSIONS = {-1: lambda v: v, ord("s"): str, ord("r"): repr, ord("a"): ascii}


def _format_(value, conversion=-1, spec=""):
    """f'{x:{spec}}' with a computed spec, and the `format` builtin."""
    _check_spec(spec)
    return format(_CONVERSIONS[conversion](value), spec)


class _SafeFormatter(string.Formatter):
    """str.format without attribute lookups ('{0.__class__}') and without huge widths."""

    def get_field(self, field_name, args, kwargs):
        if "." in field_name:
            raise SandboxViolation(f"attribute access in format field '{{{field_name}}}' is not allowed")
        return super().get_field(field_name, args, kwargs)

    def format_field(self, value, format_spec):
        _check_spec(format_spec)
        return super().format_field(value, format_spec)


_FORMATTER = _SafeFormatter()
_SIZED_ARGS = {"ljust": "width", "rjust": "width", "center": "width", "zfill": "width",
               "expandtabs": "tabsize", "to_bytes": "length"}


def _sized(obj, name):
    """Wrap a padding method so 'x'.ljust(10**10) is refused instead of allocating 10 GB."""
    method = getattr(obj, name)

    def call(*args, **kwargs):
        n = args[0] if args else kwargs.get(_SIZED_ARGS[name], 1)
        if isinstance(n, int):
            tabs = obj.count("\t" if isinstance(obj, str) else b"\t") if name == "expandtabs" else 1
            _check_size(n * max(tabs, 1), f"{name}()")
        return method(*args, **kwargs)
    return call


_CHECKED_ATTRIBUTES = FORBIDDEN_ATTRIBUTES | {"format", "format_map"} | set(_SIZED_ARGS)


def _getattr_(obj, name):
    """Attribute access from scripts: no '_' names, no frame internals, str.format made safe."""
    if name not in _CHECKED_ATTRIBUTES and name[:1] != "_":
        return getattr(obj, name)
    if name.startswith("_") or name in FORBIDDEN_ATTRIBUTES:
        raise SandboxViolation(f"attribute '{name}' is not allowed")
    if isinstance(obj, type):  # str.format(...), str.ljust(...): unbound, they would skip the checks
        raise SandboxViolation(f"attribute '{obj.__name__}.{name}' is not allowed; call it on a value")
    if isinstance(obj, str) and name == "format":
        return lambda *args, **kwargs: _FORMATTER.vformat(obj, args, kwargs)
    if isinstance(obj, str) and name == "format_map":
        return lambda mapping: _FORMATTER.vformat(obj, (), mapping)
    return _sized(obj, name) if name in _SIZED_ARGS else getattr(obj, name)


def _range(*args):
    try:
        n = len(range(*args))
    except OverflowError:
        n = sys.maxsize
    _check_size(n, "range()")
    return range(*args)


def _sum(iterable, /, start=0):
    if isinstance(start, _SEQUENCES):  # sum(lists, []) is quadratic copying inside one C call
        raise SandboxViolation("sum() of sequences is not allowed; use a loop or a comprehension")
    return sum(iterable, start)


_C_IMPORTS = frozenset({"time", "_strptime"})


def _internal_import(name, globals=None, locals=None, fromlist=(), level=0):
    """`__import__` for C code only: date.today() and datetime.strptime() import `time` and
    `_strptime` through the builtins of the running (script) frame. Scripts cannot name it."""
    if level == 0 and name in _C_IMPORTS:
        return builtins.__import__(name, globals, locals, fromlist, level)
    raise SandboxViolation(f"import of '{name}' is not allowed")


def _iter(*args):
    if len(args) != 1:  # iter(int, 1) is an endless loop inside C, which no tick can stop
        raise SandboxViolation("iter() with a sentinel is not allowed; pass one iterable")
    return iter(args[0])


def _forbidden(name):
    def refuse(*args, **kwargs):
        raise SandboxViolation(f"name '{name}' is not allowed")
    refuse.__name__ = refuse.__qualname__ = name
    return refuse


class _Printer:
    """`print` in scripts (RestrictedPython's _print_ protocol): to the debug log, not stdout."""

    def __init__(self, _getattr_=None):
        pass

    def _call_print(self, *objects, sep=" ", **_ignored):
        log.debug("script print: %s", sep.join(str(o) for o in objects))

    def __call__(self):  # the `printed` variable
        return ""


def _json_dumps(obj, *, indent=None, sort_keys=False, ensure_ascii=True, default=None):
    if indent is not None and not (isinstance(indent, int) and indent <= 16):
        raise SandboxViolation("json.dumps indent must be a number up to 16")
    return json.dumps(obj, indent=indent, sort_keys=sort_keys, ensure_ascii=ensure_ascii, default=default)


def _module(name, **attributes):
    """A module-like object holding only what we list (the real datetime module exposes `sys`)."""
    module = types.ModuleType(name, f"Sandbox subset of {name}")
    module.__dict__.update(attributes)
    return module


# no factorial/comb/perm/prod: they can run for minutes inside one C call
_MATH_NAMES = ("pi", "e", "tau", "inf", "nan", "ceil", "floor", "trunc", "fabs", "sqrt", "isqrt", "exp",
               "log", "log2", "log10", "pow", "fsum", "gcd", "lcm", "fmod", "modf", "copysign", "hypot",
               "isclose", "isfinite", "isinf", "isnan", "sin", "cos", "tan", "radians", "degrees")
MODULES = {
    "datetime": _module("datetime", date=_dt.date, datetime=_dt.datetime, time=_dt.time,
                        timedelta=_dt.timedelta, timezone=_dt.timezone, MINYEAR=_dt.MINYEAR,
                        MAXYEAR=_dt.MAXYEAR, UTC=_dt.timezone.utc),
    "timedelta": _dt.timedelta,
    "date": _dt.date,
    "time": _module("time", time=_time.time),
    "math": _module("math", **{n: getattr(math, n) for n in _MATH_NAMES}),
    "json": _module("json", loads=json.loads, dumps=_json_dumps),
}
# Names RestrictedPython's compiled code (and our _Policy) calls. Task data never replaces them:
# evaluate() re-applies them, execute() refuses data that would (check_for_overwrite).
GUARDS = {
    "_getattr_": _getattr_, "_getitem_": operator.getitem, "_getiter_": iter, "_write_": full_write_guard,
    "_inplacevar_": _inplacevar_, "_apply_": _apply_, "_iter_unpack_sequence_": guarded_iter_unpack_sequence,
    "_unpack_sequence_": guarded_unpack_sequence, "_print_": _Printer, "_print": _Printer(),
    "_mul_": _mul_, "_pow_": _pow_, "_lshift_": _lshift_, "_mod_": _mod_, "_format_": _format_,
    "_tick_": _tick_,
}
_GUARD_NAMES = frozenset(GUARDS)
SAFE_BUILTIN_NAMES = (
    "abs", "all", "any", "ascii", "bool", "chr", "dict", "divmod", "enumerate", "filter", "float",
    "frozenset", "int", "isinstance", "len", "list", "map", "max", "min", "next", "ord", "repr",
    "reversed", "round", "set", "sorted", "str", "tuple", "zip",
    "Exception", "ArithmeticError", "AssertionError", "AttributeError", "IndexError", "KeyError",
    "LookupError", "NameError", "NotImplementedError", "OverflowError", "RecursionError", "RuntimeError",
    "StopIteration", "TypeError", "ValueError", "ZeroDivisionError",
)
BUILTINS = {
    **{name: _forbidden(name) for name in FORBIDDEN_NAMES},
    **{name: getattr(builtins, name) for name in SAFE_BUILTIN_NAMES},
    "range": _range,
    "sum": _sum,
    "iter": _iter,
    "format": lambda value, spec="": _format_(value, -1, spec),
    "__import__": _internal_import,
}


# -------------------------------------------------------------------------------- environment

class SandboxEnvironment(BasePythonScriptEngineEnvironment):
    """SpiffWorkflow script environment that runs owner-written code restricted and time-limited."""

    def __init__(self, time_limit: float = 1.0, extra_globals: dict | None = None):
        # read-only: evaluate() keeps a merged copy, so later additions would be silently missed
        super().__init__(types.MappingProxyType({**MODULES, **(extra_globals or {}), **GUARDS}))
        self.time_limit = time_limit
        self._builtins = {**BUILTINS, **self.globals}

    def evaluate(self, expression, context, external_context=None):
        """Evaluate an expression with the task data (and external context) as variables."""
        code, ticks = _compile(expression, "eval")
        # Our globals sit in the builtins so the data wins, as in SpiffWorkflow, without copying
        # them on every evaluation; the guards are put back if the data tried to replace them.
        scope = {**(external_context or {}), **context, "__builtins__": self._builtins}
        if not _GUARD_NAMES.isdisjoint(scope):
            scope.update(GUARDS)
        return self._run(code, scope, ticks)

    def execute(self, script, context, external_context=None):
        """Run a script with the task data as its globals; assignments and `del` change `context`."""
        external_context = external_context or {}
        code, ticks = _compile(script, "exec")
        self.check_for_overwrite(context, external_context)
        context.update(self.globals)
        context.update(external_context)
        context.update(GUARDS)
        context["__builtins__"] = BUILTINS
        try:
            self._run(code, context, ticks)
        finally:
            self._remove_globals_and_functions_from_context(context, external_context)
        return True

    def call_service(self, context, **kwargs):
        operator_name = kwargs.get("operation_name")
        where = f"service task operator '{operator_name}' cannot run here: " if operator_name else ""
        raise SandboxViolation(f"{where}service tasks are run by workers, not in scripts")

    def _run(self, code, scope, ticks):
        """Run compiled code; code with loops, functions or comprehensions gets a deadline."""
        if not ticks:  # straight-line code: nothing in it can repeat
            return eval(code, scope)
        deadline = [_time.monotonic() + self.time_limit]
        clock = _time.monotonic

        def tick():
            if deadline[0] is None:  # a generator or function that outlived its run
                raise SandboxViolation("script code cannot run outside its script or expression")
            if clock() > deadline[0]:
                raise _Deadline
            return True

        scope["_tick_"] = tick
        try:
            return eval(code, scope)
        except _Deadline:
            raise ScriptTimeout(f"script exceeded the {self.time_limit} s time limit") from None
        finally:
            deadline[0] = None

    def _remove_globals_and_functions_from_context(self, context, external_context=None):
        """Drop what we injected, and functions/modules the script made, so task data stays data."""
        for key in list(context):
            value = context[key]
            if (key == "__builtins__" or key in self.globals or key in (external_context or ())
                    or callable(value) or isinstance(value, types.ModuleType)):
                del context[key]

    def check_for_overwrite(self, context, external_context):
        """Fail clearly when task data would hide a predefined name, as SpiffWorkflow does."""
        clashes = (set(self.globals) | set(external_context)) & set(context)
        if clashes:
            raise ValueError("You have task data that overwrites a predefined function(s). Please change "
                             f"the following variable or field name(s) to something else: {sorted(clashes)}")


class SandboxedScriptEngine(PythonScriptEngine):
    """PythonScriptEngine over SandboxEnvironment; attach it to every workflow, also after deserializing."""

    def __init__(self, time_limit: float = 1.0, extra_globals: dict | None = None):
        super().__init__(environment=SandboxEnvironment(time_limit, extra_globals))

    def validate(self, expression):
        """Compile an expression in restricted mode: SyntaxError (DMN relies on it) or SandboxViolation."""
        _compile(expression, "eval")

    def call_service(self, task, **kwargs):
        # upstream's version refers to an undefined `script` on its error path
        try:
            return self.environment.call_service(task.data, **kwargs)
        except Exception as err:
            raise self.create_task_exec_exception(task, "", err) from err
