"""The staff API v1 (/api/v1/staff) with personal tokens: created once and stored hashed in Mi cuenta, scoped,
expiring by the injected clock, revoked, dead with their user; every call audited; the same actions and rules as
the web (role, office, 409 on a lost race, also against a browser); the OpenAPI document fuzzed with a token."""
from __future__ import annotations

import hashlib
import http.client
import json
import re
import threading
from urllib.parse import urlencode

import pytest
import schemathesis
from falcon import testing
from helpers import cookie_header, derivar, file_tramite, http_login, make_user, recibir, served, step
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from webclient import Browser

from mpv import history
from mpv.engine import Actor
from mpv.models import Evento, Expediente, Tarea, TokenApi, Usuario
from mpv.tramites import usuarios
from mpv.web.app import create_app

STAFF = "/api/v1/staff"
TOKEN = re.compile(r"mpv_[A-Za-z0-9_-]{40,}")


@pytest.fixture
def app(services):
    for name, rol, office in (("mesa", "mesa", "MP"), ("gdur", "oficina", "GDUR"), ("rentas", "oficina", "SGAT"),
                              ("auditor", "auditor", None), ("admin", "admin", None)):
        make_user(name, rol, office)
    return create_app(services)


def crear_token(app, username: str, alcance: str = "escritura", dias: int = 90) -> str:
    """A token made as a user makes it: signed in, through the form of Mi cuenta; the secret read from the page."""
    b = Browser(app)
    b.login(username)
    result = b.post("/cuenta/tokens", {"nombre": f"Integración de {username}", "alcance": alcance, "dias": dias})
    assert result.status_code == 200, result.text
    return TOKEN.search(result.text).group(0)


def api(app, method: str, path: str, token: str | None, body=None, **kwargs):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    client = testing.TestClient(app)
    if method == "GET":
        return client.simulate_get(path, headers=headers, **kwargs)
    return client.simulate_post(path, headers=headers, json=body, **kwargs)


def usuario(username) -> Usuario:
    return Usuario.get(Usuario.username == username)


def actor(username):
    return Actor.de_usuario(usuario(username))


def llamadas_api() -> list[Evento]:
    return list(Evento.select().where(Evento.tipo == "api").order_by(Evento.seq))


# -- tokens in Mi cuenta -------------------------------------------------------------------------------------
def test_a_token_is_shown_once_and_stored_only_as_its_hash(services, app):
    b = Browser(app)
    b.login("mesa")
    result = b.post("/cuenta/tokens", {"nombre": "Archivo central", "alcance": "lectura", "dias": "30"})
    assert result.status_code == 200 and "no se volverá a mostrar" in result.text
    secreto = TOKEN.search(result.text).group(0)
    fila = TokenApi.get()
    assert fila.token_hash == hashlib.sha256(secreto.encode()).hexdigest()
    assert secreto not in json.dumps([list(r) for r in TokenApi.select().tuples()], default=str)
    assert (fila.alcance, fila.creado, (fila.vence - fila.creado).days) == ("lectura", services.clock(), 30)
    again = b.get("/cuenta")
    assert secreto not in again.text and fila.prefijo in again.text and "Archivo central" in again.text
    creado = Evento.get((Evento.tipo == "acceso") & (Evento.accion == "token_creado"))
    assert creado.actor_nombre == "mesa" and secreto not in creado.detalle


@pytest.mark.parametrize("campos, campo", [
    ({"nombre": "", "alcance": "lectura", "dias": "30"}, "nombre"),
    ({"nombre": "x", "alcance": "todo", "dias": "30"}, "alcance"),
    ({"nombre": "x", "alcance": "lectura", "dias": "1000"}, "dias"),
    ({"nombre": "x", "alcance": "lectura", "dias": "treinta"}, "dias"),
])
def test_a_bad_token_form_is_shown_again_with_its_message(services, app, campos, campo):
    b = Browser(app)
    b.login("mesa")
    result = b.post("/cuenta/tokens", campos)
    assert result.status_code == 422 and f'id="error-{campo}"' in result.text
    assert TokenApi.select().count() == 0 and not TOKEN.search(result.text)


