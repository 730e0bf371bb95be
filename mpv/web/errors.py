"""Errors → responses, in one place: a Spanish page (or JSON, under /api/ and to a request sent as JSON) with
an incident id for unexpected failures. No response ever carries a traceback; the log does.

A form shown again with its fields' messages (POST → validate → re-render) is its resource's own page; it
takes its status from here (:func:`form_status`)."""
from __future__ import annotations

import logging
import re
import secrets

import falcon

from ..errors import (Conflict, DefinitionError, InvalidInput, MPVError, NotAllowed, NotAuthenticated, NotFound,
                      Throttled, TooLarge)
from ..storage import StorageError
from ..tramites import expedientes
from .expedientes import actor_of
from .middleware import CsrfRefused, is_api

log = logging.getLogger("mpv.web")

STATUS = [
    (TooLarge, falcon.HTTP_413, "Archivo demasiado grande"),
    (InvalidInput, falcon.HTTP_422, "Datos no válidos"),
    (NotFound, falcon.HTTP_404, "No encontrado"),
    (Conflict, falcon.HTTP_409, "Esta acción ya no está disponible"),
    (NotAllowed, falcon.HTTP_403, "Acceso no permitido"),
    (NotAuthenticated, falcon.HTTP_401, "Token no válido"),
    (Throttled, falcon.HTTP_429, "Demasiadas solicitudes"),
    (DefinitionError, falcon.HTTP_422, "El proceso no es válido"),
    (StorageError, falcon.HTTP_503, "No se pudo guardar"),
]

HTTP_TITLES = {
    404: ("Página no encontrada", "La dirección que abrió no existe en MPV. Revise el enlace o vuelva al inicio."),
    405: ("Acción no permitida", "Esa acción no se puede realizar desde esta dirección."),
    400: ("Solicitud no válida", "La solicitud no se pudo leer. Vuelva a la página anterior e inténtelo de nuevo."),
    413: ("Archivo demasiado grande", "El envío supera el tamaño máximo permitido."),
    415: ("Formato no admitido", "El formato del envío no es el esperado."),
    429: ("Demasiadas solicitudes", "Espere un momento y vuelva a intentarlo."),
}


class HTTPMessage(falcon.HTTPError):
    """An HTTP error (400, 415…) raised by MPV whose ``description`` is already its Spanish message for
    the user: shown as is, where Falcon's own English descriptions give way to :data:`HTTP_TITLES`."""

    def __init__(self, status, message: str):
        super().__init__(status, description=message)


_EXPEDIENTE_PATH = re.compile(r"^/expedientes/(\d{4}-\d{6})(/|$)")


def status_of(exc: MPVError) -> tuple[str, str] | None:
    """(HTTP status, page title) of a domain error, from :data:`STATUS`; None for one it does not name."""
    for cls, status, title in STATUS:
        if isinstance(exc, cls):
            return status, title
    return None


def form_status(resp, exc: MPVError) -> str:
    """The status of a form shown again for ``exc`` (422 for bad input, 429 for a wait…), with the
    ``Retry-After`` header a wait asks for."""
    if isinstance(exc, Throttled):
        resp.set_header("Retry-After", str(exc.retry_after))
    if isinstance(exc, NotAuthenticated):
        resp.set_header("WWW-Authenticate", 'Bearer realm="mpv"')
    return status_of(exc)[0]


def answers_json(req) -> bool:
    """The JSON API, and a page's script that sent JSON (the diagram editor), read errors as JSON."""
    return is_api(req) or (req.content_type or "").startswith("application/json")


def _expediente_of(req):
    """The expediente of the page, as it is now, when the signed-in user may see it (None otherwise)."""
    match = _EXPEDIENTE_PATH.match(req.path)
    if not match or getattr(req.context, "usuario", None) is None:
        return None
    try:
        return expedientes.visible(actor_of(req), match.group(1))
    except (NotFound, NotAllowed):
        return None


def _problemas(exc: DefinitionError) -> list[dict]:
    """Each problem by its element id, as the diagram editor marks them (the message alone when none is named)."""
    return ([{"elemento": p.element, "mensaje": p.message} for p in exc.problems]
            or [{"elemento": "archivos", "mensaje": exc.message}])


class ErrorPages:
    def __init__(self, pages, sessions):
        self._pages = pages
        self._sessions = sessions

    def install(self, app: falcon.App):
        app.add_error_handler(Exception, self.unexpected)
        app.add_error_handler(falcon.HTTPError, self.http_error)
        app.add_error_handler(MPVError, self.domain)

    def _respond(self, req, resp, status, title, message, extra=None, incident=None):
        resp.status = status
        if answers_json(req):
            body = {"error": message, "campos": {}}  # one shape for every API error (see mpv.web.openapi)
            body.update(extra or {})
            if incident:
                body["incidente"] = incident
            resp.media = body
            return
        self._pages.render(req, resp, "error.html", status=status, titulo=title, mensaje=message,
                           incidente=incident, extra=extra or {})

    def domain(self, req, resp, exc, params):
        known = status_of(exc)
        if known is None:
            incident = secrets.token_hex(4).upper()
            log.error("Incident %s on %s %r: %r", incident, req.method, req.path, exc.message, exc_info=exc)
            self._respond(req, resp, falcon.HTTP_500, "No se pudo completar la acción", exc.message,
                          incident=incident)
            return
        usuario = getattr(req.context, "usuario", None)
        if isinstance(exc, NotAllowed):
            log.warning("Denied %s %r for %r: %r", req.method, req.path,
                        usuario.username if usuario else "anónimo", exc.message)
            self._sessions.denied(usuario, req.remote_addr or "", req.method, req.path, exc.message,
                                  "csrf" if isinstance(exc, CsrfRefused) else "denegado")
        if isinstance(exc, Throttled):
            log.warning("Rate limit: %s %r from %r", req.method, req.path, req.remote_addr)
            self._sessions.limited(usuario, req.remote_addr or "", req.method, req.path, exc.retry_after)
        extra = {"campos": exc.campos} if isinstance(exc, InvalidInput) and exc.campos else {}
        if isinstance(exc, DefinitionError) and answers_json(req):
            extra["problemas"] = _problemas(exc)
        if isinstance(exc, Conflict) and not answers_json(req):
            extra["expediente"] = _expediente_of(req)  # the fresh state, next to the message
        self._respond(req, resp, form_status(resp, exc), known[1], exc.message, extra)

    def http_error(self, req, resp, exc, params):
        code = int(exc.status_code)
        title, message = HTTP_TITLES.get(code, (exc.title or "Error", exc.description or "Ocurrió un error."))
        if isinstance(exc, HTTPMessage):
            message = exc.description
        if exc.headers:
            for name, value in exc.headers.items():
                resp.set_header(name, value)
        self._respond(req, resp, exc.status, title, message)

    def unexpected(self, req, resp, exc, params):
        incident = secrets.token_hex(4).upper()
        log.error("Incident %s on %s %r", incident, req.method, req.path, exc_info=exc)
        self._respond(req, resp, falcon.HTTP_500, "Error interno",
                      "Ocurrió un error inesperado; nada se guardó a medias. Si vuelve a ocurrir, comuníquese "
                      "con soporte e indique el código de incidente.", incident=incident)
