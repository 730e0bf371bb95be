"""Administración › Feriados locales: the municipality's own non-working days, by year, next to the national
holidays the calendar already knows (the actions are :mod:`mpv.tramites.feriados`'s)."""
from __future__ import annotations

from ..engine.forms import Field
from ..errors import InvalidInput
from ..tramites import feriados
from .admin_base import AdminResource, texto
from .requests import read_form

FIELDS = [
    Field("fecha", "Fecha", "date", True, help="Elíjala en el calendario o escríbala como dd/mm/aaaa."),
    Field("nombre", "Motivo", "text", True, max_length=200, placeholder="Aniversario de creación del distrito"),
    Field("tipo", "Tipo", "select", True, choices=list(feriados.TIPOS.items())),
]


def add_feriado_routes(app, pages, services):
    pagina = Feriados(pages, services)
    app.add_route("/admin/feriados", pagina)
    app.add_route("/admin/feriados/{feriado_id:int}/eliminar", pagina, suffix="eliminar")


class Feriados(AdminResource):
    """GET ?anio=: the year's holidays, local ones deletable. POST: add one. POST …/eliminar: delete one."""

    template = "admin/feriados.html"

    def _year_page(self, req, resp, actor, anio: int | None, error=None, valores=None):
        lista = feriados.del_anio(self._services, actor, anio)
        self._show(req, resp, error, valores or {"tipo": "local"}, anio=lista.anio, filas=lista.dias, fields=FIELDS)

    def on_get(self, req, resp):
        actor = self._actor(req)
        anio = req.get_param_as_int("anio", min_value=feriados.PRIMER_ANIO, max_value=feriados.ULTIMO_ANIO)
        self._year_page(req, resp, actor, anio)

    def on_post(self, req, resp):
        actor = self._actor(req)
        form = read_form(req)
        valores = {name: texto(form, name) for name in ("fecha", "nombre", "tipo")}
        fecha = feriados.leer_fecha(valores["fecha"])
        if fecha:
            valores["fecha"] = fecha.isoformat()  # what a date control shows again
        try:
            feriado = feriados.registrar(self._services, actor, fecha, valores["nombre"], valores["tipo"])
        except InvalidInput as exc:
            self._year_page(req, resp, actor, fecha.year if fecha else None, exc, valores)
            return
        self._pages.redirect(req, resp, f"/admin/feriados?anio={feriado.fecha.year}",
                             f"Se registró el {feriado.fecha:%d/%m/%Y} ({feriado.nombre}) como día no hábil. "
                             f"{feriados.plazos_movidos(feriado)}")

    def on_post_eliminar(self, req, resp, feriado_id):
        actor = self._actor(req)
        read_form(req)
        feriado = feriados.eliminar(self._services, actor, feriado_id)
        self._pages.redirect(req, resp, f"/admin/feriados?anio={feriado.fecha.year}",
                             f"Se eliminó el feriado del {feriado.fecha:%d/%m/%Y} ({feriado.nombre}); "
                             "ese día vuelve a ser hábil si no es fin de semana ni feriado nacional. "
                             f"{feriados.plazos_movidos(feriado)}")
