"""The catalogues staff choose from: offices (and, in Administración, their upkeep)."""
from __future__ import annotations

from ..models import Oficina


def oficinas() -> list[Oficina]:
    """Every office, by code, active or not."""
    return list(Oficina.select().order_by(Oficina.codigo))
