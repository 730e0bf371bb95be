"""Trámites recibidos and the home page's figures (:func:`recibidos`, :func:`inicio`), and the queries behind
them: keyset pagination on indexed columns, no OFFSET, no COUNT over the whole register, rows as dicts or
tuples (cheaper than model instances).

A home page figure is the size of a list: :func:`contadores` counts each figure with the very
:class:`Filtro` whose list the figure opens, so the number and the rows cannot disagree."""
from __future__ import annotations

import dataclasses
import re
from datetime import date, datetime, time, timedelta
from urllib.parse import urlencode

import orjson
import peewee as pw

from ..engine import Actor
from ..models import Copia, Expediente, Oficina, Tarea, TipoDocumento
from ..text import fold
from .expedientes import oficina_de, solo_personal
from .paginas import PAGE, Pagina, decode_cursor, encode_cursor, paginar  # noqa: F401 (auditoria reads them here)

ORDENES = {
    "recientes": "Más recientes primero",
    "antiguos": "Más antiguos primero",
    "vence": "Vencen primero",
}

# A running plazo is «por vencer» when its last day is today or one of the next DIAS_POR_VENCER business
# days: the home page's figure, the list's filter and every row's badge all read it from here.
DIAS_POR_VENCER = 2

PLAZOS = {
    "vencido": "Vencidos",
    "por_vencer": f"Por vencer (hoy o en los {DIAS_POR_VENCER} días hábiles siguientes)",
    "en_plazo": "En plazo",
    # The procedure's own deadline (TUPA), not the step's: its last day is today or one of the next days.
    "procedimiento_por_vencer": f"Plazo del procedimiento por vencer (hoy o en los {DIAS_POR_VENCER} días hábiles "
                                "siguientes)",
}

# Where an expediente waits: whose tray holds a pending task of it (Tarea.rol). With a parallel
# derivation it may wait in several offices at once; its estado names only one of its tasks.
UBICACIONES = {
    "mesa": ("En mesa de partes", "mesa"),
    "oficinas": ("En las oficinas (derivados o en atención)", "oficina"),
    "remitente": ("Con el remitente (por subsanar)", "ciudadano"),
}

_NUMERO = re.compile(r"^(\d{4})-(\d{1,6})$")


@dataclasses.dataclass
class Filtro:
    """What a list of expedientes shows. ``desde``/``hasta`` bound the legal filing date
    (``fecha_presentacion``, Ley 31465), not the moment the filing was sent."""

    q: str = ""
    estado: str = ""
    desde: date | None = None
    hasta: date | None = None
    orden: str = "recientes"
    oficina_id: int | None = None  # only expedientes whose oficina_actual is this office
    tipo_documento_id: int | None = None
    remitente: str = ""  # words of the sender's name, or their document number
    plazo: str = ""  # a key of PLAZOS
    ubicacion: str = ""  # a key of UBICACIONES
    pendiente_en: int | None = None  # only expedientes with a task pending in this office (its tray)
    cursor: str = ""
    atras: bool = False


def alcance(filtro: Filtro, oficina_id: int | None) -> Filtro:
    """``filtro`` narrowed to what a user may list: an office user (``oficina_id``, :func:`oficina_de`),
    what waits in their office."""
    if oficina_id is not None:
        return dataclasses.replace(filtro, pendiente_en=oficina_id)
    return filtro


@dataclasses.dataclass(frozen=True)
class Hoy:
    """The moment a page is read, as the plazos see it: today's local date, now, and the end of the
    «por vencer» window. The one definition of vencido / por vencer / en plazo, in SQL and in Python."""

    fecha: date
    ahora: datetime
    por_vencer_hasta: datetime

    @classmethod
    def segun(cls, calendario, ahora: datetime) -> "Hoy":
        """Today in ``calendario`` (a :class:`mpv.plazos.Calendario`) at ``ahora``."""
        fecha = calendario.fecha_local(ahora)
        return cls(fecha, ahora, calendario.vencimiento(fecha, DIAS_POR_VENCER))

    def situacion(self, vence: datetime | None, vencido: bool = False, terminado: bool = False) -> str:
        """A row's plazo: «concluido», «sin_plazo» or a key of PLAZOS (the Python twin of :meth:`condicion`)."""
        if terminado:
            return "concluido"
        if vencido or (vence is not None and vence <= self.ahora):
            return "vencido"  # a fired timer clears ``vence`` and sets ``vencido``
        if vence is None:
            return "sin_plazo"
        return "por_vencer" if vence <= self.por_vencer_hasta else "en_plazo"

    def condicion(self, plazo: str):
        """The rows whose :meth:`situacion` is ``plazo`` (a key of PLAZOS), as a WHERE condition."""
        abierto = Expediente.terminado == False  # noqa: E712
        if plazo == "vencido":
            return abierto & ((Expediente.vencido == True) | (Expediente.vence <= self.ahora))  # noqa: E712
        # «!=», not «== False»: an equality would send SQLite to the (vencido, oficina_actual) index, where
        # nearly every row is not vencido (300k expedientes: 2.3 s), instead of the range on vence (7 ms).
        corre = abierto & (Expediente.vencido != True) & (Expediente.vence > self.ahora)  # noqa: E712
        if plazo == "por_vencer":
            return corre & (Expediente.vence <= self.por_vencer_hasta)
        if plazo == "en_plazo":
            return corre & (Expediente.vence > self.por_vencer_hasta)
        if plazo == "procedimiento_por_vencer":  # plazo_vence is None while suspended, and silencio once it ran out
            return (abierto & (Expediente.plazo_vence > self.ahora) & (Expediente.plazo_vence <= self.por_vencer_hasta)
                    & (Expediente.silencio == ""))
        raise ValueError(f"plazo desconocido: {plazo!r}")


