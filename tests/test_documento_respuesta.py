"""Attending a trámite with an issued official document (rule 13): the office chooses one of the documents IT issued
on THAT expediente in the atención form; its PDF is the answer the citizen receives by e-mail and downloads from the
public seguimiento, and the history says «Atendido con INFORME N° …». A draft, another office's document or another
expediente's document is refused with a message and nothing is written."""
from __future__ import annotations

import pytest
from helpers import SmtpServer, derivar, file_tramite, free_port, recibir, step, task_of
from webclient import Browser

from mpv.config import Settings
from mpv.correo.mailer import Mailer
from mpv.errors import InvalidInput
from mpv.models import Adjunto, Evento, Expediente
from mpv.tramites import documentos, tareas
from mpv.web.app import create_app

TEXTO = {"destinatario": "Sra. Ana Rojas Villanueva", "asunto": "Licencia de funcionamiento",
         "cuerpo": "Se otorga la licencia solicitada."}


@pytest.fixture
def smtp():
    server = SmtpServer(free_port())
    server.start()
    yield server
    server.stop()


@pytest.fixture
def settings(tmp_path, database_url, smtp):
    return Settings(data_dir=tmp_path / "data", database_url=database_url, smtp_host="127.0.0.1",
                    smtp_port=smtp.port, smtp_starttls=False, base_url="https://mpv.muni.example.gob.pe")


def en_atencion(services, staff, *oficinas):
    exp = file_tramite(services)
    step(services, exp, staff["mesa"], accion="conforme")
    derivar(services, exp, staff["mesa"], *oficinas)
    for oficina in oficinas:
        recibir(services, exp, staff[{"GDUR": "gdur", "SGAT": "rentas"}[oficina]])
    return exp


def emitido(services, actor, exp, tipo="informe"):
    borrador = documentos.redactar(services, actor, exp.numero, tipo, **TEXTO)
    return documentos.emitir(services, actor, borrador.id)


def atender(services, actor, exp, **valores):
    return tareas.completar(services, actor, exp.numero, task_of(services, exp, actor),
                            {"accion": "atender", **valores})


def test_attending_with_an_issued_informe_sends_its_pdf_and_shows_it_in_the_seguimiento(services, staff, smtp):
    exp = en_atencion(services, staff, "GDUR")
    informe = emitido(services, staff["gdur"], exp)
    assert tareas.catalogos(services, staff["gdur"], exp)["documentos_emitidos"] == [
        (str(informe.id), f"{informe.numero} — {TEXTO['asunto']}")]
    atender(services, staff["gdur"], exp, documento_respuesta=str(informe.id), respuesta="")
    assert Expediente.get_by_id(exp.id).estado == "Atendido"
    fila = Evento.get((Evento.expediente == exp.id) & (Evento.accion == "atender"))
    assert fila.detalle == f"Atendido con {informe.numero}."
    [adjunto] = Adjunto.select().where(Adjunto.tipo == "respuesta")
    assert adjunto.sha256 == informe.sha256 and adjunto.nombre == f"{informe.numero.replace('/', '-')}.pdf"

    assert Mailer(services, timeout=5).send_due() >= 1
    message = smtp.subject("Respuesta a su trámite")
    text = message.get_body(("plain",)).get_content()
    assert f"Atendido con {informe.numero}." in text
    [attachment] = list(message.iter_attachments())
    assert attachment.get_content() == services.storage.path(informe.sha256).read_bytes()

    citizen = Browser(create_app(services))
    page = citizen.get(f"/seguimiento/{exp.codigo}")
    assert page.status_code == 200 and f"Atendido con {informe.numero}." in page.text
    assert f"/seguimiento/{exp.codigo}/archivos/{adjunto.id}" in page.text
    pdf = citizen.get(f"/seguimiento/{exp.codigo}/archivos/{adjunto.id}")
    assert pdf.status_code == 200 and pdf.content == services.storage.path(informe.sha256).read_bytes()


