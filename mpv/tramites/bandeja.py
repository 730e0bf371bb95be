"""The office's tray (/bandeja): what waits to be received, what is in atención, the escritos to review and what
came «con copia», each section a keyset page of its own (:mod:`mpv.tramites.paginas`) with a bounded count, so the
tray of an office holding 100,000 tasks costs what the tray of one holding 100 does."""
from __future__ import annotations

import dataclasses

import peewee as pw

from ..engine import Actor
from ..errors import NotAllowed
from ..models import Copia, Expediente, Oficina, Tarea
from .paginas import PAGE, Pagina, decode_cursor, paginar
from .roles import exigir_rol

RECIBIR = "recibir"
SECCIONES = ("por_recibir", "en_atencion", "escritos", "copias")
# A section's count stops here (the page says «más de 1000»): counting 100,000 index entries would cost more
# than the whole page (see docs/bench.md, «Bandeja»).
TOPE = 1000
# What a row shows: its expediente's columns, not the whole row (its engine state would be most of a page's work).
_EXPEDIENTE = (Expediente.id, Expediente.numero, Expediente.remitente_nombre, Expediente.asunto, Expediente.vence,
               Expediente.vencido, Expediente.terminado)


@dataclasses.dataclass
class Seccion:
    """A section of the tray: its page and how many rows it holds, counted up to :data:`TOPE` + 1."""

    pagina: Pagina
    total: int

    @property
    def mas_de_tope(self) -> bool:
        return self.total > TOPE


@dataclasses.dataclass
class Bandeja:
    """An office's tray, section by section (rows: Tarea, or Copia for ``copias``, with their Expediente)."""

    oficina: Oficina
    por_recibir: Seccion
    en_atencion: Seccion
    escritos: Seccion
    copias: Seccion


def bandeja(services, actor: Actor, seccion: str = "", cursor: str = "", atras: bool = False,
            limite: int = PAGE) -> Bandeja:
    """The tray of ``actor``'s office: the page of ``seccion`` (a key of :data:`SECCIONES`) that ``cursor``
    opens (the one before it when ``atras``), the first page of every other section. A cursor that is not one
    of ours, or an unknown section, opens the first pages. :raise NotAllowed: ``actor`` is not office staff, or has no office."""
    exigir_rol(actor, ("oficina",), "La bandeja es de las oficinas.")
    oficina = Oficina.por_codigo(actor.oficina)
    if oficina is None:
        raise NotAllowed("Su usuario no tiene una oficina asignada; pida al administrador que le asigne una.")
    revisiones = services.definitions.revisiones_de_escritos()
    propias = services.definitions.tareas_de("oficina") - revisiones
    tareas = {"por_recibir": {RECIBIR}, "en_atencion": propias - {RECIBIR}, "escritos": revisiones}
    if clave_de(cursor) is None:  # none, or not one of ours
        cursor, atras = "", False

    def desde(clave: str) -> tuple[str, bool]:
        return (cursor, atras) if clave == seccion else ("", False)

    secciones = {clave: _tareas(oficina.id, sorted(specs), *desde(clave), limite) for clave, specs in tareas.items()}
    return Bandeja(oficina, copias=_copias(oficina.id, *desde("copias"), limite), **secciones)


def clave_fila(fila) -> tuple:
    return fila.desde, fila.id


def clave_de(cursor: str) -> tuple | None:
    """The (desde, id) a cursor of this tray carries; None for none, or for anything else."""
    decoded = decode_cursor(cursor) if cursor else None
    return decoded if decoded and decoded[0] is not None else None


def despues(query, model, cursor: str, atras: bool, descendente: bool = False):
    """``query`` from the row after ``cursor`` (before it when ``atras``) in (desde, id) order."""
    clave = clave_de(cursor)
    if clave is None:
        return query
    pair = pw.Tuple(model.desde, model.id)
    bound = pw.Tuple(model.desde.db_value(clave[0]), clave[1])  # stored text, so the comparison is exact
    return query.where(pair < bound if atras != descendente else pair > bound)


def _tareas(oficina_id: int, specs: list[str], cursor: str, atras: bool, limite: int) -> Seccion:
    """The page of the office's tasks named ``specs``, oldest first: one walk of the (oficina, spec, desde, id)
    index per task name, each stopping at its page, merged here (a task name is a handful, never a row)."""
    filas = []
    orden = (Tarea.desde.desc(), Tarea.id.desc()) if atras else (Tarea.desde.asc(), Tarea.id.asc())
    for spec in specs:
        query = (Tarea.select(Tarea.id, Tarea.task_id, Tarea.spec, Tarea.desde, *_EXPEDIENTE).join(Expediente)
                 .where((Tarea.oficina == oficina_id) & (Tarea.spec == spec)))
        query = despues(query, Tarea, cursor, atras)
        filas.extend(query.order_by(*orden).limit(limite + 1))
    filas.sort(key=clave_fila, reverse=atras)
    total = 0
    if specs:
        total = (Tarea.select(Tarea.id).where((Tarea.oficina == oficina_id) & Tarea.spec.in_(specs))
                 .limit(TOPE + 1).count())
    return Seccion(paginar(filas[:limite + 1], limite, cursor, atras, clave_fila), total)


def _copias(oficina_id: int, cursor: str, atras: bool, limite: int) -> Seccion:
    """The page of what came to the office «con copia», newest first."""
    query = Copia.select(Copia.id, Copia.desde, *_EXPEDIENTE).join(Expediente).where(Copia.oficina == oficina_id)
    query = despues(query, Copia, cursor, atras, descendente=True)
    orden = (Copia.desde.asc(), Copia.id.asc()) if atras else (Copia.desde.desc(), Copia.id.desc())
    filas = list(query.order_by(*orden).limit(limite + 1))
    total = Copia.select(Copia.id).where(Copia.oficina == oficina_id).limit(TOPE + 1).count()
    return Seccion(paginar(filas, limite, cursor, atras, clave_fila), total)
