"""The legal clocks on real dates (issue 13): the procedure's deadline from the TUPA counted from the filing date,
suspended while the filing is observed, silencio positivo and negativo at its end, the same-day reception of
art. 143, and a calendar that changes while plazos run. Every expected date here is written out by hand from the
2026–2027 calendar (8, 9 and 25 December, 1 January and Holy Thursday and Friday 2027 are national holidays)."""
from __future__ import annotations

import json

import pytest
from helpers import OtroProceso, derivar, file_tramite, lima, recibir, step

from mpv.engine import Actor
from mpv.models import Correo, Evento, Expediente, Oficina, Procedimiento, Temporizador
from mpv.tramites import feriados

pytestmark = pytest.mark.fecha_fija  # each test is about its own real dates


@pytest.fixture
def tupa(services):
    gdur = Oficina.get(Oficina.codigo == "GDUR")
    def alta(codigo, calificacion, dias):
        return Procedimiento.create(codigo=codigo, nombre=f"Procedimiento {codigo}", calificacion=calificacion,
                                    plazo_dias=dias, requisitos=json.dumps(["Solicitud firmada"]), oficina=gdur,
                                    base_legal="Ordenanza municipal")
    return {"positivo30": alta("P30", "positivo", 30), "negativo30": alta("N30", "negativo", 30),
            "positivo3": alta("P3", "positivo", 3), "negativo3": alta("N3", "negativo", 3),
            "automatica": alta("AUTO", "automatica", None)}


def presentar(services, clock, procedimiento, cuando):
    clock.set(cuando)
    exp = file_tramite(services, procedimiento=procedimiento.codigo, requisitos=["1"])
    return Expediente.get_by_id(exp.id)


def refresh(exp):
    return Expediente.get_by_id(exp.id)


def ciudadano(exp):
    return Actor.ciudadano(exp)


def timer(exp, nombre):
    return Temporizador.get((Temporizador.expediente == exp.id) & (Temporizador.nombre == nombre)).vence


def test_the_procedure_deadline_counts_30_business_days_from_the_filing_date(services, clock, tupa):
    exp = presentar(services, clock, tupa["positivo30"], lima(2026, 12, 7, 10, 0))
    # Tue 8 and Wed 9 Dec, Fri 25 Dec and Fri 1 Jan are holidays: the 30th business day is Friday 22 January.
    assert exp.fecha_presentacion.isoformat() == "2026-12-07" and exp.procedimiento.codigo == "P30"
    assert exp.plazo_vence == lima(2027, 1, 23, 0, 0) and not exp.plazo_suspendido
    assert timer(exp, "Plazo del procedimiento vencido") == lima(2027, 1, 23, 0, 0)


def test_a_saturday_filing_counts_from_monday(services, clock, tupa):
    exp = presentar(services, clock, tupa["positivo30"], lima(2026, 12, 5, 16, 0))
    assert exp.fecha_presentacion.isoformat() == "2026-12-07"
    assert exp.plazo_vence == lima(2027, 1, 23, 0, 0)


def test_the_procedure_deadline_skips_holy_week(services, clock, tupa):
    exp = presentar(services, clock, tupa["positivo30"], lima(2027, 3, 1, 10, 0))
    # Thursday 25 and Friday 26 March 2027 are holidays: the 30th business day is Wednesday 14 April.
    assert exp.plazo_vence == lima(2027, 4, 15, 0, 0)


def test_an_observation_suspends_the_deadline_and_the_correction_resumes_it(services, clock, staff, tupa):
    exp = presentar(services, clock, tupa["positivo30"], lima(2026, 12, 7, 10, 0))
    # Day 1 is Thursday 10 December, day 2 Friday 11, day 3 Monday 14: observed that day.
    clock.set(lima(2026, 12, 14, 11, 0))
    step(services, exp, staff["mesa"], accion="observar", observacion="Falta la firma")
    exp = refresh(exp)
    assert exp.plazo_suspendido and exp.plazo_vence is None
    assert not Temporizador.select().where((Temporizador.expediente == exp.id)
                                           & (Temporizador.nombre == "Plazo del procedimiento vencido")).exists()
    # Corrected two business days later (Wednesday 16): the deadline moves by exactly those two days.
    clock.set(lima(2026, 12, 16, 10, 0))
    step(services, exp, ciudadano(exp), descripcion="Adjunto la solicitud firmada")
    exp = refresh(exp)
    assert not exp.plazo_suspendido and exp.plazo_vence == lima(2027, 1, 27, 0, 0)


