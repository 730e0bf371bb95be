"""PAdES signatures made by MPV with pyHanko: the entity's seal on every PDF MPV writes by itself (the constancia de
presentación, the statement of silencio), so a citizen can prove it without MPV (DOMAIN.md rule 14), and the
signature a user puts on an issued document with his own certificate.

The seal's certificate is ``MPV_SELLO_P12`` (opened with ``MPV_SELLO_CLAVE``); without it, the demo entity
certificate ``mpv demo`` leaves in ``MPV_DATA_DIR``; without either, PDFs go out unsealed (logged once).
A timestamp from ``MPV_TSA_URL`` joins each signature where it is set."""
from __future__ import annotations

import dataclasses
import functools
import io
import logging
from datetime import datetime
from pathlib import Path

from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import fields, signers
from pyhanko.sign.timestamps import HTTPTimeStamper, TimeStamper
from pyhanko.stamp import TextStampStyle

from . import certificados
from .config import Settings, SettingsError
from .asincrono import esperar

log = logging.getLogger(__name__)

CAMPO_SELLO = "SelloEntidad"
DEMO_P12 = "sello-demo.p12"  # in MPV_DATA_DIR, written by ``mpv demo``; its passphrase beside it
DEMO_CLAVE = "sello-demo.clave"
DEMO_RAICES = "demo-raices"  # in MPV_DATA_DIR: the roots of ``mpv demo``'s authorities, trusted without MPV_TRUST_ROOTS


@dataclasses.dataclass(frozen=True)
class Estampa:
    """A visible signature: ``texto`` (pyHanko's ``%(signer)s`` and ``%(ts)s`` are filled in) in a box on ``pagina``
    (0-based; -1 is the last), ``caja`` = (x1, y1, x2, y2) in points from the page's lower left corner."""

    texto: str
    caja: tuple[int, int, int, int]
    pagina: int = -1


def sellar(settings: Settings, pdf: bytes, razon: str, cuando: datetime) -> bytes:
    """``pdf`` sealed (an invisible PAdES signature) by the entity at ``cuando``, for ``razon``; ``pdf`` itself
    when no seal certificate is configured nor made by ``mpv demo``.

    :raise SettingsError: ``MPV_SELLO_P12`` missing or not opened by ``MPV_SELLO_CLAVE`` (checked at start-up)."""
    credencial = credencial_del_sello(settings)
    if credencial is None:
        _sin_sello(settings.data_dir)
        return pdf
    return firmar_pdf(pdf, credencial, cuando, razon, campo=CAMPO_SELLO, timestamper=timestamper(settings))


def credencial_del_sello(settings: Settings) -> certificados.Credencial | None:
    """The seal's credential: ``MPV_SELLO_P12``, else the demo entity's, else ``None``.

    :raise SettingsError: naming ``MPV_SELLO_P12`` or ``MPV_SELLO_CLAVE`` when the configured one cannot be used."""
    if settings.sello_p12 is not None:
        ruta = Path(settings.sello_p12)
        if not ruta.is_file():
            raise SettingsError(f"MPV_SELLO_P12: no existe el archivo {ruta}")
        try:
            return _abrir(ruta, ruta.stat().st_mtime_ns, settings.sello_clave)
        except certificados.CertificadoInvalido as exc:
            variable = "MPV_SELLO_CLAVE" if str(exc) == certificados.CLAVE_INCORRECTA else "MPV_SELLO_P12"
            raise SettingsError(f"{variable}: {ruta}: {exc}") from None
    ruta, clave = Path(settings.data_dir) / DEMO_P12, Path(settings.data_dir) / DEMO_CLAVE
    if not (ruta.is_file() and clave.is_file()):
        return None
    try:
        return _abrir(ruta, ruta.stat().st_mtime_ns, clave.read_text(encoding="utf-8").strip())
    except certificados.CertificadoInvalido as exc:
        raise SettingsError(f"{ruta} (certificado de demostración, vuelva a ejecutar «mpv demo»): {exc}") from None


