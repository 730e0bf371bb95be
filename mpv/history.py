"""History: Evento rows, appended to one hash chain, and the seguimiento read back from them.

Each row's hash covers its fields and the previous row's hash; the Cadena row holds the head, so
a modified, deleted, reordered or inserted row — the last one included — breaks verification at
the first bad row. The seguimiento is read from these rows only, never from process data.
"""
from __future__ import annotations

import dataclasses
import hashlib
from datetime import datetime, timezone

import orjson
import peewee as pw

from .models import Cadena, Evento, Oficina, UTCDateTimeField
from .plazos import Calendario
from .prepared import PreparedQuery

GENESIS = "0" * 64

# The kinds of row a seguimiento shows; decisions and ends stay in the auditor's full history.
MOVIMIENTOS = ("inicio", "tarea", "temporizador", "accion", "escrito", "asignacion")
INTERNOS = ("asignacion",)  # movements inside an office, which the citizen's seguimiento does not show

# The fields each row's hash covers, in this order (``hash_values`` takes their values).
HASHED = ("seq", "expediente", "momento", "tipo", "accion", "descripcion", "actor", "actor_nombre", "rol",
           "actor_oficina", "ip", "tarea", "tarea_id", "tarea_desde", "oficina_origen", "oficina_destino",
           "detalle", "payload", "prev_hash")


def _value(row: Evento, name: str):
    if name in ("expediente", "actor"):
        return getattr(row, f"{name}_id")
    value = getattr(row, name)
    return value.isoformat() if isinstance(value, datetime) else value


# The columns :func:`verify` reads, in HASHED order (foreign keys come as their ids), and which are datetimes.
_HASHED_COLUMNS = [getattr(Evento, name) for name in HASHED]
_DATETIMES = [i for i, name in enumerate(HASHED) if isinstance(getattr(Evento, name), UTCDateTimeField)]
_SEQ, _PREV_HASH = HASHED.index("seq"), HASHED.index("prev_hash")


# Every engine step appends: the head and the insert are prepared (mpv.prepared: SQL written once).
_HEAD = PreparedQuery(Cadena, lambda: Cadena.select().where(Cadena.id == 1), lock=True)
_MOVE_HEAD = PreparedQuery(Cadena, lambda seq, hash_: Cadena.update(
    {Cadena.seq: seq.of(Cadena.seq), Cadena.hash: hash_.of(Cadena.hash)}).where(Cadena.id == 1))
_INSERT = PreparedQuery.insertion(Evento, *HASHED, "hash")


def row_hash(row: Evento) -> str:
    return hash_values([_value(row, name) for name in HASHED])


def hash_values(values: list) -> str:
    """The hash of a row given as the values of :data:`HASHED`, in order: ids for ``expediente`` and
    ``actor``, ``isoformat()`` of the UTC datetimes, the payload as its stored JSON text."""
    return hashlib.sha256(orjson.dumps(values)).hexdigest()


def ensure_chain():
    """Create the chain's head row if the database has none (idempotent)."""
    if Cadena.get_or_none(Cadena.id == 1) is None:
        Cadena.insert(id=1, seq=0, hash=GENESIS).on_conflict_ignore().execute()


def append(database, rows: list[dict]) -> list[Evento]:
    """Append ``rows`` (Evento field values) to the chain. Call inside ``database.write()``."""
    if not rows:
        return []
    seq, prev = head(database)
    saved = []
    for fields in rows:
        seq += 1
        for name in ("momento", "tarea_desde"):  # the hash covers the UTC text a read returns
            if fields.get(name) is not None:
                fields[name] = fields[name].astimezone(timezone.utc)
        payload = fields.get("payload", {})
        row = Evento(**{**fields, "payload": orjson.dumps(payload, option=orjson.OPT_SORT_KEYS).decode()},
                     seq=seq, prev_hash=prev)
        row.hash = prev = row_hash(row)
        row.id = _INSERT.insert(*(getattr(row, f"{name}_id" if name in ("expediente", "actor") else name)
                                  for name in HASHED), row.hash)
        saved.append(row)
    move_head(seq, prev)
    return saved


def head(database) -> tuple[int, str]:
    """The chain's last (seq, hash), locked until the write transaction ends. Call inside ``database.write()``."""
    row = _HEAD.first()
    if row is None:
        raise Cadena.DoesNotExist("La cadena de auditoría no tiene cabeza: ejecute «mpv init-db».")
    return row.seq, row.hash


def move_head(seq: int, hash_: str):
    """Record (seq, hash) as the chain's last row, after appending rows up to it."""
    _MOVE_HEAD.execute(seq, hash_)


@dataclasses.dataclass
class Verification:
    ok: bool
    checked: int
    seq: int | None = None  # the first bad row's position in the chain
    problem: str = ""
    # Where an intact chain ended (the last row's hash, and the one before it), to resume from there.
    last_hash: str = GENESIS
    before: str | None = None

    def __str__(self):
        if self.ok:
            return f"Cadena de auditoría íntegra: {self.checked} eventos verificados."
        return f"Cadena de auditoría ALTERADA en el evento {self.seq}: {self.problem}"


