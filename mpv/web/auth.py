"""Fig. 1: access with user and password; logout."""
from __future__ import annotations

import falcon

from ..errors import NotAllowed, Throttled
from .errors import form_status
from .middleware import SESSION_COOKIE, clear_cookie, set_cookie
from .requests import read_form


def _safe_next(value: str) -> str:
    """Only a path of this site (no scheme, no //host) may follow a login."""
    if value.startswith("/") and not value.startswith("//") and "\\" not in value:
        return value
    return "/inicio"


class Login:
    def __init__(self, pages, sessions):
        self._pages = pages
        self._sessions = sessions

    def on_get(self, req, resp):
        if req.context.usuario is not None:
            raise falcon.HTTPSeeOther("/inicio")
        self._pages.render(req, resp, "login.html", username="", error="",
                           siguiente=_safe_next(req.get_param("siguiente") or "/inicio"))

    def on_post(self, req, resp):
        form = read_form(req)
        username, siguiente = form.get("username").strip(), _safe_next(form.get("siguiente") or "/inicio")
        try:
            token, usuario = self._sessions.login(username, form.get("password"), ip=req.remote_addr or "",
                                                  anterior=req.cookies.get(SESSION_COOKIE))
        except (NotAllowed, Throttled) as exc:
            # The form again with the name typed: 401, authentication failed (not a denial, which
            # mpv.web.errors would audit as one: the failure is already audited as a login's), or 429 while
            # the account waits.
            status = form_status(resp, exc) if isinstance(exc, Throttled) else falcon.HTTP_401
            self._pages.render(req, resp, "login.html", status=status, username=username, error=exc.message,
                               siguiente=siguiente)
            return
        set_cookie(req, resp, SESSION_COOKIE, token)
        raise falcon.HTTPSeeOther("/cuenta" if usuario.cambiar_clave else siguiente)


class Logout:
    def __init__(self, sessions):
        self._sessions = sessions

    def on_post(self, req, resp):
        read_form(req)
        self._sessions.logout(req.cookies.get(SESSION_COOKIE), ip=req.remote_addr or "")
        clear_cookie(req, resp, SESSION_COOKIE)
        raise falcon.HTTPSeeOther("/login")
