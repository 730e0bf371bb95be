"""The municipality's own non-working days (mpv.tramites.feriados): the year's list beside the national holidays,
registering and deleting one with its audit row and the calendar refreshed at once; refusals write nothing."""
from __future__ import annotations

from datetime import date

import pytest
from helpers import make_user

from mpv.engine import Actor
from mpv.errors import InvalidInput, NotAllowed, NotFound
from mpv.models import Evento, Feriado
from mpv.tramites import feriados

MARTES = date(2026, 3, 3)


@pytest.fixture
def admin(services) -> Actor:
    return Actor.de_usuario(make_user("admin", "admin"), ip="203.0.113.9")


def admin_rows():
    return list(Evento.select().where(Evento.tipo == "admin").order_by(Evento.seq))


def refused(error, action, *args):
    """The ``error`` that ``action`` raises; nothing written meanwhile."""
    before = (list(Feriado.select().order_by(Feriado.id).dicts()), Evento.select().count())
    with pytest.raises(error) as raised:
        action(*args)
    assert (list(Feriado.select().order_by(Feriado.id).dicts()), Evento.select().count()) == before
    return raised.value


def test_a_registered_day_stops_being_a_business_day_at_once_and_is_audited(services, admin):
    assert services.calendario.es_habil(MARTES)
    feriado = feriados.registrar(services, admin, MARTES, " Aniversario del distrito ", "local")
    assert (feriado.fecha, feriado.nombre, feriado.tipo) == (MARTES, "Aniversario del distrito", "local")
    assert not services.calendario.es_habil(MARTES)
    assert services.calendario.siguiente_habil(date(2026, 3, 2)) == date(2026, 3, 4)

    eliminado = feriados.eliminar(services, admin, feriado.id)
    assert eliminado.fecha == MARTES and Feriado.select().count() == 0
    assert services.calendario.es_habil(MARTES)
    assert [(r.accion, r.descripcion, r.detalle, r.actor_nombre, r.ip) for r in admin_rows()] == [
        ("feriado_registrado", "Se registró el 03/03/2026 como día no hábil; ningún plazo en curso cambió.",
         "Feriado local: Aniversario del distrito", "admin", "203.0.113.9"),
        ("feriado_eliminado", "Se eliminó el feriado del 03/03/2026; ningún plazo en curso cambió.",
         "Feriado local: Aniversario del distrito", "admin", "203.0.113.9"),
    ]


def test_the_years_list_holds_its_own_days_and_the_national_ones_by_date(services, admin):
    Feriado.create(fecha=date(2026, 9, 24), nombre="Día de la Virgen de las Mercedes", tipo="regional")
    anio = feriados.del_anio(services, admin, 2026)
    assert anio.anio == 2026 and [d.fecha for d in anio.dias] == sorted(d.fecha for d in anio.dias)
    por_fecha = {d.fecha: d for d in anio.dias}
    assert por_fecha[date(2026, 7, 28)].tipo == feriados.NACIONAL and por_fecha[date(2026, 7, 28)].feriado is None
    regional = por_fecha[date(2026, 9, 24)]
    assert (regional.nombre, regional.tipo, regional.feriado.tipo) == (
        "Día de la Virgen de las Mercedes", "Feriado regional", "regional")
    assert date(2026, 9, 24) not in {d.fecha for d in feriados.del_anio(services, admin, 2027).dias}
    assert feriados.del_anio(services, admin).anio == services.calendario.fecha_local(services.clock()).year


@pytest.mark.parametrize("fecha, nombre, tipo, campos", [
    (None, "Sin fecha", "local", {"fecha": "Escriba una fecha válida entre los años 2000 y 2100, como 15/08/2026."}),
    (date(1999, 6, 1), "Muy antigua", "local", {"fecha": "Escriba una fecha válida"}),
    (date(2026, 6, 1), " ", "local", {"nombre": "Escriba el motivo del feriado (hasta 200 caracteres)."}),
    (date(2026, 6, 1), "x" * 201, "local", {"nombre": "Escriba el motivo del feriado"}),
    (date(2026, 6, 1), "Raro", "nacional", {"tipo": "Elija el tipo de la lista."}),
    (None, "", "", {"fecha": "Escriba una fecha válida", "nombre": "Escriba el motivo", "tipo": "Elija el tipo"}),
    (date(2026, 5, 15), "Otra fiesta", "local",
     {"fecha": "Esa fecha ya está registrada; elimínela primero si quiere cambiarla."}),
    (date(2026, 7, 28), "Fiestas Patrias", "local",
     {"fecha": "Esa fecha ya es feriado nacional; no hace falta registrarla."}),
])
def test_registering_refuses_bad_input_naming_the_field(services, admin, fecha, nombre, tipo, campos):
    Feriado.create(fecha=date(2026, 5, 15), nombre="Aniversario del distrito", tipo="local")
    error = refused(InvalidInput, feriados.registrar, services, admin, fecha, nombre, tipo)
    assert error.campos.keys() == campos.keys()
    for field, message in campos.items():
        assert error.campos[field].startswith(message), error.campos
    assert services.calendario.es_habil(date(2026, 6, 1))


def test_the_refusals_say_which_day_is_taken_and_by_what(services, admin):
    Feriado.create(fecha=date(2026, 5, 15), nombre="Aniversario del distrito", tipo="local")
    error = refused(InvalidInput, feriados.registrar, services, admin, date(2026, 5, 15), "Otra", "local")
    assert error.message == "Ya hay un feriado registrado el 15/05/2026: Aniversario del distrito."
    error = refused(InvalidInput, feriados.registrar, services, admin, date(2026, 7, 28), "Otra", "local")
    assert error.message.startswith("El 28/07/2026 ya es feriado nacional (")


def test_deleting_an_unknown_day_is_not_found(services, admin):
    error = refused(NotFound, feriados.eliminar, services, admin, 9999)
    assert error.message == "No existe el feriado N° 9999; vuelva a la lista y elíjalo de nuevo."


@pytest.mark.parametrize("rol", ["mesa", "gdur", "auditor"])
def test_only_an_administrator_keeps_the_holidays(services, staff, rol):
    feriado = Feriado.create(fecha=MARTES, nombre="Aniversario del distrito", tipo="local")
    services.calendario.refresh()
    refused(NotAllowed, feriados.registrar, services, staff[rol], date(2026, 6, 1), "Otro", "local")
    refused(NotAllowed, feriados.eliminar, services, staff[rol], feriado.id)
    with pytest.raises(NotAllowed):
        feriados.del_anio(services, staff[rol], 2026)
    assert not services.calendario.es_habil(MARTES) and services.calendario.es_habil(date(2026, 6, 1))


@pytest.mark.parametrize("texto, fecha", [
    ("2026-08-15", date(2026, 8, 15)), ("15/08/2026", date(2026, 8, 15)), (" 20/01/2027 ", date(2027, 1, 20)),
    ("31/02/2026", None), ("1999-12-31", None), ("2101-01-01", None), ("mañana", None), ("", None),
])
def test_dates_are_read_day_first_or_as_a_date_control_sends_them(texto, fecha):
    assert feriados.leer_fecha(texto) == fecha
