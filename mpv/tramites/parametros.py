"""Horario y corte: the entity-wide settings (the entity's name, office hours, the optional filing cutoff) as the
administrator reads and changes them; :class:`mpv.parametros.Parametros` validates and caches them."""
from __future__ import annotations

from ..engine import Actor
from ..parametros import LABELS
from .administracion import auditar, solo_administrador


def actuales(services, actor: Actor) -> dict[str, str]:
    """Every setting's value (its default when never saved). :raise NotAllowed: for a non-administrator."""
    _puede(actor)
    return services.parametros.all()


def guardar(services, actor: Actor, valores: dict[str, str]) -> list[tuple[str, str, str]]:
    """Save the settings and their audit row in one transaction; returns (key, before, after) of each change.

    :raise InvalidInput: naming each bad field; nothing is written. :raise NotAllowed:
    """
    _puede(actor)
    with services.db.write():
        cambios = services.parametros.update(valores)
        auditar(services, actor, "parametros", "Se cambiaron el horario de atención y la hora de corte.",
                "; ".join(f"{LABELS[key]}: «{antes}» → «{despues}»" for key, antes, despues in cambios)
                or "sin cambios")
    services.parametros.refresh()
    return cambios


def _puede(actor: Actor):
    solo_administrador(actor, "cambiar el horario de atención y la hora de corte")