def test_the_deadline_does_not_run_out_while_the_filing_is_observed(services, clock, staff, tupa):
    exp = presentar(services, clock, tupa["positivo3"], lima(2026, 12, 7, 10, 0))
    assert exp.plazo_vence == lima(2026, 12, 15, 0, 0)  # Thursday 10, Friday 11, Monday 14
    clock.set(lima(2026, 12, 11, 11, 0))  # observed on day 2; the subsanación runs to the end of Tuesday 15
    step(services, exp, staff["mesa"], accion="observar", observacion="Falta la firma")
    clock.set(lima(2026, 12, 15, 9, 0))  # past the deadline as it stood, while observed: nothing fires
    assert services.engine.fire_due_timers() == 0
    assert refresh(exp).silencio == "" and refresh(exp).plazo_suspendido
    clock.set(lima(2026, 12, 15, 10, 0))
    step(services, exp, ciudadano(exp), descripcion="Adjunto la solicitud firmada")
    # One business day was left (day 3): it is Wednesday 16, after the correction of Tuesday 15.
    assert refresh(exp).plazo_vence == lima(2026, 12, 17, 0, 0)
    assert timer(exp, "Plazo del procedimiento vencido") == lima(2026, 12, 17, 0, 0)


def test_the_observed_filings_two_days_follow_a_dia_no_laborable_decreed_meanwhile(services, clock, staff):
    """The issue's own case: observed on Friday 4 December 2026; on Saturday 5 the government decrees Monday 7
    non-working. The subsanación then ends at Saturday 12 December 00:00, not Friday 11."""
    clock.set(lima(2026, 12, 4, 9, 30))
    exp = file_tramite(services)
    clock.set(lima(2026, 12, 4, 11, 0))
    step(services, exp, staff["mesa"], accion="observar", observacion="Falta la firma")
    assert timer(exp, "Plazo de subsanación vencido") == lima(2026, 12, 11, 0, 0)
    clock.set(lima(2026, 12, 5, 8, 0))
    admin = Actor(rol="admin", nombre="admin", usuario_id=None, oficina="", ip="127.0.0.1")
    feriado = feriados.registrar(services, admin, lima(2026, 12, 7, 0, 0).date(), "Día no laborable (D.S.)",
                                 "no laborable")
    assert timer(exp, "Plazo de subsanación vencido") == lima(2026, 12, 12, 0, 0)
    assert refresh(exp).vence == lima(2026, 12, 12, 0, 0)
    fila = Evento.select().where(Evento.accion == "feriado_registrado").get()
    assert "1 plazo en curso se recalculó" in fila.descripcion
    clock.set(lima(2026, 12, 11, 0, 0, 30))
    services.engine.fire_due_timers()
    assert refresh(exp).estado == "Observado"  # not declared No presentado a day early
    clock.set(lima(2026, 12, 11, 12, 0))
    feriados.eliminar(services, admin, feriado.id)  # taken back: the plazo is Friday's again, and over
    assert timer(exp, "Plazo de subsanación vencido") == lima(2026, 12, 11, 0, 0)
    services.engine.fire_due_timers()
    assert refresh(exp).estado == "No presentado"


def test_a_day_added_moves_each_running_plazo_once_and_removed_moves_it_back(services, settings, clock, staff, tupa):
    clock.set(lima(2026, 12, 4, 9, 30))
    procedimiento = presentar(services, clock, tupa["positivo30"], lima(2026, 12, 4, 9, 30))
    observado = file_tramite(services)
    derivado = file_tramite(services)
    clock.set(lima(2026, 12, 4, 11, 0))
    step(services, observado, staff["mesa"], accion="observar", observacion="Falta la firma")
    step(services, derivado, staff["mesa"], accion="conforme")
    derivar(services, derivado, staff["mesa"], "GDUR", plazo_dias=7)
    before = {"procedimiento": lima(2027, 1, 22, 0, 0), "subsanacion": lima(2026, 12, 11, 0, 0),
              "oficina": lima(2026, 12, 18, 0, 0)}
    after = {"procedimiento": lima(2027, 1, 23, 0, 0), "subsanacion": lima(2026, 12, 12, 0, 0),
             "oficina": lima(2026, 12, 19, 0, 0)}

    def dues():
        return {"procedimiento": timer(procedimiento, "Plazo del procedimiento vencido"),
                "subsanacion": timer(observado, "Plazo de subsanación vencido"),
                "oficina": timer(derivado, "Plazo de atención vencido")}

    assert dues() == before
    clock.set(lima(2026, 12, 5, 8, 0))
    admin = Actor(rol="admin", nombre="admin", usuario_id=None, oficina="", ip="127.0.0.1")
    feriado = feriados.registrar(services, admin, lima(2026, 12, 10, 0, 0).date(), "Día no laborable", "no laborable")
    assert dues() == after and refresh(procedimiento).plazo_vence == after["procedimiento"]
    assert "3 plazos en curso se recalcularon" in Evento.select().where(Evento.accion == "feriado_registrado").get().descripcion
    feriados.eliminar(services, admin, feriado.id)
    assert dues() == before
    feriado = feriados.registrar(services, admin, lima(2026, 12, 10, 0, 0).date(), "Día no laborable", "no laborable")
    assert dues() == after

    # Three processes poll, each with its own calendar: at the old due times nothing fires, at the new ones each
    # timer fires exactly once.
    procesos = [OtroProceso(settings, clock()) for _ in range(3)]
    try:
        def poll_all():
            for fired_now in [p.disparar(clock()) for p in procesos]:
                fired_now.result(timeout=60)

        def fired(exp, nombre):
            return Evento.select().where((Evento.expediente == exp.id) & (Evento.tipo == "temporizador")
                                         & (Evento.descripcion == nombre)).count()

        clock.set(lima(2026, 12, 11, 0, 0, 30))
        poll_all()
        assert fired(observado, "Plazo de subsanación vencido") == 0 and refresh(observado).estado == "Observado"
        clock.set(lima(2026, 12, 12, 0, 0, 0))
        poll_all()
        poll_all()
        assert fired(observado, "Plazo de subsanación vencido") == 1 and refresh(observado).estado == "No presentado"
        clock.set(lima(2026, 12, 18, 0, 0, 30))
        poll_all()
        assert fired(derivado, "Plazo de atención vencido") == 0 and not refresh(derivado).vencido
        clock.set(lima(2026, 12, 19, 0, 0, 0))
        poll_all()
        poll_all()
        assert fired(derivado, "Plazo de atención vencido") == 1 and refresh(derivado).vencido
    finally:
        for p in procesos:
            p.close()


