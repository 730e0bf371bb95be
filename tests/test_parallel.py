"""Derivation to several offices at once, "con copia", and anular derivación.

Every step here restores the instance onto a freshly parsed definition, as a new process would.
"""
from __future__ import annotations

import pytest
from helpers import build_services, derivar, file_tramite, make_user, recibir, step

from mpv import history
from mpv.engine import Actor
from mpv.errors import Conflict, NotAllowed
from mpv.models import Copia, Evento, Expediente, Tarea


@pytest.fixture
def fresh(settings, clock):
    services = build_services(settings, clock, cache_definitions=False)
    yield services
    services.close()


@pytest.fixture
def people(fresh):
    users = {"mesa": ("mesa", "MP"), "gdur": ("oficina", "GDUR"), "rentas": ("oficina", "SGAT"),
             "social": ("oficina", "GDS"), "legal": ("oficina", "OAJ")}
    return {name: Actor.de_usuario(make_user(name, rol, office)) for name, (rol, office) in users.items()}


def refresh(exp):
    return Expediente.get_by_id(exp.id)


def offices_with_tasks(exp):
    return sorted((t.oficina.codigo, t.spec) for t in Tarea.select().where(Tarea.expediente == exp.id) if t.oficina)


def test_three_offices_attended_only_when_the_third_answers(fresh, people):
    exp = file_tramite(fresh)
    step(fresh, exp, people["mesa"], accion="conforme")
    derivar(fresh, exp, people["mesa"], "GDUR", "SGAT", "GDS", proveido="Informe de cada área")
    assert offices_with_tasks(exp) == [("GDS", "recibir"), ("GDUR", "recibir"), ("SGAT", "recibir")]
    derivacion = Evento.select().where((Evento.expediente == exp.id) & (Evento.tarea == "derivacion")).get()
    assert derivacion.oficina_destino == "GDUR,SGAT,GDS"
    for name in ("gdur", "rentas"):
        recibir(fresh, exp, people[name])
        step(fresh, exp, people[name], accion="atender", respuesta=f"Informe de {name}")
        assert not refresh(exp).terminado
    assert offices_with_tasks(exp) == [("GDS", "recibir")]
    recibir(fresh, exp, people["social"])
    step(fresh, exp, people["social"], accion="atender", respuesta="Informe social")
    exp = refresh(exp)
    assert exp.terminado and exp.estado == "Atendido"
    assert history.verify().ok


def test_con_copia_offices_are_informed_but_do_not_answer(fresh, people):
    exp = file_tramite(fresh)
    step(fresh, exp, people["mesa"], accion="conforme")
    derivar(fresh, exp, people["mesa"], "GDUR", con_copia=["OAJ", "GDS"])
    assert sorted(c.oficina.codigo for c in Copia.select().where(Copia.expediente == exp.id)) == ["GDS", "OAJ"]
    assert offices_with_tasks(exp) == [("GDUR", "recibir")]  # no task for the copied offices
    movimiento = [m for m in history.seguimiento(exp.id, fresh.calendario) if m.tarea == "derivacion"][0]
    assert "Con copia a: Oficina de Asesoría Jurídica, Gerencia de Desarrollo Social" in movimiento.detalle
    recibir(fresh, exp, people["gdur"])
    step(fresh, exp, people["gdur"], accion="atender", respuesta="Listo")
    assert refresh(exp).estado == "Atendido"


def test_anular_derivacion_before_the_office_receives(fresh, people):
    exp = file_tramite(fresh)
    step(fresh, exp, people["mesa"], accion="conforme")
    derivar(fresh, exp, people["mesa"], "GDUR")
    assert fresh.engine.events_for(people["mesa"], refresh(exp)) == [("anulacion", "Anular derivación")]
    with pytest.raises(NotAllowed):
        fresh.engine.send_event(exp.id, "anulacion", people["gdur"])
    fresh.engine.send_event(exp.id, "anulacion", people["mesa"])
    exp = refresh(exp)
    assert exp.tarea_actual == "Derivación" and exp.oficina_actual.codigo == "MP"
    assert offices_with_tasks(exp) == [("MP", "derivacion")]
    movimientos = history.seguimiento(exp.id, fresh.calendario)
    assert movimientos[-1].descripcion == "Derivación anulada"
    assert movimientos[-1].detalle == "Anular derivación: Gerencia de Desarrollo Urbano y Rural"
    assert (movimientos[-1].origen, movimientos[-1].destino) == (
        "Mesa de Partes - Unidad de Trámite Documentario y Archivo",
        "Mesa de Partes - Unidad de Trámite Documentario y Archivo")
    derivar(fresh, exp, people["mesa"], "SGAT")
    recibir(fresh, exp, people["rentas"])
    step(fresh, exp, people["rentas"], accion="atender", respuesta="ok")
    assert refresh(exp).estado == "Atendido"


def test_anular_derivacion_after_the_office_received_is_refused(fresh, people):
    exp = file_tramite(fresh)
    step(fresh, exp, people["mesa"], accion="conforme")
    derivar(fresh, exp, people["mesa"], "GDUR")
    recibir(fresh, exp, people["gdur"])
    before = Evento.select().count()
    assert fresh.engine.events_for(people["mesa"], refresh(exp)) == []
    with pytest.raises(Conflict, match="solo ella puede devolverlo"):
        fresh.engine.send_event(exp.id, "anulacion", people["mesa"])
    assert Evento.select().count() == before
    step(fresh, exp, people["gdur"], accion="devolver", proveido="No corresponde")
    assert refresh(exp).tarea_actual == "Recepción"


def test_anular_only_withdraws_the_offices_that_have_not_received(fresh, people):
    exp = file_tramite(fresh)
    step(fresh, exp, people["mesa"], accion="conforme")
    derivar(fresh, exp, people["mesa"], "GDUR", "SGAT")
    recibir(fresh, exp, people["gdur"])
    fresh.engine.send_event(exp.id, "anulacion", people["mesa"])
    assert offices_with_tasks(exp) == [("GDUR", "atencion")]
    step(fresh, exp, people["gdur"], accion="atender", respuesta="ok")
    assert refresh(exp).estado == "Atendido"


def test_one_office_returns_while_others_attend(fresh, people):
    exp = file_tramite(fresh)
    step(fresh, exp, people["mesa"], accion="conforme")
    derivar(fresh, exp, people["mesa"], "GDUR", "SGAT")
    recibir(fresh, exp, people["gdur"])
    step(fresh, exp, people["gdur"], accion="devolver", proveido="No es de nuestra competencia")
    assert not refresh(exp).terminado and offices_with_tasks(exp) == [("SGAT", "recibir")]
    recibir(fresh, exp, people["rentas"])
    step(fresh, exp, people["rentas"], accion="atender", respuesta="Nuestra parte está atendida")
    exp = refresh(exp)
    assert exp.tarea_actual == "Recepción" and not exp.terminado  # mesa de partes decides again


def test_state_stays_small_across_many_parallel_rounds(fresh, people):
    exp = file_tramite(fresh)
    step(fresh, exp, people["mesa"], accion="conforme")
    sizes = []
    for _ in range(6):
        derivar(fresh, exp, people["mesa"], "GDUR", "SGAT")
        for name in ("gdur", "rentas"):
            recibir(fresh, exp, people[name])
            step(fresh, exp, people[name], accion="devolver", proveido="Revisar")
        step(fresh, exp, people["mesa"], accion="conforme")
        sizes.append(len(refresh(exp).estado_motor))
    assert max(sizes) < 1.2 * min(sizes), sizes
