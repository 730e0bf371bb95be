"""Official documents (DOMAIN.md rule 13, mpv.tramites.documentos): a draft is written and edited, then issued with
the next number of its office, type and year — consecutive under concurrency, never reused — as a PDF kept by its
SHA-256 and a row of the expediente's history; an issued document never changes; a refusal writes nothing."""
from __future__ import annotations

import io
import threading

import pytest
from helpers import base_date, derivar, file_tramite, lima, make_user, recibir, step
from pypdf import PdfReader

from mpv import history
from mpv.engine import Actor
from mpv.errors import Conflict, InvalidInput, NotAllowed, NotFound
from mpv.models import DocumentoOficial, Evento, NumeracionDocumento
from mpv.tramites import documentos, parametros
from mpv.tramites.hoja_pdf import fecha_larga
from mpv.tramites.presentacion import referenced_among

ANIO = base_date().year
TEXTO = {"destinatario": "Ing. Rosa Quispe, Gerente Municipal", "asunto": "Opinión técnica sobre la licencia",
         "cuerpo": "Visto el expediente de la referencia, se informa lo siguiente.\n\nEl local cumple las "
                   "condiciones de seguridad.\nSe recomienda otorgar la licencia."}


@pytest.fixture
def expediente(services, staff):
    """An expediente derived to GDUR and received there."""
    exp = file_tramite(services)
    step(services, exp, staff["mesa"], accion="conforme")
    derivar(services, exp, staff["mesa"], "GDUR")
    recibir(services, exp, staff["gdur"])
    return exp


def redactar(services, actor, exp, tipo="informe", **cambios):
    return documentos.redactar(services, actor, exp.numero, tipo, **{**TEXTO, **cambios})


def files(services) -> set[str]:
    return {p.name for p in services.storage.root.glob("??/??/*")}


def written(services):
    """Everything an action could write: documents, counters, history rows and kept files."""
    return (list(DocumentoOficial.select().order_by(DocumentoOficial.id).tuples()),
            list(NumeracionDocumento.select().tuples()), Evento.select().count(), files(services))


def test_draft_edit_and_issue_an_informe(services, staff, expediente):
    borrador = redactar(services, staff["gdur"], expediente)
    assert (borrador.estado, borrador.numero, borrador.referencia) == (
        "borrador", None, f"Expediente N° {expediente.numero}")
    documentos.editar(services, staff["gdur"], borrador.id, "informe", TEXTO["destinatario"],
                      "Opinión técnica favorable", TEXTO["cuerpo"])
    emitido = documentos.emitir(services, staff["gdur"], borrador.id)
    assert emitido.numero == f"INFORME N° 001-{ANIO}-GDUR/MDX"
    assert (emitido.estado, emitido.anio, emitido.correlativo) == ("emitido", ANIO, 1)
    row = DocumentoOficial.get_by_id(borrador.id)
    assert row.numero == emitido.numero and row.sha256 == emitido.sha256 and row.asunto == "Opinión técnica favorable"

    segundo = documentos.emitir(services, staff["gdur"], redactar(services, staff["gdur"], expediente).id)
    assert segundo.numero == f"INFORME N° 002-{ANIO}-GDUR/MDX"

    evento = Evento.select().where(Evento.tipo == "documento").order_by(Evento.seq).first()
    assert (evento.expediente_id, evento.descripcion, evento.actor_nombre, evento.oficina_origen) == (
        expediente.id, f"Se emitió el INFORME N° 001-{ANIO}-GDUR/MDX", "gdur", "GDUR")
    assert history.verify().ok


def test_the_pdf_says_the_number_subject_date_and_expediente(services, staff, expediente):
    emitido = documentos.emitir(services, staff["gdur"], redactar(services, staff["gdur"], expediente).id)
    documento, archivo = documentos.pdf_emitido(services, staff["mesa"], emitido.id)
    with archivo:
        data = archivo.read()
    assert services.storage.check(documento.sha256) is None
    texto = " ".join(" ".join(page.extract_text().split()) for page in PdfReader(io.BytesIO(data)).pages)
    for esperado in (f"INFORME N° 001-{ANIO}-GDUR/MDX", "Opinión técnica sobre la licencia",
                     f"Referencia: Expediente N° {expediente.numero}", "Ing. Rosa Quispe",
                     "El local cumple las condiciones de seguridad.", "Municipalidad Distrital (demostración)",
                     fecha_larga(base_date())):
        assert esperado in texto, esperado


