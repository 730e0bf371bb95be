"""Working a trámite: any ready task's form (rendered from its JSON Schema), Figs. 8–9 (Derivar
trámite, with its confirmation step), the office tray, and events such as «Anular derivación»."""
from __future__ import annotations

import falcon

from .. import forms
from ..engine import NuevoAdjunto
from ..errors import ArchivoRechazado, Conflict, InvalidInput
from ..filing import referenced
from ..models import Copia, Evento, Expediente, Oficina, Tarea
from ..pdf import check_pdf, pdf_name
from .expedientes import actor_of, expediente_visible
from .middleware import require
from .requests import read_form

DERIVACION, RECEPCION = "derivacion", "recepcion"


def form_view(engine, renderer, info, data: dict, accion: str | None = None) -> dict:
    """The controls, button label and instructions of a task's form (optionally one ``accion`` only)."""
    schema = forms.resolve(info.schema or {}, engine.catalogs())
    fields = forms.fields(schema, info.uischema)
    acciones = info.uischema.get("ui:mpv-acciones") or {}
    focus = acciones.get(accion) if accion else None
    if focus:
        fields = [f for f in fields if f.name in focus.get("campos", [])]
    submit = (info.uischema.get("ui:submitButtonOptions") or {}).get("submitText") or "Registrar"
    return {
        "schema": schema, "fields": fields, "accion": accion if focus else None,
        "titulo": (focus or {}).get("titulo") or info.label,
        "boton": (focus or {}).get("boton") or submit,
        "multipart": any(f.kind == "file" for f in fields),
        "instrucciones": renderer.bpmn_text(info.instructions, data),
    }


def submitted(schema: dict, form) -> dict:
    return forms.coerce(schema, {k: (form.getlist(k) if forms.properties(schema).get(k, {}).get("type") == "array"
                                     else form.get(k)) for k in form.fields})


class TaskPage:
    """GET: a ready task's form. POST: complete it (files streamed, checked as PDFs, kept with the step)."""

    def __init__(self, pages, services):
        self._pages = pages
        self._services = services

    def _load(self, req, numero, task_id):
        expediente = expediente_visible(req, numero)
        actor = actor_of(req)
        task = self._services.engine.ready_task(expediente, task_id)
        self._services.engine.authorize(actor, expediente, task, task.info)  # a TaskView carries the data
        return expediente, actor, task

    def on_get(self, req, resp, numero, task_id):
        expediente, actor, task = self._load(req, numero, task_id)
        view = form_view(self._services.engine, self._pages.renderer, task.info, task.data, req.get_param("accion"))
        defaults = {f.name: f.default for f in view["fields"] if f.default is not None}
        self._pages.render(req, resp, "tarea.html", e=expediente, tarea=task, vista=view, valores=defaults, errores={})

    def on_post(self, req, resp, numero, task_id):
        expediente, actor, task = self._load(req, numero, task_id)
        limits = self._services.limits
        form = read_form(req, self._services.storage, max_file_bytes=limits.principal_bytes)
        accion = form.get("_vista") or None
        view = form_view(self._services.engine, self._pages.renderer, task.info, task.data, accion)
        values = submitted(view["schema"], form)
        try:
            result = complete_with_files(self._services, expediente, task_id, actor, view["schema"], form, values)
        except InvalidInput as exc:
            self._pages.render(req, resp, "tarea.html", status=falcon.HTTP_422, e=expediente, tarea=task,
                               vista=view, valores=values, errores=exc.campos or {"__all__": exc.message},
                               mensaje=exc.message)
            return
        done = result.eventos[0].descripcion if result.eventos else task.nombre
        target = "/bandeja" if actor.rol == "oficina" else f"/expedientes/{expediente.numero}"
        self._pages.redirect(req, resp, target, f"Expediente {expediente.numero}: se registró «{done}».")


