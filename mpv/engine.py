"""The engine: each expediente is a SpiffWorkflow process instance, moved one step per transaction.

A step: lock the expediente → restore its instance → complete a task (or fire due timers) → run
the engine steps → save the state, the Evento rows and the projections the lists read. Two users
completing the same task: the first wins, the second gets :class:`Conflict`.

The serialized instance holds neither its spec (that is the stored definition it started with)
nor the finished part of its task tree (the history is in Evento rows), so a step costs about the
same on the fiftieth derivation as on the first.
"""
from __future__ import annotations

import dataclasses
import logging
import uuid
from datetime import datetime, timezone
from importlib.metadata import version as package_version
from typing import Callable

import orjson
from SpiffWorkflow.bpmn.serializer.default.workflow import BpmnWorkflowConverter, WorkflowConverter
from SpiffWorkflow.bpmn.serializer.workflow import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.specs.control import BoundaryEventSplit
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.events.end_event import EndEvent
from SpiffWorkflow.bpmn.specs.mixins.events.event_types import CatchingEvent, ThrowingEvent
from SpiffWorkflow.bpmn.specs.mixins.events.start_event import StartEvent
from SpiffWorkflow.bpmn.specs.mixins.exclusive_gateway import ExclusiveGateway
from SpiffWorkflow.bpmn.specs.mixins.inclusive_gateway import InclusiveGateway
from SpiffWorkflow.bpmn.util.event import BpmnEvent
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.exceptions import SpiffWorkflowException, TaskNotFoundException
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG
from SpiffWorkflow.util.task import TaskState

from . import forms, history
from .definitions import Definition, DefinitionStore, UserTaskInfo
from .errors import Conflict, InvalidInput, MPVError, NotAllowed, NotFound
from .models import ROLES, Adjunto, Copia, Correo, Expediente, Oficina, Tarea, Temporizador
from .plazos import Calendario
from .sentencia import Sentencia
from .text import fold
from .scripting import ScriptEngine

log = logging.getLogger(__name__)

STATE_FORMAT = f"mpv1/spiff-{package_version('SpiffWorkflow')}"
CIUDADANO = "ciudadano"  # the pseudo-office of tasks in the Ciudadano lane

# The queries of every step, with their SQL written once (mpv.sentencia).
_BLOQUEADO = Sentencia(lambda eid: Expediente.select().where(Expediente.id == eid), bloquear=True)
_OPCIONES = Sentencia(lambda: Oficina.select(Oficina.codigo, Oficina.nombre).where(
    (Oficina.activa == True) & (Oficina.es_mesa_partes == False)).tuples())  # noqa: E712
_TAREAS = Sentencia(lambda eid: Tarea.select().where(Tarea.expediente == eid))
_QUITAR_TAREA = Sentencia(lambda tarea_id: Tarea.delete().where(Tarea.id == tarea_id))
_NUEVA_TAREA = Sentencia.insercion(Tarea, "expediente", "task_id", "spec", "nombre", "rol", "oficina", "desde")
_NUEVO_ADJUNTO = Sentencia.insercion(Adjunto, "expediente", "sha256", "nombre", "tamano", "tipo", "creado_en")
_NUEVO_CORREO = Sentencia.insercion(Correo, "expediente", "tipo", "destinatario", "evento_seq", "proximo_intento",
                                    "creado_en")
_QUITAR_TEMPORIZADORES = Sentencia(lambda eid: Temporizador.delete().where(Temporizador.expediente == eid))
_NUEVO_TEMPORIZADOR = Sentencia.insercion(Temporizador, "expediente", "task_id", "nombre", "vence")
# What a step saves of its expediente: these columns, then version + 1 where the version is still the one read.
_GUARDADOS = ("estado_motor", "formato_estado", "estado", "tarea_actual", "oficina_actual", "vence", "vencido",
              "terminado", "actualizado_en")


def _guardar(*huecos):
    *valores, eid, version = huecos
    fields = [Expediente._meta.fields[name] for name in _GUARDADOS]
    return (Expediente.update({**{f: v.de(f) for f, v in zip(fields, valores)},
                               Expediente.version: Expediente.version + 1})
            .where((Expediente.id == eid) & (Expediente.version == version)))


_GUARDAR = Sentencia(_guardar, aridad=len(_GUARDADOS) + 2)


