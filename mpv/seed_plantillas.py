"""Templates for seeding: each kind of history (an *escenario*) run once per office by the real engine.

A template is filed with :func:`mpv.filing.presentar` and moved act by act with ``Engine.complete``,
``send_event`` and ``fire_timers`` under a clock set to each act's moment, inside a transaction that
is rolled back afterwards. Its rows are kept with the times abstracted — every moment becomes the
index of the act that wrote it, every timer the act that started it plus its business days — so a
clone only needs its own act moments (:func:`agenda`) to be exactly what the engine would have
written at those moments.
"""
from __future__ import annotations

import bisect
import contextlib
import dataclasses
import io
import random
import re
from datetime import date, datetime, time, timedelta, timezone

import orjson

from . import seed_datos
from .engine import Actor, Engine
from .filing import presentar
from .models import Adjunto, Copia, Evento, Expediente, Tarea, Temporizador

# The acts after the filing: ok/obs/arch = Recepción by mesa de partes, sub = the citizen's
# subsanación, der:X[+Y][/cc] = derivación (to X, in parallel to Y, with a copy), rec/ate/dev:X = the
# office receives / answers / returns it, red:X>Y = it derives it on to Y, anu = mesa anuls the
# derivación, vence = a timer fires (``mpv timers``).
ESCENARIOS = {
    "registrado": "",
    "observado": "obs",
    "subsanado": "obs sub",
    "recibido": "ok",
    "derivado": "ok der:X",
    "en_atencion": "ok der:X rec:X",
    "vencido": "ok der:X rec:X vence",
    "rederivado": "ok der:X rec:X red:X>Y",
    "rederivado_atencion": "ok der:X rec:X red:X>Y rec:Y",
    "devuelto": "ok der:X rec:X dev:X",
    "paralelo": "ok der:X+Y rec:X rec:Y",
    "atencion_obs": "obs sub ok der:X/cc rec:X",
    "atendido": "ok der:X rec:X ate:X",
    "atendido_obs": "obs sub ok der:X rec:X ate:X",
    "atendido_rederivado": "ok der:X rec:X red:X>Y rec:Y ate:Y",
    "atendido_tarde": "ok der:X rec:X vence ate:X",
    "atendido_paralelo": "ok der:X+Y/cc rec:X rec:Y ate:X ate:Y",
    "atendido_devuelto": "ok der:X rec:X dev:X ok der:Y rec:Y ate:Y",
    "atendido_anulado": "ok der:X anu der:Y rec:Y ate:Y",
    "atendido_largo": "obs sub ok der:X rec:X vence red:X>Y rec:Y ate:Y",
    "archivado": "arch",
    "archivado_obs": "obs sub arch",
    "no_presentado": "obs vence",
}
_TIPOS = {"ok": "conforme", "obs": "observar", "arch": "archivar", "sub": "subsanar", "anu": "anular",
          "vence": "vence", "der": "derivar", "rec": "recibir", "ate": "atender", "dev": "devolver",
          "red": "rederivar"}
# Business days between the previous act and a staff act (lowest, highest).
GAPS = {"conforme": (0, 2), "observar": (0, 2), "archivar": (0, 2), "derivar": (0, 1), "anular": (0, 1),
        "recibir": (0, 2), "atender": (1, 12), "rederivar": (1, 8), "devolver": (1, 8)}
JORNADA = (time(8, 0), time(16, 30))
COPIA_A = ("ALC", "GM", "SG", "OCI")
_ISO = re.compile(r'"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[^"]*"')


@dataclasses.dataclass(frozen=True)
class Acto:
    tipo: str
    oficina: str = ""  # "X" or "Y": the escenario's first or second office
    otra: str = ""  # derivar: the office in parallel; rederivar: the next office
    copia: bool = False


def actos(texto: str) -> list[Acto]:
    result = []
    for token in texto.split():
        code, _, arg = token.partition(":")
        arg, _, copia = arg.partition("/")
        oficina, _, otra = arg.replace(">", "+").partition("+")
        result.append(Acto(_TIPOS[code], oficina, otra, copia == "cc"))
    return result


