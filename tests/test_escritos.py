"""Escritos on an existing expediente (issue 14, item 5): the citizen adds a PDF and annexes to an expediente he
already has — with its tracking code, or its number and his identity document — or mesa de partes registers one
brought on paper. Each escrito has its own number and constancia, joins the expediente's documents and history, and
the process (an event subprocess of tramite.bpmn) gives «Revisar escrito» to whoever holds the expediente now."""
from __future__ import annotations

import io
import re
import threading
from datetime import timedelta

import orjson
import pytest
from asn1crypto import x509 as asn1_x509
from cryptography.hazmat.primitives import serialization
from falcon import testing
from firmas_pki import Autoridad
from helpers import base_date, build_services, derivar, file_tramite, make_user, recibir, step
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko_certvalidator import ValidationContext
from pypdf import PdfReader
from webclient import Browser, multipart, signed_in

from mpv import sello
from mpv.config import Settings
from mpv.demo import sample_pdf
from mpv.engine import Actor, migration
from mpv.engine.definitions import read_bundles
from mpv.errors import Conflict, InvalidInput, NotAllowed, NotFound
from mpv.correo.mensajes import Mensajes
from mpv.models import (Adjunto, Correo, Escrito, EscritoAdjunto, Evento, Expediente, FirmaAdjunto, NumeracionEscrito,
                        Tarea)
from mpv.tramites import escritos
from mpv.web.app import create_app

ANIO = base_date().year
ESCRITO = [("archivo", "escrito.pdf", sample_pdf("Escrito")), ("anexos", "plano.pdf", sample_pdf("Plano"))]


def text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


@pytest.fixture
def app(services):
    return create_app(services)


@pytest.fixture
def en_gdur(services, staff):
    """An expediente derived to GDUR and received there («Atención» waits in GDUR's tray)."""
    exp = file_tramite(services)
    step(services, exp, staff["mesa"], accion="conforme")
    derivar(services, exp, staff["mesa"], "GDUR")
    recibir(services, exp, staff["gdur"])
    return Expediente.get_by_id(exp.id)


def presentar_web(b, codigo="", files=ESCRITO, **fields):
    """The citizen's «Presentar un escrito» form, opened from the seguimiento (``codigo``) and sent."""
    b.get("/escritos/nuevo", **({"codigo": codigo} if codigo else {}))
    pairs = ([("codigo", codigo)] if codigo else []) + list(fields.items())
    return b.post("/escritos/nuevo", pairs, files=files)


def recibido(services, path, nombre):
    return services.storage.receive(io.BytesIO(path), nombre, services.limits.principal_bytes)


def del_ciudadano(services, exp, pdf=None, anexos=(), descripcion=""):
    principal = recibido(services, pdf or sample_pdf("Escrito"), "escrito.pdf")
    extra = [recibido(services, a, f"anexo{i}.pdf") for i, a in enumerate(anexos, 1)]
    return escritos.presentar(services, exp, descripcion, principal, extra, Actor.ciudadano(exp, "127.0.0.1"))


def written(services):
    """Everything an escrito could write: its rows, its numbering, the expediente's files, history and kept files."""
    return (Escrito.select().count(), EscritoAdjunto.select().count(), list(NumeracionEscrito.select().tuples()),
            Adjunto.select().count(), Evento.select().where(Evento.expediente.is_null(False)).count(),
            Tarea.select().count(),
            sorted(p.name for p in services.storage.root.glob("??/??/*")))


def revisiones(exp) -> list[Tarea]:
    return list(Tarea.select().where((Tarea.expediente == exp.id) & (Tarea.nombre == "Revisar escrito")))


