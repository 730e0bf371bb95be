"""The constancia de presentación: the proof a citizen gets the moment a virtual filing is sent.

It carries what the law asks of a cargo (TUO de la Ley 27444, art. 125: date, time, place and
number) and the legal filing date of Ley 31465, with the SHA-256 of every document received.
"""
from __future__ import annotations

import dataclasses
from datetime import date, datetime, timedelta

import orjson

from .. import sello
from ..models import PRESENCIAL, Adjunto, Evento, Expediente
from ..plazos import Calendario
from . import tupa
from .hoja_pdf import fecha_larga, filas, hoja, latin1, lista_documentos, parrafo


@dataclasses.dataclass
class Constancia:
    entidad: str
    numero: str
    codigo: str
    enviado: datetime  # local time
    fecha_presentacion: date
    nota_fecha: str  # why the legal date differs from the day it was sent, if it does
    remitente: str
    documento_identidad: str
    tipo_documento: str
    asunto: str
    folios: int
    documentos: list[tuple[str, str, int, str]]  # (tipo, nombre, bytes, sha256)
    seguimiento_url: str
    procedimiento: list[tuple[str, str]] = dataclasses.field(default_factory=list)  # (label, value) rows
    presencial: bool = False  # brought on paper and registered by mesa de partes (mpv.tramites.presencial)

    @property
    def recibido(self) -> str:
        """The label of ``enviado``: sent online, or received at the counter."""
        return "Recibido en mesa de partes" if self.presencial else "Enviado"

    @property
    def lugar(self) -> str:
        lugar = "Mesa de partes (presentado en físico)" if self.presencial else "Mesa de Partes Virtual"
        return f"{lugar} - {self.entidad}"


def build(expediente: Expediente, calendario: Calendario, entidad: str, base_url: str) -> Constancia:
    enviado = expediente.presentado_en.astimezone(calendario.tz)
    nota = ""
    if expediente.fecha_presentacion != enviado.date():
        motivo = calendario.feriado(enviado.date())
        if motivo:
            nota = f"enviado en feriado ({motivo})"
        elif enviado.weekday() >= 5:
            nota = "enviado en sábado o domingo"
        else:
            nota = "enviado después de la hora de corte de la entidad"
        nota += f": se considera presentado el {fecha_larga(expediente.fecha_presentacion)} (Ley 31465)"
    inicio = (Evento.select().where((Evento.expediente == expediente.id) & (Evento.tipo == "inicio")).first())
    hashes = {a["sha256"]: a for a in orjson.loads(inicio.payload).get("adjuntos", [])} if inicio else {}
    documentos = [(a.tipo, a.nombre, a.tamano, a.sha256) for a in
                  Adjunto.select().where(Adjunto.expediente == expediente.id).order_by(Adjunto.id)
                  if a.sha256 in hashes]
    remitente = expediente.remitente
    return Constancia(
        entidad=entidad, numero=expediente.numero, codigo=expediente.codigo, enviado=enviado,
        fecha_presentacion=expediente.fecha_presentacion, nota_fecha=nota, remitente=expediente.remitente_nombre,
        documento_identidad=f"{remitente.tipo_documento_identidad} {remitente.numero_documento_identidad}",
        tipo_documento=expediente.tipo_documento.nombre, asunto=expediente.asunto, folios=expediente.folios,
        documentos=documentos, seguimiento_url=f"{base_url}/seguimiento/{expediente.codigo}",
        procedimiento=_procedimiento(expediente, calendario), presencial=expediente.via == PRESENCIAL)


def _procedimiento(expediente: Expediente, calendario: Calendario) -> list[tuple[str, str]]:
    """What the constancia says of the TUPA procedure filed: its calificación and what follows from it."""
    f = tupa.de_expediente(expediente)
    if f is None:
        return [("Procedimiento", "Documento simple (no es un procedimiento del TUPA: sin plazo de procedimiento)")]
    rows = [("Procedimiento (TUPA)", f"{f.codigo} {f.nombre}"), ("Calificación", f.calificacion_texto)]
    if expediente.silencio == "automatica":
        rows.append(("Resultado", "APROBADO al presentarse (aprobación automática, TUO de la Ley 27444, art. 33): "
                                  "esta constancia acredita la aprobación, sin perjuicio de la fiscalización "
                                  "posterior."))
    elif expediente.plazo_vence:
        ultimo = (expediente.plazo_vence.astimezone(calendario.tz) - timedelta(seconds=1)).date()
        efecto = "silencio positivo" if f.calificacion == "positivo" else "silencio negativo"
        rows.append(("Plazo máximo", f"{f.plazo_dias} días hábiles: hasta el {fecha_larga(ultimo)}, salvo que se "
                                     f"suspenda por una observación; vencido sin respuesta, se aplica el {efecto}."))
    rows.append(("Derecho de trámite", f.derecho + (f" (recibo N° {f.recibo_pago})" if f.recibo_pago else "")))
    marcados = sum(r["marcado"] for r in f.requisitos)
    texto = f"{marcados} de {len(f.requisitos)} marcados"
    if f.faltantes:
        texto += "; no marcados: " + "; ".join(f.faltantes)
    rows.append(("Requisitos declarados", texto))
    return rows


def sellada(services, c: Constancia) -> bytes:
    """The constancia's PDF sealed by the entity now (:func:`mpv.sello.sellar`): anyone can verify it without MPV."""
    return sello.sellar(services.settings, pdf(c), f"Constancia de presentación del expediente {c.numero}",
                        services.clock())


def pdf(c: Constancia) -> bytes:
    """The constancia as a one-page PDF, unsealed."""
    doc = hoja(f"Constancia de presentación {c.numero}", c.entidad, creado=c.enviado)
    doc.set_font("helvetica", "B", 15)
    doc.cell(0, 9, latin1("CONSTANCIA DE PRESENTACIÓN"), new_x="LMARGIN", new_y="NEXT", align="C")
    doc.ln(3)
    rows = [
        ("N° de expediente", c.numero),
        ("Código de seguimiento", c.codigo),
        (c.recibido, c.enviado.strftime("%d/%m/%Y %H:%M:%S") + " (hora de Lima)"),
        ("Fecha de presentación", fecha_larga(c.fecha_presentacion)),
        ("Remitente", f"{c.remitente} ({c.documento_identidad})"),
        ("Tipo de documento", c.tipo_documento),
        ("Asunto", c.asunto),
        ("Folios", str(c.folios)),
        ("Lugar", c.lugar),
        *c.procedimiento,
    ]
    filas(doc, rows, 48)
    if c.nota_fecha:
        doc.set_font("helvetica", "I", 9)
        doc.multi_cell(0, 5, latin1("Nota: " + c.nota_fecha + "."), new_x="LMARGIN", new_y="NEXT")
    doc.ln(3)
    lista_documentos(doc, "Documentos recibidos", c.documentos, 10)
    doc.ln(4)
    doc.set_font("helvetica", "", 9)
    doc.multi_cell(0, 5, latin1(
        "La mesa de partes virtual recibe documentos las 24 horas (Ley 31170). Lo enviado un día hábil se "
        "considera presentado ese día; lo enviado en sábado, domingo o feriado, el día hábil siguiente "
        "(Ley 31465). Los plazos se cuentan en días hábiles desde el día siguiente (TUO de la Ley 27444, "
        "art. 145). La huella SHA-256 de cada documento permite comprobar que es el mismo que usted envió."),
        new_x="LMARGIN", new_y="NEXT")
    doc.ln(2)
    parrafo(doc, 5, latin1(f"Consulte el seguimiento en: {c.seguimiento_url}"))
    return bytes(doc.output())
