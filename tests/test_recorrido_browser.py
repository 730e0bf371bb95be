"""In Chromium, what issue 14 asks to see end to end: an office drafts an informe from its template, issues it, signs
it with the certificate kept in its Mi cuenta and answers the trámite with it; the citizen, who accepted the casilla
electrónica, opens it, acknowledges the answer and downloads the signed informe and the constancia de notificación."""
from __future__ import annotations

import io
import re
from datetime import timedelta

import pytest
from firmas_pki import Autoridad
from helpers import FILING, step
from pypdf import PdfReader
from screenshots import row_of
from test_browser import actor, derived_to_gdur, expect, site  # noqa: F401 - ``site`` is the fixture these tests use

from mpv import firmas
from mpv.models import AperturaNotificacion, DocumentoOficial, Notificacion

pytestmark = pytest.mark.browser

CLAVE = "clave de mi certificado"


def test_an_office_answers_with_a_signed_informe_and_the_citizen_acknowledges_it_in_the_casilla(site, tmp_path):
    exp = derived_to_gdur(site.services, asunto="Certificado de parámetros urbanísticos")
    step(site.services, exp, actor("gdur"))  # «Recibir»

    citizen = site.page()
    citizen.goto(f"/seguimiento/{exp.codigo}")
    citizen.get_by_role("button", name="Aceptar la casilla electrónica").click()
    expect(citizen.get_by_role("main")).to_contain_text("se le notifican en su casilla electrónica")

    autoridad = Autoridad(site.services.clock() - timedelta(days=30))
    p12 = tmp_path / "gdur.p12"
    p12.write_bytes(autoridad.firmante("Jorge Mendoza Ríos").pkcs12(CLAVE))
    page = site.page("gdur")
    page.goto("/cuenta")
    page.get_by_label("Archivo del certificado (.p12 o .pfx)").set_input_files(p12)
    page.get_by_label("Contraseña del certificado").fill(CLAVE)
    page.get_by_role("button", name="Guardar certificado").click()
    expect(page.locator("#certificado")).to_contain_text("Jorge Mendoza Ríos")

    page.goto(f"/expedientes/{exp.numero}")
    page.get_by_role("link", name="Redactar documento").click()
    page.get_by_role("link", name="Informe").click()
    expect(page.get_by_label("Texto del documento")).to_have_value(re.compile(re.escape(exp.numero)))
    page.get_by_label("Destinatario").fill(f"{FILING['nombres']} {FILING['apellidos']}")
    page.get_by_role("button", name="Guardar borrador").click()
    expect(page.get_by_role("status")).to_contain_text("Se guardó el borrador")
    page.goto(f"/expedientes/{exp.numero}")
    page.get_by_role("button", name="Emitir").click()
    expect(page.get_by_role("status")).to_contain_text("Se emitió el INFORME N° 001-")  # the POST is done
    informe = DocumentoOficial.get()
    assert informe.numero.startswith("INFORME N° 001-")
    expect(page.get_by_role("status")).to_contain_text(f"Se emitió el {informe.numero}")

    page.get_by_role("link", name="Firmar digitalmente").click()
    page.get_by_label("Contraseña del certificado").fill(CLAVE)
    page.get_by_role("button", name="Firmar documento").click()
    expect(page.get_by_role("status")).to_contain_text("Se firmó digitalmente")
    expect(page.locator("#documentos")).to_contain_text("Firmado por Jorge Mendoza Ríos")

    page.goto("/bandeja")
    row_of(page, exp.numero).get_by_role("link", name=f"Atender el expediente {exp.numero}", exact=True).click()
    page.get_by_label("Documento emitido como respuesta").select_option(label=f"{informe.numero} — {informe.asunto}")
    page.get_by_role("button", name="Registrar atención").click()
    expect(page).to_have_url(re.compile(r"/bandeja$"))

    citizen.goto(f"/seguimiento/{exp.codigo}")
    citizen.get_by_role("link", name="casilla electrónica").first.click()
    citizen.get_by_label("Número de documento de identidad del remitente").fill(FILING["numero_documento_identidad"])
    citizen.get_by_role("button", name="Abrir mi casilla").click()
    citizen.get_by_role("link", name="Respuesta a su trámite").click()
    expect(citizen.get_by_role("heading", name="Respuesta a su trámite", level=1)).to_be_visible()
    citizen.get_by_role("button", name="Acusar recibo").click()
    expect(citizen.get_by_role("main")).to_contain_text("acuse de recibo desde")

    nombre = informe.numero.replace("/", "-") + ".pdf"
    with citizen.expect_download() as descarga:
        citizen.get_by_role("link", name=nombre).click()
    respuesta = tmp_path / "respuesta.pdf"
    descarga.value.save_as(respuesta)
    [firma] = firmas.verificar(respuesta, site.services.clock(), ())
    assert firma.firmante == "Jorge Mendoza Ríos" and firma.intacto  # the signed version, not the issued original

    with citizen.expect_download() as descarga:
        citizen.get_by_role("link", name="Descargar la constancia de notificación (PDF)").click()
    texto = "".join(p.extract_text() for p in PdfReader(io.BytesIO(descarga.value.path().read_bytes())).pages)
    assert exp.numero in texto and "casilla" in texto.lower()

    notificacion = Notificacion.get((Notificacion.expediente == exp.id) & (Notificacion.tipo == "atencion"))
    assert notificacion.via == "casilla" and notificacion.acuse_en is not None
    assert AperturaNotificacion.select().where(AperturaNotificacion.notificacion == notificacion.id).count() >= 2
