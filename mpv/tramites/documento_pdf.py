"""The PDF of an issued official document (rule 13): the entity, the number, the date in words, the addressee, the
subject, the reference to the expediente, the body and who signs it, on A4 with fpdf2 — the library the constancia
already uses (:mod:`mpv.tramites.constancia`), so MPV keeps one PDF writer and needs no second one at run time."""
from __future__ import annotations

import dataclasses
from datetime import date, datetime

from fpdf import FPDF

from .hoja_pdf import fecha_larga, latin1, qr_verificacion


@dataclasses.dataclass(frozen=True)
class Contenido:
    """What the issued document says, already decided: nothing here is read from the database."""

    entidad: str
    oficina: str  # the office's name
    numero: str  # «INFORME N° 012-2026-GDUR/MDX»
    fecha: date  # the local date it was issued
    destinatario: str = ""
    asunto: str = ""
    referencia: str = ""
    cuerpo: str = ""
    autor: str = ""
    emitido_en: datetime | None = None  # the PDF's creation date: the same content gives the same file
    verificacion_url: str = ""  # /verificar/{its own code}, printed under a QR (mpv.tramites.verificacion)
    verificacion_codigo: str = ""  # that code, grouped for print


def parrafos(cuerpo: str) -> list[str]:
    """The body's paragraphs: text separated by blank lines, each paragraph's lines joined."""
    bloques = [b.strip() for b in cuerpo.replace("\r\n", "\n").split("\n\n")]
    return [" ".join(line.strip() for line in b.splitlines()) for b in bloques if b]


def pdf(c: Contenido) -> bytes:
    """The document as a PDF (one page or more)."""
    doc = FPDF(format="A4")
    doc.set_margins(25, 20, 25)
    doc.set_auto_page_break(True, margin=20)
    if c.emitido_en is not None:
        doc.set_creation_date(c.emitido_en)
    doc.set_title(latin1(c.numero))
    doc.set_author(latin1(c.oficina))
    doc.add_page()
    doc.set_font("helvetica", "B", 12)
    doc.multi_cell(0, 6, latin1(c.entidad), new_x="LMARGIN", new_y="NEXT", align="C")
    doc.set_font("helvetica", "", 10)
    doc.multi_cell(0, 5, latin1(c.oficina), new_x="LMARGIN", new_y="NEXT", align="C")
    doc.ln(6)
    doc.set_font("helvetica", "B", 13)
    doc.multi_cell(0, 7, latin1(c.numero), new_x="LMARGIN", new_y="NEXT", align="C")
    doc.ln(2)
    doc.set_font("helvetica", "", 10)
    doc.multi_cell(0, 6, latin1(fecha_larga(c.fecha)), new_x="LMARGIN", new_y="NEXT", align="R")
    doc.ln(3)
    for etiqueta, valor in (("A", c.destinatario), ("Asunto", c.asunto), ("Referencia", c.referencia)):
        doc.set_font("helvetica", "B", 10)
        doc.cell(26, 6, latin1(f"{etiqueta}:"))
        doc.set_font("helvetica", "", 10)
        doc.multi_cell(0, 6, latin1(valor), new_x="LMARGIN", new_y="NEXT")
    doc.ln(2)
    doc.line(doc.l_margin, doc.get_y(), doc.w - doc.r_margin, doc.get_y())
    doc.ln(4)
    doc.set_font("helvetica", "", 11)
    for parrafo in parrafos(c.cuerpo):
        doc.multi_cell(0, 6, latin1(parrafo), new_x="LMARGIN", new_y="NEXT", align="J")
        doc.ln(3)
    doc.ln(6)
    doc.set_font("helvetica", "", 10)
    doc.cell(0, 6, "Atentamente,", new_x="LMARGIN", new_y="NEXT")
    doc.ln(14)
    doc.set_font("helvetica", "B", 10)
    doc.multi_cell(0, 5, latin1(c.autor), new_x="LMARGIN", new_y="NEXT")
    doc.set_font("helvetica", "", 10)
    doc.multi_cell(0, 5, latin1(c.oficina), new_x="LMARGIN", new_y="NEXT")
    if c.verificacion_url:
        doc.ln(8)
        # No link annotation: each signature's visible stamp joins the page's annotations in an incremental update,
        # and pyHanko reads a page that already had some as changed after the earlier signatures.
        qr_verificacion(doc, c.verificacion_url, c.verificacion_codigo, lado=24, enlace=False)
    return bytes(doc.output())
