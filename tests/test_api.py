"""The JSON API v1 through falcon.testing (and a real waitress server where the server matters): filing,
seguimiento, catalogue, every refusal with its status and field, nothing written when refused, the
OpenAPI document valid and true to the app."""
from __future__ import annotations

import dataclasses
import http.client
import io
import json
import threading

import falcon.inspect
import pytest
from falcon import testing
from helpers import (FILING, SmtpServer, base_date, build_services, derivar, free_port, make_user, recibir,
                     resolve_refs, served, step)
from openapi_schema_validator import OAS30Validator
from openapi_spec_validator import validate as validate_spec
from pypdf import PdfWriter
from pypdf.generic import ArrayObject, DictionaryObject, NameObject, NumberObject, TextStringObject
from webclient import multipart

from mpv import history
from mpv.correo.mailer import Mailer
from mpv.demo import sample_pdf
from mpv.engine import Actor
from mpv.identidad import ruc_check_digit
from mpv.models import Adjunto, Correo, Evento, Expediente, Remitente, TipoDocumento
from mpv.tramites.campos import API, obligatorios
from mpv.web.app import create_app
from mpv.web.openapi import document

TRAMITES = "/api/v1/tramites"
REQUIRED = obligatorios(API)
RUC = "20131312955"
JURIDICA = {**FILING, "tipo_persona": "juridica", "tipo_documento_identidad": "RUC", "numero_documento_identidad": RUC,
            "razon_social": "Empresa de Servicios Loreto S.A.C.", "nombres": "", "apellidos": ""}


@pytest.fixture
def client(services):
    return testing.TestClient(create_app(services))


@pytest.fixture
def spec(services):
    return document(services.settings, services.limits)


class Counting(io.BytesIO):
    """A request body that remembers how many bytes the app read from it."""

    consumed = 0

    def read(self, size=-1):
        data = super().read(size)
        self.consumed += len(data)
        return data


def post(client, fields=FILING, files=None, raw: Counting | None = None):
    """POST a filing: ``fields`` (dict or pairs) and ``files`` as (name, filename, bytes)."""
    pairs = list(fields.items()) if isinstance(fields, dict) else list(fields)
    files = [("archivo", "solicitud.pdf", sample_pdf("Solicitud"))] if files is None else files
    body, content_type = multipart([(k, str(v)) for k, v in pairs], files)
    extras = {"wsgi.input": raw} if raw is not None else None
    if raw is not None:
        raw.write(body)
        raw.seek(0)
    return client.simulate_post(TRAMITES, body=body, headers={"Content-Type": content_type}, extras=extras,
                                remote_addr="203.0.113.7")


def written_files(services) -> list:
    return [p for p in services.settings.attachments_dir.rglob("*") if p.is_file()]


def assert_nothing_written(services, refused_files: int = 0):
    """No filing, file or message; the only history a refused filing leaves is the audit row of a refused
    file (ASVS V16.3.3), and only when ``refused_files``."""
    counts = {m.__name__: m.select().count() for m in (Expediente, Adjunto, Remitente, Correo, Evento)}
    assert counts == {**dict.fromkeys(counts, 0), "Evento": refused_files}
    refusals = Evento.select().where((Evento.tipo == "acceso") & (Evento.accion == "archivo_rechazado"))
    assert refusals.count() == refused_files
    assert written_files(services) == []  # tmp/ included


def assert_json(result):
    assert result.headers["content-type"] == "application/json"
    assert "set-cookie" not in result.headers
    return result.json




def conforms(spec, result, path: str, method: str = "get"):
    """The response is one the OpenAPI document promises for this operation: status, headers, JSON body."""
    responses = spec["paths"][path][method]["responses"]
    assert str(result.status_code) in responses, (path, result.status_code)
    response = resolve_refs(responses[str(result.status_code)], spec)
    for name in response.get("headers", {}):
        assert result.headers.get(name.lower()), name
    OAS30Validator(response["content"]["application/json"]["schema"],
                   format_checker=OAS30Validator.FORMAT_CHECKER).validate(assert_json(result))


def pdf(title="Documento", pages=1) -> bytes:
    return sample_pdf(title, pages)


