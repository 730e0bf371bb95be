"""The digital signatures of a PDF (Ley 27269, DOMAIN.md rule 14), verified by pyHanko: who signed, when, whether the
document changed after signing and whether the certificate reaches a configured trust root (``MPV_TRUST_ROOTS``)
and was valid then. A signature that fails any check is reported, never refused: the entity observes it."""
from __future__ import annotations

import dataclasses
import logging
import re
from datetime import datetime
from pathlib import Path

from asn1crypto import pem, x509
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.diff_analysis import ModificationLevel
from pyhanko.sign.validation import async_validate_pdf_signature
from pyhanko.sign.validation.status import SignatureCoverageLevel
from pyhanko_certvalidator import ValidationContext

from .asincrono import esperar

log = logging.getLogger(__name__)

NO_VERIFICADA = "no se pudo verificar la firma digital: el archivo está dañado o la firma tiene un formato no reconocido"
MODIFICADO = "el documento fue modificado después de firmarse"
NO_CORRESPONDE = "la firma no corresponde al contenido del documento"
VENCIDO = "el certificado había vencido al firmar"
AUN_NO_VALIDO = "el certificado aún no era válido al firmar"
REVOCADO = "el certificado había sido revocado al firmar"
SIN_RAIZ = "la cadena no llega a una raíz de confianza configurada"
NO_VALIDADO = "el certificado no pudo validarse"
# What a later incremental update may do without changing what was signed: another signature, a timestamp,
# validation data, filled-in fields, comments (pyHanko's diff analysis; anything else is «OTHER»).
PERMITIDO = ModificationLevel.ANNOTATIONS


@dataclasses.dataclass(frozen=True)
class Firma:
    """One signature field of a PDF, as :func:`verificar` found it."""

    firmante: str
    documento_identidad: str  # «DNI 45871236», «RUC 20123456789» or the subject's serialNumber; "" when absent
    firmado_en: datetime | None  # the timestamp token's time, else the time the signer reported
    intacto: bool  # the signed bytes are unchanged and only allowed updates follow them
    confiable: bool  # the chain reaches a configured root and was valid at the signing time
    resumen: str  # one Spanish sentence for people
    problema: str = ""  # what is wrong, in Spanish; "" when nothing is

    def para_historial(self) -> dict:
        """The signature as the history's payload keeps it (JSON values only)."""
        return {**dataclasses.asdict(self), "firmado_en": self.firmado_en.isoformat() if self.firmado_en else None}


def cargar_raices(rutas) -> list[x509.Certificate]:
    """The trust roots in ``rutas``: PEM or DER certificate files, or folders of them (read once, at start-up).

    :raise ValueError: naming a file that holds no certificate or a path that does not exist."""
    raices = []
    for ruta in map(Path, rutas):
        if not ruta.exists():
            raise ValueError(f"no existe {ruta}")
        for archivo in sorted(p for p in ruta.iterdir() if p.is_file()) if ruta.is_dir() else [ruta]:
            data = archivo.read_bytes()
            try:
                blobs = [der for _, _, der in pem.unarmor(data, multiple=True)] if pem.detect(data) else [data]
                certificados = [x509.Certificate.load(der) for der in blobs]
                for cert in certificados:
                    cert.native  # parse it all now: a broken file is refused at start-up, not at a filing
                raices += certificados
            except (ValueError, TypeError) as exc:
                raise ValueError(f"{archivo} no contiene un certificado PEM o DER legible") from exc
    return raices


def verificar(path: Path, momento: datetime, raices: list[x509.Certificate]) -> list[Firma]:
    """The signatures of the PDF at ``path``, one per signature field, in the file's order; ``[]`` when unsigned.

    Each certificate is validated at its signing time (``momento``, when the file was received, if the signature
    gives none or gives a later one), without fetching anything from the network. Never raises on a damaged
    or odd file: it gives one entry saying the signature could not be verified."""
    try:
        with open(path, "rb") as fh:
            firmas = PdfFileReader(fh, strict=False).embedded_regular_signatures
            return [_verificar_una(firma, momento, raices) for firma in firmas]
    except Exception as exc:  # pyHanko reports a malformed file with many kinds of exception
        log.info("Signatures of %s not read: %r", path, exc)
        if b"/ByteRange" not in path.read_bytes():
            return []  # an unsigned file pyHanko cannot parse (pypdf, more lenient, accepted it)
        return [_no_verificada()]


