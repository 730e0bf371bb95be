"""A citizen's filing: validate it, keep its PDFs, give it a number and start its process instance.

Files are streamed to disk and checked first; then one transaction inserts the expediente, its
adjuntos, the first Evento and the started instance. When anything fails, the files the filing
brought are removed and nothing is written.
"""
from __future__ import annotations

import base64
import dataclasses
import secrets
from datetime import datetime, timezone

from ..engine import STATE_FORMAT, Actor, NuevoAdjunto
from ..text import fold
from ..errors import ArchivoRechazado, InvalidInput
from ..firmas import verificar
from ..models import (PRESENCIAL, VIRTUAL, Adjunto, AnexoDocumento, DocumentoOficial, Expediente, FirmaDocumento,
                      Numeracion, Remitente, TipoDocumento)
from ..pdf import check_pdf, pdf_name
from .. import history
from . import casilla, tupa
from .campos import CLI, POR_NOMBRE, REVISE, SIN_ARCHIVO, revisar
from ..storage import Received, Stored


@dataclasses.dataclass
class Limits:
    principal_bytes: int = 20 * 1024 * 1024
    anexo_bytes: int = 10 * 1024 * 1024
    anexos: int = 5


def validar(datos: dict, cara: str = CLI, archivo: bool = True) -> dict:
    """The filing's fields as ``cara`` sent them (``mpv.tramites.campos``), cleaned and checked, the
    document type against the catalogue; ``archivo``: whether a main document came with them.

    :raise InvalidInput: with a message for every field that breaks a rule, all at once.
    """
    limpio, campos = revisar(datos, cara)
    if "tipo_documento" not in campos:
        tipo = TipoDocumento.get_or_none(TipoDocumento.codigo == limpio["tipo_documento"])
        if tipo is None or not tipo.activo:
            campos["tipo_documento"] = ELIJA_TIPO
    _procedimiento(limpio, campos)
    if not archivo:
        campos["archivo"] = SIN_ARCHIVO
    if campos:
        raise InvalidInput(REVISE, campos)
    return limpio


def _procedimiento(limpio: dict, campos: dict[str, str]):
    """The TUPA procedure the filing names, its requirements ticked and its payment receipt (rule 10). A
    requirement left unticked does not stop the filing: mesa de partes observes it (art. 136)."""
    codigo = limpio.get("procedimiento") or ""
    marcados = limpio.get("requisitos") if "requisitos" not in campos else []
    marcados = marcados or []
    if "procedimiento" in campos:
        return
    if not codigo:
        if marcados:
            campos["requisitos"] = ("Los requisitos son los de un procedimiento del TUPA: elija el procedimiento, o "
                                    "deje los requisitos sin marcar si presenta un documento simple.")
        limpio["recibo_pago"] = ""
        return
    procedimiento = tupa.por_codigo(codigo)
    if procedimiento is None or not procedimiento.activo:
        campos["procedimiento"] = POR_NOMBRE["procedimiento"].falta
        return
    total = len(tupa.requisitos(procedimiento))
    fuera = [n for n in marcados if n > total]
    if fuera:
        campos["requisitos"] = (f"El procedimiento {procedimiento.codigo} tiene {total} requisitos: el número "
                                f"{fuera[0]} no es uno de ellos.")
    if tupa.tiene_derecho(procedimiento):
        if not limpio.get("recibo_pago") and "recibo_pago" not in campos:
            campos["recibo_pago"] = (f"El derecho de trámite de este procedimiento es {tupa.derecho(procedimiento)}: "
                                     "indique el número del recibo o de la operación con que lo pagó.")
    else:
        limpio["recibo_pago"] = ""  # a free procedure has nothing to pay