def test_a_read_token_cannot_write(services, app):
    exp = file_tramite(services)
    lectura = crear_token(app, "mesa", "lectura")
    assert api(app, "GET", f"{STAFF}/expedientes/{exp.numero}", lectura).status_code == 200
    result = api(app, "POST", f"{STAFF}/expedientes/{exp.numero}/derivacion", lectura,
                 {"oficina_destino": "GDUR", "prioridad": "normal", "plazo_dias": 5})
    assert result.status_code == 403 and "solo lectura" in result.json["error"]
    assert set(result.json) == {"error", "campos"}
    assert Expediente.get_by_id(exp.id).estado == exp.estado
    assert not Evento.select().where((Evento.expediente == exp.id) & (Evento.tipo == "tarea")).exists()
    escritura = crear_token(app, "mesa", "escritura")
    result = api(app, "POST", f"{STAFF}/expedientes/{exp.numero}/derivacion", escritura,
                 {"oficina_destino": "GDUR", "prioridad": "normal", "plazo_dias": 5})
    assert result.status_code == 200, result.json
    assert [e["accion"] for e in result.json["registrado"]][-1].startswith("Deriv")


def test_a_revoked_expired_or_orphaned_token_gets_401(services, app, clock):
    b = Browser(app)
    b.login("mesa")
    revocado = TOKEN.search(b.post("/cuenta/tokens", {"nombre": "a", "alcance": "lectura", "dias": "30"}).text)[0]
    vence = TOKEN.search(b.post("/cuenta/tokens", {"nombre": "b", "alcance": "lectura", "dias": "30"}).text)[0]
    largo = TOKEN.search(b.post("/cuenta/tokens", {"nombre": "c", "alcance": "lectura", "dias": "365"}).text)[0]
    for token in (revocado, vence, largo):
        assert api(app, "GET", f"{STAFF}/tareas", token).status_code == 200
    fila = TokenApi.get(TokenApi.nombre == "a")
    assert b.post(f"/cuenta/tokens/{fila.id}/revocar", {}).status_code == 303
    result = api(app, "GET", f"{STAFF}/tareas", revocado)
    assert result.status_code == 401 and "revocado" in result.json["error"]
    assert result.headers["www-authenticate"].startswith("Bearer")
    clock.advance(days=30)  # the injected clock: the 30-day token ends now, the 365-day one lives on
    result = api(app, "GET", f"{STAFF}/tareas", vence)
    assert result.status_code == 401 and "venció" in result.json["error"]
    assert api(app, "GET", f"{STAFF}/tareas", largo).status_code == 200
    with services.db.write():  # disabled by hand, behind the use case's back: the token still dies with its user
        Usuario.update(activo=False).where(Usuario.username == "mesa").execute()
    result = api(app, "GET", f"{STAFF}/tareas", largo)
    assert result.status_code == 401 and "desactivado" in result.json["error"]
    for token in (None, "", "mpv_no-existe", "x" * 5000):
        result = api(app, "GET", f"{STAFF}/tareas", token)
        assert result.status_code == 401 and set(result.json) == {"error", "campos"}
    basic = testing.TestClient(app).simulate_get(f"{STAFF}/tareas", headers={"Authorization": f"Basic {largo}"})
    assert basic.status_code == 401
    assert Evento.select().where((Evento.tipo == "acceso") & (Evento.accion == "token_rechazado")).exists()


def test_disabling_a_user_revokes_their_tokens_for_good(services, app):
    token = crear_token(app, "gdur", "lectura")
    usuarios.desactivar_usuario(services, actor("admin"), usuario("gdur").id)
    usuarios.activar_usuario(services, actor("admin"), usuario("gdur").id)
    result = api(app, "GET", f"{STAFF}/tareas", token)
    assert result.status_code == 401 and "revocado" in result.json["error"]


