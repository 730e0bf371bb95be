"""Issue 14, item 2: the entity seals every PDF MPV writes by itself (the constancia de presentación, the statement
of silencio) with its own certificate (MPV_SELLO_P12, MPV_SELLO_CLAVE; the demo seal of ``mpv demo`` without them),
as a PAdES signature a citizen can verify without MPV; a timestamp joins it where MPV_TSA_URL is set. ``mpv demo``
also gives its staff demo certificates to sign with, under a demo root trusted while MPV_TRUST_ROOTS is unset."""
from __future__ import annotations

import dataclasses
import io
import json
import logging
from datetime import timedelta

import pytest
from asn1crypto import x509 as asn1_x509
from cryptography.hazmat.primitives import serialization
from falcon import testing
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.timestamps import HTTPTimeStamper
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko.sign.validation.status import SignatureCoverageLevel
from pyhanko_certvalidator import ValidationContext
from pypdf import PdfReader

from firmas_pki import Autoridad, modificar_pagina
from helpers import build_services, file_tramite, lima
from mpv import sello
from mpv.certificados import abrir
from mpv.config import Settings, SettingsError
from mpv.demo import sample_pdf
from mpv.firmas import MODIFICADO, verificar
from mpv.correo.mensajes import Mensajes
from mpv.demo import credentials_path, seed
from mpv.engine import Actor
from mpv.models import CertificadoUsuario, Correo, Oficina, Procedimiento, Usuario
from mpv.tramites import documentos, firma_documento
from mpv.web.app import create_app


def raiz(autoridad: Autoridad) -> asn1_x509.Certificate:
    return asn1_x509.Certificate.load(autoridad.raiz.public_bytes(serialization.Encoding.DER))


def validar_fuera_de_mpv(pdf: bytes, autoridad: Autoridad, momento):
    """pyHanko's own validator, with the test CA as the only trust root: what any third party would run."""
    [firma] = PdfFileReader(io.BytesIO(pdf)).embedded_signatures
    estado = validate_pdf_signature(firma, ValidationContext(trust_roots=[raiz(autoridad)], moment=momento,
                                                             allow_fetching=False))
    return firma, estado


def en_archivo(tmp_path, data: bytes, nombre="sellado.pdf"):
    path = tmp_path / nombre
    path.write_bytes(data)
    return path


def test_the_constancia_is_sealed_and_verifies_outside_mpv(sellados, pki_sello, clock, tmp_path):
    expediente = file_tramite(sellados)
    clock.advance(minutes=5)
    respuesta = testing.TestClient(create_app(sellados)).simulate_get(f"/constancia/{expediente.codigo}/pdf")
    assert respuesta.status_code == 200 and respuesta.headers["content-type"] == "application/pdf"
    pdf = respuesta.content
    assert expediente.numero in "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages)

    firma, estado = validar_fuera_de_mpv(pdf, pki_sello, clock())
    assert estado.bottom_line and estado.intact and estado.valid and estado.trusted
    assert estado.coverage == SignatureCoverageLevel.ENTIRE_FILE
    assert firma.sig_object["/SubFilter"] == "/ETSI.CAdES.detached"  # PAdES
    assert firma.field_name == sello.CAMPO_SELLO
    assert estado.signing_cert.subject.native["common_name"] == "MUNICIPALIDAD DE PRUEBA"
    assert firma.sig_object["/Reason"] == f"Constancia de presentación del expediente {expediente.numero}"

    [propia] = verificar(en_archivo(tmp_path, pdf), clock(), sellados.raices)
    assert (propia.firmante, propia.intacto, propia.confiable, propia.firmado_en, propia.problema) == (
        "MUNICIPALIDAD DE PRUEBA", True, True, clock(), "")
    # A copy changed afterwards no longer passes as the entity's.
    [alterada] = verificar(en_archivo(tmp_path, modificar_pagina(pdf), "alterado.pdf"), clock(), sellados.raices)
    assert not alterada.intacto and MODIFICADO in alterada.problema


def test_the_constancia_sent_by_mail_is_sealed(sellados, pki_sello, clock):
    expediente = file_tramite(sellados)
    correo = Correo.get((Correo.expediente == expediente.id) & (Correo.tipo == "constancia"))
    mensaje = Mensajes(sellados).build(correo, clock())
    [adjunto] = [p for p in mensaje.iter_attachments() if p.get_content_type() == "application/pdf"]
    _, estado = validar_fuera_de_mpv(adjunto.get_content(), pki_sello, clock())
    assert estado.bottom_line


