"""Migration of running instances to a newer version of their process, when it is safe.

SpiffWorkflow's workflow diff aligns the instance's tasks with the new version's task specs. MPV
migrates only when no task whose spec changed (or was removed) has started: none completed, running
or waiting on a timer in the instance, and none in the expediente's history — finished tasks are
pruned from the instance, so the Evento rows are where the past is read. Each migration is one
transaction on the locked expediente, recorded as an Evento of tipo ``migracion``.
"""
from __future__ import annotations

import dataclasses

from SpiffWorkflow.bpmn.serializer.workflow import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.util.diff import SpecDiff, diff_dependencies, diff_workflow, migrate_workflow
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG
from SpiffWorkflow.util.task import TaskState

from .definitions import Definition
from . import SISTEMA, Actor, Engine, Step
from ..errors import NotFound
from ..models import Evento, Expediente, ProcessDefinition
from .scripting import CLOCK_TIMERS

# A task in one of these states has begun: a timer's WAITING means its plazo is already running.
STARTED = TaskState.COMPLETED | TaskState.STARTED | TaskState.WAITING | TaskState.ERROR


@dataclasses.dataclass
class Resultado:
    """What happened to one expediente: migrated, or why not."""

    numero: str
    migrado: bool
    motivo: str = ""


class _Refused(Exception):
    pass


# The diff compares task specs by their serialized form. MPV's timers read the engine's clock (their
# own classes): registered here like the timers they stand for, so that a changed timer expression is
# a changed spec and not two opaque objects that compare equal.
_DIFF_REGISTRY = BpmnWorkflowSerializer.configure(
    {**SPIFF_CONFIG, **{clock: SPIFF_CONFIG[timer] for timer, clock in CLOCK_TIMERS.items()}})


def changed_specs(engine: Engine, old: Definition, new: Definition) -> set[str]:
    """Names of the task specs of ``old`` (subprocesses included) that ``new`` changes or removes."""
    registry = _DIFF_REGISTRY
    names = set()
    diffs = [SpecDiff(registry, old.spec, new.spec)]
    sub_diffs, _added = diff_dependencies(registry, old.subprocess_specs, new.subprocess_specs)
    for name, diff in sub_diffs.items():
        if diff is None:
            names |= set(old.subprocess_specs[name].task_specs)
        else:
            diffs.append(diff)
    for diff in diffs:
        names |= {spec.name for spec in diff.changed} | {spec.name for spec in diff.removed}
    return names


def _label(definition: Definition, name: str) -> str:
    info = definition.user_tasks.get(name)
    if info is not None:
        return f"«{info.label}» ({name})"
    for spec in [definition.spec, *definition.subprocess_specs.values()]:
        task_spec = spec.task_specs.get(name) if spec else None
        if task_spec is not None and getattr(task_spec, "bpmn_name", None):
            return f"«{task_spec.bpmn_name}» ({name})"
    return name


def migrar(engine: Engine, expediente_id: int, destino_id: int, actor: Actor = SISTEMA) -> Resultado:
    """Move one running instance to version ``destino_id``, in one transaction, if it is safe.

    :raise NotFound: unknown expediente or version. A refusal is returned, with its reason, not raised.
    """
    destino_row = ProcessDefinition.get_or_none(ProcessDefinition.id == destino_id)
    if destino_row is None:
        raise NotFound("No existe esa versión del proceso.")
    with engine.db.write():
        expediente, old, workflow = engine.restore_locked(expediente_id)
        try:
            new = engine.definitions.get(destino_id)
            _check(engine, expediente, old, new, workflow)
            top_diff, sub_diffs = diff_workflow(_DIFF_REGISTRY, workflow, new.spec, new.subprocess_specs)
            for diff in [top_diff, *sub_diffs.values()]:
                if diff is None:
                    raise _Refused("un subproceso en curso ya no existe en la nueva versión")
                started = [t for t in diff.changed + diff.removed if t.has_state(STARTED)]
                if started:
                    raise _Refused(f"la tarea {_label(old, started[0].task_spec.name)} cambió en la nueva "
                                   "versión y ya comenzó en este expediente")
            # Only ready tasks are re-predicted: resetting a waiting timer would restart its plazo.
            migrate_workflow(top_diff, workflow, new.spec, reset_mask=TaskState.READY)
            for sub_id, sub in workflow.subprocesses.items():
                migrate_workflow(sub_diffs[sub_id], sub, new.subprocess_specs.get(sub.spec.name),
                                 reset_mask=TaskState.READY)
            workflow.subprocess_specs = new.subprocess_specs
            try:  # every task must now name a spec of the new version, or the instance could not be loaded
                engine.state.rebind(workflow, new)
            except Exception as exc:  # noqa: BLE001 - any failure means the new version cannot hold it
                raise _Refused(f"la nueva versión no puede continuar el estado actual ({type(exc).__name__})") from None
        except _Refused as refusal:
            return Resultado(expediente.numero, False, str(refusal))
        step = Step(engine, expediente, new, workflow, actor)
        step.record(tipo="migracion", accion="migrar", descripcion=f"Proceso actualizado a la versión {new.sha256[:12]}",
                    detalle=f"De la versión {old.sha256[:12]} a la versión {new.sha256[:12]}",
                    payload={"desde": old.row_id, "hacia": new.row_id, "desde_sha256": old.sha256,
                             "hacia_sha256": new.sha256})
        step.run_engine()
        Expediente.update(definicion=destino_id).where(Expediente.id == expediente.id).execute()
        expediente.definicion = destino_id  # finish() returns the row as saved, without reading it again
        step.finish()
        return Resultado(expediente.numero, True)


def _check(engine, expediente, old: Definition, new: Definition, workflow):
    if expediente.terminado:
        raise _Refused("el trámite ya concluyó")
    if old.row_id == new.row_id:
        raise _Refused("ya usa esa versión")
    if old.process_id != new.process_id:
        raise _Refused(f"la versión es de otro proceso ({new.process_id})")
    if new.row_id < old.row_id:
        raise _Refused("la versión de destino es anterior a la del expediente")
    changed = changed_specs(engine, old, new)
    done = (Evento.select(Evento.tarea).distinct()
            .where((Evento.expediente == expediente.id) & (Evento.tarea.in_(sorted(changed)))).scalar()
            if changed else None)
    if done:
        raise _Refused(f"la tarea {_label(old, done)} cambió en la nueva versión y este expediente ya pasó por ella")


def pendientes(definicion_id: int) -> list[int]:
    """Ids of the running expedientes on version ``definicion_id``."""
    return [i for (i,) in Expediente.select(Expediente.id)
            .where((Expediente.definicion == definicion_id) & (Expediente.terminado == False))  # noqa: E712
            .order_by(Expediente.id).tuples()]


def migrar_todos(engine: Engine, destino_id: int, actor: Actor = SISTEMA) -> list[Resultado]:
    """Try every running expediente of the destination's process on an older version; one transaction each."""
    destino = ProcessDefinition.get_or_none(ProcessDefinition.id == destino_id)
    if destino is None:
        raise NotFound("No existe esa versión del proceso.")
    anteriores = [row_id for (row_id,) in ProcessDefinition.select(ProcessDefinition.id).where(
        (ProcessDefinition.process_id == destino.process_id) & (ProcessDefinition.id != destino_id)
        & (ProcessDefinition.id < destino_id)).tuples()]
    return [migrar(engine, expediente_id, destino_id, actor)
            for row_id in anteriores for expediente_id in pendientes(row_id)]
