"""Acumulación (issue 16, item 1; TUO de la Ley 27444, art. 160): expedientes joined to a principal follow it —
deriving the principal derives the accumulated ones, each with its own engine step and history — and cannot be
worked alone until they are desacumulados. Refusals say why and write nothing."""
from __future__ import annotations

import re
import uuid

import pytest
from helpers import derivar, file_tramite, make_user, recibir, step
from test_web import actor, app, browser, text  # noqa: F401 - the staff app and its signed-in clients
from webclient import Browser

from mpv.errors import Conflict, InvalidInput, NotAllowed
from mpv.models import Acumulacion, Evento, Expediente, Oficina, Tarea
from mpv.tramites import acumulacion, tareas

DERIVACION = {"oficina_destino": "GDUR", "oficinas_adicionales": "SGAT", "proveido": "Evaluar ambos",
              "prioridad": "normal", "plazo_dias": "5"}


@pytest.fixture
def users(services):
    return {name: make_user(name, rol, office) for name, rol, office in (
        ("mesa", "mesa", "MP"), ("gdur", "oficina", "GDUR"), ("rentas", "oficina", "SGAT"),
        ("auditor", "auditor", None))}


def pendientes(exp) -> set[tuple[str, str]]:
    return {(t.spec, t.oficina.codigo) for t in Tarea.select(Tarea, Oficina).join(Oficina)
            .where(Tarea.expediente == exp.id)}


def filas(exp) -> list[tuple[str, str, str]]:
    return [(e.tipo, e.accion, e.descripcion) for e in
            Evento.select().where(Evento.expediente == exp.id).order_by(Evento.seq)]


def lo_escrito(services):
    """What a refusal must leave as it was: the history (a denial's audit row aside), the acumulaciones, the
    expedientes' versions."""
    return Evento.select().where(Evento.tipo != "acceso").count(), Acumulacion.select().count(), [
        (e.id, e.version) for e in Expediente.select().order_by(Expediente.id)]


def test_deriving_the_principal_moves_the_accumulated_one_and_each_history_shows_it(services, app, users):
    a, b = file_tramite(services), file_tramite(services, asunto="Licencia del local contiguo")
    mesa = browser(app, "mesa")
    page = mesa.get(f"/expedientes/{a.numero}")
    assert 'action="/expedientes/%s/acumulados"' % a.numero in page.text and ">Acumular</button>" in page.text
    done = mesa.post(f"/expedientes/{a.numero}/acumulados", {"acumulado": b.numero, "motivo": "Mismo local"})
    assert done.status_code == 303 and done.headers["location"].endswith(f"/expedientes/{a.numero}")
    principal = text(mesa.get(f"/expedientes/{a.numero}").text)
    assert f"El expediente {b.numero} quedó acumulado al {a.numero}" in principal
    assert f"{b.numero} Licencia del local contiguo" in principal and "Desacumular" in principal
    assert f"Acumulado al expediente {a.numero}" in text(mesa.get(f"/expedientes/{b.numero}").text)

    assert f"Con él se derivan, con los mismos datos, sus expedientes acumulados: {b.numero}." in text(
        mesa.get(f"/expedientes/{a.numero}/derivar").text)
    revisar = mesa.post(f"/expedientes/{a.numero}/derivar", {**DERIVACION, "paso": "revisar"})
    assert f"Con él se derivan sus expedientes acumulados: {b.numero}." in text(revisar.text)
    derived = mesa.post(f"/expedientes/{a.numero}/derivar", {**DERIVACION, "paso": "confirmar"})
    assert derived.status_code == 303
    assert pendientes(a) == pendientes(b) == {("recibir", "GDUR"), ("recibir", "SGAT")}
    assert Expediente.get_by_id(b.id).oficina_actual.codigo == "GDUR"
    hechas = [(e.tarea, e.accion, e.oficina_destino, e.detalle) for e in Evento.select().where(
        (Evento.expediente == b.id) & (Evento.tipo == "tarea")).order_by(Evento.seq)]
    assert hechas == [("recepcion", "conforme", "MP", ""), ("derivacion", "derivacion", "GDUR,SGAT", "Evaluar ambos")]
    assert filas(b)[-1] == ("accion", "con_principal", f"Tramitado con su principal {a.numero}: Derivación")
    assert ("accion", "acumular", f"Acumulado al expediente {a.numero}") in filas(b)
    assert ("accion", "acumular", f"Se le acumuló el expediente {b.numero}") in filas(a)
    assert not [f for f in filas(a) if f[1] == "con_principal"]
    seguimiento_b = text(mesa.get(f"/expedientes/{b.numero}/seguimiento").text)
    assert f"Acumulado al expediente {a.numero}" in seguimiento_b and "Motivo: Mismo local" in seguimiento_b
    assert f"Tramitado con su principal {a.numero}: Derivación" in seguimiento_b
    assert f"Se le acumuló el expediente {b.numero}" in text(mesa.get(f"/expedientes/{a.numero}/seguimiento").text)
    # The citizen sees the acumulación, not the reason (staff's note).
    publico = text(Browser(app).get(f"/seguimiento/{b.codigo}").text)
    assert f"Acumulado al expediente {a.numero}" in publico and "Mismo local" not in publico

    # The office receives the principal: the accumulated one is received in that office too, not in the other.
    gdur = browser(app, "gdur")
    tarea = Tarea.get((Tarea.expediente == a.id) & (Tarea.spec == "recibir")
                      & (Tarea.oficina == Oficina.por_codigo("GDUR").id))
    assert gdur.post(f"/expedientes/{a.numero}/tareas/{tarea.task_id}", {}).status_code == 303
    assert pendientes(a) == pendientes(b) == {("atencion", "GDUR"), ("recibir", "SGAT")}
    assert filas(b)[-1] == ("accion", "con_principal",
                            f"Tramitado con su principal {a.numero}: Recepción en la oficina")


