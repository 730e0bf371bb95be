"""Annexes of official documents (mpv.tramites.anexos) and the issued PDF/A: a draft carries PDF annexes kept by
SHA-256 with their signatures verified; issuing lists them (name and SHA-256) in the document's PDF, which is PDF/A-2B
with its fonts embedded; after that they can neither be added nor removed; whoever sees the expediente downloads
them; a refused file leaves nothing behind."""
from __future__ import annotations

import hashlib
import io
from datetime import timedelta

import orjson
import pikepdf
import pytest
from firmas_pki import Autoridad
from helpers import derivar, file_tramite, recibir, step
from pypdf import PdfReader
from webclient import Browser

from mpv.demo import sample_pdf
from mpv.errors import ArchivoRechazado, Conflict, InvalidInput, NotAllowed
from mpv.models import AnexoDocumento, DocumentoOficial, Evento
from mpv.tramites import anexos, documentos
from mpv.tramites.presentacion import referenced_among
from mpv.web.app import create_app

TEXTO = {"destinatario": "Ing. Rosa Quispe", "asunto": "Opinión técnica", "cuerpo": "Se adjuntan los planos."}


@pytest.fixture
def expediente(services, staff):
    exp = file_tramite(services)
    step(services, exp, staff["mesa"], accion="conforme")
    derivar(services, exp, staff["mesa"], "GDUR")
    recibir(services, exp, staff["gdur"])
    return exp


@pytest.fixture
def borrador(services, staff, expediente):
    return documentos.redactar(services, staff["gdur"], expediente.numero, "informe", **TEXTO)


def recibido(services, data: bytes, nombre: str):
    return services.storage.receive(io.BytesIO(data), nombre, services.limits.principal_bytes)


def archivos(services) -> set[str]:
    return {p.name for p in services.storage.root.glob("??/??/*")}


def texto_pdf(data: bytes) -> str:
    return " ".join(" ".join(page.extract_text().split()) for page in PdfReader(io.BytesIO(data)).pages)


def test_annexes_are_kept_listed_in_the_issued_pdfa_and_frozen_with_it(services, staff, borrador):
    plano, memoria = sample_pdf("Plano de ubicación"), sample_pdf("Memoria descriptiva", pages=2)
    anexos.anexar(services, staff["gdur"], borrador.id, [recibido(services, plano, "plano.pdf")])
    anexos.anexar(services, staff["gdur"], borrador.id, [recibido(services, memoria, "memoria descriptiva.pdf")])
    filas = anexos.de_documento(borrador.id)
    assert [(a.nombre, a.sha256, a.tamano) for a in filas] == [
        ("plano.pdf", hashlib.sha256(plano).hexdigest(), len(plano)),
        ("memoria descriptiva.pdf", hashlib.sha256(memoria).hexdigest(), len(memoria))]
    assert all(services.storage.path(a.sha256).read_bytes() in (plano, memoria) for a in filas)
    assert referenced_among([a.sha256 for a in filas]) == {a.sha256 for a in filas}  # the sweep keeps them

    emitido = documentos.emitir(services, staff["gdur"], borrador.id)
    data = services.storage.path(emitido.sha256).read_bytes()
    texto = texto_pdf(data)
    for a in filas:
        assert a.nombre in texto and a.sha256 in texto
    evento = Evento.get(Evento.tipo == "documento")
    assert orjson.loads(evento.payload)["anexos"] == [{"nombre": a.nombre, "sha256": a.sha256} for a in filas]
    with pikepdf.open(io.BytesIO(data)) as pdf:  # PDF/A-2B, every font embedded
        assert pdf.open_metadata().pdfa_status == "2B"
        fuentes = [f for page in pdf.pages for f in page.Resources.Font.values()]
        assert fuentes and all("/FontFile2" in f.DescendantFonts[0].FontDescriptor for f in fuentes)

    with pytest.raises(Conflict, match="ya fue emitido"):
        anexos.anexar(services, staff["gdur"], borrador.id, [recibido(services, sample_pdf("Otro"), "otro.pdf")])
    with pytest.raises(Conflict, match="ya fue emitido"):
        anexos.quitar(services, staff["gdur"], borrador.id, filas[0].id)
    assert len(anexos.de_documento(borrador.id)) == 2