def check_files(principal: Received | None, anexos: list[Received], limits: Limits) -> None:
    """:raise InvalidInput: when the main PDF is missing, there are too many annexes, or one is not a valid PDF."""
    if principal is None:
        raise InvalidInput(SIN_ARCHIVO, {"archivo": SIN_ARCHIVO})
    if len(anexos) > limits.anexos:
        raise InvalidInput(f"Puede adjuntar como máximo {limits.anexos} anexos.",
                           {"anexos": f"Adjuntó {len(anexos)} anexos; el máximo es {limits.anexos}."})
    for field, received in [("archivo", principal)] + [("anexos", a) for a in anexos]:
        try:
            check_pdf(received.path, received.nombre)
        except ArchivoRechazado as exc:
            raise ArchivoRechazado(exc.message, {field: exc.message}, exc.nombre) from None


def codigo_seguimiento() -> str:
    """A tracking code: 128 random bits in base32 (26 letters and digits, easy to read out and type)."""
    return base64.b32encode(secrets.token_bytes(16)).decode().rstrip("=")


ELIJA_TIPO = POR_NOMBRE["tipo_documento"].falta
INICIO = {VIRTUAL: "Trámite presentado", PRESENCIAL: "Trámite presentado en físico en mesa de partes"}

REMITENTE_CAMPOS = ("tipo_persona", "tipo_documento_identidad", "numero_documento_identidad", "nombres", "apellidos",
                    "razon_social", "email", "telefono", "direccion")


def siguiente_numero(anio: int) -> int:
    """The next number of the year's register. Call inside the filing's write transaction."""
    Numeracion.insert(anio=anio, ultimo=0).on_conflict_ignore().execute()
    Numeracion.update(ultimo=Numeracion.ultimo + 1).where(Numeracion.anio == anio).execute()
    return Numeracion.select(Numeracion.ultimo).where(Numeracion.anio == anio).scalar()


def presentar(services, datos: dict, principal: Received | None, anexos: list[Received],
              ip: str = "", proceso: str = "tramite", cara: str = CLI, registrado_por: Actor | None = None
              ) -> Expediente:
    """File a trámite: validate, keep the files, number it and start an instance of the active
    version of ``proceso`` — all or nothing. ``cara`` is the face ``datos`` came through (web, api or
    cli: the console and the programs that file on an operator's behalf, as the demo data; presencial:
    mesa de partes registering one brought on paper, ``registrado_por`` the clerk — see
    :mod:`mpv.tramites.presencial`). Paper or virtual, the number comes from the one register.

    :raise InvalidInput: bad data or files (nothing is written, no file is left).
    """
    received = [r for r in [principal, *anexos] if r is not None]
    try:
        limpio = validar(datos, cara, archivo=principal is not None)
        check_files(principal, anexos, services.limits)
    except BaseException as exc:
        services.storage.discard(received)
        if isinstance(exc, ArchivoRechazado):
            services.refusals.record("archivo_rechazado", f"Archivo rechazado: {exc.nombre}", ip,
                                     nombre=registrado_por.nombre if registrado_por else "ciudadano",
                                     detalle=exc.message)
        raise
    with services.storage.kept(received, referenced) as stored:
        tipos = ["principal" if i == 0 else "anexo" for i in range(len(stored))]
        return _registrar(services, limpio, nuevos_adjuntos(services, stored, tipos), ip, proceso, registrado_por)


def nuevos_adjuntos(services, stored: list[Stored], tipos: list[str]) -> list[NuevoAdjunto]:
    """The files just kept, as a step attaches them, each with its digital signatures verified
    (:func:`mpv.firmas.verificar`, at the moment received): here, before the step, so its transaction stays short."""
    momento = services.clock()
    return [NuevoAdjunto(s.sha256, pdf_name(s.nombre), s.size, tipo,
                         verificar(services.storage.path(s.sha256), momento, services.raices))
            for s, tipo in zip(stored, tipos)]


def referenced(sha256: str) -> bool:
    """Whether any Adjunto row (or issued official document) points at the file ``sha256``."""
    return bool(referenced_among([sha256]))


