"""The constancia of an escrito: the proof its sender gets that the escrito was received, with its own number, the
expediente it joins, the date, time and place (TUO de la Ley 27444, art. 125), its legal filing date (Ley 31465)
and the SHA-256 of every file."""
from __future__ import annotations

import dataclasses
from datetime import date, datetime

from .. import sello
from .escritos import EscritoVista, por_codigo_escrito
from .hoja_pdf import fecha_larga, filas, hoja, latin1


@dataclasses.dataclass
class ConstanciaEscrito:
    entidad: str
    numero: str
    codigo: str
    expediente: str
    asunto: str
    remitente: str
    enviado: datetime  # local time
    fecha_presentacion: date
    via: str
    registrado_por: str
    descripcion: str
    documentos: list[tuple[str, str, int, str]]  # (tipo, nombre, bytes, sha256)
    url: str


def de_codigo(services, codigo: str) -> ConstanciaEscrito:
    """The constancia of the escrito whose own code is ``codigo``. :raise NotFound:"""
    return build(por_codigo_escrito(codigo), services.calendario, services.parametros.get("entidad_nombre"),
                 services.settings.base_url)


def build(vista: EscritoVista, calendario, entidad: str, base_url: str) -> ConstanciaEscrito:
    e, expediente = vista.escrito, vista.escrito.expediente
    return ConstanciaEscrito(
        entidad=entidad, numero=e.numero, codigo=e.codigo, expediente=expediente.numero, asunto=expediente.asunto,
        remitente=expediente.remitente_nombre, enviado=e.presentado_en.astimezone(calendario.tz),
        fecha_presentacion=e.fecha_presentacion, via=e.via_texto, registrado_por=vista.registrado_por,
        descripcion=e.descripcion,
        documentos=[("Escrito" if a.tipo == "escrito" else "Anexo", a.nombre, a.tamano, a.sha256)
                    for a in vista.adjuntos],
        url=f"{base_url}/escritos/{e.codigo}")


def sellada(services, c: ConstanciaEscrito) -> bytes:
    """The constancia's PDF sealed by the entity now (:func:`mpv.sello.sellar`): anyone can verify it without MPV."""
    return sello.sellar(services.settings, pdf(c), f"Constancia del escrito {c.numero} (expediente {c.expediente})",
                        services.clock())


def pdf(c: ConstanciaEscrito) -> bytes:
    """The constancia as a one-page PDF, unsealed."""
    doc = hoja(f"Constancia del escrito {c.numero}", c.entidad)
    doc.set_font("helvetica", "B", 15)
    doc.cell(0, 9, latin1("CONSTANCIA DE PRESENTACIÓN DE ESCRITO"), new_x="LMARGIN", new_y="NEXT", align="C")
    doc.ln(3)
    rows = [
        ("N° de escrito", c.numero),
        ("Expediente", f"{c.expediente} - {c.asunto}"),
        ("Remitente", c.remitente),
        ("Enviado", c.enviado.strftime("%d/%m/%Y %H:%M:%S") + " (hora de Lima)"),
        ("Fecha de presentación", fecha_larga(c.fecha_presentacion)),
        ("Vía", c.via + (f" (registró: {c.registrado_por})" if c.registrado_por else "")),
        ("Lugar", "Mesa de Partes - " + c.entidad),
    ]
    if c.descripcion:
        rows.append(("Descripción", c.descripcion))
    filas(doc, rows, 48)
    doc.ln(3)
    doc.set_font("helvetica", "B", 11)
    doc.cell(0, 7, "Documentos recibidos", new_x="LMARGIN", new_y="NEXT")
    for tipo, nombre, tamano, sha in c.documentos:
        doc.set_font("helvetica", "", 10)
        doc.multi_cell(0, 5, latin1(f"{tipo}: {nombre} ({tamano:,} bytes)".replace(",", ".")),
                       new_x="LMARGIN", new_y="NEXT")
        doc.set_font("courier", "", 8)
        doc.multi_cell(0, 4, f"SHA-256 {sha}", new_x="LMARGIN", new_y="NEXT")
    doc.ln(4)
    doc.set_font("helvetica", "", 9)
    doc.multi_cell(0, 5, latin1(
        "El escrito forma parte del expediente citado y pasa a quien lo tiene a su cargo. Lo enviado un día hábil "
        "se considera presentado ese día; lo enviado en sábado, domingo o feriado, el día hábil siguiente "
        "(Ley 31465). La huella SHA-256 de cada documento permite comprobar que es el mismo que se recibió."),
        new_x="LMARGIN", new_y="NEXT")
    doc.ln(2)
    doc.multi_cell(0, 5, latin1(f"Esta constancia: {c.url}"), new_x="LMARGIN", new_y="NEXT")
    return bytes(doc.output())