COLUMNS = (Expediente.id, Expediente.numero, Expediente.presentado_en, Expediente.fecha_presentacion,
           Expediente.remitente_nombre, Expediente.remitente_documento, Expediente.tipo_documento,
           Expediente.asunto, Expediente.estado, Expediente.tarea_actual, Expediente.oficina_actual,
           Expediente.vence, Expediente.vencido, Expediente.terminado, Expediente.plazo_vence,
           Expediente.plazo_suspendido, Expediente.silencio)
# A page's row: those columns, and the names of its document type and office (joined, not looked up).
_FILA = [(field.name, field) for field in COLUMNS] + [("tipo_nombre", TipoDocumento.nombre),
                                                       ("oficina_nombre", Oficina.nombre)]


def tramites(filtro: Filtro, tz, search=None, limite: int = PAGE, hoy: Hoy | None = None) -> Pagina:
    """A page of ``limite`` rows of the register, newest first by default; ``cursor`` continues after
    (or before) a row. ``hoy`` is needed by a ``plazo`` filter."""
    column = Expediente.vence if filtro.orden == "vence" else Expediente.presentado_en
    ascending = filtro.orden in ("antiguos", "vence")
    if filtro.atras:
        ascending = not ascending
    query = (Expediente.select(*(node.alias(name) for name, node in _FILA))
             .join(TipoDocumento, pw.JOIN.LEFT_OUTER).switch(Expediente)  # LEFT: expediente stays the outer loop
             .join(Oficina, pw.JOIN.LEFT_OUTER, on=(Expediente.oficina_actual == Oficina.id)))
    query = _filtrar(query, filtro, tz, search, hoy, pagina=True)
    decoded = decode_cursor(filtro.cursor) if filtro.cursor else None
    if decoded:
        key, ident = decoded
        pair = pw.Tuple(column, Expediente.id)
        bound = pw.Tuple(column.db_value(key), ident)  # stored text, so the comparison is exact
        query = query.where(pair > bound if ascending else pair < bound)
    order = (column.asc(), Expediente.id.asc()) if ascending else (column.desc(), Expediente.id.desc())
    keyname = "vence" if filtro.orden == "vence" else "presentado_en"
    rows = _filas(query.order_by(*order).limit(limite + 1))
    rows.sort(key=lambda r: (r[keyname], r["id"]), reverse=not ascending)
    return paginar(rows, limite, filtro.cursor, filtro.atras, lambda r: (r[keyname], r["id"]))


def contar(filtro: Filtro, tz, hoy: Hoy | None = None, search=None) -> int:
    """How many rows :func:`tramites` lists for ``filtro``, over all its pages."""
    return _filtrar(Expediente.select(Expediente.id), filtro, tz, search, hoy).count()


def _filtrar(query, filtro: Filtro, tz, search, hoy: Hoy | None, pagina: bool = False):
    """``query`` narrowed to the rows ``filtro`` asks for (the list and its count share this; a ``pagina``
    of the list may be steered to another index, never to other rows)."""
    if filtro.estado:
        query = query.where(Expediente.estado == filtro.estado)
    if filtro.oficina_id:
        query = query.where(Expediente.oficina_actual == filtro.oficina_id)
    # A page walks the index of its order and probes each row in the set of pending tasks; SQLite would
    # rather fetch every row of the set and sort them all, unless «id + 0» hides the primary key from it
    # (300k expedientes, «en las oficinas»: 300 ms sorting 10k rows, 40 ms walking).
    ident = Expediente.id + 0 if pagina and _sqlite() else Expediente.id
    if filtro.pendiente_en:
        query = query.where(ident.in_(Tarea.select(Tarea.expediente).where(Tarea.oficina == filtro.pendiente_en)))
    if filtro.ubicacion:
        rol = UBICACIONES[filtro.ubicacion][1]
        query = query.where(ident.in_(Tarea.select(Tarea.expediente).where(Tarea.rol == rol)))
    if filtro.plazo:
        if hoy is None:
            raise ValueError("un filtro por plazo necesita la fecha de hoy (hoy=Hoy.segun(...))")
        query = query.where(hoy.condicion(filtro.plazo))
    if filtro.tipo_documento_id:
        query = query.where(Expediente.tipo_documento == filtro.tipo_documento_id)
    if filtro.remitente.strip():
        query = _remitente(query, filtro.remitente.strip())
    query = _fechas(query, filtro.desde, filtro.hasta, tz, pagina)
    if filtro.orden == "vence":
        query = query.where(Expediente.vence.is_null(False))
    if filtro.q:
        query = buscar(query, filtro.q.strip(), search)
    return query


