"""Demo certificates, so that ``make run`` shows sealing and signing with no certificate of the real
infrastructure (IOFE): a demo certification authority, the entity's demo seal (when ``MPV_SELLO_P12`` is not set)
and a certificate for each demo user who signs documents. Every one of them says in its name that it is a
demonstration without legal value. The authority's root goes to ``MPV_DATA_DIR/demo-raices/``, which MPV trusts
only where ``MPV_TRUST_ROOTS`` is not set (:meth:`mpv.services.Services.build`); its private key is never kept."""
from __future__ import annotations

import dataclasses
import os
import secrets
from datetime import datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from .. import sello
from ..certificados import Credencial
from ..models import Usuario
from ..tramites import certificado_usuario

SIN_VALOR = "CERTIFICADO DE DEMOSTRACIÓN — SIN VALOR LEGAL"
FIRMAN = ("mesa", "oficina")  # the roles that sign official documents


def carpeta_raices(settings) -> Path:
    return Path(settings.data_dir) / sello.DEMO_RAICES


@dataclasses.dataclass
class Autoridad:
    """A demo root that issues the seal and the users' certificates, valid from a day before ``desde``."""

    desde: datetime

    def __post_init__(self):
        self.clave = ec.generate_private_key(ec.SECP256R1())
        nombre = _nombre("MPV — AUTORIDAD DE DEMOSTRACIÓN", SIN_VALOR)
        self.raiz = (x509.CertificateBuilder().subject_name(nombre).issuer_name(nombre)
                     .public_key(self.clave.public_key()).serial_number(x509.random_serial_number())
                     .not_valid_before(self.desde - timedelta(days=1)).not_valid_after(self.desde + timedelta(days=3650))
                     .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
                     .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False),
                                    critical=True)
                     .sign(self.clave, hashes.SHA256()))

    def emitir(self, nombre: x509.Name, anios: int = 2) -> Credencial:
        """A signing certificate for ``nombre``, valid for ``anios`` years."""
        clave = ec.generate_private_key(ec.SECP256R1())
        cert = (x509.CertificateBuilder().subject_name(nombre).issuer_name(self.raiz.subject)
                .public_key(clave.public_key()).serial_number(x509.random_serial_number())
                .not_valid_before(self.desde - timedelta(days=1))
                .not_valid_after(self.desde + timedelta(days=365 * anios))
                .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
                .add_extension(x509.KeyUsage(True, True, False, False, False, False, False, False, False),
                               critical=True)
                .sign(self.clave, hashes.SHA256()))
        return Credencial(clave, cert, (self.raiz,))

    def guardar_raiz(self, settings):
        """Write the root where MPV finds the demo's trust roots (one file per authority: earlier runs stay)."""
        carpeta = carpeta_raices(settings)
        carpeta.mkdir(parents=True, exist_ok=True)
        (carpeta / f"demo-{self.raiz.serial_number:x}.pem").write_bytes(
            self.raiz.public_bytes(serialization.Encoding.PEM))


def crear(services, usuarios: list[str]) -> list[tuple[str, str]]:
    """The demo seal, when no seal is configured nor made yet, and a certificate for each of ``usuarios`` who
    signs documents, uploaded to his Mi cuenta under a generated passphrase. Returns (username, passphrase)."""
    settings = services.settings
    firmantes = list(Usuario.select().where(Usuario.username.in_(usuarios) & Usuario.rol.in_(FIRMAN))
                     .order_by(Usuario.id))
    hace_falta_sello = settings.sello_p12 is None and sello.credencial_del_sello(settings) is None
    if not firmantes and not hace_falta_sello:
        return []
    autoridad = Autoridad(services.clock())
    autoridad.guardar_raiz(settings)
    if hace_falta_sello:
        entidad = services.parametros.get("entidad_nombre")
        clave = secrets.token_urlsafe(18)
        credencial = autoridad.emitir(_nombre(SIN_VALOR, entidad[:64], "Sello de la entidad"), anios=5)
        _privado(Path(settings.data_dir) / sello.DEMO_CLAVE, clave.encode() + b"\n")
        _privado(Path(settings.data_dir) / sello.DEMO_P12, credencial.pkcs12(clave, "Sello de demostración"))
    claves = []
    for usuario in firmantes:
        clave = secrets.token_urlsafe(9)
        credencial = autoridad.emitir(_nombre(f"{usuario.nombre[:48]} (DEMOSTRACIÓN)", SIN_VALOR))
        certificado_usuario.subir(services, usuario, credencial.pkcs12(clave), clave)
        claves.append((usuario.username, clave))
    return claves


def _nombre(cn: str, organizacion: str, unidad: str = "") -> x509.Name:
    partes = [x509.NameAttribute(NameOID.COMMON_NAME, cn), x509.NameAttribute(NameOID.ORGANIZATION_NAME, organizacion)]
    if unidad:
        partes.append(x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, unidad))
    return x509.Name(partes + [x509.NameAttribute(NameOID.COUNTRY_NAME, "PE")])


def _privado(ruta: Path, data: bytes):
    """Write ``data`` readable by its owner only (a passphrase, a private key)."""
    ruta.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(ruta, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
