"""The queries behind the lists and counters: keyset pagination on indexed columns, no OFFSET, no
COUNT over the whole register, rows as dicts or tuples (cheaper than model instances)."""
from __future__ import annotations

import base64
import dataclasses
import re
from datetime import date, datetime, time, timedelta, timezone

import orjson
import peewee as pw

from .models import Copia, Evento, Expediente, Oficina, Tarea, TipoDocumento
from .text import fold

PAGE = 50

ORDENES = {
    "recientes": "Más recientes primero",
    "antiguos": "Más antiguos primero",
    "vence": "Vencen primero",
}

_NUMERO = re.compile(r"^(\d{4})-(\d{1,6})$")


@dataclasses.dataclass
class Filtro:
    q: str = ""
    estado: str = ""
    desde: date | None = None
    hasta: date | None = None
    orden: str = "recientes"
    oficina_id: int | None = None  # only expedientes now in this office
    tipo_documento_id: int | None = None
    remitente: str = ""  # words of the sender's name, or their document number
    cursor: str = ""
    atras: bool = False


@dataclasses.dataclass
class Pagina:
    filas: list[dict]
    siguiente: str = ""
    anterior: str = ""


COLUMNS = (Expediente.id, Expediente.numero, Expediente.presentado_en, Expediente.fecha_presentacion,
           Expediente.remitente_nombre, Expediente.remitente_documento, Expediente.tipo_documento,
           Expediente.asunto, Expediente.estado, Expediente.tarea_actual, Expediente.oficina_actual,
           Expediente.vence, Expediente.vencido, Expediente.terminado)
# A page's row: those columns, and the names of its document type and office (joined, not looked up).
_FILA = [(field.name, field) for field in COLUMNS] + [("tipo_nombre", TipoDocumento.nombre),
                                                       ("oficina_nombre", Oficina.nombre)]