def complete_with_files(services, expediente, task_id, actor, schema, form, values, tipo: str | None = None):
    """Complete a task whose form may carry files: each checked as a PDF, kept for the step, and
    removed again if the step fails. :raise InvalidInput: naming the field (nothing kept)."""
    try:
        received = check_files(schema, form)
        with services.storage.kept(received, referenced) as stored:
            props = forms.properties(schema)
            tipos = [tipo or props.get(name, {}).get("x-mpv-tipo-adjunto", name)
                     for name, items in form.files.items() for _ in items]
            adjuntos = [NuevoAdjunto(s.sha256, pdf_name(s.nombre), s.size, t) for s, t in zip(stored, tipos)]
            return services.engine.complete(expediente.id, task_id, actor, values, adjuntos)
    except BaseException as exc:
        services.storage.discard(form.all_files())
        if isinstance(exc, ArchivoRechazado):
            services.refusals.record("archivo_rechazado", f"Archivo rechazado: {exc.nombre}", actor.ip,
                                     nombre=actor.nombre, detalle=exc.message)
        raise


def check_files(schema, form) -> list:
    """The files of the form's file fields, each checked as a PDF. :raise InvalidInput: naming the field."""
    props = forms.properties(schema)
    unknown = [name for name in form.files if name not in props or not forms.is_file(props[name])]
    if unknown:
        raise InvalidInput("Se envió un archivo que el formulario no pide.", {unknown[0]: "Archivo no esperado."})
    received = []
    for name, items in form.files.items():
        for item in items:
            try:
                check_pdf(item.path, item.nombre)
            except ArchivoRechazado as exc:
                raise ArchivoRechazado(exc.message, {name: exc.message}, exc.nombre) from None
            received.append(item)
    required = set(schema.get("required") or [])
    for name in required:
        if name in props and forms.is_file(props[name]) and name not in form.files:
            raise InvalidInput("Falta un archivo obligatorio.", {name: "Adjunte el archivo en PDF."})
    return received


class Derivar:
    """Figs. 8–9: the Derivación task's form, a confirmation step, then the confirmation message.

    On a filing still in Recepción, the confirmed derivation records the recepción (conforme) and the
    derivación together: two task rows, one transaction.
    """

    def __init__(self, pages, services):
        self._pages = pages
        self._services = services

    def _pending(self, req, numero):
        require(req, "mesa")
        expediente = expediente_visible(req, numero)
        rows = {t.spec: t for t in Tarea.select().where(
            (Tarea.expediente == expediente.id) & (Tarea.spec.in_((DERIVACION, RECEPCION))) & (Tarea.rol == "mesa"))}
        pending = rows.get(DERIVACION) or rows.get(RECEPCION)
        if pending is None:
            raise Conflict(f"El expediente {numero} no está pendiente de derivación: su estado es «{expediente.estado}»"
                           f"{' (' + expediente.tarea_actual + ')' if expediente.tarea_actual else ''}.")
        definition = self._services.definitions.get(expediente.definicion_id)
        info = definition.user_tasks[DERIVACION]
        return expediente, pending, info

    def _form(self, req, resp, expediente, pending, info, values, errors, status=falcon.HTTP_200, mensaje=""):
        view = form_view(self._services.engine, self._pages.renderer, info, {"numero": expediente.numero})
        self._pages.render(req, resp, "derivar.html", status=status, e=expediente, vista=view, valores=values,
                           errores=errors, con_recepcion=pending.spec == RECEPCION, mensaje=mensaje)

    def on_get(self, req, resp, numero):
        expediente, pending, info = self._pending(req, numero)
        view = form_view(self._services.engine, self._pages.renderer, info, {"numero": expediente.numero})
        defaults = {f.name: f.default for f in view["fields"] if f.default is not None}
        self._form(req, resp, expediente, pending, info, defaults, {})

    def on_post(self, req, resp, numero):
        expediente, pending, info = self._pending(req, numero)
        form = read_form(req)
        schema = forms.resolve(info.schema or {}, self._services.engine.catalogs())
        values = submitted(schema, form)
        paso = form.get("paso")
        if paso == "corregir":
            self._form(req, resp, expediente, pending, info, values, {})
            return
        try:
            if paso == "confirmar":  # the engine validates the form, as for every step
                self._confirm(req, expediente, pending, values)
                self._pages.redirect(req, resp, f"/expedientes/{expediente.numero}/derivado")
            checked = self._services.engine.validate(info, values)
        except InvalidInput as exc:
            self._form(req, resp, expediente, pending, info, values, exc.campos, falcon.HTTP_422, exc.message)
            return
        labels = {f.name: dict(f.choices) for f in forms.fields(schema, info.uischema) if f.choices}
        self._pages.render(req, resp, "derivar_confirmar.html", e=expediente, valores=checked, etiquetas=labels,
                           campos=forms.fields(schema, info.uischema), con_recepcion=pending.spec == RECEPCION,
                           vence=self._services.calendario.vencimiento(
                               self._services.calendario.fecha_local(self._services.clock()),
                               int(checked.get("plazo_dias") or 0)) if checked.get("plazo_dias") else None)

    def _confirm(self, req, expediente, pending, values):
        actor = actor_of(req)
        engine = self._services.engine
        if pending.spec == RECEPCION:
            engine.complete_chain(expediente.id, actor, [(pending.task_id, {"accion": "conforme"}),
                                                         (DERIVACION, values)])
        else:
            engine.complete(expediente.id, pending.task_id, actor, values)


