"""Working a trámite: any ready task's form (rendered from its JSON Schema), Figs. 8–9 (Derivar
trámite, with its confirmation step), the office tray, and events such as «Anular derivación»."""
from __future__ import annotations

import falcon

from ..engine import forms
from ..errors import InvalidInput
from ..tramites import bandeja, tareas, tupa
from .expedientes import staff_actor
from .requests import file_name, read_form


def form_view(engine, renderer, info, data: dict | None, accion: str | None = None,
              catalogos: dict | None = None) -> dict:
    """The controls, button label and instructions of a task's form (optionally one ``accion`` only), its choices
    from ``catalogos`` (the engine's when not given); without the instance's ``data``, no instructions."""
    schema = forms.resolve(info.schema or {}, engine.catalogs() if catalogos is None else catalogos)
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
        "instrucciones": renderer.bpmn_text(info.instructions, data) if data is not None else "",
    }


def submitted(schema: dict, form) -> dict:
    return forms.coerce(schema, {k: (form.getlist(k) if forms.properties(schema).get(k, {}).get("type") == "array"
                                     else form.get(k)) for k in form.fields})


class TaskPage:
    """GET: a ready task's form. POST: complete it (files streamed, checked as PDFs, kept with the step)."""

    def __init__(self, pages, services):
        self._pages = pages
        self._services = services

    def on_get(self, req, resp, numero, task_id):
        actor = staff_actor(req)
        expediente, task = tareas.tarea(self._services, actor, numero, task_id)
        view = form_view(self._services.engine, self._pages.renderer, task.info, task.data, req.get_param("accion"),
                         tareas.catalogos(self._services, actor, expediente))
        defaults = {f.name: f.default for f in view["fields"] if f.default is not None}
        self._pages.render(req, resp, "tarea.html", e=expediente, tarea=task, vista=view, valores=defaults, errores={})

    def on_post(self, req, resp, numero, task_id):
        actor = staff_actor(req)
        # The form from the Tarea projection: the instance is restored once, in the step (it costs most of a POST).
        pendiente = tareas.formulario(self._services, actor, numero, task_id)
        expediente = pendiente.expediente
        form = read_form(req, self._services.storage, max_file_bytes=self._services.limits.principal_bytes)
        view = form_view(self._services.engine, self._pages.renderer, pendiente.info, None,
                         form.get("_vista") or None, pendiente.catalogos)
        values = submitted(view["schema"], form)
        if view["accion"]:  # a view of one acción: what its page did not show is not the user's (nor its error)
            shown = {f.name for f in view["fields"]} | {"accion"}
            values = {k: v for k, v in values.items() if k in shown}
        try:
            result = tareas.completar(self._services, actor, numero, task_id, values, form.files, pendiente=pendiente)
        except InvalidInput as exc:
            expediente, task = tareas.tarea(self._services, actor, numero, task_id)
            view = form_view(self._services.engine, self._pages.renderer, task.info, task.data,
                             form.get("_vista") or None, pendiente.catalogos)
            self._pages.render(req, resp, "tarea.html", status=falcon.HTTP_422, e=expediente, tarea=task,
                               vista=view, valores=values, errores=exc.campos or {"__all__": exc.message},
                               mensaje=exc.message)
            return
        done = result.eventos[0].descripcion if result.eventos else pendiente.info.label
        target = "/bandeja" if actor.rol == "oficina" else f"/expedientes/{expediente.numero}"
        self._pages.redirect(req, resp, target, f"Expediente {expediente.numero}: se registró «{done}».")


# How the confirmation of Derivar trámite names each document its review checked: the form field, the temporary
# name it waits under in storage, its SHA-256 (only its sender was shown it) and its file name.
ESPERA = ("_documento_campo", "_documento_espera", "_documento_sha256", "_documento_nombre")
OTRA_VEZ = "Vuelva a adjuntar el documento."


def esperando(form, storage) -> tuple[dict, list[str]]:
    """The files of ``form`` by field: those it brought, and those its review left waiting in storage (ESPERA);
    and the fields whose waiting file is no longer there."""
    archivos, perdidos = dict(form.files), []
    for campo, espera, sha256, nombre in zip(*(form.getlist(n) for n in ESPERA)):
        recibido = storage.waiting(espera, sha256, file_name(nombre, "documento.pdf"))
        if recibido is None:
            perdidos.append(campo)
        else:
            archivos.setdefault(campo, []).append(recibido)
    return archivos, perdidos


