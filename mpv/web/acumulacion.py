"""Acumulación of expedientes (``mpv.tramites.acumulacion``): the form that accumulates another expediente to the
one on the page, with its reason, and the «Desacumular» button of each accumulated one."""
from __future__ import annotations

import falcon

from ..errors import Conflict, InvalidInput
from ..tramites import acumulacion
from .errors import form_status
from .expedientes import staff_actor
from .requests import read_form


class Acumulados:
    """``/expedientes/{numero}/acumulados``: GET the form; POST accumulates (303 to the expediente), or shows the
    form again with the user's values and what to fix (422) or why it cannot be done now (409)."""

    def __init__(self, pages, services):
        self._pages = pages
        self._services = services

    def _render(self, req, resp, expediente, valores: dict, errores: dict, status=falcon.HTTP_200, mensaje=""):
        self._pages.render(req, resp, "acumular.html", status=status, e=expediente, valores=valores,
                           errores=errores, mensaje=mensaje, max_motivo=acumulacion.MAX_MOTIVO)

    def on_get(self, req, resp, numero):
        expediente = acumulacion.para_acumular(self._services, staff_actor(req), numero)
        self._render(req, resp, expediente, {"acumulado": (req.get_param("acumulado") or "")[:16]}, {})

    def on_post(self, req, resp, numero):
        actor = staff_actor(req)
        expediente = acumulacion.para_acumular(self._services, actor, numero)  # refused before the form is read
        form = read_form(req)
        valores = {"acumulado": form.get("acumulado"), "motivo": form.get("motivo")}
        try:
            fila = acumulacion.acumular(self._services, actor, numero, valores["acumulado"], valores["motivo"])
        except (InvalidInput, Conflict) as exc:
            errores = getattr(exc, "campos", None) or {"__all__": exc.message}
            self._render(req, resp, expediente, valores, errores, form_status(resp, exc), exc.message)
            return
        self._pages.redirect(req, resp, f"/expedientes/{numero}",
                             f"El expediente {fila.acumulado.numero} quedó acumulado al {numero}: se tramita con él.")


class Desacumular:
    """``/expedientes/{numero}/acumulados/{acumulado}/desacumular``: separate an accumulated expediente."""

    def __init__(self, pages, services):
        self._pages = pages
        self._services = services

    def on_post(self, req, resp, numero, acumulado):
        actor = staff_actor(req)
        read_form(req)
        acumulacion.desacumular(self._services, actor, numero, acumulado)
        self._pages.redirect(req, resp, f"/expedientes/{numero}",
                             f"El expediente {acumulado} fue desacumulado del {numero}: se tramita por separado.")


def add_acumulacion_routes(app, pages, services):
    app.add_route("/expedientes/{numero}/acumulados", Acumulados(pages, services))
    app.add_route("/expedientes/{numero}/acumulados/{acumulado}/desacumular", Desacumular(pages, services))