class Derivado:
    """Fig. 9: the confirmation that names the expediente and the offices it went to."""

    def __init__(self, pages):
        self._pages = pages

    def on_get(self, req, resp, numero):
        expediente = expediente_visible(req, numero)
        evento = (Evento.select().where((Evento.expediente == expediente.id) & (Evento.tarea == DERIVACION))
                  .order_by(Evento.seq.desc()).first())
        if evento is None:
            raise Conflict(f"El expediente {numero} todavía no fue derivado.")
        nombres = Oficina.nombres()
        destinos = [nombres.get(c, c) for c in evento.oficina_destino.split(",") if c]
        self._pages.render(req, resp, "derivar_hecho.html", e=expediente, evento=evento, destinos=destinos)


class Bandeja:
    """The office's tray: what waits to be received, what is in atención, what came "con copia"."""

    def __init__(self, pages, services):
        self._pages = pages
        self._services = services

    def on_get(self, req, resp):
        usuario = require(req, "oficina")
        rows = list(Tarea.select(Tarea, Expediente).join(Expediente)
                    .where(Tarea.oficina == usuario.oficina_id).order_by(Tarea.desde))
        copias = list(Copia.select(Copia, Expediente).join(Expediente)
                      .where(Copia.oficina == usuario.oficina_id).order_by(Copia.desde.desc()).limit(50))
        self._pages.render(req, resp, "bandeja.html", oficina=usuario.oficina,
                           por_recibir=[t for t in rows if t.spec == "recibir"],
                           en_atencion=[t for t in rows if t.spec != "recibir"], copias=copias)


class EventoAccion:
    """An event a user may send, e.g. «Anular derivación»: GET asks to confirm, POST sends it."""

    def __init__(self, pages, services):
        self._pages = pages
        self._services = services

    def _label(self, req, expediente, nombre):
        found = dict(self._services.engine.events_for(actor_of(req), expediente))
        if nombre not in found:
            props = self._services.definitions.get(expediente.definicion_id).properties(nombre)
            raise Conflict(props.get("rechazo") or "Esa acción ya no está disponible para este expediente.")
        return found[nombre]

    def on_get(self, req, resp, numero, nombre):
        require(req, "mesa")
        expediente = expediente_visible(req, numero)
        self._pages.render(req, resp, "evento_confirmar.html", e=expediente, nombre=nombre,
                           etiqueta=self._label(req, expediente, nombre))

    def on_post(self, req, resp, numero, nombre):
        require(req, "mesa")
        expediente = expediente_visible(req, numero)
        read_form(req)
        result = self._services.engine.send_event(expediente.id, nombre, actor_of(req))
        done = result.eventos[0].descripcion if result.eventos else nombre
        self._pages.redirect(req, resp, f"/expedientes/{numero}", f"Expediente {numero}: {done}.")