@dataclasses.dataclass(frozen=True)
class Actor:
    """Who performs a step: a staff user, the citizen of one expediente, or the system (timers)."""

    rol: str
    nombre: str
    usuario_id: int | None = None
    oficina: str = ""
    ip: str = ""
    expediente_id: int | None = None

    @classmethod
    def de_usuario(cls, usuario, ip: str = "") -> "Actor":
        return cls(rol=usuario.rol, nombre=usuario.username, usuario_id=usuario.id,
                   oficina=usuario.oficina.codigo if usuario.oficina_id else "", ip=ip)

    @classmethod
    def ciudadano(cls, expediente: Expediente, ip: str = "") -> "Actor":
        return cls(rol=CIUDADANO, nombre=expediente.remitente_nombre, oficina=CIUDADANO, ip=ip,
                   expediente_id=expediente.id)


SISTEMA = Actor(rol="sistema", nombre="sistema")


@dataclasses.dataclass
class TaskView:
    """A ready user task, as the applications show it."""

    id: str
    spec: str
    nombre: str
    rol: str
    oficina: str
    info: UserTaskInfo
    data: dict


@dataclasses.dataclass
class NuevoAdjunto:
    """A file already stored on disk (``mpv.storage``), to be attached in the step's transaction."""

    sha256: str
    nombre: str
    tamano: int
    tipo: str


class _InstanceConverter(BpmnWorkflowConverter):
    """Serializes an instance without its spec, which is the stored definition it started with."""

    def to_dict(self, workflow):
        dct = WorkflowConverter.to_dict(self, workflow)
        dct["subprocesses"] = self.mapping_to_dict(workflow.subprocesses)
        dct["bpmn_events"] = self.registry.convert(workflow.bpmn_events)
        return dct

    def from_dict(self, dct, definition: Definition):
        workflow = self.target_class(definition.spec, definition.subprocess_specs, deserializing=True)
        workflow.tasks = self.mapping_from_dict(dct["tasks"], uuid.UUID, workflow=workflow)
        workflow.task_tree = workflow.tasks.get(uuid.UUID(dct["root"]))
        self.set_default_attributes(workflow, dct)
        self.subprocesses_from_dict(dct["subprocesses"], workflow)
        workflow.bpmn_events = self.registry.restore(dct.pop("bpmn_events", []))
        return workflow


def _prune_tree(workflow):
    open_tasks = [t for t in workflow.tasks.values() if not t.has_state(TaskState.FINISHED_MASK)]
    if not open_tasks:
        return
    paths = []
    for task in open_tasks:
        path, node = [], task
        while node is not None:
            path.append(node)
            node = node.parent
        paths.append(path)
    common = set.intersection(*({t.id for t in path} for path in paths))
    new_root = next((t for t in paths[0] if t.id in common and t.has_state(TaskState.FINISHED_MASK)), None)
    if new_root is None or new_root is workflow.task_tree:
        return
    data = new_root.data
    workflow.tasks = {t.id: t for t in new_root}
    new_root._parent = None
    new_root.data = data
    workflow.task_tree = new_root
    if workflow.last_task is not None and workflow.last_task.id not in workflow.tasks:
        workflow.last_task = None


def prune_finished(workflow: BpmnWorkflow):
    """Drop the finished part of each task tree above everything still open.

    The history of finished tasks is kept in Evento rows; SpiffWorkflow only needs the subtrees that
    hold the open tasks. Each new root keeps the full process data (the serializer stores a root's
    data whole, and each other task's as a delta from its parent). Subprocesses (one per office of a
    multi-instance derivation) are pruned the same way, and dropped once their parent task is gone.
    """
    _prune_tree(workflow)
    for sub in workflow.subprocesses.values():
        if not sub.is_completed():
            _prune_tree(sub)
    while True:
        live = set(workflow.tasks)
        for sub in workflow.subprocesses.values():
            live.update(sub.tasks)
        orphans = [key for key, sub in workflow.subprocesses.items() if sub.parent_task_id not in live]
        if not orphans:
            return
        for key in orphans:
            del workflow.subprocesses[key]


