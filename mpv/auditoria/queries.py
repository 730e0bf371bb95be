"""What the auditor reads: the register with its filters, each expediente's complete history, the
global log of Evento rows, all paged by keyset and readable in batches for CSV; and the chain's
verification, kept per process so that the pages stay fast on a long chain. Who may read them is
:mod:`mpv.auditoria.auditor`."""
from __future__ import annotations

import dataclasses
import threading
import time
from datetime import date, datetime, time as dtime, timedelta
from typing import Callable, Iterator

import orjson
import peewee as pw

from .. import history
from ..tramites import listados
from ..models import Adjunto, Evento, Expediente
from ..tramites.presentacion import files_in_use

PAGE = 50
LOTE = 1000  # rows per query of a CSV export

# The kinds of Evento row; a kind not listed here is still shown, under its own name.
TIPOS_EVENTO = {
    "acceso": "Acceso (ingresos, salidas, denegaciones)",
    "admin": "Cambio en Administración",
    "api": "Llamada a la API del personal (token)",
    "inicio": "Presentación",
    "tarea": "Tarea completada",
    "accion": "Acción sobre el expediente",
    "decision": "Decisión del proceso",
    "temporizador": "Plazo o temporizador",
    "evento": "Evento del proceso",
    "fin": "Fin del proceso",
    "documento": "Documento oficial emitido",
    "escrito": "Escrito presentado",
    "migracion": "Migración de versión del proceso",
    "definicion": "Cambio de definición del proceso",
}


@dataclasses.dataclass
class FiltroEventos:
    desde: date | None = None
    hasta: date | None = None
    tipo: str = ""
    usuario: str = ""  # the actor's user name, exactly
    ip: str = ""
    expediente_id: int | None = None
    cursor: str = ""


# A row of the log: the Evento's columns and its expediente's number (joined, not looked up).
_EVENTO = [(f.name, f) for f in (
    Evento.seq, Evento.momento, Evento.tipo, Evento.accion, Evento.descripcion, Evento.actor_nombre, Evento.rol,
    Evento.actor_oficina, Evento.ip, Evento.tarea, Evento.oficina_origen, Evento.oficina_destino, Evento.detalle,
    Evento.payload, Evento.prev_hash, Evento.hash)] + [("numero", Expediente.numero)]


def _in_days(query, column, desde: date | None, hasta: date | None, tz):
    # The first and last days of the calendar bound nothing (and past them the arithmetic overflows).
    if desde and desde > date.min:
        query = query.where(column >= datetime.combine(desde, dtime(0), tz))
    if hasta and hasta < date.max:
        query = query.where(column < datetime.combine(hasta + timedelta(days=1), dtime(0), tz))
    return query


def eventos(filtro: FiltroEventos, tz, limite: int = PAGE, cadena: bool = False) -> listados.Pagina:
    """A page of Evento rows: newest first by (momento, seq), or in chain order (``cadena``: by seq).

    ``filtro.cursor`` continues after the last row of the previous page (tampered cursors are ignored).
    """
    query = (Evento.select(*(node.alias(name) for name, node in _EVENTO))
             .join(Expediente, pw.JOIN.LEFT_OUTER, on=(Evento.expediente == Expediente.id)))
    if filtro.tipo:
        query = query.where(Evento.tipo == filtro.tipo)
    if filtro.usuario:
        query = query.where(Evento.actor_nombre == filtro.usuario)
    if filtro.ip:
        query = query.where(Evento.ip == filtro.ip)
    if filtro.expediente_id:
        query = query.where(Evento.expediente == filtro.expediente_id)
    query = _in_days(query, Evento.momento, filtro.desde, filtro.hasta, tz)
    decoded = listados.decode_cursor(filtro.cursor) if filtro.cursor else None
    if cadena:
        if decoded:
            query = query.where(Evento.seq > decoded[1])
        query = query.order_by(Evento.seq.asc())
    else:
        if decoded and decoded[0] is not None:
            query = query.where(pw.Tuple(Evento.momento, Evento.seq) < pw.Tuple(Evento.momento.db_value(decoded[0]),
                                                                                decoded[1]))
        query = query.order_by(Evento.momento.desc(), Evento.seq.desc())
    rows = list(query.limit(limite + 1).dicts())
    pagina = listados.Pagina(rows[:limite])
    if len(rows) > limite:
        last = pagina.filas[-1]
        pagina.siguiente = listados.encode_cursor((None if cadena else last["momento"], last["seq"]))
    return pagina


