"""A test PKI made with ``cryptography`` (a root, an intermediate, signers) and PDFs signed by pyHanko at a given
moment: the signing time is written into the signature itself, never read from the wall clock."""
from __future__ import annotations

import dataclasses
import io
from datetime import datetime, timedelta

from asn1crypto import keys as asn1_keys, x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign import signers
from pyhanko.sign.signers import cms_embedder
from pyhanko.sign.signers.pdf_cms import PdfCMSSignedAttributes
from pyhanko.sign.timestamps import DummyTimeStamper
from pyhanko_certvalidator.registry import SimpleCertificateStore

from mpv.asincrono import esperar

USOS = dict(key_encipherment=False, data_encipherment=False, key_agreement=False, encipher_only=False,
            decipher_only=False)


def _certificado(nombre: x509.Name, clave, emisor: x509.Certificate | None, clave_emisor, desde: datetime,
                 hasta: datetime, serie: int, ca: bool, sellado_de_tiempo: bool = False) -> x509.Certificate:
    uso = (x509.KeyUsage(digital_signature=False, content_commitment=False, key_cert_sign=True, crl_sign=True, **USOS)
           if ca else x509.KeyUsage(digital_signature=True, content_commitment=True, key_cert_sign=False,
                                    crl_sign=False, **USOS))
    builder = (x509.CertificateBuilder().subject_name(nombre).issuer_name(emisor.subject if emisor else nombre)
               .public_key(clave.public_key()).serial_number(serie).not_valid_before(desde).not_valid_after(hasta)
               .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
               .add_extension(uso, critical=True))
    if sellado_de_tiempo:  # RFC 3161: a TSA's certificate is for timestamping only
        builder = builder.add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]), critical=True)
    return builder.sign(clave_emisor, hashes.SHA256())


def _asn1(cert: x509.Certificate) -> asn1_x509.Certificate:
    return asn1_x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER))


@dataclasses.dataclass
class Autoridad:
    """A root and an intermediate CA, valid for ten years from ``desde``; they issue signers."""

    desde: datetime
    nombre: str = "Raíz de prueba"

    def __post_init__(self):
        self._serie = 1
        self.clave_raiz = ec.generate_private_key(ec.SECP256R1())
        self.raiz = _certificado(self._nombre(self.nombre), self.clave_raiz, None, self.clave_raiz, self.desde,
                                 self.desde + timedelta(days=3650), self._siguiente(), True)
        self.clave_intermedia = ec.generate_private_key(ec.SECP256R1())
        self.intermedia = _certificado(self._nombre(f"{self.nombre} intermedia"), self.clave_intermedia, self.raiz,
                                       self.clave_raiz, self.desde, self.desde + timedelta(days=3650),
                                       self._siguiente(), True)

    def _siguiente(self) -> int:
        self._serie += 1
        return self._serie

    @staticmethod
    def _nombre(cn: str, serial: str = "") -> x509.Name:
        partes = [x509.NameAttribute(NameOID.COMMON_NAME, cn)]
        return x509.Name(partes + ([x509.NameAttribute(NameOID.SERIAL_NUMBER, serial)] if serial else []))

    def raiz_pem(self) -> bytes:
        return self.raiz.public_bytes(serialization.Encoding.PEM)

    def firmante(self, cn: str, serial: str = "", dias: int = 365) -> "Firmante":
        """A signer certificate valid for ``dias`` days from the authority's start."""
        clave = ec.generate_private_key(ec.SECP256R1())
        cert = _certificado(self._nombre(cn, serial), clave, self.intermedia, self.clave_intermedia, self.desde,
                            self.desde + timedelta(days=dias), self._siguiente(), False)
        return Firmante(cert, clave, self.intermedia)

    def sellador_de_tiempo(self, momento: datetime) -> DummyTimeStamper:
        """A time-stamping authority of this CA (pyHanko's in-process TSA for tests) that stamps ``momento``."""
        clave = rsa.generate_private_key(public_exponent=65537, key_size=2048)  # pyHanko's test TSA is RSA-only
        cert = _certificado(self._nombre(f"{self.nombre} TSA"), clave, self.intermedia, self.clave_intermedia,
                            self.desde, self.desde + timedelta(days=3650), self._siguiente(), False, True)
        return DummyTimeStamper(tsa_cert=_asn1(cert), tsa_key=_clave_asn1(clave),
                                certs_to_embed=SimpleCertificateStore.from_certs([_asn1(self.intermedia)]),
                                fixed_dt=momento)


@dataclasses.dataclass
class Firmante:
    cert: x509.Certificate
    clave: ec.EllipticCurvePrivateKey
    intermedia: x509.Certificate

    def firmar(self, pdf: bytes, cuando: datetime, campo: str = "Firma1") -> bytes:
        """``pdf`` with one more signature (an incremental update) whose signing time is ``cuando``."""
        signer = signers.SimpleSigner(
            signing_cert=_asn1(self.cert), signing_key=_clave_asn1(self.clave),
            cert_registry=SimpleCertificateStore.from_certs([_asn1(self.intermedia)]))
        # pyHanko's PdfSigner takes the signing time from the wall clock; its CMS embedder takes it from us.
        escritor = IncrementalPdfFileWriter(io.BytesIO(pdf))
        pasos = cms_embedder.PdfCMSEmbedder().write_cms(field_name=campo, writer=escritor)
        next(pasos)
        pasos.send(cms_embedder.SigObjSetup(sig_placeholder=signers.SignatureObject(timestamp=cuando,
                                                                                    bytes_reserved=8192)))
        digest, salida = pasos.send(cms_embedder.SigIOSetup(md_algorithm="sha256", in_place=True))
        cms = esperar(signer.async_sign(digest.document_digest, "sha256",
                                            signed_attr_settings=PdfCMSSignedAttributes(signing_time=cuando)))
        pasos.send(cms)
        return salida.getvalue()


    def pkcs12(self, clave: str) -> bytes:
        """This signer's key, certificate and intermediate as a PKCS#12 file encrypted under ``clave``."""
        return pkcs12.serialize_key_and_certificates(b"prueba", self.clave, self.cert, [self.intermedia],
                                                     serialization.BestAvailableEncryption(clave.encode()))


def _clave_asn1(clave) -> asn1_keys.PrivateKeyInfo:
    return asn1_keys.PrivateKeyInfo.load(clave.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))


def modificar_pagina(pdf: bytes) -> bytes:
    """``pdf`` with an incremental update that writes new text on its first page (not allowed after signing)."""
    escritor = IncrementalPdfFileWriter(io.BytesIO(pdf))
    pagina = escritor.root["/Pages"]["/Kids"][0].get_object()
    texto = escritor.add_object(generic.StreamObject(stream_data=b"BT /F1 24 Tf 100 100 Td (ALTERADO) Tj ET"))
    pagina["/Contents"] = generic.ArrayObject([pagina.raw_get("/Contents"), texto])
    escritor.update_container(pagina)
    salida = io.BytesIO()
    escritor.write(salida)
    return salida.getvalue()