# -- the test ---------------------------------------------------------------------------------------------
def test_an_escrito_on_an_expediente_in_an_office_reaches_its_tray_and_the_citizens_seguimiento(services, staff, app,
                                                                                                 en_gdur):
    citizen = Browser(app)
    sent = presentar_web(citizen, en_gdur.codigo, descripcion="Adjunto el plano de ubicación")
    assert sent.status_code == 303, sent.text
    escrito = Escrito.get()
    assert sent.headers["location"] == f"/escritos/{escrito.codigo}"
    assert (escrito.numero, escrito.via, escrito.expediente_id) == (f"E-{ANIO}-000001", "virtual", en_gdur.id)

    # The constancia: on the page, as a PDF, and by e-mail to the sender.
    [correo] = Correo.select().where(Correo.tipo == "escrito")
    mensaje = Mensajes(services).build(correo, services.clock())
    assert mensaje["To"].addresses[0].addr_spec == "ana@example.com"
    assert "Constancia de su escrito" in mensaje["Subject"] and f"E-{ANIO}-000001" in mensaje.get_body().get_content()
    assert [a.get_filename() for a in mensaje.iter_attachments()] == [f"constancia-escrito-E-{ANIO}-000001.pdf"]
    constancia = text(citizen.get(sent.headers["location"]).text)
    assert f"N° de escrito E-{ANIO}-000001" in constancia and f"Expediente {en_gdur.numero}" in constancia
    pdf = citizen.get(f"/escritos/{escrito.codigo}/pdf")
    assert pdf.headers["content-type"] == "application/pdf"
    contenido = PdfReader(io.BytesIO(pdf.content)).pages[0].extract_text()
    assert f"E-{ANIO}-000001" in contenido and en_gdur.numero in contenido and "plano.pdf" in contenido

    # The office that holds it finds it in its tray, apart from its own work on the expediente; no other office.
    bandeja = text(signed_in(services, "gdur2", "oficina", "GDUR").get("/bandeja").text)
    escritos_gdur = bandeja[bandeja.index("Escritos por revisar"):bandeja.index("Con copia")]
    assert "Escritos por revisar (1)" in bandeja and en_gdur.numero in escritos_gdur
    assert "En atención (1)" in bandeja
    assert "Escritos por revisar (0)" in text(signed_in(services, "rentas2", "oficina", "SGAT").get("/bandeja").text)
    inicio = text(signed_in(services, "gdur4", "oficina", "GDUR").get("/inicio").text)
    assert "1 en atención" in inicio and "1 escritos por revisar" in inicio
    [tarea] = revisiones(en_gdur)
    assert (tarea.rol, tarea.oficina.codigo) == ("oficina", "GDUR")
    assert Expediente.get_by_id(en_gdur.id).estado == "En atención"  # the review does not change its state

    # The citizen's seguimiento: the escrito in the movements, its files among the documents.
    seguimiento = text(citizen.get(f"/seguimiento/{en_gdur.codigo}").text)
    assert f"Escrito E-{ANIO}-000001 presentado — Ciudadano → Gerencia de Desarrollo Urbano" in seguimiento
    assert "Adjunto el plano de ubicación" in seguimiento and "escrito.pdf" in seguimiento
    assert "plano.pdf (anexo escrito" in seguimiento

    # The office reviews it from its tray: recorded with its note, gone from the tray, the expediente still in
    # atención.
    oficina = signed_in(services, "gdur3", "oficina", "GDUR")
    page = oficina.get(f"/expedientes/{en_gdur.numero}/tareas/{tarea.task_id}")
    assert page.status_code == 200 and f"escrito E-{ANIO}-000001" in text(page.text)
    done = oficina.post(f"/expedientes/{en_gdur.numero}/tareas/{tarea.task_id}", {"nota": "Plano conforme"})
    assert done.status_code == 303 and done.headers["location"] == "/bandeja"
    rows = list(Evento.select().where(Evento.expediente == en_gdur.id).order_by(Evento.seq))[-2:]
    assert [(e.tipo, e.descripcion, e.detalle, e.oficina_origen) for e in rows] == [
        ("tarea", "Revisar escrito", "Plano conforme", "GDUR"), ("fin", "Escrito revisado", "", "")]
    assert revisiones(en_gdur) == []
    assert "Escritos por revisar (0)" in text(oficina.get("/bandeja").text)
    assert [t.spec for t in Tarea.select().where(Tarea.expediente == en_gdur.id)] == ["atencion"]


