"""Escritos: documents a citizen (or mesa de partes, for one brought on paper) adds to an expediente he already has.

Each escrito has its own number of its own yearly register («E-2026-000123»), consecutive and never reused; its
files are Adjunto rows of the expediente (kept by SHA-256, their signatures verified like a filing's), linked here.
Kept apart from :mod:`mpv.models` (which imports them into ``MODELS``) so that no module passes 400 lines.
"""
from __future__ import annotations

import peewee as pw

from .fields import UTCDateTimeField
from .models import VIAS, Adjunto, BaseModel, Expediente, Usuario


class Escrito(BaseModel):
    """An escrito on an expediente: its number, when and how it came in, and the history row that recorded it."""

    expediente = pw.ForeignKeyField(Expediente, backref="escritos", on_delete="RESTRICT")
    numero = pw.CharField(max_length=20, unique=True)
    codigo = pw.CharField(max_length=32, unique=True)  # opens its constancia (not the expediente's tracking code)
    anio = pw.IntegerField()
    correlativo = pw.IntegerField()
    presentado_en = UTCDateTimeField()
    fecha_presentacion = pw.DateField()  # the legal filing date (Ley 31465), as for the expediente
    via = pw.CharField(max_length=12)  # a key of VIAS
    registrado_por = pw.ForeignKeyField(Usuario, null=True, on_delete="RESTRICT")  # presencial: who registered it
    descripcion = pw.CharField(max_length=500, default="")
    evento_seq = pw.BigIntegerField()  # the Evento row of its presentation
    atendido_por_proceso = pw.BooleanField(default=True)  # False: the instance's definition has no escrito event

    class Meta:
        indexes = ((("anio", "correlativo"), True), (("expediente", "id"), False))

    @classmethod
    def de_expediente(cls, expediente_id: int) -> list["Escrito"]:
        """The expediente's escritos, oldest first."""
        return list(cls.select().where(cls.expediente == expediente_id).order_by(cls.id))

    @property
    def via_texto(self) -> str:
        return VIAS.get(self.via, self.via)


class EscritoAdjunto(BaseModel):
    """One file of an escrito (the first, its main PDF; then its annexes)."""

    escrito = pw.ForeignKeyField(Escrito, backref="adjuntos", on_delete="RESTRICT")
    adjunto = pw.ForeignKeyField(Adjunto, unique=True, on_delete="RESTRICT")


class NumeracionEscrito(BaseModel):
    """The escritos register's last number of each year: consecutive, never reused."""

    anio = pw.IntegerField(primary_key=True)
    ultimo = pw.IntegerField(default=0)
