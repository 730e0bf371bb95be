"""Digital signatures made in MPV (DOMAIN.md rule 14): the certificate each user keeps in Mi cuenta, and the
signatures put on issued official documents.

Kept apart from :mod:`mpv.models` (which imports them into ``MODELS``) so that no module passes 400 lines.
"""
from __future__ import annotations

import peewee as pw

from .fields import UTCDateTimeField
from .models import BaseModel, Usuario
from .models_documentos import DocumentoOficial


class CertificadoUsuario(BaseModel):
    """A user's signing certificate: the PKCS#12 as uploaded, re-encrypted under the passphrase the user typed
    (MPV never keeps the passphrase: he types it at each signature), and what people read of it."""

    usuario = pw.ForeignKeyField(Usuario, unique=True, backref="certificados", on_delete="CASCADE")
    pkcs12 = pw.BlobField()
    titular = pw.CharField(max_length=300)
    emisor = pw.CharField(max_length=300)
    numero_serie = pw.CharField(max_length=100)
    desde = UTCDateTimeField()
    hasta = UTCDateTimeField()
    subido_en = UTCDateTimeField()


class FirmaDocumento(BaseModel):
    """One digital signature put on an issued document: the PDF as it stands after it (an incremental update of
    the previous version, kept by SHA-256), who signed, with which certificate and why. Never changed."""

    documento = pw.ForeignKeyField(DocumentoOficial, backref="firmas", on_delete="RESTRICT")
    orden = pw.SmallIntegerField()  # 1 for the first signature
    sha256 = pw.CharField(max_length=64, index=True)
    usuario = pw.ForeignKeyField(Usuario, on_delete="RESTRICT")
    firmante = pw.CharField(max_length=300)  # the certificate's holder
    cargo = pw.CharField(max_length=300)
    razon = pw.CharField(max_length=200)
    firmado_en = UTCDateTimeField()

    class Meta:
        indexes = ((("documento", "orden"), True),)

    @classmethod
    def ultima(cls, documento_id: int) -> "FirmaDocumento | None":
        """The document's latest signature: its PDF is the version to hand out."""
        return cls.select().where(cls.documento == documento_id).order_by(cls.orden.desc()).first()