def rewritten_pdf(change) -> bytes:
    """A real PDF changed by ``change(writer)`` (a pypdf PdfWriter)."""
    writer = PdfWriter(clone_from=io.BytesIO(pdf("Documento", 2)))
    change(writer)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def encrypted_pdf() -> bytes:
    return rewritten_pdf(lambda w: w.encrypt("secreto"))


def open_action(kind: str, key: str, value: str):
    """A change that makes the PDF run an action when opened: JavaScript, or launching a program."""
    def change(writer):
        writer.root_object[NameObject("/OpenAction")] = DictionaryObject({
            NameObject("/S"): NameObject(kind), NameObject(key): TextStringObject(value)})
    return change


def link_with_javascript(writer):
    action = DictionaryObject({NameObject("/S"): NameObject("/JavaScript"), NameObject("/JS"): TextStringObject("x()")})
    link = DictionaryObject({NameObject("/Type"): NameObject("/Annot"), NameObject("/Subtype"): NameObject("/Link"),
                             NameObject("/Rect"): ArrayObject([NumberObject(n) for n in (0, 0, 100, 100)]),
                             NameObject("/A"): action})
    writer.add_annotation(1, link)


# -- filing ------------------------------------------------------------------------------------------------
@pytest.mark.fecha_fija("the answer's dates are Monday 2 March, 09:30")
def test_filing_natural_with_two_annexes(services, client, spec):
    files = [("archivo", "solicitud.pdf", pdf("Solicitud", 2)), ("anexos", "plano.pdf", pdf("Plano")),
             ("anexos", "C:\\Usuarios\\ana\\recibo de pago.pdf", pdf("Recibo"))]
    result = post(client, {**FILING, "numero_documento": "S/N", "folios": "4"}, files)
    assert result.status_code == 201, result.text
    conforms(spec, result, TRAMITES, "post")
    body = result.json
    expediente = Expediente.get(Expediente.codigo == body["codigo"])
    base = services.settings.base_url
    assert body == {
        "numero": "2026-000001", "codigo": expediente.codigo, "fecha_presentacion": "2026-03-02",
        "presentado_en": "2026-03-02T09:30:00-05:00", "estado": "Registrado",
        "procedimiento": None, "plazo_vence": None, "plazo_suspendido": False, "silencio": None,  # documento simple
        "seguimiento_url": f"{base}/seguimiento/{expediente.codigo}",
        "constancia_url": f"{base}/constancia/{expediente.codigo}"}
    assert result.headers["location"] == f"{base}/api/v1/tramites/{expediente.codigo}/seguimiento"
    assert (expediente.remitente_nombre, expediente.remitente_documento, expediente.folios) == (
        "Ana Rojas Villanueva", "45871236", 4)
    assert [(a.tipo, a.nombre) for a in expediente.adjuntos.order_by(Adjunto.id)] == [
        ("principal", "solicitud.pdf"), ("anexo", "plano.pdf"), ("anexo", "recibo de pago.pdf")]
    assert len(written_files(services)) == 3 and not list(services.storage.tmp.iterdir())
    correos = list(Correo.select().where(Correo.expediente == expediente.id))
    assert [(c.tipo, c.destinatario, c.estado) for c in correos] == [("constancia", "ana@example.com", "pendiente")]
    assert Evento.get(Evento.expediente == expediente.id, Evento.tipo == "inicio").ip == "203.0.113.7"


def test_filing_persona_juridica_with_ruc(services, client):
    assert ruc_check_digit(RUC[:10]) == int(RUC[10])
    result = post(client, JURIDICA, [("archivo", "carta.pdf", pdf("Carta")), ("anexos", "a.pdf", pdf("A")),
                                     ("anexos", "b.pdf", pdf("B"))])
    assert result.status_code == 201, result.text
    expediente = Expediente.get(Expediente.numero == result.json["numero"])
    assert (expediente.remitente.tipo_persona, expediente.remitente_nombre, expediente.remitente_documento) == (
        "juridica", "Empresa de Servicios Loreto S.A.C.", RUC)
    assert expediente.adjuntos.count() == 3
    assert Correo.select().where(Correo.expediente == expediente.id, Correo.tipo == "constancia").count() == 1


