"""Official documents of an office (DOMAIN.md rule 13): draft one on an expediente, edit the draft, issue it.

Issuing is one write transaction: the document's row and its office's counter for that type and year are locked,
the next number is taken and formatted (Parámetro ``formato_numero_documento``), the document gets its own public
verification code (printed with its QR, :mod:`mpv.tramites.verificacion`), the PDF is written and kept under
its SHA-256, the row becomes ``emitido`` and a history row joins the expediente's chain. When anything fails the
counter is not moved (no gap), the row stays a draft and the PDF just written is removed again.
"""
from __future__ import annotations

import dataclasses
import io
from datetime import timezone

from .. import history
from ..engine import Actor
from ..errors import Conflict, InvalidInput, NotAllowed, NotFound
from ..models import (TIPOS_DOCUMENTO_OFICIAL, AnexoDocumento, DocumentoOficial, Expediente, FirmaDocumento,
                      NumeracionDocumento, Oficina, Usuario)
from ..parametros import numero_documento
from . import documento_pdf, plantillas, verificacion
from .expedientes import SIN_OFICINA, solo_personal, visible
from .presentacion import referenced
from .roles import exigir_rol

TIPOS = TIPOS_DOCUMENTO_OFICIAL  # key → name, for the faces
REDACTAN = ("mesa", "oficina")
SOLO_OFICINAS = "Solo mesa de partes y las oficinas redactan y emiten documentos oficiales."
YA_EMITIDO = "El documento ya fue emitido: no se puede modificar."
REVISE = "Revise los campos marcados."
LIMITES = {"destinatario": 300, "asunto": 500, "cuerpo": 20000}


@dataclasses.dataclass(frozen=True)
class Borrador:
    """The fields a person writes: cleaned by :func:`validar`."""

    tipo: str
    destinatario: str
    asunto: str
    cuerpo: str


def validar(tipo: str, destinatario: str, asunto: str, cuerpo: str) -> Borrador:
    """:raise InvalidInput: naming every field to fix, all at once."""
    datos = {"tipo": (tipo or "").strip(), "destinatario": (destinatario or "").strip(),
             "asunto": (asunto or "").strip(), "cuerpo": (cuerpo or "").strip()}
    campos = {}
    if datos["tipo"] not in TIPOS_DOCUMENTO_OFICIAL:
        campos["tipo"] = "Elija el tipo de documento: " + ", ".join(TIPOS_DOCUMENTO_OFICIAL.values()) + "."
    nombres = {"destinatario": "el destinatario", "asunto": "el asunto", "cuerpo": "el texto del documento"}
    for campo, limite in LIMITES.items():
        if not datos[campo]:
            campos[campo] = f"Escriba {nombres[campo]}."
        elif len(datos[campo]) > limite:
            campos[campo] = f"Escriba {nombres[campo]} en {limite} caracteres como máximo (tiene {len(datos[campo])})."
        elif campo != "cuerpo" and any(c in datos[campo] for c in "\r\n"):
            campos[campo] = f"Escriba {nombres[campo]} en una sola línea."
    if campos:
        raise InvalidInput(REVISE, campos)
    return Borrador(**datos)


def _oficina_del(actor: Actor) -> Oficina:
    """The office ``actor`` writes for. :raise NotAllowed: not mesa de partes or an office user, or no office."""
    exigir_rol(actor, REDACTAN, SOLO_OFICINAS)
    oficina = Oficina.por_codigo(actor.oficina) if actor.oficina else None
    if oficina is None:
        raise NotAllowed(SIN_OFICINA)
    return oficina