def test_no_session_cookie_on_the_staff_api_and_no_token_elsewhere(services, app):
    token = crear_token(app, "mesa")
    b = Browser(app)
    b.login("mesa")
    assert b.get(f"{STAFF}/tareas").status_code == 401  # signed in, but a cookie is not a token
    result = b.post(f"{STAFF}/expedientes/{file_tramite(services).numero}/derivacion",
                    {"oficina_destino": "GDUR"}, csrf=True)
    assert result.status_code == 401
    client = testing.TestClient(app)
    for path in ("/tramites", "/inicio", "/cuenta", "/bandeja"):
        result = client.simulate_get(path, headers={"Authorization": f"Bearer {token}"})
        assert result.status_code == 303 and "/login" in result.headers["location"], path


def test_another_users_token_cannot_be_revoked(services, app):
    crear_token(app, "gdur")
    ajeno = TokenApi.get()
    b = Browser(app)
    b.login("mesa")
    assert b.post(f"/cuenta/tokens/{ajeno.id}/revocar", {}).status_code == 404
    assert TokenApi.get_by_id(ajeno.id).revocado is None


# -- the API: same actions, same rules ---------------------------------------------------------------------
def test_search_read_and_work_a_tramite_through_the_api(services, app):
    mesa, gdur, rentas = (crear_token(app, u) for u in ("mesa", "gdur", "rentas"))
    exp = file_tramite(services, asunto="Licencia para bodega")
    otro = file_tramite(services, asunto="Queja por ruidos")

    found = api(app, "GET", f"{STAFF}/expedientes", mesa, params={"q": "bodega"})
    assert found.status_code == 200 and [e["numero"] for e in found.json["expedientes"]] == [exp.numero]
    ficha = api(app, "GET", f"{STAFF}/expedientes/{exp.numero}", mesa).json
    assert ficha["documentos"][0]["tipo"] == "principal" and ficha["historial"][0]["accion"]
    recepcion = ficha["tareas"][0]
    assert recepcion["tarea"] == "recepcion"

    # observar (mesa de partes, on the other filing): the recepción's form, as JSON
    tarea = api(app, "GET", f"{STAFF}/expedientes/{otro.numero}", mesa).json["tareas"][0]
    sin = api(app, "POST", f"{STAFF}/expedientes/{otro.numero}/tareas/{tarea['task_id']}", mesa, {"accion": "observar"})
    assert sin.status_code == 422 and "observacion" in sin.json["campos"]
    obs = api(app, "POST", f"{STAFF}/expedientes/{otro.numero}/tareas/{tarea['task_id']}", mesa,
              {"accion": "observar", "observacion": "Falta la firma."})
    assert obs.status_code == 200 and obs.json["estado"] == Expediente.get_by_id(otro.id).estado

    # derivar (with its recepción, in one step) — an office may not
    body = {"oficina_destino": "GDUR", "prioridad": "normal", "plazo_dias": 5, "proveido": "Atender"}
    assert api(app, "POST", f"{STAFF}/expedientes/{exp.numero}/derivacion", gdur, body).status_code == 403
    assert api(app, "POST", f"{STAFF}/expedientes/{exp.numero}/derivacion", mesa, body).status_code == 200
    again = api(app, "POST", f"{STAFF}/expedientes/{exp.numero}/derivacion", mesa, body)
    assert again.status_code == 409 and "no está pendiente de derivación" in again.json["error"]

    # the office: its tasks, recibir, atender; another office sees nothing of it
    assert api(app, "GET", f"{STAFF}/expedientes/{exp.numero}", rentas).status_code == 403
    assert api(app, "GET", f"{STAFF}/tareas", rentas).json["tareas"] == []
    mias = api(app, "GET", f"{STAFF}/tareas", gdur).json["tareas"]
    assert [(t["expediente"], t["tarea"]) for t in mias] == [(exp.numero, "recibir")]
    url = f"{STAFF}/expedientes/{exp.numero}/tareas/{mias[0]['task_id']}"
    assert api(app, "POST", url, rentas, {}).status_code in (403, 409)
    assert api(app, "POST", url, gdur, {}).status_code == 200
    assert api(app, "POST", url, gdur, {}).status_code == 409  # received already
    atencion = api(app, "GET", f"{STAFF}/tareas", gdur).json["tareas"][0]
    assert atencion["tarea"] == "atencion"
    hecho = api(app, "POST", f"{STAFF}/expedientes/{exp.numero}/tareas/{atencion['task_id']}", gdur,
                {"accion": "atender", "respuesta": "Se otorgó la licencia."})
    assert hecho.status_code == 200 and hecho.json["terminado"] is True
    historial = api(app, "GET", f"{STAFF}/expedientes/{exp.numero}", gdur).json["historial"]
    assert any(m["usuario"] == "gdur" for m in historial)


