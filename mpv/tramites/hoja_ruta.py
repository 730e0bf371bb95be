"""The hoja de ruta of an expediente and the cargo of each derivation (issue 14, item 6), and the cargo de recepción
of a filing brought on paper (issue 16, item 2): PDFs for staff, printed and carried with the papers, each with a QR
code that opens the expediente's public verification (:mod:`mpv.tramites.verificacion` says why that code, and not
the código de seguimiento — which only the copy printed for the citizen as his filing is registered carries).

Every movement comes from the expediente's history (:func:`mpv.history.seguimiento`), never from process data. The
PDFs are dated with the services' clock, sealed by the entity (:func:`mpv.sello.sellar`) and registered by their
SHA-256, so a printed copy can be checked later.
"""
from __future__ import annotations

import dataclasses
from datetime import date, datetime

from .. import history, sello
from ..engine import Actor
from ..errors import NotFound
from ..models import PRESENCIAL, Expediente, Usuario
from . import constancia, tupa, verificacion
from .expedientes import solo_personal, visible
from .hoja_pdf import fecha_larga, filas, hoja, latin1, lista_documentos, qr_verificacion


@dataclasses.dataclass(frozen=True)
class Paso:
    """One movement of the hoja de ruta."""

    momento: datetime  # local time
    origen: str
    destino: str
    accion: str
    responsable: str
    plazo: str  # «7 días hábiles», or ""
    folios: str
    observaciones: str


@dataclasses.dataclass(frozen=True)
class Cabecera:
    """What a route sheet and a cargo say of the expediente, and where to verify it."""

    expediente_id: int
    entidad: str
    numero: str
    fecha_presentacion: date
    remitente: str
    asunto: str
    tipo_documento: str
    procedimiento: str
    folios: int
    codigo: str  # the verification code, grouped for print
    url: str  # /verificar/{codigo}, absolute
    generado: datetime  # local time: the PDF's date


@dataclasses.dataclass(frozen=True)
class HojaDeRuta:
    cabecera: Cabecera
    estado: str
    pasos: list[Paso]


@dataclasses.dataclass(frozen=True)
class Cargo:
    """The cargo de derivación: who sent the expediente where, when, with what plazo and indication."""

    cabecera: Cabecera
    evento: int  # the history row's id
    momento: datetime  # local time
    origen: str
    destinos: str
    derivado_por: str
    plazo: str
    prioridad: str
    observaciones: str


@dataclasses.dataclass(frozen=True)
class CargoRecepcion:
    """The cargo de recepción of a filing brought on paper (TUO de la Ley 27444, art. 125: date, time, place, number
    and folios), with the clerk who received it and the SHA-256 of each scanned document."""

    cabecera: Cabecera
    evento: int  # the history row of its presentation
    recibido: datetime  # local time
    lugar: str
    documento_identidad: str
    recibido_por: str
    documentos: list[tuple[str, str, int, str]]  # (tipo, nombre, bytes, sha256)
    codigo_seguimiento: str = ""  # only on the citizen's copy, printed as it is registered
    seguimiento_url: str = ""


def _plazo(payload: dict) -> str:
    dias = payload.get("plazo_dias")
    return f"{dias} días hábiles" if isinstance(dias, int) and dias > 0 else ""


def _observaciones(m: history.Movimiento) -> str:
    """A movement's notes, and the documents a derivation or a return carried with it."""
    documentos = [a.get("nombre", "") for a in m.payload.get("adjuntos") or [] if isinstance(a, dict)]
    adjunta = f"Adjunta: {', '.join(documentos)}" if m.deriva and documentos else ""
    return "\n".join(x for x in (m.detalle, adjunta) if x)


def _cabecera(services, expediente: Expediente) -> Cabecera:
    procedimiento = tupa.de_expediente(expediente)
    codigo = verificacion.codigo_de_expediente(services, expediente)
    return Cabecera(
        expediente_id=expediente.id, entidad=services.parametros.get("entidad_nombre"), numero=expediente.numero,
        fecha_presentacion=expediente.fecha_presentacion, remitente=expediente.remitente_nombre,
        asunto=expediente.asunto, tipo_documento=expediente.tipo_documento.nombre,
        procedimiento=f"{procedimiento.codigo} {procedimiento.nombre}" if procedimiento else "Documento simple",
        folios=expediente.folios, codigo=verificacion.agrupado(codigo),
        url=verificacion.url(services.settings.base_url, codigo),
        generado=services.clock().astimezone(services.calendario.tz))


def hoja_de_ruta(services, actor: Actor, numero: str) -> HojaDeRuta:
    """The hoja de ruta of the expediente ``numero``: its data and every movement of its history.

    :raise NotAllowed: not staff, or an office it never reached. :raise NotFound: unknown number."""
    solo_personal(actor)
    expediente = visible(actor, numero)
    pasos = [Paso(m.momento, m.origen, m.destino, m.descripcion, m.usuario, _plazo(m.payload),
                  str(m.payload.get("folios") or ""), _observaciones(m))
             for m in history.seguimiento(expediente.id, services.calendario)]
    return HojaDeRuta(_cabecera(services, expediente), expediente.estado, pasos)