# -- refusals: the right status, the field named, nothing written ------------------------------------------------
def wrong_ruc() -> str:
    return RUC[:10] + str((int(RUC[10]) + 1) % 10)


def principal(content: bytes, *anexos: bytes) -> list:
    return [("archivo", "solicitud.pdf", content)] + [("anexos", f"anexo{i}.pdf", a) for i, a in enumerate(anexos, 1)]


# case → (the fields, the files, the field «campos» must name, words its message must carry)
BAD_INPUT = {
    "html renombrado .pdf": (FILING, principal(b"<!doctype html><html><body>Hola</body></html>"),
                             "archivo", "no es un PDF"),
    "pdf cifrado": (FILING, principal(encrypted_pdf()), "archivo", "contraseña"),
    "pdf truncado": (FILING, principal(pdf("Cortado", 3)[:-400]), "archivo", "incompleto"),
    "pdf con JavaScript": (FILING, principal(rewritten_pdf(open_action("/JavaScript", "/JS", "app.alert(1)"))),
                           "archivo", "JavaScript"),
    "pdf con archivo incrustado": (FILING, principal(rewritten_pdf(lambda w: w.add_attachment("datos.exe", b"MZ"))),
                                   "archivo", "archivos incrustados"),
    "pdf que abre un programa": (FILING, principal(rewritten_pdf(open_action("/Launch", "/F", "calc.exe"))),
                                 "archivo", "programas"),
    "anexo con JavaScript en un enlace": (FILING, principal(pdf(), rewritten_pdf(link_with_javascript)),
                                          "anexos", "JavaScript"),
    "anexo cifrado": (FILING, principal(pdf(), pdf(), encrypted_pdf()), "anexos", "contraseña"),
    "seis anexos": (FILING, principal(pdf(), *[pdf(f"Anexo {i}") for i in range(6)]), "anexos", "máximo es 5"),
    "dos documentos principales": (FILING, principal(pdf()) + principal(pdf()), "archivo", "un solo documento"),
    "ruc con dígito verificador errado": ({**JURIDICA, "numero_documento_identidad": wrong_ruc()}, None,
                                          "numero_documento_identidad", "dígito verificador"),
    "dni de 7 dígitos": ({**FILING, "numero_documento_identidad": "4587123"}, None,
                         "numero_documento_identidad", "8 dígitos"),
    "tipo de documento de identidad desconocido": ({**FILING, "tipo_documento_identidad": "LM"}, None,
                                                   "tipo_documento_identidad", "DNI, CE, PASAPORTE o RUC"),
    "jurídica sin RUC": ({**JURIDICA, "tipo_documento_identidad": "DNI", "numero_documento_identidad": "45871236"},
                         None, "tipo_documento_identidad", "RUC"),
    "correo no válido": ({**FILING, "email": "ana-arroba-example"}, None, "email", "correo"),
    "folios cero": ({**FILING, "folios": "0"}, None, "folios", "folios"),
    "sin aceptar la notificación": ({**FILING, "acepta_notificacion": "false"}, None, "acepta_notificacion", "aceptar"),
    "tipo de documento inactivo o inexistente": ({**FILING, "tipo_documento": "XYZ"}, None, "tipo_documento", "lista"),
    "asunto demasiado largo": ({**FILING, "asunto": "a" * 501}, None, "asunto", "500"),
    "texto con NUL": ({**FILING, "asunto": "Licencia\x00"}, None, "asunto", "no válidos"),
    "campo desconocido": ([*FILING.items(), ("declaracion", "true")], None, "declaracion", "desconocido"),
    "campo repetido": ([*FILING.items(), ("email", "otro@example.com")], None, "email", "una sola vez"),
}


@pytest.mark.parametrize("case", list(BAD_INPUT), ids=list(BAD_INPUT))
def test_bad_input_is_422_naming_the_field_and_writes_nothing(services, client, spec, case):
    fields, files, field, words = BAD_INPUT[case]
    result = post(client, fields, files)
    assert result.status_code == 422, result.text
    conforms(spec, result, TRAMITES, "post")
    assert words in result.json["campos"][field]
    refused_file = field in ("archivo", "anexos") and case not in ("seis anexos", "dos documentos principales")
    assert_nothing_written(services, refused_files=1 if refused_file else 0)
    if refused_file:
        row = Evento.get(Evento.accion == "archivo_rechazado")
        assert row.descripcion.startswith("Archivo rechazado: ") and words in row.detalle


