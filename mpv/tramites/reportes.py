"""Reports for the heads (issue 16, item 4): per office and per person, what was received and attended in a period,
what is pending and overdue now, and how long an atención took (median and p90); per procedure of the TUPA, what was
filed in the period and how it stands. Every figure comes from the history (Evento rows of the tasks «Recepción en
la oficina» and «Atención», by the office that held them) and the trays (Tarea rows); times are computed here, the
same on SQLite and PostgreSQL.

Mesa de partes, auditors and analysts see every office; an office user sees their own office (a *jefe* role that
narrows it further is not there yet)."""
from __future__ import annotations

import dataclasses
import statistics
from datetime import date, datetime, time, timedelta

import peewee as pw

from ..engine import Actor
from ..errors import InvalidInput, NotAllowed
from ..models import Evento, Expediente, Oficina, Procedimiento, Tarea
from .expedientes import oficina_de
from .roles import exigir_rol

RECIBIR, ATENCION = "recibir", "atencion"  # the office's tasks in tramite.bpmn
LECTORES = ("mesa", "oficina", "auditor", "analista")
MAX_DIAS = 366


@dataclasses.dataclass(frozen=True)
class Periodo:
    """Local dates ``desde``–``hasta``, both included."""

    desde: date
    hasta: date

    def limites(self, tz) -> tuple[datetime, datetime]:
        return datetime.combine(self.desde, time(0), tz), datetime.combine(self.hasta + timedelta(days=1), time(0), tz)


@dataclasses.dataclass(frozen=True)
class Tiempos:
    """Days an atención took, from its task being ready (after «Recibir») to the answer."""

    mediana: float | None
    p90: float | None


@dataclasses.dataclass(frozen=True)
class FilaOficina:
    codigo: str
    nombre: str
    recibidos: int
    atendidos: int
    pendientes: int
    vencidos: int
    tiempos: Tiempos


@dataclasses.dataclass(frozen=True)
class FilaPersona:
    nombre: str
    oficina: str
    recibidos: int
    atendidos: int
    tiempos: Tiempos


@dataclasses.dataclass(frozen=True)
class FilaProcedimiento:
    codigo: str
    nombre: str
    presentados: int
    concluidos: int
    en_tramite: int
    vencidos: int


@dataclasses.dataclass(frozen=True)
class Reporte:
    periodo: Periodo
    oficinas: list[FilaOficina]
    personas: list[FilaPersona]
    procedimientos: list[FilaProcedimiento]


def periodo(desde: date | None, hasta: date | None, hoy: date) -> Periodo:
    """The period asked, the last 30 days by default. :raise InvalidInput: reversed, or longer than a year."""
    hasta = hasta or hoy
    desde = desde or hasta - timedelta(days=29)
    if desde > hasta:
        raise InvalidInput("La fecha «desde» es posterior a «hasta»: inviértalas.", {"desde": "Debe ser anterior."})
    if (hasta - desde).days >= MAX_DIAS:
        raise InvalidInput(f"El periodo pasa de {MAX_DIAS} días: acórtelo.", {"desde": "Periodo demasiado largo."})
    return Periodo(desde, hasta)


def reporte(services, actor: Actor, p: Periodo) -> Reporte:
    """The report of ``p`` that ``actor`` may read. :raise NotAllowed: a citizen or an administrator."""
    exigir_rol(actor, LECTORES, "Los reportes son para mesa de partes, los jefes de oficina, auditoría y análisis.")
    if actor.rol == "oficina" and not actor.jefe:
        raise NotAllowed("El reporte de una oficina es para su jefe; si usted lo es, pida al administrador que lo "
                         "registre como jefe de la oficina.")
    propia = oficina_de(actor)
    oficinas = list(Oficina.select().where(Oficina.activa == True).order_by(Oficina.nombre))  # noqa: E712
    if propia is not None:
        oficinas = [o for o in oficinas if o.id == propia]
    codigos = {o.codigo for o in oficinas}
    inicio, fin = p.limites(services.calendario.tz)
    filas = [f for f in (Evento.select(Evento.tarea, Evento.oficina_origen, Evento.actor, Evento.actor_nombre,
                                       Evento.tarea_desde, Evento.momento)
                         .where((Evento.tipo == "tarea") & Evento.tarea.in_((RECIBIR, ATENCION))
                                & (Evento.momento >= inicio) & (Evento.momento < fin)))
             if f.oficina_origen in codigos]
    ahora = services.clock()
    bandejas = _bandejas(ahora)
    return Reporte(p, [_oficina(o, filas, bandejas.get(o.id, (0, 0))) for o in oficinas], _personas(filas, oficinas),
                   _procedimientos(inicio, fin) if propia is None else [])


