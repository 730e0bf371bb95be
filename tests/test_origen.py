"""Defence in depth against CSRF (OWASP cheat sheet, «Verifying origin with standard headers»): every unsafe
request of the staff and public web must come from MPV's own pages by its ``Origin`` (or, without one, its
``Sec-Fetch-Site``), even when it carries a valid session and CSRF token. The routes are enumerated from the
app itself, so a route added later is covered without editing this file."""
from __future__ import annotations

import http.client
import ipaddress
import itertools
import os
import re
from urllib.parse import urlencode

import falcon.inspect
import pytest
from helpers import Server, build_services, file_tramite, free_port, make_user
from webclient import Browser

from mpv.config import Settings
from mpv.models import MODELS, Cadena, Evento, Oficina, Sesion, Tarea, TipoDocumento
from mpv.web.app import create_app
from mpv.web.middleware import UNSAFE

OWN = "http://falconframework.org"  # where falcon.testing sends every request (its default Host)
EVIL = "https://evil.example"
FOREIGN_TEXT = "La solicitud vino de otro sitio"
PASSWORD = "contraseña-de-prueba-1"

# Who may use each family of routes; the requests carry that user's session and token, so that without the
# origin check they would be accepted.
ROLES = [("/admin/", "admin"), ("/definiciones", "analista"), ("/expedientes/", "mesa"), ("/presencial", "mesa"),
         ("/documentos/", "mesa"),
         ("/cuenta", "mesa"), ("/logout", "mesa"), ("/login", None), ("/presentar", None), ("/seguimiento/", None),
         ("/verificar", None), ("/escritos/", None), ("/casilla/", None)]

# Bodies that change something when accepted: refused, they must leave everything as it was.
BODIES = {
    "/login": {"username": "mesa", "password": PASSWORD, "siguiente": "/inicio"},
    "/admin/feriados": {"fecha": "2026-07-30", "nombre": "Aniversario del distrito", "tipo": "local"},
    "/admin/tipos-documento": {"codigo": "XYZ", "nombre": "Tipo nuevo"},
    "/admin/oficinas": {"codigo": "NUEVA", "nombre": "Oficina nueva"},
    "/admin/usuarios/nuevo": {"username": "nuevo", "nombre": "Usuario Nuevo", "email": "nuevo@muni.example",
                              "rol": "mesa", "oficina": "MP"},
    "/admin/parametros": {"entidad_nombre": "Municipalidad de Prueba", "horario_inicio": "07:00",
                          "horario_fin": "15:00"},
}


def role_for(path: str) -> str | None:
    for prefix, role in ROLES:
        if path.startswith(prefix):
            return role
    raise AssertionError(f"{path}: a new unsafe route; say in ROLES which user may send it")


def unsafe_routes(app) -> list[tuple[str, str]]:
    """(method, path template) of every unsafe responder of the web, from falcon's public inspect module.
    The JSON API is left out: it has no cookies or session to abuse (see mpv.web.middleware.CsrfMiddleware)."""
    return sorted((method.method, route.path) for route in falcon.inspect.inspect_app(app).routes
                  for method in route.methods
                  if method.method in UNSAFE and not method.internal and not route.path.startswith("/api/"))


@pytest.fixture
def site(services):
    users = {name: make_user(name, rol, office) for name, rol, office in (
        ("mesa", "mesa", "MP"), ("gdur", "oficina", "GDUR"), ("analista", "analista", None), ("admin", "admin", None))}
    exp = file_tramite(services)
    values = {"numero": exp.numero, "codigo": exp.codigo, "nombre": "anulacion",
              "task_id": Tarea.get(Tarea.expediente == exp.id).task_id, "usuario_id": str(users["gdur"].id),
              "item_id": str(TipoDocumento.get(TipoDocumento.codigo == "SOL").id)}
    return create_app(services), values


def concrete(template: str, values: dict) -> str:
    """The template with its fields filled in (an existing row where it matters, else 1)."""
    if template.startswith("/admin/oficinas/"):
        values = {**values, "item_id": str(Oficina.get(Oficina.codigo == "GDUR").id)}
    return re.sub(r"\{(\w+)(:\w+)?\}", lambda m: values.get(m.group(1), "1"), template)


def state(services) -> list:
    """Every row but the audit rows of refusals (and the chain head they move), and every stored file."""
    rows = []
    for model in MODELS:
        if model is Cadena:
            continue
        query = model.select().order_by(model._meta.primary_key)
        if model is Evento:
            query = query.where(Evento.tipo != "acceso")
        for row in query.dicts():
            if model is Sesion:
                del row["ultimo_uso"]  # moved by every request of a signed-in browser
            rows.append((model.__name__, sorted(row.items())))
    files = sorted(str(p.relative_to(services.settings.data_dir)) for p in services.settings.data_dir.rglob("*")
                   if p.is_file() and not p.name.startswith("mpv.sqlite3"))
    return [rows, files]


def csrf_rows() -> int:
    return Evento.select().where((Evento.tipo == "acceso") & (Evento.accion == "csrf")).count()


