"""Process analytics: the page of charts and tables (/analitica) and each table as CSV.

Each page reads the filter from the query string and renders what one action of :mod:`mpv.auditoria.tablero`
returns; that module says who reads, checks the filter and keeps the figures a few minutes.
"""
from __future__ import annotations

from ..auditoria import tablero
from ..auditoria.tablero import TABLAS, CalentadorAnalitica, Consulta, Memoria
from .expedientes import staff_actor

__all__ = ["Analitica", "AnaliticaCsv", "CalentadorAnalitica", "Memoria", "add_analitica_routes"]

HORA = 3600


def _consulta(req) -> Consulta:
    return Consulta(*(req.get_param(name) or "" for name in ("desde", "hasta", "oficina", "tipo")))


def _grafico(nombre: str, filas: list) -> dict:
    """What static/analitica.js draws for one table: labels and series (times in hours)."""
    labels = [f.nombre for f in filas]
    if TABLAS[nombre].tiempos:
        series = [{"label": "Mediana (horas)", "data": [round(f.mediana / HORA, 2) for f in filas]},
                  {"label": "Percentil 90 (horas)", "data": [round(f.p90 / HORA, 2) for f in filas]}]
    else:
        series = [{"label": "Cantidad", "data": [f.cantidad for f in filas]}]
    return {"id": nombre, "tipo": "line" if nombre == "por-dia" else "bar", "labels": labels, "series": series}


class Analitica:
    """Every table of the process analytics for the filter, each with its chart."""

    def __init__(self, pages, services, memoria: Memoria):
        self._pages = pages
        self._services = services
        self._memoria = memoria

    def on_get(self, req, resp):
        datos = tablero.ver_tablero(self._services, staff_actor(req), self._memoria, _consulta(req))
        self._pages.render(
            req, resp, "analitica/analitica.html", filtro=datos.filtro, errores=datos.errores, tablas=datos.tablas,
            TABLAS=TABLAS, minutos=tablero.MINUTOS_EN_MEMORIA, total=datos.total,
            graficos=[_grafico(n, filas) for n, filas in datos.tablas.items()], oficinas=datos.oficinas,
            tipos=datos.tipos, query=req.query_string or "")


class AnaliticaCsv:
    """One table of /analitica as CSV, for the same filter. :raise NotFound: for an unknown table."""

    def __init__(self, services, memoria: Memoria):
        self._services = services
        self._memoria = memoria

    def on_get(self, req, resp, tabla):
        exportacion = tablero.exportar_tabla(self._services, staff_actor(req), self._memoria, tabla, _consulta(req))
        resp.content_type = "text/csv; charset=utf-8"
        resp.set_header("Content-Disposition", f'attachment; filename="{exportacion.nombre}"')
        resp.data = b"".join(exportacion.contenido)  # one table: small, sent whole (with its length)


def add_analitica_routes(app, pages, services) -> Memoria:
    """The routes of /analitica; returns the memory they share (for :class:`CalentadorAnalitica`)."""
    memoria = Memoria()
    app.add_route("/analitica", Analitica(pages, services, memoria))
    app.add_route("/analitica/{tabla}.csv", AnaliticaCsv(services, memoria))
    return memoria
