"""Issue 14, item 2: a user keeps his signing certificate (PKCS#12) in Mi cuenta, checked at upload (the passphrase
opens it, it holds a key and a certificate valid now) and kept re-encrypted under his passphrase, never the
passphrase itself; he sees its holder, issuer and validity, and may replace or remove it."""
from __future__ import annotations

import html
from datetime import timedelta

import pytest
from cryptography.hazmat.primitives.serialization import BestAvailableEncryption, pkcs12

from firmas_pki import Autoridad
from helpers import make_user
from webclient import signed_in
from mpv.errors import InvalidInput
from mpv.models import CertificadoUsuario, Evento
from mpv.tramites import certificado_usuario


@pytest.fixture
def pki(clock):
    return Autoridad(clock() - timedelta(days=30), "Autoridad de prueba")


@pytest.fixture
def gdur(services):
    return signed_in(services, "gdur", "oficina", "GDUR")


def subir(b, data: bytes, clave: str, nombre="firma.p12"):
    return b.post("/cuenta/certificado", {"clave": clave}, files=[("certificado", nombre, data)])


def test_upload_shows_the_certificate_and_keeps_it_encrypted_never_the_passphrase(gdur, pki):
    original = pki.firmante("Rosa Quispe Huamán", "PNOPE-45871236").pkcs12("mi clave secreta")
    result = subir(gdur, original, "mi clave secreta")
    assert result.status_code == 303 and result.headers["location"].endswith("/cuenta#certificado")
    pagina = html.unescape(gdur.get("/cuenta").text)
    assert "Rosa Quispe Huamán" in pagina and "Autoridad de prueba intermedia" in pagina
    assert "Quitar certificado" in pagina and "Reemplazar certificado" in pagina

    fila = CertificadoUsuario.get()
    assert fila.titular == "Rosa Quispe Huamán" and fila.hasta == pki.desde + timedelta(days=365)
    guardado = bytes(fila.pkcs12)
    assert b"mi clave secreta" not in guardado and guardado != original
    with pytest.raises(ValueError):
        pkcs12.load_key_and_certificates(guardado, None)  # encrypted…
    clave, cert, _ = pkcs12.load_key_and_certificates(guardado, b"mi clave secreta")  # …under his passphrase
    assert clave is not None and cert.subject.rfc4514_string().startswith("2.5.4.5=PNOPE-45871236")
    evento = Evento.get(Evento.accion == "certificado_subido")
    assert "mi clave secreta" not in f"{evento.descripcion} {evento.detalle} {evento.payload}"


def test_replace_and_remove(gdur, pki):
    assert subir(gdur, pki.firmante("Primera").pkcs12("uno"), "uno").status_code == 303
    assert subir(gdur, pki.firmante("Segunda").pkcs12("dos"), "dos").status_code == 303
    assert [f.titular for f in CertificadoUsuario.select()] == ["Segunda"]
    assert gdur.post("/cuenta/certificado/quitar", {}).status_code == 303
    assert CertificadoUsuario.select().count() == 0
    assert "Aún no ha subido un certificado." in gdur.get("/cuenta").text
    assert [e.accion for e in Evento.select().where(Evento.accion.startswith("certificado")).order_by(Evento.seq)] == [
        "certificado_subido", "certificado_subido", "certificado_quitado"]


@pytest.mark.parametrize("caso, campo, mensaje", [
    ("no_p12", "certificado", "no es un certificado PKCS#12"),
    ("clave", "clave", "La contraseña no abre el certificado"),
    ("vencido", "certificado", "El certificado venció el"),
    ("grande", "certificado", "pesa más de 100 KB"),
    ("sin_archivo", "certificado", "Elija el archivo de su certificado"),
    ("sin_clave", "clave", "Escriba la contraseña del certificado"),
    ("sin_clave_privada", "certificado", "no contiene la clave privada"),
])
def test_a_bad_upload_says_what_to_fix_and_writes_nothing(gdur, pki, clock, services, caso, campo, mensaje):
    bueno = pki.firmante("Rosa Quispe").pkcs12("clave")
    data, clave = {
        "no_p12": (b"%PDF-1.4 esto no es un certificado", "clave"),
        "clave": (bueno, "otra clave"),
        "vencido": (pki.firmante("Rosa Quispe", dias=10).pkcs12("clave"), "clave"),
        "grande": (bueno + b"\0" * (certificado_usuario.MAX_BYTES + 10), "clave"),
        "sin_archivo": (b"", "clave"),
        "sin_clave": (bueno, ""),
        "sin_clave_privada": (pkcs12.serialize_key_and_certificates(
            b"solo", None, pki.firmante("Rosa Quispe").cert, None, BestAvailableEncryption(b"clave")), "clave"),
    }[caso]
    antes = Evento.select().count()
    result = subir(gdur, data, clave)
    assert result.status_code == 422, result.text
    pagina = html.unescape(result.text)
    assert mensaje in pagina and f'data-campo="{campo}"' in pagina
    assert CertificadoUsuario.select().count() == 0 and Evento.select().count() == antes
    assert not any(services.storage.tmp.iterdir())  # the upload was not kept on disk


def test_a_certificate_not_yet_valid_is_refused(services, clock):
    futura = Autoridad(clock() + timedelta(days=3), "Autoridad futura")
    usuario = make_user("ana", "oficina", "GDUR")
    with pytest.raises(InvalidInput) as error:
        certificado_usuario.subir(services, usuario, futura.firmante("Ana").pkcs12("x"), "x")
    assert "recién será válido desde el" in error.value.campos["certificado"]
