"""Public verification (issue 14, item 7): /verificar/{código} for an expediente's verification code (or its código
de seguimiento) and for an issued document's own code; a PDF uploaded or a SHA-256 pasted is recognised when MPV
issued or generated it; an unknown code is a Spanish 404 that says nothing; nothing confidential is shown."""
from __future__ import annotations

import dataclasses
import hashlib
import re

import pytest
from helpers import FILING, build_services, derivar, file_tramite, recibir, step
from test_hoja_ruta import enlaces, qr_leidos, texto
from webclient import Browser

from test_firma_documento import emitido, pki  # noqa: F401 - fixtures: an issued informe, its author's certificate

from mpv.engine import Actor
from mpv.errors import NotFound
from mpv.models import CodigoVerificacion, DocumentoOficial, Expediente, FirmaDocumento, PdfEmitido, Usuario
from mpv.tramites import documentos, firma_documento, hoja_ruta, verificacion
from mpv.web.app import create_app

CUERPO = "El local cumple las condiciones de seguridad.\n\nSe recomienda otorgar la licencia."


@pytest.fixture
def expediente(services, staff):
    """Derived to GDUR, received, and answered there with an issued informe."""
    exp = file_tramite(services)
    step(services, exp, staff["mesa"], accion="conforme")
    derivar(services, exp, staff["mesa"], "GDUR", proveido="Evaluar in situ")
    recibir(services, exp, staff["gdur"])
    borrador = documentos.redactar(services, staff["gdur"], exp.numero, "informe", "Gerencia Municipal",
                                   "Opinión técnica reservada", CUERPO)
    documentos.emitir(services, staff["gdur"], borrador.id)
    return exp


def publico(services) -> Browser:
    b = Browser(create_app(services), remote_addr="203.0.113.7")
    b.get("/verificar")  # the form's CSRF token
    return b


def informe() -> DocumentoOficial:
    return DocumentoOficial.get(DocumentoOficial.estado == "emitido")


def sin_nada_confidencial(html: str, exp):
    """What the verification never shows: the sender, how to reach him, the tracking code, any body text."""
    for secreto in (FILING["numero_documento_identidad"], FILING["email"], FILING["direccion"], FILING["telefono"],
                    "Rojas Villanueva", exp.codigo, "cumple las condiciones", "Opinión técnica reservada",
                    "Gerencia Municipal", "Evaluar in situ", "Licencia de funcionamiento", "/seguimiento/",
                    "/archivos/", "/adjuntos/"):
        assert secreto not in html, secreto


def test_an_issued_document_carries_its_own_code_and_qr_and_its_page_shows_it(services, staff, expediente):
    doc = informe()
    fila = CodigoVerificacion.get(CodigoVerificacion.documento == doc.id)
    assert fila.expediente_id is None and re.fullmatch(r"[A-Z2-7]{16}", fila.codigo)
    url = verificacion.url(services.settings.base_url, fila.codigo)
    pdf = services.storage.path(doc.sha256).read_bytes()
    assert hashlib.sha256(pdf).hexdigest() == doc.sha256
    plano = " ".join(texto(pdf).split())
    assert f"Código de verificación: {verificacion.agrupado(fila.codigo)}" in plano and url in plano
    assert qr_leidos(pdf) == [url]
    assert enlaces(pdf) == set()  # no annotation: the signatures added later keep the earlier ones intact

    b = publico(services)
    for escrito in (verificacion.agrupado(fila.codigo), fila.codigo.lower(), f" {fila.codigo} "):
        page = b.get(f"/verificar/{escrito}")
        assert page.status_code == 200, escrito
        assert "Verificación de documento" in page.text and doc.numero in page.text and doc.sha256 in page.text
        assert expediente.numero in page.text and "Gerencia de Desarrollo Urbano y Rural" in page.text
        assert "Sin firma digital" in page.text  # nobody signed it yet: said, not hidden
        sin_nada_confidencial(page.text, expediente)
    # the form's code field leads there too
    assert b.get("/verificar", codigo=fila.codigo).headers["location"] == f"/verificar/{fila.codigo}"


def test_the_expedientes_page_lists_what_mpv_issued_for_it(services, staff, expediente):
    _, hoja = hoja_ruta.documento_hoja_de_ruta(services, staff["mesa"], expediente.numero)
    codigo = CodigoVerificacion.get(CodigoVerificacion.expediente == expediente.id).codigo
    b = publico(services)
    constancia = b.get(f"/constancia/{expediente.codigo}/pdf").content
    for clave in (codigo, verificacion.agrupado(codigo), expediente.codigo):  # the código de seguimiento opens it too
        page = b.get(f"/verificar/{clave}")
        assert page.status_code == 200
        html = page.text
        estado = Expediente.get_by_id(expediente.id).estado
        assert f"Verificación del expediente {expediente.numero}" in html and f"<dd>{estado}</dd>" in html
        assert expediente.fecha_presentacion.strftime("%d/%m/%Y") in html
        for titulo, sha in ((f"Constancia de presentación {expediente.numero}", hashlib.sha256(constancia)),
                            (f"Hoja de ruta del expediente {expediente.numero}", hashlib.sha256(hoja)),
                            (informe().numero, None)):
            assert titulo in html and (sha is None or sha.hexdigest() in html), titulo
        assert informe().sha256 in html
        sin_nada_confidencial(html.replace(f"/verificar/{expediente.codigo}", ""), expediente)
    # the constancia is the same file however many times it is made: one row
    assert PdfEmitido.select().where(PdfEmitido.clase == "constancia").count() == 1