def _verificar_una(firma, momento: datetime, raices) -> Firma:
    try:
        declarado = firma.self_reported_timestamp
        cuando = declarado if declarado is not None and declarado <= momento else momento
        contexto = ValidationContext(trust_roots=raices, moment=cuando, allow_fetching=False)
        estado = esperar(async_validate_pdf_signature(firma, contexto))
    except Exception as exc:  # a signature pyHanko cannot even evaluate: shown as unverifiable
        log.info("Signature %s not verified: %r", getattr(firma, "field_name", "?"), exc)
        return _no_verificada()
    sujeto = estado.signing_cert.subject.native
    # The lengths FirmaAdjunto keeps: a certificate may carry names of any length.
    firmante = str(sujeto.get("common_name") or sujeto.get("organization_name") or "firmante sin nombre")[:250]
    documento = _documento(sujeto)[:60]
    sello = estado.timestamp_validity.timestamp if estado.timestamp_validity is not None else None
    firmado_en = sello or estado.signer_reported_dt
    intacto = (estado.intact and estado.coverage in (SignatureCoverageLevel.ENTIRE_FILE,
                                                     SignatureCoverageLevel.ENTIRE_REVISION)
               and estado.modification_level is not None and estado.modification_level <= PERMITIDO
               and estado.docmdp_ok is not False)
    integro = intacto and estado.valid
    integridad = "el documento no cambió después de la firma" if integro else (NO_CORRESPONDE if intacto else MODIFICADO)
    confianza = ("certificado emitido por una raíz de confianza" if estado.trusted
                 else _problema_de_confianza(estado, cuando))
    problemas = ([] if integro else [integridad]) + ([] if estado.trusted else [confianza])
    quien = (f"Firmado por {firmante}" + (f" ({documento})" if documento else "")
             + (f" el {firmado_en.astimezone(momento.tzinfo):%d/%m/%Y %H:%M}" if firmado_en else ""))
    return Firma(firmante, documento, firmado_en, intacto, estado.trusted, "; ".join((quien, integridad, confianza)),
                 "; ".join(problemas))


def _no_verificada() -> Firma:
    return Firma("", "", None, False, False, NO_VERIFICADA[0].upper() + NO_VERIFICADA[1:], NO_VERIFICADA)


def _problema_de_confianza(estado, cuando: datetime) -> str:
    """Why the signer's certificate is not trusted at ``cuando``, in Spanish."""
    cert = estado.signing_cert
    if cuando > cert.not_valid_after:
        return VENCIDO
    if cuando < cert.not_valid_before:
        return AUN_NO_VALIDO
    indicacion = getattr(estado.trust_problem_indic, "name", "")
    if "REVOKED" in indicacion:
        return REVOCADO
    if estado.validation_path is None or indicacion == "NO_CERTIFICATE_CHAIN_FOUND":
        return SIN_RAIZ
    return NO_VALIDADO


def _documento(sujeto: dict) -> str:
    """The signer's DNI or RUC from the subject's serialNumber (IOFE: «PNOPE-45871236») or organizationIdentifier
    («VATPE-20123456789»); the serialNumber as written when it is neither."""
    for campo in ("serial_number", "organization_identifier"):
        valor = str(sujeto.get(campo) or "")
        digitos = re.sub(r"\D", "", valor)
        if len(digitos) == 8:
            return f"DNI {digitos}"
        if len(digitos) == 11:
            return f"RUC {digitos}"
    return str(sujeto.get("serial_number") or "")
