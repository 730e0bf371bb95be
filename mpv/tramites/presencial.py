"""A trámite brought on paper (issue 16, item 2): mesa de partes registers it — the citizen's data, the procedure,
the folios and the scanned PDF — into the one register and numbering of the virtual desk, and hands the citizen the
cargo de recepción at once.

The filing is :func:`mpv.tramites.presentacion.presentar` through the face ``presencial`` of
:mod:`mpv.tramites.campos` (what the clerk types from the paper; the e-mail is optional there), with the clerk as
``registrado_por``: the expediente says it came on paper and who registered it (``Expediente.via``,
``Expediente.registrado_por``), and so does the first row of its history (its actor is the clerk, its description
«Trámite presentado en físico en mesa de partes»), as for an escrito brought on paper (:mod:`mpv.tramites.escritos`).

What the clerk hands the citizen is reached by the expediente's código de seguimiento, the citizen's secret key:
only the clerk who has just registered it knows it (it is never shown to staff afterwards), so the copy of the cargo
printed then carries it, and a copy printed later from the seguimiento does not.
"""
from __future__ import annotations

import dataclasses

from .. import history
from ..engine import Actor
from ..errors import NotFound
from ..models import PRESENCIAL, Expediente
from ..storage import Received
from . import hoja_ruta
from .campos import PRESENCIAL as CARA
from .expedientes import por_codigo
from .presentacion import presentar
from .roles import exigir_rol

SOLO_MESA = "Los trámites presentados en físico los registra mesa de partes."


def puede_registrar(actor: Actor):
    """:raise NotAllowed: ``actor`` is not mesa de partes."""
    exigir_rol(actor, ("mesa",), SOLO_MESA)


def registrar(services, actor: Actor, datos: dict, principal: Received | None, anexos: list[Received]) -> Expediente:
    """Mesa de partes registers the trámite brought on paper described by ``datos`` (the fields of the face
    ``presencial``), its scanned main PDF ``principal`` and ``anexos``: numbered from the one register, its process
    started, all or nothing.

    :raise NotAllowed: not mesa de partes (nothing is kept). :raise InvalidInput: as
    :func:`mpv.tramites.presentacion.presentar` (nothing is written, no file is left)."""
    try:
        puede_registrar(actor)
    except BaseException:
        services.storage.discard([r for r in [principal, *anexos] if r is not None])
        raise
    return presentar(services, datos, principal, anexos, ip=actor.ip, cara=CARA, registrado_por=actor)


@dataclasses.dataclass(frozen=True)
class Registrado:
    """What the clerk sees once the trámite is registered: the expediente and its cargo de recepción."""

    expediente: Expediente
    cargo: hoja_ruta.CargoRecepcion


def registrado(services, actor: Actor, codigo: str) -> Registrado:
    """The trámite brought on paper whose código de seguimiento is ``codigo``, as the clerk hands it to the citizen.

    :raise NotAllowed: not mesa de partes. :raise NotFound: no such code, or that trámite was filed online."""
    puede_registrar(actor)
    expediente = por_codigo(codigo)
    if expediente.via != PRESENCIAL:
        raise NotFound(f"El expediente {expediente.numero} se presentó por la mesa de partes virtual: su constancia "
                       "de presentación es su cargo.")
    inicio = next(m for m in history.seguimiento(expediente.id, services.calendario) if m.tipo == "inicio")
    return Registrado(expediente, hoja_ruta.cargo_recepcion(services, expediente, inicio, para_el_ciudadano=True))


def cargo_para_el_ciudadano(services, actor: Actor, codigo: str) -> tuple[str, bytes]:
    """The file name and sealed PDF of the cargo de recepción handed to the citizen (with his código de seguimiento).

    :raise NotAllowed: / :raise NotFound: as :func:`registrado`."""
    return hoja_ruta.documento_cargo_recepcion(services, registrado(services, actor, codigo).cargo)