def missing_cases():
    for name in REQUIRED:
        yield name, FILING
    yield "nombres", FILING
    yield "apellidos", FILING
    yield "razon_social", JURIDICA


@pytest.mark.parametrize("name,base", list(missing_cases()), ids=[n for n, _ in missing_cases()])
def test_each_missing_required_field_is_named(services, client, name, base):
    fields = {k: v for k, v in base.items() if k != name}
    files = [] if name == "archivo" else None
    result = post(client, fields, files)
    assert result.status_code == 422, result.text
    assert name in result.json["campos"], result.json
    assert_nothing_written(services)


def test_missing_fields_are_reported_together_with_the_other_problems(services, client):
    fields = {k: v for k, v in FILING.items() if k not in ("tipo_persona", "folios")}
    result = post(client, {**fields, "email": "no-es-correo"}, [])
    assert set(result.json["campos"]) == {"tipo_persona", "folios", "email", "archivo"}


def test_empty_file_parts_a_browser_sends_count_as_no_file(services, client):
    no_annex = post(client, FILING, principal(pdf()) + [("anexos", "", b"")])
    assert no_annex.status_code == 201, no_annex.text
    assert Adjunto.select().count() == 1
    no_file = post(client, FILING, [("archivo", "", b"")])
    assert no_file.status_code == 422 and "Adjunte" in no_file.json["campos"]["archivo"]
    assert not list(services.storage.tmp.iterdir())


def test_file_over_its_limit_is_413_and_reading_stops(settings, clock):
    services = build_services(dataclasses.replace(settings, max_principal_mb=1), clock)
    try:
        client = testing.TestClient(create_app(services))
        big = b"%PDF-1.7\n" + b"0" * (5 * 1024 * 1024) + b"\n%%EOF\n"
        raw = Counting()
        result = post(client, FILING, [("archivo", "escaneo.pdf", big)], raw=raw)
        assert result.status_code == 413, result.text
        conforms(document(services.settings, services.limits), result, TRAMITES, "post")
        assert "1 MB" in result.json["campos"]["archivo"]
        assert raw.consumed < 2 * 1024 * 1024  # stopped near the 1 MB limit, not after 5 MB
        assert_nothing_written(services)
    finally:
        services.close()


def test_annexes_are_counted_as_they_arrive(services, client):
    sixth = b"%PDF-1.7\n" + b"0" * (4 * 1024 * 1024) + b"\n%%EOF\n"
    files = [("archivo", "s.pdf", pdf())] + [("anexos", f"a{i}.pdf", pdf()) for i in range(5)]
    raw = Counting()
    result = post(client, FILING, files + [("anexos", "sexto.pdf", sixth)], raw=raw)
    assert result.status_code == 422 and "anexos" in result.json["campos"]
    assert raw.consumed < 1024 * 1024  # the sixth annex was never read
    assert_nothing_written(services)


def test_not_multipart_is_415(services, client, spec):
    for headers, body in (({"Content-Type": "application/json"}, json.dumps(FILING)),
                          ({"Content-Type": "application/x-www-form-urlencoded"}, "tipo_persona=natural"),
                          ({}, "")):
        result = client.simulate_post(TRAMITES, body=body, headers=headers)
        assert result.status_code == 415, result.text
        conforms(spec, result, TRAMITES, "post")
        assert "multipart/form-data" in result.json["error"]
    assert_nothing_written(services)


def test_malformed_multipart_is_400_and_leaves_no_file(services, client, spec):
    body, content_type = multipart(list(FILING.items()), [("archivo", "s.pdf", pdf("Solicitud", 3))])
    cases = [(body[: len(body) - 200], content_type),  # cut inside the file: the file was already streamed
             (b"esto no es multipart", content_type),
             (body, "multipart/form-data"),  # no boundary
             (body.replace(b'form-data; name="asunto"', b"form-data"), content_type)]  # a part without a name
    for data, ctype in cases:
        result = client.simulate_post(TRAMITES, body=data, headers={"Content-Type": ctype})
        assert result.status_code == 400, result.text
        conforms(spec, result, TRAMITES, "post")
    assert_nothing_written(services)