@pytest.mark.parametrize("cuerpo, content_type, status", [
    (b"{no es json", "application/json", 400),
    (b"[1, 2]", "application/json", 422),
    (b'{"accion": {"a": 1}}', "application/json", 422),
    (b"accion=conforme", "application/x-www-form-urlencoded", 415),
    (b'{"x": "' + b"a" * 70_000 + b'"}', "application/json", 413),
    (b'{"accion": "observar", "observacion": "a\\u0000b"}', "application/json", 422),
    # Past what the document's «Valores» allows: a longer text, more fields, a list of numbers.
    (b'{"accion": "conforme", "nota": "' + b"a" * 5001 + b'"}', "application/json", 422),
    (("{" + ", ".join(f'"c{i}": 1' for i in range(50)) + ', "accion": "conforme"}').encode(), "application/json", 422),
    (b'{"accion": "conforme", "oficinas_adicionales": [1, 2]}', "application/json", 422),
])
def test_bad_bodies_are_clear_json_errors_and_change_nothing(services, app, cuerpo, content_type, status):
    token = crear_token(app, "mesa")
    exp = file_tramite(services)
    task_id = Tarea.get(Tarea.expediente == exp.id).task_id
    result = testing.TestClient(app).simulate_post(
        f"{STAFF}/expedientes/{exp.numero}/tareas/{task_id}", body=cuerpo,
        headers={"Authorization": f"Bearer {token}", "Content-Type": content_type})
    assert result.status_code == status, result.text
    assert set(result.json) == {"error", "campos"} and result.json["error"]
    assert Expediente.get_by_id(exp.id).estado == exp.estado


def test_every_call_is_audited_and_auditors_read_it(services, app):
    token = crear_token(app, "mesa", "lectura")
    fila = TokenApi.get()
    exp = file_tramite(services)
    calls = [("GET", f"{STAFF}/tareas", 200), ("GET", f"{STAFF}/expedientes/{exp.numero}", 200),
             ("GET", f"{STAFF}/expedientes/2026-999999", 404), ("GET", f"{STAFF}/no-existe", 404),
             ("POST", f"{STAFF}/expedientes/{exp.numero}/derivacion", 403)]
    for method, path, status in calls:
        assert api(app, method, path, token, {} if method == "POST" else None).status_code == status, path
    rows = llamadas_api()
    assert [(r.descripcion, estado_de(r)) for r in rows] == [(f"{m} {p}", s) for m, p, s in calls]
    assert all(r.actor_nombre == "mesa" and r.rol == "mesa" and f"token N° {fila.id}" in r.detalle
               and r.ip == "127.0.0.1" and r.momento == services.clock() for r in rows)
    assert TokenApi.get_by_id(fila.id).usos == len(calls)
    assert history.verify().ok
    auditor = Browser(app)
    auditor.login("auditor")
    page = auditor.get("/auditoria/eventos", tipo="api")
    assert page.status_code == 200 and f"GET {STAFF}/tareas" in page.text
    cuenta = Browser(app)
    cuenta.login("mesa")
    assert re.search(rf"<td>{len(calls)}</td>", cuenta.get("/cuenta").text)


def estado_de(row: Evento) -> int:
    """The HTTP status an api row of the audit chain recorded."""
    return json.loads(row.payload)["estado"]


