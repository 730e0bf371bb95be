"""The PDF of an issued official document (rule 13): the entity, the number, the date in words, the addressee, the
subject, the reference to the expediente, the body, its annexes (name and SHA-256) and who signs it, on A4 with
fpdf2 — the library the constancia already uses (:mod:`mpv.tramites.constancia`), so MPV keeps one PDF writer.

The file is PDF/A-2B (ISO 19005-2, fit for long-term archiving: fpdf2's ``enforce_compliance``), which needs every
font embedded: MPV ships DejaVu Sans (a free licence, ``mpv/fuentes/LICENCIA-DejaVu.txt``), so the PDF does not
depend on the fonts of the server, and the text is Unicode rather than Latin-1.
"""
from __future__ import annotations

import dataclasses
from datetime import date, datetime, timezone
from html import escape
from pathlib import Path

from fpdf import FPDF

from .hoja_pdf import fecha_larga, qr_verificacion

FUENTES = Path(__file__).resolve().parent.parent / "fuentes"
PDFA = "PDF/A-2B"
LETRA = "dejavu"


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
    anexos: tuple[tuple[str, str], ...] = ()  # (name, SHA-256) of each annex, in order


def parrafos(cuerpo: str) -> list[str]:
    """The body's paragraphs: text separated by blank lines, each paragraph's lines joined."""
    bloques = [b.strip() for b in cuerpo.replace("\r\n", "\n").split("\n\n")]
    return [" ".join(line.strip() for line in b.splitlines()) for b in bloques if b]


def _xmp(c: Contenido) -> str:
    """The PDF/A identification and the document's metadata, dated when it was issued: fpdf2's own dates its
    modification with the wall clock, and the same document must give the same file."""
    cuando = escape(c.emitido_en.astimezone(timezone.utc).isoformat(timespec="seconds"))
    return "\n".join([
        '<x:xmpmeta xmlns:x="adobe:ns:meta/" x:xmptk="fpdf2">',
        '  <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns:dc="http://purl.org/dc/elements/1.1/"'
        ' xmlns:xmp="http://ns.adobe.com/xap/1.0/" xmlns:pdfaid="http://www.aiim.org/pdfa/ns/id/">',
        f'    <rdf:Description rdf:about="" xmp:CreateDate="{cuando}" xmp:ModifyDate="{cuando}"'
        f' xmp:MetadataDate="{cuando}">',
        "      <pdfaid:part>2</pdfaid:part>", "      <pdfaid:conformance>B</pdfaid:conformance>",
        f'      <dc:title><rdf:Alt><rdf:li xml:lang="x-default">{escape(c.numero)}</rdf:li></rdf:Alt></dc:title>',
        f"      <dc:creator><rdf:Seq><rdf:li>{escape(c.oficina)}</rdf:li></rdf:Seq></dc:creator>",
        "    </rdf:Description>", "  </rdf:RDF>", "</x:xmpmeta>"])


def pdf(c: Contenido) -> bytes:
    """The document as a PDF (one page or more)."""
    doc = FPDF(format="A4", enforce_compliance=PDFA)
    doc.add_font(LETRA, "", str(FUENTES / "DejaVuSans.ttf"))
    doc.add_font(LETRA, "B", str(FUENTES / "DejaVuSans-Bold.ttf"))
    doc.set_lang("es-PE")
    doc.set_margins(25, 20, 25)
    doc.set_auto_page_break(True, margin=20)
    if c.emitido_en is not None:
        doc.set_creation_date(c.emitido_en)
        doc.set_xmp_metadata(_xmp(c))
    doc.set_title(c.numero)
    doc.set_author(c.oficina)
    doc.add_page()
    doc.set_font(LETRA, "B", 12)
    doc.multi_cell(0, 6, c.entidad, new_x="LMARGIN", new_y="NEXT", align="C")
    doc.set_font(LETRA, "", 10)
    doc.multi_cell(0, 5, c.oficina, new_x="LMARGIN", new_y="NEXT", align="C")
    doc.ln(6)
    doc.set_font(LETRA, "B", 13)
    doc.multi_cell(0, 7, c.numero, new_x="LMARGIN", new_y="NEXT", align="C")
    doc.ln(2)
    doc.set_font(LETRA, "", 10)
    doc.multi_cell(0, 6, fecha_larga(c.fecha), new_x="LMARGIN", new_y="NEXT", align="R")
    doc.ln(3)
    for etiqueta, valor in (("A", c.destinatario), ("Asunto", c.asunto), ("Referencia", c.referencia)):
        doc.set_font(LETRA, "B", 10)
        doc.cell(26, 6, f"{etiqueta}:")
        doc.set_font(LETRA, "", 10)
        doc.multi_cell(0, 6, valor, new_x="LMARGIN", new_y="NEXT")
    doc.ln(2)
    doc.line(doc.l_margin, doc.get_y(), doc.w - doc.r_margin, doc.get_y())
    doc.ln(4)
    doc.set_font(LETRA, "", 11)
    for parrafo in parrafos(c.cuerpo):
        doc.multi_cell(0, 6, parrafo, new_x="LMARGIN", new_y="NEXT", align="J")
        doc.ln(3)
    if c.anexos:
        doc.set_font(LETRA, "B", 10)
        doc.cell(0, 6, "Anexos:", new_x="LMARGIN", new_y="NEXT")
        for orden, (nombre, sha256) in enumerate(c.anexos, 1):
            doc.set_font(LETRA, "", 9)
            doc.multi_cell(0, 5, f"{orden}. {nombre}", new_x="LMARGIN", new_y="NEXT")
            doc.set_font(LETRA, "", 7)
            doc.multi_cell(0, 4, f"SHA-256: {sha256}", new_x="LMARGIN", new_y="NEXT")
        doc.ln(2)
    doc.ln(6)
    doc.set_font(LETRA, "", 10)
    doc.cell(0, 6, "Atentamente,", new_x="LMARGIN", new_y="NEXT")
    doc.ln(14)
    doc.set_font(LETRA, "B", 10)
    doc.multi_cell(0, 5, c.autor, new_x="LMARGIN", new_y="NEXT")
    doc.set_font(LETRA, "", 10)
    doc.multi_cell(0, 5, c.oficina, new_x="LMARGIN", new_y="NEXT")
    if c.verificacion_url:
        doc.ln(8)
        # No link annotation: each signature's visible stamp joins the page's annotations in an incremental update,
        # and pyHanko reads a page that already had some as changed after the earlier signatures.
        qr_verificacion(doc, c.verificacion_url, c.verificacion_codigo, lado=24, enlace=False, letra=LETRA, mono=LETRA)
    return bytes(doc.output())