def test_an_escrito_in_reception_goes_to_mesa_de_partes(services, staff):
    exp = file_tramite(services)
    antes = Expediente.get_by_id(exp.id).estado
    escrito = del_ciudadano(services, exp)
    [tarea] = revisiones(exp)
    assert (tarea.rol, tarea.oficina.codigo, escrito.atendido_por_proceso) == ("mesa", "MP", True)
    assert Expediente.get_by_id(exp.id).estado == antes == "Registrado"
    page = signed_in(services, "mesa2", "mesa", "MP").get(f"/expedientes/{exp.numero}")
    assert f'/expedientes/{exp.numero}/tareas/{tarea.task_id}"' in page.text
    services.engine.complete(exp.id, tarea.task_id, staff["mesa"], {})
    # Reception goes on as before: conforme, then derivation.
    step(services, exp, staff["mesa"], accion="conforme")
    assert [t.spec for t in Tarea.select().where(Tarea.expediente == exp.id)] == ["derivacion"]


def test_an_escrito_on_a_parallel_derivation_reaches_every_office_that_holds_it(services, staff):
    exp = file_tramite(services)
    step(services, exp, staff["mesa"], accion="conforme")
    derivar(services, exp, staff["mesa"], "GDUR", "SGAT")
    recibir(services, exp, staff["gdur"])
    del_ciudadano(services, exp)
    assert sorted(t.oficina.codigo for t in revisiones(exp)) == ["GDUR", "SGAT"]
    # Only the office itself works its review.
    sgat = next(t for t in revisiones(exp) if t.oficina.codigo == "SGAT")
    with pytest.raises(NotAllowed):
        services.engine.complete(exp.id, sgat.task_id, staff["gdur"], {})
    services.engine.complete(exp.id, sgat.task_id, staff["rentas"], {"nota": ""})
    assert [t.oficina.codigo for t in revisiones(exp)] == ["GDUR"]


def test_an_observed_expediente_sends_its_escrito_to_mesa_de_partes(services, staff):
    exp = file_tramite(services)
    step(services, exp, staff["mesa"], accion="observar", observacion="Falta la firma")
    del_ciudadano(services, exp)
    [tarea] = revisiones(exp)
    assert tarea.rol == "mesa"
    assert Expediente.get_by_id(exp.id).estado == "Observado"


def test_escritos_are_numbered_consecutively_and_a_refused_one_takes_no_number(services, staff):
    uno, dos = file_tramite(services), file_tramite(services)
    assert del_ciudadano(services, uno).numero == f"E-{ANIO}-000001"
    with pytest.raises(InvalidInput):
        del_ciudadano(services, dos, pdf=b"no es un PDF")
    assert del_ciudadano(services, dos).numero == f"E-{ANIO}-000002"
    assert del_ciudadano(services, uno).numero == f"E-{ANIO}-000003"
    assert [len(revisiones(e)) for e in (uno, dos)] == [2, 1]  # each escrito its own review


def test_concurrent_escritos_get_distinct_consecutive_numbers(services):
    expedientes = [file_tramite(services) for _ in range(6)]
    numeros, errores = [], []

    def enviar(exp):
        try:
            numeros.append(del_ciudadano(services, exp).numero)
        except Exception as exc:  # noqa: BLE001 - reported below
            errores.append(exc)

    hilos = [threading.Thread(target=enviar, args=(e,)) for e in expedientes]
    for h in hilos:
        h.start()
    for h in hilos:
        h.join()
    assert errores == []
    assert sorted(numeros) == [f"E-{ANIO}-{n:06d}" for n in range(1, 7)]


