"""Mi cuenta (every staff user): change one's own password, see one's open sessions and end them.

A user whose password an administrator set (new user, reset) is sent here before anything else
(:class:`mpv.web.middleware.SessionMiddleware`) until they choose their own.
"""
from __future__ import annotations

import falcon

from ..errors import InvalidInput, MPVError, Throttled
from ..passwords import MIN_LENGTH
from ..tramites.sessions import Current
from .errors import form_status
from .middleware import require
from .requests import read_form


class Cuenta:
    def __init__(self, pages, sessions):
        self._pages = pages
        self._sessions = sessions

    def _show(self, req, resp, error: MPVError | None = None):
        """The page; again with ``error``'s messages next to the fields it names (422, or 429 while the
        account waits)."""
        usuario = require(req)
        self._pages.render(req, resp, "cuenta.html", status=form_status(resp, error) if error else falcon.HTTP_200,
                           sesiones=self._sessions.of(usuario.id), actual_id=req.context.sesion.id,
                           errores=getattr(error, "campos", {}), mensaje=error.message if error else "",
                           min_length=MIN_LENGTH)

    def on_get(self, req, resp):
        self._show(req, resp)

    def on_post_clave(self, req, resp):
        require(req)
        form = read_form(req)
        try:
            self._sessions.change_password(self._current(req), form.get("actual"), form.get("nueva"),
                                           form.get("confirmacion"), ip=req.remote_addr or "")
        except (InvalidInput, Throttled) as exc:
            self._show(req, resp, exc)
            return
        self._pages.redirect(req, resp, "/cuenta", "Se cambió su contraseña; sus otras sesiones se cerraron.")

    def on_post_cerrar(self, req, resp, sesion_id):
        require(req)
        read_form(req)
        try:
            self._sessions.end_one(self._current(req), sesion_id, ip=req.remote_addr or "")
        except InvalidInput as exc:
            self._show(req, resp, exc)
            return
        self._pages.redirect(req, resp, "/cuenta", "Se cerró la sesión.")

    @staticmethod
    def _current(req) -> Current:
        return Current(req.context.sesion, req.context.usuario)


def add_cuenta_routes(app, pages, sessions):
    cuenta = Cuenta(pages, sessions)
    app.add_route("/cuenta", cuenta)
    app.add_route("/cuenta/clave", cuenta, suffix="clave")
    app.add_route("/cuenta/sesiones/{sesion_id:int}/cerrar", cuenta, suffix="cerrar")
