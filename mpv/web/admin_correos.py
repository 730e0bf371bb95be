"""Administración › Correos: the queue of e-mails to citizens by state, and «Reintentar» for the ones
that failed or wait for their next attempt (the sending itself is ``mpv.correo.mailer``'s)."""
from __future__ import annotations

from urllib.parse import urlencode

import peewee

from ..correo.mailer import ESPERAS_MINUTOS, ESTADOS, MAX_INTENTOS, contar, en_envio, reintentar
from ..correo.mensajes import NOMBRES
from ..errors import Conflict
from ..models import Correo, Expediente
from .admin_base import AdminResource
from .requests import read_form

POR_PAGINA = 50
ETIQUETAS = {"pendiente": "Pendientes", "enviado": "Enviados", "fallido": "Fallidos"}


def add_correo_routes(app, pages, services):
    correos = Correos(pages, services)
    app.add_route("/admin/correos", correos)
    app.add_route("/admin/correos/{correo_id:int}/reintentar", correos, suffix="reintentar")


def esperas() -> str:
    """The retry schedule in words: «1, 5, 15 y 60 minutos; 3, 6 y 12 horas»."""
    minutos = [str(m) for m in ESPERAS_MINUTOS if m < 120]
    horas = [f"{m / 60:g}" for m in ESPERAS_MINUTOS if m >= 120]
    partes = [f"{_y(minutos)} minutos" if minutos else "", f"{_y(horas)} horas" if horas else ""]
    return "; ".join(p for p in partes if p)


def _y(items: list[str]) -> str:
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} y {items[-1]}"


def _lista(estado: str) -> str:
    return "/admin/correos" + (f"?{urlencode({'estado': estado})}" if estado in ESTADOS else "")


class Correos(AdminResource):
    """GET ?estado=&antes=: the queue, newest first. POST …/reintentar: make a row due now."""

    template = "admin/correos.html"

    def on_get(self, req, resp):
        self._admin(req)
        estado = req.get_param("estado") or ""
        if estado not in ESTADOS:
            estado = ""
        antes = req.get_param_as_int("antes", min_value=1)
        query = (Correo.select(Correo, Expediente.id, Expediente.numero)
                 .join(Expediente, peewee.JOIN.LEFT_OUTER, on=(Correo.expediente == Expediente.id))
                 .order_by(Correo.id.desc()).limit(POR_PAGINA + 1))
        if estado:
            query = query.where(Correo.estado == estado)
        if antes:
            query = query.where(Correo.id < antes)
        filas = list(query)
        siguiente = filas[POR_PAGINA - 1].id if len(filas) > POR_PAGINA else None
        now = self._services.clock()
        self._show(req, resp, filas=[(c, en_envio(c, now)) for c in filas[:POR_PAGINA]], estado=estado,
                   cuentas=contar(), etiquetas=ETIQUETAS, tipos=NOMBRES, max_intentos=MAX_INTENTOS, esperas=esperas(),
                   siguiente=siguiente, antes=antes)

    def on_post_reintentar(self, req, resp, correo_id):
        self._admin(req)
        form = read_form(req)
        volver = _lista(form.get("estado"))
        try:
            correo = reintentar(self._services, correo_id)
        except Conflict as exc:
            self._pages.redirect(req, resp, volver, exc.message)
        numero = f" del expediente {correo.expediente.numero}" if correo.expediente_id else ""
        self._audit(req, "correo_reintentado", f"Se programó el reintento del correo N° {correo.id}{numero}.")
        self._pages.redirect(req, resp, volver,
                             f"El correo N° {correo.id}{numero} a {correo.destinatario} se enviará en la próxima "
                             f"ronda de envío (cada {self._services.settings.timer_interval:g} segundos).")
