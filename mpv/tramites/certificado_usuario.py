"""A user's signing certificate in Mi cuenta (DOMAIN.md rule 14): upload it, replace it, remove it.

At upload the passphrase must open the PKCS#12, which must hold a private key and a certificate valid now. MPV
keeps it re-encrypted under that passphrase with the strongest scheme ``cryptography`` offers and never keeps the
passphrase: the user types it at each signature (:mod:`mpv.tramites.firma_documento`).
"""
from __future__ import annotations

from datetime import datetime, timezone

from .. import certificados, history, registro
from ..errors import InvalidInput
from ..models import CertificadoUsuario, Usuario

MAX_BYTES = 100 * 1024
REVISE = "Revise los campos marcados: el certificado no se guardó."
DEMASIADO_GRANDE = ("El archivo pesa más de 100 KB; un certificado PKCS#12 (.p12 o .pfx) pesa unos pocos KB: "
                    "revise que eligió el archivo correcto.")
FALTA_ARCHIVO = "Elija el archivo de su certificado digital (.p12 o .pfx)."
FALTA_CLAVE = "Escriba la contraseña del certificado."
MAX_CLAVE = 200


def fecha(momento: datetime) -> str:
    return f"{momento:%d/%m/%Y}"


def de_usuario(usuario_id: int) -> CertificadoUsuario | None:
    """The user's certificate, if he uploaded one."""
    return CertificadoUsuario.get_or_none(CertificadoUsuario.usuario == usuario_id)


def abrir_vigente(data: bytes, clave: str, ahora: datetime) -> certificados.Credencial:
    """The credential in ``data``, opened with ``clave``, when its certificate is valid at ``ahora``.

    :raise InvalidInput: naming ``certificado`` (not a PKCS#12, no key, expired…) or ``clave`` (wrong passphrase)."""
    try:
        credencial = certificados.abrir(data, clave)
    except certificados.CertificadoInvalido as exc:
        campo = "clave" if str(exc) == certificados.CLAVE_INCORRECTA else "certificado"
        raise InvalidInput(REVISE, {campo: str(exc)}) from None
    if ahora > credencial.hasta:
        raise InvalidInput(REVISE, {"certificado": f"El certificado venció el {fecha(credencial.hasta)}: "
                                                   "use uno vigente."})
    if ahora < credencial.desde:
        raise InvalidInput(REVISE, {"certificado": f"El certificado recién será válido desde el "
                                                   f"{fecha(credencial.desde)}."})
    return credencial


def subir(services, usuario: Usuario, data: bytes | None, clave: str, ip: str = "") -> CertificadoUsuario:
    """Keep ``data`` (a PKCS#12) as ``usuario``'s certificate, replacing the one he had; audited.

    :raise InvalidInput: naming ``certificado`` or ``clave``: missing, too big, not a PKCS#12, wrong passphrase, no
        private key, expired or not yet valid. Nothing is written then."""
    campos = {}
    if not data:
        campos["certificado"] = FALTA_ARCHIVO
    elif len(data) > MAX_BYTES:
        campos["certificado"] = DEMASIADO_GRANDE
    if not clave:
        campos["clave"] = FALTA_CLAVE
    elif len(clave) > MAX_CLAVE:
        campos["clave"] = f"La contraseña puede tener como máximo {MAX_CLAVE} caracteres."
    if campos:
        raise InvalidInput(REVISE, campos)
    now = services.clock().astimezone(timezone.utc)
    credencial = abrir_vigente(data, clave, now)
    cifrado = credencial.pkcs12(clave)  # under the user's passphrase; the passphrase itself is not kept
    with services.db.write():
        reemplazado = CertificadoUsuario.delete().where(CertificadoUsuario.usuario == usuario.id).execute()
        fila = CertificadoUsuario.create(
            usuario=usuario.id, pkcs12=cifrado, titular=credencial.titular[:300], emisor=credencial.emisor[:300],
            numero_serie=format(credencial.certificado.serial_number, "X")[:100], desde=credencial.desde,
            hasta=credencial.hasta, subido_en=now)
        history.append(services.db, [registro.evento(
            now, "acceso", "certificado_subido", ("Reemplazó" if reemplazado else "Subió") + " su certificado digital",
            usuario, ip, detalle=f"{fila.titular}; emisor {fila.emisor}; serie {fila.numero_serie}; vigente hasta "
                                 f"{fecha(fila.hasta)}")])
    return fila


def quitar(services, usuario: Usuario, ip: str = "") -> bool:
    """Remove ``usuario``'s certificate (audited); False when he had none. Documents he signed stay signed."""
    now = services.clock().astimezone(timezone.utc)
    with services.db.write():
        fila = de_usuario(usuario.id)
        if fila is None:
            return False
        fila.delete_instance()
        history.append(services.db, [registro.evento(
            now, "acceso", "certificado_quitado", "Quitó su certificado digital", usuario, ip,
            detalle=f"{fila.titular}; serie {fila.numero_serie}")])
    return True
