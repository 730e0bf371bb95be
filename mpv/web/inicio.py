"""Fig. 2: the home page, with the figures that matter to the user's role and office."""
from __future__ import annotations

from datetime import datetime, time

from .. import listados
from ..models import Tarea
from .middleware import require


class Inicio:
    def __init__(self, pages, services):
        self._pages = pages
        self._services = services

    def on_get(self, req, resp):
        usuario = require(req)
        cal, now = self._services.calendario, self._services.clock()
        hoy = cal.fecha_local(now)
        figures = listados.contadores(usuario, now, datetime.combine(hoy, time(0), cal.tz),
                                      cal.vencimiento(hoy, 2))
        tareas = []
        if usuario.rol in ("mesa", "oficina"):
            query = Tarea.select().where(Tarea.rol == usuario.rol)
            if usuario.rol == "oficina":
                query = query.where(Tarea.oficina == usuario.oficina_id)
            tareas = list(query.order_by(Tarea.desde).limit(10))
        self._pages.render(req, resp, "inicio.html", figuras=figures, tareas=tareas, hoy=hoy)
