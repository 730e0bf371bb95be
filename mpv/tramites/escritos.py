"""Escritos on an existing expediente (issue 14, item 5): the citizen — or mesa de partes, for one brought on paper —
adds a document (a PDF and its annexes) to an expediente he already has.

An escrito gets its own number of its own yearly register and a constancia; its files join the expediente's
documents (kept by SHA-256, their signatures verified like a filing's) and a row joins its history. The process
decides who reviews it: the escrito is the BPMN message ``escrito_presentado``, which the trámite's event
subprocess catches to create «Revisar escrito» for whoever holds the expediente now. All of it is one engine step.

A concluded expediente takes no escrito: what the citizen asks after the end is a new trámite (a reconsideración
or apelación is filed as such), and an escrito nobody will ever review would only look received. An instance of an
older definition, whose process has no escrito event, records the escrito and its files all the same and shows
them; mesa de partes sees it in the history (``Escrito.atendido_por_proceso`` is False).
"""
from __future__ import annotations

import dataclasses
from datetime import datetime, timezone

from .. import identidad
from ..engine import Actor
from ..errors import ArchivoRechazado, Conflict, InvalidInput, NotAllowed, NotFound
from ..models import Adjunto, Escrito, EscritoAdjunto, Expediente, NumeracionEscrito, Usuario
from ..storage import Received
from .ciudadano import normalizar_numero, por_numero_y_documento
from .expedientes import con_firmas, por_codigo, visible
from .roles import exigir_rol
from .hoja_pdf import fecha_larga
from .presentacion import check_files, codigo_seguimiento, nuevos_adjuntos, referenced

MENSAJE = "escrito_presentado"  # the BPMN message the trámite's event subprocess catches
MAX_DESCRIPCION = 500
AVISO = "escrito"  # the e-mail that takes the sender the escrito's constancia (mpv.correo.mensajes)
TIPOS_ADJUNTO = ("escrito", "anexo_escrito")  # Adjunto.tipo of its main PDF and of its annexes


def ubicar(codigo: str = "", numero: str = "", documento: str = "") -> Expediente:
    """The expediente an escrito is for: by its tracking code, or by its number with the sender's identity document.

    :raise NotFound: with the same words whatever was wrong (nothing to learn from them).
    """
    if codigo:
        return por_codigo(codigo)
    expediente = por_numero_y_documento(normalizar_numero(numero.strip()), identidad.normalizar(documento))
    if expediente is None:
        raise NotFound("No encontramos un trámite con ese número de expediente y ese documento de identidad. Revise "
                       "ambos datos (el número tiene la forma 2026-000123) o use el código de seguimiento.")
    return expediente


def concluido(expediente: Expediente, calendario) -> str:
    """Why an escrito on a concluded expediente is refused, and what to do instead."""
    dia = calendario.fecha_local(expediente.actualizado_en)
    return (f"El expediente {expediente.numero} ya concluyó el {fecha_larga(dia)} ({expediente.estado}): no recibe "
            "más escritos. Presente un nuevo trámite, citando ese número de expediente.")


def siguiente_numero(anio: int) -> int:
    """The next number of the year's escritos register. Call inside the write transaction: the row's update locks
    it until commit, so two escritos never share a number and none is skipped."""
    NumeracionEscrito.insert(anio=anio, ultimo=0).on_conflict_ignore().execute()
    NumeracionEscrito.update(ultimo=NumeracionEscrito.ultimo + 1).where(NumeracionEscrito.anio == anio).execute()
    return NumeracionEscrito.select(NumeracionEscrito.ultimo).where(NumeracionEscrito.anio == anio).scalar()


def presentar(services, expediente: Expediente, descripcion: str, principal: Received | None,
              anexos: list[Received], actor: Actor) -> Escrito:
    """Register an escrito on ``expediente``: virtual when ``actor`` is its citizen, presencial when it is mesa de
    partes registering one brought on paper. Files are checked and kept first; then one engine step numbers the
    escrito, records it, attaches its files and delivers it to the process. All or nothing.

    :raise InvalidInput: no main PDF, a file that is not a PDF, too many annexes, too long a description.
    :raise NotAllowed: staff other than mesa de partes. :raise Conflict: the expediente has concluded.
    """
    received = [r for r in [principal, *anexos] if r is not None]
    try:
        via = _via(actor, expediente)
        descripcion = " ".join((descripcion or "").split())
        if len(descripcion) > MAX_DESCRIPCION:
            raise InvalidInput("Revise los campos marcados.", {"descripcion": (
                f"La descripción tiene {len(descripcion)} caracteres; el máximo es {MAX_DESCRIPCION}.")})
        if expediente.terminado:
            raise Conflict(concluido(expediente, services.calendario))
        check_files(principal, anexos, services.limits)
    except BaseException as exc:
        services.storage.discard(received)
        if isinstance(exc, ArchivoRechazado):
            services.refusals.record("archivo_rechazado", f"Archivo rechazado: {exc.nombre}", actor.ip,
                                     nombre=actor.nombre, detalle=exc.message)
        raise
    with services.storage.kept(received, referenced) as stored:
        tipos = [TIPOS_ADJUNTO[0] if i == 0 else TIPOS_ADJUNTO[1] for i in range(len(stored))]
        return _registrar(services, expediente, descripcion, nuevos_adjuntos(services, stored, tipos), actor, via)


def para_escrito_en_fisico(actor: Actor, numero: str) -> Expediente:
    """The expediente ``numero``, on which ``actor`` (mesa de partes) may register an escrito brought on paper.

    :raise NotAllowed: not mesa de partes. :raise NotFound: unknown number."""
    exigir_rol(actor, ("mesa",), "Los escritos presentados en físico los registra mesa de partes.")
    return visible(actor, normalizar_numero(numero))


