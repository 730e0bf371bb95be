"""The casilla electrónica on the portal (DOMAIN rule 15): reached with the código de seguimiento and the sender's
identity document; each act deposited, opened (the opening is recorded), acknowledged, its documents and its
constancia de notificación. The consent is given or revoked from the public seguimiento; staff download the
constancia of any notification of an expediente they may see."""
from __future__ import annotations

from urllib.parse import urlencode

import falcon

from ..errors import NotFound
from ..tramites import casilla, constancia_notificacion, expedientes
from .requests import read_form


def _credenciales(req, form=None) -> tuple[str, str]:
    get = (lambda k: form.get(k)) if form is not None else req.get_param
    return (get("codigo") or "").strip(), (get("documento") or "").strip()


def _query(codigo: str, documento: str) -> str:
    return urlencode({"codigo": codigo, "documento": documento})


def _pdf(resp, data: bytes, nombre: str):
    resp.content_type = "application/pdf"
    resp.set_header("Content-Disposition", f'attachment; filename="{nombre}"')
    resp.data = data


class Casilla:
    """``/casilla``: the form (código + documento), then every act notified on that expediente."""

    def __init__(self, pages, services):
        self._pages = pages
        self._services = services

    def on_get(self, req, resp):
        codigo, documento = _credenciales(req)
        error = ""
        if codigo and documento:
            try:
                expediente = casilla.acceder(codigo, documento)
            except NotFound as exc:
                error = exc.message
            else:
                self._pages.render(req, resp, "publico/casilla.html", e=expediente, vigente=casilla.vigente(expediente),
                                   notificaciones=casilla.de_expediente(self._services, expediente),
                                   q=_query(codigo, documento))
                return
        elif codigo or documento or req.get_param("enviado"):
            error = "Escriba el código de seguimiento y el número de su documento de identidad."
        self._pages.render(req, resp, "publico/casilla_acceso.html", status=falcon.HTTP_404 if error else falcon.HTTP_200,
                           error=error, codigo=codigo)


class NotificacionCasilla:
    """One deposited act: opening it records the opening; «Acusar recibo»; its documents and constancia."""

    def __init__(self, pages, services):
        self._pages = pages
        self._services = services

    def on_get(self, req, resp, notificacion_id):
        codigo, documento = _credenciales(req)
        expediente, v = casilla.abrir(self._services, codigo, documento, notificacion_id, ip=req.remote_addr or "")
        self._pages.render(req, resp, "publico/casilla_notificacion.html", e=expediente, n=v,
                           codigo=codigo, documento=documento, q=_query(codigo, documento))

    def on_post_acuse(self, req, resp, notificacion_id):
        form = read_form(req)
        codigo, documento = _credenciales(req, form)
        casilla.acusar(self._services, codigo, documento, notificacion_id, ip=req.remote_addr or "")
        self._pages.redirect(req, resp, f"/casilla/notificaciones/{notificacion_id}?{_query(codigo, documento)}",
                             "Registramos su acuse de recibo: la notificación surte efecto hoy.")

    def on_get_documento(self, req, resp, notificacion_id, indice):
        from .expedientes import content_disposition

        codigo, documento = _credenciales(req)
        archivo = casilla.documento(self._services, codigo, documento, notificacion_id, indice)
        resp.content_type = "application/pdf"
        resp.set_header("Content-Disposition", content_disposition("attachment", archivo.nombre))
        resp.set_header("Content-Security-Policy", "sandbox; default-src 'none'")
        resp.set_stream(archivo.path.open("rb"), archivo.path.stat().st_size)

    def on_get_constancia(self, req, resp, notificacion_id):
        codigo, documento = _credenciales(req)
        expediente = casilla.acceder(codigo, documento)
        n = casilla.en_casilla(expediente, notificacion_id)
        _pdf(resp, constancia_notificacion.sellada(self._services, expediente, n),
             f"constancia-notificacion-{expediente.numero}-{n.id}.pdf")


class ConsentimientoPublico:
    """``POST /seguimiento/{codigo}/casilla``: the citizen opts in to (``accion=otorga``) or revokes the casilla."""

    def __init__(self, pages, services):
        self._pages = pages
        self._services = services

    def on_post(self, req, resp, codigo):
        form = read_form(req)
        otorga = form.get("accion") == casilla.OTORGA
        casilla.cambiar_consentimiento(self._services, codigo, otorga, ip=req.remote_addr or "")
        self._pages.redirect(req, resp, f"/seguimiento/{codigo}",
                             "Desde ahora los actos de este expediente se notifican en su casilla electrónica."
                             if otorga else "Revocó la casilla electrónica: los actos siguientes se notifican por correo.")


class ConstanciaNotificacionStaff:
    """``/expedientes/{numero}/notificaciones/{id}/constancia.pdf`` for staff who may see the expediente."""

    def __init__(self, services):
        self._services = services

    def on_get(self, req, resp, numero, notificacion_id):
        from .expedientes import staff_actor

        expediente = expedientes.visible(staff_actor(req), numero)
        n = casilla.notificacion_de(expediente, notificacion_id)
        _pdf(resp, constancia_notificacion.sellada(self._services, expediente, n),
             f"constancia-notificacion-{expediente.numero}-{n.id}.pdf")


def add_casilla_routes(app, pages, services):
    app.add_route("/casilla", Casilla(pages, services))
    notificacion = NotificacionCasilla(pages, services)
    app.add_route("/casilla/notificaciones/{notificacion_id:int}", notificacion)
    app.add_route("/casilla/notificaciones/{notificacion_id:int}/acuse", notificacion, suffix="acuse")
    app.add_route("/casilla/notificaciones/{notificacion_id:int}/documentos/{indice:int}", notificacion,
                  suffix="documento")
    app.add_route("/casilla/notificaciones/{notificacion_id:int}/constancia.pdf", notificacion, suffix="constancia")
    app.add_route("/seguimiento/{codigo}/casilla", ConsentimientoPublico(pages, services))
    app.add_route("/expedientes/{numero}/notificaciones/{notificacion_id:int}/constancia.pdf",
                  ConstanciaNotificacionStaff(services))
