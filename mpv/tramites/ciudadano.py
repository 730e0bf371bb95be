"""What a citizen reaches without an account: an expediente through its tracking code (128 random bits), or only
its state through its number together with the sender's identity document; its seguimiento, its files, the
observation to correct; and the document types a filing may name."""
from __future__ import annotations

import dataclasses
import re
from pathlib import Path

from .. import history
from ..errors import NotFound
from ..models import Adjunto, Evento, Expediente, Tarea, TipoDocumento
from ..pdf import pdf_name
from . import constancia, silencio, tupa, verificacion
from .expedientes import con_firmas, por_codigo

# Adjunto.tipo of a document staff attach to a derivation or a return (the «documento» of the Derivación and Atención
# forms, workflows/*.schema.json): an internal paper, neither listed to the citizen nor served to him.
INTERNO = "interno"


def tipos_documento() -> list[tuple[str, str]]:
    """(código, nombre) of the active document types, by name: what a filing may name in ``tipo_documento``."""
    return list(TipoDocumento.select(TipoDocumento.codigo, TipoDocumento.nombre)
                .where(TipoDocumento.activo == True)  # noqa: E712 - a peewee expression
                .order_by(TipoDocumento.nombre).tuples())


def pendientes(expediente: Expediente) -> list[Tarea]:
    """The expediente's pending steps, oldest first, one for each place it waits in (an office that must review an
    escrito beside its own task on the expediente is named once)."""
    lugares = {}
    for tarea in Tarea.select().where(Tarea.expediente == expediente.id).order_by(Tarea.desde):
        lugares.setdefault((tarea.rol, tarea.oficina_id), tarea)
    return list(lugares.values())


def normalizar_numero(numero: str) -> str:
    """«2026-123» → «2026-000123» (the register's format); anything else unchanged."""
    match = re.fullmatch(r"(\d{4})-(\d{1,6})", numero)
    return f"{match.group(1)}-{int(match.group(2)):06d}" if match else numero


def por_numero_y_documento(numero: str, documento: str) -> Expediente | None:
    """The expediente ``numero`` if its sender's identity document is ``documento`` (else None).

    Números are sequential and a DNI is no secret: what is found this way shows only its state, never the
    tracking code, which alone opens the files, the constancia and the subsanación (V6.3.4)."""
    return Expediente.get_or_none((Expediente.numero == numero) & (Expediente.remitente_documento == documento))


@dataclasses.dataclass
class SeguimientoPublico:
    """The citizen's view of the timeline: offices instead of staff names, no internal notes."""

    expediente: Expediente
    movimientos: list
    pendientes: list[Tarea]
    subsanacion: Tarea | None  # the correction the citizen owes, if any
    adjuntos: list[Adjunto]
    procedimiento: tupa.ProcedimientoPresentado | None  # None: a documento simple
    escritos: list = dataclasses.field(default_factory=list)  # mpv.tramites.escritos.EscritoVista, oldest first


def seguimiento(services, codigo: str) -> SeguimientoPublico:
    """The seguimiento of the expediente whose tracking code is ``codigo``. :raise NotFound: unknown code."""
    from .escritos import de_expediente as escritos_de  # escritos builds on this module

    expediente = por_codigo(codigo)
    definition = services.definitions.get(expediente.definicion_id)
    movimientos = history.seguimiento(expediente.id, services.calendario, publico=True, definition=definition)
    return SeguimientoPublico(
        expediente, movimientos, pendientes(expediente),
        Tarea.get_or_none((Tarea.expediente == expediente.id) & (Tarea.rol == "ciudadano")
                          & (Tarea.spec == "subsanacion")),
        con_firmas(Adjunto.select().where((Adjunto.expediente == expediente.id) & (Adjunto.tipo != INTERNO))
                   .order_by(Adjunto.id)),
        tupa.de_expediente(expediente), escritos_de(expediente.id))


def observacion(expediente: Expediente) -> str:
    """What mesa de partes asked the citizen to correct, in its latest observation ("" when none)."""
    row = (Evento.select().where((Evento.expediente == expediente.id) & (Evento.tarea == "recepcion")
                                 & (Evento.accion == "observar")).order_by(Evento.seq.desc()).first())
    return row.detalle if row else ""


def constancia_de(services, codigo: str) -> constancia.Constancia:
    """The constancia de presentación of the expediente whose tracking code is ``codigo``. :raise NotFound:"""
    return constancia.build(por_codigo(codigo), services.calendario, services.parametros.get("entidad_nombre"),
                            services.settings.base_url)


def constancia_pdf(services, codigo: str) -> tuple[constancia.Constancia, bytes]:
    """The constancia de presentación and its PDF, registered for public verification. :raise NotFound:"""
    return verificacion.constancia_registrada(services, por_codigo(codigo))


def silencio_pdf(services, codigo: str) -> tuple[silencio.Silencio, bytes]:
    """The statement of silencio administrativo and its PDF, registered for public verification.

    :raise NotFound: unknown code, or no silencio applied to that expediente."""
    return verificacion.silencio_registrado(services, por_codigo(codigo))


@dataclasses.dataclass
class ArchivoPublico:
    path: Path
    nombre: str


def archivo(services, codigo: str, adjunto_id: int) -> ArchivoPublico:
    """A file of the expediente whose tracking code is ``codigo``. :raise NotFound: not one of its files, or
    missing from storage (the same words, so that nothing is learnt from them)."""
    expediente = por_codigo(codigo)
    adjunto = (Adjunto.get_or_none((Adjunto.id == adjunto_id) & (Adjunto.expediente == expediente.id)
                                   & (Adjunto.tipo != INTERNO))
               if 0 < adjunto_id < 2 ** 63 else None)  # a larger id fits no database integer
    path = services.storage.path(adjunto.sha256) if adjunto else None
    if adjunto is None or not path.exists():
        raise NotFound("Ese archivo no existe en este expediente.")
    return ArchivoPublico(path, pdf_name(adjunto.nombre))
