"""Working a trámite: any ready task of its diagram (with the files its form takes), the derivation with its
recepción (Figs. 8–9) and events users may send (such as «Anular derivación»); the office's tray is
:mod:`mpv.tramites.bandeja`."""
from __future__ import annotations

import contextlib
import dataclasses
from datetime import date

import peewee as pw

from ..engine import forms
from ..engine.definitions import UserTaskInfo
from ..engine import CIUDADANO, Actor, StepResult, TaskView
from ..engine.values import NuevoAdjunto
from ..errors import ArchivoRechazado, Conflict, InvalidInput, NotFound
from ..firmas import verificar
from .presentacion import nuevos_adjuntos, referenced
from ..models import Asignacion, DocumentoOficial, Evento, Expediente, Oficina, Tarea
from ..pdf import check_pdf, pdf_name
from ..storage import Received
from . import acumulacion, documentos, expedientes
from .paginas import decode_cursor, encode_cursor
from .roles import exigir_rol

DERIVACION, RECEPCION = "derivacion", "recepcion"
MESA_DERIVA = (DERIVACION, RECEPCION)  # the tasks from which mesa de partes derives (Recepción: conforme first)
SUBSANACION = "subsanacion"
ACUSE = "acuse"  # the citizen's acuse de recibo of an observation deposited in his casilla (mpv.tramites.casilla)
YA_NO_PENDIENTE = ("Esa tarea ya fue realizada por otra persona o ya no está pendiente. "
                   "Actualice la página para ver el estado actual del expediente.")


@dataclasses.dataclass
class DerivacionPendiente:
    """An expediente waiting for mesa de partes to derive it (still in Recepción, or already received)."""

    expediente: Expediente
    tarea: Tarea
    info: UserTaskInfo
    acumulados: list[str] = dataclasses.field(default_factory=list)  # the numbers derived with it (acumulación)

    @property
    def con_recepcion(self) -> bool:
        """A derivation from Recepción records the recepción (conforme) too, in the same step."""
        return self.tarea.spec == RECEPCION


@dataclasses.dataclass
class Derivacion:
    """A derivation already made: the Evento that recorded it and the names of the offices it went to."""

    expediente: Expediente
    evento: Evento
    destinos: list[str]


# -- any task of the diagram -----------------------------------------------------------------------------
def tarea(services, actor: Actor, numero: str, task_id: str) -> tuple[Expediente, TaskView]:
    """A ready task that ``actor`` works, with its data (to show its form).

    :raise NotFound: / :raise NotAllowed: / :raise Conflict: no longer ready."""
    expediente = expedientes.visible(actor, numero)
    task = services.engine.ready_task(expediente, task_id)
    services.engine.authorize(actor, expediente, task, task.info)  # a TaskView carries the data it needs
    if acumulacion.sigue_al_principal(services, expediente, task.spec, task.rol):
        acumulacion.exigir_libre(expediente)
    return expediente, task


@dataclasses.dataclass
class Formulario:
    """A ready task's form as the Tarea projection has it, with its choices for the actor (no instance restored)."""

    expediente: Expediente
    info: UserTaskInfo
    catalogos: dict
    tarea: Tarea | None = None  # its row in the projection

    @property
    def schema(self) -> dict:
        return forms.resolve(self.info.schema or {}, self.catalogos)


def formulario(services, actor: Actor, numero: str, task_id: str) -> Formulario:
    """The form of the ready task ``task_id``, from the Tarea projection: the engine restores the instance once,
    in the step that completes it (and checks there who may). :raise NotFound: / :raise NotAllowed: / :raise
    Conflict: no longer ready."""
    expediente = expedientes.visible(actor, numero)
    fila = Tarea.get_or_none((Tarea.expediente == expediente.id) & (Tarea.task_id == str(task_id)))
    info = fila and services.definitions.get(expediente.definicion_id).user_tasks.get(fila.spec)
    if info is None:
        raise Conflict(YA_NO_PENDIENTE)
    if acumulacion.sigue_al_principal(services, expediente, fila.spec, fila.rol):
        acumulacion.exigir_libre(expediente)
    return Formulario(expediente, info, catalogos(services, actor, expediente), fila)


