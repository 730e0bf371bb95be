"""In Chromium: an office drafts an oficio from its template, annexes a plan, issues it and answers the trámite with
it; the citizen's seguimiento shows the answer and serves the oficio's PDF."""
from __future__ import annotations

import re

import pytest
from helpers import step
from screenshots import row_of
from test_browser import actor, derived_to_gdur, expect, site  # noqa: F401 - ``site`` is the fixture these tests use

from mpv.demo import sample_pdf
from mpv.models import DocumentoOficial

pytestmark = pytest.mark.browser


def test_an_office_answers_with_an_oficio_drafted_from_its_template(site, tmp_path):
    exp = derived_to_gdur(site.services, asunto="Certificado de parámetros urbanísticos")
    step(site.services, exp, actor("gdur"))  # «Recibir»
    plano = tmp_path / "plano.pdf"
    plano.write_bytes(sample_pdf("Plano de ubicación"))

    page = site.page("gdur")
    page.goto(f"/expedientes/{exp.numero}")
    page.get_by_role("link", name="Redactar documento").click()
    page.get_by_role("link", name="Oficio").click()
    expect(page.get_by_label("Texto del documento")).to_have_value(re.compile(re.escape(exp.numero)))
    expect(page.get_by_label("Tipo de documento")).to_have_value("oficio")
    page.get_by_label("Destinatario").fill("Sra. Ana Rojas Villanueva")
    page.get_by_role("button", name="Guardar borrador").click()
    expect(page.get_by_role("status")).to_contain_text("Se guardó el borrador")

    borrador = DocumentoOficial.get()
    page.goto(f"/documentos/{borrador.id}")
    page.get_by_label("Anexar archivo PDF").set_input_files(plano)
    page.get_by_role("button", name="Anexar", exact=True).click()
    expect(page.get_by_role("status")).to_contain_text("Se anexó «plano.pdf»")
    page.goto(f"/expedientes/{exp.numero}")
    page.get_by_role("button", name="Emitir").click()
    numero = DocumentoOficial.get().numero
    expect(page.get_by_role("status")).to_contain_text(f"Se emitió el {numero}")
    expect(page.get_by_role("region", name="Documentos")).to_contain_text("Anexo 1: plano.pdf")

    page.goto("/bandeja")
    row_of(page, exp.numero).get_by_role("link", name=f"Atender el expediente {exp.numero}", exact=True).click()
    documento = DocumentoOficial.get()
    page.get_by_label("Documento emitido como respuesta").select_option(label=f"{numero} — {documento.asunto}")
    page.get_by_role("button", name="Registrar atención").click()
    expect(page).to_have_url(re.compile(r"/bandeja$"))

    citizen = site.page()
    citizen.goto(f"/seguimiento/{exp.codigo}")
    expect(citizen.get_by_role("main")).to_contain_text(f"Atendido con {numero}.")
    nombre = numero.replace("/", "-") + ".pdf"
    with citizen.expect_download() as descarga:
        citizen.get_by_role("link", name=nombre).click()
    assert descarga.value.suggested_filename == nombre
