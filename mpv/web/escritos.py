"""Escritos on an existing expediente: the citizen's form «Presentar un escrito» and its constancia, and mesa de
partes' registration of an escrito brought on paper (``mpv.tramites.escritos``)."""
from __future__ import annotations

import falcon

from ..errors import Conflict, InvalidInput, NotFound, TooLarge
from ..tramites import constancia_escrito, escritos
from ..tramites.expedientes import por_codigo
from .expedientes import staff_actor
from .requests import partes_escrito, read_form

TEXTOS = ("codigo", "numero", "documento", "descripcion")


def _status(exc: InvalidInput):
    return falcon.HTTP_413 if isinstance(exc, TooLarge) else falcon.HTTP_422


class NuevoEscrito:
    """``/escritos/nuevo``: reached from the public seguimiento (``?codigo=``) or with the expediente's number and
    the sender's identity document; success leads to the escrito's constancia."""

    def __init__(self, pages, services):
        self._pages = pages
        self._services = services

    def _render(self, req, resp, valores: dict, errores: dict, status=falcon.HTTP_200, mensaje=""):
        expediente = None
        if valores.get("codigo"):
            try:
                expediente = por_codigo(valores["codigo"])
            except NotFound as exc:
                errores = {**errores, "__all__": exc.message}
                valores = {k: v for k, v in valores.items() if k != "codigo"}
                status = falcon.HTTP_404
        limits = self._services.limits
        self._pages.render(req, resp, "publico/escrito.html", status=status, valores=valores, errores=errores,
                           mensaje=mensaje, e=expediente, max_descripcion=escritos.MAX_DESCRIPCION,
                           limite_principal=limits.principal_bytes // (1024 * 1024),
                           limite_anexo=limits.anexo_bytes // (1024 * 1024), max_anexos=limits.anexos)

    def on_get(self, req, resp):
        valores = {name: (req.get_param(name) or "").strip()[:100] for name in ("codigo", "numero", "documento")}
        self._render(req, resp, valores, {})

    def on_post(self, req, resp):
        services = self._services
        try:
            form = read_form(req, services.storage, partes=partes_escrito(services.limits))
        except InvalidInput as exc:  # read_form removed what it had received
            partial = getattr(exc, "partial", None)
            self._refused(req, resp, partial.fields if partial else {}, exc)
            return
        principal = (form.files.get("archivo") or [None])[0]
        try:
            escrito = escritos.del_ciudadano(services, form.fields, principal, form.files.get("anexos", []),
                                             ip=req.remote_addr or "")
        except (InvalidInput, NotFound, Conflict) as exc:  # the use case removed the files
            self._refused(req, resp, form.fields, exc)
            return
        raise falcon.HTTPSeeOther(f"/escritos/{escrito.codigo}")

    def _refused(self, req, resp, fields: dict, exc):
        valores = {name: str(fields.get(name) or "") for name in TEXTOS}
        if not isinstance(exc, InvalidInput):  # no such expediente, or it has concluded
            status = falcon.HTTP_404 if isinstance(exc, NotFound) else falcon.HTTP_409
            self._render(req, resp, valores, {"__all__": exc.message}, status, exc.message)
            return
        self._render(req, resp, valores, exc.campos or {"__all__": exc.message}, _status(exc),
                     exc.message + " Vuelva a adjuntar sus archivos.")


class ConstanciaEscrito:
    """``/escritos/{codigo}``: the escrito's constancia, reached by the escrito's own code; and its PDF."""

    def __init__(self, pages, services):
        self._pages = pages
        self._services = services

    def on_get(self, req, resp, codigo):
        self._pages.render(req, resp, "publico/escrito_constancia.html",
                           c=constancia_escrito.de_codigo(self._services, codigo))

    def on_get_pdf(self, req, resp, codigo):
        c = constancia_escrito.de_codigo(self._services, codigo)
        resp.content_type = "application/pdf"
        resp.set_header("Content-Disposition", f'attachment; filename="constancia-escrito-{c.numero}.pdf"')
        resp.data = constancia_escrito.sellada(self._services, c)


class EscritoEnFisico:
    """``/expedientes/{numero}/escritos``: mesa de partes registers an escrito brought on paper (scanned)."""

    def __init__(self, pages, services):
        self._pages = pages
        self._services = services

    def _render(self, req, resp, expediente, valores, errores, status=falcon.HTTP_200, mensaje=""):
        limits = self._services.limits
        self._pages.render(req, resp, "escrito_fisico.html", status=status, e=expediente, valores=valores,
                           errores=errores, mensaje=mensaje, max_descripcion=escritos.MAX_DESCRIPCION,
                           limite_principal=limits.principal_bytes // (1024 * 1024),
                           limite_anexo=limits.anexo_bytes // (1024 * 1024), max_anexos=limits.anexos)

    def on_get(self, req, resp, numero):
        self._render(req, resp, escritos.para_escrito_en_fisico(staff_actor(req), numero), {}, {})

    def on_post(self, req, resp, numero):
        services, actor = self._services, staff_actor(req)
        escritos.para_escrito_en_fisico(actor, numero)  # refused before any file is read
        try:
            form = read_form(req, services.storage, partes=partes_escrito(services.limits, campos=("descripcion",)))
        except InvalidInput as exc:  # read_form removed what it had received
            self._refused(req, resp, actor, numero, getattr(exc, "partial", None), exc)
            return
        principal = (form.files.get("archivo") or [None])[0]
        try:
            escrito = escritos.registrar_en_fisico(services, actor, numero, form.get("descripcion"), principal,
                                                   form.files.get("anexos", []))
        except InvalidInput as exc:  # the use case removed the files
            self._refused(req, resp, actor, numero, form, exc)
            return
        self._pages.redirect(req, resp, f"/escritos/{escrito.codigo}",  # to print and hand to the citizen
                             f"Escrito {escrito.numero} registrado en el expediente {escrito.expediente.numero}. "
                             "Imprima o descargue la constancia para el ciudadano.")

    def _refused(self, req, resp, actor, numero, form, exc: InvalidInput):
        valores = {"descripcion": form.get("descripcion")} if form is not None else {}
        self._render(req, resp, escritos.para_escrito_en_fisico(actor, numero), valores,
                     exc.campos or {"__all__": exc.message},
                     _status(exc), exc.message + " Vuelva a adjuntar los archivos.")


def add_escrito_routes(app, pages, services):
    app.add_route("/escritos/nuevo", NuevoEscrito(pages, services))
    constancias = ConstanciaEscrito(pages, services)
    app.add_route("/escritos/{codigo}", constancias)
    app.add_route("/escritos/{codigo}/pdf", constancias, suffix="pdf")
    app.add_route("/expedientes/{numero}/escritos", EscritoEnFisico(pages, services))
