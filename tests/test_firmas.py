"""Issue 14, item 3: every PDF received has its digital signatures verified (:mod:`mpv.firmas`), kept with its
Adjunto and in the history, and shown in Ver datos, the public seguimiento and the API. An invalid signature is
shown with its problem and never blocks a filing."""
from __future__ import annotations

import dataclasses
import html
import os
from datetime import timedelta
from pathlib import Path

import orjson
import pytest
from asn1crypto import x509 as asn1_x509
from cryptography.hazmat.primitives import serialization
from falcon import testing

from firmas_pki import Autoridad, modificar_pagina
from helpers import FILING, build_services, make_user
from webclient import Browser, multipart
from mpv import history
from mpv.asincrono import esperar
from mpv.config import Settings, SettingsError
from mpv.demo import sample_pdf
from mpv.models import Adjunto, Evento, Expediente, FirmaAdjunto
from mpv.web.app import create_app
from mpv.firmas import MODIFICADO, NO_VERIFICADA, SIN_RAIZ, VENCIDO, cargar_raices, verificar


@pytest.fixture
def pki(clock):
    """A trusted authority and a stranger's one, both started a month before the test's day."""
    return Autoridad(clock() - timedelta(days=30)), Autoridad(clock() - timedelta(days=30), "Raíz ajena")


def raices(*autoridades):
    return [asn1_x509.Certificate.load(a.raiz.public_bytes(serialization.Encoding.DER)) for a in autoridades]


def escrito(tmp_path: Path, data: bytes, nombre="firmado.pdf") -> Path:
    path = tmp_path / nombre
    path.write_bytes(data)
    return path


def test_a_valid_signature_from_a_trusted_root(tmp_path, clock, pki):
    confiable, _ = pki
    cuando = clock() - timedelta(hours=1)
    ana = confiable.firmante("Ana Rojas", "PNOPE-45871236")
    [firma] = verificar(escrito(tmp_path, ana.firmar(sample_pdf("Solicitud"), cuando)), clock(), raices(confiable))
    assert (firma.firmante, firma.documento_identidad, firma.firmado_en) == ("Ana Rojas", "DNI 45871236", cuando)
    assert firma.intacto and firma.confiable and firma.problema == ""
    assert firma.resumen == (f"Firmado por Ana Rojas (DNI 45871236) el {cuando.astimezone(clock().tzinfo):%d/%m/%Y %H:%M}; "
                             "el documento no cambió después de la firma; certificado emitido por una raíz de confianza")
    assert firma.para_historial()["firmado_en"] == cuando.isoformat()


def test_a_thread_that_runs_an_event_loop_verifies_too(tmp_path, clock, pki):
    """pyHanko's synchronous wrapper refuses a thread that runs an event loop (as the browser tests' Playwright
    does in the same worker): MPV's verification does not depend on that."""
    confiable, _ = pki
    firmado = confiable.firmante("Ana Rojas").firmar(sample_pdf("Solicitud"), clock() - timedelta(hours=1))
    path = escrito(tmp_path, firmado)

    async def dentro_de_un_bucle():
        return verificar(path, clock(), raices(confiable))

    [firma] = esperar(dentro_de_un_bucle())  # asyncio.run where this thread runs no loop yet
    assert firma.intacto and firma.confiable and firma.problema == ""


def test_a_document_changed_after_signing(tmp_path, clock, pki):
    confiable, _ = pki
    firmado = confiable.firmante("Ana Rojas").firmar(sample_pdf("Solicitud"), clock() - timedelta(hours=1))
    [firma] = verificar(escrito(tmp_path, modificar_pagina(firmado)), clock(), raices(confiable))
    assert not firma.intacto and firma.confiable and firma.problema == MODIFICADO
    assert MODIFICADO in firma.resumen
    # A byte changed inside the signed range: the digest no longer matches.
    i = firmado.index(b"/Producer") + 12
    [firma] = verificar(escrito(tmp_path, firmado[:i] + bytes([firmado[i] ^ 1]) + firmado[i + 1:], "byte.pdf"),
                        clock(), raices(confiable))
    assert not firma.intacto and firma.problema.startswith(MODIFICADO)