class Derivar:
    """Figs. 8–9: the Derivación task's form, a confirmation step, then the confirmation message.

    On a filing still in Recepción, the confirmed derivation records the recepción (conforme) and the
    derivación together: two task rows, one transaction.
    """

    def __init__(self, pages, services):
        self._pages = pages
        self._services = services

    def _vista(self, pendiente) -> dict:
        return form_view(self._services.engine, self._pages.renderer, pendiente.info,
                         {"numero": pendiente.expediente.numero})

    def _form(self, req, resp, pendiente, view, values, errors, status=falcon.HTTP_200, mensaje=""):
        self._pages.render(req, resp, "derivar.html", status=status, e=pendiente.expediente, vista=view,
                           valores=values, errores=errors, con_recepcion=pendiente.con_recepcion, mensaje=mensaje,
                           acumulados=pendiente.acumulados)

    def on_get(self, req, resp, numero):
        pendiente = tareas.derivacion_pendiente(self._services, staff_actor(req), numero)
        view = self._vista(pendiente)
        values = {f.name: f.default for f in view["fields"] if f.default is not None}
        competente = tupa.oficina_competente(pendiente.expediente)
        if competente and any(f.name == "oficina_destino" for f in view["fields"]):
            values["oficina_destino"] = competente  # the TUPA names who decides the procedure
        self._form(req, resp, pendiente, view, values, {})

    def on_post(self, req, resp, numero):
        actor = staff_actor(req)
        pendiente = tareas.derivacion_pendiente(self._services, actor, numero)
        storage = self._services.storage
        form = read_form(req, storage, max_file_bytes=self._services.limits.principal_bytes)
        view = self._vista(pendiente)
        values = submitted(view["schema"], form)
        paso = form.get("paso")
        archivos, perdidos = esperando(form, storage)
        if paso == "corregir":
            storage.discard(f for items in archivos.values() for f in items)
            self._form(req, resp, pendiente, view, values, {campo: OTRA_VEZ for campo in form.getlist(ESPERA[0])},
                       mensaje=OTRA_VEZ)
            return
        try:
            if perdidos:  # gone (swept after its grace period, or used), or not the one the review showed
                raise InvalidInput(OTRA_VEZ, {campo: OTRA_VEZ for campo in perdidos})
            if paso == "confirmar":  # the engine validates the form, as for every step
                tareas.derivar(self._services, actor, numero, values, archivos)
                self._pages.redirect(req, resp, f"/expedientes/{numero}/derivado")
            checked, vence = tareas.revisar_derivacion(self._services, actor, pendiente, values, archivos)
        except InvalidInput as exc:
            mensaje = exc.message + (f" {OTRA_VEZ}" if archivos and OTRA_VEZ not in exc.message else "")
            self._form(req, resp, pendiente, view, values, exc.campos, falcon.HTTP_422, mensaje)
            return
        fields = view["fields"]
        self._pages.render(req, resp, "derivar_confirmar.html", e=pendiente.expediente, valores=checked,
                           etiquetas={f.name: dict(f.choices) for f in fields if f.choices}, campos=fields,
                           con_recepcion=pendiente.con_recepcion, vence=vence, acumulados=pendiente.acumulados,
                           documentos=[{"campo": campo, "espera": r.path.name, "sha256": r.sha256, "nombre": r.nombre}
                                       for campo, items in archivos.items() for r in items])


class Derivado:
    """Fig. 9: the confirmation that names the expediente and the offices it went to."""

    def __init__(self, pages, services):
        self._pages = pages
        self._services = services

    def on_get(self, req, resp, numero):
        hecha = tareas.derivacion(self._services, staff_actor(req), numero)
        self._pages.render(req, resp, "derivar_hecho.html", e=hecha.expediente, evento=hecha.evento,
                           destinos=hecha.destinos)


class Bandeja:
    """The office's tray: what waits to be received, what is in atención, what came "con copia"."""

    def __init__(self, pages, services):
        self._pages = pages
        self._services = services

    def on_get(self, req, resp):
        antes = req.get_param("antes") or ""
        vista = bandeja.bandeja(self._services, staff_actor(req), req.get_param("seccion") or "",
                                antes or req.get_param("despues") or "", atras=bool(antes))
        self._pages.render(req, resp, "bandeja.html", b=vista, tope=bandeja.TOPE)


class EventoAccion:
    """An event a user may send, e.g. «Anular derivación»: GET asks to confirm, POST sends it."""

    def __init__(self, pages, services):
        self._pages = pages
        self._services = services

    def on_get(self, req, resp, numero, nombre):
        expediente, etiqueta = tareas.evento(self._services, staff_actor(req), numero, nombre)
        self._pages.render(req, resp, "evento_confirmar.html", e=expediente, nombre=nombre, etiqueta=etiqueta)

    def on_post(self, req, resp, numero, nombre):
        actor = staff_actor(req)
        read_form(req)
        result = tareas.enviar_evento(self._services, actor, numero, nombre)
        done = result.eventos[0].descripcion if result.eventos else nombre
        self._pages.redirect(req, resp, f"/expedientes/{numero}", f"Expediente {numero}: {done}.")
