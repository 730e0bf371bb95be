"""Inside an office (issue 16, item 1): its head gives an expediente to one of its people (and changes who), each
person's «Mis expedientes», and the office's history — every expediente it ever held, searchable and paged.

While an expediente is assigned in an office, only that person completes its tasks there (the engine's
``authorize`` checks :class:`mpv.models.Asignacion`); the assignment ends when the expediente leaves the office.
"""
from __future__ import annotations

import dataclasses

from .. import history
from ..engine import Actor
from ..errors import Conflict, InvalidInput, NotAllowed
from ..models import Asignacion, Expediente, Oficina, Paso, Tarea, Usuario
from .bandeja import clave_de, clave_fila, despues
from .expedientes import SIN_OFICINA, visible
from .listados import buscar
from .paginas import PAGE, Pagina, paginar
from .roles import exigir_rol

EN_OFICINA = ("mesa", "oficina")  # the roles that work in an office and hold its expedientes
_EXPEDIENTE = (Expediente.id, Expediente.numero, Expediente.remitente_nombre, Expediente.asunto, Expediente.estado,
               Expediente.vence, Expediente.vencido, Expediente.terminado)


@dataclasses.dataclass
class Ficha:
    """What the expediente page shows of its assignment in the actor's office: who has it, and whom the actor
    (its head) may give it to; ``puede`` is False for anyone else, or when the expediente is not in the office."""

    asignacion: Asignacion | None
    personas: list[Usuario]
    puede: bool


def _oficina(actor: Actor) -> Oficina:
    exigir_rol(actor, EN_OFICINA, "Solo el personal de una oficina tiene expedientes asignados.")
    oficina = Oficina.por_codigo(actor.oficina) if actor.oficina else None
    if oficina is None:
        raise NotAllowed(SIN_OFICINA)
    return oficina


def _personas(oficina: Oficina) -> list[Usuario]:
    return list(Usuario.select().where((Usuario.oficina == oficina.id) & (Usuario.activo == True)  # noqa: E712
                                       & Usuario.rol.in_(EN_OFICINA)).order_by(Usuario.nombre))


def _en_oficina(expediente_id: int, oficina: Oficina) -> bool:
    return Tarea.select().where((Tarea.expediente == expediente_id) & (Tarea.oficina == oficina.id)).exists()


def ficha(actor: Actor, expediente: Expediente) -> Ficha | None:
    """The assignment box of the expediente page: None when the actor works in no office, or when the expediente
    is neither assigned in it nor assignable by the actor."""
    if actor.rol not in EN_OFICINA or not actor.oficina:
        return None
    oficina = Oficina.por_codigo(actor.oficina)
    if oficina is None:
        return None
    puede = actor.jefe and _en_oficina(expediente.id, oficina)
    asignacion = Asignacion.de(expediente.id, oficina.codigo)
    if not (puede or asignacion):
        return None
    return Ficha(asignacion, _personas(oficina) if puede else [], puede)


def _jefe(actor: Actor) -> Oficina:
    oficina = _oficina(actor)
    if not actor.jefe:
        raise NotAllowed("Solo el jefe de la oficina asigna sus expedientes; pídaselo a su jefe.")
    return oficina


def formulario(actor: Actor, numero: str) -> tuple[Expediente, Ficha]:
    """The expediente and whom the office's head may give it to.

    :raise NotAllowed: not the office's head. :raise Conflict: the expediente is not in the office now."""
    _jefe(actor)
    expediente = visible(actor, numero)
    vista = ficha(actor, expediente)
    if vista is None or not vista.puede:
        raise Conflict(f"El expediente {numero} no está en su oficina ahora; solo se asigna lo que espera en ella.")
    return expediente, vista


