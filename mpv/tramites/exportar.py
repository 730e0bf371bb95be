"""Trámites recibidos with its current filters, as a spreadsheet (.xlsx, with openpyxl) or as CSV (issue 16, item 4):
every row the list's filters select within what the user may list, read by the list's own keyset pages, with the
columns the list shows."""
from __future__ import annotations

import csv
import dataclasses
import io
from datetime import date, datetime, timedelta
from typing import Iterator

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font

from ..engine import Actor
from ..errors import InvalidInput
from .expedientes import oficina_de, solo_personal
from .listados import Filtro, Hoy, alcance, contar, tramites

# A spreadsheet of more rows than this is better asked as a narrower list (dates, estado) than built at once.
MAX_FILAS = 50_000
POR_PAGINA = 500
ENCABEZADOS = ("N° de expediente", "Fecha de presentación", "Enviado", "Remitente", "Documento del remitente",
               "Tipo de documento", "Asunto", "Estado", "Oficina actual", "Plazo", "Último día del plazo")
# A text a spreadsheet would take for a formula (a citizen writes the asunto): written as text, never run (CSV
# injection, OWASP).
FORMULA = ("=", "+", "-", "@", "\t", "\r")
# A row's plazo (:meth:`mpv.tramites.listados.Hoy.situacion`) in words, as the list's badge says it.
SITUACIONES = {"concluido": "concluido", "sin_plazo": "sin plazo", "vencido": "vencido", "por_vencer": "por vencer",
               "en_plazo": "en plazo"}


@dataclasses.dataclass
class Exportacion:
    """The rows to write: ``total`` of them, read page by page while they are written."""

    total: int
    filas: Iterator[tuple]


def recibidos(services, actor: Actor, filtro: Filtro) -> Exportacion:
    """Every row of Trámites recibidos that ``filtro`` selects (from its first page on), within what ``actor``
    may list. :raise NotAllowed: not staff. :raise InvalidInput: more than :data:`MAX_FILAS` rows."""
    solo_personal(actor)
    calendario = services.calendario
    hoy = Hoy.segun(calendario, services.clock())
    filtro = alcance(dataclasses.replace(filtro, cursor="", atras=False), oficina_de(actor))
    total = contar(filtro, calendario.tz, hoy=hoy, search=services.busqueda)
    if total > MAX_FILAS:
        raise InvalidInput(f"La lista tiene {total:,} trámites y se exportan a lo sumo {MAX_FILAS:,}: acote las "
                           "fechas de presentación, el estado o la búsqueda.".replace(",", " "))

    def filas():
        cursor = ""
        while True:
            pagina = tramites(dataclasses.replace(filtro, cursor=cursor), calendario.tz, search=services.busqueda,
                              limite=POR_PAGINA, hoy=hoy)
            for f in pagina.filas:
                yield _fila(f, hoy, calendario.tz)
            if not pagina.siguiente:
                return
            cursor = pagina.siguiente

    return Exportacion(total, filas())


def _fila(f: dict, hoy: Hoy, tz) -> tuple:
    ultimo = (f["vence"] - timedelta(minutes=1)).astimezone(tz).date() if f["vence"] and not f["terminado"] else None
    oficina = f["oficina_nombre"] or "" if f["oficina_actual"] and not f["terminado"] else ""
    return (f["numero"], f["fecha_presentacion"], f["presentado_en"].astimezone(tz).replace(tzinfo=None),
            f["remitente_nombre"], f["remitente_documento"], f["tipo_nombre"] or "", f["asunto"], f["estado"],
            oficina, SITUACIONES[hoy.situacion(f["vence"], f["vencido"], f["terminado"])], ultimo)


def xlsx(exportacion: Exportacion) -> bytes:
    """The rows as an .xlsx workbook of one sheet, «Trámites recibidos», headed in bold, dates as dates."""
    libro = Workbook(write_only=True)
    hoja = libro.create_sheet("Trámites recibidos")
    negrita = Font(bold=True)
    encabezado = []
    for texto in ENCABEZADOS:
        celda = WriteOnlyCell(hoja, value=texto)
        celda.font = negrita
        encabezado.append(celda)
    hoja.append(encabezado)
    formatos = {1: "DD/MM/YYYY", 2: "DD/MM/YYYY HH:MM", 10: "DD/MM/YYYY"}
    for fila in exportacion.filas:
        celdas = []
        for i, valor in enumerate(fila):
            celda = WriteOnlyCell(hoja, value=valor)
            if isinstance(valor, str):
                celda.data_type = "s"  # openpyxl would store a text that starts with «=» as a formula
            elif i in formatos and valor is not None:
                celda.number_format = formatos[i]
            celdas.append(celda)
        hoja.append(celdas)
    salida = io.BytesIO()
    libro.save(salida)
    return salida.getvalue()


def csv_texto(exportacion: Exportacion) -> str:
    """The rows as CSV (comma-separated, dates ISO 8601), headed by the column names."""
    salida = io.StringIO()
    escritor = csv.writer(salida)
    escritor.writerow(ENCABEZADOS)
    for fila in exportacion.filas:
        escritor.writerow([_texto_csv(v) for v in fila])
    return salida.getvalue()


def _texto_csv(valor) -> str:
    if valor is None:
        return ""
    if isinstance(valor, datetime):
        return valor.isoformat(sep=" ")
    if isinstance(valor, date):
        return valor.isoformat()
    valor = str(valor)
    return "'" + valor if valor.startswith(FORMULA) else valor
