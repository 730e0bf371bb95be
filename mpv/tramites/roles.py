"""The role check of the actions that only some roles may use (derivations, the office tray, the process versions,
the audit, the analytics)."""
from __future__ import annotations

from ..engine import Actor
from ..errors import NotAllowed

# The words every refused page has always shown, and the denial's audit row records.
SIN_ACCESO = "Su rol no tiene acceso a esta página."


def exigir_rol(actor: Actor, roles: tuple[str, ...], mensaje: str = SIN_ACCESO) -> Actor:
    """``actor``, when their role is one of ``roles``. :raise NotAllowed: otherwise, saying ``mensaje``."""
    if actor.rol not in roles:
        raise NotAllowed(mensaje)
    return actor
