"""What the actions of Administración share: only an administrator (or the system, for the ``mpv`` command and
the demo) may act; each change writes its ``tipo=admin`` audit row in the change's own transaction; and a unique
key another request took first becomes a clear message instead of an error page."""
from __future__ import annotations

from typing import Callable, TypeVar

import peewee

from .. import registro
from ..engine import SISTEMA, Actor
from ..errors import InvalidInput
from .roles import exigir_rol

T = TypeVar("T")
REVISE = "Revise los campos marcados."


def solo_administrador(actor: Actor, que: str):
    """:raise NotAllowed: unless ``actor`` is an administrator or the system; ``que`` names the action
    («cambiar las oficinas»)."""
    exigir_rol(actor, ("admin", SISTEMA.rol), f"Solo un administrador puede {que}.")


def auditar(services, actor: Actor, accion: str, descripcion: str, detalle: str = ""):
    """One ``tipo=admin`` row in the audit chain. Call inside the change's ``db.write()``; never pass a password."""
    registro.admin_action(services.db, services.clock(), actor, accion, descripcion, detalle)


def unique_write(db, action: Callable[[], T], duplicate: InvalidInput) -> T:
    """Run ``action`` in one write transaction; a unique-key race another request won becomes ``duplicate``
    (the transaction is rolled back: nothing of ``action`` stays written)."""
    try:
        with db.write():
            return action()
    except peewee.IntegrityError:
        raise duplicate from None
