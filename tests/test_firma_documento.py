"""Issue 14, item 2: a user of the office that issued a document signs it with the certificate of his Mi cuenta,
typing its passphrase: a PAdES signature with a visible stamp, added as an incremental update kept by SHA-256 (the
issued original stays as it was), a row of the expediente's history, and the download hands out the latest signed
version; a second signature keeps the first valid; a wrong passphrase writes nothing."""
from __future__ import annotations

import dataclasses
import hashlib
import html
import io
from datetime import timedelta

import pytest
from asn1crypto import x509 as asn1_x509
from cryptography.hazmat.primitives import serialization
from pyhanko.pdf_utils.reader import PdfFileReader

from firmas_pki import Autoridad
from helpers import build_services, derivar, file_tramite, free_port, make_user, recibir, step
from webclient import Browser
from mpv import history
from mpv.engine import Actor
from mpv.errors import InvalidInput
from mpv.firmas import verificar
from mpv.models import CertificadoUsuario, DocumentoOficial, Evento, FirmaDocumento, Usuario
from mpv.tramites import certificado_usuario, documentos, firma_documento
from mpv.web.app import create_app


@pytest.fixture
def pki(clock):
    return Autoridad(clock() - timedelta(days=30), "Autoridad de prueba")


@pytest.fixture
def emitido(services, staff, pki):
    """An informe issued by GDUR on an expediente it received; its author holds a certificate (passphrase «uno»)."""
    exp = file_tramite(services)
    step(services, exp, staff["mesa"], accion="conforme")
    derivar(services, exp, staff["mesa"], "GDUR")
    recibir(services, exp, staff["gdur"])
    borrador = documentos.redactar(services, staff["gdur"], exp.numero, "informe", "Gerencia Municipal",
                                   "Opinión técnica", "El local cumple las condiciones de seguridad.")
    documento = documentos.emitir(services, staff["gdur"], borrador.id)
    certificado_usuario.subir(services, Usuario.get(Usuario.username == "gdur"),
                              pki.firmante("Rosa Quispe Huamán", "PNOPE-45871236").pkcs12("uno"), "uno")
    return documento


def raiz(pki) -> asn1_x509.Certificate:
    return asn1_x509.Certificate.load(pki.raiz.public_bytes(serialization.Encoding.DER))


def descargar(b: Browser, documento, tmp_path, nombre="descargado.pdf"):
    result = b.get(f"/documentos/{documento.id}/pdf")
    assert result.status_code == 200 and result.headers["content-type"] == "application/pdf"
    path = tmp_path / nombre
    path.write_bytes(result.content)
    return path


def written(services):
    return (list(FirmaDocumento.select().tuples()), Evento.select().where(Evento.tipo != "acceso").count(),
            sorted(p.name for p in services.storage.root.glob("??/??/*")))