def _fechas(query, desde: date | None, hasta: date | None, tz, pagina: bool):
    """Rows whose legal filing date is in [desde, hasta]."""
    fecha = Expediente.fecha_presentacion
    if pagina and _sqlite():
        # A page walks the index of its order (presentado_en) and stops at its 51st row; SQLite, without
        # statistics, would rather fetch and sort a month of rows by the fecha_presentacion index, which
        # only a count wants (300k expedientes, last month: 2 ms walking, 200 ms sorting). A unary «+»
        # keeps it off that index.
        fecha = pw.NodeList((pw.SQL("+"), fecha), glue="")
    # The first and last days of the calendar bound nothing (and past them the arithmetic overflows).
    if desde and desde > date.min:
        query = query.where(fecha >= desde)
    if hasta and hasta < date.max:
        # Nothing counts as filed before it was sent: the same bound on the sending moment lets the
        # list walk its index (presentado_en) from there instead of from the newest row.
        enviado_antes = datetime.combine(hasta + timedelta(days=1), time(0), tz)
        query = query.where((fecha <= hasta) & (Expediente.presentado_en < enviado_antes))
    return query


def _filas(query) -> list[dict]:
    """The rows of a page query, as dicts, in no particular order.

    On SQLite they come back packed in one JSON array. Python's sqlite3 lets go of the GIL and takes it
    back at every row; under the server's threads each of those hand-offs costs more than the row itself
    (Trámites recibidos, 1M expedientes, 8 waitress threads: 125 req/s with a row per step, 226 with one;
    see tests/bench/bench_tabla.py --consultas).
    """
    if not _sqlite():
        return list(query.dicts())
    sql, params = query.sql()
    names = [name for name, _ in _FILA]
    packed = ", ".join(f'"{name}"' for name in names)
    text = Expediente._meta.database.execute_sql(
        f"SELECT json_group_array(json_array({packed})) FROM ({sql})", params).fetchone()[0]
    converters = [node.python_value for _, node in _FILA]
    return [{name: convert(value) for name, convert, value in zip(names, converters, values)}
            for values in orjson.loads(text)]


def _sqlite() -> bool:
    return isinstance(Expediente._meta.database.obj, pw.SqliteDatabase)


def _remitente(query, texto: str):
    """Expedientes whose sender has this document number, or every word of ``texto`` in their name."""
    if re.fullmatch(r"[0-9A-Za-z]{8,12}", texto) and any(c.isdigit() for c in texto):
        return query.where(Expediente.remitente_documento == texto.upper())
    for word in texto.split()[:8]:
        query = query.where(Expediente.remitente_nombre.contains(word))
    return query


def buscar(query, q: str, search):
    """``query`` narrowed to the expedientes ``q`` names: a number, a sender's document or words of the sender
    and subject (through the database's full-text ``search`` where it has one)."""
    match = _NUMERO.match(q)
    if match:
        return query.where(Expediente.numero == f"{match.group(1)}-{int(match.group(2)):06d}")
    if re.fullmatch(r"[0-9A-Za-z]{8,12}", q) and any(c.isdigit() for c in q):
        return query.where(Expediente.remitente_documento == q.upper())
    if search is not None:
        return search(query, fold(q))
    for word in fold(q).split():
        query = query.where(Expediente.busqueda.contains(word))
    return query


def filtros_plazo() -> dict[str, Filtro]:
    """The figures of what runs late, each as the filter of the list it opens: the home page's and the daily
    digest's (:mod:`mpv.tramites.resumen`), so the two cannot disagree."""
    return {"vencidos": Filtro(plazo="vencido"), "por_vencer": Filtro(plazo="por_vencer", orden="vence"),
            "procedimientos_por_vencer": Filtro(plazo="procedimiento_por_vencer")}


