"""Realistic volume: ``mpv demo --expedientes N`` seeds N expedientes of the last two years, in bulk.

Each seeded expediente is one the engine could have produced, so it can be opened and continued:
its rows are cloned from a template the real engine ran (``mpv.demo.escenarios``), with the clone's
own number, sender, subject and act moments; timers are recomputed with the calendar from the act
that started them. Filings are generated day by day, so numbers follow filing order within a year.
Old expedientes are mostly finished; the open ones are recent.

Rows go in batches, one write transaction each, which also continues the Evento hash chain and the
year's numbering. Each table uses the INSERT peewee's ``insert_many`` generates for a chunk, reused
for every chunk of that size: building it anew costs ~2.5 µs per value, most of the time for the
~9 Evento rows of 20 values each expediente has.
"""
from __future__ import annotations

import collections
import dataclasses
import itertools
import random
import time
from datetime import datetime, time as dtime, timedelta, timezone

import orjson
from peewee import fn

from .. import history
from . import personas
from ..tramites import usuarios
from . import sample_pdf
from ..engine import SISTEMA, Actor
from ..errors import InvalidInput, MPVError
from ..tramites.listados import fold
from ..tramites.presentacion import codigo_seguimiento
from ..models import (VIRTUAL, Adjunto, Copia, Evento, Expediente, Numeracion, Oficina, Remitente, Tarea, Temporizador,
                      TipoDocumento, Usuario)
from .escenarios import ESCENARIOS, Dias, Molde, Plantilla, agenda, fecha as fecha_base
from .taller import Taller

# How likely each escenario is for a filing made less than 3 days ago, 3–20, 20–90, and more.
PESOS = {
    "registrado": (30, 0.5, 0, 0), "registrado_vencido": (3, 3, 0.3, 0.05), "observado": (10, 1, 0, 0),
    "subsanado": (5, 0.5, 0, 0), "subsanado_vencido": (1, 1, 0.2, 0), "recibido": (12, 0.5, 0, 0),
    "recibido_vencido": (2, 3, 0.3, 0.05), "derivado": (15, 8, 1, 0.3), "en_atencion": (15, 25, 6, 0.5),
    "vencido": (0, 4, 4, 1.5), "rederivado": (2, 3, 1, 0.2), "rederivado_atencion": (2, 5, 2, 0.3),
    "devuelto": (2, 0.5, 0, 0), "devuelto_vencido": (0.5, 2, 0.5, 0.1), "paralelo": (2, 4, 1, 0.2), "atencion_obs": (2, 4, 1, 0.2),
    "atendido": (3, 20, 45, 50), "atendido_obs": (0.5, 3, 6, 7), "atendido_rederivado": (0.5, 3, 6, 7),
    "atendido_tarde": (0, 2, 6, 8), "atendido_paralelo": (0.5, 2, 4, 4), "atendido_devuelto": (0, 1, 2, 2),
    "atendido_anulado": (0, 1, 2, 2), "atendido_largo": (0, 0.5, 2, 3), "archivado": (3, 5, 6, 6),
    "archivado_obs": (0.5, 1, 1, 1), "no_presentado": (1, 4, 6, 6),
}
assert set(PESOS) == set(ESCENARIOS)
EDADES = (3, 20, 90)  # days: the limits of PESOS's columns
UTC = timezone.utc


@dataclasses.dataclass
class Informe:
    """What a seeding run wrote."""

    expedientes: int = 0
    filas: int = 0  # rows of every table
    eventos: int = 0
    segundos: float = 0.0
    plantillas: int = 0
    por_estado: collections.Counter = dataclasses.field(default_factory=collections.Counter)
    usuarios: list = dataclasses.field(default_factory=list)  # (username, rol, password) created

    def __str__(self):
        rate = self.expedientes / self.segundos if self.segundos else 0
        estados = ", ".join(f"{e} {n:,}" for e, n in self.por_estado.most_common())
        return (f"Sembrados {self.expedientes:,} expedientes ({self.filas:,} filas, {self.eventos:,} eventos) "
                f"en {self.segundos:.1f} s: {rate:,.0f} expedientes/s, {self.filas / (self.segundos or 1):,.0f} "
                f"filas/s, {self.plantillas} plantillas.\nPor estado: {estados}")


