"""Reportes (issue 16, item 4): the page of a period and its files (.xlsx, each table as CSV)."""
from __future__ import annotations

from urllib.parse import urlencode

from ..errors import InvalidInput, NotFound
from ..tramites import exportar, reportes
from .expedientes import date_param, staff_actor

HOJAS = {"oficinas": "Por oficina", "personas": "Por persona", "procedimientos": "Por procedimiento"}


def _reporte(services, req) -> reportes.Reporte:
    errors: dict[str, str] = {}
    desde, hasta = date_param(req, "desde", errors), date_param(req, "hasta", errors)
    if errors:
        raise InvalidInput("Use fechas válidas (día/mes/año) para el periodo.", errors)
    hoy = services.calendario.fecha_local(services.clock())
    return reportes.reporte(services, staff_actor(req), reportes.periodo(desde, hasta, hoy))


class Reportes:
    def __init__(self, pages, services):
        self._pages = pages
        self._services = services

    def on_get(self, req, resp):
        r = _reporte(self._services, req)
        propia = staff_actor(req).rol == "oficina"
        self._pages.render(req, resp, "reportes.html", periodo=r.periodo, tablas=reportes.tablas(r),
                           encabezados=reportes.ENCABEZADOS, propia=propia, errores={},
                           query=urlencode({"desde": r.periodo.desde.isoformat(), "hasta": r.periodo.hasta.isoformat()}))


class ExportarReportes:
    """``?formato=xlsx``: every table, a sheet each; ``?formato=csv&tabla=oficinas|personas|procedimientos``: one."""

    def __init__(self, services):
        self._services = services

    def on_get(self, req, resp):
        r = _reporte(self._services, req)
        tablas = reportes.tablas(r)
        if staff_actor(req).rol == "oficina":
            del tablas["procedimientos"]  # the whole register's figures: not an office's
        nombre = f"reporte-{r.periodo.desde.isoformat()}-{r.periodo.hasta.isoformat()}"
        if req.get_param("formato") == "csv":
            tabla = req.get_param("tabla") or ""
            if tabla not in tablas:
                raise NotFound(f"No hay una tabla «{tabla}» en el reporte: use {', '.join(tablas)}.")
            resp.content_type = "text/csv; charset=utf-8"
            resp.set_header("Content-Disposition", f'attachment; filename="{nombre}-{tabla}.csv"')
            resp.text = exportar.csv_de(reportes.ENCABEZADOS[tabla], tablas[tabla])
            return
        resp.content_type = exportar.XLSX
        resp.set_header("Content-Disposition", f'attachment; filename="{nombre}.xlsx"')
        resp.data = exportar.libro({HOJAS[t]: (reportes.ENCABEZADOS[t], filas) for t, filas in tablas.items()})