def files_in_use(batch: int = 1000):
    """Every file some Adjunto row names, once each, in batches (by SHA-256) for :meth:`Storage.check`."""
    last = ""
    while True:
        rows = [sha for (sha,) in Adjunto.select(Adjunto.sha256).where(Adjunto.sha256 > last).distinct()
                .order_by(Adjunto.sha256).limit(batch).tuples()]
        yield from rows
        if len(rows) < batch:
            return
        last = rows[-1]


def referenced_among(hashes: list[str]) -> set[str]:
    """Which of the files ``hashes`` some Adjunto row, issued official document (the PDF of
    :mod:`mpv.tramites.documentos`), signed version of one or annex of one points at, in four queries (for
    ``Storage.sweep``)."""
    if not hashes:
        return set()
    hashes = list(hashes)
    adjuntos = Adjunto.select(Adjunto.sha256).where(Adjunto.sha256.in_(hashes)).distinct()
    documentos = DocumentoOficial.select(DocumentoOficial.sha256).where(DocumentoOficial.sha256.in_(hashes))
    firmados = FirmaDocumento.select(FirmaDocumento.sha256).where(FirmaDocumento.sha256.in_(hashes))
    anexos = AnexoDocumento.select(AnexoDocumento.sha256).where(AnexoDocumento.sha256.in_(hashes)).distinct()
    return {sha for query in (adjuntos, documentos, firmados, anexos) for (sha,) in query.tuples()}


def _registrar(services, d: dict, adjuntos: list[NuevoAdjunto], ip: str, proceso: str,
               registrado_por: Actor | None = None) -> Expediente:
    now: datetime = services.clock().astimezone(timezone.utc)  # as the row reads back: it is not read again
    calendario = services.calendario
    definition = services.definitions.active(proceso)
    with services.db.write():
        anio = calendario.fecha_local(now).year
        correlativo = siguiente_numero(anio)
        remitente = Remitente.create(**{k: d[k] for k in REMITENTE_CAMPOS})
        tipo = TipoDocumento.get_or_none(TipoDocumento.codigo == d["tipo_documento"])
        if tipo is None:
            raise InvalidInput(REVISE, {"tipo_documento": ELIJA_TIPO})  # removed meanwhile
        procedimiento = tupa.por_codigo(d["procedimiento"]) if d["procedimiento"] else None
        expediente = Expediente(
            numero=f"{anio}-{correlativo:06d}", anio=anio, correlativo=correlativo,
            codigo=codigo_seguimiento(), remitente=remitente, remitente_nombre=remitente.nombre_completo,
            remitente_documento=remitente.numero_documento_identidad, tipo_documento=tipo,
            numero_documento=d["numero_documento"], asunto=d["asunto"], folios=d["folios"],
            busqueda=fold(f"{remitente.nombre_completo} {d['asunto']} {d['numero_documento']}"),
            presentado_en=now, fecha_presentacion=calendario.fecha_presentacion(now),
            procedimiento=procedimiento, recibo_pago=d["recibo_pago"],
            requisitos=tupa.declarados(procedimiento, d["requisitos"]) if procedimiento else "",
            definicion=definition.row_id, estado="Presentado", estado_motor="{}",
            formato_estado=STATE_FORMAT, version=0, actualizado_en=now,
            via=PRESENCIAL if registrado_por else VIRTUAL,
            registrado_por=registrado_por.usuario_id if registrado_por else None)
        expediente.save(force_insert=True)
        payload = {**d, "adjuntos": [a.para_historial() for a in adjuntos],
                   "fecha_presentacion": expediente.fecha_presentacion.isoformat(), "via": expediente.via}
        # On paper, the clerk who registered it is the actor of its first history row (as for an escrito).
        actor = registrado_por or Actor.ciudadano(expediente, ip)
        consentimiento = None
        if d.get("casilla"):  # before the instance starts: its first step knows how its acts will be notified
            consentimiento = casilla.registrar_consentimiento(expediente, casilla.OTORGA, now, ip)
        expediente = services.engine.start(expediente, actor, payload, adjuntos,
                                           descripcion=INICIO[expediente.via]).expediente
        if consentimiento is not None:
            history.append(services.db, [consentimiento])
        return expediente

