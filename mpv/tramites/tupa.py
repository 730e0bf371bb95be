"""The municipality's TUPA (rule 10): the procedures a citizen can file, each with its requirements, fee,
calificación, maximum time and competent office. These are the reads every face uses; the administrator's
upkeep, the CSV import and export build on them.
"""
from __future__ import annotations

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


def derecho(procedimiento: Procedimiento) -> str:
    """The fee as a citizen reads it: «S/ 45.50» or «Gratuito»."""
    monto = procedimiento.derecho_tramite
    return "Gratuito" if monto is None or Decimal(monto) == 0 else f"S/ {Decimal(monto):.2f}"


def calificacion(procedimiento: Procedimiento) -> str:
    return CALIFICACIONES.get(procedimiento.calificacion, procedimiento.calificacion)
