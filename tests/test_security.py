"""Security figures: F1 concurrency over HTTP, F6 the access matrix, F7 headers and cookies on every route,
F8 brute force; plus sessions, password rules, rate limits and the audit of logins and denials."""
from __future__ import annotations

import dataclasses
import http.client
import re
import threading
from urllib.parse import urlencode

import pytest
from falcon import inspect as falcon_inspect
from falcon import testing
from helpers import build_services, derivar, file_tramite, http_login, make_user, served, step
from webclient import Browser

from mpv.engine import Actor
from mpv.models import Adjunto, Evento, Tarea, Usuario
from mpv.passwords import password_problem
from mpv.tramites import documentos
from mpv.web.app import create_app

SECURITY_HEADERS = {
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
    "x-frame-options": "DENY",
}


def assert_security_headers(result, where):
    for name, value in SECURITY_HEADERS.items():
        assert result.headers.get(name) == value, (where, name, result.headers.get(name))
    csp = result.headers.get("content-security-policy", "")
    assert "frame-ancestors 'none'" in csp or csp.startswith("sandbox"), (where, csp)
    assert "object-src 'none'" in csp or "default-src 'none'" in csp, (where, csp)
    assert "unsafe-inline" not in csp and "script-src 'self'" in csp or csp.startswith("sandbox"), (where, csp)
    if not where[1].startswith("/static/"):
        assert result.headers.get("cache-control") == "no-store", (where, result.headers.get("cache-control"))
    assert b"Traceback" not in (result.content or b""), where


# -- F8 brute force ----------------------------------------------------------------------------------
def test_brute_force_throttles_the_account_not_the_others(services, clock):
    make_user("mesa", "mesa", "MP")
    make_user("gdur", "oficina", "GDUR")
    app = create_app(services)
    attacker = Browser(app)
    attacker.get("/login")
    for _ in range(5):
        result = attacker.post("/login", {"username": "mesa", "password": "adivinando-123"})
        assert result.status_code == 401 and "Usuario o contraseña incorrectos." in result.text
    right = attacker.post("/login", {"username": "mesa", "password": "contraseña-de-prueba-1"})
    assert right.status_code == 429 and "Demasiados intentos fallidos para el usuario mesa" in right.text
    assert int(right.headers["retry-after"]) == 30  # even the right password waits
    assert "mpv_sesion" not in attacker.cookies
    Browser(app).login("gdur")  # another account is not locked out
    for waited, next_wait in ((30, 60), (60, 120)):  # each new failure doubles the wait
        clock.advance(seconds=waited + 1)
        assert attacker.post("/login", {"username": "mesa", "password": "otra-vez-mal"}).status_code == 401
        retry = attacker.post("/login", {"username": "mesa", "password": "contraseña-de-prueba-1"})
        assert retry.status_code == 429 and int(retry.headers["retry-after"]) == next_wait
    clock.advance(seconds=121)
    Browser(app).login("mesa")
    audit = [(e.accion, e.actor_nombre) for e in Evento.select().where(Evento.tipo == "acceso").order_by(Evento.seq)]
    assert audit.count(("ingreso_fallido", "mesa")) == 7 and audit.count(("ingreso_bloqueado", "mesa")) == 3
    assert ("ingreso", "gdur") in audit and audit[-1] == ("ingreso", "mesa")


# -- sessions, cookies, passwords --------------------------------------------------------------------
def test_session_idle_and_absolute_timeouts(services, clock):
    make_user("mesa", "mesa", "MP")
    app = create_app(services)
    b = Browser(app)
    b.login("mesa")
    clock.advance(minutes=29)
    assert b.get("/inicio").status_code == 200
    clock.advance(minutes=31)
    assert b.get("/inicio").status_code == 303  # 31 minutes idle
    b.login("mesa")
    for _ in range(37):  # active every 20 minutes for over 12 hours
        clock.advance(minutes=20)
        result = b.get("/inicio")
    assert result.status_code == 303 and "/login" in result.headers["location"]


def test_new_token_at_login_and_logout_invalidates_it(services):
    make_user("mesa", "mesa", "MP")
    app = create_app(services)
    b = Browser(app)
    b.get("/login")
    before = b.cookies.get("mpv_sesion")
    b.login("mesa")
    first = b.cookies["mpv_sesion"]
    assert first != before
    b.post("/logout", {})
    thief = Browser(app)
    thief.cookies["mpv_sesion"] = first
    assert thief.get("/inicio").status_code == 303
    b.login("mesa")
    assert b.cookies["mpv_sesion"] != first


