"""Legal clocks inside an instance: timers counted in business days, and their suspensions.

A timer written ``fin_plazo(dias, desde, reloj)`` keeps *what* it counts (from which date, how many business
days, on which clock), not a fixed instant: its due time is worked out again from today's calendar each time
it is looked at, so a holiday or día no laborable registered after it started moves it (and a timer never
fires before its recomputed time). A user task whose BPMN property ``suspende`` names a clock stops that clock
while it waits (art. 136: the observed filing's procedure deadline); the clock resumes, with the business days
it had left, the day the task is completed. Suspensions live in the instance's own data.
"""
from __future__ import annotations

from datetime import date, datetime

from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.util.task import TaskState

SUSPENSIONES = "suspensiones"  # workflow.data key: {clock: [[inicio ISO, fin ISO or None], ...]}


def plazo(dias, desde: date, reloj: str | None = None) -> dict:
    """What a business-day timer counts (the value ``fin_plazo`` gives a timer expression)."""
    dias = int(dias)
    if dias < 0:
        raise ValueError("el plazo no puede ser negativo")
    return {"desde": desde.isoformat(), "dias": dias, "reloj": reloj or ""}


def pausas(workflow, reloj: str) -> list[tuple[date, date | None]]:
    """The suspensions of ``reloj`` in the instance ``workflow`` belongs to."""
    top = workflow.top_workflow
    return [(date.fromisoformat(inicio), date.fromisoformat(fin) if fin else None)
            for inicio, fin in top.data.get(SUSPENSIONES, {}).get(reloj, [])]


def suspendidos(workflow) -> set[str]:
    """The clocks stopped now."""
    return {reloj for reloj, lista in workflow.top_workflow.data.get(SUSPENSIONES, {}).items()
            if lista and lista[-1][1] is None}


def suspender(workflow, relojes: set[str], hoy: date):
    """Make the stopped clocks exactly ``relojes``: open a suspension today for each newly stopped one, close
    today the suspension of each one that runs again."""
    data = workflow.top_workflow.data
    registro = data.setdefault(SUSPENSIONES, {})
    for reloj in relojes - suspendidos(workflow):
        registro.setdefault(reloj, []).append([hoy.isoformat(), None])
    for reloj in suspendidos(workflow) - relojes:
        registro[reloj][-1][1] = hoy.isoformat()


def vence(task) -> datetime | None:
    """When the waiting timer ``task`` fires by today's calendar; None while its clock is suspended (or before
    its expression was first evaluated)."""
    contado = task._get_internal_data("plazo")
    if contado is None:
        value = task._get_internal_data("event_value")
        return TimerEventDefinition.get_datetime(value) if isinstance(value, str) else None
    calendario = task.workflow.script_engine.calendario
    reloj = contado.get("reloj") or ""
    return calendario.vence_plazo(date.fromisoformat(contado["desde"]), contado["dias"],
                                  pausas(task.workflow, reloj) if reloj else ())


def actualizar(task) -> datetime | None:
    """Work the business-day timer ``task``'s due time out again and keep it where readers of the task look
    (its ``event_value``); return it. A timer set to a fixed instant is left as it is."""
    due = vence(task)
    if task._get_internal_data("plazo") is not None:
        task._set_internal_data(event_value=due.isoformat() if due else None)
    return due


def reloj_de(task) -> str:
    """The clock a business-day timer counts on ("" for none)."""
    contado = task._get_internal_data("plazo")
    return (contado or {}).get("reloj") or ""


def desde_de(task) -> date | None:
    """The date a business-day timer counts from (None for a timer set to a fixed instant)."""
    contado = task._get_internal_data("plazo")
    return date.fromisoformat(contado["desde"]) if contado else None


def esperando(workflow):
    """The timers waiting in ``workflow`` (its subprocesses included)."""
    return [t for t in workflow.get_tasks(state=TaskState.WAITING)
            if isinstance(getattr(t.task_spec, "event_definition", None), TimerEventDefinition)]
