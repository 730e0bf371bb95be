"""Notification with proof (DOMAIN.md rule 15, Ley 31736): the citizen's consent to a casilla electrónica, each act
notified on an expediente (by casilla or by e-mail), and every opening and acuse de recibo of a deposited act.

Kept apart from :mod:`mpv.models` (which imports them into ``MODELS``) so that no module passes 400 lines.
Consents and openings are append-only (the application's PostgreSQL role may only insert and read them); a
Notificacion row is written once at its deposit and once more, at most, when the citizen acknowledges it.
"""
from __future__ import annotations

import peewee as pw

from .fields import UTCDateTimeField
from .models import BaseModel, Expediente

CASILLA, CORREO = "casilla", "correo"  # the two ways (vías) an act is notified
VIAS = {CASILLA: "Casilla electrónica", CORREO: "Correo electrónico"}


class ConsentimientoCasilla(BaseModel):
    """One consent to (``otorga``) or revocation of (``revoca``) the casilla electrónica of an expediente: the
    latest row says how its next act is notified. Append-only."""

    expediente = pw.ForeignKeyField(Expediente, backref="consentimientos", on_delete="RESTRICT")
    accion = pw.CharField(max_length=10)  # otorga | revoca
    momento = UTCDateTimeField()
    ip = pw.CharField(max_length=64, default="")

    class Meta:
        indexes = ((("expediente", "id"), False),)

    @classmethod
    def vigente(cls, expediente_id: int) -> bool:
        """Whether the citizen has, now, a casilla for ``expediente_id`` (consented and not revoked since)."""
        ultimo = (cls.select(cls.accion).where(cls.expediente == expediente_id).order_by(cls.id.desc())
                  .limit(1).scalar())
        return ultimo == "otorga"


class Notificacion(BaseModel):
    """An act notified to the citizen: its kind (a ``notificacion`` of the BPMN), the history row it is about,
    how it went (``via``), the documents it carries (JSON ``[{nombre, sha256}]``), when it was deposited or
    sent, the business days after which an unacknowledged deposit takes effect (the parameter then in force)
    and the acuse de recibo."""

    expediente = pw.ForeignKeyField(Expediente, backref="notificaciones", on_delete="RESTRICT")
    tipo = pw.CharField(max_length=30)
    evento_seq = pw.BigIntegerField()
    via = pw.CharField(max_length=10)  # casilla | correo
    documentos = pw.TextField(default="[]")
    depositada_en = UTCDateTimeField()
    dias_efecto = pw.IntegerField(default=0)
    acuse_en = UTCDateTimeField(null=True)
    acuse_ip = pw.CharField(max_length=64, default="")

    class Meta:
        indexes = ((("expediente", "id"), False),)


class AperturaNotificacion(BaseModel):
    """One opening of a deposited notification by the citizen (``apertura``), or his acuse de recibo (``acuse``):
    when and from which address. Append-only."""

    notificacion = pw.ForeignKeyField(Notificacion, backref="aperturas", on_delete="RESTRICT")
    tipo = pw.CharField(max_length=10, default="apertura")  # apertura | acuse
    momento = UTCDateTimeField()
    ip = pw.CharField(max_length=64, default="")