# -- a concluded expediente -----------------------------------------------------------------------------------------
def test_a_concluded_expediente_refuses_the_escrito_and_writes_nothing(services, staff, app):
    exp = file_tramite(services)
    step(services, exp, staff["mesa"], accion="archivar", motivo="Duplicado")
    exp = Expediente.get_by_id(exp.id)
    assert exp.terminado
    before = written(services)
    with pytest.raises(Conflict, match=r"ya concluyó el .*Presente un nuevo trámite"):
        del_ciudadano(services, exp)
    assert written(services) == before
    page = presentar_web(Browser(app), exp.codigo)
    assert page.status_code == 409 and "ya concluyó el" in text(page.text)
    api = testing.TestClient(app)
    body, content_type = multipart([], [ESCRITO[0]])
    answer = api.simulate_post(f"/api/v1/tramites/{exp.codigo}/escritos", body=body,
                               headers={"Content-Type": content_type})
    assert answer.status_code == 409 and "nuevo trámite" in answer.json["error"]
    assert written(services) == before
    assert "Presentar un escrito" not in Browser(app).get(f"/seguimiento/{exp.codigo}").text


# -- bad input ------------------------------------------------------------------------------------------------------
def test_no_pdf_is_refused_next_to_the_field(services, app, en_gdur):
    before = written(services)
    result = presentar_web(Browser(app), en_gdur.codigo, files=[], descripcion="Sin archivo")
    assert result.status_code == 422
    assert 'id="error-archivo"' in result.text and "Sin archivo" in result.text
    assert written(services) == before


def test_a_file_that_is_not_a_pdf_is_refused_and_not_kept(services, app, en_gdur):
    before = written(services)
    result = presentar_web(Browser(app), en_gdur.codigo, files=[("archivo", "foto.pdf", b"GIF89a no es PDF")])
    assert result.status_code == 422 and 'id="error-archivo"' in result.text
    assert written(services) == before
    assert Evento.select().where(Evento.accion == "archivo_rechazado").count() == 1


def test_a_wrong_code_or_number_and_document_finds_nothing(services, app, en_gdur):
    before = written(services)
    b = Browser(app)
    assert presentar_web(b, "NOEXISTE").status_code == 404
    b.get("/escritos/nuevo")
    wrong = b.post("/escritos/nuevo", [("numero", en_gdur.numero), ("documento", "12345678")], files=ESCRITO)
    assert wrong.status_code == 404 and "No encontramos un trámite con ese número" in text(wrong.text)
    assert written(services) == before
    # The right number and document: accepted, and the constancia does not reveal the tracking code.
    b.get("/escritos/nuevo", numero=en_gdur.numero, documento="45871236")
    right = b.post("/escritos/nuevo", [("numero", en_gdur.numero.split("-")[0] + "-" + str(int(en_gdur.numero[5:]))),
                                       ("documento", "45871236")], files=ESCRITO)
    assert right.status_code == 303, right.text
    assert en_gdur.codigo not in b.get(right.headers["location"]).text


def test_too_long_a_description_and_too_many_annexes_are_refused(services, app, en_gdur):
    before = written(services)
    long = presentar_web(Browser(app), en_gdur.codigo, descripcion="x" * 501)
    assert long.status_code == 422 and "el máximo es 500" in long.text
    six = [ESCRITO[0]] + [("anexos", f"a{i}.pdf", sample_pdf(f"A{i}")) for i in range(6)]
    assert presentar_web(Browser(app), en_gdur.codigo, files=six).status_code == 422
    assert written(services) == before


def test_a_file_over_the_limit_is_413_and_nothing_is_kept(settings, clock, database_url, tmp_path):
    small = Settings(data_dir=tmp_path / "small", database_url=database_url, max_principal_mb=1)
    services = build_services(small, clock)
    try:
        exp = file_tramite(services)
        before = written(services)
        big = sample_pdf("Grande") + b"%" + b"0" * (1024 * 1024 + 10)
        result = presentar_web(Browser(create_app(services)), exp.codigo, files=[("archivo", "grande.pdf", big)])
        assert result.status_code == 413 and "1 MB" in result.text
        assert written(services) == before
    finally:
        services.close()


