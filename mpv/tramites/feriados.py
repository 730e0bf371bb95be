"""The municipality's own non-working days (local and regional holidays, decreed non-working days), kept by the
administrator next to the national holidays the calendar already knows.

Each change re-times, in the same transaction, every running plazo whose window holds the day (rule 4: a deadline
counts business days only, as they are on the day it runs out), writes its ``tipo=admin`` audit row naming the day
and how many timers moved, and refreshes this process's calendar; other processes re-read it within a minute, and
always before firing a timer.
"""
from __future__ import annotations

import dataclasses
from datetime import date, datetime, time, timezone
from typing import NamedTuple

from ..engine import Actor
from ..errors import InvalidInput, NotFound
from ..models import Feriado, Temporizador
from .administracion import REVISE, auditar, solo_administrador, unique_write

TIPOS = {"local": "Feriado local", "regional": "Feriado regional", "no laborable": "Día no laborable"}
NACIONAL = "Feriado nacional"
PRIMER_ANIO, ULTIMO_ANIO = 2000, 2100
FORMATOS = ("%Y-%m-%d", "%d/%m/%Y")  # what a date control sends, and what a person types


class Dia(NamedTuple):
    """A non-working day of the year's list; ``feriado`` is the municipality's own row (None for a national one)."""

    fecha: date
    nombre: str
    tipo: str  # as the list shows it: «Feriado local», «Feriado nacional»…
    feriado: Feriado | None


@dataclasses.dataclass
class Anio:
    """A year's non-working days, by date."""

    anio: int
    dias: list[Dia]


def leer_fecha(texto: str) -> date | None:
    """The date written as 2026-08-15 or 15/08/2026, or None when it is not one (or falls outside the years
    :data:`PRIMER_ANIO`–:data:`ULTIMO_ANIO`)."""
    for pattern in FORMATOS:
        try:
            parsed = datetime.strptime(texto.strip(), pattern).date()
        except ValueError:
            continue
        return parsed if _en_rango(parsed) else None
    return None


def anio_actual(services) -> int:
    """This year, in the municipality's time zone."""
    return services.calendario.fecha_local(services.clock()).year


def del_anio(services, actor: Actor, anio: int | None = None) -> Anio:
    """The non-working days of ``anio`` (this year when None): the municipality's own and the national ones.

    :raise NotAllowed: for a non-administrator.
    """
    _puede(actor)
    anio = anio or anio_actual(services)
    locales = list(Feriado.select().where(Feriado.fecha.between(date(anio, 1, 1), date(anio, 12, 31))))
    propios = {f.fecha for f in locales}
    # The national holidays alone: the calendar's cache may still hold a local day another process deleted.
    nacionales = [Dia(d, nombre, NACIONAL, None)
                  for d, nombre in services.calendario.feriados_nacionales(anio).items() if d not in propios]
    return Anio(anio, sorted([Dia(f.fecha, f.nombre, TIPOS.get(f.tipo, f.tipo), f) for f in locales] + nacionales,
                             key=lambda dia: dia.fecha))


def registrar(services, actor: Actor, fecha: date | None, nombre: str, tipo: str) -> Feriado:
    """Make ``fecha`` a non-working day (``tipo`` one of :data:`TIPOS`); returns the new row.

    :raise InvalidInput: naming each bad field (``fecha``: none, outside the years allowed, already registered
        or a national holiday; ``nombre``; ``tipo``); nothing is written. :raise NotAllowed:
    """
    _puede(actor)
    nombre = nombre.strip()
    campos = {}
    if fecha is None or not _en_rango(fecha):
        campos["fecha"] = (f"Escriba una fecha válida entre los años {PRIMER_ANIO} y {ULTIMO_ANIO}, "
                           "como 15/08/2026.")
    if not nombre or len(nombre) > 200:
        campos["nombre"] = "Escriba el motivo del feriado (hasta 200 caracteres)."
    if tipo not in TIPOS:
        campos["tipo"] = "Elija el tipo de la lista."
    if campos:
        raise InvalidInput(REVISE, campos)
    duplicate = InvalidInput(f"Ya hay un feriado registrado el {fecha:%d/%m/%Y}.",
                             {"fecha": "Esa fecha ya está registrada; elimínela primero si quiere cambiarla."})

    def create() -> Feriado:
        taken = Feriado.get_or_none(Feriado.fecha == fecha)
        if taken is not None:
            raise InvalidInput(f"Ya hay un feriado registrado el {fecha:%d/%m/%Y}: {taken.nombre}.", duplicate.campos)
        nacional = services.calendario.feriados_nacionales(fecha.year).get(fecha)
        if nacional:
            raise InvalidInput(f"El {fecha:%d/%m/%Y} ya es feriado nacional ({nacional}).",
                               {"fecha": "Esa fecha ya es feriado nacional; no hace falta registrarla."})
        feriado = Feriado.create(fecha=fecha, nombre=nombre, tipo=tipo)
        movidos = recalcular_plazos(services, fecha)
        auditar(services, actor, "feriado_registrado", f"Se registró el {fecha:%d/%m/%Y} como día no hábil; "
                f"{_plazos(movidos)}.", f"{TIPOS[tipo]}: {nombre}")
        feriado.plazos_movidos = movidos
        return feriado

    try:
        return unique_write(services.db, create, duplicate)
    finally:
        services.calendario.refresh()  # committed or rolled back, the calendar reads the table again