def cargo(services, actor: Actor, numero: str, evento_id: int) -> Cargo | CargoRecepcion:
    """The cargo of the derivation recorded in the history row ``evento_id`` of the expediente ``numero`` (any
    step that sent it to another office: :attr:`mpv.history.Movimiento.deriva`) or, when that row is the
    presentation of a filing brought on paper, its cargo de recepción (:func:`cargo_recepcion`).

    :raise NotFound: no derivation of that expediente has that id. :raise NotAllowed: as :func:`hoja_de_ruta`."""
    solo_personal(actor)
    expediente = visible(actor, numero)
    m = next((m for m in history.seguimiento(expediente.id, services.calendario) if m.evento == evento_id
              and (m.deriva or (m.tipo == "inicio" and expediente.via == PRESENCIAL))), None)
    if m is None:
        raise NotFound(f"El expediente {numero} no tiene esa derivación.")
    if m.tipo == "inicio":
        return cargo_recepcion(services, expediente, m)
    return Cargo(_cabecera(services, expediente), m.evento, m.momento, m.origen, m.destino, m.usuario,
                 _plazo(m.payload), str(m.payload.get("prioridad") or "normal").capitalize(), m.detalle)


def cargo_recepcion(services, expediente: Expediente, inicio: history.Movimiento,
                    para_el_ciudadano: bool = False) -> CargoRecepcion:
    """The cargo de recepción of ``expediente``, brought on paper, whose presentation is the movement ``inicio``;
    ``para_el_ciudadano``: the copy handed to him as it is registered, with his código de seguimiento."""
    c = constancia.build(expediente, services.calendario, "", services.settings.base_url)
    clerk = Usuario.get_or_none(Usuario.id == expediente.registrado_por_id)
    return CargoRecepcion(
        _cabecera(services, expediente), inicio.evento, inicio.momento,
        f"Mesa de partes (presentado en físico) - {services.parametros.get('entidad_nombre')}",
        c.documento_identidad, f"{clerk.nombre} ({clerk.username})" if clerk else inicio.usuario, c.documentos,
        c.codigo if para_el_ciudadano else "", c.seguimiento_url if para_el_ciudadano else "")


def _datos(doc, c: Cabecera, titulo: str):
    doc.set_font("helvetica", "B", 14)
    doc.cell(0, 8, latin1(titulo), new_x="LMARGIN", new_y="NEXT", align="C")
    doc.ln(2)
    filas(doc, [("N° de expediente", c.numero), ("Fecha de presentación", fecha_larga(c.fecha_presentacion)),
                ("Remitente", c.remitente), ("Asunto", c.asunto), ("Tipo de documento", c.tipo_documento),
                ("Procedimiento", c.procedimiento), ("Folios", str(c.folios))], 48)


def _pie(doc, c: Cabecera):
    doc.ln(2)
    doc.set_font("helvetica", "I", 8)
    doc.cell(0, 5, latin1(f"Generado por la Mesa de Partes Virtual el {c.generado:%d/%m/%Y %H:%M} (hora de Lima)."),
             new_x="LMARGIN", new_y="NEXT")


def pdf_hoja_de_ruta(h: HojaDeRuta) -> bytes:
    """The hoja de ruta as an A4 landscape PDF: the data, the QR, then one table row per movement."""
    c = h.cabecera
    doc = hoja(f"Hoja de ruta {c.numero}", c.entidad, creado=c.generado, orientacion="L")
    _datos(doc, c, "HOJA DE RUTA")
    filas(doc, [("Estado", h.estado)], 48)
    doc.ln(2)
    qr_verificacion(doc, c.url, c.codigo)
    doc.set_font("helvetica", "B", 11)
    doc.cell(0, 7, latin1(f"Movimientos ({len(h.pasos)})"), new_x="LMARGIN", new_y="NEXT")
    doc.set_font("helvetica", "", 8)
    with doc.table(col_widths=(8, 24, 34, 34, 44, 36, 18, 12, 57), text_align="LEFT", line_height=4,
                   padding=1) as tabla:
        tabla.row([latin1(t) for t in ("N°", "Fecha y hora", "De", "A", "Acción", "Responsable", "Plazo",
                                       "Folios", "Observaciones")])
        for n, p in enumerate(h.pasos, 1):
            tabla.row([latin1(t) for t in (str(n), p.momento.strftime("%d/%m/%Y %H:%M"), p.origen, p.destino,
                                           p.accion, p.responsable, p.plazo, p.folios, p.observaciones)])
    _pie(doc, c)
    return bytes(doc.output())


