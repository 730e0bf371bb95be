"""A signing certificate kept as a PKCS#12 file (the format Firma Perú and every IOFE certifier hand out): opened
with its passphrase, read for the people who see it (holder, issuer, validity) and turned into pyHanko's signer.
The entity's seal (:mod:`mpv.sello`) and the users' own certificates are both opened here."""
from __future__ import annotations

import dataclasses
from datetime import datetime

from asn1crypto import keys as asn1_keys, pkcs12 as asn1_pkcs12, x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID
from pyhanko.sign import signers
from pyhanko_certvalidator.registry import SimpleCertificateStore

NO_ES_PKCS12 = ("El archivo no es un certificado PKCS#12 (.p12 o .pfx): exporte su certificado digital con su "
                "clave privada en ese formato.")
CLAVE_INCORRECTA = "La contraseña no abre el certificado: revísela (distingue mayúsculas y minúsculas)."
SIN_CLAVE_PRIVADA = ("El archivo no contiene la clave privada del certificado: vuelva a exportarlo incluyendo la "
                     "clave privada.")
SIN_CERTIFICADO = "El archivo no contiene un certificado: vuelva a exportarlo desde su proveedor."


class CertificadoInvalido(ValueError):
    """A PKCS#12 that cannot be used to sign; the message says why, in Spanish, and what to do."""


@dataclasses.dataclass(frozen=True)
class Credencial:
    """A private key and its certificate (with the chain the file carries), opened from a PKCS#12."""

    clave: object  # a cryptography private key
    certificado: x509.Certificate
    cadena: tuple[x509.Certificate, ...] = ()

    @property
    def titular(self) -> str:
        return _nombre(self.certificado.subject)

    @property
    def emisor(self) -> str:
        return _nombre(self.certificado.issuer)

    @property
    def desde(self) -> datetime:
        return self.certificado.not_valid_before_utc

    @property
    def hasta(self) -> datetime:
        return self.certificado.not_valid_after_utc

    def vigente(self, momento: datetime) -> bool:
        return self.desde <= momento <= self.hasta

    def firmante(self) -> signers.SimpleSigner:
        """pyHanko's signer for this key; the chain goes into every signature so a verifier can build the path."""
        clave = asn1_keys.PrivateKeyInfo.load(self.clave.private_bytes(
            serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
        return signers.SimpleSigner(signing_cert=_asn1(self.certificado), signing_key=clave,
                                    cert_registry=SimpleCertificateStore.from_certs([_asn1(c) for c in self.cadena]))

    def pkcs12(self, clave: str, nombre: str = "") -> bytes:
        """This credential as a PKCS#12 encrypted under ``clave`` with the strongest scheme ``cryptography`` has."""
        return pkcs12.serialize_key_and_certificates(
            (nombre or self.titular).encode(), self.clave, self.certificado, list(self.cadena) or None,
            serialization.BestAvailableEncryption(clave.encode()))


def abrir(data: bytes, clave: str) -> Credencial:
    """The credential in the PKCS#12 ``data``, opened with ``clave``.

    :raise CertificadoInvalido: not a PKCS#12, a wrong passphrase, no private key or no certificate."""
    try:
        asn1_pkcs12.Pfx.load(data).native  # the structure alone: a well-formed file with a wrong passphrase differs
    except Exception:
        raise CertificadoInvalido(NO_ES_PKCS12) from None
    try:
        clave_privada, certificado, cadena = pkcs12.load_key_and_certificates(data, clave.encode() or None)
    except ValueError:
        raise CertificadoInvalido(CLAVE_INCORRECTA) from None
    except Exception:  # an algorithm cryptography does not support, a damaged bag: the file cannot be used
        raise CertificadoInvalido(NO_ES_PKCS12) from None
    if clave_privada is None:
        raise CertificadoInvalido(SIN_CLAVE_PRIVADA)
    if certificado is None:
        raise CertificadoInvalido(SIN_CERTIFICADO)
    return Credencial(clave_privada, certificado, tuple(cadena))


def _asn1(cert: x509.Certificate) -> asn1_x509.Certificate:
    return asn1_x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER))


def _nombre(nombre: x509.Name) -> str:
    """A certificate name as people read it: its common name, else its organisation, else the whole name."""
    for oid in (NameOID.COMMON_NAME, NameOID.ORGANIZATION_NAME):
        valores = nombre.get_attributes_for_oid(oid)
        if valores:
            return str(valores[0].value)
    return nombre.rfc4514_string()