def test_other_methods_and_routes_answer_json(client):
    wrong_method = client.simulate_get(TRAMITES)
    assert wrong_method.status_code == 405 and "POST" in wrong_method.headers["allow"]
    assert set(assert_json(wrong_method)) == {"error", "campos"}
    missing = client.simulate_get("/api/v1/no-existe")
    assert missing.status_code == 404 and set(assert_json(missing)) == {"error", "campos"}


# -- seguimiento and catalogue ---------------------------------------------------------------------------------
@pytest.mark.fecha_fija("the filing date shown is Monday 2 March")
def test_seguimiento_is_public_without_staff_names_or_proveidos(services, client, spec, clock):
    mesa = Actor.de_usuario(make_user("mquispe", "mesa", "MP"))
    gdur = Actor.de_usuario(make_user("jmendoza", "oficina", "GDUR"))
    codigo = post(client).json["codigo"]
    expediente = Expediente.get(Expediente.codigo == codigo)
    clock.advance(hours=1)
    step(services, expediente, mesa, accion="observar", observacion="Falta la firma en la página 2")
    step(services, expediente, Actor.ciudadano(expediente), descripcion="Adjunto el documento firmado")
    step(services, expediente, mesa, accion="conforme")
    derivar(services, expediente, mesa, "GDUR", proveido="PROVEÍDO INTERNO: revisar con cuidado")
    clock.advance(days=1)
    recibir(services, expediente, gdur)
    step(services, expediente, gdur, accion="atender", respuesta="Se otorga la licencia solicitada")

    result = client.simulate_get(f"/api/v1/tramites/{codigo}/seguimiento")
    assert result.status_code == 200
    conforms(spec, result, "/api/v1/tramites/{codigo}/seguimiento")
    body = result.json
    assert (body["numero"], body["estado"], body["fecha_presentacion"], body["terminado"]) == (
        "2026-000001", "Atendido", "2026-03-02", True)
    eventos = body["eventos"]
    assert [e["accion"] for e in eventos] == [
        "Trámite presentado", "Recepción: Observar", "Subsanación", "Recepción: Conforme", "Derivación",
        "Recepción en la oficina", "Atención: Atender (responder)"]
    assert eventos[0]["fecha"] == "2026-03-02T09:30:00-05:00" and eventos[-1]["fecha"] == "2026-03-03T10:30:00-05:00"
    assert eventos[4]["oficina_destino"] == "Gerencia de Desarrollo Urbano y Rural"
    detalles = [e["detalle"] for e in eventos]
    assert "Falta la firma en la página 2" in detalles and "Adjunto el documento firmado" in detalles
    assert "Se otorga la licencia solicitada" in detalles
    text = result.text.lower()
    for secret in ("proveído interno", "mquispe", "jmendoza", "ana rojas", "203.0.113.7"):
        assert secret not in text


def test_unknown_tracking_code_is_404(client, spec):
    result = client.simulate_get("/api/v1/tramites/no-existe-este-codigo/seguimiento")
    assert result.status_code == 404
    conforms(spec, result, "/api/v1/tramites/{codigo}/seguimiento")
    assert "código de seguimiento" in result.json["error"]


def test_tipos_documento_lists_only_active_types(services, client, spec):
    TipoDocumento.update(activo=False).where(TipoDocumento.codigo == "DEN").execute()
    result = client.simulate_get("/api/v1/tipos-documento")
    assert result.status_code == 200
    conforms(spec, result, "/api/v1/tipos-documento")
    tipos = result.json["tipos_documento"]
    assert {"codigo": "SOL", "nombre": "Solicitud"} in tipos
    assert "DEN" not in {t["codigo"] for t in tipos}
    assert {t["codigo"] for t in tipos} == {
        t.codigo for t in TipoDocumento.select().where(TipoDocumento.activo == True)}  # noqa: E712
    assert [t["nombre"] for t in tipos] == sorted(t["nombre"] for t in tipos)