def usa_oficinas(escenario: str) -> bool:
    return ":" in ESCENARIOS[escenario]


class Dias:
    """Business days of a date range, precomputed from the calendar: O(1) plazos for a million clones."""

    def __init__(self, calendario, desde: date, hasta: date):
        self.tz = calendario.tz
        self.habiles = [desde + timedelta(days=i) for i in range((hasta - desde).days + 1)
                        if calendario.es_habil(desde + timedelta(days=i))]

    def sumar(self, d: date, n: int) -> date:
        """As ``Calendario.sumar_habiles``: the n-th business day after ``d``."""
        return self.habiles[bisect.bisect_right(self.habiles, d) + n - 1] if n else d

    def habil_o_siguiente(self, d: date) -> date:
        return self.habiles[bisect.bisect_left(self.habiles, d)]

    def vencimiento(self, d: date, n: int) -> datetime:
        """As ``Calendario.vencimiento``: midnight after the n-th business day after ``d``, in UTC."""
        fin = datetime.combine(self.sumar(d, n) + timedelta(days=1), time(0), self.tz)
        return fin.astimezone(timezone.utc)

    def plazo_de(self, d: date, due: datetime) -> int:
        """The business days ``n`` with ``vencimiento(d, n) == due``."""
        for n in range(0, 400):
            if self.vencimiento(d, n) >= due:
                if self.vencimiento(d, n) != due:
                    break
                return n
        raise ValueError(f"{due} no es el fin de un plazo contado desde {d}")

    def en_jornada(self, prev: datetime, gap: int, rng: random.Random) -> datetime:
        """A moment in office hours ``gap`` business days after ``prev`` (later the same day when 0)."""
        d = prev.astimezone(self.tz).date()
        d = self.sumar(d, gap) if gap else self.habil_o_siguiente(d)
        start = max(datetime.combine(d, JORNADA[0], self.tz), prev + timedelta(minutes=2))
        end = datetime.combine(d, JORNADA[1], self.tz)
        if start >= end:
            d = self.sumar(d, 1)
            start, end = datetime.combine(d, JORNADA[0], self.tz), datetime.combine(d, JORNADA[1], self.tz)
        return (start + timedelta(seconds=int(rng.random() * (end - start).total_seconds()))).astimezone(timezone.utc)


def momento(acto: Acto, prev: datetime, pendientes: list[datetime], rng, dias: Dias,
            plantilla: bool = False) -> datetime | None:
    """When ``acto`` happens after ``prev`` while timers due at ``pendientes`` wait; None if it cannot.

    Every act but a timer's own firing comes before the pending timers are due, as in real life: a
    due timer fires first (``mpv timers``, or the next step's ``refresh_timers``). Templates space
    their staff acts a business day apart, so each timer they start has its own due time.
    """
    limite = min(pendientes) if pendientes else None
    if acto.tipo == "vence":
        return limite + timedelta(seconds=rng.randint(1, 30))
    if acto.tipo == "subsanar":  # citizens file at any hour, before their plazo ends
        return (prev + (limite - prev) * rng.uniform(0.05, 0.9)).replace(microsecond=0)
    lo, hi = GAPS[acto.tipo]
    if plantilla:
        lo = hi = max(lo, 1)
    gap = rng.randint(lo, hi)
    while True:
        when = dias.en_jornada(prev, gap, rng)
        if limite is None or when < limite:
            return when
        if gap == lo:
            return None
        gap = rng.randint(lo, gap - 1)


class Molde:
    """A text with slots: literal pieces between values that :meth:`fill` puts in, fast."""

    def __init__(self, text: str, slots: dict[str, object]):
        self.parts, self.keys = [], []
        if slots:
            pattern = re.compile("|".join(re.escape(s) for s in sorted(slots, key=len, reverse=True)))
            pos = 0
            for match in pattern.finditer(text):
                self.parts.append(text[pos:match.start()])
                self.keys.append(slots[match.group()])
                pos = match.end()
            text = text[pos:]
        self.tail = text

    def fill(self, values) -> str:
        out = []
        for part, key in zip(self.parts, self.keys):
            out.append(part)
            out.append(values[key])
        out.append(self.tail)
        return "".join(out)


