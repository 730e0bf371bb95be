"""Acumulación (TUO de la Ley 27444, art. 160): expedientes closely connected are processed together; one is the
principal, the others are accumulated to it and follow its course until they are separated again (desacumulados).

Each row is one acumulación: who joined the two and why, and — once ended — who separated them and when; the row
stays as the record. An expediente has at most one active principal (a partial unique index says so to the database).
Kept apart from :mod:`mpv.models` (which imports it into ``MODELS``) so that no module passes 400 lines.
"""
from __future__ import annotations

import peewee as pw

from .fields import UTCDateTimeField
from .models import BaseModel, Expediente, Usuario


class Acumulacion(BaseModel):
    """The expediente ``acumulado`` follows ``principal`` from ``desde`` until ``hasta`` (None: still accumulated)."""

    principal = pw.ForeignKeyField(Expediente, backref="acumulados", on_delete="RESTRICT")
    acumulado = pw.ForeignKeyField(Expediente, backref="acumulaciones", on_delete="RESTRICT")
    usuario = pw.ForeignKeyField(Usuario, null=True, on_delete="RESTRICT")  # who accumulated them
    usuario_nombre = pw.CharField(max_length=250, default="")
    desde = UTCDateTimeField()
    motivo = pw.CharField(max_length=1000)
    hasta = UTCDateTimeField(null=True)
    desacumulado_por = pw.ForeignKeyField(Usuario, null=True, on_delete="RESTRICT", backref="+")
    desacumulado_por_nombre = pw.CharField(max_length=250, default="")

    @classmethod
    def activa_de(cls, expediente_id: int) -> "Acumulacion | None":
        """The active acumulación of ``expediente_id`` into its principal (None: it is not accumulated)."""
        return (cls.select(cls, Expediente).join(Expediente, on=cls.principal)
                .where((cls.acumulado == expediente_id) & cls.hasta.is_null()).first())

    @classmethod
    def activas_en(cls, principal_id: int) -> list["Acumulacion"]:
        """The active acumulaciones into ``principal_id``, oldest first, with the accumulated expediente joined."""
        return list(cls.select(cls, Expediente).join(Expediente, on=cls.acumulado)
                    .where((cls.principal == principal_id) & cls.hasta.is_null()).order_by(cls.acumulado))


# One active principal per accumulated expediente, whatever two clerks do at the same moment.
Acumulacion.add_index(Acumulacion.index(Acumulacion.acumulado, unique=True, where=Acumulacion.hasta.is_null(),
                                        name="acumulacion_activa_unica"))
Acumulacion.add_index(Acumulacion.index(Acumulacion.principal, Acumulacion.hasta, name="acumulacion_principal"))