def test_an_expired_certificate(tmp_path, clock, pki):
    confiable, _ = pki
    vencida = confiable.firmante("Ana Rojas", "PNOPE-45871236", dias=10)
    [firma] = verificar(escrito(tmp_path, vencida.firmar(sample_pdf("Solicitud"), clock() - timedelta(hours=1))),
                        clock(), raices(confiable))
    assert firma.intacto and not firma.confiable and firma.problema == VENCIDO
    assert firma.resumen.endswith(f"el documento no cambió después de la firma; {VENCIDO}")


def test_a_root_that_is_not_configured(tmp_path, clock, pki):
    confiable, ajena = pki
    path = escrito(tmp_path, ajena.firmante("Luis Paz").firmar(sample_pdf("Solicitud"), clock() - timedelta(hours=1)))
    for configuradas in (raices(confiable), []):
        [firma] = verificar(path, clock(), configuradas)
        assert firma.intacto and not firma.confiable and firma.problema == SIN_RAIZ


def test_a_second_signature_is_an_allowed_update(tmp_path, clock, pki):
    confiable, ajena = pki
    cuando = clock() - timedelta(hours=2)
    dos = confiable.firmante("Luis Paz", "VATPE-20123456789").firmar(
        confiable.firmante("Ana Rojas").firmar(sample_pdf("Solicitud"), cuando), cuando + timedelta(hours=1), "Firma2")
    primera, segunda = verificar(escrito(tmp_path, dos), clock(), raices(confiable))
    assert (primera.firmante, primera.firmado_en, primera.intacto, primera.confiable) == ("Ana Rojas", cuando, True, True)
    assert (segunda.firmante, segunda.documento_identidad, segunda.intacto) == ("Luis Paz", "RUC 20123456789", True)


def test_unsigned_and_damaged_files(tmp_path, clock, pki):
    assert verificar(escrito(tmp_path, sample_pdf("Solicitud")), clock(), []) == []
    assert verificar(escrito(tmp_path, b"%PDF-1.7 roto\n%%EOF", "roto.pdf"), clock(), []) == []
    firmado = pki[0].firmante("Ana Rojas").firmar(sample_pdf("Solicitud"), clock() - timedelta(hours=1))
    i = firmado.rindex(b"/Contents <") + len(b"/Contents <")
    danado = firmado[:i] + b"0" * 40 + firmado[i + 40:]  # the signature's CMS is no longer readable
    [firma] = verificar(escrito(tmp_path, danado, "danado.pdf"), clock(), [])
    assert not firma.intacto and not firma.confiable and firma.problema == NO_VERIFICADA


def test_trust_roots_load_from_pem_and_der_files_and_folders(tmp_path, pki):
    confiable, ajena = pki
    carpeta = tmp_path / "raices"
    carpeta.mkdir()
    (carpeta / "a.pem").write_bytes(confiable.raiz_pem())
    (carpeta / "b.cer").write_bytes(ajena.raiz.public_bytes(serialization.Encoding.DER))
    (tmp_path / "sola.crt").write_bytes(confiable.raiz_pem())
    assert len(cargar_raices([carpeta, tmp_path / "sola.crt"])) == 3
    (tmp_path / "mala.pem").write_bytes(b"no es un certificado")
    with pytest.raises(ValueError, match="mala.pem"):
        cargar_raices([tmp_path / "mala.pem"])
    with pytest.raises(ValueError, match="no existe"):
        cargar_raices([tmp_path / "falta.pem"])


# -- a filing keeps and shows its signatures ---------------------------------------------------------------
@pytest.fixture
def firmados(tmp_path, settings, clock, pki):
    """Services trusting the test authority (MPV_TRUST_ROOTS as a folder), and mesa de partes signed in."""
    confiable, _ = pki
    carpeta = tmp_path / "raices"
    carpeta.mkdir()
    (carpeta / "raiz.pem").write_bytes(confiable.raiz_pem())
    services = build_services(dataclasses.replace(settings, trust_roots=(carpeta,)), clock)
    make_user("mesa", "mesa", "MP")
    yield services
    services.close()


