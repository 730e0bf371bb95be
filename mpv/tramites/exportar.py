"""Trámites recibidos with its current filters, as a spreadsheet (.xlsx, with openpyxl) or as CSV (issue 16, item 4):
every row the list's filters select within what the user may list, read by the list's own keyset pages, with the
columns the list shows."""
from __future__ import annotations

import csv
import dataclasses
import io
from datetime import date, datetime, timedelta
from typing import Iterable, Iterator

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


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def xlsx(exportacion: Exportacion) -> bytes:
    """The rows as an .xlsx workbook of one sheet, «Trámites recibidos»."""
    return libro({"Trámites recibidos": (ENCABEZADOS, exportacion.filas)})


def libro(hojas: dict[str, tuple[tuple, Iterable[tuple]]]) -> bytes:
    """An .xlsx workbook (openpyxl, written as it goes) of one sheet per name: its headings in bold, then its rows,
    dates as dates and every text as text."""
    salida = Workbook(write_only=True)
    negrita = Font(bold=True)
    for nombre, (encabezados, filas) in hojas.items():
        hoja = salida.create_sheet(nombre)
        encabezado = []
        for texto in encabezados:
            celda = WriteOnlyCell(hoja, value=texto)
            celda.font = negrita
            encabezado.append(celda)
        hoja.append(encabezado)
        for fila in filas:
            hoja.append([_celda(hoja, valor) for valor in fila])
    datos = io.BytesIO()
    salida.save(datos)
    return datos.getvalue()


def _celda(hoja, valor) -> WriteOnlyCell:
    celda = WriteOnlyCell(hoja, value=valor)
    if isinstance(valor, str):
        celda.data_type = "s"  # openpyxl would store a text that starts with «=» as a formula
    elif isinstance(valor, datetime):
        celda.number_format = "DD/MM/YYYY HH:MM"
    elif isinstance(valor, date):
        celda.number_format = "DD/MM/YYYY"
    return celda


def csv_texto(exportacion: Exportacion) -> str:
    """The rows as CSV (comma-separated, dates ISO 8601), headed by the column names."""
    return csv_de(ENCABEZADOS, exportacion.filas)


def csv_de(encabezados: tuple, filas: Iterable[tuple]) -> str:
    """``filas`` as CSV under ``encabezados``: dates ISO 8601, nothing a spreadsheet would run as a formula."""
    salida = io.StringIO()
    escritor = csv.writer(salida)
    escritor.writerow(encabezados)
    for fila in filas:
        escritor.writerow([_texto_csv(v) for v in fila])
    return salida.getvalue()


def _texto_csv(valor) -> str:
    if valor is None:
        return ""
    if isinstance(valor, datetime):
        return valor.isoformat(sep=" ")
    if isinstance(valor, date):
        return valor.isoformat()
    if isinstance(valor, str) and valor.startswith(FORMULA):
        return "'" + valor
    return str(valor)
