"""Administración › Correos: the queue of e-mails to citizens by state, and «Reintentar» for the ones that failed
or wait for their next attempt (the actions are :mod:`mpv.correo.cola`'s, the sending :mod:`mpv.correo.mailer`'s)."""
from __future__ import annotations

from urllib.parse import urlencode

from ..correo import cola
from ..correo.mailer import ESPERAS_MINUTOS, ESTADOS, MAX_INTENTOS
from ..correo.mensajes import NOMBRES
from ..errors import Conflict
from .admin_base import AdminResource
from .requests import read_form

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
        actor = self._actor(req)
        pagina = cola.pagina(self._services, actor, req.get_param("estado") or "",
                             req.get_param_as_int("antes", min_value=1))
        self._show(req, resp, filas=pagina.filas, estado=pagina.estado, cuentas=pagina.cuentas, etiquetas=ETIQUETAS,
                   tipos=NOMBRES, max_intentos=MAX_INTENTOS, esperas=esperas(), siguiente=pagina.siguiente,
                   antes=pagina.antes)

    def on_post_reintentar(self, req, resp, correo_id):
        actor = self._actor(req)
        volver = _lista(read_form(req).get("estado"))
        try:
            correo = cola.reintentar(self._services, actor, correo_id)
        except Conflict as exc:
            self._pages.redirect(req, resp, volver, exc.message)
        numero = f" del expediente {correo.expediente.numero}" if correo.expediente_id else ""
        self._pages.redirect(req, resp, volver,
                             f"El correo N° {correo.id}{numero} a {correo.destinatario} se enviará en la próxima "
                             f"ronda de envío (cada {self._services.settings.timer_interval:g} segundos).")
