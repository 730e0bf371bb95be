"""Personal API tokens of the staff (``/api/v1/staff``, :mod:`mpv.tramites.tokens`).

A token is shown once, when it is created; the row keeps only its SHA-256 (as :class:`mpv.models.Sesion` does
for a session's cookie), a few characters to recognise it by, its scope and the day it expires. Each call made
with it is an Evento row of the audit chain (``tipo="api"``). Kept apart from :mod:`mpv.models` (which imports
it into ``MODELS``) so that no module passes 400 lines.
"""
from __future__ import annotations

import peewee as pw

from .fields import UTCDateTimeField
from .models import BaseModel, Usuario

ALCANCES = {"lectura": "Solo lectura", "escritura": "Lectura y escritura"}


class TokenApi(BaseModel):
    """A personal API token: it acts as its user (same role and office) within its scope, until it expires or
    is revoked, and only while its user is active."""

    usuario = pw.ForeignKeyField(Usuario, backref="tokens", on_delete="RESTRICT")
    nombre = pw.CharField(max_length=80)  # what its owner calls it («Integración con el SGD»)
    prefijo = pw.CharField(max_length=16)  # the token's first characters, to recognise it in lists and the log
    token_hash = pw.CharField(max_length=64, unique=True)
    alcance = pw.CharField(max_length=12)  # a key of ALCANCES
    creado = UTCDateTimeField()
    vence = UTCDateTimeField()
    revocado = UTCDateTimeField(null=True)
    ultimo_uso = UTCDateTimeField(null=True)
    usos = pw.IntegerField(default=0)

    class Meta:
        indexes = ((("usuario", "creado"), False),)

    @property
    def alcance_texto(self) -> str:
        return ALCANCES.get(self.alcance, self.alcance)
