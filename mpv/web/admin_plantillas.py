"""Administración › Plantillas: the text each type of official document starts from, with a preview (the actions
are :mod:`mpv.tramites.plantillas`'s)."""
from __future__ import annotations

from ..engine.forms import Field
from ..errors import InvalidInput
from ..tramites import plantillas
from .admin_base import AdminResource
from .requests import read_form

FIELDS = [
    Field("asunto", "Asunto (opcional)", "text", False, max_length=plantillas.LIMITES["asunto"],
          help="El asunto con el que empieza el borrador; vacío, el redactor lo escribe."),
    Field("cuerpo", "Texto del documento", "textarea", True, max_length=plantillas.LIMITES["cuerpo"],
          help="Separe los párrafos con una línea en blanco. Escriba una variable entre llaves dobles, por ejemplo "
               "{{ remitente }}; puede aplicarle un filtro ({{ remitente|upper }}: "
               + ", ".join(plantillas.FILTROS) + ") y usar {% if procedimiento %}…{% else %}…{% endif %}."),
]


def add_plantilla_routes(app, pages, services):
    app.add_route("/admin/plantillas", Plantillas(pages, services))
    app.add_route("/admin/plantillas/{tipo}", Plantilla(pages, services))


class Plantillas(AdminResource):
    """The list of the types and their templates."""

    template = "admin/plantillas.html"

    def on_get(self, req, resp):
        self._show(req, resp, plantillas=plantillas.todas(self._services, self._actor(req)))


class Plantilla(AdminResource):
    """GET: a type's template. POST: «Vista previa» shows it filled with the example's data; «Guardar» saves it."""

    template = "admin/plantilla.html"

    def _pagina(self, req, resp, plantilla, valores, error=None, previa=None):
        self._show(req, resp, error, valores, plantilla=plantilla, fields=FIELDS, previa=previa,
                   variables=plantillas.VARIABLES, ejemplo=plantillas.EJEMPLO)

    def on_get(self, req, resp, tipo):
        plantilla = plantillas.de_tipo(self._services, self._actor(req), tipo)
        self._pagina(req, resp, plantilla, {"asunto": plantilla.asunto, "cuerpo": plantilla.cuerpo})

    def on_post(self, req, resp, tipo):
        actor = self._actor(req)
        plantilla = plantillas.de_tipo(self._services, actor, tipo)
        form = read_form(req)
        valores = {"asunto": form.get("asunto"), "cuerpo": form.get("cuerpo")}
        try:
            if form.get("accion") == "vista_previa":
                previa = plantillas.vista_previa(self._services, actor, tipo, **valores)
                self._pagina(req, resp, plantilla, valores, previa=previa)
                return
            plantilla = plantillas.guardar(self._services, actor, tipo, **valores)
        except InvalidInput as exc:
            self._pagina(req, resp, plantilla, valores, exc)
            return
        self._pages.redirect(req, resp, "/admin/plantillas", f"Se guardó la plantilla de {plantilla.nombre}.")