def test_a_signed_document_answers_with_its_signed_version(services, staff, clock):
    from datetime import timedelta

    from firmas_pki import Autoridad

    from mpv.models import Usuario
    from mpv.tramites import certificado_usuario, firma_documento

    exp = en_atencion(services, staff, "GDUR")
    informe = emitido(services, staff["gdur"], exp)
    autoridad = Autoridad(clock() - timedelta(days=30), "Autoridad de prueba")
    certificado_usuario.subir(services, Usuario.get(Usuario.username == "gdur"),
                              autoridad.firmante("Rosa Quispe Huamán", "PNOPE-45871236").pkcs12("uno"), "uno")
    firmada = firma_documento.firmar(services, staff["gdur"], informe.id, "uno")
    atender(services, staff["gdur"], exp, documento_respuesta=str(informe.id), respuesta="")
    [adjunto] = Adjunto.select().where(Adjunto.tipo == "respuesta")
    assert adjunto.sha256 == firmada.sha256 != informe.sha256
    assert [f.firmante for f in adjunto.firmas] == ["Rosa Quispe Huamán"]  # verified as every PDF kept


def test_the_office_may_add_its_own_words_to_the_document(services, staff):
    exp = en_atencion(services, staff, "GDUR")
    oficio = emitido(services, staff["gdur"], exp, "oficio")
    atender(services, staff["gdur"], exp, documento_respuesta=str(oficio.id), respuesta="Recoja el original.")
    fila = Evento.get((Evento.expediente == exp.id) & (Evento.accion == "atender"))
    assert fila.detalle == f"Atendido con {oficio.numero}.\n\nRecoja el original."


def test_a_draft_another_offices_or_another_expedientes_document_is_refused(services, staff):
    exp = en_atencion(services, staff, "GDUR", "SGAT")
    otro = en_atencion(services, staff, "GDUR")
    borrador = documentos.redactar(services, staff["gdur"], exp.numero, "informe", **TEXTO)
    ajeno = emitido(services, staff["rentas"], exp)
    de_otro_expediente = emitido(services, staff["gdur"], otro)
    antes = (Evento.select().count(), Adjunto.select().count())
    casos = [(borrador.id, "aún no fue emitido: emítalo antes de responder con él"),
             (ajeno.id, "es de otra oficina"),
             (de_otro_expediente.id, f"es de otro expediente: responda con un documento emitido en el expediente "
                                     f"{exp.numero}"),
             (999999, "Ese documento no existe.")]
    for documento_id, mensaje in casos:
        with pytest.raises(InvalidInput) as refused:
            atender(services, staff["gdur"], exp, documento_respuesta=str(documento_id), respuesta="")
        assert mensaje in refused.value.campos["documento_respuesta"]
    assert (Evento.select().count(), Adjunto.select().count()) == antes
    assert Expediente.get_by_id(exp.id).estado != "Atendido"


def test_the_atencion_page_lists_the_offices_issued_documents_and_names_a_refusal(services, staff):
    exp = en_atencion(services, staff, "GDUR", "SGAT")
    informe = emitido(services, staff["gdur"], exp)
    ajeno = emitido(services, staff["rentas"], exp, "carta")
    b = Browser(create_app(services))
    b.login("gdur")
    task_id = task_of(services, exp, staff["gdur"])
    form = b.get(f"/expedientes/{exp.numero}/tareas/{task_id}", accion="atender")
    assert form.status_code == 200 and informe.numero in form.text and ajeno.numero not in form.text
    refused = b.post(f"/expedientes/{exp.numero}/tareas/{task_id}",
                     {"_vista": "atender", "accion": "atender", "documento_respuesta": str(ajeno.id), "respuesta": ""})
    assert refused.status_code == 422 and "es de otra oficina" in refused.text
    done = b.post(f"/expedientes/{exp.numero}/tareas/{task_id}",
                  {"_vista": "atender", "accion": "atender", "documento_respuesta": str(informe.id), "respuesta": ""})
    assert done.status_code == 303
    assert Adjunto.get(Adjunto.tipo == "respuesta").sha256 == informe.sha256
