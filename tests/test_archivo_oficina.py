"""Issue 16: the office archives an expediente with a reason (its own path in tramite.bpmn).

Atención › Archivar ends the office's part at «Archivado en la oficina»; once every office of the derivation is
done, the expediente ends at «Archivado por la oficina» (estado «Archivado», the citizen notified with the reason)
unless another office attended it (then it is «Atendido») or returned it (then it goes back to mesa de partes).
"""
from __future__ import annotations

import re

import orjson
import pytest
from helpers import derivar, file_tramite, make_user, recibir, step
from webclient import Browser

from mpv import history
from mpv.correo.mensajes import Mensajes
from mpv.engine import Actor
from mpv.errors import InvalidInput
from mpv.models import Correo, Evento, Expediente, Tarea
from mpv.web.app import create_app

MOTIVO = "El solicitante desistió por escrito del trámite (escrito N° 15-2026)"


@pytest.fixture
def people(services):
    users = {"mesa": ("mesa", "MP"), "gdur": ("oficina", "GDUR"), "rentas": ("oficina", "SGAT")}
    return {name: make_user(name, rol, office) for name, (rol, office) in users.items()}


def actor(user) -> Actor:
    return Actor.de_usuario(user)


def en_atencion(services, people, *oficinas):
    """A trámite received by mesa de partes, derived to ``oficinas`` and received by each of them."""
    exp = file_tramite(services)
    step(services, exp, actor(people["mesa"]), accion="conforme")
    derivar(services, exp, actor(people["mesa"]), *oficinas)
    for codigo in oficinas:
        recibir(services, exp, actor(people[{"GDUR": "gdur", "SGAT": "rentas"}[codigo]]))
    return exp


def aviso(services, exp) -> str:
    """The text of the «archivado» e-mail queued to the citizen."""
    correo = Correo.get((Correo.expediente == exp.id) & (Correo.tipo == "archivado"))
    assert correo.destinatario == exp.remitente.email
    message = Mensajes(services).build(correo, services.clock())
    return message.get_body(("plain",)).get_content().replace("\r\n", "\n")


def test_the_office_archives_with_a_reason_through_its_form(services, people):
    exp = en_atencion(services, people, "GDUR")
    b = Browser(create_app(services))
    b.login("gdur")
    task = Tarea.get((Tarea.expediente == exp.id) & (Tarea.spec == "atencion")).task_id
    url = f"/expedientes/{exp.numero}/tareas/{task}"
    tray = b.get("/bandeja")
    assert f'href="{url}?accion=archivar" aria-label="Archivar el expediente {exp.numero}">Archivar</a>' in tray.text
    page = b.get(url, accion="archivar")
    assert page.status_code == 200 and "Motivo del archivo" in page.text and ">Archivar</button>" in page.text
    assert "Respuesta" not in page.text

    ok = b.post(url, {"accion": "archivar", "_vista": "archivar", "motivo": MOTIVO})
    assert ok.status_code == 303

    exp = Expediente.get_by_id(exp.id)
    assert exp.terminado and exp.estado == "Archivado" and not Tarea.select().where(Tarea.expediente == exp.id).exists()
    fila = Evento.get((Evento.expediente == exp.id) & (Evento.accion == "archivar"))
    assert fila.tarea == "atencion" and fila.oficina_origen == "GDUR" and fila.descripcion == "Atención: Archivar"
    assert fila.detalle == MOTIVO and orjson.loads(fila.payload)["motivo"] == MOTIVO
    fines = [e.descripcion for e in Evento.select().where((Evento.expediente == exp.id) & (Evento.tipo == "fin"))]
    assert fines[-2:] == ["Archivado en la oficina", "Archivado por la oficina"]

    texto = aviso(services, exp)
    assert exp.numero in texto and "la oficina a la que fue derivado lo archivó" in texto
    assert f"  {MOTIVO}" in texto and "Gerencia de Desarrollo Urbano" in texto

    # The seguimiento, the staff's and the citizen's, says «Archivado» and why.
    staff_page = b.get(f"/expedientes/{exp.numero}/seguimiento")
    assert staff_page.status_code == 200 and "<strong>Archivado</strong>" in staff_page.text
    assert MOTIVO in staff_page.text and "Archivado por la oficina" in staff_page.text
    public = Browser(create_app(services)).get(f"/seguimiento/{exp.codigo}")
    assert public.status_code == 200 and "Archivado" in public.text and MOTIVO in public.text
    assert history.verify().ok