def test_cookies_are_httponly_samesite_and_secure_over_https(services):
    make_user("mesa", "mesa", "MP")
    from falcon import testing

    client = testing.TestClient(create_app(services))
    page = client.simulate_get("/login", protocol="https")
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
    result = client.simulate_post(
        "/login", protocol="https", headers={"Content-Type": "application/x-www-form-urlencoded"},
        body=urlencode({"csrf": csrf, "username": "mesa", "password": "contraseña-de-prueba-1"}),
        cookies={"mpv_csrf": page.cookies["mpv_csrf"].value})
    for name in ("mpv_sesion",):
        cookie = result.cookies[name]
        assert cookie.http_only and cookie.same_site == "Lax" and cookie.secure
    assert page.cookies["mpv_csrf"].secure and page.cookies["mpv_csrf"].http_only
    plain = testing.TestClient(create_app(services)).simulate_get("/login")
    assert not plain.cookies["mpv_csrf"].secure  # plain http (a developer's laptop): not Secure


@pytest.mark.parametrize("password, ok", [
    ("password1234", False), ("qwertyuiop123", False), ("municipalidad", False), ("corta", False),
    ("mesadepartes2026", False), ("una frase larga de pasaporte", True), ("Tr4mite-Lib!2026-x", True),
    ("a" * 64 + "B7!x", False), ("tres gatos pardos cruzan el rio amazonas de noche sin mojarse", True),
])
def test_password_rules(password, ok):
    assert (password_problem(password, "mesadepartes") is None) is ok


def test_demo_and_generated_passwords_pass_the_rules(services):
    from mpv.passwords import generate_password

    assert all(password_problem(generate_password()) is None for _ in range(20))


# -- rate limits ----------------------------------------------------------------------------------------
def test_public_routes_answer_429_with_retry_after(settings, clock):
    services = build_services(dataclasses.replace(settings, limite_presentaciones=2, limite_consultas=3), clock)
    try:
        app = create_app(services)
        b = Browser(app, remote_addr="203.0.113.7")
        b.get("/presentar")
        statuses = [b.post("/presentar", [("asunto", "x")], files=[]).status_code for _ in range(3)]
        assert statuses[:2] == [422, 422] and statuses[2] == 429
        limited = b.post("/presentar", [("asunto", "x")], files=[])
        assert limited.status_code == 429 and int(limited.headers["retry-after"]) >= 1
        assert "Espere un momento" in limited.text
        other = Browser(app, remote_addr="203.0.113.8")  # another client is not affected
        other.get("/presentar")
        assert other.post("/presentar", [("asunto", "x")], files=[]).status_code == 422
        from falcon import testing

        api = testing.TestClient(app)
        codes = [api.simulate_get("/api/v1/tramites/NOEXISTE12345/seguimiento", remote_addr="203.0.113.9").status_code
                 for _ in range(4)]
        assert codes == [404, 404, 404, 429]
        last = api.simulate_get("/api/v1/tramites/NOEXISTE12345/seguimiento", remote_addr="203.0.113.9")
        assert last.json["error"].startswith("Se recibieron demasiadas solicitudes") and "retry-after" in last.headers
    finally:
        services.close()


# -- denials are logged --------------------------------------------------------------------------------
def test_denials_are_in_the_audit_history(services):
    make_user("auditor", "auditor")
    app = create_app(services)
    b = Browser(app)
    b.login("auditor")
    assert b.get("/admin").status_code == 403
    row = Evento.select().where((Evento.tipo == "acceso") & (Evento.accion == "denegado")).get()
    assert (row.actor_nombre, row.descripcion) == ("auditor", "Acceso denegado: GET /admin")
    assert row.expediente_id is None and row.ip == "127.0.0.1"