class Engine:
    """Starts instances, completes their tasks and fires their timers, one transaction per step."""

    def __init__(self, database, definitions: DefinitionStore, calendario: Calendario,
                 clock: Callable[[], datetime], prune: bool = True):
        self.db = database
        self.definitions = definitions
        self.calendario = calendario
        self.clock = clock
        self.prune = prune
        self.script_engine = ScriptEngine(calendario, clock)
        self._registry = BpmnWorkflowSerializer.configure(SPIFF_CONFIG)
        _InstanceConverter(BpmnWorkflow, self._registry)

    # -- instances ---------------------------------------------------------------------------
    def dump(self, workflow: BpmnWorkflow) -> str:
        return orjson.dumps(self._registry.convert(workflow)).decode()

    def load(self, expediente: Expediente, definition: Definition | None = None) -> BpmnWorkflow:
        if expediente.formato_estado != STATE_FORMAT:
            raise MPVError(f"El expediente {expediente.numero} se guardó con otro formato "
                           f"({expediente.formato_estado}); migre la instalación antes de continuar.")
        definition = definition or self.definitions.get(expediente.definicion_id)
        workflow = self._registry.restore(orjson.loads(expediente.estado_motor), definition=definition)
        workflow.script_engine = self.script_engine
        return workflow

    def new_instance(self, definition: Definition, data: dict) -> BpmnWorkflow:
        workflow = BpmnWorkflow(definition.spec, definition.subprocess_specs, script_engine=self.script_engine)
        workflow.task_tree.set_data(**{**definition.form_defaults(), **data})
        return workflow

    # -- steps -------------------------------------------------------------------------------
    def start(self, expediente: Expediente, actor: Actor, payload: dict,
              adjuntos: list | None = None) -> "StepResult":
        """Start the instance of a newly inserted expediente. Call inside ``database.write()``."""
        definition = self.definitions.get(expediente.definicion_id)
        workflow = self.new_instance(definition, {
            "numero": expediente.numero, "tipo_documento": expediente.tipo_documento.codigo})
        step = _Step(self, expediente, definition, workflow, actor)
        step.nuevo = True
        row = step.record(tipo="inicio", accion="presentar", descripcion="Trámite presentado",
                          payload=payload, oficina_origen=CIUDADANO)
        step.notify("constancia", row)
        before = step.ready_ids()
        step.run_engine()
        step.mark_destino(row, before)
        return step.finish(adjuntos)

    def complete(self, expediente_id: int, task_id: str, actor: Actor, data: dict,
                 adjuntos: list[NuevoAdjunto] | None = None) -> "StepResult":
        """Complete a ready user task with form ``data``, in one transaction.

        :raise NotFound: unknown expediente or task.
        :raise Conflict: the task is no longer ready (someone else completed it, or its plazo ran out).
        :raise NotAllowed: the actor's role or office does not work this task.
        :raise InvalidInput: ``data`` breaks the task's form; ``campos`` says where.
        """
        return self.complete_chain(expediente_id, actor, [(task_id, data)], adjuntos)

    def complete_chain(self, expediente_id: int, actor: Actor, steps: list[tuple[str, dict]],
                       adjuntos: list[NuevoAdjunto] | None = None) -> "StepResult":
        """Complete several tasks in a row in one transaction: the first by its id, each next one by
        its name once the previous step made it ready (e.g. Recepción conforme, then Derivación).
        Attachments go with the last step. Raises as :meth:`complete`; on error nothing is written.
        """
        expired = None
        with self.db.write():
            expediente, definition, workflow = self._locked(expediente_id)
            task = self._task(workflow, steps[0][0])
            step = _Step(self, expediente, definition, workflow, actor)
            if task.state == TaskState.READY and expediente.vence is not None and expediente.vence <= step.now:
                # A timer that is due fires first: a late answer must not beat its own deadline. (``vence`` is
                # the earliest timer, so with none due the engine has nothing to run.)
                workflow.refresh_timers()
                step.run_engine()
            if task.state != TaskState.READY:
                if not step.rows:
                    raise Conflict(_already_done(task, definition))
                step.finish()
                expired = _already_done(task, definition)
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

    def send_event(self, expediente_id: int, event_name: str, actor: Actor) -> "StepResult":
        """Trigger a catching event that users may send (a boundary signal such as «Anular derivación»).

        The event's BPMN properties say which role may send it (``rol``), its label (``accion``)
        and what to answer when it is no longer waiting (``rechazo``).
        :raise NotFound: / :raise NotAllowed: / :raise Conflict: when nothing waits for it any more.
        """
        with self.db.write():
            expediente, definition, workflow = self._locked(expediente_id)
            props = definition.properties(event_name)
            if not props.get("rol"):
                raise NotFound("Esa acción no existe en el proceso de este expediente.")
            if actor.rol != props["rol"]:
                raise NotAllowed(f"«{props.get('accion', event_name)}» la realiza {ROLES.get(props['rol'], props['rol']).lower()}.")
            waiting = [t for t in workflow.get_tasks(state=TaskState.WAITING) if t.task_spec.name == event_name]
            if not waiting:
                raise Conflict(props.get("rechazo") or "Esa acción ya no está disponible para este expediente.")
            step = _Step(self, expediente, definition, workflow, actor)
            offices = [o for o in (step.attached_office(t) for t in waiting) if o]
            spec = waiting[0].task_spec
            row = step.record(tipo="accion", accion=event_name, descripcion=(spec.bpmn_name or event_name)[:200],
                              tarea=event_name, oficina_origen=actor.oficina,
                              detalle=f"{props.get('accion', event_name)}: {', '.join(_office_names(offices))}",
                              payload={"oficinas": offices})
            before = step.ready_ids()
            workflow.catch(BpmnEvent(spec.event_definition))
            step.run_engine()
            step.mark_destino(row, before)
            return step.finish()

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
        due = (Temporizador.select(Temporizador.expediente).distinct()
               .where(Temporizador.vence <= now).limit(limit))
        return sum(self.fire_timers(expediente_id, claim=True) for (expediente_id,) in due.tuples())

    def fire_timers(self, expediente_id: int, claim: bool = False) -> int:
        """Fire the due timers of one expediente, in one transaction; return how many Eventos that wrote.
        With ``claim``, an expediente another process holds is skipped, and so is one with no timer due."""
        with self.db.write():
            if claim:
                query = Expediente.select(Expediente.id).where(Expediente.id == expediente_id)
                if self.db.claimed(query).get_or_none() is None:
                    return 0  # another process is working on it; it fires the timer if still due
                if not (Temporizador.select().where(Temporizador.expediente == expediente_id,
                                                    Temporizador.vence <= self.clock()).exists()):
                    return 0
            expediente, definition, workflow = self._locked(expediente_id)
            step = _Step(self, expediente, definition, workflow, SISTEMA)
            workflow.refresh_timers()
            step.run_engine()
            return len(step.finish().eventos)

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
            raise Conflict(_already_done(task, definition))
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

    def catalogs(self) -> dict[str, list[tuple[str, str]]]:
        """The choices ``x-options`` fields offer (active offices other than mesa de partes)."""
        offices = sorted(_OPCIONES.filas(), key=lambda pair: fold(pair[1]))
        return {"oficinas": offices}

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
    def _locked(self, expediente_id: int):
        expediente = _BLOQUEADO.primera(expediente_id)
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

    def _engine_error(self, expediente, exc) -> MPVError:
        log.error("Process error in %s: %r", expediente.numero, str(exc), exc_info=True)
        return MPVError(f"El proceso del expediente {expediente.numero} no pudo continuar ({exc}). "
                        "Nada se guardó; avise al analista responsable del diagrama.")


