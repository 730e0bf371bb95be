"""What an office's official documents start from and carry with them (rule 13): the template of each type, which
Administración edits, and the annexes (PDF files) of a document, which become immutable when it is issued.

Kept apart from :mod:`mpv.models` (which imports them into ``MODELS``) so that no module passes 400 lines.
"""
from __future__ import annotations

import peewee as pw

from .fields import UTCDateTimeField
from .models import BaseModel
from .models_documentos import DocumentoOficial


class PlantillaDocumento(BaseModel):
    """The Jinja2 text a new draft of one type starts from (its body, and optionally its subject), rendered in a
    sandbox with the expediente's fields (:mod:`mpv.tramites.plantillas`). One row per type; a type without a row
    uses the built-in text."""

    tipo = pw.CharField(max_length=20, unique=True)  # a key of TIPOS_DOCUMENTO_OFICIAL
    asunto = pw.CharField(max_length=500, default="")
    cuerpo = pw.TextField()
    actualizado_en = UTCDateTimeField()


class AnexoDocumento(BaseModel):
    """A PDF annexed to an official document, kept by SHA-256 (``mpv.storage``) with the digital signatures
    :func:`mpv.firmas.verificar` found when it was uploaded (JSON, as the history keeps them). Removable while the
    document is a draft; listed in the issued PDF and never changed after."""

    documento = pw.ForeignKeyField(DocumentoOficial, backref="anexos", on_delete="RESTRICT")
    sha256 = pw.CharField(max_length=64, index=True)
    nombre = pw.CharField(max_length=255)
    tamano = pw.BigIntegerField()
    firmas = pw.TextField(default="[]")
    creado_en = UTCDateTimeField()

    @classmethod
    def de_documentos(cls, ids) -> dict[int, list["AnexoDocumento"]]:
        """The annexes of the documents ``ids``, by document id, in upload order (one query)."""
        anexos: dict[int, list[AnexoDocumento]] = {}
        for anexo in cls.select().where(cls.documento.in_(list(ids))).order_by(cls.id) if ids else []:
            anexos.setdefault(anexo.documento_id, []).append(anexo)
        return anexos
