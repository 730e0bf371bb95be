"""What every page needs: the renderer with the request's user, CSRF token, navigation and notices."""
from __future__ import annotations

from urllib.parse import quote, unquote

import falcon

from .middleware import clear_cookie, expected_csrf, set_cookie

NOTICE_COOKIE = "mpv_aviso"

NAV = {
    "mesa": [("/inicio", "Inicio"), ("/tramites", "Trámites recibidos"),
             ("/presencial", "Registrar trámite en físico"), ("/mis-expedientes", "Mis expedientes"),
             ("/reportes", "Reportes")],
    "oficina": [("/inicio", "Inicio"), ("/bandeja", "Bandeja de la oficina"), ("/mis-expedientes", "Mis expedientes"),
                ("/oficina/historial", "Historial de la oficina"), ("/reportes", "Reportes")],
    "auditor": [("/inicio", "Inicio"), ("/tramites", "Trámites recibidos"), ("/auditoria", "Auditoría"),
                ("/analitica", "Analítica"), ("/reportes", "Reportes")],
    "analista": [("/inicio", "Inicio"), ("/tramites", "Trámites recibidos"), ("/definiciones", "Procesos"),
                 ("/analitica", "Analítica"), ("/reportes", "Reportes")],
    "admin": [("/inicio", "Inicio"), ("/tramites", "Trámites recibidos"), ("/auditoria", "Auditoría"),
              ("/definiciones", "Procesos"), ("/analitica", "Analítica"), ("/admin", "Administración")],
}
SOLO_JEFES = {("oficina", "/reportes")}  # an office's report is its head's


def nav(usuario) -> list[tuple[str, str]]:
    """The menu of ``usuario`` (none when nobody is logged in)."""
    if usuario is None:
        return []
    return [(href, texto) for href, texto in NAV.get(usuario.rol, [])
            if usuario.jefe or (usuario.rol, href) not in SOLO_JEFES]


def _csrf(req) -> str:
    try:
        return expected_csrf(req)
    except AttributeError:  # an error raised before the session middleware ran
        return ""


class Pages:
    def __init__(self, renderer):
        self.renderer = renderer

    def render(self, req, resp, template: str, status=falcon.HTTP_200, **context):
        usuario = getattr(req.context, "usuario", None)
        notice = req.cookies.get(NOTICE_COOKIE)
        if notice is not None:
            clear_cookie(req, resp, NOTICE_COOKIE)
        # An emptied cookie comes back as "" (two quotes; quote() escapes a real notice's): no notice at all.
        aviso = unquote(notice.strip('"')).strip() if notice else ""
        resp.status = status
        resp.content_type = falcon.MEDIA_HTML
        resp.text = self.renderer.render(
            template, usuario=usuario, csrf=_csrf(req), nav=nav(usuario),
            aviso=aviso, request_path=req.path, **context)

    @staticmethod
    def redirect(req, resp, location: str, notice: str = ""):
        """303 to ``location``, with a one-time notice shown by the next page."""
        if notice:
            set_cookie(req, resp, NOTICE_COOKIE, quote(notice), max_age=120)
        raise falcon.HTTPSeeOther(location)
