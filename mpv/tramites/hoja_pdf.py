"""What the PDFs MPV writes by itself share (the constancia, the statement of silencio, an official document):
Latin-1 text for fpdf2's core fonts, dates in words, the entity's heading and a table of labelled rows."""
from __future__ import annotations

from datetime import date

from fpdf import FPDF

MESES = ["enero", "febrero", "marzo", "abril", "mayo", "junio", "julio", "agosto", "septiembre", "octubre",
         "noviembre", "diciembre"]


def latin1(text: str) -> str:
    """PDF core fonts cover Latin-1 (all of Spanish); anything else becomes «?» rather than failing."""
    return str(text).encode("latin-1", "replace").decode("latin-1")


def fecha_larga(value: date) -> str:
    return f"{value.day} de {MESES[value.month - 1]} de {value.year}"


def hoja(titulo_pdf: str, entidad: str) -> FPDF:
    """An A4 page headed by the entity and «Mesa de Partes Virtual», its document title ``titulo_pdf``."""
    doc = FPDF(format="A4")
    doc.set_auto_page_break(True, margin=15)
    doc.add_page()
    doc.set_title(latin1(titulo_pdf))
    doc.set_font("helvetica", "B", 11)
    doc.cell(0, 6, latin1(entidad), new_x="LMARGIN", new_y="NEXT", align="C")
    doc.set_font("helvetica", "", 9)
    doc.cell(0, 5, "Mesa de Partes Virtual", new_x="LMARGIN", new_y="NEXT", align="C")
    doc.ln(4)
    return doc


def filas(doc: FPDF, rows, ancho: float):
    """Each (label, value) as a bold label ``ancho`` mm wide and its value beside it."""
    for label, value in rows:
        doc.set_font("helvetica", "B", 10)
        doc.cell(ancho, 6, latin1(label))
        doc.set_font("helvetica", "", 10)
        doc.multi_cell(0, 6, latin1(value), new_x="LMARGIN", new_y="NEXT")