# -- OpenAPI ----------------------------------------------------------------------------------------------------
def test_openapi_document_is_valid_and_describes_every_api_route(services, client):
    result = client.simulate_get("/api/v1/openapi.json")
    assert result.status_code == 200
    spec = assert_json(result)
    validate_spec(spec)
    assert spec["components"]["schemas"]["SolicitudTramite"]["properties"]["anexos"]["maxItems"] == 5
    routes = {route.path: {m.method.lower() for m in route.methods if not m.internal}
              for route in falcon.inspect.inspect_routes(client.app) if route.path.startswith("/api/v1")}
    documented = {path: {m for m in item if m in ("get", "post", "put", "patch", "delete")}
                  for path, item in spec["paths"].items()}
    assert routes == documented
    for path, item in spec["paths"].items():
        for operation in item.values():
            if "429" in operation["responses"]:
                assert "Retry-After" in resolve_refs(operation["responses"]["429"], spec)["headers"]
    post_op = spec["paths"][TRAMITES]["post"]
    assert set(post_op["responses"]) >= {"201", "400", "413", "415", "422", "429"}
    form = post_op["requestBody"]["content"]["multipart/form-data"]
    assert resolve_refs(form["schema"], spec)["properties"]["archivo"]["format"] == "binary"


# -- a real server: waitress's own limits and 50 concurrent filings -----------------------------------------------
def http_post(port, fields, files):
    body, content_type = multipart([(k, str(v)) for k, v in fields.items()], files)
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        conn.request("POST", TRAMITES, body=body, headers={"Content-Type": content_type})
        response = conn.getresponse()
        return response.status, response.getheader("Content-Type"), json.loads(response.read())
    finally:
        conn.close()


def test_waitress_lets_the_app_answer_its_own_413(settings, clock):
    services = build_services(dataclasses.replace(settings, max_principal_mb=1), clock)
    try:
        with served(services) as port:
            big = b"%PDF-1.7\n" + b"0" * (3 * 1024 * 1024) + b"\n%%EOF\n"
            status, content_type, body = http_post(port, FILING, [("archivo", "escaneo.pdf", big)])
        assert (status, content_type) == (413, "application/json")
        assert "archivo" in body["campos"]
        assert_nothing_written(services)
    finally:
        services.close()


def test_fifty_concurrent_api_filings(settings, clock, tmp_path):
    """50 filings at once: 50 consecutive numbers, 50 constancias, 50 e-mails received by a real SMTP server."""
    smtp = SmtpServer(free_port())
    smtp.start()
    services = build_services(dataclasses.replace(settings, smtp_host="127.0.0.1", smtp_port=smtp.port,
                                                  smtp_starttls=False), clock)
    try:
        _fifty_filings(services)
        mailer = Mailer(services, timeout=10)
        while mailer.send_due():
            pass
        assert len(smtp.messages) == 50
        subjects = sorted(m["Subject"] for _, m in smtp.messages)
        assert subjects == [f"Expediente N° {base_date().year}-{n:06d}: Constancia de presentación"
                            for n in range(1, 51)]
        assert all(to == [FILING["email"]] for to, _ in smtp.messages)
        assert Correo.select().where(Correo.estado == "enviado").count() == 50
    finally:
        services.close()
        smtp.stop()


def _fifty_filings(services):
    barrier = threading.Barrier(50)
    results, errors = [], []

    def file_one(i):
        barrier.wait()
        try:
            results.append(http_post(port, {**FILING, "asunto": f"Solicitud {i}"},
                                     [("archivo", f"s{i}.pdf", pdf(f"Solicitud {i}"))]))
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(repr(exc))

    with served(services) as port:
        threads = [threading.Thread(target=file_one, args=(i,)) for i in range(50)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert not errors
    assert sorted(status for status, _, _ in results) == [201] * 50, results[:3]
    assert sorted(body["numero"] for _, _, body in results) == [f"{base_date().year}-{n:06d}" for n in range(1, 51)]
    assert len({body["codigo"] for _, _, body in results}) == 50
    assert Correo.select().where(Correo.tipo == "constancia").count() == 50
    assert Expediente.select().count() == 50 and Adjunto.select().count() == 50
    assert history.verify().ok
