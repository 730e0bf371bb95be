"""What BPMN expressions and scripts may do, and the clock the timers read.

Gateway conditions, timer expressions and scripts are code written by analysts. They are compiled
with RestrictedPython (no imports, no ``_``-names such as ``__subclasses__``, guarded attribute
and item access) and run with a small set of builtins plus MPV's functions (``fin_plazo``…).
SpiffWorkflow's timers compare with the wall clock; ours read the engine's injected clock, so tests
can move time and ``mpv timers`` decides when a timer is due.
"""
from __future__ import annotations

import ast
import functools
import operator
from datetime import date, datetime, timezone
from typing import Callable

from RestrictedPython import compile_restricted_eval, compile_restricted_exec, limited_builtins, safe_builtins
from RestrictedPython.Eval import default_guarded_getitem, default_guarded_getiter
from RestrictedPython.Guards import full_write_guard, guarded_iter_unpack_sequence, guarded_unpack_sequence, safer_getattr
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine, TaskDataEnvironment
from SpiffWorkflow.bpmn.specs.event_definitions.timer import (
    DurationTimerEventDefinition, TimeDateEventDefinition, TimerEventDefinition)

from ..plazos import Calendario
from . import relojes

_INPLACE = {
    "+=": operator.iadd, "-=": operator.isub, "*=": operator.imul, "/=": operator.itruediv,
    "//=": operator.ifloordiv, "%=": operator.imod,
}

_BUILTINS = dict(safe_builtins)
_BUILTINS.update(limited_builtins)
_BUILTINS.update({"min": min, "max": max, "sum": sum, "any": any, "all": all, "sorted": sorted,
                  "enumerate": enumerate, "dict": dict, "list": list, "set": set})

_GUARDS = {
    "__builtins__": _BUILTINS,
    "_getattr_": safer_getattr,
    "_getitem_": default_guarded_getitem,
    "_getiter_": default_guarded_getiter,
    "_iter_unpack_sequence_": guarded_iter_unpack_sequence,
    "_unpack_sequence_": guarded_unpack_sequence,
    "_write_": full_write_guard,
    "_inplacevar_": lambda op, x, y: _INPLACE[op](x, y),
}


class ScriptRefused(ValueError):
    """An expression or script that the restricted environment will not run; the message says why."""