ADDRESSES = (str(a) for a in ipaddress.ip_network("10.20.0.0/16").hosts())


class Browsers:
    """One browser per role, each holding a valid session and CSRF token (an anonymous one is fresh each time:
    a login it posts would sign it in). Each request leaves from an address of its own, so that each refusal
    is audited in a row of its own (the audit folds refusals per address and minute)."""

    def __init__(self, app):
        self._app = app
        self._signed_in: dict[str, Browser] = {}

    def of(self, role: str | None) -> Browser:
        b = self._signed_in.get(role) if role else None
        if b is None or (b.get("/cuenta").status_code != 200):  # logged out, or its session closed
            b = Browser(self._app)
            b.login(role) if role else b.get("/login")
            if role:
                self._signed_in[role] = b
        assert b.csrf
        b.remote_addr = next(ADDRESSES)
        return b


# Every route is tried with the two ways a browser names another site; the other forms of a foreign origin
# (checked before the route matters) with a few routes: enough, and the suite stays quick.
FOREIGN_EVERYWHERE = [{"Origin": EVIL}, {"Sec-Fetch-Site": "cross-site"}]
FOREIGN_SOME = [{"Origin": "null"}, {"Origin": f"{OWN}:8080"}, {"Origin": "https://falconframework.org"},
                {"Origin": "no es un origen"}, {"Sec-Fetch-Site": "same-site"}]
SOME = {"/login", "/admin/feriados", "/expedientes/{numero}/derivar", "/presentar"}


def cases(routes, everywhere, some):
    """(route, headers) pairs: ``everywhere`` on every route, ``some`` on the routes of :data:`SOME` too."""
    chosen = [(route, headers) for route in routes for headers in everywhere]
    chosen += [(route, headers) for route in routes if route[1] in SOME for headers in some]
    assert {route[1] for route, _ in chosen} >= SOME
    return chosen


def test_every_unsafe_route_refuses_another_sites_request_with_a_valid_session_and_token(services, site):
    """403 with the Spanish page, one audit row, nothing changed: urlencoded or multipart alike (the origin
    is checked before any body is read)."""
    app, values = site
    routes = unsafe_routes(app)
    assert ("POST", "/login") in routes and len(routes) > 20, routes
    browsers = Browsers(app)
    for ((method, template), headers), multipart in itertools.product(
            cases(routes, FOREIGN_EVERYWHERE, FOREIGN_SOME), (False, True)):
        assert method == "POST", (method, template)  # the web's only unsafe verb; another would need its client
        b = browsers.of(role_for(template))
        before_rows, before_state = csrf_rows(), state(services)
        result = b.post(concrete(template, values), BODIES.get(template, {}), files=[] if multipart else None,
                        headers=headers)
        where = (template, headers, multipart)
        assert result.status_code == 403, where
        assert FOREIGN_TEXT in result.text, where
        assert csrf_rows() == before_rows + 1, where
        assert state(services) == before_state, where


OWN_SOME = [{"Origin": "http://127.0.0.1:8080"}, {"Origin": f"{OWN}:80"},
            {"Origin": OWN, "Sec-Fetch-Site": "same-origin"}, {"Sec-Fetch-Site": "same-origin"},
            {"Sec-Fetch-Site": "none"}, {}]


def test_every_unsafe_route_accepts_its_own_pages(services, site):
    """The request's own origin passes on every route; on some, MPV_BASE_URL's too (here the default
    http://127.0.0.1:8080), and a same-origin or user-started request without Origin, and one without either
    header (the token alone decides): whatever each route answers, it is not a refusal for the request's
    origin or token."""
    app, values = site
    browsers = Browsers(app)
    for (_, template), headers in cases(unsafe_routes(app), [{"Origin": OWN}], OWN_SOME):
        b = browsers.of(role_for(template))
        before_rows = csrf_rows()
        result = b.post(concrete(template, values), BODIES.get(template, {}), headers=headers)
        where = (template, headers, result.status_code)
        assert result.status_code < 500, where
        assert FOREIGN_TEXT not in result.text and "El formulario caducó" not in result.text, where
        assert csrf_rows() == before_rows, where


def test_a_login_from_another_site_is_refused_with_a_valid_token(services, site):
    app, _ = site
    b = Browsers(app).of(None)
    sessions = Sesion.select().count()
    refused = b.post("/login", BODIES["/login"], headers={"Origin": EVIL})
    assert refused.status_code == 403 and FOREIGN_TEXT in refused.text
    assert "mpv_sesion" not in refused.cookies and Sesion.select().count() == sessions
    row = Evento.select().where(Evento.accion == "csrf").order_by(Evento.seq.desc()).get()
    assert row.ip == b.remote_addr and "POST /login" in row.descripcion
    accepted = b.post("/login", BODIES["/login"], headers={"Origin": OWN, "Sec-Fetch-Site": "same-origin"})
    assert accepted.status_code == 303 and accepted.headers["location"].endswith("/inicio")


