"""What the PDFs MPV writes by itself share (the constancia, the statement of silencio, an official document, the
hoja de ruta and the cargos): Latin-1 text for fpdf2's core fonts, dates in words, the entity's heading, a table of
labelled rows and the QR code that opens a public verification."""
from __future__ import annotations

import io
from datetime import date, datetime

import segno
from fpdf import FPDF

MESES = ["enero", "febrero", "marzo", "abril", "mayo", "junio", "julio", "agosto", "septiembre", "octubre",
         "noviembre", "diciembre"]


def latin1(text: str) -> str:
    """PDF core fonts cover Latin-1 (all of Spanish); anything else becomes «?» rather than failing."""
    return str(text).encode("latin-1", "replace").decode("latin-1")


def fecha_larga(value: date) -> str:
    return f"{value.day} de {MESES[value.month - 1]} de {value.year}"


def hoja(titulo_pdf: str, entidad: str, creado: datetime | None = None, orientacion: str = "P") -> FPDF:
    """An A4 page headed by the entity and «Mesa de Partes Virtual», its document title ``titulo_pdf``; ``creado``
    is the PDF's creation date (given, the same content makes the same file, so its SHA-256 can be verified)."""
    doc = FPDF(orientation=orientacion, format="A4")
    doc.set_auto_page_break(True, margin=15)
    if creado is not None:
        doc.set_creation_date(creado)
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
        parrafo(doc, 6, latin1(value))


def lista_documentos(doc: FPDF, titulo: str, archivos, tamano: int):
    """The files a filing brought, under ``titulo``: each (tipo, nombre, bytes, SHA-256) with its fingerprint."""
    doc.set_font("helvetica", "B", tamano + 1)
    doc.cell(0, tamano * 0.7, titulo, new_x="LMARGIN", new_y="NEXT")
    for tipo, nombre, bytes_, sha in archivos:
        doc.set_font("helvetica", "", tamano)
        parrafo(doc, 5, latin1(f"{tipo.capitalize()}: {nombre} ({bytes_:,} bytes)".replace(",", ".")))
        doc.set_font("courier", "", 8)
        parrafo(doc, 4, f"SHA-256 {sha}")


def parrafo(doc: FPDF, alto: float, texto: str, **kwargs):
    """``texto`` from the current position to the right margin, wrapped, then a new line at the left margin.

    fpdf2 measures a line again for each character it adds (half the constancia's cost in the lifecycle
    profile, docs/bench.md): a text that fits on one line is written as one cell, which it does not wrap."""
    if "\n" not in texto and doc.get_string_width(texto) < doc.w - doc.r_margin - doc.get_x() - 2 * doc.c_margin:
        doc.cell(0, alto, texto, new_x="LMARGIN", new_y="NEXT", **kwargs)
    else:
        doc.multi_cell(0, alto, texto, new_x="LMARGIN", new_y="NEXT", **kwargs)


def qr_verificacion(doc: FPDF, url: str, codigo: str, lado: float = 28, enlace: bool = True,
                    letra: str = "helvetica", mono: str = "courier"):
    """The QR code of ``url`` (with ``enlace``, a link too, for who reads the PDF on screen) with the address and
    the code printed beside it, at the current line; the next line starts below it. A PDF/A passes the embedded
    fonts it registered as ``letra`` and ``mono``."""
    imagen = io.BytesIO()
    segno.make(url, error="m").save(imagen, kind="png", scale=8, border=2)
    x, y = doc.l_margin, doc.get_y()
    if y + lado > doc.h - doc.b_margin:
        doc.add_page()
        y = doc.get_y()
    doc.image(imagen, x=x, y=y, w=lado, h=lado, link=url if enlace else "")
    doc.set_xy(x + lado + 4, y + 3)
    doc.set_font(letra, "B", 9)
    doc.cell(0, 5, latin1("Verificación pública"), new_x="LEFT", new_y="NEXT")
    doc.set_font(letra, "", 9)
    doc.multi_cell(0, 4.5, latin1("Escanee el código QR o visite la dirección para comprobar este documento y "
                                   "su huella SHA-256:"), new_x="LEFT", new_y="NEXT")
    doc.set_font(mono, "", 9)
    doc.multi_cell(0, 4.5, latin1(url), new_x="LEFT", new_y="NEXT", link=url if enlace else "")
    doc.set_font(letra, "", 9)
    doc.cell(0, 5, latin1(f"Código de verificación: {codigo}"), new_x="LMARGIN", new_y="NEXT")
    doc.set_y(max(doc.get_y(), y + lado) + 3)
