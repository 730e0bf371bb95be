"""One step of one instance: what it records while the engine runs, and how it saves state and projections.

Every query here runs on each step, so each is a :class:`PreparedQuery` (its SQL written once per database).
"""
from __future__ import annotations

import dataclasses
from datetime import datetime, timezone

from SpiffWorkflow.bpmn.specs.control import BoundaryEventSplit
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.events.end_event import EndEvent
from SpiffWorkflow.bpmn.specs.mixins.events.event_types import CatchingEvent, ThrowingEvent
from SpiffWorkflow.bpmn.specs.mixins.events.start_event import StartEvent
from SpiffWorkflow.bpmn.specs.mixins.exclusive_gateway import ExclusiveGateway
from SpiffWorkflow.bpmn.specs.mixins.inclusive_gateway import InclusiveGateway
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.util.task import TaskState

from .. import history
from . import forms, notificar, relojes
from .notificar import INSERT_MAIL
from .definitions import ESCRITO, Definition, UserTaskInfo
from ..errors import Conflict
from ..models import Adjunto, Asignacion, Copia, Expediente, FirmaAdjunto, Oficina, Paso, Tarea, Temporizador, Usuario
from ..prepared import PreparedQuery
from .state import STATE_FORMAT, prune_finished
from .values import CIUDADANO, SISTEMA, Actor, NuevoAdjunto, StepResult

LOCKED = PreparedQuery(Expediente, lambda eid: Expediente.select().where(Expediente.id == eid), lock=True)
OFFICE_CHOICES = PreparedQuery(Oficina, lambda: Oficina.select(Oficina.codigo, Oficina.nombre).where(
    (Oficina.activa == True) & (Oficina.es_mesa_partes == False)))  # noqa: E712
TASKS = PreparedQuery(Tarea, lambda eid: Tarea.select().where(Tarea.expediente == eid))
DELETE_TASK = PreparedQuery(Tarea, lambda tarea_id: Tarea.delete().where(Tarea.id == tarea_id))
INSERT_TASK = PreparedQuery.insertion(Tarea, "expediente", "task_id", "spec", "nombre", "rol", "oficina", "desde")
INSERT_ATTACHMENT = PreparedQuery.insertion(Adjunto, "expediente", "sha256", "nombre", "tamano", "tipo", "creado_en")
DELETE_TIMERS = PreparedQuery(Temporizador, lambda eid: Temporizador.delete().where(Temporizador.expediente == eid))
INSERT_TIMER = PreparedQuery.insertion(Temporizador, "expediente", "task_id", "nombre", "vence", "desde")
# What a step saves of its expediente: these columns, then version + 1 where the version is still the one read.
SAVED_COLUMNS = ("estado_motor", "formato_estado", "estado", "tarea_actual", "oficina_actual", "vence", "vencido",
                 "plazo_vence", "plazo_suspendido", "silencio", "terminado", "actualizado_en")
PROCEDIMIENTO = "procedimiento"  # the clock of the procedure's own deadline (rules 10–12)


def _save(*params):
    *values, eid, version = params
    fields = [Expediente._meta.fields[name] for name in SAVED_COLUMNS]
    return (Expediente.update({**{f: v.of(f) for f, v in zip(fields, values)},
                               Expediente.version: Expediente.version + 1})
            .where((Expediente.id == eid) & (Expediente.version == version)))


SAVE = PreparedQuery(Expediente, _save, arity=len(SAVED_COLUMNS) + 2)


def office_names(codes) -> list[str]:
    names = Oficina.nombres()
    return [names.get(c, c) for c in codes]


def already_done(task, definition: Definition) -> str:
    label = definition.user_tasks.get(task.task_spec.name)
    name = label.label if label else task.task_spec.name
    if task.state == TaskState.CANCELLED:
        return f"La tarea «{name}» ya no está disponible: su plazo venció o el trámite cambió de estado."
    return f"La tarea «{name}» ya fue realizada por otra persona. Actualice la página para ver el estado actual."




def as_read(value):
    """A value as reading it back from the database gives it (datetimes are stored in UTC)."""
    return value.astimezone(timezone.utc) if isinstance(value, datetime) else value