def asignar(services, actor: Actor, numero: str, usuario_id: int | None) -> Asignacion:
    """Give the expediente ``numero``, waiting in the actor's office, to the person ``usuario_id`` of that office
    (or to another one: a reassignment), recorded in its history.

    :raise NotAllowed: not the office's head. :raise Conflict: the expediente is not in the office now.
    :raise InvalidInput: no person, or not an active person of the office, or the one who has it already.
    """
    oficina = _jefe(actor)
    expediente = visible(actor, numero)
    persona = next((u for u in _personas(oficina) if u.id == usuario_id), None)
    if persona is None:
        raise InvalidInput("Elija a quién asignar el expediente.",
                           {"usuario": "Elija a una persona activa de su oficina."})
    with services.db.write():
        # The expediente's row orders this against an engine step that could move it out of the office meanwhile.
        services.db.locked(Expediente.select(Expediente.id).where(Expediente.id == expediente.id)).get()
        if not _en_oficina(expediente.id, oficina):
            raise Conflict(f"El expediente {numero} ya no está en su oficina; solo se asigna lo que espera en ella.")
        antes = Asignacion.de(expediente.id, oficina.codigo)
        if antes is not None and antes.usuario_id == persona.id:
            raise InvalidInput(f"El expediente {numero} ya está asignado a {persona.nombre}.",
                               {"usuario": "Elija a otra persona para reasignarlo."})
        now = services.clock()
        if antes is None:
            asignacion = Asignacion.create(expediente=expediente.id, oficina=oficina.id, usuario=persona.id,
                                           asignado_por=actor.usuario_id, desde=now)
        else:
            Asignacion.update(usuario=persona.id, asignado_por=actor.usuario_id, desde=now).where(
                Asignacion.id == antes.id).execute()
            asignacion = Asignacion.get_by_id(antes.id)
        que = f"Reasignado de {antes.usuario.nombre} a {persona.nombre}" if antes else f"Asignado a {persona.nombre}"
        history.append(services.db, [{
            "expediente": expediente.id, "momento": now, "tipo": "asignacion",
            "accion": "reasignar" if antes else "asignar", "descripcion": f"{que} en {oficina.nombre}"[:200],
            "actor": actor.usuario_id, "actor_nombre": actor.nombre, "rol": actor.rol, "actor_oficina": actor.oficina,
            "ip": actor.ip, "oficina_origen": oficina.codigo,
            "payload": {"usuario": persona.username, "anterior": antes.usuario.username if antes else ""}}])
    return asignacion


def mis_expedientes(actor: Actor, cursor: str = "", atras: bool = False, limite: int = PAGE) -> Pagina:
    """The tasks of the expedientes assigned to ``actor`` in their office, oldest first (rows: Tarea with its
    Expediente), a keyset page."""
    oficina = _oficina(actor)
    if clave_de(cursor) is None:  # none, or not one of ours
        cursor, atras = "", False
    query = (Tarea.select(Tarea.id, Tarea.task_id, Tarea.spec, Tarea.nombre, Tarea.desde, *_EXPEDIENTE)
             .join(Expediente)
             .join(Asignacion, on=((Asignacion.expediente == Tarea.expediente) & (Asignacion.oficina == Tarea.oficina)))
             .where((Tarea.oficina == oficina.id) & (Asignacion.usuario == actor.usuario_id)))
    query = despues(query, Tarea, cursor, atras)
    orden = (Tarea.desde.desc(), Tarea.id.desc()) if atras else (Tarea.desde.asc(), Tarea.id.asc())
    filas = list(query.order_by(*orden).limit(limite + 1))
    return paginar(filas, limite, cursor, atras, clave_fila)


def historial(services, actor: Actor, q: str = "", cursor: str = "", atras: bool = False,
              limite: int = PAGE) -> Pagina:
    """Every expediente the actor's office ever held, newest arrival first, narrowed by ``q`` (a number, a
    document number, words of the sender or subject): a keyset page of Paso rows with their Expediente, each
    with ``aqui`` (whether it waits in the office now)."""
    oficina = _oficina(actor)
    if clave_de(cursor) is None:
        cursor, atras = "", False
    query = Paso.select(Paso.id, Paso.desde, *_EXPEDIENTE).join(Expediente).where(Paso.oficina == oficina.id)
    if q.strip():
        query = buscar(query, q.strip(), services.busqueda)
    query = despues(query, Paso, cursor, atras, descendente=True)
    orden = (Paso.desde.asc(), Paso.id.asc()) if atras else (Paso.desde.desc(), Paso.id.desc())
    pagina = paginar(list(query.order_by(*orden).limit(limite + 1)), limite, cursor, atras, clave_fila)
    ids = [f.expediente.id for f in pagina.filas]
    aqui = set(Tarea.select(Tarea.expediente).where((Tarea.oficina == oficina.id) & Tarea.expediente.in_(ids))
               .tuples()) if ids else set()
    for fila in pagina.filas:
        fila.aqui = (fila.expediente.id,) in aqui
    return pagina
