"""Inside an office: assign an expediente to one of its people, «Mis expedientes» and the office's history."""
from __future__ import annotations

import falcon

from ..engine.forms import Field
from ..errors import InvalidInput
from ..tramites import asignacion
from .expedientes import staff_actor
from .requests import read_form


def add_asignacion_routes(app, pages, services):
    app.add_route("/expedientes/{numero}/asignar", Asignar(pages, services))
    app.add_route("/mis-expedientes", MisExpedientes(pages))
    app.add_route("/oficina/historial", HistorialOficina(pages, services))


def _pagina(req) -> tuple[str, bool]:
    """The cursor a list's link carries, and whether it walks back."""
    antes = req.get_param("antes") or ""
    return antes or req.get_param("despues") or "", bool(antes)


class Asignar:
    """GET: whom the office's head may give the expediente to; POST: give it, and back to the expediente."""

    def __init__(self, pages, services):
        self._pages = pages
        self._services = services

    def _form(self, req, resp, numero, error: InvalidInput | None = None, valor: str = ""):
        expediente, ficha = asignacion.formulario(staff_actor(req), numero)
        fields = [Field("usuario", "Persona de la oficina que trabajará el expediente", "select", True,
                        choices=[(str(u.id), f"{u.nombre} ({u.username})") for u in ficha.personas])]
        self._pages.render(req, resp, "asignar.html", falcon.HTTP_422 if error else falcon.HTTP_200, e=expediente,
                           ficha=ficha, fields=fields, valores={"usuario": valor},
                           errores=error.campos if error else {}, mensaje=str(error) if error else "")

    def on_get(self, req, resp, numero):
        self._form(req, resp, numero)

    def on_post(self, req, resp, numero):
        form = read_form(req)
        valor = (form.get("usuario") or "").strip()
        try:
            hecha = asignacion.asignar(self._services, staff_actor(req), numero,
                                       int(valor) if valor.isdigit() and len(valor) < 19 else None)
        except InvalidInput as exc:
            self._form(req, resp, numero, exc, valor)
            return
        self._pages.redirect(req, resp, f"/expedientes/{numero}",
                             f"El expediente {numero} quedó asignado a {hecha.usuario.nombre}.")


class MisExpedientes:
    """The tasks of the expedientes assigned to the user in their office."""

    def __init__(self, pages):
        self._pages = pages

    def on_get(self, req, resp):
        pagina = asignacion.mis_expedientes(staff_actor(req), *_pagina(req))
        self._pages.render(req, resp, "mis_expedientes.html", pagina=pagina)


class HistorialOficina:
    """Every expediente the user's office ever held, newest arrival first, searchable."""

    def __init__(self, pages, services):
        self._pages = pages
        self._services = services

    def on_get(self, req, resp):
        q = (req.get_param("q") or "").strip()[:200]
        pagina = asignacion.historial(self._services, staff_actor(req), q, *_pagina(req))
        self._pages.render(req, resp, "historial_oficina.html", pagina=pagina, q=q)
