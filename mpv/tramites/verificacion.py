"""Public verification (issue 14, item 7): ``/verificar/{código}`` shows what MPV issued or sealed for an expediente
or one document — number, date, SHA-256 and signatures — so that a third party can check a printed or downloaded
copy; and it says whether an uploaded PDF (or a pasted SHA-256) is one of them.

Why a verification code of its own, and not the código de seguimiento: the código de seguimiento is the citizen's
secret key (it opens his files, his constancia and his subsanación), and a QR is printed on papers that pass through
many hands — the hoja de ruta, the cargos, every issued document. The verification code is random (80 bits), stored
once per expediente or issued document (:class:`mpv.models.CodigoVerificacion`), and opens only this read-only page,
which shows nothing confidential: no identity document, e-mail, address or body text, no file to download. Whoever
holds the código de seguimiento may verify with it too (it already opens more than this page shows).
"""
from __future__ import annotations

import base64
import dataclasses
import hashlib
import re
import secrets
from datetime import datetime, timezone

from .. import firmas, sello
from ..errors import InvalidInput, NotFound
from ..models import (TIPOS_DOCUMENTO_OFICIAL, CodigoVerificacion, DocumentoOficial, Expediente, FirmaDocumento,
                      Oficina, PdfEmitido)
from ..models_verificacion import CLASES_PDF
from . import constancia, silencio

DESCONOCIDO = ("No encontramos un documento ni un expediente con ese código de verificación. Revise el código "
               "impreso junto al código QR (16 letras y números).")
SHA256 = re.compile(r"[0-9a-f]{64}")


def nuevo_codigo() -> str:
    """16 characters of base32 (80 random bits): typed from paper without confusing 0/O or 1/I."""
    return base64.b32encode(secrets.token_bytes(10)).decode()


def normalizar(codigo: str) -> str:
    """What a person typed, as stored: upper case, without the dashes and spaces that group it."""
    return re.sub(r"[\s-]", "", codigo or "").upper()


def agrupado(codigo: str) -> str:
    """«ABCD-EFGH-IJKL-MNOP»: how the code is printed."""
    return "-".join(codigo[i:i + 4] for i in range(0, len(codigo), 4))


def url(base_url: str, codigo: str) -> str:
    """The absolute address the QR encodes (MPV_BASE_URL)."""
    return f"{base_url}/verificar/{agrupado(codigo)}"


def codigo_de_expediente(services, expediente: Expediente) -> str:
    """The expediente's verification code, given the first time it is asked for (a write of its own)."""
    fila = CodigoVerificacion.get_or_none(CodigoVerificacion.expediente == expediente.id)
    if fila is None:
        with services.db.write():  # two requests at once: the unique index keeps the first one's code
            CodigoVerificacion.insert(codigo=nuevo_codigo(), expediente=expediente.id,
                                      creado_en=services.clock().astimezone(timezone.utc)).on_conflict_ignore().execute()
        fila = CodigoVerificacion.get(CodigoVerificacion.expediente == expediente.id)
    return fila.codigo


def dar_codigo_a_documento(documento_id: int, now: datetime) -> str:
    """A new verification code for the document being issued. Call inside the issuing's write transaction."""
    codigo = nuevo_codigo()
    CodigoVerificacion.create(codigo=codigo, documento=documento_id, creado_en=now)
    return codigo


def registrar(services, clase: str, expediente_id: int, titulo: str, contenido: bytes,
              sellado: bool = False) -> bytes:
    """Record that MPV hands out the PDF ``contenido`` (a key of CLASES_PDF), so that a copy of it can be
    recognised later; the same bytes handed out again are recorded once. Returns ``contenido``."""
    sha = hashlib.sha256(contenido).hexdigest()
    with services.db.write():
        PdfEmitido.insert(sha256=sha, clase=clase, expediente=expediente_id, titulo=titulo[:250], sellado=sellado,
                          generado_en=services.clock().astimezone(timezone.utc)).on_conflict_ignore().execute()
    return contenido