def lotes(pagina: Callable[[str], listados.Pagina]) -> Iterator[list[dict]]:
    """Every row of a keyset-paged list, one page (a query) at a time: ``pagina(cursor)`` reads a page."""
    cursor = ""
    while True:
        actual = pagina(cursor)
        if actual.filas:
            yield actual.filas
        if not actual.siguiente:
            return
        cursor = actual.siguiente


def lotes_eventos(filtro: FiltroEventos, tz, cadena: bool = False, lote: int = LOTE) -> Iterator[list[dict]]:
    return lotes(lambda cursor: eventos(dataclasses.replace(filtro, cursor=cursor), tz, lote, cadena))


def lotes_expedientes(filtro: listados.Filtro, tz, lote: int = LOTE) -> Iterator[list[dict]]:
    base = dataclasses.replace(filtro, atras=False)
    return lotes(lambda cursor: listados.tramites(dataclasses.replace(base, cursor=cursor), tz, limite=lote))


def historial(expediente_id: int) -> list[Evento]:
    """Every Evento of an expediente, in chain order."""
    return list(Evento.select().where(Evento.expediente == expediente_id).order_by(Evento.seq))


def payload_legible(payload: str) -> str:
    """The submitted form as indented JSON (the stored text as is, if it is not JSON)."""
    try:
        return orjson.dumps(orjson.loads(payload), option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS).decode()
    except orjson.JSONDecodeError:
        return payload


@dataclasses.dataclass
class Resultado:
    """A verification of the chain, with when the last walk of the whole chain was and what this one cost."""

    verificacion: history.Verification
    completa_en: datetime
    segundos: float
    incremental: bool


class VerificacionCadena:
    """The chain's verification for one process: the whole chain at most every ``completa_cada``, and in
    between only the rows appended since the last result (when the head has not moved, a few queries).

    Walking a million rows takes seconds; the pages show when the whole walk was, and offer to redo it.
    """

    def __init__(self, clock, completa_cada: timedelta = timedelta(minutes=10)):
        self._clock = clock
        self._cada = completa_cada
        self._lock = threading.Lock()  # one walk at a time
        self._ultimo: Resultado | None = None

    def resultado(self, completa: bool = False) -> Resultado:
        # While another request walks the chain (17 s for a million rows on a busy 2-core machine), the
        # others show the previous result, with its time, instead of waiting for it.
        if not self._lock.acquire(blocking=self._ultimo is None):
            return self._ultimo
        try:
            ahora, previo = self._clock(), self._ultimo
            incremental = (not completa and previo is not None and previo.verificacion.ok
                           and ahora - previo.completa_en < self._cada)
            started = time.perf_counter()
            verificacion = history.verify(desde=previo.verificacion if incremental else None)
            self._ultimo = Resultado(verificacion, previo.completa_en if incremental else ahora,
                                     time.perf_counter() - started, incremental)
            return self._ultimo
        finally:
            self._lock.release()


@dataclasses.dataclass
class ArchivoDanado:
    """A stored attachment that no longer hashes to its name (or is missing), and where it is attached."""

    sha256: str
    problema: str
    adjuntos: list[str]  # «2026-000123 «solicitud.pdf»», at most five


def verificar_archivos(storage) -> tuple[int, list[ArchivoDanado]]:
    """Hash every stored attachment again: how many were checked, and those that fail."""
    checked, bad = 0, []
    for sha in files_in_use():
        checked += 1
        problem = storage.check(sha)
        if problem:
            names = [f"{a.expediente.numero} «{a.nombre}»"
                     for a in Adjunto.select().where(Adjunto.sha256 == sha).limit(5)]
            bad.append(ArchivoDanado(sha, problem, names))
    return checked, bad