def check_code(source: str, mode: str = "eval") -> list[str]:
    """Problems that keep ``source`` from running in the restricted environment (empty when fine)."""
    try:
        tree = ast.parse(source, mode=mode)
    except SyntaxError as exc:
        return [f"error de sintaxis: {exc.msg} (línea {exc.lineno})"]
    problems = []
    for node in ast.walk(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            problems.append("no se permite importar módulos")
    compiler = compile_restricted_eval if mode == "eval" else compile_restricted_exec
    result = compiler(source)
    problems.extend(result.errors)
    return problems


def names_used(source: str, mode: str = "eval") -> set[str]:
    """The free names an expression reads (to check that the process data defines them).

    Names the expression binds itself (comprehension targets) are not free.
    """
    tree = ast.parse(source, mode=mode)
    names = [node for node in ast.walk(tree) if isinstance(node, ast.Name)]
    bound = {n.id for n in names if isinstance(n.ctx, ast.Store)}
    return {n.id for n in names if isinstance(n.ctx, ast.Load)} - bound


@functools.lru_cache(maxsize=1024)
def _compiled(source: str, mode: str):
    problems = check_code(source, mode)
    if problems:
        raise ScriptRefused("; ".join(problems))
    compiler = compile_restricted_eval if mode == "eval" else compile_restricted_exec
    return compiler(source).code


class RestrictedEnvironment(TaskDataEnvironment):
    """SpiffWorkflow's task-data environment, but every expression compiled by RestrictedPython."""

    def _globals(self, context, external_context):
        env = dict(_GUARDS)
        env.update(self.globals)
        env.update(external_context or {})
        env.update(context)
        return env

    def evaluate(self, expression, context, external_context=None):
        return eval(_compiled(expression, "eval"), self._globals(context, external_context))  # noqa: S307

    def execute(self, script, context, external_context=None):
        self.check_for_overwrite(context, external_context or {})
        env = self._globals(context, external_context)
        exec(_compiled(script, "exec"), env)  # noqa: S102
        for key, value in env.items():
            if key in _GUARDS or key in self.globals or (external_context and key in external_context):
                continue
            if callable(value) or key.startswith("_"):
                continue
            context[key] = value
        for key in [k for k in context if k not in env]:
            del context[key]
        return True


class ScriptEngine(PythonScriptEngine):
    """The script engine of every MPV instance: restricted code, the calendar and the clock."""

    def __init__(self, calendario: Calendario, clock: Callable[[], datetime]):
        self.calendario = calendario
        self.clock = clock
        super().__init__(environment=RestrictedEnvironment({
            "fin_plazo": self.fin_plazo,
            "hoy": self.hoy,
            "dia_habil": self.dia_habil,
            "sumar_habiles": self.sumar_habiles,
        }))

    def now(self) -> datetime:
        return self.clock()

    def hoy(self) -> str:
        """Today's local date, ISO."""
        return self.calendario.fecha_local(self.now()).isoformat()

    def dia_habil(self) -> str:
        """The legal date of what is done now (Ley 31465: a non-business day counts as the next one), ISO."""
        return self.calendario.fecha_presentacion(self.now()).isoformat()

    def sumar_habiles(self, desde: str, dias) -> str:
        """The ``dias``-th business day after ``desde`` (ISO), ISO: e.g. the day a notification nobody
        acknowledged takes effect (DOMAIN rule 15)."""
        return self.calendario.sumar_habiles(date.fromisoformat(str(desde)), int(dias)).isoformat()

    def fin_plazo(self, dias, desde: str | None = None, reloj: str | None = None) -> dict:
        """A plazo of ``dias`` business days counted from today (or ``desde``), on the clock ``reloj`` if it
        may be suspended: a timer with it fires at the end of the plazo's last business day, as the calendar
        says on the day it fires (``relojes``)."""
        inicio = date.fromisoformat(str(desde)) if desde else self.calendario.fecha_local(self.now())
        return relojes.plazo(dias, inicio, reloj)


def _due(event_value) -> datetime:
    return TimerEventDefinition.get_datetime(event_value)


class ClockTimeDateEventDefinition(TimeDateEventDefinition):
    """A timeDate timer that fires by the engine's clock."""

    def has_fired(self, my_task):
        if my_task._get_internal_data("event_value") is None and my_task._get_internal_data("plazo") is None:
            value = my_task.workflow.script_engine.evaluate(my_task, self.expression)
            my_task._set_internal_data(**({"plazo": value} if isinstance(value, dict) else {"event_value": value}))
        due = relojes.actualizar(my_task)
        if due is not None and due <= my_task.workflow.script_engine.now():
            my_task._set_internal_data(event_fired=True)
        return my_task._get_internal_data("event_fired", False)


class ClockDurationTimerEventDefinition(DurationTimerEventDefinition):
    """A timeDuration timer (calendar time) that starts and fires by the engine's clock."""

    def has_fired(self, my_task):
        value = my_task._get_internal_data("event_value")
        engine = my_task.workflow.script_engine
        if value is None:
            expression = engine.evaluate(my_task, self.expression)
            parsed = TimerEventDefinition.parse_iso_duration(expression)
            start = engine.now()
            value = (start + TimerEventDefinition.get_timedelta_from_start(parsed, start)).isoformat()
            my_task._set_internal_data(event_value=value)
        if _due(value) <= engine.now():
            my_task._set_internal_data(event_fired=True)
        return my_task._get_internal_data("event_fired", False)


CLOCK_TIMERS = {
    TimeDateEventDefinition: ClockTimeDateEventDefinition,
    DurationTimerEventDefinition: ClockDurationTimerEventDefinition,
}


def use_engine_clock(event_definition):
    """The same timer definition, reading the engine's clock (other definitions unchanged)."""
    cls = CLOCK_TIMERS.get(type(event_definition))
    if cls is None:
        return event_definition
    return cls(event_definition.name, event_definition.expression,
               description=event_definition.description)


def utc(dt: datetime) -> datetime:
    return dt if dt.tzinfo else dt.replace(tzinfo=timezone.utc)