def eliminar(services, actor: Actor, feriado_id: int) -> Feriado:
    """Make the day of the municipality's holiday ``feriado_id`` a working day again (unless a weekend or a
    national holiday); returns the deleted row. :raise NotFound: / :raise NotAllowed:"""
    _puede(actor)
    with services.db.write():
        feriado = services.db.locked(Feriado.select().where(Feriado.id == feriado_id)).first()
        if feriado is None:
            raise NotFound(f"No existe el feriado N° {feriado_id}; vuelva a la lista y elíjalo de nuevo.")
        Feriado.delete().where(Feriado.id == feriado.id).execute()
        try:
            movidos = recalcular_plazos(services, feriado.fecha)
        finally:
            services.calendario.refresh()
        auditar(services, actor, "feriado_eliminado", f"Se eliminó el feriado del {feriado.fecha:%d/%m/%Y}; "
                f"{_plazos(movidos)}.", f"{TIPOS.get(feriado.tipo, feriado.tipo)}: {feriado.nombre}")
    services.calendario.refresh()
    feriado.plazos_movidos = movidos
    return feriado


def eliminar_dia(services, actor: Actor, fecha: date) -> Feriado:
    """As :func:`eliminar`, for the municipality's holiday on ``fecha`` (what the ``mpv`` command names).

    :raise NotFound: no holiday of the municipality that day. :raise InvalidInput: it is a national holiday.
    :raise NotAllowed:
    """
    _puede(actor)
    feriado = Feriado.get_or_none(Feriado.fecha == fecha)
    if feriado is None:
        nacional = services.calendario.feriados_nacionales(fecha.year).get(fecha)
        if nacional:
            raise InvalidInput(f"El {fecha:%d/%m/%Y} es feriado nacional ({nacional}); no se puede eliminar.")
        raise NotFound(f"No hay un feriado local registrado el {fecha:%d/%m/%Y}; vea «mpv feriados listar "
                       f"--anio {fecha.year}».")
    return eliminar(services, actor, feriado.id)


def recalcular_plazos(services, fecha: date) -> int:
    """Re-time, in the caller's write transaction, every running business-day timer whose window holds ``fecha``
    (it started before that day and ends on it or later), by the calendar as this transaction sees it; return how
    many timers moved. Timers of a suspended plazo have no due time yet: they are timed when their clock resumes."""
    services.calendario.refresh()  # read this transaction's holidays
    inicio = datetime.combine(fecha, time(0), services.calendario.tz).astimezone(timezone.utc)
    afectados = (Temporizador.select(Temporizador.expediente).distinct()
                 .where(Temporizador.desde.is_null(False), Temporizador.desde < fecha, Temporizador.vence > inicio)
                 .order_by(Temporizador.expediente))
    return sum(services.engine.recompute_timers(expediente_id) for (expediente_id,) in afectados.tuples())


def plazos_movidos(feriado: Feriado) -> str:
    """What a registration or removal did to the running plazos, as a sentence."""
    texto = _plazos(getattr(feriado, "plazos_movidos", 0))
    return texto[0].upper() + texto[1:] + "."


def _plazos(movidos: int) -> str:
    if movidos == 0:
        return "ningún plazo en curso cambió"
    return "1 plazo en curso se recalculó" if movidos == 1 else f"{movidos} plazos en curso se recalcularon"


def _puede(actor: Actor):
    solo_administrador(actor, "cambiar los feriados locales")


def _en_rango(fecha: date) -> bool:
    return PRIMER_ANIO <= fecha.year <= ULTIMO_ANIO