class Barra:
    """A progress bar on ``stream`` (stderr): redrawn in place on a terminal, a line per 10 % otherwise."""

    def __init__(self, stream, titulo: str = "Sembrando expedientes"):
        self._stream, self._titulo = stream, titulo
        self._t0 = time.monotonic()
        self._tty = stream.isatty()
        self._shown = -1

    def __call__(self, hechos: int, total: int):
        elapsed = time.monotonic() - self._t0
        rate = hechos / elapsed if elapsed > 0 else 0.0
        pct = hechos * 100 // total if total else 100
        if not self._tty and pct // 10 == self._shown:
            return
        self._shown = pct // 10
        falta = (total - hechos) / rate if rate else 0
        line = (f"{self._titulo} [{'#' * (pct * 30 // 100):.<30}] {hechos:,}/{total:,} {pct}% "
                f"{rate:,.0f}/s, faltan {int(falta) // 60} min {int(falta) % 60:02d} s")
        self._stream.write(f"\r{line}" + ("\n" if hechos >= total else "") if self._tty else line + "\n")
        self._stream.flush()


def sembrar(services, cantidad: int, dias: int = 730, semilla: int | None = None, lote: int = 1000,
            progreso=None, pesos: dict | None = None, oficina: str | None = None) -> Informe:
    """Seed ``cantidad`` expedientes filed over the last ``dias`` days (by the services' clock).

    Creates one user for each active office that has none (returned in ``Informe.usuarios`` with
    their passwords). ``semilla`` makes the run repeatable; ``pesos`` replaces :data:`PESOS`; ``oficina`` (a code)
    sends every derivation to that office (one office's tray, full: ``tests/bench/bench_bandeja.py``).
    :raise InvalidInput: on a bad amount; :raise MPVError: when there are no offices yet (``mpv demo``).
    """
    if cantidad < 0 or dias < 1:
        raise InvalidInput("Indique un número de expedientes (0 o más) y de días (1 o más).")
    started = time.perf_counter()
    sembrador = _Sembrador(services, dias, random.Random(semilla), pesos or PESOS, oficina)
    informe = sembrador.informe
    fechas = _fechas(cantidad, dias, sembrador.ahora, sembrador.rng, services.calendario)
    while batch := list(itertools.islice(fechas, lote)):
        sembrador.write([sembrador.borrador(inicio) for inicio in batch])
        if progreso:
            progreso(informe.expedientes, cantidad)
    informe.segundos = time.perf_counter() - started
    informe.plantillas = len(sembrador.taller)
    return informe


def _fechas(cantidad, dias, ahora, rng, calendario):
    """``cantidad`` filing moments in time order over the last ``dias`` days: fewer on weekends and
    holidays, more lately (the virtual desk gains users), mostly in the day, and never after ``ahora``."""
    hoy = calendario.fecha_local(ahora)
    tz = calendario.tz
    days = [hoy - timedelta(days=dias - 1 - i) for i in range(dias)]
    weights = [(1.0 if calendario.es_habil(d) else 0.25 if d.weekday() == 5 else 0.12) * (0.6 + 0.8 * i / dias)
               for i, d in enumerate(days)]
    total, done, acc = sum(weights), 0, 0.0
    for d, w in zip(days, weights):
        acc += w
        n = round(acc * cantidad / total) - done
        done += n
        midnight = datetime.combine(d, dtime(0), tz)
        part = min(1.0, (ahora - midnight).total_seconds() / 86400)  # of today, only what has passed
        seconds = sorted(rng.uniform(7.5 * 3600, 18.5 * 3600) if rng.random() < 0.85 else rng.uniform(0, 86400)
                         for _ in range(n))
        for s in seconds:
            yield (midnight + timedelta(seconds=int(s * part))).astimezone(UTC)


@dataclasses.dataclass
class _Borrador:
    plantilla: Plantilla
    moments: list[datetime]
    dues: list[datetime]
    persona: dict
    asunto: str
    tipo: str
    numero_documento: str
    folios: int
    ip: str