def test_the_same_document_gives_the_same_pdf(services, staff, expediente):
    """Written again later, the issued document's PDF is the same file: nothing in it reads the wall clock."""
    primero = documentos.redactar(services, staff["gdur"], expediente.numero, "carta", **TEXTO)
    emitido = documentos.emitir(services, staff["gdur"], primero.id)
    data = services.storage.path(emitido.sha256).read_bytes()
    from mpv.models import CodigoVerificacion
    from mpv.tramites import documento_pdf, verificacion
    codigo = CodigoVerificacion.get(CodigoVerificacion.documento == emitido.id).codigo
    otra = documento_pdf.pdf(documento_pdf.Contenido(
        entidad=services.parametros.all()["entidad_nombre"], oficina=primero.oficina.nombre, numero=emitido.numero,
        fecha=services.calendario.fecha_local(emitido.emitido_en), destinatario=TEXTO["destinatario"],
        asunto=TEXTO["asunto"], referencia=emitido.referencia, cuerpo=TEXTO["cuerpo"], autor=primero.autor.nombre,
        emitido_en=emitido.emitido_en, verificacion_url=verificacion.url(services.settings.base_url, codigo),
        verificacion_codigo=verificacion.agrupado(codigo)))
    assert hashlib.sha256(otra).hexdigest() == emitido.sha256 == hashlib.sha256(data).hexdigest()


def test_a_signed_annex_has_its_signature_verified(services, staff, borrador, clock):
    autoridad = Autoridad(clock() - timedelta(days=30))
    firmado = autoridad.firmante("Juan Pérez Soto", "DNI 40125578").firmar(sample_pdf("Plano firmado"), clock())
    [anexo] = anexos.anexar(services, staff["gdur"], borrador.id, [recibido(services, firmado, "plano.pdf")])
    [firma] = anexos.firmas(AnexoDocumento.get_by_id(anexo.id))
    assert firma["firmante"] == "Juan Pérez Soto" and firma["intacto"] and not firma["confiable"]
    assert firma["problema"]  # no trust root configured: shown, never refused


def test_a_bad_file_another_office_and_an_empty_upload_are_refused_leaving_nothing(services, staff, borrador):
    antes = archivos(services)
    with pytest.raises(ArchivoRechazado) as refused:
        anexos.anexar(services, staff["gdur"], borrador.id, [recibido(services, b"no soy un PDF", "plano.pdf")])
    assert refused.value.campos["anexo"]
    assert Evento.get(Evento.accion == "archivo_rechazado").descripcion == "Archivo rechazado: plano.pdf"
    with pytest.raises(NotAllowed):
        anexos.anexar(services, staff["rentas"], borrador.id, [recibido(services, sample_pdf("X"), "x.pdf")])
    with pytest.raises(InvalidInput, match="Elija el archivo PDF"):
        anexos.anexar(services, staff["gdur"], borrador.id, [])
    assert AnexoDocumento.select().count() == 0 and archivos(services) == antes
    assert not list(services.storage.tmp.glob("up-*"))


def test_a_draft_annex_can_be_removed(services, staff, borrador):
    [anexo] = anexos.anexar(services, staff["gdur"], borrador.id, [recibido(services, sample_pdf("P"), "p.pdf")])
    with pytest.raises(NotAllowed):
        anexos.quitar(services, staff["rentas"], borrador.id, anexo.id)
    anexos.quitar(services, staff["gdur"], borrador.id, anexo.id)
    assert AnexoDocumento.select().count() == 0
    assert referenced_among([anexo.sha256]) == set()  # the periodic sweep removes the file


def test_the_document_page_uploads_lists_and_serves_annexes(services, staff, borrador, expediente):
    b = Browser(create_app(services))
    b.login("gdur")
    plano = sample_pdf("Plano")
    subido = b.post(f"/documentos/{borrador.id}/anexos", {}, files=[("anexo", "plano.pdf", plano)])
    assert subido.status_code == 303, subido.text
    malo = b.post(f"/documentos/{borrador.id}/anexos", {}, files=[("anexo", "x.pdf", b"texto")])
    assert malo.status_code == 422 and "x.pdf" in malo.text
    anexo = AnexoDocumento.get()
    pagina = b.get(f"/documentos/{borrador.id}")
    assert "plano.pdf" in pagina.text and f"/documentos/{borrador.id}/anexos/{anexo.id}" in pagina.text
    assert b.get(f"/documentos/{borrador.id}/anexos/{anexo.id}").content == plano

    mesa = Browser(create_app(services))
    mesa.login("mesa")
    assert mesa.get(f"/documentos/{borrador.id}/anexos/{anexo.id}").status_code == 403  # a draft: its office only
    assert b.post(f"/documentos/{borrador.id}/emitir", {}).status_code == 303
    assert f"/documentos/{borrador.id}/anexos/{anexo.id}" in mesa.get(f"/expedientes/{expediente.numero}").text
    assert mesa.get(f"/documentos/{borrador.id}/anexos/{anexo.id}").content == plano
    assert b.post(f"/documentos/{borrador.id}/anexos/{anexo.id}/quitar", {}).status_code == 409
    assert DocumentoOficial.get_by_id(borrador.id).estado == "emitido" and AnexoDocumento.select().count() == 1