def test_the_accumulated_one_cannot_act_alone_until_it_is_desacumulado(services, app, users):
    a, b = file_tramite(services), file_tramite(services)
    mesa = browser(app, "mesa")
    acumulacion.acumular(services, actor(users["mesa"]), a.numero, b.numero, "Conexión")
    antes = lo_escrito(services)
    mensaje = f"El expediente {b.numero} está acumulado al {a.numero}; se tramita con él."
    form = mesa.get(f"/expedientes/{b.numero}/derivar")
    assert form.status_code == 409 and mensaje in text(form.text)
    alone = mesa.post(f"/expedientes/{b.numero}/derivar", {**DERIVACION, "paso": "confirmar"})
    assert alone.status_code == 409 and mensaje in text(alone.text)
    task = Tarea.get(Tarea.expediente == b.id).task_id
    by_task = mesa.post(f"/expedientes/{b.numero}/tareas/{task}", {"accion": "archivar", "motivo": "Duplicado"})
    assert by_task.status_code == 409 and mensaje in text(by_task.text)
    with pytest.raises(Conflict, match=re.escape(mensaje)):
        tareas.completar_por_nombre(services, actor(users["mesa"]), b.numero, "recepcion", {"accion": "conforme"})
    assert lo_escrito(services) == antes

    undone = mesa.post(f"/expedientes/{a.numero}/acumulados/{b.numero}/desacumular", {})
    assert undone.status_code == 303
    fila = Acumulacion.get(Acumulacion.acumulado == b.id)
    assert fila.hasta is not None and fila.desacumulado_por_id == users["mesa"].id and fila.motivo == "Conexión"
    assert filas(a)[-1] == ("accion", "desacumular", f"Se desacumuló el expediente {b.numero}")
    assert filas(b)[-1] == ("accion", "desacumular", f"Desacumulado del expediente {a.numero}: se tramita por separado")
    assert mesa.post(f"/expedientes/{b.numero}/derivar", {**DERIVACION, "paso": "confirmar"}).status_code == 303
    assert pendientes(b) == {("recibir", "GDUR"), ("recibir", "SGAT")}
    assert pendientes(a) == {("recepcion", "MP")}
    again = mesa.post(f"/expedientes/{a.numero}/acumulados/{b.numero}/desacumular", {})
    assert again.status_code == 404 and f"El expediente {b.numero} no está acumulado al {a.numero}" in again.text


def test_refusals_say_why_and_write_nothing(services, app, users):
    a, b, c = file_tramite(services), file_tramite(services), file_tramite(services)
    en_gdur, archivado = file_tramite(services), file_tramite(services)
    step(services, en_gdur, actor(users["mesa"]), accion="conforme")
    derivar(services, en_gdur, actor(users["mesa"]), "GDUR")
    step(services, archivado, actor(users["mesa"]), accion="archivar", motivo="Desistió")
    acumulacion.acumular(services, actor(users["mesa"]), a.numero, b.numero, "Conexión")
    mesa = browser(app, "mesa")
    antes = lo_escrito(services)
    casos = [
        (a, {"acumulado": a.numero, "motivo": "x"}, 422, "Un expediente no se acumula a sí mismo."),
        (a, {"acumulado": c.numero, "motivo": " "}, 422, "Escriba el motivo de la acumulación"),
        (a, {"acumulado": "2026-999999", "motivo": "x"}, 422, "No existe el expediente 2026-999999."),
        (a, {"acumulado": "", "motivo": "x"}, 422, "Escriba el número del expediente que se acumula"),
        (c, {"acumulado": b.numero, "motivo": "x"}, 409, f"ya está acumulado al {a.numero} (otro expediente)"),
        (a, {"acumulado": b.numero, "motivo": "x"}, 409, f"ya está acumulado al {a.numero} (este expediente)"),
        (b, {"acumulado": c.numero, "motivo": "x"}, 409, f"El expediente {b.numero} está acumulado al {a.numero}"),
        (c, {"acumulado": a.numero, "motivo": "x"}, 409, f"El expediente {a.numero} tiene sus propios expedientes"),
        (a, {"acumulado": en_gdur.numero, "motivo": "x"}, 409, "no espera en la misma bandeja que el"),
        (a, {"acumulado": archivado.numero, "motivo": "x"}, 409, f"El expediente {archivado.numero} ya concluyó"),
        (archivado, {"acumulado": c.numero, "motivo": "x"}, 409, f"El expediente {archivado.numero} ya concluyó"),
        (en_gdur, {"acumulado": c.numero, "motivo": "x"}, 403, "no espera en su bandeja"),
    ]
    for principal, datos, status, mensaje in casos:
        result = mesa.post(f"/expedientes/{principal.numero}/acumulados", datos)
        assert result.status_code == status and mensaje in text(result.text), (datos, result.status_code)
        if status == 422:  # the form again, with what the user wrote
            assert f'value="{datos["acumulado"]}"' in result.text
        assert lo_escrito(services) == antes, datos
    assert browser(app, "rentas").post(f"/expedientes/{a.numero}/acumulados",
                                       {"acumulado": c.numero, "motivo": "x"}).status_code == 403
    assert browser(app, "auditor").post(f"/expedientes/{a.numero}/acumulados",
                                        {"acumulado": c.numero, "motivo": "x"}).status_code == 403
    assert browser(app, "gdur").post(f"/expedientes/{a.numero}/acumulados/{b.numero}/desacumular",
                                     {}).status_code == 403
    assert lo_escrito(services) == antes


