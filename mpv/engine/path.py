"""The path an expediente took through its process diagram, read from its Evento and Tarea rows.

The seguimiento page draws the instance's own version of the diagram and marks on it what is done,
what is pending now and which timers fired; the element ids are the BPMN ids the rows record.
"""
from __future__ import annotations

from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.events.start_event import StartEvent

from .definitions import Definition
from ..models import Evento, Tarea, Temporizador

# Rows whose ``tarea`` names an element the instance went through.
RECORRIDO = ("tarea", "decision", "evento", "accion", "fin", "temporizador")


def recorrido(expediente_id: int, definition: Definition) -> dict[str, list[str]]:
    """{"completadas": ids, "actuales": ids, "temporizadores": ids, "esperando": ids} for ``expediente_id``.

    Completed elements are those a history row names; current ones are the ready tasks (the Tarea
    projection); timers are those that fired, and «esperando» those still running (the Temporizador
    projection, by the name it records). Each list keeps its first-seen order, without repeats.
    """
    completadas = [s.name for s in definition.spec.task_specs.values() if isinstance(s, StartEvent)]
    temporizadores = []
    rows = (Evento.select(Evento.tipo, Evento.tarea)
            .where((Evento.expediente == expediente_id) & (Evento.tipo.in_(RECORRIDO)) & (Evento.tarea != ""))
            .order_by(Evento.seq).tuples())
    for tipo, tarea in rows:
        (temporizadores if tipo == "temporizador" else completadas).append(tarea)
    actuales = [spec for (spec,) in Tarea.select(Tarea.spec).where(Tarea.expediente == expediente_id)
                .order_by(Tarea.desde).tuples()]
    timers = {}
    for spec in (definition.spec, *(s for s in definition.subprocess_specs.values() if s is not None)):
        for task_spec in spec.task_specs.values():
            if isinstance(getattr(task_spec, "event_definition", None), TimerEventDefinition):
                timers.setdefault(task_spec.bpmn_name or task_spec.name, task_spec.name)
    esperando = [timers[nombre] for (nombre,) in Temporizador.select(Temporizador.nombre)
                 .where(Temporizador.expediente == expediente_id).order_by(Temporizador.vence).tuples()
                 if nombre in timers]
    return {"completadas": list(dict.fromkeys(completadas)), "actuales": list(dict.fromkeys(actuales)),
            "temporizadores": list(dict.fromkeys(temporizadores)), "esperando": list(dict.fromkeys(esperando))}