def test_the_author_signs_and_a_second_signature_keeps_the_first_valid(services, emitido, pki, clock, tmp_path):
    original = services.storage.path(emitido.sha256).read_bytes()
    gdur = Browser(create_app(services))
    gdur.login("gdur")
    expediente = gdur.get(f"/expedientes/{emitido.expediente.numero}").text
    assert f'href="/documentos/{emitido.id}/firmar"' in expediente
    pagina = html.unescape(gdur.get(f"/documentos/{emitido.id}/firmar").text)
    assert "Rosa Quispe Huamán" in pagina and "Aún sin firmas." in pagina
    result = gdur.post(f"/documentos/{emitido.id}/firmar", {"clave": "uno"})
    assert result.status_code == 303, result.text

    [primera] = FirmaDocumento.select()
    assert (primera.orden, primera.firmante, primera.razon, primera.firmado_en) == (
        1, "Rosa Quispe Huamán", firma_documento.AUTOR, clock())
    assert services.storage.path(emitido.sha256).read_bytes() == original  # the issued original is immutable
    assert DocumentoOficial.get_by_id(emitido.id).sha256 == emitido.sha256
    path = descargar(gdur, emitido, tmp_path)
    assert hashlib.sha256(path.read_bytes()).hexdigest() == primera.sha256
    assert path.read_bytes().startswith(original)  # an incremental update of the issued PDF
    [firma] = verificar(path, clock(), [raiz(pki)])
    assert (firma.firmante, firma.documento_identidad, firma.intacto, firma.confiable, firma.problema) == (
        "Rosa Quispe Huamán", "DNI 45871236", True, True, "")
    [campo] = PdfFileReader(io.BytesIO(path.read_bytes())).embedded_signatures
    x1, y1, x2, y2 = [float(v) for v in campo.sig_field["/Rect"]]
    assert x2 - x1 > 200 and y2 - y1 > 40  # a visible stamp
    assert campo.sig_object["/Reason"] == firma_documento.AUTOR
    fila = Evento.get(Evento.accion == "firmar_documento")
    assert fila.descripcion == f"{emitido.numero} firmado digitalmente por Rosa Quispe Huamán"
    assert fila.expediente_id == emitido.expediente_id and history.verify().ok

    # The head of the office gives his conformity with his own certificate, a minute later.
    make_user("jefe", "oficina", "GDUR")
    certificado_usuario.subir(services, Usuario.get(Usuario.username == "jefe"),
                              pki.firmante("Luis Paz Soto").pkcs12("dos"), "dos")
    clock.advance(minutes=1)
    jefe = Browser(create_app(services))
    jefe.login("jefe")
    assert jefe.post(f"/documentos/{emitido.id}/firmar", {"clave": "dos"}).status_code == 303
    path = descargar(jefe, emitido, tmp_path, "dos.pdf")
    firmas = verificar(path, clock(), [raiz(pki)])
    assert [(f.firmante, f.intacto, f.confiable) for f in firmas] == [
        ("Rosa Quispe Huamán", True, True), ("Luis Paz Soto", True, True)]
    assert [f.razon for f in FirmaDocumento.select().order_by(FirmaDocumento.orden)] == [
        firma_documento.AUTOR, firma_documento.CONFORMIDAD]
    assert "Firmado por Luis Paz Soto" in jefe.get(f"/expedientes/{emitido.expediente.numero}").text


def test_a_wrong_passphrase_is_a_clear_error_and_writes_nothing(services, emitido):
    antes = written(services)
    gdur = Browser(create_app(services))
    gdur.login("gdur")
    result = gdur.post(f"/documentos/{emitido.id}/firmar", {"clave": "no es"})
    assert result.status_code == 422
    assert "La contraseña no abre el certificado" in html.unescape(result.text)
    assert written(services) == antes
    result = gdur.post(f"/documentos/{emitido.id}/firmar", {"clave": ""})
    assert result.status_code == 422 and firma_documento.FALTA_CLAVE in html.unescape(result.text)


def test_who_may_sign(services, staff, emitido):
    with pytest.raises(InvalidInput) as error:  # of the office, but with no certificate
        make_user("sin_cert", "oficina", "GDUR")
        firma_documento.firmar(services, Actor.de_usuario(Usuario.get(Usuario.username == "sin_cert")), emitido.id,
                               "x")
    assert error.value.campos["clave"] == firma_documento.SIN_CERTIFICADO
    rentas = Browser(create_app(services))
    rentas.login("rentas")  # another office
    assert rentas.get(f"/documentos/{emitido.id}/firmar").status_code == 403
    assert rentas.post(f"/documentos/{emitido.id}/firmar", {"clave": "uno"}).status_code == 403
    assert FirmaDocumento.select().count() == 0


def test_an_expired_certificate_does_not_sign(services, staff, emitido, clock):
    clock.advance(days=400)
    with pytest.raises(InvalidInput) as error:
        firma_documento.firmar(services, staff["gdur"], emitido.id, "uno")
    assert "Su certificado venció el" in error.value.campos["clave"]
    assert FirmaDocumento.select().count() == 0


def test_a_tsa_that_does_not_answer_writes_nothing(settings, services, staff, emitido, clock):
    con_tsa = build_services(dataclasses.replace(settings, tsa_url=f"http://127.0.0.1:{free_port()}/tsa"), clock)
    try:
        antes = written(con_tsa)
        with pytest.raises(InvalidInput) as error:
            firma_documento.firmar(con_tsa, staff["gdur"], emitido.id, "uno")
        assert error.value.message == firma_documento.SIN_SELLO_DE_TIEMPO
        assert written(con_tsa) == antes
    finally:
        con_tsa.close()
    assert CertificadoUsuario.select().count() == 1
