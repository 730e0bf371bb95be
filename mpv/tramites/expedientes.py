"""What staff may see of an expediente: who may see which one (staff see the register; an office sees what
passed through it), its data with the sender and the files (Figs. 4–6), its seguimiento with the path drawn
on the diagram (Fig. 7), and one attached file for download."""
from __future__ import annotations

import dataclasses
from pathlib import Path

import peewee as pw

from .. import history
from ..engine import SISTEMA, Actor
from ..engine.path import recorrido
from ..errors import NotAllowed, NotFound
from .roles import exigir_rol
from ..models import (Adjunto, AnexoDocumento, Copia, DocumentoOficial, Evento, Expediente, FirmaAdjunto, Oficina,
                      Remitente, Tarea)
from ..pdf import pdf_name
from ..prepared import PreparedQuery

# The roles of the municipality's staff: they read the register (an office, what reached it).
PERSONAL = ("mesa", "oficina", "auditor", "analista", "admin")
SIN_OFICINA = "Su usuario no tiene una oficina asignada; pida al administrador que le asigne una."
# Every staff request on an expediente starts here: peewee wrote this SQL (all ~30 columns) anew each time, the
# largest single query-building cost of a trámite in the lifecycle profile (docs/bench.md).
POR_NUMERO = PreparedQuery(Expediente, lambda numero: Expediente.select().where(Expediente.numero == numero))


@dataclasses.dataclass
class Detalle:
    """Figs. 4–6: the expediente, its sender and files, what ``actor`` may do on it now, and its copies."""

    expediente: Expediente
    remitente: Remitente
    adjuntos: list[Adjunto]
    tareas: list[Tarea]  # the ready tasks the actor works
    eventos: list[tuple[str, str]]  # (name, label) of the events the actor may send, e.g. «Anular derivación»
    copias: list[Copia]  # with their Oficina joined
    documentos: list[DocumentoOficial] = dataclasses.field(default_factory=list)  # issued, and the actor's drafts
    redacta: bool = False  # whether the actor may draft official documents on it (mesa de partes, an office)
    anexos: dict = dataclasses.field(default_factory=dict)  # document id → its AnexoDocumento rows
    escritos: list = dataclasses.field(default_factory=list)  # its escritos (mpv.tramites.escritos.EscritoVista)
    asignacion: object = None  # its assignment in the actor's office (mpv.tramites.asignacion.Ficha), if any
    acumulacion: object = None  # its «Acumulación» section (mpv.tramites.acumulacion.Vista)


@dataclasses.dataclass
class Seguimiento:
    """Fig. 7: the expediente's movements, where it waits now, and its path on its own version of the diagram."""

    expediente: Expediente
    movimientos: list[history.Movimiento]
    pendientes: list[Tarea]  # its ready tasks, oldest first, with their Oficina joined (None for the citizen's)
    bpmn: str  # the diagram's XML
    recorrido: dict[str, list[str]]  # :func:`mpv.engine.path.recorrido`


@dataclasses.dataclass
class Archivo:
    """An attached file to send: the row, where storage keeps it, and the name to download it under."""

    adjunto: Adjunto
    path: Path
    nombre: str


def solo_personal(actor: Actor):
    """:raise NotAllowed: ``actor`` is neither staff nor the system (the command line)."""
    exigir_rol(actor, (*PERSONAL, SISTEMA.rol), "Solo el personal de la municipalidad consulta los expedientes.")


def oficina_de(actor: Actor) -> int | None:
    """The id of an office user's office (None for the other roles).

    :raise NotAllowed: an office user with no office (they would see no tray, and must not see all of them)."""
    if actor.rol != "oficina":
        return None
    oficina = Oficina.por_codigo(actor.oficina) if actor.oficina else None
    if oficina is None:
        raise NotAllowed(SIN_OFICINA)
    return oficina.id


def visible(actor: Actor, numero: str) -> Expediente:
    """The expediente ``numero`` if ``actor`` may see it.

    :raise NotFound: unknown number. :raise NotAllowed: an office user whose office it never reached.
    """
    expediente = POR_NUMERO.first(numero)
    if expediente is None:
        raise NotFound(f"No existe el expediente {numero}. Revise el número e inténtelo otra vez.")
    _alcanza(actor, expediente)
    return expediente


def _alcanza(actor: Actor, expediente: Expediente):
    """:raise NotAllowed: an office user whose office ``expediente`` never reached (or who has no office)."""
    if actor.rol != "oficina":
        return
    if not actor.oficina:  # "" would match the history rows that name no office
        raise NotAllowed(SIN_OFICINA)
    if not paso_por_oficina(expediente.id, actor.oficina):
        raise NotAllowed(f"El expediente {expediente.numero} no pasó por su oficina.")


def paso_por_oficina(expediente_id: int, codigo: str) -> bool:
    """Whether the expediente has been in (or copied to) the office ``codigo``."""
    destinos = pw.Value(",").concat(Evento.oficina_destino).concat(",")
    history_rows = Evento.select().where(
        (Evento.expediente == expediente_id)
        & ((Evento.oficina_origen == codigo) | destinos.contains(f",{codigo},")))
    copied = Copia.select().join(Oficina).where((Copia.expediente == expediente_id) & (Oficina.codigo == codigo))
    return history_rows.exists() or copied.exists()