class Step:
    """One step of one instance: collects Evento rows, then saves state and projections together."""

    def __init__(self, engine, expediente: Expediente, definition: Definition,
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
        self.avisos_oficina: list[tuple[str, dict]] = []  # the same, to the staff of the offices that hold it
        self.end_estado: str | None = None
        self.silencio: str | None = None  # set by an event whose property «silencio» says how the plazo ended
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
        """Queue an e-mail to the sender about ``row`` (written with the step; sent by ``mpv.correo.mailer``)."""
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
                detalle = "\n".join(x for x in (detalle, "Con copia a: " + ", ".join(office_names(value))) if x)
        tarea = self.tareas().get(str(task.id))
        payload = dict(values)
        if adjuntos:
            payload["adjuntos"] = [a.para_historial() for a in adjuntos]
        row = self.record(tipo="tarea", accion=str(accion or info.name), descripcion=descripcion[:200],
                          tarea=info.name, tarea_id=str(task.id), tarea_desde=tarea.desde if tarea else None, detalle=detalle,
                          oficina_origen=self.office_of(task, info), payload=payload)
        before = self.ready_ids()
        # How the acts this step may notify go (rule 15) is the citizen's choice now, not at filing.
        task.set_data(**{**self.engine.process_context(self.expediente), **task_data})
        try:
            task.run()
        except SpiffWorkflowException as exc:
            raise engine.process_error(self.expediente, exc) from exc
        self.run_engine()
        self.mark_destino(row, before)

    def run_engine(self):
        try:
            self.workflow.do_engine_steps(did_complete_task=self.observe)
        except SpiffWorkflowException as exc:
            raise self.engine.process_error(self.expediente, exc) from exc

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
            if props.get("silencio"):
                self.silencio = props["silencio"]
            row = self.record(tipo="fin", descripcion=name[:200], payload={},
                              oficina_origen=self._office_of_instance(task), **common)
        elif isinstance(spec, CatchingEvent):
            timer = isinstance(spec.event_definition, TimerEventDefinition)
            # A timer runs out by itself, even when a user's step is what finds it due: the system records it.
            quien = {"actor": None, "actor_nombre": SISTEMA.nombre, "rol": SISTEMA.rol, "actor_oficina": "",
                     "ip": ""} if timer else {}
            row = self.record(tipo="temporizador" if timer else "evento", descripcion=name[:200],
                              payload={"vence": task._get_internal_data("event_value")} if timer else {},
                              oficina_origen=self.attached_office(task), **common, **quien)
        elif isinstance(spec, ThrowingEvent) and props:
            if props.get("silencio"):
                self.silencio = props["silencio"]
            row = self.record(tipo="evento", descripcion=name[:200], payload={}, **common)
        if props.get("notificacion") and row is not None:
            self.notify(props["notificacion"], row)
            if props.get("notificar_oficina") == "true":
                self.avisos_oficina.append((f"{props['notificacion']}_oficina", row))

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
        # A suspension starts and ends on the legal date of the act (Ley 31465: a day off counts as the next).
        relojes.suspender(workflow, {self.definition.properties(t.task_spec.name).get("suspende")
                                     for t in ready} - {None, ""}, self.engine.calendario.fecha_presentacion(self.now))
        if engine.prune:
            prune_finished(workflow)
        self._sync_tareas(ready, offices)
        vence = self._sync_timers()
        plazo_vence, plazo_suspendido = self.plazo_procedimiento()
        completed = workflow.is_completed()
        if completed:
            estado = self.end_estado or "Finalizado"
        elif propios := [t for t in ready if not self._aparte(t)]:
            first = self.definition.user_tasks[propios[0].task_spec.name]
            estado = first.properties.get("estado") or first.label
        else:
            estado = expediente.estado
        oficina_codigo = next((o for o in offices.values() if o and o != CIUDADANO), None)
        oficina = self.oficina(oficina_codigo) if oficina_codigo else None
        saved = {"estado_motor": engine.dump(workflow), "formato_estado": STATE_FORMAT, "estado": estado[:40],
                 "tarea_actual": ", ".join(dict.fromkeys(
                     self.definition.user_tasks[t.task_spec.name].label for t in ready))[:200],
                 "oficina_actual": oficina, "vence": None if completed else vence,
                 "vencido": vencido and not completed, "plazo_vence": plazo_vence, "plazo_suspendido": plazo_suspendido,
                 "silencio": self.silencio if self.silencio is not None else expediente.silencio,
                 "terminado": completed, "actualizado_en": self.now}
        if SAVE.execute(*(saved[name] for name in SAVED_COLUMNS), expediente.id, expediente.version) != 1:
            raise Conflict(f"El expediente {expediente.numero} cambió mientras se guardaba; inténtelo de nuevo.")
        for name, value in saved.items():  # the saved row, without reading it back
            setattr(expediente, name, as_read(value))
        expediente.version += 1
        adjunto_ids = []
        for adjunto in adjuntos or []:
            adjunto_id = INSERT_ATTACHMENT.insert(expediente.id, adjunto.sha256, adjunto.nombre, adjunto.tamano,
                                                  adjunto.tipo, self.now)
            adjunto_ids.append(adjunto_id)
            if adjunto.firmas:
                FirmaAdjunto.insert_many([{**dataclasses.asdict(f), "adjunto": adjunto_id, "orden": orden}
                                          for orden, f in enumerate(adjunto.firmas, 1)]).execute()
        if self.copias:
            ids = dict(Oficina.select(Oficina.codigo, Oficina.id).where(
                Oficina.codigo.in_([c for c, _ in self.copias])).tuples())
            Copia.insert_many([{"expediente": expediente.id, "oficina": ids[c], "desde": self.now, "tarea": t}
                               for c, t in self.copias if c in ids]).execute()
        via = notificar.marcar_via(self.expediente, self.avisos)
        eventos = history.append(engine.db, self.rows)
        if self.avisos:
            notificar.depositar(self, eventos, via)
        if self.avisos_oficina:
            self._notify_offices(eventos)
        return StepResult(expediente, eventos, adjunto_ids)

    def _aparte(self, task) -> bool:
        """A task beside the trámite's own flow (the review of an escrito): it does not name the expediente's
        state, nor does it tell who holds the expediente."""
        return self.definition.properties(task.task_spec.name).get(ESCRITO) == "true"

    def oficinas_con_expediente(self) -> list[str]:
        """The offices that hold the expediente now: those of its ready office tasks, in order, each once."""
        found = []
        for task in self.workflow.get_tasks(state=TaskState.READY, manual=True):
            info = self.definition.user_tasks.get(task.task_spec.name)
            if info is not None and info.rol == "oficina" and not self._aparte(task):
                found.append(self.office_of(task, info))
        return list(dict.fromkeys(o for o in found if o))

    def _notify_offices(self, eventos):
        """Queue each office notice to the active staff, with an e-mail, of the procedure's competent office
        and of the office the expediente is in now."""
        oficinas = {self.expediente.procedimiento.oficina_id if self.expediente.procedimiento_id else None,
                    self.expediente.oficina_actual_id} - {None}
        correos = Usuario.correos_de(oficinas)
        position = {id(row): i for i, row in enumerate(self.rows)}
        for tipo, row in self.avisos_oficina:
            for email in correos:
                INSERT_MAIL.insert(self.expediente.id, tipo, email, eventos[position[id(row)]].seq, self.now, self.now)

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
            self._tareas = {} if self.nuevo else {t.task_id: t for t in TASKS.rows(self.expediente.id)}
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
                DELETE_TASK.execute(row.id)
        antes = {row.oficina_id for row in existing.values()} - {None}
        ahora = set()
        for task in ready:
            oficina = self.oficina(offices[task.id]) if offices[task.id] else None
            ahora.add(oficina.id if oficina else None)
            if str(task.id) not in existing:
                info = self.definition.user_tasks[task.task_spec.name]
                INSERT_TASK.insert(self.expediente.id, str(task.id), info.name, info.label, info.rol or "",
                                      oficina.id if oficina else None, self.now)
        # The office's history gains the expediente when it arrives; its person's assignment ends when it leaves.
        Paso.registrar(self.expediente.id, ahora - antes - {None}, self.now)
        if antes - ahora:
            Asignacion.soltar(self.expediente.id, antes - ahora)

    def _sync_timers(self):
        if not self.nuevo:
            DELETE_TIMERS.execute(self.expediente.id)
        rows = []
        for task in relojes.esperando(self.workflow):
            vence = relojes.vence(task)
            if vence is not None:  # a suspended plazo has no due time until its clock runs again
                rows.append((self.expediente.id, str(task.id), task.task_spec.bpmn_name or task.task_spec.name, vence,
                             relojes.desde_de(task)))
        for row in rows:
            INSERT_TIMER.insert(*row)
        return min((row[3] for row in rows), default=None)

    def plazo_procedimiento(self) -> tuple[datetime | None, bool]:
        """The procedure deadline's due time (None when it has none, or while suspended) and whether it is
        suspended now; a finished plazo keeps what the expediente showed."""
        running = [t for t in relojes.esperando(self.workflow) if relojes.reloj_de(t) == PROCEDIMIENTO]
        if not running:
            return (self.expediente.plazo_vence if self.silencio or self.expediente.silencio else None), False
        vence = relojes.vence(running[0])
        return vence, vence is None
