"""The signatures found on the PDFs MPV receives (DOMAIN.md rule 14), and the official documents of an office (rule
13): drafts, issued documents and their numbering.

Kept apart from :mod:`mpv.models` (which imports them into ``MODELS``) so that no module passes 400 lines.
"""
from __future__ import annotations

import peewee as pw

from .fields import UTCDateTimeField
from .models import Adjunto, BaseModel, Expediente, Oficina, Usuario

class FirmaAdjunto(BaseModel):
    """A digital signature of an Adjunto, as :func:`mpv.firmas.verificar` found it when the file was received."""

    adjunto = pw.ForeignKeyField(Adjunto, backref="firmas", on_delete="RESTRICT")
    orden = pw.SmallIntegerField()  # the signature's place in the file, from 1
    firmante = pw.CharField(max_length=250)
    documento_identidad = pw.CharField(max_length=60)
    firmado_en = UTCDateTimeField(null=True)
    intacto = pw.BooleanField()
    confiable = pw.BooleanField()
    resumen = pw.TextField()
    problema = pw.TextField()


TIPOS_DOCUMENTO_OFICIAL = {
    "informe": "Informe",
    "oficio": "Oficio",
    "carta": "Carta",
    "memorandum": "Memorándum",
    "resolucion": "Resolución",
}


class DocumentoOficial(BaseModel):
    """A document an office drafts on an expediente (rule 13): a draft is edited; once issued it has its number
    (per office, type and year), its PDF kept by SHA-256 (``mpv.storage``) and never changes again."""

    expediente = pw.ForeignKeyField(Expediente, backref="documentos", on_delete="RESTRICT")
    oficina = pw.ForeignKeyField(Oficina, on_delete="RESTRICT")
    tipo = pw.CharField(max_length=20)  # a key of TIPOS_DOCUMENTO_OFICIAL
    estado = pw.CharField(max_length=10, default="borrador")  # borrador | emitido
    anio = pw.IntegerField(null=True)  # these four are set when it is issued
    correlativo = pw.IntegerField(null=True)
    numero = pw.CharField(max_length=200, null=True)
    sha256 = pw.CharField(max_length=64, null=True, index=True)
    destinatario = pw.CharField(max_length=300)
    asunto = pw.CharField(max_length=500)
    referencia = pw.CharField(max_length=300, default="")
    cuerpo = pw.TextField()
    autor = pw.ForeignKeyField(Usuario, on_delete="RESTRICT")
    creado_en = UTCDateTimeField()
    actualizado_en = UTCDateTimeField()
    emitido_en = UTCDateTimeField(null=True)

    class Meta:
        indexes = ((("oficina", "tipo", "anio", "correlativo"), True), (("expediente", "id"), False))

    @classmethod
    def de_expediente(cls, expediente_id: int, oficina_id: int | None) -> list["DocumentoOficial"]:
        """The expediente's issued documents and the drafts of the office ``oficina_id``, oldest first."""
        alcance = cls.estado == "emitido"
        if oficina_id is not None:
            alcance |= cls.oficina == oficina_id
        return list(cls.select(cls, Oficina).join(Oficina).where((cls.expediente == expediente_id) & alcance)
                    .order_by(cls.id))


class NumeracionDocumento(BaseModel):
    """The last number given to the documents of one type of one office in one year: consecutive, never reused."""

    oficina = pw.ForeignKeyField(Oficina, on_delete="RESTRICT")
    tipo = pw.CharField(max_length=20)
    anio = pw.IntegerField()
    ultimo = pw.IntegerField(default=0)

    class Meta:
        indexes = ((("oficina", "tipo", "anio"), True),)
