"""Fig. 2: the home page, with the figures that matter to the user's role and office.

Each figure opens the list of exactly the rows it counts: the count and the link come from one filter."""
from __future__ import annotations

from ..tramites import listados
from .expedientes import actor_of, consulta
from .middleware import require


class Inicio:
    def __init__(self, pages, services):
        self._pages = pages
        self._services = services

    def on_get(self, req, resp):
        require(req)
        vista = listados.inicio(self._services, actor_of(req))
        enlaces = {clave: f"/tramites?{consulta(filtro)}" for clave, filtro in vista.filtros.items()}
        self._pages.render(req, resp, "inicio.html", figuras=vista.figuras, enlaces=enlaces, tareas=vista.tareas,
                           hoy=vista.hoy)