def test_an_api_derivation_and_a_browser_derivation_race_one_wins(services, app):
    """Over a real server, the same expediente derived at once by a token and by a signed-in browser: one wins,
    the other gets a 409, and exactly one derivation is recorded, in each of several rounds."""
    make_user("mesa2", "mesa", "MP")
    token = crear_token(app, "mesa")
    with served(services, threads=4) as port:
        cookies, csrf = http_login(port, "mesa2")
        wins = {"api": 0, "web": 0}
        for ronda in range(6):
            exp = file_tramite(services)
            step(services, exp, actor("mesa"), accion="conforme")
            barrier = threading.Barrier(2)
            results = {}

            def send(kind):
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
                if kind == "api":
                    body = json.dumps({"oficina_destino": "GDUR", "prioridad": "normal", "plazo_dias": 5})
                    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
                    path = f"{STAFF}/expedientes/{exp.numero}/derivacion"
                else:
                    body = urlencode({"csrf": csrf, "paso": "confirmar", "oficina_destino": "SGAT",
                                      "prioridad": "normal", "plazo_dias": "5"})
                    headers = {"Content-Type": "application/x-www-form-urlencoded", "Cookie": cookie_header(cookies)}
                    path = f"/expedientes/{exp.numero}/derivar"
                barrier.wait()
                conn.request("POST", path, body=body, headers=headers)
                response = conn.getresponse()
                results[kind] = (response.status, response.read().decode())
                conn.close()

            threads = [threading.Thread(target=send, args=(kind,)) for kind in ("api", "web")]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            statuses = {kind: status for kind, (status, _) in results.items()}
            assert statuses in ({"api": 200, "web": 409}, {"api": 409, "web": 303}), (ronda, results)
            if statuses["api"] == 409:
                assert json.loads(results["api"][1])["error"], ronda
            wins["api" if statuses["api"] == 200 else "web"] += 1
            derivaciones = Evento.select().where((Evento.expediente == exp.id) & (Evento.tarea == "derivacion"))
            assert derivaciones.count() == 1, ronda
    assert sum(wins.values()) == 6
    assert len(llamadas_api()) == 6  # the losing API calls too


# -- the OpenAPI document, fuzzed with a token ----------------------------------------------------------------
def test_staff_api_schemathesis(services, app):
    """Schemathesis against every staff operation, with a write token of mesa de partes and a real expediente:
    no 5xx, every answer as the document declares it, every error {"error", "campos"}."""
    token = crear_token(app, "mesa")
    # The token as the document's «token» scheme: schemathesis's ignored_auth check also sends each call without it
    # and with a wrong one, and expects a 401.
    # A body past 64 KB is refused with 413 before it is read: a rejection too.
    rechazos = ["400", "401", "403", "404", "405", "406", "409", "413", "415", "422", "428", "429"]
    config = schemathesis.Config.from_dict({"checks": {"positive_data_acceptance": {"enabled": False},
                                                       "negative_data_rejection": {"expected-statuses": rechazos}},
                                            "auth": {"openapi": {"token": {"bearer": token}}}})
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app, config=config)
    numeros = [file_tramite(services).numero]
    exp = file_tramite(services)
    step(services, exp, actor("mesa"), accion="conforme")
    derivar(services, exp, actor("mesa"), "GDUR")
    recibir(services, exp, actor("gdur"))
    numeros.append(exp.numero)
    sent = 0
    for path, item in schema.raw_schema["paths"].items():
        if not path.startswith(STAFF):
            continue
        for method in item:
            operation = schema[path][method.upper()]
            for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
                sent += _fuzz(operation, mode, numeros)
    assert sent >= 500
    assert TokenApi.get().usos >= sent // 2  # refused tokens are not uses; the rest are all in the log


def _fuzz(operation, mode, numeros) -> int:
    strategy = operation.as_strategy(generation_mode=mode)
    count = [0]

    @settings(max_examples=60, deadline=None, derandomize=True, database=None, suppress_health_check=list(HealthCheck))
    @given(data=st.data())
    def send(data):
        case = data.draw(strategy)
        if "numero" in (case.path_parameters or {}) and data.draw(st.booleans()):
            case.path_parameters["numero"] = data.draw(st.sampled_from(numeros))
        response = case.call()
        count[0] += 1
        assert response.status_code < 500, (case.as_curl_command(), response.text)
        case.validate_response(response)
        if response.status_code >= 400:
            body = response.json()
            assert set(body) <= {"error", "campos", "incidente"} and body["error"]

    send()
    return count[0]