def _encode(values) -> str:
    raw = "|".join("" if v is None else (v.isoformat() if isinstance(v, datetime) else str(v)) for v in values)
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _decode(cursor: str):
    """The (moment, id) a cursor of :func:`_encode` carries; None for anything else: a cursor comes
    from the address bar, so it may be tampered with (a naive or out-of-range moment, a huge id)."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        key, ident = raw.rsplit("|", 1)
        moment, number = (datetime.fromisoformat(key) if key else None), int(ident)
        if moment is not None:
            moment = moment.astimezone(timezone.utc) if moment.tzinfo else None
    except (ValueError, UnicodeDecodeError, OverflowError):
        return None
    if (key and moment is None) or not 0 <= number < 2**63:
        return None
    return moment, number


def tramites(filtro: Filtro, tz, search=None, limite: int = PAGE) -> Pagina:
    """A page of ``limite`` rows of the register, newest first by default; ``cursor`` continues after
    (or before) a row."""
    column = Expediente.vence if filtro.orden == "vence" else Expediente.presentado_en
    ascending = filtro.orden in ("antiguos", "vence")
    if filtro.atras:
        ascending = not ascending
    query = (Expediente.select(*(node.alias(name) for name, node in _FILA))
             .join(TipoDocumento, pw.JOIN.LEFT_OUTER).switch(Expediente)  # LEFT: expediente stays the outer loop
             .join(Oficina, pw.JOIN.LEFT_OUTER, on=(Expediente.oficina_actual == Oficina.id)))
    if filtro.estado:
        query = query.where(Expediente.estado == filtro.estado)
    if filtro.oficina_id:
        query = query.where(Expediente.oficina_actual == filtro.oficina_id)
    if filtro.tipo_documento_id:
        query = query.where(Expediente.tipo_documento == filtro.tipo_documento_id)
    if filtro.remitente.strip():
        query = _remitente(query, filtro.remitente.strip())
    # The first and last days of the calendar bound nothing (and past them the arithmetic overflows).
    if filtro.desde and filtro.desde > date.min:
        query = query.where(Expediente.presentado_en >= datetime.combine(filtro.desde, time(0), tz))
    if filtro.hasta and filtro.hasta < date.max:
        query = query.where(Expediente.presentado_en < datetime.combine(filtro.hasta + timedelta(days=1), time(0), tz))
    if filtro.orden == "vence":
        query = query.where(Expediente.vence.is_null(False))
    if filtro.q:
        query = _search(query, filtro.q.strip(), search)
    decoded = _decode(filtro.cursor) if filtro.cursor else None
    if decoded:
        key, ident = decoded
        pair = pw.Tuple(column, Expediente.id)
        bound = pw.Tuple(column.db_value(key), ident)  # stored text, so the comparison is exact
        query = query.where(pair > bound if ascending else pair < bound)
    order = (column.asc(), Expediente.id.asc()) if ascending else (column.desc(), Expediente.id.desc())
    keyname = "vence" if filtro.orden == "vence" else "presentado_en"
    rows = _filas(query.order_by(*order).limit(limite + 1))
    rows.sort(key=lambda r: (r[keyname], r["id"]), reverse=not ascending)
    more = len(rows) > limite
    rows = rows[:limite]
    if filtro.atras:
        rows.reverse()
    pagina = Pagina(rows)
    if rows:
        first, last = rows[0], rows[-1]
        has_next = more if not filtro.atras else bool(filtro.cursor)
        has_prev = bool(filtro.cursor) if not filtro.atras else more
        if has_next:
            pagina.siguiente = _encode((last[keyname], last["id"]))
        if has_prev:
            pagina.anterior = _encode((first[keyname], first["id"]))
    return pagina


def _filas(query) -> list[dict]:
    """The rows of a page query, as dicts, in no particular order.

    On SQLite they come back packed in one JSON array. Python's sqlite3 lets go of the GIL and takes it
    back at every row; under the server's threads each of those hand-offs costs more than the row itself
    (Trámites recibidos, 1M expedientes, 8 waitress threads: 125 req/s with a row per step, 226 with one;
    see tests/bench/bench_tabla.py --consultas).
    """
    if not isinstance(Expediente._meta.database.obj, pw.SqliteDatabase):
        return list(query.dicts())
    sql, params = query.sql()
    names = [name for name, _ in _FILA]
    packed = ", ".join(f'"{name}"' for name in names)
    text = Expediente._meta.database.execute_sql(
        f"SELECT json_group_array(json_array({packed})) FROM ({sql})", params).fetchone()[0]
    converters = [node.python_value for _, node in _FILA]
    return [{name: convert(value) for name, convert, value in zip(names, converters, values)}
            for values in orjson.loads(text)]


def _remitente(query, texto: str):
    """Expedientes whose sender has this document number, or every word of ``texto`` in their name."""
    if re.fullmatch(r"[0-9A-Za-z]{8,12}", texto) and any(c.isdigit() for c in texto):
        return query.where(Expediente.remitente_documento == texto.upper())
    for word in texto.split()[:8]:
        query = query.where(Expediente.remitente_nombre.contains(word))
    return query


def _search(query, q: str, search):
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


def contadores(usuario, now: datetime, hoy_desde: datetime, por_vencer_hasta: datetime) -> dict[str, int]:
    """The home page's figures for this user's role and office."""
    abiertos = Expediente.terminado == False  # noqa: E712
    vencidos = abiertos & ((Expediente.vencido == True) | (Expediente.vence <= now))  # noqa: E712
    por_vencer = abiertos & (Expediente.vencido == False) & (Expediente.vence > now) & (  # noqa: E712
        Expediente.vence <= por_vencer_hasta)
    tareas = Tarea.select()
    if usuario.rol == "oficina":
        mine = Tarea.oficina == usuario.oficina_id
        en_oficina = Expediente.id.in_(Tarea.select(Tarea.expediente).where(mine))
        return {
            "por_recibir": tareas.where(mine & (Tarea.spec == "recibir")).count(),
            "en_atencion": tareas.where(mine & (Tarea.spec == "atencion")).count(),
            "vencidos": Expediente.select().where(vencidos & en_oficina).count(),
            "por_vencer": Expediente.select().where(por_vencer & en_oficina).count(),
            "con_copia": Copia.select().where(Copia.oficina == usuario.oficina_id).count(),
            "mis_tareas": tareas.where(mine).count(),
        }
    return {
        "recibidos_hoy": Expediente.select().where(Expediente.presentado_en >= hoy_desde).count(),
        "por_recepcionar": tareas.where(Tarea.spec == "recepcion").count(),
        "por_derivar": tareas.where(Tarea.spec == "derivacion").count(),
        "en_atencion": tareas.where(Tarea.spec.in_(("recibir", "atencion"))).count(),
        "observados": tareas.where(Tarea.rol == "ciudadano").count(),
        "vencidos": Expediente.select().where(vencidos).count(),
        "por_vencer": Expediente.select().where(por_vencer).count(),
        "mis_tareas": tareas.where(Tarea.rol == usuario.rol).count() if usuario.rol == "mesa" else 0,
    }


def paso_por_oficina(expediente_id: int, codigo: str) -> bool:
    """Whether the expediente has been in (or copied to) the office ``codigo``."""
    destinos = pw.Value(",").concat(Evento.oficina_destino).concat(",")
    history = Evento.select().where(
        (Evento.expediente == expediente_id)
        & ((Evento.oficina_origen == codigo) | destinos.contains(f",{codigo},")))
    copied = Copia.select().join(Oficina).where((Copia.expediente == expediente_id) & (Oficina.codigo == codigo))
    return history.exists() or copied.exists()