def redactar(services, actor: Actor, numero_expediente: str, tipo: str, destinatario: str, asunto: str,
             cuerpo: str) -> DocumentoOficial:
    """A new draft of ``actor``'s office on the expediente ``numero_expediente`` (which it must be able to see).

    :raise NotAllowed: not mesa de partes or an office, or an office the expediente never reached.
    :raise NotFound: unknown expediente. :raise InvalidInput: naming the fields to fix; nothing is written.
    """
    oficina = _oficina_del(actor)
    expediente = puede_redactar(actor, numero_expediente)
    borrador = validar(tipo, destinatario, asunto, cuerpo)
    now = services.clock().astimezone(timezone.utc)
    with services.db.write():
        return DocumentoOficial.create(
            expediente=expediente, oficina=oficina, autor=actor.usuario_id, estado="borrador",
            referencia=f"Expediente N° {expediente.numero}", creado_en=now, actualizado_en=now,
            **dataclasses.asdict(borrador))


def inicial(services, actor: Actor, numero_expediente: str, tipo: str) -> dict[str, str]:
    """The values a new draft of ``tipo`` (an informe when unknown) starts with: its type's template
    (:mod:`mpv.tramites.plantillas`) filled with the expediente's data. :raise NotAllowed: / :raise NotFound:"""
    oficina = _oficina_del(actor)
    expediente = visible(actor, numero_expediente)
    tipo = tipo if tipo in TIPOS_DOCUMENTO_OFICIAL else "informe"
    asunto, cuerpo = plantillas.para_borrador(services, tipo, expediente, oficina)
    return {"tipo": tipo, "destinatario": "", "asunto": asunto, "cuerpo": cuerpo}


def puede_redactar(actor: Actor, numero_expediente: str) -> Expediente:
    """The expediente, when ``actor`` may draft on it (the blank form asks this before it is shown).

    :raise NotAllowed: / :raise NotFound: as :func:`redactar`."""
    _oficina_del(actor)
    return visible(actor, numero_expediente)


def _documento(documento_id) -> DocumentoOficial:
    """:raise NotFound: no such document (an id past the database's integers names nothing)."""
    try:
        documento_id = int(documento_id)
    except (TypeError, ValueError):
        documento_id = 0
    documento = DocumentoOficial.get_or_none(DocumentoOficial.id == documento_id) if 0 < documento_id < 2**63 else None
    if documento is None:
        raise NotFound("Ese documento no existe.")
    return documento


def _de_su_oficina(documento: DocumentoOficial, oficina: Oficina) -> int:
    """The document's id. :raise NotAllowed: it is another office's."""
    if documento.oficina_id != oficina.id:
        raise NotAllowed("Solo la oficina que redactó el documento puede modificarlo o emitirlo.")
    return documento.id


def editar(services, actor: Actor, documento_id: int, tipo: str, destinatario: str, asunto: str,
           cuerpo: str) -> DocumentoOficial:
    """Change a draft of ``actor``'s office.

    :raise NotAllowed: another office's document. :raise Conflict: it was issued («El documento ya fue emitido…»).
    :raise NotFound: / :raise InvalidInput: as :func:`redactar`; nothing is written.
    """
    oficina = _oficina_del(actor)
    documento_id = _de_su_oficina(_documento(documento_id), oficina)
    borrador = validar(tipo, destinatario, asunto, cuerpo)
    now = services.clock().astimezone(timezone.utc)
    with services.db.write():
        documento = services.db.locked(DocumentoOficial.select().where(DocumentoOficial.id == documento_id)).get()
        if documento.estado != "borrador":
            raise Conflict(YA_EMITIDO)
        for campo, valor in dataclasses.asdict(borrador).items():
            setattr(documento, campo, valor)
        documento.actualizado_en = now
        documento.save()
    return documento


def siguiente_correlativo(oficina: Oficina, tipo: str, anio: int) -> int:
    """The next number of ``oficina``'s documents of ``tipo`` in ``anio``. Call inside the issuing's write
    transaction: the counter's row stays locked until it ends, so numbers are consecutive and never repeat."""
    clave = ((NumeracionDocumento.oficina == oficina.id) & (NumeracionDocumento.tipo == tipo)
             & (NumeracionDocumento.anio == anio))
    NumeracionDocumento.insert(oficina=oficina, tipo=tipo, anio=anio, ultimo=0).on_conflict_ignore().execute()
    NumeracionDocumento.update(ultimo=NumeracionDocumento.ultimo + 1).where(clave).execute()
    return NumeracionDocumento.select(NumeracionDocumento.ultimo).where(clave).scalar()