@dataclasses.dataclass(frozen=True)
class Verificable:
    """One document MPV issued or generated, as a third party may see it."""

    clase: str  # «Informe», «Constancia de presentación»…
    titulo: str  # its number or name
    fecha: datetime  # when it was issued or generated (UTC)
    sha256: str
    firmas: tuple[str, ...]  # one sentence per signature or seal; empty: none
    problemas: tuple[str, ...] = ()
    expediente: str = ""  # the expediente's número
    oficina: str = ""
    codigo: str = ""  # its own verification code, grouped (issued documents)
    anteriores: tuple[str, ...] = ()  # the SHA-256 of its earlier versions: the original, then each signature's


@dataclasses.dataclass(frozen=True)
class Verificacion:
    """What ``/verificar/{código}`` shows: an expediente's public data and its documents, or one document."""

    expediente: Expediente
    documentos: list[Verificable]
    documento: Verificable | None = None  # the code was a document's


def verificar(services, codigo: str) -> Verificacion:
    """The page of ``codigo``: an expediente's or a document's verification code, or a código de seguimiento.

    :raise NotFound: the same message for any unknown code (nothing to learn from it)."""
    limpio = normalizar(codigo)
    fila = CodigoVerificacion.get_or_none(CodigoVerificacion.codigo == limpio) if 0 < len(limpio) <= 32 else None
    if fila is not None and fila.documento_id is not None:
        documento = DocumentoOficial.get_by_id(fila.documento_id)
        unico = _de_documento(services, documento, fila.codigo)
        return Verificacion(Expediente.get_by_id(documento.expediente_id), [unico], unico)
    if fila is not None:
        expediente = Expediente.get_by_id(fila.expediente_id)
    else:
        expediente = Expediente.por_codigo(codigo.strip()) if 0 < len(codigo.strip()) <= 40 else None
    if expediente is None:
        raise NotFound(DESCONOCIDO)
    return Verificacion(expediente, documentos_de(services, expediente))


def documentos_de(services, expediente: Expediente) -> list[Verificable]:
    """What MPV issued or generated for ``expediente``: the PDFs it handed out (constancia, statement of silencio,
    hoja de ruta, cargos) and its issued official documents, oldest first. Every copy handed out (downloaded or
    e-mailed) was registered as it went; a constancia nobody has had yet is made and registered now."""
    _registrar_vigentes(services, expediente)
    generados = [_de_registro(row, expediente.numero) for row in
                 PdfEmitido.select().where(PdfEmitido.expediente == expediente.id).order_by(PdfEmitido.id)]
    codigos = dict(CodigoVerificacion.select(CodigoVerificacion.documento, CodigoVerificacion.codigo)
                   .join(DocumentoOficial).where(DocumentoOficial.expediente == expediente.id).tuples())
    emitidos = [_de_documento(services, d, codigos.get(d.id, "")) for d in DocumentoOficial.select(
        DocumentoOficial, Oficina).join(Oficina).where(
        (DocumentoOficial.expediente == expediente.id) & (DocumentoOficial.estado == "emitido"))
        .order_by(DocumentoOficial.id)]
    return sorted(generados + emitidos, key=lambda v: v.fecha)


def _registrar_vigentes(services, expediente: Expediente):
    """Register the constancia (and the statement of silencio) as MPV would hand them out now, when none was
    registered yet: a sealed PDF is a new file each time it is made, so the ones handed out are what counts."""
    hechos = set(PdfEmitido.select(PdfEmitido.clase).where(PdfEmitido.expediente == expediente.id).tuples())
    if ("constancia",) not in hechos:
        constancia_registrada(services, expediente)
    if (expediente.silencio in ("positivo", "negativo") and expediente.procedimiento_id is not None
            and ("silencio",) not in hechos):
        silencio_registrado(services, expediente)