@pytest.mark.fecha_fija
def test_the_statement_of_silencio_is_sealed(sellados, pki_sello, clock):
    Procedimiento.create(codigo="LF-01", nombre="Licencia de funcionamiento", requisitos=json.dumps(["Solicitud"]),
                         derecho_tramite=None, calificacion="positivo", plazo_dias=3,
                         oficina=Oficina.get(Oficina.codigo == "GDUR"), base_legal="Ley 28976")
    clock.set(lima(2026, 12, 7, 10, 0))
    expediente = file_tramite(sellados, procedimiento="LF-01", requisitos=[1])
    clock.set(lima(2026, 12, 15, 0, 0, 5))
    sellados.engine.fire_due_timers()
    respuesta = testing.TestClient(create_app(sellados)).simulate_get(f"/seguimiento/{expediente.codigo}/silencio.pdf")
    assert respuesta.status_code == 200
    firma, estado = validar_fuera_de_mpv(respuesta.content, pki_sello, clock())
    assert estado.bottom_line and firma.self_reported_timestamp == clock()
    assert "silencio administrativo" in firma.sig_object["/Reason"]


def test_without_a_seal_the_pdf_goes_out_unsealed_and_that_is_logged_once(services, caplog):
    sello._sin_sello.cache_clear()
    pdf = sample_pdf("Constancia")
    with caplog.at_level(logging.WARNING, logger="mpv.sello"):
        assert sello.sellar(services.settings, pdf, "Prueba", services.clock()) == pdf
        assert sello.sellar(services.settings, pdf, "Prueba", services.clock()) == pdf
    assert [r.message for r in caplog.records].count(caplog.records[0].message) == 1
    assert "unsealed" in caplog.records[0].message


def test_the_demo_seal_in_the_data_folder_is_used_without_mpv_sello(services, clock, tmp_path):
    autoridad = Autoridad(clock() - timedelta(days=1), "Raíz de demostración")
    data_dir = services.settings.data_dir
    (data_dir / sello.DEMO_P12).write_bytes(autoridad.firmante("CERTIFICADO DE DEMOSTRACIÓN").pkcs12("aleatoria"))
    (data_dir / sello.DEMO_CLAVE).write_text("aleatoria\n", encoding="utf-8")
    sellado = sello.sellar(services.settings, sample_pdf("Constancia"), "Prueba", clock())
    [firma] = verificar(en_archivo(tmp_path, sellado), clock(), [raiz(autoridad)])
    assert (firma.firmante, firma.intacto, firma.confiable) == ("CERTIFICADO DE DEMOSTRACIÓN", True, True)


def test_a_timestamp_joins_the_seal_where_a_tsa_is_configured(pki_sello, clock, tmp_path):
    assert sello.timestamper(Settings()) is None
    configurado = sello.timestamper(Settings(tsa_url="https://tsa.example.pe/tsr"))
    assert isinstance(configurado, HTTPTimeStamper) and configurado.url == "https://tsa.example.pe/tsr"
    # No test reaches the network: pyHanko's in-process TSA, of the same test CA, stamps a minute later.
    credencial = _credencial(pki_sello)
    tsa = pki_sello.sellador_de_tiempo(clock() + timedelta(minutes=1))
    sellado = sello.firmar_pdf(sample_pdf("Constancia"), credencial, clock(), "Prueba", timestamper=tsa)
    _, estado = validar_fuera_de_mpv(sellado, pki_sello, clock() + timedelta(minutes=2))
    assert estado.bottom_line and estado.timestamp_validity.timestamp == clock() + timedelta(minutes=1)
    [firma] = verificar(en_archivo(tmp_path, sellado), clock() + timedelta(minutes=2), [raiz(pki_sello)])
    assert firma.firmado_en == clock() + timedelta(minutes=1) and firma.confiable


def _credencial(autoridad):
    return abrir(autoridad.firmante("MUNICIPALIDAD DE PRUEBA").pkcs12("x"), "x")


# -- configuration ------------------------------------------------------------------------------------------
def test_the_seal_variables_are_read_and_refused_when_incomplete(tmp_path):
    settings = Settings.from_env({"MPV_SELLO_P12": str(tmp_path / "sello.p12"), "MPV_SELLO_CLAVE": "secreto",
                                  "MPV_TSA_URL": "http://tsa.example.pe/"})
    assert (settings.sello_p12, settings.sello_clave, settings.tsa_url) == (
        tmp_path / "sello.p12", "secreto", "http://tsa.example.pe/")
    with pytest.raises(SettingsError, match="MPV_SELLO_CLAVE: falta la contraseña"):
        Settings.from_env({"MPV_SELLO_P12": str(tmp_path / "sello.p12")})
    with pytest.raises(SettingsError, match="MPV_SELLO_P12: falta el certificado"):
        Settings.from_env({"MPV_SELLO_CLAVE": "secreto"})
    with pytest.raises(SettingsError, match="MPV_TSA_URL debe ser una dirección http"):
        Settings.from_env({"MPV_TSA_URL": "tsa.example.pe"})