def emitir(services, actor: Actor, documento_id: int) -> DocumentoOficial:
    """Issue a draft of ``actor``'s office: number, PDF, history row — all or nothing (see the module's docstring).

    :raise NotAllowed: not its office. :raise Conflict: already issued. :raise NotFound: no such document.
    """
    oficina = _oficina_del(actor)
    documento_id = _de_su_oficina(_documento(documento_id), oficina)
    parametros = services.parametros.all()
    now = services.clock().astimezone(timezone.utc)
    stored, failed = [], True
    try:
        with services.db.write():
            documento = services.db.locked(DocumentoOficial.select().where(DocumentoOficial.id == documento_id)).get()
            if documento.estado != "borrador":
                raise Conflict(YA_EMITIDO)
            expediente = Expediente.get_by_id(documento.expediente_id)
            fecha = services.calendario.fecha_local(now)
            correlativo = siguiente_correlativo(oficina, documento.tipo, fecha.year)
            nombre_tipo = TIPOS_DOCUMENTO_OFICIAL[documento.tipo]
            numero = numero_documento(parametros["formato_numero_documento"], TIPO=nombre_tipo.upper(),
                                      tipo=nombre_tipo, correlativo=correlativo, anio=fecha.year,
                                      oficina=oficina.codigo, sigla=parametros["entidad_sigla"])
            autor = Usuario.get_by_id(documento.autor_id)
            codigo = verificacion.dar_codigo_a_documento(documento.id, now)
            # The annexes as they are now: adding or removing one locks this row too, so none changes after.
            anexos = tuple(AnexoDocumento.select(AnexoDocumento.nombre, AnexoDocumento.sha256)
                           .where(AnexoDocumento.documento == documento.id).order_by(AnexoDocumento.id).tuples())
            contenido = documento_pdf.pdf(documento_pdf.Contenido(
                entidad=parametros["entidad_nombre"], oficina=oficina.nombre, numero=numero, fecha=fecha,
                destinatario=documento.destinatario, asunto=documento.asunto, referencia=documento.referencia,
                cuerpo=documento.cuerpo, autor=autor.nombre, emitido_en=now, anexos=anexos,
                verificacion_url=verificacion.url(services.settings.base_url, codigo),
                verificacion_codigo=verificacion.agrupado(codigo)))
            received = services.storage.receive(io.BytesIO(contenido), f"{numero}.pdf", len(contenido))
            stored.append(services.storage.keep(received))
            documento.estado, documento.anio, documento.correlativo, documento.numero = (
                "emitido", fecha.year, correlativo, numero)
            documento.sha256, documento.emitido_en, documento.actualizado_en = stored[0].sha256, now, now
            documento.save()
            history.append(services.db, [_evento(actor, documento, expediente, oficina, now, anexos)])
        failed = False
    finally:
        services.storage.release(stored, referenced, failed)
    return documento


def _evento(actor: Actor, documento: DocumentoOficial, expediente: Expediente, oficina: Oficina, now,
            anexos=()) -> dict:
    """The expediente's history row of an issued document: the document is part of the expediente from now on."""
    return {
        "expediente": expediente.id, "momento": now, "tipo": "documento", "accion": "emitir_documento",
        "descripcion": f"Se emitió el {documento.numero}"[:200], "actor": actor.usuario_id,
        "actor_nombre": actor.nombre, "rol": actor.rol, "actor_oficina": actor.oficina, "ip": actor.ip,
        "oficina_origen": oficina.codigo, "detalle": f"Asunto: {documento.asunto}\nA: {documento.destinatario}",
        "payload": {"documento": documento.id, "numero": documento.numero, "tipo": documento.tipo,
                    "sha256": documento.sha256, "asunto": documento.asunto, "destinatario": documento.destinatario,
                    "anexos": [{"nombre": nombre, "sha256": sha256} for nombre, sha256 in anexos]}}