def constancia_registrada(services, expediente: Expediente) -> tuple[constancia.Constancia, bytes]:
    """The expediente's constancia de presentación and its PDF, sealed by the entity, registered as handed out."""
    c = constancia.build(expediente, services.calendario, services.parametros.get("entidad_nombre"),
                         services.settings.base_url)
    return c, registrar(services, "constancia", expediente.id, f"Constancia de presentación {c.numero}",
                        constancia.sellada(services, c), sellado(services))


def silencio_registrado(services, expediente: Expediente) -> tuple[silencio.Silencio, bytes]:
    """The statement of the silencio that applied to the expediente and its PDF, sealed by the entity, registered as
    handed out. :raise NotFound: no silencio applied to it."""
    s = silencio.de_expediente(services, expediente)
    return s, registrar(services, "silencio", expediente.id, f"Constancia de silencio administrativo {s.numero}",
                        silencio.sellada(services, s), sellado(services))


def sellado(services) -> bool:
    """Whether the PDFs MPV writes by itself go out sealed (:func:`mpv.sello.sellar` seals when it has a
    certificate: MPV_SELLO_P12, or the demo entity's)."""
    return sello.credencial_del_sello(services.settings) is not None


def _de_registro(row: PdfEmitido, numero: str) -> Verificable:
    sello = ("Sellado digitalmente por la entidad (firma PAdES de la Mesa de Partes Virtual).",) if row.sellado else ()
    return Verificable(CLASES_PDF.get(row.clase, row.clase), row.titulo, row.generado_en, row.sha256, sello,
                       expediente=numero)


def _de_documento(services, documento: DocumentoOficial, codigo: str) -> Verificable:
    """An issued document as it is handed out now — its latest signed version, else the issued original — with the
    signatures that PDF carries (verified now, as in :mod:`mpv.firmas`) and every earlier version's SHA-256."""
    versiones = [documento.sha256] + [f.sha256 for f in FirmaDocumento.select(FirmaDocumento.sha256).where(
        FirmaDocumento.documento == documento.id).order_by(FirmaDocumento.orden)]
    path = services.storage.path(versiones[-1])
    encontradas = firmas.verificar(path, documento.emitido_en, services.raices) if path.exists() else []
    return Verificable(
        TIPOS_DOCUMENTO_OFICIAL.get(documento.tipo, documento.tipo), documento.numero, documento.emitido_en,
        versiones[-1], tuple(f.resumen for f in encontradas), tuple(f.problema for f in encontradas if f.problema),
        expediente=documento.expediente.numero, oficina=documento.oficina.nombre,
        codigo=agrupado(codigo) if codigo else "", anteriores=tuple(versiones[:-1]))


def sha256_escrito(texto: str) -> str:
    """A pasted SHA-256, as stored (lower case, no spaces). :raise InvalidInput: not 64 hexadecimal digits."""
    limpio = re.sub(r"\s", "", texto or "").lower()
    if not SHA256.fullmatch(limpio):
        raise InvalidInput("Revise la huella.", {"sha256": "Pegue la huella SHA-256 completa: 64 caracteres "
                                                           "hexadecimales (0-9, a-f)."})
    return limpio


def comprobar(services, sha256: str) -> Verificable | None:
    """The document MPV issued or generated whose SHA-256 is ``sha256``, or None when it is none of them."""
    firmado = FirmaDocumento.get_or_none(FirmaDocumento.sha256 == sha256)  # a version signed after its issue
    original = (DocumentoOficial.sha256 == sha256) if firmado is None else (DocumentoOficial.id == firmado.documento_id)
    documento = (DocumentoOficial.select(DocumentoOficial, Oficina).join(Oficina)
                 .where(original & (DocumentoOficial.estado == "emitido")).first())
    if documento is not None:
        fila = CodigoVerificacion.get_or_none(CodigoVerificacion.documento == documento.id)
        return _de_documento(services, documento, fila.codigo if fila else "")
    row = PdfEmitido.select(PdfEmitido, Expediente).join(Expediente).where(PdfEmitido.sha256 == sha256).first()
    return _de_registro(row, row.expediente.numero) if row is not None else None
