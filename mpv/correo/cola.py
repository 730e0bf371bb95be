"""The queue of e-mails to citizens as the administrator sees it: the rows by state, newest first, and «Reintentar»
for one that failed or waits for its next attempt (the sending itself is :mod:`mpv.correo.mailer`'s)."""
from __future__ import annotations

import dataclasses

import peewee

from ..engine import Actor
from ..errors import Conflict, NotFound
from ..models import Correo, Expediente
from ..tramites.administracion import auditar, solo_administrador
from .mailer import ESTADOS, contar, en_envio

POR_PAGINA = 50


@dataclasses.dataclass
class Pagina:
    """One page of the queue."""

    estado: str  # "" for every state
    filas: list[tuple[Correo, bool]]  # each row, and whether a sender is sending it right now
    cuentas: dict[str, int]  # rows in each state, whatever the page shows
    antes: int | None  # this page shows the rows before this id (None: the newest)
    siguiente: int | None  # ``antes`` of the next, older page (None: this is the last)


def pagina(services, actor: Actor, estado: str = "", antes: int | None = None,
           por_pagina: int = POR_PAGINA) -> Pagina:
    """The rows in ``estado`` (every state when it is not one of :data:`ESTADOS`) with an id below ``antes``,
    newest first, ``por_pagina`` at most. :raise NotAllowed: for a non-administrator."""
    _puede(actor)
    estado = estado if estado in ESTADOS else ""
    query = (Correo.select(Correo, Expediente.id, Expediente.numero)
             .join(Expediente, peewee.JOIN.LEFT_OUTER, on=(Correo.expediente == Expediente.id))
             .order_by(Correo.id.desc()).limit(por_pagina + 1))
    if estado:
        query = query.where(Correo.estado == estado)
    if antes:
        query = query.where(Correo.id < antes)
    filas = list(query)
    siguiente = filas[por_pagina - 1].id if len(filas) > por_pagina else None
    now = services.clock()
    return Pagina(estado, [(c, en_envio(c, now)) for c in filas[:por_pagina]], contar(), antes, siguiente)


def reintentar(services, actor: Actor, correo_id: int) -> Correo:
    """Make a fallido or waiting row due now (a fallido row gets one more attempt), with its audit row.

    :raise NotFound: no such row. :raise Conflict: it was already sent, or a sender is sending it right now.
    :raise NotAllowed: for a non-administrator.
    """
    _puede(actor)
    now = services.clock()
    with services.db.write():
        correo = services.db.locked(Correo.select().where(Correo.id == correo_id)).first()
        if correo is None:
            raise NotFound(f"No existe el correo N° {correo_id}; vuelva a la lista.")
        if correo.estado == "enviado":
            raise Conflict(f"El correo N° {correo_id} ya se envió; no se vuelve a enviar.")
        if en_envio(correo, now):
            raise Conflict(f"El correo N° {correo_id} se está enviando en este momento; "
                           "actualice la página en un minuto para ver el resultado.")
        Correo.update(estado="pendiente", proximo_intento=now).where(Correo.id == correo_id).execute()
        correo = Correo.get_by_id(correo_id)
        # Reading the expediente here loads it for the caller too.
        numero = f" del expediente {correo.expediente.numero}" if correo.expediente_id else ""
        auditar(services, actor, "correo_reintentado", f"Se programó el reintento del correo N° {correo.id}{numero}.")
    return correo


def _puede(actor: Actor):
    solo_administrador(actor, "ver y reintentar los correos a los ciudadanos")