@dataclasses.dataclass
class Plantilla:
    """One escenario's rows as the engine wrote them, with moments as act indexes and timers as slots."""

    escenario: str
    oficina: str  # X (Y is ``Taller.siguiente(X)``), "" when the escenario reaches no office
    actos: list[Acto]
    expediente: dict  # projection fields copied as they are (estado, tarea_actual, oficina_actual…)
    vence: int | None  # the timer whose due time is Expediente.vence
    actualizado: int  # act index of Expediente.actualizado_en
    estado_motor: Molde  # slots: "numero", "tipo", timer indexes
    eventos: list[tuple]
    tareas: list[tuple]  # (task_id, spec, nombre, rol, oficina_id, act)
    temporizadores: list[tuple]  # (task_id, nombre, timer)
    copias: list[tuple]  # (oficina_id, act, tarea)
    adjuntos: list[tuple]  # (sha256, nombre, tamano, tipo, act)
    timers: list[tuple[int, int]]  # per timer: (act that started it, business days)
    pendientes: list[list[int]]  # per act: the timers waiting before it
    disparos: list[list[int]]  # per act: the timers it fired
    finales: list[int]  # timers still waiting at the end


def agenda(p: Plantilla, inicio: datetime, rng, dias: Dias, ahora: datetime):
    """A clone's act moments and timer due times from its filing moment, or None when the escenario
    does not fit before ``ahora`` (an act after now, or a timer that should have fired by now)."""
    moments, dues = [inicio], [None] * len(p.timers)
    _start_timers(p, 0, inicio, dues, dias)
    for k, acto in enumerate(p.actos, 1):
        if acto.tipo == "vence":  # the timers the template fired here, and no other
            fired = p.disparos[k]
            when = max(dues[i] for i in fired) + timedelta(seconds=rng.randint(1, 30))
            if any(dues[i] <= when for i in p.pendientes[k] if i not in fired):
                return None
        else:
            when = momento(acto, moments[-1], [dues[i] for i in p.pendientes[k]], rng, dias)
        if when is None or when > ahora:
            return None
        moments.append(when)
        _start_timers(p, k, when, dues, dias)
    if any(dues[i] <= ahora for i in p.finales):
        return None
    return moments, dues


def _start_timers(p, k, when, dues, dias):
    for i, (start, n) in enumerate(p.timers):
        if start == k:
            dues[i] = dias.vencimiento(when.astimezone(dias.tz).date(), n)


class _Reloj:
    def __init__(self, now: datetime):
        self.now = now

    def __call__(self) -> datetime:
        return self.now


class _Descartar(Exception):
    pass


@contextlib.contextmanager
def descartado(database):
    """A write transaction that is always rolled back (the engine's own transactions nest in it)."""
    try:
        with database.write():
            yield
            raise _Descartar
    except _Descartar:
        pass