def test_a_filing_with_an_invalid_signature_is_accepted_and_shows_it(firmados, clock, pki):
    confiable, ajena = pki
    cuando = clock() - timedelta(hours=1)
    valido = confiable.firmante("Ana Rojas", "PNOPE-45871236").firmar(sample_pdf("Solicitud"), cuando)
    alterado = modificar_pagina(ajena.firmante("Luis Paz").firmar(sample_pdf("Plano"), cuando))
    app = create_app(firmados)
    client = testing.TestClient(app)
    body, content_type = multipart([(k, str(v)) for k, v in FILING.items()],
                                   [("archivo", "solicitud.pdf", valido), ("anexos", "plano.pdf", alterado),
                                    ("anexos", "recibo.pdf", sample_pdf("Recibo"))])
    result = client.simulate_post("/api/v1/tramites", body=body, headers={"Content-Type": content_type})
    assert result.status_code == 201, result.text  # an invalid signature never blocks a filing
    expediente = Expediente.get(Expediente.codigo == result.json["codigo"])

    filas = list(FirmaAdjunto.select(FirmaAdjunto, Adjunto).join(Adjunto).where(Adjunto.expediente == expediente.id)
                 .order_by(Adjunto.id, FirmaAdjunto.orden))
    assert [(f.adjunto.nombre, f.orden, f.firmante, f.intacto, f.confiable, f.firmado_en) for f in filas] == [
        ("solicitud.pdf", 1, "Ana Rojas", True, True, cuando), ("plano.pdf", 1, "Luis Paz", False, False, cuando)]
    assert filas[1].problema == f"{MODIFICADO}; {SIN_RAIZ}"
    # The hash-chained history keeps what was found.
    inicio = Evento.get(Evento.expediente == expediente.id, Evento.tipo == "inicio")
    adjuntos = orjson.loads(inicio.payload)["adjuntos"]
    assert [[f["problema"] for f in a.get("firmas", [])] for a in adjuntos] == [[""], [filas[1].problema], []]
    assert history.verify().ok

    seguimiento = client.simulate_get(f"/api/v1/tramites/{expediente.codigo}/seguimiento").json
    assert [(d["nombre"], [(f["firmante"], f["intacto"], f["confiable"], f["problema"]) for f in d["firmas"]])
            for d in seguimiento["documentos"]] == [
        ("solicitud.pdf", [("Ana Rojas", True, True, "")]),
        ("plano.pdf", [("Luis Paz", False, False, filas[1].problema)]), ("recibo.pdf", [])]
    assert seguimiento["documentos"][0]["firmas"][0]["documento_identidad"] == "DNI 45871236"

    publico = client.simulate_get(f"/seguimiento/{expediente.codigo}").text
    mesa = Browser(app)
    mesa.login("mesa")
    ver_datos = mesa.get(f"/expedientes/{expediente.numero}").text
    for pagina in (publico, ver_datos):
        assert html.escape(filas[0].resumen, quote=False) in pagina
        assert "Firma digital observada:" in pagina and html.escape(filas[1].resumen, quote=False) in pagina
        assert "Sin firma digital" in pagina


def test_mpv_trust_roots_names_files_and_folders(tmp_path):
    settings = Settings.from_env({"MPV_TRUST_ROOTS": f"{tmp_path / 'iofe'}{os.pathsep}{tmp_path / 'raiz.pem'}"})
    assert settings.trust_roots == (tmp_path / "iofe", tmp_path / "raiz.pem")
    with pytest.raises(SettingsError, match="MPV_TRUST_ROOTS: no existe"):
        build_services(dataclasses.replace(settings, data_dir=tmp_path / "data"), lambda: None)
