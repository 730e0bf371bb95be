"""Fig. 2: the home page, with the figures that matter to the user's role and office.

Each figure opens the list of exactly the rows it counts: the count and the link come from one filter."""
from __future__ import annotations

from ..tramites import listados
from ..models import Tarea
from .expedientes import consulta
from .middleware import require


class Inicio:
    def __init__(self, pages, services):
        self._pages = pages
        self._services = services

    def on_get(self, req, resp):
        usuario = require(req)
        cal = self._services.calendario
        hoy = listados.Hoy.segun(cal, self._services.clock())
        figures = listados.contadores(usuario, hoy, cal.tz)
        enlaces = {clave: f"/tramites?{consulta(filtro)}" for clave, filtro in listados.filtros_inicio(usuario, hoy).items()}
        tareas = []
        if usuario.rol in ("mesa", "oficina"):
            query = Tarea.select().where(Tarea.rol == usuario.rol)
            if usuario.rol == "oficina":
                query = query.where(Tarea.oficina == usuario.oficina_id)
            tareas = list(query.order_by(Tarea.desde).limit(10))
        self._pages.render(req, resp, "inicio.html", figuras=figures, enlaces=enlaces, tareas=tareas, hoy=hoy.fecha)
