"""The daily digest to staff (issue 13 item 7): each active office with «Enviar resumen diario» on
(``Oficina.alertas``) gets, on business days from the hour of the Parámetro ``resumen_hora`` (07:00 Lima by
default), one e-mail per active user of the office with an address, listing its expedientes vencidos and por
vencer. The figures are the home page's, counted by the same function (:func:`mpv.tramites.listados.cifras` over
:func:`mpv.tramites.listados.filtros_plazo`), within what waits in the office; for mesa de partes, what waits in
mesa de partes (its tray: «ubicación: en mesa de partes»).

Exactly once per office and day, whatever the number of processes: the :class:`Resumen` row (unique office + day)
and the office's Correo rows are written in one transaction. A process that comes second skips the offices it
sees done, or hits the unique key and rolls back that office's transaction, queueing nothing. An office is looked at once a day: with nothing to report it
gets its Resumen row and no e-mail. The e-mails are rendered when sent (:mod:`mpv.correo.mensajes`), with the
figures of that moment.
"""
from __future__ import annotations

import dataclasses
from datetime import date, datetime

import peewee

from ..models import Correo, Oficina, Resumen, Usuario
from . import listados
from .listados import Filtro, Hoy, alcance

TIPO = "resumen_diario"  # the Correo rows' tipo
LIMITE = 50  # rows of each list in the e-mail; the figures count them all and the link opens the whole list


@dataclasses.dataclass
class Pendientes:
    """What an office has running late at a moment: the figures, the first rows of each list, and the query
    string of /tramites that opens each whole list."""

    oficina: Oficina
    hoy: Hoy
    cifras: dict[str, int]  # vencidos, por_vencer
    filas: dict[str, list[dict]]  # the rows as Trámites recibidos lists them (numero, asunto, vence…)
    consultas: dict[str, str]

    @property
    def total(self) -> int:
        return sum(self.cifras.values())


@dataclasses.dataclass
class Envio:
    """What one call of :func:`enviar_resumenes` did."""

    fecha: date
    motivo: str  # why no office was looked at ("" when they were)
    enviados: list[tuple[Pendientes, int]]  # each digest this call queued, and how many e-mails


def filtros(oficina: Oficina) -> tuple[dict[str, Filtro], int | None]:
    """The digest's lists for ``oficina`` and the office they are narrowed to (:func:`listados.alcance`): for
    mesa de partes, what waits in its tray (by ubicación, so that its staff's link opens the same list)."""
    plazos = listados.filtros_plazo()
    if oficina.es_mesa_partes:
        return {clave: dataclasses.replace(f, ubicacion="mesa") for clave, f in plazos.items()}, None
    return plazos, oficina.id


def pendientes(services, oficina: Oficina, ahora: datetime) -> Pendientes:
    """The expedientes vencidos and por vencer that wait in ``oficina`` at ``ahora``, as its home page counts them."""
    calendario = services.calendario
    hoy = Hoy.segun(calendario, ahora)
    listas, oficina_id = filtros(oficina)
    cifras = listados.cifras(listas, oficina_id, hoy, calendario.tz)
    filas = {clave: listados.tramites(alcance(f, oficina_id), calendario.tz, hoy=hoy, limite=LIMITE).filas
             if cifras[clave] else [] for clave, f in listas.items()}
    return Pendientes(oficina, hoy, cifras, filas, {clave: listados.consulta(f) for clave, f in listas.items()})


def enviar_resumenes(services, forzar: bool = False) -> Envio:
    """Queue today's digest of each active office with alertas on that has none yet (see the module docstring).

    Nothing happens on a weekend or holiday, or before the hour of ``resumen_hora``, unless ``forzar``; even
    then an office never gets a second digest the same day.
    """
    ahora = services.clock()
    calendario = services.calendario
    fecha = calendario.fecha_local(ahora)
    if not forzar and not calendario.es_habil(fecha):
        return Envio(fecha, f"el {fecha:%d/%m/%Y} no es día hábil", [])
    hora = services.parametros.hora_resumen()
    if not forzar and ahora.astimezone(calendario.tz).time() < hora:
        return Envio(fecha, f"el resumen sale desde las {hora:%H:%M}", [])
    hechas = {oficina_id for (oficina_id,) in Resumen.select(Resumen.oficina).where(Resumen.fecha == fecha).tuples()}
    # A list, not a cursor left open across the writes below: on SQLite an open read would pin a snapshot that
    # another process's write makes stale, and this one's BEGIN IMMEDIATE would fail at once instead of waiting.
    oficinas = list(Oficina.select().where(Oficina.activa == True, Oficina.alertas == True)  # noqa: E712
                    .order_by(Oficina.codigo))
    enviados = []
    for oficina in oficinas:
        if oficina.id not in hechas:
            enviado = _enviar(services, oficina, fecha, ahora)
            if enviado is not None:
                enviados.append(enviado)
    return Envio(fecha, "", enviados)


def _enviar(services, oficina: Oficina, fecha: date, ahora: datetime) -> tuple[Pendientes, int] | None:
    """Write the office's Resumen row for ``fecha`` and queue its e-mails, in one transaction; None when another
    process did it first, or when there is nothing to report."""
    correos = Usuario.correos_de([oficina.id])
    resumen = pendientes(services, oficina, ahora) if correos else None
    enviar = resumen is not None and resumen.total > 0
    try:
        with services.db.write():
            row = Resumen.create(oficina=oficina.id, fecha=fecha, creado_en=ahora)
            if enviar:
                Correo.insert_many([{"tipo": TIPO, "destinatario": email, "resumen": row.id, "proximo_intento": ahora,
                                     "creado_en": ahora} for email in correos]).execute()
    except peewee.IntegrityError:
        return None  # the unique (oficina, fecha): another process wrote it since this one looked
    return (resumen, len(correos)) if enviar else None
