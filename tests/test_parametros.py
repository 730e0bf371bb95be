"""Horario y corte (mpv.tramites.parametros): the settings and their audit row saved together; refusals name the
field and write nothing; only an administrator changes them."""
from __future__ import annotations

from datetime import time

import pytest
from helpers import make_user

from mpv.engine import Actor
from mpv.errors import InvalidInput, NotAllowed
from mpv.models import Evento, Parametro
from mpv.parametros import DEFAULTS
from mpv.tramites import parametros

HOURS = {"entidad_nombre": "Municipalidad Distrital de Ejemplo", "horario_inicio": "07:30",
         "horario_fin": "15:30", "corte_presentacion": "17:00", "resumen_hora": "06:30"}


@pytest.fixture
def admin(services) -> Actor:
    return Actor.de_usuario(make_user("admin", "admin"), ip="203.0.113.9")


def written():
    return list(Parametro.select().order_by(Parametro.clave).tuples()), Evento.select().count()


def test_saving_audits_each_change_and_takes_effect_at_once(services, admin):
    assert parametros.actuales(services, admin) == DEFAULTS and services.parametros.cutoff() is None
    cambios = parametros.guardar(services, admin, {**HOURS, "horario_fin": " 15:30 "})
    assert [clave for clave, _, _ in cambios] == list(HOURS)  # the others were not sent: they keep their value
    assert services.parametros.cutoff() == time(17, 0)
    assert parametros.actuales(services, admin) == {**DEFAULTS, **HOURS}
    parametros.guardar(services, admin, {**HOURS, "corte_presentacion": ""})
    assert services.parametros.cutoff() is None
    parametros.guardar(services, admin, {**HOURS, "corte_presentacion": ""})
    rows = list(Evento.select().where(Evento.tipo == "admin").order_by(Evento.seq))
    assert [(r.accion, r.descripcion) for r in rows] == [
        ("parametros", "Se cambiaron el horario de atención y la hora de corte.")] * 3
    assert rows[0].detalle == (
        "Nombre de la entidad: «Municipalidad Distrital (demostración)» → «Municipalidad Distrital de Ejemplo»; "
        "Horario de atención: inicio: «08:00» → «07:30»; Horario de atención: fin: «16:30» → «15:30»; "
        "Hora de corte de la presentación virtual (vacío: sin corte): «» → «17:00»; "
        "Hora del resumen diario a las oficinas: «07:00» → «06:30»")
    assert rows[1].detalle == "Hora de corte de la presentación virtual (vacío: sin corte): «17:00» → «»"
    assert rows[2].detalle == "sin cambios"
    assert (rows[0].actor_nombre, rows[0].rol, rows[0].ip) == ("admin", "admin", "203.0.113.9")


@pytest.mark.parametrize("changes, field, message", [
    ({"horario_inicio": "8 am"}, "horario_inicio", "Escriba una hora como 08:00 o 16:30."),
    ({"corte_presentacion": "25:00"}, "corte_presentacion", "Escriba una hora como 08:00 o 16:30."),
    ({"horario_fin": "07:30"}, "horario_fin", "El fin del horario debe ser posterior al inicio."),
    ({"entidad_nombre": " "}, "entidad_nombre", "Escriba el nombre de la entidad (hasta 200 caracteres)."),
    ({"entidad_sigla": "M D X"}, "entidad_sigla",
     "Escriba la sigla de la entidad: letras y números, hasta 20 caracteres (p. ej. MDX)."),
    ({"formato_numero_documento": "{TIPO} N° {correlativo}-{anio}-{oficina}/{entidad}"}, "formato_numero_documento",
     "«{entidad}» no es una parte del número; use solo {TIPO}, {tipo}, {correlativo}, {anio}, {oficina}, {sigla}."),
    ({"formato_numero_documento": "{TIPO} N° {correlativo:03d}-{oficina}"}, "formato_numero_documento",
     "El formato debe incluir {anio}: sin él, dos documentos podrían tener el mismo número."),
    ({"formato_numero_documento": "{TIPO} N° {correlativo:03x-{anio}"}, "formato_numero_documento",
     "El formato no se puede usar: escriba las partes entre llaves, como "
     "{TIPO} N° {correlativo:03d}-{anio}-{oficina}/{sigla}."),
    ({"formato_numero_documento": "{TIPO} N° {correlativo:03s}-{anio}-{oficina}"}, "formato_numero_documento",
     "El formato no se puede usar: escriba las partes entre llaves, como "
     "{TIPO} N° {correlativo:03d}-{anio}-{oficina}/{sigla}."),
])
def test_bad_values_are_refused_naming_the_field_and_nothing_is_written(services, admin, changes, field, message):
    before = written()
    with pytest.raises(InvalidInput) as raised:
        parametros.guardar(services, admin, {**HOURS, **changes})
    assert raised.value.campos == {field: message}
    assert written() == before and services.parametros.get("horario_inicio") == "08:00"


@pytest.mark.parametrize("rol", ["mesa", "gdur", "auditor"])
def test_only_an_administrator_reads_or_changes_them(services, staff, rol):
    before = written()
    with pytest.raises(NotAllowed):
        parametros.guardar(services, staff[rol], HOURS)
    with pytest.raises(NotAllowed):
        parametros.actuales(services, staff[rol])
    assert written() == before


def test_the_document_number_format_and_sigla_are_saved_and_audited(services, admin):
    parametros.guardar(services, admin, {**HOURS, "entidad_sigla": "MPL", "formato_numero_documento":
                                         "{tipo} {correlativo:04d}-{anio}-{oficina}-{sigla}"})
    assert services.parametros.get("entidad_sigla") == "MPL"
    assert services.parametros.get("formato_numero_documento") == "{tipo} {correlativo:04d}-{anio}-{oficina}-{sigla}"
    detalle = Evento.select().where(Evento.tipo == "admin").order_by(Evento.seq.desc()).first().detalle
    assert "Sigla de la entidad: «MDX» → «MPL»" in detalle