def timestamper(settings: Settings) -> TimeStamper | None:
    """The TSA client of ``MPV_TSA_URL`` (RFC 3161 over HTTP), or ``None`` when none is configured."""
    return HTTPTimeStamper(settings.tsa_url, timeout=10) if settings.tsa_url else None


def firmar_pdf(pdf: bytes, credencial: certificados.Credencial, cuando: datetime, razon: str, *, campo: str = "",
               estampa: Estampa | None = None, timestamper: TimeStamper | None = None, lugar: str = "") -> bytes:
    """``pdf`` with one more PAdES signature by ``credencial`` (an incremental update: earlier signatures stay
    valid), its signing time ``cuando``; in a new field ``campo`` (by default «FirmaN», N one more than the
    signatures already there), visible where ``estampa`` says, timestamped by ``timestamper`` when given."""
    escritor = IncrementalPdfFileWriter(io.BytesIO(pdf), strict=False)
    campo = campo or f"Firma{len(PdfFileReader(io.BytesIO(pdf), strict=False).embedded_signatures) + 1}"
    meta = signers.PdfSignatureMetadata(field_name=campo, reason=razon, location=lugar or None, md_algorithm="sha256",
                                        subfilter=fields.SigSeedSubFilter.PADES)
    espacio = (fields.SigFieldSpec(campo, box=estampa.caja, on_page=estampa.pagina) if estampa
               else fields.SigFieldSpec(campo))
    estilo = TextStampStyle(stamp_text=estampa.texto, timestamp_format="%d/%m/%Y %H:%M %Z") if estampa else None
    firmador = _Firmador(meta, credencial.firmante(), cuando, timestamper=timestamper, stamp_style=estilo,
                         new_field_spec=espacio)
    salida = io.BytesIO()
    esperar(firmador.async_sign_pdf(escritor, output=salida))
    return salida.getvalue()


class _Firmador(signers.PdfSigner):
    """pyHanko's signer with the signing time given (the services' clock), not read from the wall clock."""

    def __init__(self, meta, signer, cuando: datetime, **kwargs):
        super().__init__(meta, signer, **kwargs)
        self._cuando = cuando

    def init_signing_session(self, pdf_out, existing_fields_only=False):
        sesion = super().init_signing_session(pdf_out, existing_fields_only=existing_fields_only)
        sesion.system_time = self._cuando
        if self.default_timestamper is None:  # a TSA's answer varies in size: only then is each estimate needed
            sesion.estimate_signature_container_size = _reserva_de(self.signer, sesion.estimate_signature_container_size)
        return sesion


# pyHanko sizes a signature's place by signing once in a dry run, a third of the seal's cost in the lifecycle
# profile (docs/bench.md): without a timestamp that size only depends on the certificate, so it is worked out once.
_RESERVAS: dict[tuple, int] = {}


def _reserva_de(firmante, estimar):
    """``estimar`` (pyHanko's estimate of the bytes a signature takes), remembered per certificate chain."""
    async def reserva(validation_info, tight=False):
        clave = (firmante.signing_cert.sha256, tuple(sorted(c.sha256 for c in firmante.cert_registry)), tight,
                 validation_info is not None and validation_info.adobe_revinfo_attr is not None)
        if clave not in _RESERVAS:
            _RESERVAS[clave] = await estimar(validation_info, tight=tight)
        return _RESERVAS[clave]
    return reserva


@functools.lru_cache(maxsize=4)
def _abrir(ruta: Path, _version: int, clave: str) -> certificados.Credencial:
    """The PKCS#12 at ``ruta``, opened once per version of the file (``_version``: its modification time)."""
    return certificados.abrir(ruta.read_bytes(), clave)


@functools.lru_cache(maxsize=None)
def _sin_sello(data_dir: Path):
    log.warning("MPV_SELLO_P12 is not set and %s has no demo seal (mpv demo): the PDFs MPV writes go out unsealed",
                data_dir)