def _office_names(codes) -> list[str]:
    names = Oficina.nombres()
    return [names.get(c, c) for c in codes]


def _already_done(task, definition: Definition) -> str:
    label = definition.user_tasks.get(task.task_spec.name)
    name = label.label if label else task.task_spec.name
    if task.state == TaskState.CANCELLED:
        return f"La tarea «{name}» ya no está disponible: su plazo venció o el trámite cambió de estado."
    return f"La tarea «{name}» ya fue realizada por otra persona. Actualice la página para ver el estado actual."


@dataclasses.dataclass
class StepResult:
    expediente: Expediente
    eventos: list


def _as_read(value):
    """A value as reading it back from the database gives it (datetimes are stored in UTC)."""
    return value.astimezone(timezone.utc) if isinstance(value, datetime) else value


class _Step:
    """One step of one instance: collects Evento rows, then saves state and projections together."""

    def __init__(self, engine: Engine, expediente: Expediente, definition: Definition,
                 workflow: BpmnWorkflow, actor: Actor):
        self.engine = engine
        self.expediente = expediente
        self.definition = definition
        self.workflow = workflow
        self.actor = actor
        self.now = engine.clock()
        self.rows: list[dict] = []
        self.copias: list[tuple[str, str]] = []
        self.avisos: list[tuple[str, dict]] = []  # (notice type, the history row it is about)
        self.end_estado: str | None = None
        self.nuevo = False  # a just-created expediente: it has no Tarea or Temporizador rows yet
        self._mesa: str | None = None
        self._oficinas: dict[str, Oficina | None] = {}
        self._tareas: dict[str, Tarea] | None = None

    def office_of(self, task, info: UserTaskInfo) -> str:
        """As :meth:`Engine.office_of`, looking the mesa de partes up once per step."""
        if info.rol == "mesa" and self._mesa is None:
            mesa = Oficina.mesa_de_partes()
            self._mesa = mesa.codigo if mesa else ""
            if mesa:
                self._oficinas[mesa.codigo] = mesa
        return self.engine.office_of(task, info, self._mesa)

    def record(self, **fields) -> dict:
        row = {
            "expediente": self.expediente.id, "momento": self.now, "actor": self.actor.usuario_id,
            "actor_nombre": self.actor.nombre, "rol": self.actor.rol, "actor_oficina": self.actor.oficina,
            "ip": self.actor.ip, **fields}
        self.rows.append(row)
        return row

    def notify(self, tipo: str, row: dict):
        """Queue an e-mail to the sender about ``row`` (written with the step; sent by ``mpv.correo``)."""
        self.avisos.append((tipo, row))

    def ready_ids(self) -> set:
        return {t.id for t in self.workflow.get_tasks(state=TaskState.READY, manual=True)}

    def mark_destino(self, row: dict, before: set):
        """Where the step sent the expediente: the offices of the tasks it made ready."""
        offices = []
        for task in self.workflow.get_tasks(state=TaskState.READY, manual=True):
            info = self.definition.user_tasks.get(task.task_spec.name)
            if info is not None and task.id not in before:
                offices.append(self.office_of(task, info))
        row["oficina_destino"] = ",".join(dict.fromkeys(o for o in offices if o))

    def complete_task(self, task, data: dict, adjuntos):
        """Authorize, validate and complete one user task, recording its Evento row."""
        engine, definition = self.engine, self.definition
        info = definition.user_tasks[task.task_spec.name]
        engine.authorize(self.actor, self.expediente, task, info)
        values = engine.validate(info, data)
        schema = info.schema or {}
        props = forms.properties(schema)
        task_data, notes = forms.split(schema, values)
        # A list left empty arrives as no value at all (a browser sends nothing for unchecked boxes) and
        # clean() drops it; it must still replace the list an earlier step chose (the extra offices of a
        # withdrawn or returned derivation), where a scalar left empty keeps its value (the plazo).
        task_data.update({name: [] for name in forms.task_data_fields(schema)
                          if props[name].get("type") == "array" and name not in task_data})
        accion = values.get("accion")
        descripcion = info.label
        if accion is not None and "accion" in props:
            descripcion = f"{info.label}: {dict(forms.choices(props['accion'])).get(accion, accion)}"
        detalle = "\n".join(str(v) for v in notes.values() if isinstance(v, str) and v.strip())
        for name, value in notes.items():
            if forms.is_copy_list(props.get(name, {})) and value:
                self.copias.extend((code, info.name) for code in value)
                detalle = "\n".join(x for x in (detalle, "Con copia a: " + ", ".join(_office_names(value))) if x)
        tarea = self.tareas().get(str(task.id))
        payload = dict(values)
        if adjuntos:
            payload["adjuntos"] = [{"sha256": a.sha256, "nombre": a.nombre, "tipo": a.tipo} for a in adjuntos]
        row = self.record(tipo="tarea", accion=str(accion or info.name), descripcion=descripcion[:200],
                          tarea=info.name, tarea_id=str(task.id), tarea_desde=tarea.desde if tarea else None, detalle=detalle,
                          oficina_origen=self.office_of(task, info), payload=payload)
        before = self.ready_ids()
        task.set_data(**task_data)
        try:
            task.run()
        except SpiffWorkflowException as exc:
            raise engine._engine_error(self.expediente, exc) from exc
        self.run_engine()
        self.mark_destino(row, before)

    def run_engine(self):
        try:
            self.workflow.do_engine_steps(did_complete_task=self.observe)
        except SpiffWorkflowException as exc:
            raise self.engine._engine_error(self.expediente, exc) from exc

    def observe(self, task):
        """Record what the engine did by itself: decisions, timers, events, ends; and queue the e-mail of
        any element whose ``notificacion`` property names one. Script tasks leave no row of their own:
        they are part of the stored definition, and what they decide shows in the rows that follow."""
        spec = task.task_spec
        if getattr(spec, "bpmn_id", None) is None or isinstance(spec, StartEvent):
            return
        name = spec.bpmn_name or spec.bpmn_id
        props = self.definition.properties(spec.name)
        common = {"tarea": spec.name, "tarea_id": str(task.id), "accion": spec.bpmn_id}
        row = None
        if isinstance(spec, (ExclusiveGateway, InclusiveGateway)) and len(spec.outputs) > 1:
            chosen = [c.task_spec for c in task.children if c.task_spec in spec.outputs]
            targets = ", ".join(self.definition.flows.get((spec.bpmn_id, c.bpmn_id)) or c.bpmn_name or c.name
                                for c in chosen)
            row = self.record(tipo="decision", descripcion=f"{name}: {targets}"[:200],
                              payload={"salidas": [c.name for c in chosen]}, **common)
        elif isinstance(spec, EndEvent):
            if props.get("estado"):
                self.end_estado = props["estado"]
            row = self.record(tipo="fin", descripcion=name[:200], payload={},
                              oficina_origen=self._office_of_instance(task), **common)
        elif isinstance(spec, CatchingEvent):
            timer = isinstance(spec.event_definition, TimerEventDefinition)
            row = self.record(tipo="temporizador" if timer else "evento", descripcion=name[:200],
                              payload={"vence": task._get_internal_data("event_value")} if timer else {},
                              oficina_origen=self.attached_office(task), **common)
        elif isinstance(spec, ThrowingEvent) and props:
            row = self.record(tipo="evento", descripcion=name[:200], payload={}, **common)
        if props.get("notificacion") and row is not None:
            self.notify(props["notificacion"], row)

    def attached_office(self, task) -> str:
        """The office of the activity a boundary event is attached to (a user task, or a subprocess
        that runs in one office's instance)."""
        parent = task.parent
        if parent is not None and isinstance(parent.task_spec, BoundaryEventSplit):
            for sibling in parent.children:
                info = self.definition.user_tasks.get(sibling.task_spec.name)
                if info is not None:
                    return self.engine.office_of(sibling, info)
                if sibling is not task and not isinstance(sibling.task_spec, CatchingEvent):
                    return str(sibling.data.get("oficina") or "")
        return ""

    def _office_of_instance(self, task) -> str:
        """Inside an office's instance of a multi-instance, that office."""
        return str(task.data.get("oficina") or "") if task.workflow is not self.workflow else ""

    def finish(self, adjuntos: list[NuevoAdjunto] | None = None) -> StepResult:
        workflow, engine, expediente = self.workflow, self.engine, self.expediente
        ready = [t for t in workflow.get_tasks(state=TaskState.READY, manual=True)
                 if t.task_spec.name in self.definition.user_tasks]
        offices = {t.id: self.office_of(t, self.definition.user_tasks[t.task_spec.name]) for t in ready}
        vencido = any(self._overdue(t) for t in ready)
        if engine.prune:
            prune_finished(workflow)
        self._sync_tareas(ready, offices)
        vence = self._sync_timers()
        completed = workflow.is_completed()
        if completed:
            estado = self.end_estado or "Finalizado"
        elif ready:
            first = self.definition.user_tasks[ready[0].task_spec.name]
            estado = first.properties.get("estado") or first.label
        else:
            estado = expediente.estado
        oficina_codigo = next((o for o in offices.values() if o and o != CIUDADANO), None)
        oficina = self.oficina(oficina_codigo) if oficina_codigo else None
        saved = {"estado_motor": engine.dump(workflow), "formato_estado": STATE_FORMAT, "estado": estado[:40],
                 "tarea_actual": ", ".join(dict.fromkeys(
                     self.definition.user_tasks[t.task_spec.name].label for t in ready))[:200],
                 "oficina_actual": oficina, "vence": None if completed else vence,
                 "vencido": vencido and not completed, "terminado": completed, "actualizado_en": self.now}
        if _GUARDAR.ejecutar(*(saved[name] for name in _GUARDADOS), expediente.id, expediente.version) != 1:
            raise Conflict(f"El expediente {expediente.numero} cambió mientras se guardaba; inténtelo de nuevo.")
        for name, value in saved.items():  # the saved row, without reading it back
            setattr(expediente, name, _as_read(value))
        expediente.version += 1
        for adjunto in adjuntos or []:
            _NUEVO_ADJUNTO.insertar(expediente.id, adjunto.sha256, adjunto.nombre, adjunto.tamano, adjunto.tipo,
                                    self.now)
        if self.copias:
            ids = dict(Oficina.select(Oficina.codigo, Oficina.id).where(
                Oficina.codigo.in_([c for c, _ in self.copias])).tuples())
            Copia.insert_many([{"expediente": expediente.id, "oficina": ids[c], "desde": self.now, "tarea": t}
                               for c, t in self.copias if c in ids]).execute()
        eventos = history.append(engine.db, self.rows)
        if self.avisos:
            email = expediente.remitente.email
            position = {id(row): i for i, row in enumerate(self.rows)}
            for tipo, row in self.avisos:
                _NUEVO_CORREO.insertar(expediente.id, tipo, email, eventos[position[id(row)]].seq, self.now,
                                       self.now)
        return StepResult(expediente, eventos)

    def _overdue(self, task) -> bool:
        """Whether a «vencido» timer fired on this task or on a subprocess that encloses it."""
        while task is not None:
            parent = task.parent
            if parent is not None and isinstance(parent.task_spec, BoundaryEventSplit) and any(
                    s.state == TaskState.COMPLETED and isinstance(s.task_spec, CatchingEvent)
                    and self.definition.properties(s.task_spec.name).get("vencido") == "true"
                    for s in parent.children):
                return True
            owner = getattr(task.workflow, "parent_task_id", None)
            task = self.workflow.get_task_from_id(owner) if owner is not None else None
        return False

    def tareas(self) -> dict[str, Tarea]:
        """The expediente's Tarea rows as the step found them, by task id (read once per step)."""
        if self._tareas is None:
            self._tareas = {} if self.nuevo else {t.task_id: t for t in _TAREAS.filas(self.expediente.id)}
        return self._tareas

    def oficina(self, codigo: str) -> Oficina | None:
        """The office ``codigo`` (None for the citizen or an unknown code), read once per step."""
        if codigo not in self._oficinas:
            self._oficinas[codigo] = Oficina.por_codigo(codigo) if codigo != CIUDADANO else None
        return self._oficinas[codigo]

    def _sync_tareas(self, ready, offices):
        existing = self.tareas()
        keep = {str(t.id) for t in ready}
        for key, row in existing.items():
            if key not in keep:
                _QUITAR_TAREA.ejecutar(row.id)
        for task in ready:
            if str(task.id) not in existing:
                info = self.definition.user_tasks[task.task_spec.name]
                oficina = self.oficina(offices[task.id]) if offices[task.id] else None
                _NUEVA_TAREA.insertar(self.expediente.id, str(task.id), info.name, info.label, info.rol or "",
                                      oficina.id if oficina else None, self.now)

    def _sync_timers(self):
        if not self.nuevo:
            _QUITAR_TEMPORIZADORES.ejecutar(self.expediente.id)
        rows = []
        for task in self.workflow.get_tasks(state=TaskState.WAITING):
            event = getattr(task.task_spec, "event_definition", None)
            value = task._get_internal_data("event_value")
            if isinstance(event, TimerEventDefinition) and isinstance(value, str):
                rows.append({"expediente": self.expediente.id, "task_id": str(task.id),
                             "nombre": task.task_spec.bpmn_name or task.task_spec.name,
                             "vence": TimerEventDefinition.get_datetime(value)})
        for row in rows:
            _NUEVO_TEMPORIZADOR.insertar(row["expediente"], row["task_id"], row["nombre"], row["vence"])
        return min((r["vence"] for r in rows), default=None)