def test_archiving_without_a_reason_is_refused_with_a_message(services, people):
    exp = en_atencion(services, people, "GDUR")
    b = Browser(create_app(services))
    b.login("gdur")
    task = Tarea.get((Tarea.expediente == exp.id) & (Tarea.spec == "atencion")).task_id
    url = f"/expedientes/{exp.numero}/tareas/{task}"
    refused = b.post(url, {"accion": "archivar", "_vista": "archivar", "motivo": "   "})
    assert refused.status_code == 422
    assert 'id="error-motivo">Este campo es obligatorio.' in refused.text
    exp = Expediente.get_by_id(exp.id)
    assert not exp.terminado and exp.estado == "En atención"
    assert not Evento.select().where((Evento.expediente == exp.id) & (Evento.accion == "archivar")).exists()
    with pytest.raises(InvalidInput) as error:
        step(services, exp, actor(people["gdur"]), accion="archivar")
    assert error.value.campos == {"motivo": "Este campo es obligatorio."}
    assert not Correo.select().where(Correo.tipo == "archivado").exists()


def test_in_a_parallel_derivation_the_archive_waits_for_the_other_office(services, people):
    """One office archives its part while another still attends: the expediente stays with the other; it ends
    archived when every office archived (the citizen gets each office's reason)."""
    exp = en_atencion(services, people, "GDUR", "SGAT")
    step(services, exp, actor(people["gdur"]), accion="archivar", motivo=MOTIVO)
    exp = Expediente.get_by_id(exp.id)
    assert not exp.terminado and exp.estado == "En atención"
    assert [t.oficina.codigo for t in Tarea.select().where(Tarea.expediente == exp.id)] == ["SGAT"]
    assert not Correo.select().where(Correo.tipo == "archivado").exists()

    step(services, exp, actor(people["rentas"]), accion="archivar", motivo="No registra deuda que revisar")
    exp = Expediente.get_by_id(exp.id)
    assert exp.terminado and exp.estado == "Archivado"
    texto = aviso(services, exp)
    assert f"  {MOTIVO}" in texto and "  No registra deuda que revisar" in texto
    assert "las oficinas a las que fue derivado lo archivaron" in texto


def test_an_answer_of_another_office_makes_it_attended(services, people):
    exp = en_atencion(services, people, "GDUR", "SGAT")
    step(services, exp, actor(people["gdur"]), accion="archivar", motivo=MOTIVO)
    step(services, exp, actor(people["rentas"]), accion="atender", respuesta="No registra deudas")
    exp = Expediente.get_by_id(exp.id)
    assert exp.terminado and exp.estado == "Atendido"
    assert not Correo.select().where(Correo.tipo == "archivado").exists()
    assert Correo.select().where(Correo.tipo == "atencion").exists()


def test_a_return_of_another_office_sends_it_back_to_mesa_de_partes(services, people):
    exp = en_atencion(services, people, "GDUR", "SGAT")
    step(services, exp, actor(people["gdur"]), accion="archivar", motivo=MOTIVO)
    step(services, exp, actor(people["rentas"]), accion="devolver", proveido="Falta el informe técnico")
    exp = Expediente.get_by_id(exp.id)
    assert not exp.terminado and [t.spec for t in Tarea.select().where(Tarea.expediente == exp.id)] == ["recepcion"]


def test_mesa_de_partes_archive_notice_still_names_mesa(services, people):
    exp = file_tramite(services)
    step(services, exp, actor(people["mesa"]), accion="archivar", motivo="Duplicado")
    texto = aviso(services, Expediente.get_by_id(exp.id))
    assert "la mesa de partes archivó su trámite" in texto and "  Duplicado" in texto
    assert re.search(r"Motivo \(", texto) is None