def test_an_office_accumulates_and_its_derivation_takes_both(services, users):
    gdur, mesa = actor(users["gdur"]), actor(users["mesa"])
    a, b = file_tramite(services), file_tramite(services)
    for exp in (a, b):
        step(services, exp, mesa, accion="conforme")
        derivar(services, exp, mesa, "GDUR")
    recibir(services, a, gdur)
    with pytest.raises(Conflict, match="no espera en la misma bandeja"):  # B still waits to be received
        acumulacion.acumular(services, gdur, a.numero, b.numero, "Mismo predio")
    recibir(services, b, gdur)
    with pytest.raises(NotAllowed):  # the expedientes are in GDUR's tray, not mesa de partes'
        acumulacion.acumular(services, mesa, a.numero, b.numero, "Mismo predio")
    with pytest.raises(InvalidInput):
        acumulacion.acumular(services, gdur, a.numero, b.numero, "x" * 1001)
    acumulacion.acumular(services, gdur, a.numero, b.numero, "Mismo predio")
    vista = acumulacion.vista(services, gdur, Expediente.get_by_id(a.id))
    assert [f.acumulado.numero for f in vista.acumulados] == [b.numero] and vista.puede_desacumular
    task = Tarea.get(Tarea.expediente == a.id).task_id
    tareas.completar(services, gdur, a.numero, task, {"accion": "derivar", "oficina": "SGAT", "plazo_dias": 3,
                                                      "proveido": "Informe técnico"})
    assert pendientes(a) == pendientes(b) == {("recibir", "SGAT")}
    assert filas(b)[-1][2] == f"Tramitado con su principal {a.numero}: Atención: Derivar a otra oficina"
    acumulacion.desacumular(services, actor(users["rentas"]), a.numero, b.numero)  # SGAT holds them now
    assert Acumulacion.activa_de(b.id) is None


def test_anular_derivacion_of_the_principal_takes_back_the_accumulated_one(services, users):
    mesa = actor(users["mesa"])
    a, b = file_tramite(services), file_tramite(services)
    acumulacion.acumular(services, mesa, a.numero, b.numero, "Conexión")
    tareas.derivar(services, mesa, a.numero, {"oficina_destino": "GDUR", "prioridad": "normal", "plazo_dias": 5})
    with pytest.raises(Conflict, match="está acumulado al"):
        tareas.enviar_evento(services, mesa, b.numero, "anulacion")
    tareas.enviar_evento(services, mesa, a.numero, "anulacion")
    assert pendientes(a) == pendientes(b) == {("derivacion", "MP")}
    assert filas(b)[-1][1:] == ("con_principal", f"Tramitado con su principal {a.numero}: Derivación anulada")


def test_when_an_accumulated_step_fails_none_moves(services, users):
    mesa = actor(users["mesa"])
    a, b = file_tramite(services), file_tramite(services)
    acumulacion.acumular(services, mesa, a.numero, b.numero, "Conexión")
    # B's tray shows a task its instance no longer has (a stale projection): its step fails.
    Tarea.update(task_id=str(uuid.UUID(int=1))).where(Tarea.expediente == b.id).execute()
    antes = lo_escrito(services)
    with pytest.raises(Conflict):
        tareas.derivar(services, mesa, a.numero, {"oficina_destino": "GDUR", "prioridad": "normal", "plazo_dias": 5})
    assert lo_escrito(services) == antes
    assert pendientes(a) == {("recepcion", "MP")}