def test_a_seal_that_cannot_be_used_is_refused_at_start_up(settings, clock, pki_sello, tmp_path):
    ruta = tmp_path / "sello.p12"
    with pytest.raises(SettingsError, match="MPV_SELLO_P12: no existe el archivo"):
        build_services(dataclasses.replace(settings, sello_p12=ruta, sello_clave="x"), clock)
    ruta.write_bytes(pki_sello.firmante("MUNICIPALIDAD DE PRUEBA").pkcs12("la-buena"))
    with pytest.raises(SettingsError, match="MPV_SELLO_CLAVE: .*La contraseña no abre el certificado"):
        build_services(dataclasses.replace(settings, sello_p12=ruta, sello_clave="otra"), clock)
    ruta.write_bytes(b"%PDF-1.4 no es un certificado")
    with pytest.raises(SettingsError, match="MPV_SELLO_P12: .*no es un certificado PKCS#12"):
        build_services(dataclasses.replace(settings, sello_p12=ruta, sello_clave="la-buena"), clock)


# -- mpv demo ------------------------------------------------------------------------------------------------
def test_mpv_demo_makes_a_demo_seal_and_certificates_its_staff_sign_with(services, clock, tmp_path):
    creados = seed(services, tramites=1)
    assert {u for u, _, _ in creados} >= {"mesa", "gdur"}
    data_dir = services.settings.data_dir
    assert (data_dir / sello.DEMO_P12).stat().st_mode & 0o077 == 0
    credencial = sello.credencial_del_sello(services.settings)
    assert credencial.titular == "CERTIFICADO DE DEMOSTRACIÓN — SIN VALOR LEGAL"
    titulares = {f.usuario.username: f.titular for f in CertificadoUsuario.select()}
    assert titulares == {"mesa": "María Quispe Huamán (DEMOSTRACIÓN)", "gdur": "Jorge Mendoza Ríos (DEMOSTRACIÓN)",
                         "rentas": "Rosa Flores Salazar (DEMOSTRACIÓN)"}
    texto = credentials_path(services.settings).read_text(encoding="utf-8")
    claves = dict(linea.split() for linea in texto.split("contraseña para firmar documentos):")[1].split("\n")
                  if linea.strip())
    assert set(claves) == set(titulares)

    # Without MPV_TRUST_ROOTS, the demo's root is trusted: the constancia's seal and a user's signature are.
    demo = build_services(services.settings, clock)
    try:
        expediente = file_tramite(demo)
        pdf = testing.TestClient(create_app(demo)).simulate_get(f"/constancia/{expediente.codigo}/pdf").content
        [firma] = verificar(en_archivo(tmp_path, pdf), clock(), demo.raices)
        assert (firma.firmante, firma.intacto, firma.confiable) == (credencial.titular, True, True)
        mesa = Actor.de_usuario(Usuario.get(Usuario.username == "mesa"))
        borrador = documentos.redactar(demo, mesa, file_tramite(demo).numero, "informe", "Gerencia Municipal",
                                       "Prueba", "Texto.")
        documentos.emitir(demo, mesa, borrador.id)
        firma_documento.firmar(demo, mesa, borrador.id, claves["mesa"])  # the passphrase printed by the demo
        _, archivo = documentos.pdf_emitido(demo, mesa, borrador.id)
        with archivo:
            [firma] = verificar(en_archivo(tmp_path, archivo.read(), "informe.pdf"), clock(), demo.raices)
        assert (firma.firmante, firma.intacto, firma.confiable) == ("María Quispe Huamán (DEMOSTRACIÓN)", True, True)
    finally:
        demo.close()
    # Where the entity names its roots, the demo's are not trusted.
    otra = tmp_path / "iofe.pem"
    otra.write_bytes(Autoridad(clock(), "IOFE de prueba").raiz_pem())
    con_raices = build_services(dataclasses.replace(services.settings, trust_roots=(otra,)), clock)
    try:
        assert [r.subject.native["common_name"] for r in con_raices.raices] == ["IOFE de prueba"]
    finally:
        con_raices.close()