def _bandejas(ahora: datetime) -> dict[int, tuple[int, int]]:
    """Per office id: (expedientes with a task in its tray, of them overdue now), in one query."""
    vencido = (Expediente.vencido == True) | (Expediente.vence <= ahora)  # noqa: E712
    filas = (Tarea.select(Tarea.oficina, pw.fn.COUNT(Tarea.expediente.distinct()),
                          pw.fn.COUNT(pw.Case(None, [(vencido, Tarea.expediente)], None).distinct()))
             .join(Expediente).where(Tarea.oficina.is_null(False)).group_by(Tarea.oficina).tuples())
    return {oficina: (pendientes, vencidos) for oficina, pendientes, vencidos in filas}


def _oficina(o: Oficina, filas, bandeja: tuple[int, int]) -> FilaOficina:
    suyas = [f for f in filas if f.oficina_origen == o.codigo]
    atenciones = [f for f in suyas if f.tarea == ATENCION]
    return FilaOficina(o.codigo, o.nombre, sum(1 for f in suyas if f.tarea == RECIBIR), len(atenciones), *bandeja,
                       _tiempos(atenciones))


def _personas(filas, oficinas) -> list[FilaPersona]:
    nombres = {o.codigo: o.nombre for o in oficinas}
    grupos: dict[tuple, list] = {}
    for f in filas:
        grupos.setdefault((f.actor_id, f.actor_nombre, f.oficina_origen), []).append(f)
    return sorted((FilaPersona(nombre, nombres.get(codigo, codigo), sum(1 for f in suyas if f.tarea == RECIBIR),
                               sum(1 for f in suyas if f.tarea == ATENCION),
                               _tiempos([f for f in suyas if f.tarea == ATENCION]))
                   for (_, nombre, codigo), suyas in grupos.items()), key=lambda f: (f.oficina, f.nombre))


def _procedimientos(inicio: datetime, fin: datetime) -> list[FilaProcedimiento]:
    terminado = pw.Case(None, [(Expediente.terminado == True, 1)], 0)  # noqa: E712
    vencido = pw.Case(None, [((Expediente.vencido == True) & (Expediente.terminado == False), 1)], 0)  # noqa: E712
    filas = (Procedimiento.select(Procedimiento.codigo, Procedimiento.nombre, pw.fn.COUNT(Expediente.id),
                                  pw.fn.SUM(terminado), pw.fn.SUM(vencido))
             .join(Expediente, on=(Expediente.procedimiento == Procedimiento.id))
             .where((Expediente.presentado_en >= inicio) & (Expediente.presentado_en < fin))
             .group_by(Procedimiento.codigo, Procedimiento.nombre).order_by(Procedimiento.codigo).tuples())
    return [FilaProcedimiento(codigo, nombre, n, int(concluidos or 0), n - int(concluidos or 0), int(vencidos or 0))
            for codigo, nombre, n, concluidos, vencidos in filas]


def _tiempos(atenciones) -> Tiempos:
    dias = sorted((f.momento - f.tarea_desde).total_seconds() / 86400 for f in atenciones if f.tarea_desde)
    if not dias:
        return Tiempos(None, None)
    p90 = statistics.quantiles(dias, n=10, method="inclusive")[-1] if len(dias) > 1 else dias[0]
    return Tiempos(round(statistics.median(dias), 2), round(p90, 2))


# -- as tables, for the page and the files -------------------------------------------------------------------
ENCABEZADOS = {
    "oficinas": ("Oficina", "Recibidos", "Atendidos", "Pendientes ahora", "Vencidos ahora",
                 "Atención, mediana (días)", "Atención, p90 (días)"),
    "personas": ("Persona", "Oficina", "Recibidos", "Atendidos", "Atención, mediana (días)", "Atención, p90 (días)"),
    "procedimientos": ("Código", "Procedimiento", "Presentados", "Concluidos", "En trámite", "Vencidos"),
}


def tablas(r: Reporte) -> dict[str, list[tuple]]:
    """The report's three tables, their rows as the page and the files show them (no heading row)."""
    return {
        "oficinas": [(f.nombre, f.recibidos, f.atendidos, f.pendientes, f.vencidos, f.tiempos.mediana, f.tiempos.p90)
                     for f in r.oficinas],
        "personas": [(f.nombre, f.oficina, f.recibidos, f.atendidos, f.tiempos.mediana, f.tiempos.p90)
                     for f in r.personas],
        "procedimientos": [(f.codigo, f.nombre, f.presentados, f.concluidos, f.en_tramite, f.vencidos)
                           for f in r.procedimientos],
    }