@pytest.mark.parametrize("clave, silencio, correo", [("positivo3", "positivo", "silencio_positivo"),
                                                     ("negativo3", "negativo", "silencio_negativo")])
def test_silencio_applies_exactly_at_the_deadline(services, clock, tupa, clave, silencio, correo):
    exp = presentar(services, clock, tupa[clave], lima(2026, 12, 7, 10, 0))
    # Three business days: Thursday 10, Friday 11, Monday 14; the plazo is over at Tuesday 15, 00:00.
    assert exp.plazo_vence == lima(2026, 12, 15, 0, 0)
    clock.set(lima(2026, 12, 14, 23, 59, 59))
    services.engine.fire_due_timers()
    assert refresh(exp).silencio == ""
    clock.set(lima(2026, 12, 15, 0, 0, 0))
    services.engine.fire_due_timers()
    exp = refresh(exp)
    assert exp.silencio == silencio and exp.plazo_vence == lima(2026, 12, 15, 0, 0) and not exp.terminado
    assert Correo.select().where((Correo.expediente == exp.id) & (Correo.tipo == correo)).count() == 1
    services.engine.fire_due_timers()
    assert Correo.select().where((Correo.expediente == exp.id) & (Correo.tipo == correo)).count() == 1


def test_an_answer_one_second_before_the_deadline_ends_the_clock(services, clock, staff, tupa):
    exp = presentar(services, clock, tupa["positivo3"], lima(2026, 12, 7, 10, 0))
    clock.set(lima(2026, 12, 14, 23, 59, 59))
    step(services, exp, staff["mesa"], accion="conforme")
    derivar(services, exp, staff["mesa"], "GDUR")
    recibir(services, exp, staff["gdur"])
    step(services, exp, staff["gdur"], accion="atender", respuesta="Se aprueba lo solicitado")
    exp = refresh(exp)
    assert exp.terminado and exp.estado == "Atendido"
    assert not Temporizador.select().where(Temporizador.expediente == exp.id).exists()
    clock.set(lima(2026, 12, 15, 0, 0, 1))
    services.engine.fire_due_timers()
    assert refresh(exp).silencio == ""


def test_aprobacion_automatica_is_approved_at_filing(services, clock, tupa):
    exp = presentar(services, clock, tupa["automatica"], lima(2026, 12, 7, 10, 0))
    assert exp.silencio == "automatica" and exp.plazo_vence is None


def test_a_documento_simple_has_no_procedure_deadline(services, clock):
    clock.set(lima(2026, 12, 7, 10, 0))
    exp = refresh(file_tramite(services))
    assert exp.procedimiento is None and exp.plazo_vence is None and exp.silencio == ""


def test_a_filing_not_derived_the_day_it_was_received_is_vencido_at_midnight(services, clock, staff):
    clock.set(lima(2026, 12, 7, 8, 15))
    exp = file_tramite(services)
    clock.set(lima(2026, 12, 7, 9, 0))
    step(services, exp, staff["mesa"], accion="conforme")  # received at 09:00, derivation pending
    assert refresh(exp).vence == lima(2026, 12, 8, 0, 0)
    clock.set(lima(2026, 12, 7, 23, 59, 59))
    services.engine.fire_due_timers()
    assert not refresh(exp).vencido
    clock.set(lima(2026, 12, 8, 0, 0, 0))
    services.engine.fire_due_timers()
    exp = refresh(exp)
    assert exp.vencido and exp.tarea_actual == "Derivación"
    assert Evento.select().where((Evento.expediente == exp.id)
                                 & (Evento.descripcion == "Plazo de derivación vencido")).count() == 1
