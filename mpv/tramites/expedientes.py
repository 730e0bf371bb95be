"""Who may see which expediente: staff see the register; an office sees what passed through it."""
from __future__ import annotations

from .. import history
from ..engine import Actor
from ..errors import NotAllowed, NotFound
from .listados import paso_por_oficina
from ..models import Expediente


def visible(actor: Actor, numero: str) -> Expediente:
    """The expediente ``numero`` if ``actor`` may see it.

    :raise NotFound: unknown number. :raise NotAllowed: an office user whose office it never reached.
    """
    expediente = Expediente.por_numero(numero)
    if expediente is None:
        raise NotFound(f"No existe el expediente {numero}. Revise el número e inténtelo otra vez.")
    if actor.rol == "oficina" and not paso_por_oficina(expediente.id, actor.oficina):
        raise NotAllowed(f"El expediente {numero} no pasó por su oficina.")
    return expediente


def por_codigo(codigo: str) -> Expediente:
    """The expediente whose tracking code is ``codigo`` (the citizen's key to it).

    :raise NotFound: the same message for any unknown code (nothing to learn from it)."""
    expediente = Expediente.por_codigo(codigo)
    if expediente is None:
        raise NotFound("No encontramos un trámite con ese código de seguimiento. Revise el código de su constancia.")
    return expediente


def tareas_pendientes(services, actor: Actor, numero: str) -> tuple[Expediente, list]:
    """The expediente and its ready tasks (:class:`mpv.engine.TaskView`), whoever works them."""
    expediente = visible(actor, numero)
    return expediente, services.engine.ready_tasks(expediente)


def seguimiento(services, actor: Actor, numero: str) -> tuple[Expediente, list]:
    """The expediente and its movements (:class:`mpv.history.Movimiento`), as staff see them."""
    expediente = visible(actor, numero)
    return expediente, history.seguimiento(expediente.id, services.calendario)