# -- F1 concurrency over HTTP ----------------------------------------------------------------------------
def test_f1_twenty_concurrent_derivations_fifty_rounds(services, soak):
    """Each round: exactly 1 success, 19 clear conflicts, 0 5xx, exactly one new Evento."""
    rounds = 200 if soak else 50
    users = [make_user(f"mesa{i}", "mesa", "MP") for i in range(20)]
    with served(services, threads=20) as port:
        sessions = [http_login(port, u.username) for u in users]
        for number in range(rounds):
            exp = file_tramite(services)
            step(services, exp, Actor.de_usuario(users[0]), accion="conforme")
            before = Evento.select().count()
            barrier = threading.Barrier(20)
            results = []

            def derive(cookies, csrf, office):
                body = urlencode({"csrf": csrf, "paso": "confirmar", "oficina_destino": office,
                                  "prioridad": "normal", "plazo_dias": "5"})
                barrier.wait()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
                conn.request("POST", f"/expedientes/{exp.numero}/derivar", body=body, headers={
                    "Content-Type": "application/x-www-form-urlencoded",
                    "Cookie": "; ".join(f"{k}={v}" for k, v in cookies.items())})
                response = conn.getresponse()
                text = response.read().decode()
                conn.close()
                results.append((response.status, text))

            threads = [threading.Thread(target=derive, args=(*sessions[i], ("GDUR", "SGAT")[i % 2]))
                       for i in range(20)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            statuses = sorted(status for status, _ in results)
            assert statuses == [303] + [409] * 19, (number, statuses)
            conflicts = [text for status, text in results if status == 409]
            assert all(("no está pendiente de derivación" in text or "ya fue realizada por otra persona" in text)
                       and "Estado actual del expediente" in text for text in conflicts), number
            new = list(Evento.select().where(Evento.seq > before))
            assert [(e.tipo, e.tarea) for e in new] == [("tarea", "derivacion")], number


# -- F6 access matrix and F7 headers on every route --------------------------------------------------------
ANON, CITIZEN = "anónimo", "ciudadano"
STAFF = ("mesa", "gdur", "rentas", "auditor", "analista", "admin")  # gdur: the office the expediente is in
EVERYONE = (ANON, CITIZEN) + STAFF
ALL_STAFF = STAFF
SEES_EXPEDIENTE = ("mesa", "gdur", "auditor", "analista", "admin")  # rentas: an office it never reached

# route template → {method: roles allowed}; anything else must be refused (403, or the login page for anonymous)
POLICY = {
    "/": {"GET": EVERYONE},
    "/login": {"GET": EVERYONE, "POST": EVERYONE},
    "/logout": {"POST": ALL_STAFF},
    "/cuenta": {"GET": ALL_STAFF},
    "/cuenta/clave": {"POST": ALL_STAFF},
    "/cuenta/sesiones/{sesion_id:int}/cerrar": {"POST": ALL_STAFF},
    "/cuenta/certificado": {"POST": ALL_STAFF},
    "/cuenta/certificado/quitar": {"POST": ALL_STAFF},
    "/inicio": {"GET": ALL_STAFF},
    "/tramites": {"GET": ALL_STAFF},
    "/tramites/exportar": {"GET": ALL_STAFF},
    "/presencial": {"GET": ("mesa",), "POST": ("mesa",)},
    "/presencial/{codigo}": {"GET": ("mesa",)},  # the code of a filing made online: 404 for mesa de partes
    "/presencial/{codigo}/cargo": {"GET": ("mesa",)},
    "/reportes": {"GET": ("mesa", "gdur", "auditor", "analista")},  # an office's: its head's (gdur)
    "/reportes/exportar": {"GET": ("mesa", "gdur", "auditor", "analista")},
    "/bandeja": {"GET": ("gdur", "rentas")},
    "/mis-expedientes": {"GET": ("mesa", "gdur", "rentas")},
    "/oficina/historial": {"GET": ("mesa", "gdur", "rentas")},
    "/expedientes/{numero}/asignar": {"GET": ("gdur",), "POST": ("gdur",)},  # the head of the office it is in
    "/expedientes/{numero}": {"GET": SEES_EXPEDIENTE},
    "/expedientes/{numero}/seguimiento": {"GET": SEES_EXPEDIENTE},
    "/expedientes/{numero}/derivar": {"GET": ("mesa",), "POST": ("mesa",)},
    "/expedientes/{numero}/derivado": {"GET": SEES_EXPEDIENTE},
    "/expedientes/{numero}/hoja-de-ruta": {"GET": SEES_EXPEDIENTE},
    "/expedientes/{numero}/cargos/{evento_id:int}": {"GET": SEES_EXPEDIENTE},
    "/expedientes/{numero}/tareas/{task_id}": {"GET": ("gdur",), "POST": ("gdur",)},
    "/expedientes/{numero}/eventos/{nombre}": {"GET": ("mesa",), "POST": ("mesa",)},
    "/adjuntos/{adjunto_id:int}": {"GET": SEES_EXPEDIENTE},
    "/expedientes/{numero}/documentos": {"GET": ("mesa", "gdur"), "POST": ("mesa", "gdur")},
    "/documentos/{documento_id:int}": {"GET": ("gdur",), "POST": ("gdur",)},  # a draft: only its office
    "/documentos/{documento_id:int}/emitir": {"POST": ("gdur",)},
    "/documentos/{documento_id:int}/pdf": {"GET": SEES_EXPEDIENTE},
    "/documentos/{documento_id:int}/anexos": {"POST": ("gdur",)},  # a draft's annexes: only its office
    # By now /emitir (allowed to gdur) issued the document: its annexes are seen as its PDF is.
    "/documentos/{documento_id:int}/anexos/{anexo_id:int}": {"GET": SEES_EXPEDIENTE},
    "/documentos/{documento_id:int}/anexos/{anexo_id:int}/quitar": {"POST": ("gdur",)},
    "/documentos/{documento_id:int}/firmar": {"GET": ("gdur",), "POST": ("gdur",)},  # its office (a draft: 409)
    "/definiciones": {"GET": ("analista", "admin", "auditor"), "POST": ("analista",)},
    "/definiciones/{definicion_id:int}": {"GET": ("analista", "admin", "auditor")},
    "/definiciones/{definicion_id:int}/editar": {"GET": ("analista",), "POST": ("analista",)},
    "/definiciones/{definicion_id:int}/migrar": {"POST": ("analista",)},
    "/analitica": {"GET": ("auditor", "analista", "admin")},
    "/analitica/{tabla}.csv": {"GET": ("auditor", "analista", "admin")},
    "/presentar": {"GET": EVERYONE, "POST": EVERYONE},
    "/constancia/{codigo}": {"GET": EVERYONE},
    "/constancia/{codigo}/pdf": {"GET": EVERYONE},
    "/seguimiento": {"GET": EVERYONE},
    "/seguimiento/{codigo}": {"GET": EVERYONE},
    "/seguimiento/{codigo}/subsanar": {"GET": EVERYONE, "POST": EVERYONE},
    "/seguimiento/{codigo}/archivos/{adjunto_id:int}": {"GET": EVERYONE},
    "/seguimiento/{codigo}/silencio.pdf": {"GET": EVERYONE},
    "/seguimiento/{codigo}/casilla": {"POST": EVERYONE},
    "/casilla": {"GET": EVERYONE},
    "/casilla/notificaciones/{notificacion_id:int}": {"GET": EVERYONE},
    "/casilla/notificaciones/{notificacion_id:int}/acuse": {"POST": EVERYONE},
    "/casilla/notificaciones/{notificacion_id:int}/documentos/{indice:int}": {"GET": EVERYONE},
    "/casilla/notificaciones/{notificacion_id:int}/constancia.pdf": {"GET": EVERYONE},
    "/expedientes/{numero}/notificaciones/{notificacion_id:int}/constancia.pdf": {"GET": SEES_EXPEDIENTE},
    "/tupa": {"GET": EVERYONE},
    "/verificar": {"GET": EVERYONE, "POST": EVERYONE},
    "/verificar/{codigo}": {"GET": EVERYONE},
    "/escritos/nuevo": {"GET": EVERYONE, "POST": EVERYONE},
    "/escritos/{codigo}": {"GET": EVERYONE},
    "/escritos/{codigo}/pdf": {"GET": EVERYONE},
    "/expedientes/{numero}/escritos": {"GET": ("mesa",), "POST": ("mesa",)},
    # Acumulación: whoever holds the tray where the expediente waits (here GDUR); desacumular also mesa de partes.
    "/expedientes/{numero}/acumulados": {"GET": ("gdur",), "POST": ("gdur",)},
    "/expedientes/{numero}/acumulados/{acumulado}/desacumular": {"POST": ("mesa", "gdur")},
    "/api/v1/tramites/{codigo}/escritos": {"POST": EVERYONE},
    "/api/v1/openapi.json": {"GET": EVERYONE},
    "/api/v1/tipos-documento": {"GET": EVERYONE},
    "/api/v1/procedimientos": {"GET": EVERYONE},
    "/api/v1/tramites": {"POST": EVERYONE},
    "/api/v1/tramites/{codigo}/seguimiento": {"GET": EVERYONE},
    # The staff API takes a token, never a session: to a browser, signed in or not, it is closed (401). Who may use
    # each route with a token is TOKEN_POLICY, below.
    "/api/v1/staff/expedientes": {"GET": ()},
    "/api/v1/staff/expedientes/{numero}": {"GET": ()},
    "/api/v1/staff/tareas": {"GET": ()},
    "/api/v1/staff/expedientes/{numero}/derivacion": {"POST": ()},
    "/api/v1/staff/expedientes/{numero}/tareas/{task_id}": {"POST": ()},
    "/cuenta/tokens": {"POST": ALL_STAFF},
    "/cuenta/tokens/{token_id:int}/revocar": {"POST": ALL_STAFF},
    "/auditoria": {"GET": ("auditor", "admin")},
    "/auditoria/expedientes": {"GET": ("auditor", "admin")},
    "/auditoria/expedientes/csv": {"GET": ("auditor", "admin")},
    "/auditoria/expedientes/{numero}": {"GET": ("auditor", "admin")},
    "/auditoria/expedientes/{numero}/csv": {"GET": ("auditor", "admin")},
    "/auditoria/eventos": {"GET": ("auditor", "admin")},
    "/auditoria/eventos/csv": {"GET": ("auditor", "admin")},
}
ADMIN_ONLY_PREFIX = "/admin"
STAFF_API = "/api/v1/staff"
# The staff API with a write token of each role (anonymous and the citizen have none): anyone else gets 403, and
# without a token (or with a session's cookie) everyone gets 401.
TOKEN_POLICY = {
    ("/api/v1/staff/expedientes", "GET"): ALL_STAFF,
    ("/api/v1/staff/expedientes/{numero}", "GET"): SEES_EXPEDIENTE,
    ("/api/v1/staff/tareas", "GET"): ALL_STAFF,
    ("/api/v1/staff/expedientes/{numero}/derivacion", "POST"): ("mesa",),  # already derived: mesa gets its 409
    ("/api/v1/staff/expedientes/{numero}/tareas/{task_id}", "POST"): ("gdur",),  # the office's «Recibir»
}


@pytest.fixture
def matrix_site(settings, clock):
    services = build_services(dataclasses.replace(settings, limite_presentaciones=10_000, limite_consultas=10_000,
                                                  limite_ingresos=10_000), clock)
    users = {name: make_user(name, rol, office) for name, rol, office in (
        ("mesa", "mesa", "MP"), ("gdur", "oficina", "GDUR"), ("rentas", "oficina", "SGAT"), ("auditor", "auditor", None),
        ("analista", "analista", None), ("admin", "admin", None))}
    Usuario.update(jefe=True).where(Usuario.username == "gdur").execute()  # heads GDUR; rentas heads nothing
    exp = file_tramite(services)
    step(services, exp, Actor.de_usuario(users["mesa"]), accion="conforme")
    derivar(services, exp, Actor.de_usuario(users["mesa"]), "GDUR")
    values = {"numero": exp.numero, "codigo": exp.codigo, "nombre": "anulacion",
              "task_id": Tarea.get(Tarea.expediente == exp.id).task_id,
              "adjunto_id": str(Adjunto.get(Adjunto.expediente == exp.id).id),
              "evento_id": str(Evento.get((Evento.expediente == exp.id) & (Evento.tarea == "derivacion")).id),
              "id": str(users["gdur"].id),
              "documento_id": str(documentos.redactar(services, Actor.de_usuario(users["gdur"]), exp.numero, "informe",
                                                      "Gerencia Municipal", "Opinión", "Texto").id)}
    yield services, values
    services.close()


def concrete(template: str, values: dict) -> str:
    return re.sub(r"\{(\w+)(:\w+)?\}", lambda m: values.get(m.group(1), "1"), template)


def policy_for(template: str, method: str):
    if template.startswith(ADMIN_ONLY_PREFIX):
        return ("admin",)
    return POLICY.get(template, {}).get(method)


def test_f6_access_matrix_and_f7_headers_on_every_route(matrix_site):
    services, values = matrix_site
    app = create_app(services)
    routes = [(r.path, m.method) for r in falcon_inspect.inspect_app(app).routes for m in r.methods
              if m.method in ("GET", "POST") and m.internal is False]
    missing = [(path, method) for path, method in routes if policy_for(path, method) is None]
    assert not missing, f"routes without an access policy in this test: {missing}"
    browsers = {}
    for role in EVERYONE:
        b = Browser(app)
        if role in STAFF:
            b.login(role)
        else:
            b.get("/login")
        browsers[role] = b
    checked = 0
    for path, method in routes:
        allowed = policy_for(path, method)
        url = concrete(path, values)
        # The roles refused go first, and must change nothing; the allowed ones may (a POST may complete a task).
        for role in sorted(EVERYONE, key=lambda r: r in allowed):
            b = browsers[role]
            history_before = Evento.select().where(Evento.tipo != "acceso").count()
            result = b.get(url) if method == "GET" else b.post(url, {}, csrf=not url.startswith("/api/"))
            where = (role, url, method, result.status_code)
            assert result.status_code < 500, where
            assert_security_headers(result, where)
            login_redirect = result.status_code == 303 and "/login" in result.headers.get("location", "")
            refused = result.status_code == 403 or login_redirect or (
                result.status_code == 401 and path.startswith(STAFF_API))
            if role in allowed:
                assert not refused or (path == "/logout" and login_redirect), where
            else:
                assert refused, where
                assert Evento.select().where(Evento.tipo != "acceso").count() == history_before, where
                if role == ANON and method == "GET" and not url.startswith("/api/"):
                    assert login_redirect, where
            for cookie in result.cookies.values():
                assert cookie.http_only and cookie.same_site == "Lax", (where, cookie.name)
            checked += 1
            if method == "POST" and path == "/logout" and role in STAFF:
                browsers[role] = Browser(app)
                browsers[role].login(role)
    assert checked == len(routes) * len(EVERYONE)


def test_f6_access_matrix_of_the_staff_api_with_tokens(matrix_site):
    """Each role with a write token on each staff API route: the roles TOKEN_POLICY names pass, the others get 403
    and change nothing; without a token, 401. Every route of the staff API is in TOKEN_POLICY."""
    services, values = matrix_site
    app = create_app(services)
    routes = {(r.path, m.method) for r in falcon_inspect.inspect_app(app).routes for m in r.methods
              if r.path.startswith(STAFF_API) and m.method in ("GET", "POST") and m.internal is False}
    assert routes == set(TOKEN_POLICY)
    secrets = {}
    for role in STAFF:
        b = Browser(app)
        b.login(role)
        page = b.post("/cuenta/tokens", {"nombre": "matriz", "alcance": "escritura", "dias": "30"})
        secrets[role] = re.search(r"mpv_[A-Za-z0-9_-]+", page.text).group(0)
    client = testing.TestClient(app)
    for (path, method), allowed in TOKEN_POLICY.items():
        url = concrete(path, values)
        for role in sorted((ANON, *STAFF), key=lambda r: r in allowed):
            headers = {"Authorization": f"Bearer {secrets[role]}"} if role in secrets else {}
            before = Evento.select().where(Evento.tipo.not_in(("acceso", "api"))).count()
            result = (client.simulate_get(url, headers=headers) if method == "GET"
                      else client.simulate_post(url, headers=headers, json={}))
            where = (role, url, method, result.status_code)
            assert result.status_code < 500 and result.headers["content-type"].startswith("application/json"), where
            assert_security_headers(result, where)
            if role in allowed:
                assert result.status_code not in (401, 403), where
            else:
                assert result.status_code == (403 if role in secrets else 401), where
                assert Evento.select().where(Evento.tipo.not_in(("acceso", "api"))).count() == before, where


def test_f7_headers_on_errors_too(services, monkeypatch):
    make_user("mesa", "mesa", "MP")
    app = create_app(services)
    b = Browser(app)
    b.login("mesa")
    for url, status in (("/no-existe", 404), ("/expedientes/2026-999999", 404), ("/api/v1/no-existe", 404)):
        result = b.get(url)
        assert result.status_code == status
        assert_security_headers(result, ("mesa", url, "GET", status))
    monkeypatch.setattr("mpv.tramites.listados.tramites", lambda *a, **k: 1 / 0)
    crashed = b.get("/tramites")
    assert crashed.status_code == 500
    assert_security_headers(crashed, ("mesa", "/tramites", "GET", 500))
    assert "Código de incidente" in crashed.text
