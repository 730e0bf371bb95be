"""Middleware: the signed-in user, CSRF on every unsafe request, and security headers on every response."""
from __future__ import annotations

import hmac
import secrets
from datetime import datetime, timezone
from urllib.parse import urlsplit

import falcon

from ..errors import NotAllowed

SESSION_COOKIE = "mpv_sesion"
CSRF_COOKIE = "mpv_csrf"
UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}
HSTS = "max-age=31536000; includeSubDomains"
EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
CAMBIO_DE_CLAVE = {"/cuenta", "/cuenta/clave", "/logout"}  # all a user with a temporary password may reach

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
       "font-src 'self'; connect-src 'self'; worker-src 'self' blob:; object-src 'none'; "
       "frame-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'")


def is_api(req) -> bool:
    return req.path.startswith("/api/")


def set_cookie(req, resp, name: str, value: str, max_age: int | None = None, expires: datetime | None = None):
    """Set ``name`` for the whole site, HttpOnly, SameSite=Lax, Secure over HTTPS."""
    resp.set_cookie(name, value, max_age=max_age, expires=expires, path="/", secure=req.scheme == "https",
                    http_only=True, same_site="Lax")


def clear_cookie(req, resp, name: str):
    """Expire a cookie, with the same flags it was set with.

    By an ``Expires`` date in the past: Falcon writes no ``Max-Age`` when it is 0, and without either the
    browser would keep the emptied cookie for the rest of its session."""
    set_cookie(req, resp, name, "", expires=EPOCH)


class SessionMiddleware:
    """Loads the session behind the cookie into ``req.context`` (``usuario``, ``sesion``)."""

    def __init__(self, sessions):
        self._sessions = sessions

    def process_request(self, req, resp):
        req.context.usuario = None
        req.context.sesion = None
        if is_api(req) or req.path.startswith("/static/"):
            return
        current = self._sessions.current(req.cookies.get(SESSION_COOKIE))
        if current is not None:
            req.context.usuario = current.usuario
            req.context.sesion = current.sesion
            # A password an administrator set must be replaced before anything else (ASVS V6.4.1).
            if current.usuario.cambiar_clave and req.path not in CAMBIO_DE_CLAVE:
                raise falcon.HTTPSeeOther("/cuenta")
        elif req.cookies.get(SESSION_COOKIE):
            clear_cookie(req, resp, SESSION_COOKIE)
        token = req.cookies.get(CSRF_COOKIE)
        if not token:
            token = secrets.token_urlsafe(32)
            set_cookie(req, resp, CSRF_COOKIE, token)
        req.context.csrf_cookie = token


class NulGuard:
    """A NUL character in the address names nothing here: no person types one, and PostgreSQL's text
    cannot hold one, so it would fail every query it reached. 404 in the path; 400 in the query string of
    a page (the API reads no query parameters)."""

    def process_request(self, req, resp):
        if "\x00" in req.path:
            raise falcon.HTTPNotFound()
        if not is_api(req) and any("\x00" in v for value in req.params.values()
                                   for v in (value if isinstance(value, list) else [value])):
            raise falcon.HTTPBadRequest()


class CsrfRefused(NotAllowed):
    """A form without this browser's CSRF token, or sent from another site (audited as its own kind of refusal)."""


DEFAULT_PORTS = {"http": 80, "https": 443}
# Sec-Fetch-Site values a browser sends for a request a page of another origin started. «same-site» too: a
# sibling subdomain (another municipal application, perhaps less guarded) is not this app (OWASP CSRF cheat
# sheet, «Fetch Metadata headers»). «same-origin» and «none» (the user typed or bookmarked it) pass.
FOREIGN_FETCH_SITES = {"cross-site", "same-site"}
FOREIGN = ("La solicitud vino de otro sitio: MPV solo acepta los formularios enviados desde sus propias páginas. "
           "Abra la página en MPV, vuelva a cargarla e inténtelo de nuevo.")


