"""The queries behind the lists and counters: keyset pagination on indexed columns, no OFFSET, no
COUNT over the whole register, rows as tuples (cheaper than model instances)."""
from __future__ import annotations

import base64
import dataclasses
import re
import unicodedata
from datetime import date, datetime, time, timedelta

import peewee as pw

from .models import Copia, Evento, Expediente, Oficina, Tarea, TipoDocumento

PAGE = 50

ORDENES = {
    "recientes": "Más recientes primero",
    "antiguos": "Más antiguos primero",
    "vence": "Vencen primero",
}

_NUMERO = re.compile(r"^(\d{4})-(\d{1,6})$")


def fold(text: str) -> str:
    """Lowercase without accents: what search compares."""
    text = unicodedata.normalize("NFKD", text or "")
    return "".join(c for c in text if not unicodedata.combining(c)).lower()


@dataclasses.dataclass
class Filtro:
    q: str = ""
    estado: str = ""
    desde: date | None = None
    hasta: date | None = None
    orden: str = "recientes"
    oficina_id: int | None = None  # only expedientes now in this office
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


def _encode(values) -> str:
    raw = "|".join("" if v is None else (v.isoformat() if isinstance(v, datetime) else str(v)) for v in values)
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _decode(cursor: str):
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        key, ident = raw.rsplit("|", 1)
        return (datetime.fromisoformat(key) if key else None), int(ident)
    except (ValueError, UnicodeDecodeError):
        return None


def tramites(filtro: Filtro, tz, search=None) -> Pagina:
    """A page of the register, newest first by default; ``cursor`` continues after (or before) a row."""
    column = Expediente.vence if filtro.orden == "vence" else Expediente.presentado_en
    ascending = filtro.orden in ("antiguos", "vence")
    if filtro.atras:
        ascending = not ascending
    query = Expediente.select(*COLUMNS)
    if filtro.estado:
        query = query.where(Expediente.estado == filtro.estado)
    if filtro.oficina_id:
        query = query.where(Expediente.oficina_actual == filtro.oficina_id)
    if filtro.desde:
        query = query.where(Expediente.presentado_en >= datetime.combine(filtro.desde, time(0), tz))
    if filtro.hasta:
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
    rows = list(query.order_by(*order).limit(PAGE + 1).dicts())
    more = len(rows) > PAGE
    rows = rows[:PAGE]
    if filtro.atras:
        rows.reverse()
    keyname = "vence" if filtro.orden == "vence" else "presentado_en"
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


def tipos_documento() -> dict[int, str]:
    return dict(TipoDocumento.select(TipoDocumento.id, TipoDocumento.nombre).tuples())


def oficinas() -> dict[int, str]:
    return dict(Oficina.select(Oficina.id, Oficina.nombre).tuples())


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