class _Sembrador:
    def __init__(self, services, dias: int, rng: random.Random, pesos: dict, oficina: str | None = None):
        self.services, self.db, self.rng = services, services.db, rng
        self.ahora = services.clock().astimezone(UTC).replace(microsecond=0)
        self.informe = Informe()
        mesa, personal, self.informe.usuarios = _personal(services)
        # Each user created wrote its audit row: this run's rows too.
        self.informe.eventos += len(self.informe.usuarios)
        self.informe.filas += 2 * len(self.informe.usuarios)
        hoy = services.calendario.fecha_local(self.ahora)
        self.dias = Dias(services.calendario, hoy - timedelta(days=dias + 30), hoy + timedelta(days=400))
        inicio = datetime.combine(self.dias.habil_o_siguiente(hoy - timedelta(days=dias)), dtime(9, 0),
                                  services.calendario.tz).astimezone(UTC)
        self.taller = Taller(services, mesa, personal, self.dias, inicio, sample_pdf("Solicitud", 2))
        self.oficinas = sorted(personal)
        if oficina is not None:
            if oficina not in personal:
                raise InvalidInput(f"No existe la oficina {oficina} (o no está activa).")
            self.oficinas = [oficina]
        self.pesos_oficina = list(itertools.accumulate(personas.PESOS_OFICINA.get(c, 2) for c in self.oficinas))
        self.escenarios = list(pesos)
        self.pesos = [list(itertools.accumulate(pesos[e][col] for e in self.escenarios)) for col in range(4)]
        self.tipos = dict(TipoDocumento.select(TipoDocumento.codigo, TipoDocumento.id)
                          .where(TipoDocumento.activo == True).tuples())  # noqa: E712
        if not self.tipos:
            raise MPVError("No hay tipos de documento: cree los datos base con «mpv demo».")
        self.recientes = collections.deque(maxlen=500)  # senders who may file again
        self.tablas = {model: _Tabla(self.db, model, names) for model, names in _COLUMNAS.items()}

    # -- one clone, before its transaction ------------------------------------------------
    def borrador(self, inicio: datetime) -> _Borrador:
        rng = self.rng
        edad = (self.ahora - inicio).total_seconds() / 86400
        column = sum(edad >= limit for limit in EDADES)
        x = rng.choices(self.oficinas, cum_weights=self.pesos_oficina)[0]
        plan = None
        for attempt in range(6):
            if attempt < 3:
                escenario = rng.choices(self.escenarios, cum_weights=self.pesos[column])[0]
            else:  # one of the two registrados always fits
                escenario = ("atendido", "registrado", "registrado_vencido")[attempt - 3]
            plantilla = self.taller.plantilla(escenario, x)
            plan = agenda(plantilla, inicio, rng, self.dias, self.ahora)
            if plan:
                break
        if self.recientes and rng.random() < 0.15:
            persona = rng.choice(self.recientes)
        else:
            persona = personas.persona(rng)
            self.recientes.append(persona)
        anio = self.services.calendario.fecha_local(inicio).year
        asunto, tipo = personas.asunto(rng, x, anio)
        tipo = tipo if tipo in self.tipos else ("SOL" if "SOL" in self.tipos else next(iter(self.tipos)))
        ip = f"{rng.choice((179, 181, 190, 200))}.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"
        return _Borrador(plantilla, plan[0], plan[1], persona, asunto, tipo,
                         personas.numero_documento(rng, persona, tipo, anio),
                         rng.choice((1, 1, 2, 2, 3, 4, 5, 6, 8, 10, 12, 20, 35)), ip)

    # -- a batch, in one write transaction ------------------------------------------------
    def write(self, borradores: list[_Borrador]):
        rows = {model: [] for model in _COLUMNAS}
        calendario = self.services.calendario
        with self.db.write():
            remitentes = self._ids(Remitente, len(borradores))
            expedientes = self._ids(Expediente, len(borradores))
            numeros = self._numeros([calendario.fecha_local(b.moments[0]).year for b in borradores])
            seq, prev = history.head(self.db)
            for b, rem_id, exp_id, (anio, correlativo) in zip(borradores, remitentes, expedientes, numeros):
                seq, prev = self._clone(b, rem_id, exp_id, anio, correlativo, seq, prev, rows)
            for model, table_rows in rows.items():  # parents first: _COLUMNAS is in that order
                self.tablas[model].write(table_rows)
            history.move_head(seq, prev)
        informe = self.informe
        informe.expedientes += len(borradores)
        informe.eventos += len(rows[Evento])
        informe.filas += sum(len(r) for r in rows.values())

    def _clone(self, b: _Borrador, rem_id, exp_id, anio, correlativo, seq, prev, rows):
        p, persona = b.plantilla, b.persona
        m_db = [_db_time(m) for m in b.moments]
        m_iso = [m.isoformat() for m in b.moments]
        d_iso = [d.isoformat() for d in b.dues]
        numero = f"{anio}-{correlativo:06d}"
        nombre = personas.nombre_completo(persona)
        fecha = self.services.calendario.fecha_presentacion(b.moments[0]).isoformat()
        rows[Remitente].append((rem_id, *(persona[k] for k in _PERSONA)))
        slots = {"numero": f'"numero":"{numero}"', "tipo": f'"tipo_documento":"{b.tipo}"'}
        slots.update((i, f'"{value}"') for i, value in enumerate(d_iso))
        fechas = {base: fecha_base(b.moments, base, self.dias) for base in set(p.fechas.values())}
        slots.update((("fecha", base), f'"{d.isoformat()}"') for base, d in fechas.items())
        e = p.expediente
        vence = _db_time(b.dues[p.vence]) if p.vence is not None else None
        rows[Expediente].append((
            exp_id, numero, anio, correlativo, codigo_seguimiento(), rem_id, nombre,
            persona["numero_documento_identidad"], self.tipos[b.tipo], b.numero_documento, b.asunto,
            fold(f"{nombre} {b.asunto} {b.numero_documento}"), b.folios, m_db[0], fecha, e["definicion_id"],
            e["estado"], e["tarea_actual"], e["oficina_actual_id"], vence, e["vencido"], e["terminado"],
            p.estado_motor.fill(slots), e["formato_estado"], e["version"], m_db[p.actualizado],
            None, "", "", None, False, e["silencio"], VIRTUAL))
        rows[Adjunto].extend((exp_id, sha, nom, size, tipo, m_db[k]) for sha, nom, size, tipo, k in p.adjuntos)
        rows[Tarea].extend((exp_id, tid, spec, nom, rol, of, m_db[k]) for tid, spec, nom, rol, of, k in p.tareas)
        rows[Temporizador].extend((exp_id, tid, nom, _db_time(b.dues[i]), fechas[p.timers[i][1]])
                                  for tid, nom, i in p.temporizadores)
        rows[Copia].extend((exp_id, of, m_db[k], tarea) for of, k, tarea in p.copias)
        eventos = rows[Evento]
        for (k, tipo, accion, desc, actor, actor_nombre, rol, actor_oficina, ip, tarea, tarea_id, kd, origen,
             destino, detalle, payload) in p.eventos:
            if isinstance(payload, list):  # the filing: its own data, as mpv.tramites.presentacion.presentar records it
                payload = orjson.dumps({**persona, "tipo_documento": b.tipo, "numero_documento": b.numero_documento,
                                        "asunto": b.asunto, "folios": b.folios, "adjuntos": payload,
                                        "fecha_presentacion": fecha}, option=orjson.OPT_SORT_KEYS).decode()
            elif isinstance(payload, Molde):
                payload = payload.fill(slots)
            seq += 1
            values = [seq, exp_id, m_iso[k], tipo, accion, desc, actor,
                      nombre if actor_nombre is None else actor_nombre, rol, actor_oficina,
                      b.ip if ip is None else ip, tarea, tarea_id, None if kd is None else m_iso[kd], origen, destino,
                      detalle, payload, prev]
            prev = history.hash_values(values)
            values[2], values[13] = m_db[k], None if kd is None else m_db[kd]
            values.append(prev)
            eventos.append(values)
        self.informe.por_estado[e["estado"]] += 1
        return seq, prev

    def _ids(self, model, n: int):
        """``n`` new primary keys for ``model`` (the write transaction holds SQLite's lock)."""
        if self.db.is_sqlite:
            start = (model.select(fn.MAX(model.id)).scalar() or 0) + 1
            return range(start, start + n)
        cursor = self.db.peewee.execute_sql("SELECT nextval(pg_get_serial_sequence(%s, 'id')) "
                                            "FROM generate_series(1, %s)", (model._meta.table_name, n))
        return [row[0] for row in cursor.fetchall()]

    def _numeros(self, anios: list[int]) -> list[tuple[int, int]]:
        """The next consecutive number of each year's register, for filings in time order."""
        siguiente = {}
        for anio, count in collections.Counter(anios).items():
            Numeracion.insert(anio=anio, ultimo=0).on_conflict_ignore().execute()
            ultimo = self.db.locked(Numeracion.select().where(Numeracion.anio == anio)).get().ultimo
            Numeracion.update(ultimo=ultimo + count).where(Numeracion.anio == anio).execute()
            siguiente[anio] = ultimo
        result = []
        for anio in anios:
            siguiente[anio] += 1
            result.append((anio, siguiente[anio]))
        return result


