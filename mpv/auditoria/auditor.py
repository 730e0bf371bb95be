"""What the auditor does: read the register of expedientes, an expediente's complete history and the global
log of Evento rows, each on a page or as CSV, with the chain's verification on every page.

Who reads: the auditor and the administrator. The analyst does not: the log holds client addresses and the
names tried in failed logins (personal data, Ley 29733), and the analyst's work needs the process figures of
the analytics pages, not who did what from where. Each action checks the reader's role, then reads.
"""
from __future__ import annotations

import dataclasses

from ..engine import Actor
from ..models import Evento, Expediente, Oficina, TipoDocumento
from ..tramites import expedientes, listados
from ..tramites.roles import exigir_rol
from . import export
from .queries import (FiltroEventos, Resultado, VerificacionCadena, eventos, historial, lotes_eventos,
                      lotes_expedientes, payload_legible)

LECTORES = ("auditor", "admin")


@dataclasses.dataclass
class Registro:
    """A page of the register of expedientes for a filter, and the choices of the filter's fields."""

    pagina: listados.Pagina
    estados: list[str]
    oficinas: list[Oficina]
    tipos: list[TipoDocumento]


@dataclasses.dataclass
class Historial:
    """Every Evento of one expediente in chain order, each with its submitted form as indented JSON."""

    expediente: Expediente
    filas: list[tuple[Evento, str]]
    oficinas: dict[str, str]  # office code → name


@dataclasses.dataclass
class Bitacora:
    """A page of the global log for a filter (its expediente found by number), and what was wrong in it."""

    filtro: FiltroEventos
    pagina: listados.Pagina
    errores: dict[str, str]


def lector(actor: Actor) -> Actor:
    """``actor``, when they may read the audit. :raise NotAllowed: any role but auditor and administrator."""
    return exigir_rol(actor, LECTORES)


def verificar_cadena(actor: Actor, cadena: VerificacionCadena, completa: bool = False) -> Resultado:
    """The chain's verification each audit page shows (``completa``: walk the whole chain now)."""
    lector(actor)
    return cadena.resultado(completa=completa)


def ver_expedientes(services, actor: Actor, filtro: listados.Filtro) -> Registro:
    """A page of every expediente for ``filtro``. :raise NotAllowed:"""
    lector(actor)
    return Registro(listados.tramites(filtro, services.calendario.tz), services.definitions.active().estados(),
                    list(Oficina.select().order_by(Oficina.nombre)),
                    list(TipoDocumento.select().order_by(TipoDocumento.nombre)))


def exportar_expedientes(services, actor: Actor, filtro: listados.Filtro) -> export.Exportacion:
    """Every expediente for ``filtro`` as CSV, read in batches while it is sent. :raise NotAllowed:"""
    lector(actor)
    tz = services.calendario.tz
    return export.Exportacion(f"expedientes-{_hoy(services)}.csv",
                              export.expedientes(lotes_expedientes(filtro, tz), tz))


def ver_historial(actor: Actor, numero: str) -> Historial:
    """An expediente's complete history. :raise NotFound: an unknown number. :raise NotAllowed:"""
    lector(actor)
    expediente = expedientes.visible(actor, numero)
    filas = [(row, payload_legible(row.payload)) for row in historial(expediente.id)]
    return Historial(expediente, filas, Oficina.nombres())


def exportar_historial(services, actor: Actor, numero: str) -> export.Exportacion:
    """An expediente's complete history as CSV, in chain order. :raise NotFound: / :raise NotAllowed:"""
    lector(actor)
    expediente = expedientes.visible(actor, numero)
    tz = services.calendario.tz
    return export.Exportacion(f"historial-{expediente.numero}.csv", export.eventos(
        lotes_eventos(FiltroEventos(expediente_id=expediente.id), tz, cadena=True), tz))


def ver_eventos(services, actor: Actor, filtro: FiltroEventos, expediente: str = "") -> Bitacora:
    """A page of the global log for ``filtro`` and the expediente numbered ``expediente`` (if given; an
    unknown number is named in the errors and matches nothing). :raise NotAllowed:"""
    lector(actor)
    filtro, errores = _del_expediente(filtro, expediente)
    return Bitacora(filtro, eventos(filtro, services.calendario.tz), errores)


def exportar_eventos(services, actor: Actor, filtro: FiltroEventos, expediente: str = "") -> export.Exportacion:
    """Every row of the global log for the filter (as :func:`ver_eventos`, from the first) as CSV, newest first.

    :raise NotAllowed:"""
    lector(actor)
    filtro, _ = _del_expediente(dataclasses.replace(filtro, cursor=""), expediente)
    tz = services.calendario.tz
    return export.Exportacion(f"eventos-{_hoy(services)}.csv", export.eventos(lotes_eventos(filtro, tz), tz))


def _del_expediente(filtro: FiltroEventos, numero: str) -> tuple[FiltroEventos, dict[str, str]]:
    """``filtro`` narrowed to the expediente ``numero`` (none when blank); an unknown one matches nothing."""
    numero = numero.strip()
    if not numero:
        return filtro, {}
    found = Expediente.por_numero(numero[:16])
    if found is None:
        return dataclasses.replace(filtro, expediente_id=-1), {"expediente": f"No existe el expediente {numero}."}
    return dataclasses.replace(filtro, expediente_id=found.id), {}


def _hoy(services) -> str:
    """Today in Lima by the services' clock, for the name of an export."""
    return services.calendario.fecha_local(services.clock()).isoformat()