def completar(services, actor: Actor, numero: str, task_id: str, valores: dict,
              archivos: dict[str, list[Received]] | None = None, tipo: str | None = None,
              pendiente: Formulario | None = None) -> StepResult:
    """Complete a ready task with its form's values and files (each checked as a PDF, kept with the step);
    ``pendiente``: its :func:`formulario`, when the caller already has it.

    Whatever happens, no received file is left behind unreferenced. :raise InvalidInput: naming the field;
    and as :meth:`mpv.engine.Engine.complete`."""
    archivos = archivos or {}
    with _sin_huerfanos(services, actor, archivos):
        pendiente = pendiente or formulario(services, actor, numero, task_id)
        expediente = pendiente.expediente
        fila = pendiente.tarea or _fila(expediente, task_id)
        return _con_archivos(services, actor, expediente, pendiente.schema, valores, archivos, tipo,
                             lambda data, adjuntos: _con_acumulados(services, actor, expediente, fila, data, adjuntos))


def _con_archivos(services, actor: Actor, expediente: Expediente, schema: dict, valores: dict,
                  archivos: dict[str, list[Received]], tipo: str | None, paso) -> StepResult:
    """Run ``paso(valores, adjuntos)`` with the form's files checked as PDFs and kept for the step (the folios of a
    document left empty: its pages; the answer's issued document among them)."""
    received, paginas = _check_files(schema, archivos)
    valores = _folios(schema, valores, paginas)
    valores, documento = _respuesta_con_documento(schema, actor, expediente, valores)
    with services.storage.kept(received, referenced) as stored:
        props = forms.properties(schema)
        tipos = [tipo or props.get(name, {}).get("x-mpv-tipo-adjunto", name)
                 for name, items in archivos.items() for _ in items]
        adjuntos = nuevos_adjuntos(services, stored, tipos)
        if documento is not None:
            adjuntos.append(_adjunto_del(services, documento))
        return paso(valores, adjuntos)


@contextlib.contextmanager
def _sin_huerfanos(services, actor: Actor, archivos: dict[str, list[Received]]):
    """On any error inside the block, remove the received files (and record a refused one for the audit)."""
    try:
        yield
    except BaseException as exc:
        services.storage.discard(f for files in archivos.values() for f in files)
        if isinstance(exc, ArchivoRechazado):
            services.refusals.record("archivo_rechazado", f"Archivo rechazado: {exc.nombre}", actor.ip,
                                     nombre=actor.nombre, detalle=exc.message)
        raise


def catalogos(services, actor: Actor, expediente: Expediente) -> dict[str, list[tuple[str, str]]]:
    """The choices of a task's form for ``actor`` on ``expediente``: the engine's catalogues (the offices) and the
    documents ``actor``'s office issued on it (``"x-options": "documentos_emitidos"``, the atención's answer)."""
    return {**services.engine.catalogs(), "documentos_emitidos": documentos.para_respuesta(actor, expediente)}


def _respuesta_con_documento(schema: dict, actor: Actor, expediente: Expediente,
                             valores: dict) -> tuple[dict, DocumentoOficial | None]:
    """The form's values with the answer's text saying which issued document answers the trámite («Atendido con
    INFORME N° …», then what the office wrote), and that document; the engine never sees the document's id.

    :raise InvalidInput: the chosen document is a draft, another office's or another expediente's."""
    if documentos.CAMPO_RESPUESTA not in forms.properties(schema):
        return valores, None
    valores = dict(valores)
    elegido = valores.pop(documentos.CAMPO_RESPUESTA, None)
    if not elegido or valores.get("accion") != "atender":
        return valores, None
    documento = documentos.respuesta(actor, expediente, elegido)
    texto = str(valores.get("respuesta") or "").strip()
    valores["respuesta"] = f"Atendido con {documento.numero}." + (f"\n\n{texto}" if texto else "")
    return valores, documento


def _adjunto_del(services, documento: DocumentoOficial) -> NuevoAdjunto:
    """The issued document's PDF (already kept; its latest signed version when it was signed) as the step's answer:
    what the citizen receives and downloads, with its signatures verified as for every PDF the expediente holds."""
    sha256 = documentos.vigente(documento)
    path = services.storage.path(sha256)
    return NuevoAdjunto(sha256, pdf_name(documento.numero.replace("/", "-")), path.stat().st_size,
                        "respuesta", verificar(path, services.clock(), services.raices))