def pdf_cargo(c: Cargo) -> bytes:
    """The cargo de derivación as a one-page A4 PDF."""
    cab = c.cabecera
    doc = hoja(f"Cargo de derivación {cab.numero}", cab.entidad, creado=cab.generado)
    _datos(doc, cab, "CARGO DE DERIVACIÓN")
    doc.ln(2)
    filas(doc, [("Derivado el", c.momento.strftime("%d/%m/%Y %H:%M") + " (hora de Lima)"), ("De", c.origen),
                ("A", c.destinos), ("Derivado por", c.derivado_por), ("Plazo", c.plazo or "-"),
                ("Prioridad", c.prioridad), ("Observaciones", c.observaciones or "-")], 48)
    doc.ln(4)
    qr_verificacion(doc, cab.url, cab.codigo)
    doc.ln(10)
    doc.set_font("helvetica", "", 9)
    doc.cell(90, 5, "_______________________________")
    doc.cell(0, 5, "Fecha y hora de recepción: ____/____/______  ____:____", new_x="LMARGIN", new_y="NEXT")
    doc.cell(90, 5, latin1("Recibido por (firma y sello)"), new_x="LMARGIN", new_y="NEXT")
    _pie(doc, cab)
    return bytes(doc.output())


def documento_hoja_de_ruta(services, actor: Actor, numero: str) -> tuple[str, bytes]:
    """The hoja de ruta's file name and PDF (sealed where the entity has a seal), registered for verification.

    :raise NotAllowed: / :raise NotFound: as :func:`hoja_de_ruta`."""
    h = hoja_de_ruta(services, actor, numero)
    contenido = sello.sellar(services.settings, pdf_hoja_de_ruta(h), f"Hoja de ruta del expediente {numero}",
                             h.cabecera.generado)
    titulo = f"Hoja de ruta del expediente {numero} ({h.cabecera.generado:%d/%m/%Y %H:%M})"
    verificacion.registrar(services, "hoja_ruta", h.cabecera.expediente_id, titulo, contenido,
                           verificacion.sellado(services))
    return f"hoja-de-ruta-{numero}.pdf", contenido


def documento_cargo(services, actor: Actor, numero: str, evento_id: int) -> tuple[str, bytes]:
    """The cargo's file name and PDF (sealed where the entity has a seal), registered for verification.

    :raise NotAllowed: / :raise NotFound: as :func:`cargo`."""
    c = cargo(services, actor, numero, evento_id)
    if isinstance(c, CargoRecepcion):
        return documento_cargo_recepcion(services, c)
    contenido = sello.sellar(services.settings, pdf_cargo(c), f"Cargo de derivación del expediente {numero}",
                             c.cabecera.generado)
    titulo = f"Cargo de derivación del expediente {numero} a {c.destinos} ({c.momento:%d/%m/%Y %H:%M})"
    verificacion.registrar(services, "cargo", c.cabecera.expediente_id, titulo, contenido,
                           verificacion.sellado(services))
    return f"cargo-{numero}-{c.evento}.pdf", contenido


def pdf_cargo_recepcion(c: CargoRecepcion) -> bytes:
    """The cargo de recepción as a one-page A4 PDF."""
    cab = c.cabecera
    doc = hoja(f"Cargo de recepción {cab.numero}", cab.entidad, creado=cab.generado)
    _datos(doc, cab, "CARGO DE RECEPCIÓN")
    filas(doc, [("Recibido el", c.recibido.strftime("%d/%m/%Y %H:%M") + " (hora de Lima)"), ("Lugar", c.lugar),
                ("Documento de identidad", c.documento_identidad), ("Recibido por", c.recibido_por)]
          + ([("Código de seguimiento", c.codigo_seguimiento)] if c.codigo_seguimiento else []), 48)
    doc.ln(2)
    lista_documentos(doc, "Documentos digitalizados", c.documentos, 9)
    doc.ln(3)
    qr_verificacion(doc, cab.url, cab.codigo)
    doc.set_font("helvetica", "", 9)
    doc.multi_cell(0, 5, latin1(
        "Se recibió el documento en físico y se registró en el mismo registro y numeración que la mesa de partes "
        "virtual. Los plazos se cuentan en días hábiles desde el día siguiente a la fecha de presentación (TUO de "
        "la Ley 27444, art. 145)." + (f" Consulte el seguimiento en: {c.seguimiento_url}" if c.seguimiento_url
                                      else "")), new_x="LMARGIN", new_y="NEXT")
    doc.ln(10)
    doc.cell(0, 5, "_______________________________", new_x="LMARGIN", new_y="NEXT")
    doc.cell(0, 5, latin1("Firma y sello de mesa de partes"), new_x="LMARGIN", new_y="NEXT")
    _pie(doc, cab)
    return bytes(doc.output())


def documento_cargo_recepcion(services, c: CargoRecepcion) -> tuple[str, bytes]:
    """The cargo de recepción's file name and PDF (sealed where the entity has a seal), registered for verification."""
    numero = c.cabecera.numero
    contenido = sello.sellar(services.settings, pdf_cargo_recepcion(c), f"Cargo de recepción del expediente {numero}",
                             c.cabecera.generado)
    verificacion.registrar(services, "cargo_recepcion", c.cabecera.expediente_id,
                           f"Cargo de recepción del expediente {numero} ({c.recibido:%d/%m/%Y %H:%M})", contenido,
                           verificacion.sellado(services))
    return f"cargo-de-recepcion-{numero}.pdf", contenido