def de_expediente(services, actor: Actor, numero_expediente: str) -> list[DocumentoOficial]:
    """The expediente's documents ``actor`` may see: every issued one, and the drafts of ``actor``'s office.

    :raise NotAllowed: / :raise NotFound: as :func:`mpv.tramites.expedientes.ver`."""
    solo_personal(actor)
    expediente = visible(actor, numero_expediente)
    oficina = Oficina.por_codigo(actor.oficina) if actor.oficina else None
    return DocumentoOficial.de_expediente(expediente.id, oficina.id if oficina else None)


def borrador(services, actor: Actor, documento_id) -> DocumentoOficial:
    """A draft of ``actor``'s office, to edit it. :raise NotAllowed: another office's.
    :raise Conflict: already issued. :raise NotFound: no such document."""
    oficina = _oficina_del(actor)  # who asks first: a role that never drafts is refused, whatever the id
    documento = _documento(documento_id)
    _de_su_oficina(documento, oficina)
    if documento.estado != "borrador":
        raise Conflict(YA_EMITIDO)
    return documento


def vigente(documento: DocumentoOficial) -> str:
    """The SHA-256 of an issued document's PDF as it stands: its latest signed version, else the issued original."""
    firmada = FirmaDocumento.ultima(documento.id)
    return firmada.sha256 if firmada else documento.sha256


def pdf_emitido(services, actor: Actor, documento_id) -> tuple[DocumentoOficial, "io.BufferedReader"]:
    """An issued document and its PDF, opened, for someone who may see its expediente: the latest signed version
    (:mod:`mpv.tramites.firma_documento`), else the issued original.

    :raise NotFound: no such issued document, or its file is missing. :raise NotAllowed: as :func:`de_expediente`."""
    solo_personal(actor)
    documento = _documento(documento_id)
    visible(actor, documento.expediente.numero)
    if documento.estado != "emitido":
        raise NotFound("Ese documento aún no fue emitido: no tiene PDF.")
    try:
        return documento, services.storage.open(vigente(documento))
    except FileNotFoundError:
        raise NotFound("El archivo del documento no está disponible en el servidor; avise al administrador.") from None


CAMPO_RESPUESTA = "documento_respuesta"  # the atención form's field (workflows/atencion.schema.json)


def para_respuesta(actor: Actor, expediente: Expediente) -> list[tuple[str, str]]:
    """The documents ``actor``'s office issued on ``expediente``, as (id, «number — subject») choices of the
    atención form: what the office may answer the trámite with."""
    oficina = Oficina.por_codigo(actor.oficina) if actor.oficina else None
    if oficina is None:
        return []
    rows = DocumentoOficial.select().where(
        (DocumentoOficial.expediente == expediente.id) & (DocumentoOficial.oficina == oficina.id)
        & (DocumentoOficial.estado == "emitido")).order_by(DocumentoOficial.id)
    return [(str(d.id), f"{d.numero} — {d.asunto}") for d in rows]


def respuesta(actor: Actor, expediente: Expediente, valor) -> DocumentoOficial:
    """The issued document of ``actor``'s office on ``expediente`` named by ``valor`` (its id), chosen as the answer.

    :raise InvalidInput: naming the field: no such document, another expediente's, another office's, a draft."""
    try:
        documento = _documento(valor)
    except NotFound as exc:
        raise InvalidInput(exc.message, {CAMPO_RESPUESTA: exc.message}) from None
    nombre = f"El {documento.numero}" if documento.numero else "Ese documento"  # a draft's subject is its office's
    problema = ""
    if documento.expediente_id != expediente.id:
        problema = (f"{nombre} es de otro expediente: responda con un documento emitido en el expediente "
                    f"{expediente.numero}.")
    elif documento.oficina.codigo != actor.oficina:
        problema = f"{nombre} es de otra oficina: responda con un documento que haya emitido su oficina."
    elif documento.estado != "emitido":
        problema = f"{nombre} aún no fue emitido: emítalo antes de responder con él."
    if problema:
        raise InvalidInput(problema, {CAMPO_RESPUESTA: problema})
    return documento
