"""Templates for seeding: each kind of history (an *escenario*) run once per office by the real engine.

A template is filed with :func:`mpv.tramites.presentacion.presentar` and moved act by act with ``Engine.complete``,
``send_event`` and ``fire_timers`` under a clock set to each act's moment, inside a transaction that
is rolled back afterwards. Its rows are kept with the times abstracted — every moment becomes the
index of the act that wrote it, every timer the act that started it plus its business days — so a
clone only needs its own act moments (:func:`agenda`) to be exactly what the engine would have
written at those moments.
"""
from __future__ import annotations

import bisect
import dataclasses
import random
import re
from datetime import date, datetime, time, timedelta, timezone

# The acts after the filing: ok/obs/arch = Recepción by mesa de partes, sub = the citizen's
# subsanación, der:X[+Y][/cc] = derivación (to X, in parallel to Y, with a copy), rec/ate/dev:X = the
# office receives / answers / returns it, red:X>Y = it derives it on to Y, anu = mesa anuls the
# derivación, vence = a timer fires (``mpv timers``).
ESCENARIOS = {
    "registrado": "",
    "registrado_vencido": "vence",
    "observado": "obs",
    "subsanado": "obs sub",
    "subsanado_vencido": "obs sub vence",
    "recibido": "ok",
    "recibido_vencido": "ok vence",
    "derivado": "ok der:X",
    "en_atencion": "ok der:X rec:X",
    "vencido": "ok der:X rec:X vence",
    "rederivado": "ok der:X rec:X red:X>Y",
    "rederivado_atencion": "ok der:X rec:X red:X>Y rec:Y",
    "devuelto": "ok der:X rec:X dev:X",
    "devuelto_vencido": "ok der:X rec:X dev:X vence",
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
ISO_MOMENT = re.compile(r'"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[^"]*"')
ISO_DATE = re.compile(r'"\d{4}-\d\d-\d\d"')


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
        self.presentacion = calendario.fecha_presentacion
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
        return max(limite, prev) + timedelta(seconds=rng.randint(1, 30))
    if acto.tipo == "subsanar":  # citizens file at any hour, before their plazo ends
        return (prev + (limite - prev) * rng.uniform(0.05, 0.9)).replace(microsecond=0)
    lo, hi = GAPS[acto.tipo]
    if plantilla:  # the day after, or the same day when a timer of that day waits (art. 143)
        lo, hi = (0, 1) if lo == 0 else (max(lo, 1), max(lo, 1))
    gap = hi if plantilla else rng.randint(lo, hi)
    while True:
        when = dias.en_jornada(prev, gap, rng)
        if limite is None or when < limite:
            return when
        if gap == lo:
            break
        gap = lo if plantilla else rng.randint(lo, gap - 1)
    # What mesa de partes must do the day the filing came in (art. 143), it does that day, after hours if need be.
    desde = max(prev, datetime.combine((limite - timedelta(seconds=1)).astimezone(dias.tz).date(), JORNADA[0],
                                       dias.tz)) + timedelta(minutes=2)
    hasta = limite - timedelta(minutes=2)
    if lo > 0 or desde >= hasta:
        return None
    # Early in what is left of the day, so what else is due that day still fits.
    return (desde + (hasta - desde) * 0.2 * rng.random()).replace(microsecond=0).astimezone(timezone.utc)


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
    timers: list[tuple[int, object, int]]  # per timer: (act that started it, date it counts from, business days)
    fechas: dict[str, object]  # ISO date in the template's state -> the base it stands for (see ``fecha``)
    pendientes: list[list[int]]  # per act: the timers waiting before it
    disparos: list[list[int]]  # per act: the timers it fired
    finales: list[int]  # timers still waiting at the end


def agenda(p: Plantilla, inicio: datetime, rng, dias: Dias, ahora: datetime):
    """A clone's act moments and timer due times from its filing moment, or None when the escenario
    does not fit before ``ahora`` (an act after now, or a timer that should have fired by now)."""
    moments, dues = [inicio], [None] * len(p.timers)
    _start_timers(p, 0, moments, dues, dias)
    for k, acto in enumerate(p.actos, 1):
        if acto.tipo == "vence":  # the timers the template fired here, and no other
            fired = p.disparos[k]
            when = max(moments[-1], *(dues[i] for i in fired)) + timedelta(seconds=rng.randint(1, 30))
            if any(dues[i] <= when for i in p.pendientes[k] if i not in fired):
                return None
        else:
            when = momento(acto, moments[-1], [dues[i] for i in p.pendientes[k]], rng, dias)
        if when is None or when > ahora:
            return None
        moments.append(when)
        _start_timers(p, k, moments, dues, dias)
    if any(dues[i] <= ahora for i in p.finales):
        return None
    return moments, dues


def fecha(moments: list[datetime], base, dias: Dias) -> date:
    """The date a plazo counts from: "P" is the filing date (Ley 31465), act k's the legal date of what was done
    then (the next business day for what a citizen does on a day off)."""
    if base == "P":
        return dias.presentacion(moments[0])
    return dias.habil_o_siguiente(moments[base].astimezone(dias.tz).date())


def _start_timers(p, k, moments, dues, dias):
    for i, (start, base, n) in enumerate(p.timers):
        if start == k:
            dues[i] = dias.vencimiento(fecha(moments, base, dias), n)