def completar_por_nombre(services, actor: Actor, numero: str, tarea: str, valores: dict) -> StepResult:
    """Complete the ready task named ``tarea`` (its spec name, or its id), as the command line names it.

    :raise NotFound: no such task pending (the message lists the pending ones)."""
    expediente = Expediente.por_numero(numero)
    if expediente is None:
        raise NotFound(f"No existe el expediente {numero}.")
    ready = services.engine.ready_tasks(expediente)
    matches = [t for t in ready if t.spec == tarea or t.id == tarea]
    if len(matches) > 1 and actor.rol == "oficina":
        matches = [t for t in matches if t.oficina == actor.oficina] or matches
    if not matches:
        pendientes = ", ".join(f"{t.spec} ({t.nombre})" for t in ready) or "ninguna"
        raise NotFound(f"El expediente {expediente.numero} no tiene pendiente la tarea «{tarea}». "
                       f"Tareas pendientes: {pendientes}.")
    return _con_acumulados(services, actor, expediente, _fila(expediente, matches[0].id), valores)


def _fila(expediente: Expediente, task_id: str) -> Tarea | None:
    return Tarea.get_or_none((Tarea.expediente == expediente.id) & (Tarea.task_id == str(task_id)))


def _con_acumulados(services, actor: Actor, expediente: Expediente, fila: Tarea | None, valores: dict,
                    adjuntos: list[NuevoAdjunto] | None = None) -> StepResult:
    """Complete the task ``fila`` and, with the same values and files, the same task of each expediente
    accumulated to this one in the same tray (:func:`mpv.tramites.acumulacion.con_acumulados`).
    :raise Conflict: this expediente is itself accumulated; and as :meth:`mpv.engine.Engine.complete`."""
    if fila is None:  # no longer pending: the engine says so in its words
        raise Conflict(YA_NO_PENDIENTE)

    def seguir(acumulado: Expediente) -> StepResult | None:
        igual = acumulacion.tarea_igual(acumulado.id, (fila.spec,), fila.oficina_id)
        return igual and services.engine.complete(acumulado.id, igual.task_id, actor, valores, adjuntos)

    return acumulacion.con_acumulados(
        services, actor, expediente, acumulacion.sigue_al_principal(services, expediente, fila.spec, fila.rol),
        lambda: services.engine.complete(expediente.id, fila.task_id, actor, valores, adjuntos), seguir)


# -- the citizen's correction (subsanación) --------------------------------------------------------------
def subsanacion(services, codigo: str, ip: str = "") -> tuple[Expediente, Actor, TaskView]:
    """The citizen's pending correction of the expediente whose tracking code is ``codigo``, with the citizen
    as its actor. :raise NotFound: unknown code. :raise Conflict: nothing to correct."""
    expediente = expedientes.por_codigo(codigo)
    tareas = {t.spec: t for t in Tarea.select().where((Tarea.expediente == expediente.id) & (Tarea.rol == CIUDADANO))}
    if ACUSE in tareas:  # deposited in the casilla: it takes effect, and the plazo starts, with the acuse
        raise Conflict(f"La observación del expediente {expediente.numero} está en su casilla electrónica: ábrala con "
                       "su código de seguimiento y su documento de identidad y acuse recibo; luego podrá subsanar.")
    tarea = tareas.get(SUBSANACION)
    if tarea is None:
        raise Conflict(f"El expediente {expediente.numero} no tiene una observación pendiente de subsanar "
                       f"(su estado es «{expediente.estado}»).")
    return expediente, Actor.ciudadano(expediente, ip=ip), services.engine.ready_task(expediente, tarea.task_id)


def subsanar(services, actor: Actor, expediente: Expediente, task_id: str, valores: dict,
             archivos: dict[str, list[Received]]) -> StepResult:
    """Record the citizen's correction with its corrected documents (as :func:`completar`)."""
    return completar(services, actor, expediente.numero, task_id, valores, archivos, tipo="subsanacion")