def filtros_inicio(rol: str, hoy: Hoy) -> dict[str, Filtro]:
    """The home page's figures that open Trámites recibidos, each as the filter of the list it opens."""
    plazos = filtros_plazo()
    if rol == "oficina":
        return plazos
    return {"presentados_hoy": Filtro(desde=hoy.fecha, hasta=hoy.fecha),
            "por_recepcionar": Filtro(estado="Registrado"), "por_derivar": Filtro(estado="Recibido"),
            "en_oficinas": Filtro(ubicacion="oficinas"), "observados": Filtro(estado="Observado"), **plazos}


def cifras(filtros: dict[str, Filtro], oficina_id: int | None, hoy: Hoy, tz) -> dict[str, int]:
    """Each of ``filtros`` counted as the list counts it, within what waits in the office ``oficina_id`` (every
    row when None)."""
    return {clave: contar(alcance(filtro, oficina_id), tz, hoy) for clave, filtro in filtros.items()}


def contadores(filtros: dict[str, Filtro], oficina_id: int | None, hoy: Hoy, tz,
               revisiones: frozenset[str] = frozenset()) -> dict[str, int]:
    """The home page's figures: each of ``filtros`` (:func:`filtros_inicio`) counted as the list counts it,
    within what the user may list, and the sections of an office's tray (``oficina_id``): ``revisiones`` are the
    tasks that review an escrito, a section of their own."""
    figuras = cifras(filtros, oficina_id, hoy, tz)
    if oficina_id is not None:  # the tray's sections (/bandeja): its tasks, and what came «con copia»
        mine = Tarea.select().where(Tarea.oficina == oficina_id)
        figuras.update(por_recibir=mine.where(Tarea.spec == "recibir").count(),
                       en_atencion=mine.where((Tarea.spec != "recibir") & Tarea.spec.not_in(list(revisiones))).count(),
                       escritos=mine.where(Tarea.spec.in_(list(revisiones))).count(),
                       con_copia=Copia.select().where(Copia.oficina == oficina_id).count())
    return figuras


def consulta(filtro: Filtro) -> str:
    """The query string of /tramites that lists ``filtro``'s rows (from its first page)."""
    pares = [("q", filtro.q), ("estado", filtro.estado), ("ubicacion", filtro.ubicacion), ("plazo", filtro.plazo),
             ("desde", filtro.desde.isoformat() if filtro.desde else ""),
             ("hasta", filtro.hasta.isoformat() if filtro.hasta else ""),
             ("orden", "" if filtro.orden == "recientes" else filtro.orden)]
    return urlencode([(name, value) for name, value in pares if value])


# -- the pages: one action each ----------------------------------------------------------------------------
@dataclasses.dataclass
class Recibidos:
    """Fig. 3: a page of Trámites recibidos, and what its filters and row actions offer."""

    pagina: Pagina
    estados: list[str]  # the process's estados, for the filter
    derivables: set[str]  # the estados in which a row offers «Derivar»
    puede_derivar: bool


def recibidos(services, actor: Actor, filtro: Filtro) -> Recibidos:
    """Fig. 3: the page of the register ``filtro`` asks for, within what ``actor`` may list (an office user,
    what waits in their office). :raise NotAllowed: not staff, or an office user with no office."""
    solo_personal(actor)
    calendario = services.calendario
    pagina = tramites(alcance(filtro, oficina_de(actor)), calendario.tz, search=services.busqueda,
                      hoy=Hoy.segun(calendario, services.clock()))
    definition = services.definitions.active()
    return Recibidos(pagina, definition.estados(), definition.estados_de("recepcion", "derivacion"),
                     puede_derivar=actor.rol == "mesa")


@dataclasses.dataclass
class Inicio:
    """Fig. 2: today, the figures for the user's role and office, the filter of the list each figure opens
    (the count and the link come from one filter), and up to ten of the user's pending tasks."""

    hoy: date
    figuras: dict[str, int]
    filtros: dict[str, Filtro]
    tareas: list[Tarea]  # with their Expediente joined


def inicio(services, actor: Actor) -> Inicio:
    """Fig. 2: the home page of ``actor``. :raise NotAllowed: not staff, or an office user with no office."""
    solo_personal(actor)
    calendario = services.calendario
    hoy = Hoy.segun(calendario, services.clock())
    oficina_id = oficina_de(actor)
    filtros = filtros_inicio(actor.rol, hoy)
    tareas = []
    if actor.rol in ("mesa", "oficina"):
        query = Tarea.select(Tarea, Expediente).join(Expediente).where(Tarea.rol == actor.rol)
        if oficina_id is not None:
            query = query.where(Tarea.oficina == oficina_id)
        tareas = list(query.order_by(Tarea.desde).limit(10))
    revisiones = services.definitions.revisiones_de_escritos() if oficina_id is not None else frozenset()
    return Inicio(hoy.fecha, contadores(filtros, oficina_id, hoy, calendario.tz, revisiones), filtros, tareas)