class Taller:
    """Builds templates on demand with the real engine, under its own clock, and keeps them."""

    def __init__(self, services, mesa: Actor, personal: dict[str, Actor], dias: Dias, inicio: datetime,
                 principal: bytes):
        self.reloj = _Reloj(inicio)
        self.engine = Engine(services.db, services.definitions, services.calendario, self.reloj,
                             prune=services.engine.prune)
        self.services = dataclasses.replace(services, clock=self.reloj, engine=self.engine)
        self.mesa = mesa
        self.personal = personal  # office code -> a user of that office
        self.dias = dias
        self.inicio = inicio
        self.principal = principal
        self._hechas: dict[tuple[str, str], Plantilla] = {}

    def siguiente(self, x: str) -> str:
        """The office X sends on what it cannot settle (a fixed partner, so one template per X)."""
        y = seed_datos.SIGUIENTE.get(x)
        if y in self.personal and y != x:
            return y
        return next(c for c in sorted(self.personal) if c != x)

    def plantilla(self, escenario: str, x: str) -> Plantilla:
        key = (escenario, x if usa_oficinas(escenario) else "")
        if key not in self._hechas:
            self._hechas[key] = self._build(*key)
        return self._hechas[key]

    def __len__(self):
        return len(self._hechas)

    def _build(self, escenario: str, x: str) -> Plantilla:
        rng = random.Random(f"{escenario}:{x}")
        offices = {"X": x, "Y": self.siguiente(x) if x else ""}
        steps = actos(ESCENARIOS[escenario])
        with descartado(self.services.db):
            moments = [self.inicio]
            self.reloj.now = self.inicio
            exp = self._presentar()
            dues: dict[str, int] = {}  # due time (ISO) -> timer index
            timers, pendientes, seen = [], [[]], set()
            pendientes.append(self._timers(exp.id, 0, moments[0], dues, timers, seen))
            for k, acto in enumerate(steps, 1):
                waiting = [datetime.fromisoformat(d) for d in dues if dues[d] in pendientes[k]]
                when = momento(acto, moments[-1], waiting, rng, self.dias, plantilla=True)
                moments.append(when)
                self.reloj.now = when
                self._act(acto, exp, offices, rng)
                pendientes.append(self._timers(exp.id, k, when, dues, timers, seen))
            disparos = [[] if k == 0 or steps[k - 1].tipo != "vence" else
                         [i for i in pendientes[k] if i not in pendientes[k + 1]] for k in range(len(steps) + 1)]
            return self._capture(escenario, x, steps, exp.id, moments, dues, timers, pendientes, disparos)

    def _presentar(self) -> Expediente:
        services = self.services
        received = services.storage.receive(io.BytesIO(self.principal), "solicitud.pdf",
                                            services.limits.principal_bytes)
        datos = {"tipo_persona": "natural", "tipo_documento_identidad": "DNI", "numero_documento_identidad": "00000000",
                 "nombres": "Plantilla", "apellidos": "De Siembra", "email": "plantilla@example.com",
                 "telefono": "900000000", "direccion": "Jr. Plantilla 1", "tipo_documento": "SOL",
                 "asunto": "Plantilla", "folios": 1, "acepta_notificacion": "true"}
        return presentar(services, datos, received, [], ip="10.0.0.1")

    def _timers(self, expediente_id, k, when, dues, timers, seen) -> list[int]:
        """The timers waiting after act k; new ones are numbered with the act and plazo that started them."""
        waiting = []
        for row in Temporizador.select().where(Temporizador.expediente == expediente_id):
            value = row.vence.isoformat()
            if value not in dues:
                if value in seen:
                    raise ValueError(f"temporizador repetido en la plantilla: {value}")
                dues[value] = len(timers)
                timers.append((k, self.dias.plazo_de(when.astimezone(self.dias.tz).date(), row.vence)))
                seen.add(value)
            waiting.append(dues[value])
        return waiting

    def _act(self, acto: Acto, exp: Expediente, offices: dict, rng):
        engine, mesa = self.engine, self.mesa
        x = offices.get(acto.oficina, "")
        oficina = self.personal.get(x)
        if acto.tipo == "conforme":
            self._step(exp, mesa, {"accion": "conforme"})
        elif acto.tipo == "observar":
            self._step(exp, mesa, {"accion": "observar", "observacion": rng.choice(seed_datos.OBSERVACIONES)})
        elif acto.tipo == "archivar":
            self._step(exp, mesa, {"accion": "archivar", "motivo": rng.choice(seed_datos.MOTIVOS)})
        elif acto.tipo == "subsanar":
            ciudadano = Actor.ciudadano(Expediente.get_by_id(exp.id), ip="10.0.0.1")
            self._step(exp, ciudadano, {"descripcion": rng.choice(seed_datos.SUBSANACIONES)})
        elif acto.tipo == "derivar":
            otras = [offices[acto.otra]] if acto.otra else []
            copia = [c for c in COPIA_A if c in self.personal and c != x and c not in otras][:1] if acto.copia else []
            self._step(exp, mesa, {"oficina_destino": x, "oficinas_adicionales": otras, "con_copia": copia,
                                   "prioridad": "urgente" if rng.random() < 0.2 else "normal",
                                   "plazo_dias": rng.choice((5, 7, 7, 10, 15)),
                                   "proveido": rng.choice(seed_datos.PROVEIDOS)})
        elif acto.tipo == "recibir":
            self._step(exp, oficina, {})
        elif acto.tipo == "atender":
            self._step(exp, oficina, {"accion": "atender", "respuesta": rng.choice(seed_datos.RESPUESTAS)})
        elif acto.tipo == "rederivar":
            self._step(exp, oficina, {"accion": "derivar", "oficina": offices[acto.otra],
                                      "plazo_dias": rng.choice((5, 7, 10)),
                                      "proveido": rng.choice(seed_datos.PROVEIDOS)})
        elif acto.tipo == "devolver":
            self._step(exp, oficina, {"accion": "devolver", "proveido": "No corresponde a esta oficina; se devuelve."})
        elif acto.tipo == "anular":
            engine.send_event(exp.id, "anulacion", mesa)
        elif acto.tipo == "vence":
            if not engine.fire_timers(exp.id):
                raise ValueError("el temporizador de la plantilla no se disparó")

    def _step(self, exp, actor, data):
        tasks = list(self.engine.tasks_for(actor, exp.id))
        if len(tasks) != 1:
            raise ValueError(f"{actor.nombre}: se esperaba una tarea lista, hay {[t.spec for t in tasks]}")
        self.engine.complete(exp.id, tasks[0].task_id, actor, data)

    def _capture(self, escenario, x, steps, expediente_id, moments, dues, timers, pendientes, disparos) -> Plantilla:
        act = {m: k for k, m in enumerate(moments)}
        row = Expediente.get_by_id(expediente_id)
        slots: dict[str, object] = {f'"numero":"{row.numero}"': "numero",
                                    f'"tipo_documento":"{row.tipo_documento.codigo}"': "tipo"}
        slots.update({f'"{value}"': index for value, index in dues.items()})
        text = row.estado_motor
        unknown = {s for s in _ISO.findall(text) if s not in slots}
        if unknown or text.count(row.numero) != text.count(f'"numero":"{row.numero}"'):
            raise ValueError(f"la plantilla {escenario} guarda valores que la copia no sabría cambiar: {unknown}")
        eventos = []
        for e in Evento.select().where(Evento.expediente == expediente_id).order_by(Evento.seq):
            ciudadano = e.rol == "ciudadano"
            if e.tipo == "inicio":  # the clone's own filing data, with these files
                payload = orjson.loads(e.payload)["adjuntos"]
            elif any(value in e.payload for value in dues):
                payload = Molde(e.payload, {value: index for value, index in dues.items() if value in e.payload})
            else:
                payload = e.payload
            eventos.append((act[e.momento], e.tipo, e.accion, e.descripcion, e.actor_id,
                            None if ciudadano else e.actor_nombre, e.rol, e.actor_oficina, None if ciudadano else e.ip,
                            e.tarea, e.tarea_id, act[e.tarea_desde] if e.tarea_desde else None,
                            e.oficina_origen, e.oficina_destino, e.detalle, payload))
        return Plantilla(
            escenario=escenario, oficina=x, actos=steps,
            expediente={name: getattr(row, name) for name in (
                "estado", "tarea_actual", "oficina_actual_id", "vencido", "terminado", "version", "definicion_id",
                "formato_estado")},
            vence=dues[row.vence.isoformat()] if row.vence else None, actualizado=act[row.actualizado_en],
            estado_motor=Molde(text, slots), eventos=eventos,
            tareas=[(t.task_id, t.spec, t.nombre, t.rol, t.oficina_id, act[t.desde])
                    for t in Tarea.select().where(Tarea.expediente == expediente_id).order_by(Tarea.id)],
            temporizadores=[(t.task_id, t.nombre, dues[t.vence.isoformat()])
                            for t in Temporizador.select().where(Temporizador.expediente == expediente_id)],
            copias=[(c.oficina_id, act[c.desde], c.tarea)
                    for c in Copia.select().where(Copia.expediente == expediente_id)],
            adjuntos=[(a.sha256, a.nombre, a.tamano, a.tipo, act[a.creado_en])
                      for a in Adjunto.select().where(Adjunto.expediente == expediente_id)],
            timers=timers, pendientes=pendientes, disparos=disparos, finales=pendientes[-1])