# -- the derivation (Figs. 8–9) --------------------------------------------------------------------------
def derivacion_pendiente(services, actor: Actor, numero: str) -> DerivacionPendiente:
    """The expediente's pending derivation. :raise Conflict: it is not waiting for one."""
    exigir_rol(actor, ("mesa",), "Solo mesa de partes deriva trámites.")
    expediente = expedientes.visible(actor, numero)
    rows = {t.spec: t for t in Tarea.select().where(
        (Tarea.expediente == expediente.id) & (Tarea.spec.in_((DERIVACION, RECEPCION))) & (Tarea.rol == "mesa"))}
    pending = rows.get(DERIVACION) or rows.get(RECEPCION)
    if pending is None:
        raise Conflict(f"El expediente {numero} no está pendiente de derivación: su estado es «{expediente.estado}»"
                       f"{' (' + expediente.tarea_actual + ')' if expediente.tarea_actual else ''}.")
    acumulacion.exigir_libre(expediente)
    info = services.definitions.get(expediente.definicion_id).user_tasks[DERIVACION]
    return DerivacionPendiente(expediente, pending, info,
                               acumulacion.que_siguen(expediente, MESA_DERIVA, pending.oficina_id))


def revisar_derivacion(services, actor: Actor, pendiente: DerivacionPendiente, valores: dict,
                       archivos: dict[str, list[Received]] | None = None) -> tuple[dict, date | None]:
    """The derivation's values as they will be recorded (the folios of a document left empty: its pages), and the
    day its plazo ends, for the confirmation step: nothing is written, and the ``archivos`` checked here stay in
    storage for the confirmation to pass to :func:`derivar` (an abandoned one is swept). On any error they are
    removed. :raise InvalidInput: with a message per field; :raise ArchivoRechazado: not a fit PDF."""
    archivos = archivos or {}
    with _sin_huerfanos(services, actor, archivos):
        _, paginas = _check_files(pendiente.info.schema or {}, archivos)
        checked = services.engine.validate(pendiente.info, _folios(pendiente.info.schema or {}, valores, paginas))
    plazo = int(checked.get("plazo_dias") or 0)
    calendario = services.calendario
    vence = calendario.vencimiento(calendario.fecha_local(services.clock()), plazo) if plazo else None
    return checked, vence


def derivar(services, actor: Actor, numero: str, valores: dict,
            archivos: dict[str, list[Received]] | None = None) -> StepResult:
    """Derive the expediente (recording its recepción first where it is still in Recepción), in one step, with the
    form's files (as :func:`completar`), and each expediente accumulated to it the same way.
    :raise InvalidInput: / :raise Conflict: as :meth:`mpv.engine.Engine.complete`."""
    archivos = archivos or {}
    with _sin_huerfanos(services, actor, archivos):
        pendiente = derivacion_pendiente(services, actor, numero)
        expediente = pendiente.expediente

        def con_acumulados(data: dict, adjuntos: list[NuevoAdjunto]) -> StepResult:
            def paso(expediente_id: int, tarea: Tarea) -> StepResult:
                if tarea.spec == RECEPCION:
                    return services.engine.complete_chain(expediente_id, actor, [
                        (tarea.task_id, {"accion": "conforme"}), (DERIVACION, data)], adjuntos)
                return services.engine.complete(expediente_id, tarea.task_id, actor, data, adjuntos)

            def seguir(acumulado: Expediente) -> StepResult | None:
                igual = acumulacion.tarea_igual(acumulado.id, MESA_DERIVA, pendiente.tarea.oficina_id)
                return igual and paso(acumulado.id, igual)

            return acumulacion.con_acumulados(services, actor, expediente, True,
                                              lambda: paso(expediente.id, pendiente.tarea), seguir)

        return _con_archivos(services, actor, expediente, pendiente.info.schema or {}, valores, archivos, None,
                             con_acumulados)


def derivacion(services, actor: Actor, numero: str) -> Derivacion:
    """The expediente's latest derivation (Fig. 9). :raise Conflict: it was never derived."""
    expediente = expedientes.visible(actor, numero)
    evento = (Evento.select().where((Evento.expediente == expediente.id) & (Evento.tarea == DERIVACION))
              .order_by(Evento.seq.desc()).first())
    if evento is None:
        raise Conflict(f"El expediente {numero} todavía no fue derivado.")
    nombres = Oficina.nombres()
    return Derivacion(expediente, evento, [nombres.get(c, c) for c in evento.oficina_destino.split(",") if c])


