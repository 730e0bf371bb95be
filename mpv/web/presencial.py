"""Mesa de partes registers a trámite brought on paper (``mpv.tramites.presencial``): the form «Registrar trámite
presentado en físico», then the page that hands the citizen his cargo de recepción and código de seguimiento."""
from __future__ import annotations

import falcon

from ..errors import InvalidInput, TooLarge
from ..tramites import presencial
from ..tramites.campos import PRESENCIAL, REVISE
from .expedientes import send_pdf, staff_actor
from .public import formulario, valores_iniciales, valores_tecleados
from .requests import partes_presentacion, read_form


class RegistroPresencial:
    """``/presencial``: the form (``?procedimiento=`` chooses the TUPA procedure first, as the citizen's
    form does); success leads to :class:`Registrado`."""

    def __init__(self, pages, services):
        self._pages = pages
        self._services = services

    def _render(self, req, resp, valores: dict, errores: dict, status=falcon.HTTP_200, mensaje=""):
        self._pages.render(req, resp, "presencial.html", status=status, mensaje=mensaje,
                           **formulario(self._services, PRESENCIAL, valores, errores))

    def on_get(self, req, resp):
        presencial.puede_registrar(staff_actor(req))
        valores, errores = valores_iniciales(req, PRESENCIAL)
        self._render(req, resp, valores, errores, falcon.HTTP_404 if errores else falcon.HTTP_200)

    def on_post(self, req, resp):
        services, actor = self._services, staff_actor(req)
        presencial.puede_registrar(actor)  # refused before any file is read
        try:
            form = read_form(req, services.storage, partes=partes_presentacion(PRESENCIAL, services.limits))
        except InvalidInput as exc:  # read_form removed what it had received
            self._refused(req, resp, getattr(exc, "partial", None), exc)
            return
        principal = (form.files.get("archivo") or [None])[0]
        try:
            expediente = presencial.registrar(services, actor, form.fields, principal, form.files.get("anexos", []))
        except InvalidInput as exc:  # the use case removed the files
            self._refused(req, resp, form, exc)
            return
        self._pages.redirect(req, resp, f"/presencial/{expediente.codigo}",
                             f"Trámite registrado con el expediente {expediente.numero}. Imprima el cargo de "
                             "recepción y entréguelo al ciudadano.")

    def _refused(self, req, resp, form, exc: InvalidInput):
        """The form again, with what the clerk typed and a message next to each field to correct."""
        status = falcon.HTTP_413 if isinstance(exc, TooLarge) else falcon.HTTP_422
        mensaje = "Revise los datos marcados: el trámite no se registró." if exc.message == REVISE else exc.message
        self._render(req, resp, valores_tecleados(form, PRESENCIAL), exc.campos or {"__all__": exc.message}, status,
                     mensaje + " Vuelva a adjuntar los archivos.")


class Registrado:
    """``/presencial/{codigo}``: the trámite just registered, with its cargo de recepción to print for the
    citizen (``/cargo``, the PDF that carries his código de seguimiento)."""

    def __init__(self, pages, services):
        self._pages = pages
        self._services = services

    def on_get(self, req, resp, codigo):
        r = presencial.registrado(self._services, staff_actor(req), codigo)
        self._pages.render(req, resp, "presencial_registrado.html", e=r.expediente, c=r.cargo)

    def on_get_cargo(self, req, resp, codigo):
        send_pdf(resp, *presencial.cargo_para_el_ciudadano(self._services, staff_actor(req), codigo))


def add_presencial_routes(app, pages, services):
    app.add_route("/presencial", RegistroPresencial(pages, services))
    registrado = Registrado(pages, services)
    app.add_route("/presencial/{codigo}", registrado)
    app.add_route("/presencial/{codigo}/cargo", registrado, suffix="cargo")