def por_codigo(codigo: str) -> Expediente:
    """The expediente whose tracking code is ``codigo`` (the citizen's key to it).

    :raise NotFound: the same message for any unknown code (nothing to learn from it)."""
    expediente = Expediente.por_codigo(codigo)
    if expediente is None:
        raise NotFound("No encontramos un trámite con ese código de seguimiento. Revise el código de su constancia.")
    return expediente


def con_firmas(adjuntos) -> list[Adjunto]:
    """The Adjunto rows of the query ``adjuntos``, each with its ``firmas`` in the file's order (one more query)."""
    return pw.prefetch(adjuntos, FirmaAdjunto.select().order_by(FirmaAdjunto.orden))


def ver(services, actor: Actor, numero: str) -> Detalle:
    """Figs. 4–6: what staff see of the expediente ``numero``; only mesa de partes sends events from here.

    :raise NotAllowed: not staff, or an office it never reached. :raise NotFound: unknown number."""
    from .acumulacion import vista as acumulacion_de  # these build on this module
    from .asignacion import ficha
    from .escritos import de_expediente as escritos_de

    solo_personal(actor)
    expediente = visible(actor, numero)
    oficina = Oficina.por_codigo(actor.oficina) if actor.oficina else None
    documentos = DocumentoOficial.de_expediente(expediente.id, oficina.id if oficina else None)
    return Detalle(
        expediente, expediente.remitente, con_firmas(expediente.adjuntos.order_by(Adjunto.id)),
        tareas=list(services.engine.tasks_for(actor, expediente.id)),
        eventos=services.engine.events_for(actor, expediente) if actor.rol == "mesa" else [],
        copias=list(Copia.select(Copia, Oficina).join(Oficina).where(Copia.expediente == expediente.id)),
        documentos=documentos, redacta=actor.rol in ("mesa", "oficina") and oficina is not None,
        anexos=AnexoDocumento.de_documentos([d.id for d in documentos]), escritos=escritos_de(expediente.id),
        asignacion=ficha(actor, expediente), acumulacion=acumulacion_de(services, actor, expediente))


def tareas_pendientes(services, actor: Actor, numero: str) -> tuple[Expediente, list]:
    """The expediente and its ready tasks (:class:`mpv.engine.TaskView`), whoever works them."""
    expediente = visible(actor, numero)
    return expediente, services.engine.ready_tasks(expediente)


def seguimiento(services, actor: Actor, numero: str) -> tuple[Expediente, list]:
    """The expediente and its movements (:class:`mpv.history.Movimiento`), as staff see them.

    :raise NotAllowed: / :raise NotFound: as :func:`ver`."""
    solo_personal(actor)
    expediente = visible(actor, numero)
    return expediente, history.seguimiento(expediente.id, services.calendario)


def ver_seguimiento(services, actor: Actor, numero: str) -> Seguimiento:
    """Fig. 7: the movements, the pending steps and the path on the diagram of the expediente ``numero``.

    :raise NotAllowed: / :raise NotFound: as :func:`ver`."""
    expediente, movimientos = seguimiento(services, actor, numero)
    pendientes = list(Tarea.select(Tarea, Oficina).join(Oficina, pw.JOIN.LEFT_OUTER)
                      .where(Tarea.expediente == expediente.id).order_by(Tarea.desde))
    definition = services.definitions.get(expediente.definicion_id)
    return Seguimiento(expediente, movimientos, pendientes, definition.bpmn_text(),
                       recorrido(expediente.id, definition))


def archivo(services, actor: Actor, adjunto_id: int) -> Archivo:
    """The attached file ``adjunto_id``, for someone who may see its expediente (as :func:`visible`).

    :raise NotFound: no such file, or it is missing from storage. :raise NotAllowed: as :func:`ver`."""
    solo_personal(actor)
    # An id comes from the address bar: past the database's integers it names nothing (SQLite would overflow).
    adjunto = (Adjunto.select(Adjunto, Expediente).join(Expediente).where(Adjunto.id == adjunto_id).first()
               if 0 < adjunto_id < 2**63 else None)
    if adjunto is None:
        raise NotFound("Ese archivo no existe.")
    _alcanza(actor, adjunto.expediente)
    path = services.storage.path(adjunto.sha256)
    if not path.exists():
        raise NotFound("El archivo no está disponible en el servidor; avise al administrador.")
    return Archivo(adjunto, path, pdf_name(adjunto.nombre))


def ficha(services, actor: Actor, numero: str) -> tuple[Detalle, list[history.Movimiento]]:
    """Figs. 4–7 at once, as the staff API gives them: what :func:`ver` shows and the expediente's movements
    as staff see them. :raise NotAllowed: / :raise NotFound: as :func:`ver`."""
    detalle = ver(services, actor, numero)
    return detalle, history.seguimiento(detalle.expediente.id, services.calendario)