def origin_of(url: str) -> tuple[str, str, int] | None:
    """(scheme, host, port) of an http(s) URL or ``Origin`` value, the port made explicit; None when it names
    no http(s) origin (``null``, garbage, a bad port)."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS or not parts.hostname:
        return None
    return scheme, parts.hostname.lower(), port or DEFAULT_PORTS[scheme]


def check_origin(req, base_origin: tuple[str, str, int] | None):
    """Defence in depth beside the token (OWASP CSRF cheat sheet, «Verifying origin with standard headers»):

    - an ``Origin`` header must name this app: the origin of MPV_BASE_URL, or the request's own
      (scheme://host:port it was sent to; behind MPV_TRUSTED_PROXY waitress has already put the forwarded
      host and scheme there, and from anyone else it drops those headers);
    - without ``Origin``, a ``Sec-Fetch-Site`` of another site is refused;
    - without either (an old browser, a script), the token alone decides.

    Accepting the request's own origin is safe: a browser names in ``Host`` the server it sends to and in
    ``Origin`` the page that sent it, and neither can be chosen by another site's page; it lets staff reach
    MPV by an intranet name other than the citizens' MPV_BASE_URL.

    :raise CsrfRefused: when the request came from another site.
    """
    header = req.get_header("Origin")
    if header is not None:
        sent = origin_of(header)
        own = origin_of(f"{req.scheme}://{req.netloc}")  # None for a Host header no browser sends ("a:b")
        if sent is None or sent not in (own, base_origin):
            raise CsrfRefused(FOREIGN)
    elif (req.get_header("Sec-Fetch-Site") or "").strip().lower() in FOREIGN_FETCH_SITES:
        raise CsrfRefused(FOREIGN)


def expected_csrf(req) -> str:
    """The token a form must carry: the session's when signed in, else the anonymous cookie's."""
    if req.context.sesion is not None:
        return req.context.sesion.csrf
    return req.context.csrf_cookie


def check_csrf(req, token: str | None):
    """:raise NotAllowed: when ``token`` is not this browser's CSRF token."""
    expected = expected_csrf(req)
    # As bytes: compare_digest refuses str with non-ASCII characters, and both sides come from the client.
    if not token or not expected or not hmac.compare_digest(str(token).encode(), expected.encode()):
        raise CsrfRefused("El formulario caducó o no proviene de esta página. Vuelva a cargar la página "
                         "e inténtelo de nuevo.")


class CsrfMiddleware:
    """Every unsafe browser request comes from this app's own pages (:func:`check_origin`, from the headers,
    before any body is read) and carries the CSRF token: urlencoded forms are checked here; multipart forms
    are checked by :func:`mpv.web.requests.read_form` before any file is read.

    The JSON API under /api/ is exempt from both: it reads no cookie and keeps no session, so a request
    another site makes a browser send carries no authority the other site lacks (OWASP: cookie-less,
    token-less APIs are not exposed to CSRF), and citizens' software may call it from any origin."""

    def __init__(self, base_url: str):
        self._base_origin = origin_of(base_url)

    def process_resource(self, req, resp, resource, params):
        req.context.csrf_checked = False
        if req.method not in UNSAFE or is_api(req):
            return
        check_origin(req, self._base_origin)
        if req.content_type and req.content_type.startswith("multipart/form-data"):
            return
        if req.content_type and req.content_type.startswith("application/x-www-form-urlencoded"):
            form = req.get_media()
            token = form.get("csrf") if isinstance(form, dict) else None
        else:
            token = req.get_header("X-CSRF-Token")
        check_csrf(req, token)
        req.context.csrf_checked = True


class SecurityHeaders:
    """Security headers on every response, error pages included."""

    def process_response(self, req, resp, resource, req_succeeded):
        if req.scheme == "https":  # behind the proxy only with MPV_TRUSTED_PROXY (X-Forwarded-Proto)
            resp.set_header("Strict-Transport-Security", HSTS)
        content_type = resp.content_type or ""
        # Falcon's static route names the type only (text/css, text/javascript); every text MPV serves is UTF-8.
        if content_type.startswith("text/") and "charset" not in content_type:
            resp.content_type = f"{content_type}; charset=utf-8"
        resp.set_header("X-Content-Type-Options", "nosniff")
        resp.set_header("Referrer-Policy", "same-origin")
        if not resp.get_header("X-Frame-Options"):
            resp.set_header("X-Frame-Options", "DENY")
        resp.set_header("Cross-Origin-Opener-Policy", "same-origin")
        if not resp.get_header("Content-Security-Policy"):
            resp.set_header("Content-Security-Policy", CSP)
        if req.path.startswith("/static/"):
            resp.set_header("Cache-Control", "public, max-age=3600")
        else:
            resp.set_header("Cache-Control", "no-store")


def require(req, *roles: str):
    """The signed-in user, when their role is one of ``roles`` (any role when none is given).

    :raise falcon.HTTPSeeOther: to the login page when nobody is signed in.
    :raise NotAllowed: when the role does not match.
    """
    usuario = req.context.usuario
    if usuario is None:
        raise falcon.HTTPSeeOther(f"/login?siguiente={falcon.uri.encode_value(req.relative_uri)}")
    if roles and usuario.rol not in roles:
        raise NotAllowed("Su rol no tiene acceso a esta página.")
    return usuario