# -- events users send, and the office's tray ------------------------------------------------------------
def evento(services, actor: Actor, numero: str, nombre: str) -> tuple[Expediente, str]:
    """The expediente and the label of event ``nombre``, if ``actor`` may send it now.
    :raise Conflict: it is no longer available."""
    exigir_rol(actor, ("mesa",), "Solo mesa de partes realiza esta acción.")
    expediente = expedientes.visible(actor, numero)
    acumulacion.exigir_libre(expediente)
    found = dict(services.engine.events_for(actor, expediente))
    if nombre not in found:
        props = services.definitions.get(expediente.definicion_id).properties(nombre)
        raise Conflict(props.get("rechazo") or "Esa acción ya no está disponible para este expediente.")
    return expediente, found[nombre]


def enviar_evento(services, actor: Actor, numero: str, nombre: str) -> StepResult:
    """Send event ``nombre`` (e.g. «Anular derivación»). :raise NotAllowed: / :raise Conflict:"""
    exigir_rol(actor, ("mesa",), "Solo mesa de partes realiza esta acción.")
    expediente = expedientes.visible(actor, numero)

    def seguir(acumulado: Expediente) -> StepResult | None:
        if nombre not in dict(services.engine.events_for(actor, acumulado)):
            return None
        return services.engine.send_event(acumulado.id, nombre, actor)

    return acumulacion.con_acumulados(services, actor, expediente, True,
                                      lambda: services.engine.send_event(expediente.id, nombre, actor), seguir)


def _folios(schema: dict, valores: dict, paginas: dict[str, int]) -> dict:
    """The form's values with each folios count (a field with ``"x-mpv-folios-de": <file field>``) that was left
    empty where a document came in that field: the document's pages."""
    faltan = {name: prop["x-mpv-folios-de"] for name, prop in forms.properties(schema).items()
              if isinstance(prop, dict) and prop.get("x-mpv-folios-de") in paginas and valores.get(name) is None}
    return {**valores, **{name: paginas[campo] for name, campo in faltan.items()}} if faltan else valores


def _check_files(schema: dict, archivos: dict[str, list[Received]]) -> tuple[list[Received], dict[str, int]]:
    """The files of the form's file fields, each checked as a PDF, and the pages each field brought.
    :raise InvalidInput: naming the field."""
    props = forms.properties(schema)
    unknown = [name for name in archivos if name not in props or not forms.is_file(props[name])]
    if unknown:
        raise InvalidInput("Se envió un archivo que el formulario no pide.", {unknown[0]: "Archivo no esperado."})
    received, paginas = [], {}
    for name, items in archivos.items():
        for item in items:
            try:
                paginas[name] = paginas.get(name, 0) + check_pdf(item.path, item.nombre)
            except ArchivoRechazado as exc:
                raise ArchivoRechazado(exc.message, {name: exc.message}, exc.nombre) from None
            received.append(item)
    for name in schema.get("required") or []:
        if name in props and forms.is_file(props[name]) and name not in archivos:
            raise InvalidInput("Falta un archivo obligatorio.", {name: "Adjunte el archivo en PDF."})
    return received, paginas


def mis_tareas(services, actor: Actor, cursor: str = "", limite: int = 50) -> tuple[list[tuple[Tarea, str]], str]:
    """The ready tasks ``actor`` works (mesa de partes: its own; an office user: their office's, but for those
    assigned to another person of it), oldest first, each with its expediente's number; and the cursor of the next
    page ("" at the end). A cursor that is not one of ours starts from the first page.
    :raise NotAllowed: not staff, or an office user with no office."""
    expedientes.solo_personal(actor)
    expedientes.oficina_de(actor)
    ajena = Asignacion.select().where((Asignacion.expediente == Tarea.expediente) & (Asignacion.oficina == Tarea.oficina)
                                      & (Asignacion.usuario != actor.usuario_id))
    query = (services.engine.tasks_for(actor).select(Tarea, Expediente.numero).switch(Tarea).join(Expediente)
             .where(~pw.fn.EXISTS(ajena)))
    clave = decode_cursor(cursor) if cursor else None
    if clave and clave[0] is not None:
        query = query.where(pw.Tuple(Tarea.desde, Tarea.id) > pw.Tuple(Tarea.desde.db_value(clave[0]), clave[1]))
    filas = list(query.order_by(Tarea.desde, Tarea.id).limit(limite + 1))
    siguiente = encode_cursor((filas[limite - 1].desde, filas[limite - 1].id)) if len(filas) > limite else ""
    return [(t, t.expediente.numero) for t in filas[:limite]], siguiente