def test_the_constancia_is_listed_even_if_nobody_downloaded_it(services, staff):
    exp = file_tramite(services)
    _, hoja = hoja_ruta.documento_hoja_de_ruta(services, staff["mesa"], exp.numero)
    codigo = CodigoVerificacion.get(CodigoVerificacion.expediente == exp.id).codigo
    html = publico(services).get(f"/verificar/{codigo}").text
    assert "Constancia de presentación" in html
    constancia = Browser(create_app(services)).get(f"/constancia/{exp.codigo}/pdf").content
    assert hashlib.sha256(constancia).hexdigest() in html  # what the citizen holds, recognised


def test_an_uploaded_pdf_or_a_pasted_sha256_is_recognised(services, staff, expediente):
    doc = informe()
    pdf = services.storage.path(doc.sha256).read_bytes()
    b = publico(services)
    page = b.post("/verificar", {}, files=[("archivo", "informe.pdf", pdf)])
    assert page.status_code == 200
    assert "Sí: es un documento emitido por la Mesa de Partes Virtual" in page.text
    assert doc.numero in page.text and doc.sha256 in page.text
    sin_nada_confidencial(page.text, expediente)
    assert not list(services.storage.tmp.iterdir())  # nothing of the upload is kept

    _, hoja = hoja_ruta.documento_hoja_de_ruta(services, staff["mesa"], expediente.numero)
    pegada = " ".join(re.findall(".{16}", hashlib.sha256(hoja).hexdigest().upper()))  # upper case, in groups
    page = b.post("/verificar", {"sha256": pegada})
    assert "Sí: es un documento emitido" in page.text and "Hoja de ruta" in page.text

    cambiado = pdf + b"\n% una linea agregada\n"
    page = b.post("/verificar", {}, files=[("archivo", "informe.pdf", cambiado)])
    assert page.status_code == 200 and "No coincide con ningún documento" in page.text
    assert hashlib.sha256(cambiado).hexdigest() in page.text and doc.numero not in page.text
    assert not services.storage.path(hashlib.sha256(cambiado).hexdigest()).exists()
    assert not list(services.storage.tmp.iterdir())


def test_bad_input_on_the_form_says_what_to_fix(services, expediente):
    b = publico(services)
    page = b.post("/verificar", {"sha256": "abc123"})
    assert page.status_code == 422 and "64 caracteres hexadecimales" in page.text and 'value="abc123"' in page.text
    page = b.post("/verificar", {"sha256": ""})
    assert page.status_code == 422 and "Elija el PDF que quiere comprobar o pegue su huella SHA-256" in page.text
    assert b.post("/verificar", {"sha256": "0" * 64}, csrf=False).status_code == 403


@pytest.mark.parametrize("codigo", ["AAAA-BBBB-CCCC-DDDD", "x" * 200, "..%2F..%2Fetc", "2026-000001", "%00"])
def test_an_unknown_code_is_a_404_in_spanish_that_tells_nothing(services, expediente, codigo):
    page = publico(services).get(f"/verificar/{codigo}")
    assert page.status_code == 404
    # the page of the code, or (a path that names no code) the one of any unknown address
    assert ("No encontramos un documento ni un expediente con ese código de verificación" in page.text
            or "La dirección que abrió no existe en MPV" in page.text)
    assert expediente.numero not in page.text and "Traceback" not in page.text
    with pytest.raises(NotFound):
        verificacion.verificar(services, codigo)


def test_verification_lookups_are_rate_limited(settings, clock):
    services = build_services(dataclasses.replace(settings, limite_consultas=3), clock)
    try:
        b = Browser(create_app(services), remote_addr="198.51.100.9")
        statuses = [b.get("/verificar/AAAA-BBBB-CCCC-DDDD").status_code for _ in range(4)]
        assert statuses == [404, 404, 404, 429]
    finally:
        services.close()


def test_a_signed_document_is_verified_as_its_latest_version_and_every_version_is_recognised(services, emitido,
                                                                                               clock):
    original = emitido.sha256
    firma_documento.firmar(services, Actor.de_usuario(Usuario.get(Usuario.username == "gdur")), emitido.id, "uno")
    firmado = FirmaDocumento.get(FirmaDocumento.documento == emitido.id).sha256
    codigo = CodigoVerificacion.get(CodigoVerificacion.documento == emitido.id).codigo
    b = publico(services)
    page = b.get(f"/verificar/{codigo}").text
    assert firmado in page and original in page and "Versiones anteriores" in page
    assert "Rosa Quispe Huamán" in page and "Sin firma digital" not in page  # read from the signed file
    for sha in (original, firmado):  # the paper printed before or after the signature: both are that document
        page = b.post("/verificar", {"sha256": sha}).text
        assert "Sí: es un documento emitido" in page and emitido.numero in page


def test_the_sealed_constancia_the_citizen_got_by_mail_is_recognised(sellados, clock):
    from mpv.correo.mensajes import Mensajes
    from mpv.models import Correo

    expediente = file_tramite(sellados)
    correo = Correo.get((Correo.expediente == expediente.id) & (Correo.tipo == "constancia"))
    clock.advance(minutes=5)  # sealed later than any other copy: a file of its own
    mensaje = Mensajes(sellados).build(correo, clock())
    [adjunto] = [p for p in mensaje.iter_attachments() if p.get_content_type() == "application/pdf"]
    pdf = adjunto.get_content()
    assert b"/ByteRange" in pdf  # sealed
    page = publico(sellados).post("/verificar", {}, files=[("archivo", "constancia.pdf", pdf)]).text
    assert "Sí: es un documento emitido" in page and f"Constancia de presentación {expediente.numero}" in page
    assert "Sellado digitalmente por la entidad" in page
