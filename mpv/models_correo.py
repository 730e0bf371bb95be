"""The mail queue: e-mails to citizens and staff (:class:`Correo`) and the offices' daily digests (:class:`Resumen`).

Kept apart from :mod:`mpv.models` (which imports them into ``MODELS``) so that no module passes 400 lines.
"""
from __future__ import annotations

import peewee as pw

from .fields import UTCDateTimeField
from .models import BaseModel, Expediente, Oficina


class Resumen(BaseModel):
    """The daily digest of one office for one day, queued once (several processes may try); its e-mails are
    the Correo rows that point at it (:mod:`mpv.tramites.resumen`)."""

    oficina = pw.ForeignKeyField(Oficina, on_delete="CASCADE")
    fecha = pw.DateField()
    creado_en = UTCDateTimeField()

    class Meta:
        indexes = ((("oficina", "fecha"), True),)


class Correo(BaseModel):
    """An e-mail to send to a citizen (or to staff: an office notice, a daily digest), queued in the same
    transaction as the step that caused it.

    The text is rendered when it is sent, from the expediente and the Evento rows (immutable), so a
    queued notice never loses what it has to say; a failed send is retried (``mpv.correo.mailer``).
    """

    expediente = pw.ForeignKeyField(Expediente, null=True, backref="correos", on_delete="CASCADE")
    tipo = pw.CharField(max_length=30)  # constancia | observacion | atencion | no_presentado | archivado …
    destinatario = pw.CharField(max_length=200)
    evento_seq = pw.BigIntegerField(null=True)  # the history row the notice is about
    resumen = pw.ForeignKeyField(Resumen, null=True, on_delete="CASCADE")  # a staff digest: its office and day
    estado = pw.CharField(max_length=12, default="pendiente")  # pendiente | enviado | fallido
    intentos = pw.IntegerField(default=0)
    proximo_intento = UTCDateTimeField(index=True)
    ultimo_error = pw.TextField(default="")
    creado_en = UTCDateTimeField()
    enviado_en = UTCDateTimeField(null=True)

    class Meta:
        indexes = ((("estado", "proximo_intento"), False),)
