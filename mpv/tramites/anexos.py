"""The annexes of an official document (rule 13): PDF files its office uploads to the draft, kept by SHA-256
(:mod:`mpv.storage`: written before the transaction that references them, removed again when it fails) with the
digital signatures :func:`mpv.firmas.verificar` finds on them, as every PDF MPV receives. Once the document is
issued its PDF lists them (name and SHA-256) and they can no longer be added or removed."""
from __future__ import annotations

from datetime import timezone

import orjson

from ..engine import Actor
from ..errors import ArchivoRechazado, Conflict, InvalidInput, NotFound
from ..firmas import verificar
from ..models import AnexoDocumento, DocumentoOficial
from ..pdf import check_pdf, pdf_name
from ..storage import Received
from .documentos import YA_EMITIDO, borrador
from .expedientes import solo_personal, visible
from .presentacion import referenced

CAMPO = "anexo"
MAX_ANEXOS = 20


def anexar(services, actor: Actor, documento_id, archivos: list[Received]) -> list[AnexoDocumento]:
    """Add ``archivos`` (PDFs) to a draft of ``actor``'s office, all or none.

    :raise InvalidInput: no file, too many, or one that is not a readable PDF (naming it). :raise Conflict: the
    document was issued. :raise NotAllowed: / :raise NotFound: as :func:`mpv.tramites.documentos.borrador`.
    Whatever happens, no received file is left behind unreferenced."""
    try:
        documento = borrador(services, actor, documento_id)
        if not archivos:
            raise InvalidInput("Elija el archivo PDF que quiere anexar.", {CAMPO: "Elija un archivo PDF."})
        for archivo in archivos:
            try:
                check_pdf(archivo.path, archivo.nombre)
            except ArchivoRechazado as exc:
                raise ArchivoRechazado(exc.message, {CAMPO: exc.message}, exc.nombre) from None
        with services.storage.kept(archivos, referenced) as stored:
            momento = services.clock()
            firmas = [verificar(services.storage.path(s.sha256), momento, services.raices) for s in stored]
            now = momento.astimezone(timezone.utc)
            with services.db.write():
                fila = services.db.locked(DocumentoOficial.select().where(DocumentoOficial.id == documento.id)).get()
                if fila.estado != "borrador":
                    raise Conflict(YA_EMITIDO)
                if AnexoDocumento.select().where(AnexoDocumento.documento == fila.id).count() + len(stored) > MAX_ANEXOS:
                    raise InvalidInput(f"Un documento lleva {MAX_ANEXOS} anexos como máximo.",
                                       {CAMPO: f"Un documento lleva {MAX_ANEXOS} anexos como máximo."})
                return [AnexoDocumento.create(
                    documento=fila, sha256=s.sha256, nombre=pdf_name(s.nombre), tamano=s.size, creado_en=now,
                    firmas=orjson.dumps([f.para_historial() for f in f_s]).decode()) for s, f_s in zip(stored, firmas)]
    except BaseException as exc:
        services.storage.discard(archivos)
        if isinstance(exc, ArchivoRechazado):  # as every refused upload: in the audit log
            services.refusals.record("archivo_rechazado", f"Archivo rechazado: {exc.nombre}", actor.ip,
                                     nombre=actor.nombre, detalle=exc.message)
        raise


def quitar(services, actor: Actor, documento_id, anexo_id) -> AnexoDocumento:
    """Remove an annex from a draft of ``actor``'s office. Its file, when nothing else references it, is removed by
    the periodic sweep (:meth:`mpv.storage.Storage.sweep`), which never races a request keeping the same file.

    :raise Conflict: the document was issued. :raise NotFound: no such annex on that document."""
    documento = borrador(services, actor, documento_id)
    with services.db.write():
        fila = services.db.locked(DocumentoOficial.select().where(DocumentoOficial.id == documento.id)).get()
        if fila.estado != "borrador":
            raise Conflict(YA_EMITIDO)
        anexo = _anexo(fila.id, anexo_id)
        anexo.delete_instance()
    return anexo


def abrir(services, actor: Actor, documento_id, anexo_id):
    """An annex and its file, opened: a draft's for its office, an issued document's for whoever sees the
    expediente. :raise NotFound: / :raise NotAllowed:"""
    solo_personal(actor)
    documento = DocumentoOficial.get_or_none(DocumentoOficial.id == _entero(documento_id))
    if documento is None:
        raise NotFound("Ese documento no existe.")
    visible(actor, documento.expediente.numero)  # who sees the expediente sees its issued documents
    if documento.estado != "emitido":
        borrador(services, actor, documento.id)  # a draft's annexes: its office only
    anexo = _anexo(documento.id, anexo_id)
    try:
        return anexo, services.storage.open(anexo.sha256)
    except FileNotFoundError:
        raise NotFound("El archivo del anexo no está disponible en el servidor; avise al administrador.") from None


def de_documento(documento_id: int) -> list[AnexoDocumento]:
    return AnexoDocumento.de_documentos([documento_id]).get(documento_id, [])


def firmas(anexo: AnexoDocumento) -> list[dict]:
    """The annex's signatures, as they were found when it was uploaded."""
    return orjson.loads(anexo.firmas)


def _entero(valor) -> int:
    try:
        valor = int(valor)
    except (TypeError, ValueError):
        return 0
    return valor if 0 < valor < 2**63 else 0


def _anexo(documento_id: int, anexo_id) -> AnexoDocumento:
    anexo = AnexoDocumento.get_or_none((AnexoDocumento.id == _entero(anexo_id))
                                       & (AnexoDocumento.documento == documento_id))
    if anexo is None:
        raise NotFound("Ese anexo no existe.")
    return anexo