def test_each_office_type_and_year_has_its_own_sequence(services, staff, clock, expediente):
    def emitir(actor, tipo="informe"):
        return documentos.emitir(services, actor, redactar(services, actor, expediente, tipo).id).numero

    assert emitir(staff["gdur"]) == f"INFORME N° 001-{ANIO}-GDUR/MDX"
    assert emitir(staff["gdur"], "oficio") == f"OFICIO N° 001-{ANIO}-GDUR/MDX"
    assert emitir(staff["gdur"], "memorandum") == f"MEMORÁNDUM N° 001-{ANIO}-GDUR/MDX"
    assert emitir(staff["mesa"]) == f"INFORME N° 001-{ANIO}-MP/MDX"
    assert emitir(staff["gdur"]) == f"INFORME N° 002-{ANIO}-GDUR/MDX"
    clock.set(lima(ANIO + 1, 1, 1, 10, 0))
    assert emitir(staff["gdur"]) == f"INFORME N° 001-{ANIO + 1}-GDUR/MDX"
    assert emitir(staff["gdur"], "oficio") == f"OFICIO N° 001-{ANIO + 1}-GDUR/MDX"


def test_the_number_follows_the_format_of_administracion(services, staff, expediente):
    admin = Actor.de_usuario(make_user("admin", "admin"))
    parametros.guardar(services, admin, {"entidad_sigla": "MPL",
                                         "formato_numero_documento": "{tipo} {correlativo:04d}-{anio}-{oficina}-{sigla}"})
    emitido = documentos.emitir(services, staff["gdur"], redactar(services, staff["gdur"], expediente, "carta").id)
    assert emitido.numero == f"Carta 0001-{ANIO}-GDUR-MPL"


def test_an_issued_document_cannot_be_edited_nor_issued_again(services, staff, expediente):
    emitido = documentos.emitir(services, staff["gdur"], redactar(services, staff["gdur"], expediente).id)
    before = written(services)
    with pytest.raises(Conflict, match="El documento ya fue emitido: no se puede modificar"):
        documentos.editar(services, staff["gdur"], emitido.id, "informe", "Otro", "Otro asunto", "Otro texto")
    with pytest.raises(Conflict, match="ya fue emitido"):
        documentos.emitir(services, staff["gdur"], emitido.id)
    assert written(services) == before


def test_who_may_draft_edit_and_issue(services, staff, expediente):
    borrador = redactar(services, staff["gdur"], expediente)
    before = written(services)
    with pytest.raises(NotAllowed, match="no pasó por su oficina"):
        redactar(services, staff["rentas"], expediente)
    with pytest.raises(NotAllowed, match="Solo mesa de partes y las oficinas"):
        redactar(services, staff["auditor"], expediente)
    with pytest.raises(NotAllowed, match="Solo la oficina que redactó"):
        documentos.emitir(services, staff["mesa"], borrador.id)
    with pytest.raises(NotAllowed, match="Solo la oficina que redactó"):
        documentos.editar(services, staff["rentas"], borrador.id, **{"tipo": "informe", **TEXTO})
    with pytest.raises(NotFound, match="Ese documento no existe"):
        documentos.emitir(services, staff["gdur"], 10**30)
    with pytest.raises(NotFound, match="No existe el expediente"):
        documentos.redactar(services, staff["gdur"], f"{ANIO}-999999", "informe", **TEXTO)
    assert written(services) == before
    # A draft is its office's: others see only what was issued.
    assert [d.id for d in documentos.de_expediente(services, staff["gdur"], expediente.numero)] == [borrador.id]
    assert documentos.de_expediente(services, staff["mesa"], expediente.numero) == []
    with pytest.raises(NotFound, match="aún no fue emitido"):
        documentos.pdf_emitido(services, staff["gdur"], borrador.id)


def test_bad_fields_are_named_and_nothing_is_written(services, staff, expediente):
    before = written(services)
    with pytest.raises(InvalidInput) as raised:
        documentos.redactar(services, staff["gdur"], expediente.numero, "acta", " ", "Asunto\ncon salto", "x" * 20001)
    assert raised.value.campos == {
        "tipo": "Elija el tipo de documento: Informe, Oficio, Carta, Memorándum, Resolución.",
        "destinatario": "Escriba el destinatario.", "asunto": "Escriba el asunto en una sola línea.",
        "cuerpo": "Escriba el texto del documento en 20000 caracteres como máximo (tiene 20001)."}
    assert written(services) == before


