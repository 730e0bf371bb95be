"""Signing an issued official document with one's own certificate (DOMAIN.md rules 13–14).

Who signs: the users of the office that issued the document, each with the certificate kept in his Mi cuenta —
its author («Soy el autor del documento») and whoever else of the office gives his conformity (the head of the
office who signs what a specialist drafted, a visto bueno). The passphrase is typed at each signature and opens
the certificate in memory only.

The signature is PAdES with a visible stamp (holder, office, reason, date) and the timestamp of ``MPV_TSA_URL``
where it is set, added as an incremental update to the latest version: the issued original stays as it was, each
signature is a new file kept by SHA-256 and a FirmaDocumento row, earlier signatures stay valid, a history row
joins the expediente's chain and the download hands out the latest version.
"""
from __future__ import annotations

import io
import logging
from datetime import timezone

from .. import certificados, history, sello
from ..engine import Actor
from ..errors import Conflict, InvalidInput, MPVError, NotAllowed, NotFound, Throttled
from ..models import DocumentoOficial, FirmaDocumento, Oficina, Usuario
from . import throttle
from .certificado_usuario import de_usuario, fecha
from .documentos import REDACTAN
from .presentacion import referenced
from .roles import exigir_rol

log = logging.getLogger(__name__)

AUTOR = "Soy el autor del documento"
CONFORMIDAD = "Doy mi conformidad al documento"
REVISE = "Revise los campos marcados: el documento no se firmó."
SOLO_SU_OFICINA = "Solo los usuarios de la oficina que emitió el documento pueden firmarlo."
SIN_CERTIFICADO = "Usted no tiene un certificado digital: súbalo en Mi cuenta para firmar."
FALTA_CLAVE = "Escriba la contraseña de su certificado digital."
SIN_SELLO_DE_TIEMPO = ("No se pudo obtener el sello de tiempo de la autoridad configurada (MPV_TSA_URL): el documento "
                       "no se firmó. Inténtelo de nuevo en unos minutos; si sigue fallando, avise al administrador.")
ANCHO = 54  # characters of a stamp's line (8-point Courier in a 260-point box)


def puede_firmar(actor: Actor, documento_id) -> DocumentoOficial:
    """The issued document ``actor`` may sign. :raise NotAllowed: not a user of the office that issued it.
    :raise NotFound: no such document. :raise Conflict: still a draft."""
    exigir_rol(actor, REDACTAN, SOLO_SU_OFICINA)  # who asks first: a role that never signs learns nothing more
    try:
        documento_id = int(documento_id)
    except (TypeError, ValueError):
        documento_id = 0
    documento = DocumentoOficial.get_or_none(DocumentoOficial.id == documento_id) if 0 < documento_id < 2**63 else None
    if documento is None:
        raise NotFound("Ese documento no existe.")
    if not actor.oficina or documento.oficina.codigo != actor.oficina:
        raise NotAllowed(SOLO_SU_OFICINA)
    if documento.estado != "emitido":
        raise Conflict("El documento aún es un borrador: emítalo antes de firmarlo.")
    return documento


def firmas(documento: DocumentoOficial) -> list[FirmaDocumento]:
    return list(FirmaDocumento.select().where(FirmaDocumento.documento == documento.id).order_by(FirmaDocumento.orden))


def firmar(services, actor: Actor, documento_id, clave: str) -> FirmaDocumento:
    """Sign the issued document ``documento_id`` with ``actor``'s certificate, opened with ``clave``.

    :raise InvalidInput: naming ``clave``: no certificate, missing or wrong passphrase, expired certificate;
        or the TSA did not answer. Nothing is written then (a wrong passphrase counts against the account as a
        wrong password does: :mod:`mpv.tramites.throttle`).
    :raise Throttled: too many wrong passphrases lately. :raise Conflict: another signature went in meanwhile.
    :raise NotAllowed: / :raise NotFound: as :func:`puede_firmar`."""
    documento = puede_firmar(actor, documento_id)
    guardado = de_usuario(actor.usuario_id)
    if guardado is None:
        raise InvalidInput(REVISE, {"clave": SIN_CERTIFICADO})
    if not clave:
        raise InvalidInput(REVISE, {"clave": FALTA_CLAVE})
    now = services.clock().astimezone(timezone.utc)
    credencial = _abrir(services, actor, bytes(guardado.pkcs12), clave, now)
    if not credencial.vigente(now):
        raise InvalidInput(REVISE, {"clave": f"Su certificado venció el {fecha(credencial.hasta)} (o aún no es "
                                             "válido): suba uno vigente en Mi cuenta."})
    previa = FirmaDocumento.ultima(documento.id)
    orden = (previa.orden if previa else 0) + 1
    oficina = Oficina.get_by_id(documento.oficina_id)
    razon = AUTOR if actor.usuario_id == documento.autor_id else CONFORMIDAD
    firmado = _firmar_pdf(services, documento, previa, credencial, oficina, razon, orden, now)
    stored, failed = [], True
    try:
        received = services.storage.receive(io.BytesIO(firmado), f"{documento.numero}.pdf", len(firmado))
        stored.append(services.storage.keep(received))
        with services.db.write():
            services.db.locked(DocumentoOficial.select().where(DocumentoOficial.id == documento.id)).get()
            ultima = FirmaDocumento.ultima(documento.id)
            if (ultima.orden if ultima else 0) != orden - 1:
                raise Conflict("Otra persona firmó el documento mientras usted firmaba: vuelva a firmarlo.")
            fila = FirmaDocumento.create(
                documento=documento.id, orden=orden, sha256=stored[0].sha256, usuario=actor.usuario_id,
                firmante=credencial.titular[:300], cargo=oficina.nombre[:300], razon=razon, firmado_en=now)
            history.append(services.db, [_evento(actor, documento, fila, previa, credencial, now)])
        failed = False
    finally:
        services.storage.release(stored, referenced, failed)
    return fila