_PERSONA = ("tipo_persona", "tipo_documento_identidad", "numero_documento_identidad", "nombres", "apellidos",
            "razon_social", "email", "telefono", "direccion")
# The columns written per table, parents first; values are in database form (see _db_time).
_COLUMNAS = {
    Remitente: ("id",) + _PERSONA,
    Expediente: ("id", "numero", "anio", "correlativo", "codigo", "remitente", "remitente_nombre",
                 "remitente_documento", "tipo_documento", "numero_documento", "asunto", "busqueda", "folios",
                 "presentado_en", "fecha_presentacion", "definicion", "estado", "tarea_actual", "oficina_actual",
                 "vence", "vencido", "terminado", "estado_motor", "formato_estado", "version", "actualizado_en",
                 "procedimiento", "requisitos", "recibo_pago", "plazo_vence", "plazo_suspendido", "silencio", "via"),
    Adjunto: ("expediente", "sha256", "nombre", "tamano", "tipo", "creado_en"),
    Tarea: ("expediente", "task_id", "spec", "nombre", "rol", "oficina", "desde"),
    Temporizador: ("expediente", "task_id", "nombre", "vence", "desde"),
    Copia: ("expediente", "oficina", "desde", "tarea"),
    Evento: history.HASHED + ("hash",),
}
_db_time = Evento.momento.db_value