def test_with_a_base_url_its_origin_is_the_apps_own(tmp_path, database_url, clock):
    """MPV_BASE_URL names where citizens reach MPV (behind a TLS proxy the app may see plain http and another
    host): its origin passes, with its scheme and port exactly; the request's own origin passes too."""
    settings = Settings(data_dir=tmp_path / "data", database_url=database_url,
                        base_url="https://mesadepartes.muni.gob.pe/")
    services = build_services(settings, clock)
    try:
        make_user("mesa", "mesa", "MP")
        app = create_app(services)
        for origin, refused in (("https://mesadepartes.muni.gob.pe", False), (OWN, False),
                                ("HTTPS://MesaDePartes.muni.gob.pe:443", False),
                                ("http://mesadepartes.muni.gob.pe", True),
                                ("https://mesadepartes.muni.gob.pe:8443", True), ("https://muni.gob.pe", True),
                                ("https://mesadepartes.muni.gob.pe.evil.example", True)):
            b = Browsers(app).of(None)
            result = b.post("/login", BODIES["/login"], headers={"Origin": origin})
            assert result.status_code == (403 if refused else 303), origin
    finally:
        services.close()


@pytest.mark.parametrize("host, origin, status", [
    ("mpv:abc", "http://mpv:abc", 403), ("mpv:99999", "http://mpv:99999", 403), ("mpv:abc", "http://127.0.0.1:8080", 303),
    ("[::1]:8080", "http://[::1]:8080", 303), ("[::1]:8080", "http://[::2]:8080", 403)])
def test_a_host_header_no_browser_sends_is_no_origin_of_ours(services, site, host, origin, status):
    """A Host with a bad port names no origin (403 unless the Origin is MPV_BASE_URL's), never a 500;
    an IPv6 address is compared as an address."""
    app, _ = site
    b = Browsers(app).of(None)
    result = b.client.simulate_post("/login", body=urlencode({"csrf": b.csrf, **BODIES["/login"]}),
                                    headers={"Host": host, "Origin": origin,
                                             "Content-Type": "application/x-www-form-urlencoded"},
                                    cookies=b.cookies, remote_addr=b.remote_addr)
    assert result.status_code == status, result.text


def test_the_json_api_takes_any_origin(services):
    """The API keeps no session and reads no cookie: a foreign Origin is not what decides (the filing's own
    checks answer, here 422 for an empty form)."""
    from falcon import testing

    from webclient import multipart

    body, content_type = multipart([("csrf", "x")], [])
    result = testing.TestClient(create_app(services)).simulate_post(
        "/api/v1/tramites", body=body, headers={"Content-Type": content_type, "Origin": EVIL,
                                                "Sec-Fetch-Site": "cross-site"})
    assert result.status_code == 422 and csrf_rows() == 0


# -- against a real `mpv serve`: the origin behind MPV_TRUSTED_PROXY is the forwarded one ---------------------
@pytest.mark.parametrize("trusted", [False, True], ids=["sin-proxy-de-confianza", "proxy-de-confianza"])
def test_behind_the_trusted_proxy_the_forwarded_origin_is_the_apps_own(trusted, database_url, tmp_path):
    """A browser reaches MPV at https://mpv.muni.example through the proxy, which forwards the host and
    scheme. From the trusted proxy, that origin is MPV's own and a login posted from it is answered
    (401: wrong password); from anyone else the forwarded headers are dropped, so the same Origin names
    another site (403). The address the server listens on (the default MPV_BASE_URL) is its own either way."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("MPV_")}
    env.update(MPV_DATA_DIR=str(tmp_path / "datos"), MPV_DATABASE_URL=database_url, MPV_HOST="127.0.0.1",
               MPV_PORT=str(port), PYTHONUNBUFFERED="1", **({"MPV_TRUSTED_PROXY": "127.0.0.1"} if trusted else {}))
    forwarded = {"X-Forwarded-For": "203.0.113.7", "X-Forwarded-Proto": "https", "X-Forwarded-Host": "mpv.muni.example"}
    server = Server(env, tmp_path / "servidor.log", port)
    server.start()
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        conn.request("GET", "/login", headers=forwarded)
        page = conn.getresponse()
        csrf = re.search(r'name="csrf" value="([^"]+)"', page.read().decode()).group(1)
        cookie = "; ".join(c.split(";")[0] for c in page.headers.get_all("Set-Cookie"))
        answers = {}
        for origin in ("https://mpv.muni.example", f"http://127.0.0.1:{port}", "https://otro.example"):
            conn.request("POST", "/login", body=urlencode({"csrf": csrf, "username": "nadie", "password": "x" * 12}),
                         headers={**forwarded, "Origin": origin, "Cookie": cookie,
                                  "Content-Type": "application/x-www-form-urlencoded"})
            answer = conn.getresponse()
            answer.read()
            answers[origin] = answer.status
        conn.close()
    finally:
        server.stop()
    assert answers == {"https://mpv.muni.example": 401 if trusted else 403, f"http://127.0.0.1:{port}": 401,
                       "https://otro.example": 403}, server.log_tail()