# -- staff: an escrito on paper ------------------------------------------------------------------------------------
def test_mesa_de_partes_registers_an_escrito_brought_on_paper(services, en_gdur):
    mesa = signed_in(services, "mesa2", "mesa", "MP")
    page = mesa.get(f"/expedientes/{en_gdur.numero}")
    assert f'href="/expedientes/{en_gdur.numero}/escritos"' in page.text
    mesa.get(f"/expedientes/{en_gdur.numero}/escritos")
    result = mesa.post(f"/expedientes/{en_gdur.numero}/escritos", [("descripcion", "Entregado en ventanilla")],
                       files=[("archivo", "escaneado.pdf", sample_pdf("Papel"))])
    assert result.status_code == 303, result.text
    escrito = Escrito.get()
    assert result.headers["location"] == f"/escritos/{escrito.codigo}"  # the constancia, to hand to the citizen
    constancia = text(mesa.get(result.headers["location"]).text)
    assert f"Escrito {escrito.numero} registrado en el expediente {en_gdur.numero}" in constancia
    assert "Presentado en físico en mesa de partes" in constancia
    assert (escrito.via, escrito.registrado_por.username) == ("presencial", "mesa2")
    [tarea] = revisiones(en_gdur)
    assert tarea.oficina.codigo == "GDUR"
    row = Evento.get(Evento.tipo == "escrito")
    assert (row.actor_nombre, row.rol, row.oficina_origen) == ("mesa2", "mesa", "ciudadano")
    assert orjson.loads(row.payload)["via"] == "presencial"
    detalle = text(mesa.get(f"/expedientes/{en_gdur.numero}").text)
    assert f"E-{ANIO}-000001" in detalle and "Presentado en físico en mesa de partes (Mesa2)" in detalle
    assert "escaneado.pdf" in detalle and "Sin firma digital" in detalle
    # An office may not register one.
    oficina = signed_in(services, "gdur2", "oficina", "GDUR")
    assert oficina.get(f"/expedientes/{en_gdur.numero}/escritos").status_code == 403
    with pytest.raises(NotAllowed):
        escritos.registrar_en_fisico(services, Actor.de_usuario(make_user("gdur3", "oficina", "GDUR")),
                                     en_gdur.numero, "", recibido(services, sample_pdf("X"), "x.pdf"), [])


# -- signatures, API and older definitions -------------------------------------------------------------------------
def test_the_signatures_of_an_escritos_pdf_are_verified_and_shown(services, clock, app, en_gdur):
    firmado = Autoridad(clock() - timedelta(days=30)).firmante("Ana Rojas").firmar(
        sample_pdf("Escrito"), clock() - timedelta(hours=1))
    del_ciudadano(services, en_gdur, pdf=firmado)
    [firma] = FirmaAdjunto.select().join(Adjunto).where(Adjunto.tipo == "escrito")
    assert firma.firmante == "Ana Rojas" and firma.intacto and not firma.confiable
    seguimiento = text(Browser(app).get(f"/seguimiento/{en_gdur.codigo}").text)
    assert "Firma digital observada: Firmado por Ana Rojas" in seguimiento
    payload = orjson.loads(Evento.get(Evento.tipo == "escrito").payload)
    assert payload["adjuntos"][0]["firmas"][0]["firmante"] == "Ana Rojas"


def test_the_escritos_constancia_is_sealed_by_the_entity_and_verifies_outside_mpv(sellados, pki_sello, clock):
    exp = file_tramite(sellados)
    escrito = del_ciudadano(sellados, exp)
    descarga = testing.TestClient(create_app(sellados)).simulate_get(f"/escritos/{escrito.codigo}/pdf")
    [correo] = Correo.select().where(Correo.tipo == "escrito")
    [adjunto] = list(Mensajes(sellados).build(correo, clock()).iter_attachments())
    for pdf in (descarga.content, adjunto.get_content()):
        [firma] = PdfFileReader(io.BytesIO(pdf)).embedded_signatures
        raiz = asn1_x509.Certificate.load(pki_sello.raiz.public_bytes(serialization.Encoding.DER))
        estado = validate_pdf_signature(firma, ValidationContext(trust_roots=[raiz], moment=clock(),
                                                                 allow_fetching=False))
        assert estado.bottom_line and firma.field_name == sello.CAMPO_SELLO
        assert f"Constancia del escrito {escrito.numero}" in str(firma.sig_object.get("/Reason"))
        assert escrito.numero in PdfReader(io.BytesIO(pdf)).pages[0].extract_text()