class _Tabla:
    """Writes rows of one table with the INSERT that ``insert_many`` generates for a chunk of them,
    generated once per chunk size and then reused with each chunk's values. Chunks hold 512 rows
    (fewer for wide tables) and the rest goes in power-of-two chunks, so a handful of sizes serve."""

    def __init__(self, database, model, names):
        self._db = database.peewee
        self._model = model
        self._fields = [model._meta.fields[name] for name in names]
        # SQLite takes up to 32,766 parameters per statement, PostgreSQL 65,535.
        self._chunk = 1 << min(9, (30000 // len(names)).bit_length() - 1)
        self._sql: dict[int, str] = {}

    def write(self, rows: list):
        start = 0
        while start < len(rows):
            size = min(self._chunk, 1 << ((len(rows) - start).bit_length() - 1))
            chunk = rows[start:start + size]
            start += size
            sql = self._sql.get(size)
            if sql is None:
                blank = [[None] * len(self._fields)] * len(chunk)
                sql = self._sql[len(chunk)] = self._model.insert_many(blank, fields=self._fields).returning().sql()[0]
            self._db.execute_sql(sql, [value for row in chunk for value in row])


def _personal(services) -> tuple[Actor, dict[str, Actor], list]:
    """Who acts in the templates: a user of mesa de partes and of each active office, created when
    missing. Returns (mesa, {office code: actor}, [(username, rol, password) created])."""
    if Oficina.mesa_de_partes() is None:
        raise MPVError("No hay una oficina de mesa de partes: cree las oficinas con «mpv demo».")
    actors, created = {}, []
    with services.db.write():
        for i, oficina in enumerate(Oficina.activas()):
            rol = "mesa" if oficina.es_mesa_partes else "oficina"
            usuario = (Usuario.select().where((Usuario.oficina == oficina) & (Usuario.rol == rol)
                                              & (Usuario.activo == True))  # noqa: E712
                       .order_by(Usuario.id).first())
            if usuario is None:
                username = oficina.codigo.lower()
                while len(username) < 3 or usuarios.existe(username):  # «GM» → «gm1»; «gdur» taken → «gdur1»
                    username += "1"
                usuario, password = usuarios.crear_usuario(
                    services, SISTEMA, username, f"Personal de {oficina.nombre}"[:200], rol, oficina.codigo,
                    f"{username}@muni.example.gob.pe", cambiar_clave=False)
                created.append((username, rol, password))
            actors[oficina.codigo] = (oficina.es_mesa_partes, Actor.de_usuario(usuario, ip=f"10.10.{i}.{20 + i}"))
    mesa = next(actor for es_mesa, actor in actors.values() if es_mesa)
    return mesa, {code: actor for code, (es_mesa, actor) in actors.items() if not es_mesa}, created