def test_a_failed_issue_leaves_no_number_no_file_and_a_draft(services, staff, expediente, monkeypatch):
    borrador = redactar(services, staff["gdur"], expediente)
    before = written(services)

    def boom(*args, **kwargs):
        raise RuntimeError("la base de datos se cayó")

    monkeypatch.setattr(documentos.history, "append", boom)
    with pytest.raises(RuntimeError):
        documentos.emitir(services, staff["gdur"], borrador.id)
    assert written(services) == before  # the counter did not move, the PDF written meanwhile is gone
    monkeypatch.undo()
    assert documentos.emitir(services, staff["gdur"], borrador.id).numero == f"INFORME N° 001-{ANIO}-GDUR/MDX"


def test_the_sweep_keeps_an_issued_documents_pdf(services, staff, expediente):
    emitido = documentos.emitir(services, staff["gdur"], redactar(services, staff["gdur"], expediente).id)
    assert referenced_among([emitido.sha256, "0" * 64]) == {emitido.sha256}
    assert emitido.sha256 not in services.storage.sweep(referenced_among, grace_seconds=-60)
    assert services.storage.check(emitido.sha256) is None


def test_fifty_concurrent_issues_get_fifty_consecutive_numbers(services, staff, expediente):
    borradores = [redactar(services, staff["gdur"], expediente, asunto=f"Informe {i}").id for i in range(50)]
    barrier = threading.Barrier(50)
    numeros, errores = [], []

    def emitir(documento_id):
        barrier.wait()
        try:
            numeros.append(documentos.emitir(services, staff["gdur"], documento_id).numero)
        except Exception as exc:  # noqa: BLE001 - the test reports any other outcome
            errores.append(repr(exc))
        finally:
            services.db.peewee.close()

    threads = [threading.Thread(target=emitir, args=(i,)) for i in borradores]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errores
    assert sorted(numeros) == [f"INFORME N° {n:03d}-{ANIO}-GDUR/MDX" for n in range(1, 51)]
    assert sorted(DocumentoOficial.select(DocumentoOficial.correlativo).tuples()) == [(n,) for n in range(1, 51)]
    assert NumeracionDocumento.get().ultimo == 50
    assert len(set(DocumentoOficial.select(DocumentoOficial.sha256).tuples())) == 50
    assert Evento.select().where(Evento.tipo == "documento").count() == 50
    assert history.verify().ok


def test_the_expediente_page_drafts_edits_and_issues(services, staff, expediente):
    from webclient import Browser

    from mpv.web.app import create_app

    b = Browser(create_app(services))
    b.login("gdur")
    page = b.get(f"/expedientes/{expediente.numero}")
    assert "Documentos" in page.text and "Redactar documento" in page.text
    refused = b.post(f"/expedientes/{expediente.numero}/documentos", {"tipo": "informe", "destinatario": "",
                                                                       "asunto": "Opinión", "cuerpo": "Texto"})
    assert refused.status_code == 422 and "Escriba el destinatario." in refused.text
    assert DocumentoOficial.select().count() == 0
    saved = b.post(f"/expedientes/{expediente.numero}/documentos", {"tipo": "informe", **TEXTO})
    assert saved.status_code == 303
    borrador = DocumentoOficial.get()
    assert b.post(f"/documentos/{borrador.id}", {"tipo": "oficio", **TEXTO, "asunto": "Nuevo asunto"}).status_code == 303
    assert "Nuevo asunto" in b.get(f"/documentos/{borrador.id}").text
    assert b.post(f"/documentos/{borrador.id}/emitir", {}).status_code == 303
    numero = f"OFICIO N° 001-{ANIO}-GDUR/MDX"
    assert numero in b.get(f"/expedientes/{expediente.numero}").text
    again = b.post(f"/documentos/{borrador.id}", {"tipo": "oficio", **TEXTO})
    assert again.status_code == 409 and "El documento ya fue emitido: no se puede modificar." in again.text
    pdf = b.get(f"/documentos/{borrador.id}/pdf")
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    assert numero in " ".join(PdfReader(io.BytesIO(pdf.content)).pages[0].extract_text().split())
