"""The engine: each expediente is a SpiffWorkflow process instance, moved one step per transaction.

A step: lock the expediente → restore its instance → complete a task (or fire due timers) → run
the engine steps → save the state, the Evento rows and the projections the lists read (``step.py``).
Two users completing the same task: the first wins, the second gets :class:`Conflict`.
"""
from __future__ import annotations

import functools
import logging
import uuid
from datetime import datetime
from typing import Callable

from SpiffWorkflow.bpmn.specs.mixins.events.event_types import CatchingEvent
from SpiffWorkflow.bpmn.util.event import BpmnEvent
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.exceptions import TaskNotFoundException, WorkflowException
from SpiffWorkflow.spiff.specs.event_definitions import MessageEventDefinition
from SpiffWorkflow.util.task import TaskState

from . import forms, relojes
from .definitions import Definition, DefinitionStore, UserTaskInfo
from ..errors import Conflict, InvalidInput, MPVError, NotAllowed, NotFound
from ..models import ROLES, Asignacion, ConsentimientoCasilla, Expediente, Oficina, Tarea, Temporizador
from ..plazos import Calendario
from .scripting import ScriptEngine
from ..text import fold
from .state import STATE_FORMAT, InstanceState
from .step import LOCKED, OFFICE_CHOICES, Step, already_done, office_names
from .values import CIUDADANO, SISTEMA, Actor, NuevoAdjunto, StepResult, TaskView

log = logging.getLogger(__name__)


