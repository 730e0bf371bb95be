"""The path an expediente took through its process diagram, read from its Evento and Tarea rows.

The seguimiento page draws the instance's own version of the diagram and marks on it what is done,
what is pending now and which timers fired; the element ids are the BPMN ids the rows record.
"""
from __future__ import annotations

from SpiffWorkflow.bpmn.specs.mixins.events.start_event import StartEvent

from .definitions import Definition
from .models import Evento, Tarea

# Rows whose ``tarea`` names an element the instance went through.
RECORRIDO = ("tarea", "decision", "evento", "accion", "fin", "temporizador")


def recorrido(expediente_id: int, definition: Definition) -> dict[str, list[str]]:
    """{"completadas": ids, "actuales": ids, "temporizadores": ids} for ``expediente_id``.

    Completed elements are those a history row names; current ones are the ready tasks (the Tarea
    projection); timers are those that fired. Each list keeps its first-seen order, without repeats.
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
    return {"completadas": list(dict.fromkeys(completadas)), "actuales": list(dict.fromkeys(actuales)),
            "temporizadores": list(dict.fromkeys(temporizadores))}
