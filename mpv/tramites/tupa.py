"""The municipality's TUPA (rule 10): the procedures a citizen can file, each with its requirements, fee,
calificación, maximum time and competent office. These are the reads every face uses; the administrator's
upkeep, the CSV import and export build on them.
"""
from __future__ import annotations

import dataclasses
import json
from decimal import Decimal

from ..models import CALIFICACIONES, Procedimiento


def activos() -> list[Procedimiento]:
    """The procedures a citizen may file now, by code."""
    return list(Procedimiento.select().where(Procedimiento.activo == True)  # noqa: E712
                .order_by(Procedimiento.codigo))


def por_codigo(codigo: str) -> Procedimiento | None:
    return Procedimiento.get_or_none(Procedimiento.codigo == (codigo or "").strip().upper())


def requisitos(procedimiento: Procedimiento) -> list[str]:
    """The procedure's checklist, in order."""
    return list(json.loads(procedimiento.requisitos or "[]"))


def tiene_derecho(procedimiento: Procedimiento) -> bool:
    """Whether the procedure has a fee to pay (a derecho de trámite above zero)."""
    return procedimiento.derecho_tramite is not None and Decimal(procedimiento.derecho_tramite) > 0


def declarados(procedimiento: Procedimiento, marcados: list[int]) -> str:
    """What the filing keeps of its checklist: each requirement as the TUPA words it today, and whether the
    citizen ticked it (JSON), so a later change of the TUPA does not change what he declared."""
    return json.dumps([{"requisito": texto, "marcado": n in marcados}
                       for n, texto in enumerate(requisitos(procedimiento), 1)], ensure_ascii=False)


def marcados(expediente) -> list[dict]:
    """The checklist the filing declared: [{"requisito": …, "marcado": bool}], empty for a documento simple."""
    return list(json.loads(expediente.requisitos or "[]"))


def derecho(procedimiento: Procedimiento) -> str:
    """The fee as a citizen reads it: «S/ 45.50» or «Gratuito»."""
    monto = procedimiento.derecho_tramite
    return "Gratuito" if monto is None or Decimal(monto) == 0 else f"S/ {Decimal(monto):.2f}"


def calificacion(procedimiento: Procedimiento) -> str:
    return CALIFICACIONES.get(procedimiento.calificacion, procedimiento.calificacion)


@dataclasses.dataclass
class Ficha:
    """What every face shows of the procedure an expediente was filed under."""

    codigo: str
    nombre: str
    calificacion: str  # the key: automatica | positivo | negativo
    calificacion_texto: str
    plazo_dias: int | None
    derecho: str
    recibo_pago: str
    oficina: str
    base_legal: str
    requisitos: list[dict]  # [{"requisito": …, "marcado": bool}] as the citizen declared them

    @property
    def faltantes(self) -> list[str]:
        return [r["requisito"] for r in self.requisitos if not r["marcado"]]


def oficina_competente(expediente) -> str | None:
    """The code of the office the TUPA names for the expediente's procedure, if it has one and it is active."""
    if expediente.procedimiento_id is None:
        return None
    oficina = expediente.procedimiento.oficina
    return oficina.codigo if oficina.activa else None


def ficha(expediente) -> Ficha | None:
    """The procedure of ``expediente`` as its pages show it; None for a documento simple."""
    if expediente.procedimiento_id is None:
        return None
    p = expediente.procedimiento
    return Ficha(p.codigo, p.nombre, p.calificacion, calificacion(p), p.plazo_dias, derecho(p),
                 expediente.recibo_pago, p.oficina.nombre, p.base_legal, marcados(expediente))