def _abrir(services, actor: Actor, pkcs12: bytes, clave: str, now) -> certificados.Credencial:
    """The user's credential; a wrong passphrase counts as a failed attempt on the account's signing."""
    cuenta = f"firma:{Usuario.get_by_id(actor.usuario_id).username}"[:60]
    turno = throttle.take(services.db, cuenta, now)
    if turno.espera:
        raise Throttled(f"Demasiadas contraseñas de certificado incorrectas. Espere {turno.espera} segundos e "
                        "inténtelo de nuevo.", turno.espera)
    try:
        credencial = certificados.abrir(pkcs12, clave)
    except certificados.CertificadoInvalido:
        raise InvalidInput(REVISE, {"clave": certificados.CLAVE_INCORRECTA}) from None
    with services.db.write():
        throttle.forgive(cuenta)
    return credencial


def _firmar_pdf(services, documento, previa, credencial, oficina, razon: str, orden: int, now) -> bytes:
    """The latest version of the document with one more signature, its stamp placed beside the earlier ones at the
    foot of the last page."""
    pdf = services.storage.path(previa.sha256 if previa else documento.sha256).read_bytes()
    local = now.astimezone(services.calendario.tz)
    lineas = ["Firmado digitalmente por:", credencial.titular, oficina.nombre, f"Motivo: {razon}",
              f"Fecha: {local:%d/%m/%Y %H:%M} (hora local)"]
    texto = "\n".join(linea[:ANCHO].replace("%", "%%") for linea in lineas)  # pyHanko fills in %(…)s
    columna, fila = (orden - 1) % 2, (orden - 1) // 2
    caja = (40 + columna * 270, 20 + fila * 62, 300 + columna * 270, 78 + fila * 62)
    try:
        return sello.firmar_pdf(pdf, credencial, now, razon, campo=f"Firma{orden}", estampa=sello.Estampa(texto, caja),
                                timestamper=sello.timestamper(services.settings))
    except MPVError:
        raise
    except Exception as exc:  # the TSA's network errors come in many kinds (aiohttp, pyHanko's)
        if not services.settings.tsa_url:
            raise
        log.warning("Document %s not signed: the TSA %s failed: %r", documento.id, services.settings.tsa_url, exc)
        raise InvalidInput(SIN_SELLO_DE_TIEMPO) from None


def _evento(actor: Actor, documento, fila: FirmaDocumento, previa, credencial, now) -> dict:
    """The expediente's history row of a signature: which version was signed, by whom, with which certificate."""
    return {
        "expediente": documento.expediente_id, "momento": now, "tipo": "documento", "accion": "firmar_documento",
        "descripcion": f"{documento.numero} firmado digitalmente por {fila.firmante}"[:200],
        "actor": actor.usuario_id, "actor_nombre": actor.nombre, "rol": actor.rol, "actor_oficina": actor.oficina,
        "ip": actor.ip, "oficina_origen": actor.oficina, "detalle": f"Motivo: {fila.razon}",
        "payload": {"documento": documento.id, "numero": documento.numero, "orden": fila.orden,
                    "sha256": fila.sha256, "sha256_firmado": previa.sha256 if previa else documento.sha256,
                    "firmante": fila.firmante, "emisor": credencial.emisor,
                    "numero_serie": format(credencial.certificado.serial_number, "X"), "razon": fila.razon}}