def registrar_en_fisico(services, actor: Actor, numero: str, descripcion: str, principal: Received | None,
                        anexos: list[Received]) -> Escrito:
    """Mesa de partes registers an escrito brought on paper (scanned to PDF) on the expediente ``numero``.

    :raise NotAllowed: not mesa de partes. :raise NotFound: unknown number. Otherwise raises as :func:`presentar`.
    """
    try:
        expediente = para_escrito_en_fisico(actor, numero)
    except BaseException:
        services.storage.discard([r for r in [principal, *anexos] if r is not None])
        raise
    return presentar(services, expediente, descripcion, principal, anexos, actor)


def del_ciudadano(services, datos: dict, principal: Received | None, anexos: list[Received], ip: str) -> Escrito:
    """The citizen's escrito, on the expediente his ``codigo`` (or ``numero`` and ``documento``) names.

    :raise NotFound: no expediente matches (nothing is kept). Otherwise raises as :func:`presentar`.
    """
    try:
        expediente = ubicar(str(datos.get("codigo") or "").strip(), str(datos.get("numero") or ""),
                            str(datos.get("documento") or ""))
    except BaseException:
        services.storage.discard([r for r in [principal, *anexos] if r is not None])
        raise
    return presentar(services, expediente, str(datos.get("descripcion") or ""), principal, anexos,
                     Actor.ciudadano(expediente, ip))


def _via(actor: Actor, expediente: Expediente) -> str:
    if actor.rol == "ciudadano" and actor.expediente_id == expediente.id:
        return "virtual"
    if actor.rol == "mesa":
        return "presencial"
    raise NotAllowed("Los escritos los presenta el ciudadano por la mesa de partes virtual, o los registra mesa de "
                     "partes cuando se presentan en físico.")


def _registrar(services, expediente: Expediente, descripcion: str, adjuntos, actor: Actor, via: str) -> Escrito:
    now: datetime = services.clock().astimezone(timezone.utc)
    calendario = services.calendario
    with services.db.write():
        anio = calendario.fecha_local(now).year
        correlativo = siguiente_numero(anio)
        numero = f"E-{anio}-{correlativo:06d}"
        fecha = calendario.fecha_presentacion(now)
        titulo = f"Escrito {numero} presentado" + ("" if via == "virtual" else " en físico en mesa de partes")
        fila = {"tipo": "escrito", "accion": "presentar_escrito", "descripcion": titulo, "detalle": descripcion,
                "oficina_origen": "ciudadano",  # on paper too: the escrito is the citizen's, staff only register it
                "payload": {"numero": numero, "via": via, "descripcion": descripcion,
                            "fecha_presentacion": fecha.isoformat(),
                            "adjuntos": [a.para_historial() for a in adjuntos]}}
        # The register's row is locked until commit (numbers stay gapless), then the expediente's, by the step.
        resultado, atendido = services.engine.deliver_message(
            expediente.id, actor, MENSAJE, {"numero": numero, "via": via}, fila, adjuntos,
            lambda e: concluido(e, calendario), aviso=AVISO)
        escrito = Escrito.create(
            expediente=expediente.id, numero=numero, codigo=codigo_seguimiento(), anio=anio, correlativo=correlativo,
            presentado_en=now, fecha_presentacion=fecha, via=via,
            registrado_por=actor.usuario_id if via == "presencial" else None, descripcion=descripcion,
            evento_seq=resultado.eventos[0].seq, atendido_por_proceso=atendido)
        EscritoAdjunto.insert_many([{"escrito": escrito.id, "adjunto": a} for a in resultado.adjuntos]).execute()
        return escrito


@dataclasses.dataclass
class EscritoVista:
    """An escrito as the pages show it: the row and its files (each with its signatures)."""

    escrito: Escrito
    adjuntos: list[Adjunto]
    registrado_por: str


def de_expediente(expediente_id: int) -> list[EscritoVista]:
    """The expediente's escritos with their files, oldest first."""
    escritos = Escrito.de_expediente(expediente_id)
    if not escritos:
        return []
    enlaces = list(EscritoAdjunto.select().where(EscritoAdjunto.escrito.in_([e.id for e in escritos]))
                   .order_by(EscritoAdjunto.adjunto))
    adjuntos = {a.id: a for a in con_firmas(Adjunto.select().where(Adjunto.id.in_([x.adjunto_id for x in enlaces])))}
    usuarios = dict(Usuario.select(Usuario.id, Usuario.nombre).where(
        Usuario.id.in_([e.registrado_por_id for e in escritos if e.registrado_por_id])).tuples())
    return [EscritoVista(e, [adjuntos[x.adjunto_id] for x in enlaces if x.escrito_id == e.id],
                         usuarios.get(e.registrado_por_id, "")) for e in escritos]


def adjuntos_de_escritos(expediente_id: int) -> set[int]:
    """The ids of the expediente's files that came with an escrito (to list them apart from the filing's)."""
    return {a for (a,) in EscritoAdjunto.select(EscritoAdjunto.adjunto).join(Escrito)
            .where(Escrito.expediente == expediente_id).tuples()}


def por_codigo_escrito(codigo: str) -> EscritoVista:
    """The escrito whose own code is ``codigo`` (its constancia's key). :raise NotFound:"""
    escrito = Escrito.get_or_none(Escrito.codigo == codigo) if codigo else None
    if escrito is None:
        raise NotFound("No encontramos un escrito con ese código. Revise el enlace de su constancia.")
    return next(v for v in de_expediente(escrito.expediente_id) if v.escrito.id == escrito.id)