class Engine:
    """Starts instances, completes their tasks and fires their timers, one transaction per step."""

    def __init__(self, database, definitions: DefinitionStore, calendario: Calendario,
                 clock: Callable[[], datetime], prune: bool = True, dias_notificacion: Callable[[], int] = lambda: 5):
        self.db = database
        self.dias_notificacion = dias_notificacion  # the Parámetro of rule 15, read at each step
        self.definitions = definitions
        self.calendario = calendario
        self.clock = clock
        self.prune = prune
        self.script_engine = ScriptEngine(calendario, clock)
        self.state = InstanceState()

    # -- instances ---------------------------------------------------------------------------
    def dump(self, workflow: BpmnWorkflow) -> str:
        return self.state.dump(workflow)

    def load(self, expediente: Expediente, definition: Definition | None = None) -> BpmnWorkflow:
        if expediente.formato_estado != STATE_FORMAT:
            raise MPVError(f"El expediente {expediente.numero} se guardó con otro formato "
                           f"({expediente.formato_estado}); migre la instalación antes de continuar.")
        definition = definition or self.definitions.get(expediente.definicion_id)
        workflow = self.state.restore(expediente.estado_motor, definition)
        workflow.script_engine = self.script_engine
        return workflow

    def new_instance(self, definition: Definition, data: dict) -> BpmnWorkflow:
        workflow = BpmnWorkflow(definition.spec, definition.subprocess_specs, script_engine=self.script_engine)
        workflow.task_tree.set_data(**{**definition.form_defaults(), **data})
        return workflow

    def process_context(self, expediente: Expediente) -> dict:
        """What each step tells the instance of how its acts are notified now (DOMAIN rule 15): ``casilla``,
        whether the citizen consented to a casilla electrónica (and has not revoked it), and
        ``dias_notificacion``, the business days after which a deposit nobody acknowledged takes effect."""
        return {"casilla": ConsentimientoCasilla.vigente(expediente.id) if expediente.id else False,
                "dias_notificacion": int(self.dias_notificacion())}

    # -- steps -------------------------------------------------------------------------------
    def start(self, expediente: Expediente, actor: Actor, payload: dict,
              adjuntos: list | None = None, descripcion: str = "Trámite presentado") -> StepResult:
        """Start the instance of a newly inserted expediente. Call inside ``database.write()``. ``descripcion``: what
        its first history row says (a filing brought on paper says so)."""
        definition = self.definitions.get(expediente.definicion_id)
        procedimiento = expediente.procedimiento if expediente.procedimiento_id else None
        presentado = expediente.fecha_presentacion.isoformat()
        workflow = self.new_instance(definition, {
            "numero": expediente.numero, "tipo_documento": expediente.tipo_documento.codigo,
            "fecha_presentacion": presentado,
            "calificacion": procedimiento.calificacion if procedimiento else "",
            "plazo_procedimiento": (procedimiento.plazo_dias or 0) if procedimiento else 0,
            **self.process_context(expediente)})
        step = Step(self, expediente, definition, workflow, actor)
        step.nuevo = True
        row = step.record(tipo="inicio", accion="presentar", descripcion=descripcion,
                          payload=payload, oficina_origen=CIUDADANO)
        step.notify("constancia", row)
        before = step.ready_ids()
        step.run_engine()
        step.mark_destino(row, before)
        return step.finish(adjuntos)

    def complete(self, expediente_id: int, task_id: str, actor: Actor, data: dict,
                 adjuntos: list[NuevoAdjunto] | None = None) -> StepResult:
        """Complete a ready user task with form ``data``, in one transaction.

        :raise NotFound: unknown expediente or task.
        :raise Conflict: the task is no longer ready (someone else completed it, or its plazo ran out).
        :raise NotAllowed: the actor's role or office does not work this task.
        :raise InvalidInput: ``data`` breaks the task's form; ``campos`` says where.
        """
        return self.complete_chain(expediente_id, actor, [(task_id, data)], adjuntos)

    def complete_chain(self, expediente_id: int, actor: Actor, steps: list[tuple[str, dict]],
                       adjuntos: list[NuevoAdjunto] | None = None) -> StepResult:
        """Complete several tasks in a row in one transaction: the first by its id, each next one by
        its name once the previous step made it ready (e.g. Recepción conforme, then Derivación).
        Attachments go with the last step. Raises as :meth:`complete`; on error nothing is written.
        """
        expired = None
        with self.db.write():
            expediente, definition, workflow = self.restore_locked(expediente_id)
            task = self._task(workflow, steps[0][0])
            step = Step(self, expediente, definition, workflow, actor)
            if task.state == TaskState.READY and expediente.vence is not None and expediente.vence <= step.now:
                # A timer that is due fires first: a late answer must not beat its own deadline. (``vence`` is
                # the earliest timer, so with none due the engine has nothing to run.)
                workflow.refresh_timers()
                step.run_engine()
            if task.state != TaskState.READY:
                if not step.rows:
                    raise Conflict(already_done(task, definition))
                step.finish()
                expired = already_done(task, definition)
            else:
                for index, (_, data) in enumerate(steps):
                    if index:
                        task = self._next_ready(workflow, definition, steps[index][0], actor)
                    last = index == len(steps) - 1
                    step.complete_task(task, data, adjuntos if last else None)
                return step.finish(adjuntos)
        raise Conflict(expired)

    def _next_ready(self, workflow, definition, spec_name: str, actor: Actor):
        for task in workflow.get_tasks(state=TaskState.READY, manual=True):
            info = definition.user_tasks.get(task.task_spec.name)
            if task.task_spec.name == spec_name and info and self.office_of(task, info) in (actor.oficina, CIUDADANO, ""):
                return task
        raise Conflict(f"El proceso no llegó a la tarea «{spec_name}»; nada se guardó.")

    def send_event(self, expediente_id: int, event_name: str, actor: Actor) -> StepResult:
        """Trigger a catching event that users may send (a boundary signal such as «Anular derivación»).

        The event's BPMN properties say which role may send it (``rol``), its label (``accion``)
        and what to answer when it is no longer waiting (``rechazo``).
        :raise NotFound: / :raise NotAllowed: / :raise Conflict: when nothing waits for it any more.
        """
        with self.db.write():
            expediente, definition, workflow = self.restore_locked(expediente_id)
            props = definition.properties(event_name)
            if not props.get("rol"):
                raise NotFound("Esa acción no existe en el proceso de este expediente.")
            if actor.rol != props["rol"]:
                raise NotAllowed(f"«{props.get('accion', event_name)}» la realiza {ROLES.get(props['rol'], props['rol']).lower()}.")
            waiting = [t for t in workflow.get_tasks(state=TaskState.WAITING) if t.task_spec.name == event_name]
            if not waiting:
                raise Conflict(props.get("rechazo") or "Esa acción ya no está disponible para este expediente.")
            step = Step(self, expediente, definition, workflow, actor)
            offices = [o for o in (step.attached_office(t) for t in waiting) if o]
            spec = waiting[0].task_spec
            row = step.record(tipo="accion", accion=event_name, descripcion=(spec.bpmn_name or event_name)[:200],
                              tarea=event_name, oficina_origen=actor.oficina,
                              detalle=f"{props.get('accion', event_name)}: {', '.join(office_names(offices))}",
                              payload={"oficinas": offices})
            before = step.ready_ids()
            workflow.catch(BpmnEvent(spec.event_definition))
            step.run_engine()
            step.mark_destino(row, before)
            return step.finish()

    def deliver_message(self, expediente_id: int, actor: Actor, mensaje: str, payload: dict, fila: dict,
                        adjuntos: list[NuevoAdjunto], concluido: Callable[[Expediente], str],
                        aviso: str = "") -> tuple[StepResult, bool]:
        """Deliver the BPMN message ``mensaje`` to the instance (an escrito: the process decides who reviews it),
        recording the history row ``fila`` (with the e-mail ``aviso`` to the sender about it, if given) and
        attaching ``adjuntos`` in the same step. Call inside
        ``database.write()``. The payload carries ``oficinas``: the offices that hold the expediente now.
        Returns the step and whether the process caught the message: an instance of an older definition, which
        does not wait for it, only records the row and the files.

        :raise NotFound: no such expediente. :raise Conflict: it has concluded (``concluido`` words why).
        """
        expediente, definition, workflow = self.restore_locked(expediente_id)
        if expediente.terminado:
            raise Conflict(concluido(expediente))
        step = Step(self, expediente, definition, workflow, actor)
        row = step.record(**fila)
        if aviso:
            step.notify(aviso, row)
        before = step.ready_ids()
        event = BpmnEvent(MessageEventDefinition(mensaje),
                          payload={**payload, "oficinas": step.oficinas_con_expediente()})
        try:
            workflow.send_event(event)
        except WorkflowException:  # not waiting for it: its definition predates the message
            return step.finish(adjuntos), False
        step.run_engine()
        step.mark_destino(row, before)
        return step.finish(adjuntos), True

    def events_for(self, actor: Actor, expediente: Expediente) -> list[tuple[str, str]]:
        """(event name, label) of the events ``actor`` may send now on ``expediente``."""
        definition = self.definitions.get(expediente.definicion_id)
        workflow = self.load(expediente, definition)
        found = {}
        for task in workflow.get_tasks(state=TaskState.WAITING):
            props = definition.properties(task.task_spec.name)
            if props.get("rol") == actor.rol and isinstance(task.task_spec, CatchingEvent):
                found[task.task_spec.name] = props.get("accion") or task.task_spec.bpmn_name
        return list(found.items())

    def fire_due_timers(self, limit: int = 200) -> int:
        """Fire every timer that is due by the engine's clock; return how many Eventos that wrote.

        Several processes may poll at once: each expediente is claimed with ``FOR UPDATE SKIP LOCKED`` on
        PostgreSQL (SQLite has one writer at a time) and its timers are read again under that lock, so a
        timer another process fired meanwhile is not fired twice, and nobody waits for anybody."""
        now = self.clock()
        due = list((Temporizador.select(Temporizador.expediente).distinct()
                    .where(Temporizador.vence <= now).limit(limit)).tuples())
        if due:
            # Another process may have changed the calendar a moment ago: read it again before firing anything.
            self.calendario.refresh()
        return sum(self.fire_timers(expediente_id, claim=True, fresh=True) for (expediente_id,) in due)

    def fire_timers(self, expediente_id: int, claim: bool = False, fresh: bool = False) -> int:
        """Fire the due timers of one expediente, in one transaction; return how many Eventos that wrote.
        With ``claim``, an expediente another process holds is skipped, and so is one with no timer due.
        ``fresh``: the caller has just re-read the calendar."""
        if not fresh:
            self.calendario.refresh()
        with self.db.write():
            if claim:
                query = Expediente.select(Expediente.id).where(Expediente.id == expediente_id)
                if self.db.claimed(query).get_or_none() is None:
                    return 0  # another process is working on it; it fires the timer if still due
                if not (Temporizador.select().where(Temporizador.expediente == expediente_id,
                                                    Temporizador.vence <= self.clock()).exists()):
                    return 0
            expediente, definition, workflow = self.restore_locked(expediente_id)
            step = Step(self, expediente, definition, workflow, SISTEMA)
            workflow.refresh_timers()
            step.run_engine()
            return len(step.finish().eventos)

    def recompute_timers(self, expediente_id: int) -> int:
        """Work out again, by today's calendar, the due times of the expediente's running timers and save them
        (call inside ``database.write()``, after the calendar changed); return how many timers moved."""
        antes = dict(Temporizador.select(Temporizador.task_id, Temporizador.vence)
                     .where(Temporizador.expediente == expediente_id).tuples())
        expediente, definition, workflow = self.restore_locked(expediente_id)
        step = Step(self, expediente, definition, workflow, SISTEMA)
        for task in relojes.esperando(workflow):
            relojes.actualizar(task)
        step.finish()
        despues = dict(Temporizador.select(Temporizador.task_id, Temporizador.vence)
                       .where(Temporizador.expediente == expediente_id).tuples())
        return sum(1 for task_id, vence in despues.items() if antes.get(task_id) != vence)

    # -- reading -----------------------------------------------------------------------------
    def tasks_for(self, actor: Actor, expediente_id: int | None = None):
        """The ready tasks ``actor`` may complete (from the Tarea projection, no restore)."""
        query = Tarea.select().where(Tarea.rol == actor.rol)
        if actor.rol == "oficina":
            query = query.join(Oficina).where(Oficina.codigo == actor.oficina)
        if actor.rol == CIUDADANO:
            query = query.where(Tarea.expediente == actor.expediente_id)
        if expediente_id is not None:
            query = query.where(Tarea.expediente == expediente_id)
        return query.order_by(Tarea.desde)

    def ready_task(self, expediente: Expediente, task_id: str) -> TaskView:
        """A ready task with its data, for rendering its form. :raise NotFound: / :raise Conflict:"""
        definition = self.definitions.get(expediente.definicion_id)
        workflow = self.load(expediente, definition)
        task = self._task(workflow, task_id)
        if task.state != TaskState.READY:
            raise Conflict(already_done(task, definition))
        return self._view(task, definition)

    def ready_tasks(self, expediente: Expediente) -> list[TaskView]:
        definition = self.definitions.get(expediente.definicion_id)
        workflow = self.load(expediente, definition)
        return [self._view(t, definition) for t in workflow.get_tasks(state=TaskState.READY, manual=True)
                if t.task_spec.name in definition.user_tasks]

    def _view(self, task, definition: Definition) -> TaskView:
        info = definition.user_tasks[task.task_spec.name]
        return TaskView(id=str(task.id), spec=info.name, nombre=info.label, rol=info.rol or "",
                        oficina=self.office_of(task, info), info=info, data=dict(task.data))

    # -- rules -------------------------------------------------------------------------------
    def office_of(self, task, info: UserTaskInfo, mesa: str | None = None) -> str:
        """The office whose tray holds this task: mesa de partes (``mesa``, when the caller already
        looked it up), the bound office, or the citizen."""
        if info.rol == "mesa":
            return self.mesa_codigo() if mesa is None else mesa
        if info.rol == CIUDADANO:
            return CIUDADANO
        return str(task.data.get(info.oficina_variable) or "")

    def mesa_codigo(self) -> str:
        mesa = Oficina.mesa_de_partes()
        return mesa.codigo if mesa else ""

    def authorize(self, actor: Actor, expediente: Expediente, task, info: UserTaskInfo):
        """:raise NotAllowed: when ``actor`` does not work this task."""
        if actor.rol != info.rol:
            quien = "el ciudadano" if info.rol == CIUDADANO else ROLES.get(info.rol, info.rol).lower()
            raise NotAllowed(f"La tarea «{info.label}» del expediente {expediente.numero} la realiza {quien}.")
        if info.rol == "oficina":
            office = self.office_of(task, info)
            if office != actor.oficina:
                nombre = Oficina.nombres().get(office, office)
                raise NotAllowed(f"El expediente {expediente.numero} está en {nombre}; "
                                 "solo esa oficina puede atender esta tarea.")
        if info.rol == CIUDADANO and actor.expediente_id != expediente.id:
            raise NotAllowed("Solo el remitente, con su código de seguimiento, puede realizar esta tarea.")
        asignacion = Asignacion.de(expediente.id, actor.oficina) if actor.usuario_id and actor.oficina else None
        if asignacion is not None and asignacion.usuario_id != actor.usuario_id:
            raise NotAllowed(f"El expediente {expediente.numero} está asignado a {asignacion.usuario.nombre}: solo "
                             "esa persona lo trabaja en su oficina, salvo que el jefe de la oficina se lo reasigne.")

    def catalogs(self) -> dict[str, list[tuple[str, str]]]:
        """The choices ``x-options`` fields offer (active offices other than mesa de partes)."""
        return {"oficinas": list(_en_orden(tuple(OFFICE_CHOICES.tuples())))}

    def validate(self, info: UserTaskInfo, data: dict) -> dict:
        """The form values, cleaned and checked. :raise InvalidInput: with a message per field."""
        if not info.schema:
            return {}
        schema = forms.resolve(info.schema, self.catalogs())
        values = forms.clean(schema, data)
        errors = forms.validate(schema, values)
        if errors:
            raise InvalidInput("Revise los campos marcados del formulario.", errors)
        return values

    # -- helpers -----------------------------------------------------------------------------
    def restore_locked(self, expediente_id: int):
        """Lock the expediente's row for this transaction and restore its instance.
        Call inside ``database.write()``. :raise NotFound: no such expediente."""
        expediente = LOCKED.first(expediente_id)
        if expediente is None:
            raise NotFound("No existe ese expediente.")
        definition = self.definitions.get(expediente.definicion_id)
        return expediente, definition, self.load(expediente, definition)

    @staticmethod
    def _task(workflow: BpmnWorkflow, task_id: str):
        try:
            key = uuid.UUID(str(task_id))
        except ValueError:
            raise NotFound("No existe esa tarea.") from None
        try:
            return workflow.get_task_from_id(key)
        except TaskNotFoundException:
            # Finished tasks are pruned from the instance: an unknown id is most likely one of them.
            raise Conflict("Esa tarea ya fue realizada por otra persona o ya no está pendiente. "
                           "Actualice la página para ver el estado actual del expediente.") from None

    def process_error(self, expediente, exc) -> MPVError:
        """Log an error of the diagram's process and word it for the user (nothing was saved)."""
        log.error("Process error in %s: %r", expediente.numero, str(exc), exc_info=True)
        return MPVError(f"El proceso del expediente {expediente.numero} no pudo continuar ({exc}). "
                        "Nada se guardó; avise al analista responsable del diagrama.")


@functools.lru_cache(maxsize=16)
def _en_orden(oficinas: tuple[tuple[str, str], ...]) -> tuple[tuple[str, str], ...]:
    """The offices by name as Spanish readers sort them; remembered, as every form and step sorted them again
    (a few % of a trámite's CPU in the lifecycle profile, docs/bench.md)."""
    return tuple(sorted(oficinas, key=lambda pair: fold(pair[1])))