def verify(batch: int = 5000, desde: Verification | None = None) -> Verification:
    """Walk the chain in ``seq`` order and name the first row that breaks it.

    The head is read first and only rows up to it are walked, so rows appended meanwhile (each append
    commits its rows and the head together) are no false alarm. ``desde``: an earlier intact result
    to continue from, checking only the rows appended since (it trusts the rows it covered).
    """
    row = Cadena.get_or_none(Cadena.id == 1)
    head_seq, head_hash = (row.seq, row.hash) if row else (0, GENESIS)
    expected_seq, prev, before, checked = 1, GENESIS, None, 0  # before: the hash of the row two back
    if desde is not None and desde.ok and desde.checked <= head_seq:
        expected_seq, prev, before, checked = desde.checked + 1, desde.last_hash, desde.before, desde.checked
    while expected_seq <= head_seq:
        # Plain tuples in HASHED order: building a model per row cost more than hashing it (2.3× slower).
        rows = (Evento.select(*_HASHED_COLUMNS, Evento.hash)
                .where((Evento.seq >= expected_seq) & (Evento.seq <= head_seq))
                .order_by(Evento.seq).limit(batch).tuples())
        count = 0
        for row in rows:
            count += 1
            values, stored = list(row[:-1]), row[-1]
            for i in _DATETIMES:
                if values[i] is not None:
                    values[i] = values[i].isoformat()
            seq, prev_hash = values[_SEQ], values[_PREV_HASH]
            if seq != expected_seq:
                return Verification(False, checked, expected_seq,
                                    f"falta el evento {expected_seq} (eliminado) antes del evento {seq}")
            if prev_hash != prev:
                if prev_hash == before:  # it continues the row two back: the row between them was slipped in
                    return Verification(False, checked - 1, seq - 1, "fue insertado: el evento siguiente continúa "
                                        + (f"al evento {seq - 2}" if seq > 2 else "desde el inicio de la cadena"))
                return Verification(False, checked, seq,
                                    "no continúa al evento anterior (insertado, reordenado o el anterior fue modificado)")
            if hash_values(values) != stored:
                return Verification(False, checked, seq, "su contenido fue modificado")
            before, prev, expected_seq, checked = prev, stored, expected_seq + 1, checked + 1
        if count < batch:
            break
    if checked < head_seq:
        return Verification(False, checked, checked + 1, f"faltan los eventos {checked + 1}–{head_seq} (eliminados)")
    if head_hash != prev:
        return Verification(False, checked, checked,
                            "la cabeza de la cadena no coincide con el último evento (fila añadida o cabeza alterada)")
    # A row past the head is legitimate only if an append committed it (and moved the head) meanwhile.
    last = Evento.select(pw.fn.MAX(Evento.seq)).scalar() or 0
    if last > head_seq and last > Cadena.get_by_id(1).seq:
        return Verification(False, checked, head_seq + 1,
                            "la cabeza de la cadena no coincide con el último evento (fila añadida o cabeza alterada)")
    return Verification(True, checked, last_hash=prev, before=before)


@dataclasses.dataclass
class Movimiento:
    """One line of a seguimiento."""

    momento: datetime  # local time
    tipo: str
    accion: str
    descripcion: str
    tarea: str
    origen: str
    destino: str
    usuario: str
    detalle: str
    dias_habiles: int
    payload: dict
    evento: int = 0  # the Evento row's id (a derivation's cargo is asked for by it)

    @property
    def deriva(self) -> bool:
        """Whether this step sent the expediente to another office (a derivación, a rederivation, a return to
        mesa de partes): each has its cargo."""
        return self.tipo == "tarea" and bool(self.destino) and self.destino != self.origen


def eventos(expediente_id: int, tipos=None):
    query = Evento.select().where(Evento.expediente == expediente_id)
    if tipos:
        query = query.where(Evento.tipo.in_(tipos))
    return query.order_by(Evento.seq)


def seguimiento(expediente_id: int, calendario: Calendario, publico: bool = False,
                definition=None) -> list[Movimiento]:
    """The movements of an expediente from its Evento rows, with business days between them.

    ``publico`` is the citizen's view: staff appear as their office, and only the notes of fields
    not marked ``x-mpv-interno`` in the task's form (``definition`` says which) are shown.
    """
    nombres = Oficina.nombres()
    result, previous = [], None
    for row in eventos(expediente_id, [t for t in MOVIMIENTOS if not (publico and t in INTERNOS)]):
        local = row.momento.astimezone(calendario.tz)
        dias = calendario.habiles_entre(previous.date(), local.date()) if previous else 0
        payload = orjson.loads(row.payload)
        usuario, detalle = row.actor_nombre, row.detalle
        if publico:
            if row.rol not in ("ciudadano", "sistema"):
                usuario = _office_name(nombres, row.actor_oficina) or "Municipalidad"
            detalle = public_notes(definition, row, payload)
        result.append(Movimiento(
            momento=local, tipo=row.tipo, accion=row.accion, descripcion=row.descripcion, tarea=row.tarea,
            origen=_office_name(nombres, row.oficina_origen),
            destino=", ".join(_office_name(nombres, c) for c in row.oficina_destino.split(",") if c),
            usuario=usuario, detalle=detalle, dias_habiles=dias,
            payload={} if publico else payload, evento=row.id))
        previous = local
    return result


def public_notes(definition, row, payload: dict) -> str:
    if row.tipo == "escrito":  # what the citizen wrote of his own escrito
        return row.detalle
    info = definition.user_tasks.get(row.tarea) if definition is not None and row.tipo == "tarea" else None
    if info is None or not info.schema:
        return ""
    props = info.schema.get("properties") or {}
    return "\n".join(str(payload[name]) for name, prop in props.items()
                     if name in payload and isinstance(payload[name], str) and payload[name].strip()
                     and prop.get("x-mpv-historial") and not prop.get("x-mpv-interno"))


def _office_name(nombres: dict, codigo: str) -> str:
    if not codigo:
        return ""
    if codigo == "ciudadano":
        return "Ciudadano"
    return nombres.get(codigo, codigo)