def test_the_api_takes_an_escrito_and_its_seguimiento_lists_it(services, app, en_gdur):
    client = testing.TestClient(app)
    body, content_type = multipart([("descripcion", "Plano")], ESCRITO)
    answer = client.simulate_post(f"/api/v1/tramites/{en_gdur.codigo}/escritos", body=body,
                                  headers={"Content-Type": content_type})
    assert answer.status_code == 201, answer.text
    assert (answer.json["numero"], answer.json["expediente"], answer.json["via"]) == (
        f"E-{ANIO}-000001", en_gdur.numero, "virtual")
    seguimiento = client.simulate_get(f"/api/v1/tramites/{en_gdur.codigo}/seguimiento").json
    [escrito] = seguimiento["escritos"]
    assert escrito["numero"] == f"E-{ANIO}-000001" and len(escrito["documentos"]) == 2
    assert {d["tipo"] for d in seguimiento["documentos"]} >= {"escrito", "anexo_escrito"}
    for fields, files, status in [([("descripcion", "x")], [], 422), ([("otro", "x")], ESCRITO, 422)]:
        body, content_type = multipart(fields, files)
        assert client.simulate_post(f"/api/v1/tramites/{en_gdur.codigo}/escritos", body=body,
                                    headers={"Content-Type": content_type}).status_code == status
    body, content_type = multipart([], ESCRITO)
    assert client.simulate_post("/api/v1/tramites/NOEXISTE/escritos", body=body,
                                headers={"Content-Type": content_type}).status_code == 404
    assert client.simulate_post(f"/api/v1/tramites/{en_gdur.codigo}/escritos", json={}).status_code == 415
    assert Escrito.select().count() == 1


def test_an_instance_of_an_older_definition_records_and_shows_the_escrito(services, staff, app):

    files = dict(read_bundles(services.settings.workflows_dir)["tramite.bpmn"])
    bpmn = files["tramite.bpmn"]
    start, end = bpmn.index('    <bpmn:subProcess id="escrito"'), bpmn.index("    </bpmn:subProcess>\n    <bpmn:sequenceFlow id=\"f_inicio\"")
    antigua = bpmn[:start] + bpmn[end + len("    </bpmn:subProcess>\n"):]
    antigua = re.sub(r"\s*<bpmn:flowNodeRef>revisar_escrito_\w+</bpmn:flowNodeRef>", "", antigua)
    services.definitions.add_version(services.db, {**files, "tramite.bpmn": antigua}, "analista")
    exp = file_tramite(services)
    escrito = del_ciudadano(services, exp, descripcion="Sobre la versión anterior")
    assert not escrito.atendido_por_proceso and revisiones(exp) == []
    assert [t.spec for t in Tarea.select().where(Tarea.expediente == exp.id)] == ["recepcion"]
    assert Evento.get(Evento.tipo == "escrito").descripcion == f"Escrito {escrito.numero} presentado"
    assert "Sobre la versión anterior" in text(Browser(app).get(f"/seguimiento/{exp.codigo}").text)
    detalle = text(signed_in(services, "mesa2", "mesa", "MP").get(f"/expedientes/{exp.numero}").text)
    assert escrito.numero in detalle and "Registrado sin tarea" in detalle
    with pytest.raises(NotFound):
        escritos.ubicar(numero=exp.numero, documento="00000000")
    # Migrated to the version that has the escrito event, the instance sends its next escrito to be reviewed.
    nueva = services.definitions.add_version(  # a version newer than the old one: the same diagram, one comment more
        services.db, {**files, "tramite.bpmn": files["tramite.bpmn"] + "<!-- escritos -->\n"}, "analista")
    resultado = migration.migrar(services.engine, exp.id, nueva.id)
    assert resultado.migrado, resultado.motivo
    assert del_ciudadano(services, exp).atendido_por_proceso
    assert [(t.rol, t.oficina.codigo) for t in revisiones(exp)] == [("mesa", "MP")]
