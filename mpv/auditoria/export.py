"""CSV for spreadsheets, streamed: UTF-8 with a BOM (Excel then reads the accents right), one chunk of
bytes per batch of rows, and no cell a spreadsheet would run as a formula; and the columns of the auditor's
exports (the register of expedientes, the log of Evento rows)."""
from __future__ import annotations

import csv
import dataclasses
import io
from datetime import datetime
from typing import Callable, Iterable, Iterator

from ..models import ROLES

BOM = "\ufeff".encode()

# A cell starting with one of these is a formula to Excel and LibreOffice (OWASP "CSV injection"):
# text written by a citizen ("=HYPERLINK(…)") must stay text, so it gets a leading apostrophe.
_FORMULA = ("=", "+", "-", "@", "\t", "\r")


def celda(value) -> str:
    """The text of one cell: '' for None, and a formula-looking text neutralised with a leading '."""
    if value is None:
        return ""
    text = value if isinstance(value, str) else str(value)
    return "'" + text if text.startswith(_FORMULA) else text


def csv_stream(encabezado: list[str], lotes: Iterable[list], fila: Callable[[object], list]) -> Iterator[bytes]:
    """The bytes of a CSV file: the BOM and the header, then one chunk per batch of ``lotes``.

    ``fila`` turns a row of a batch into its cells. Only one batch is held at a time, so the memory
    used does not grow with the number of rows.
    """
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([celda(name) for name in encabezado])
    yield BOM + buffer.getvalue().encode()
    for lote in lotes:
        buffer.seek(0)
        buffer.truncate()
        writer.writerows([celda(v) for v in fila(row)] for row in lote)
        yield buffer.getvalue().encode()


@dataclasses.dataclass
class Exportacion:
    """A CSV file to send: its name and its bytes, produced batch by batch while they are sent."""

    nombre: str
    contenido: Iterator[bytes]


EXPEDIENTE = ["N° de expediente", "Presentado (hora de Lima)", "Fecha de presentación", "Remitente",
              "Documento del remitente", "Tipo de documento", "Asunto", "Estado", "Tarea actual", "Oficina actual",
              "Vence (hora de Lima)", "Vencido", "Concluido"]
EVENTO = ["Seq", "Momento (hora de Lima)", "Tipo", "Acción", "Descripción", "Expediente", "Usuario", "Rol",
          "Oficina del usuario", "Dirección IP", "Tarea", "Oficina de origen", "Oficina de destino", "Detalle",
          "Datos enviados (JSON)", "Hash anterior", "Hash"]


def expedientes(lotes: Iterable[list[dict]], tz) -> Iterator[bytes]:
    """The register's rows (:func:`mpv.tramites.listados.tramites`) as CSV, times in Lima."""
    def fila(f):
        return [f["numero"], _local(f["presentado_en"], tz), f["fecha_presentacion"].strftime("%d/%m/%Y"),
                f["remitente_nombre"], f["remitente_documento"], f["tipo_nombre"], f["asunto"], f["estado"],
                f["tarea_actual"], f["oficina_nombre"], _local(f["vence"], tz), "sí" if f["vencido"] else "no",
                "sí" if f["terminado"] else "no"]

    return csv_stream(EXPEDIENTE, lotes, fila)


def eventos(lotes: Iterable[list[dict]], tz) -> Iterator[bytes]:
    """Evento rows (:func:`mpv.auditoria.queries.eventos`) as CSV, times in Lima, with their hashes."""
    def fila(f):
        return [f["seq"], _local(f["momento"], tz), f["tipo"], f["accion"], f["descripcion"], f["numero"],
                f["actor_nombre"], ROLES.get(f["rol"], f["rol"]), f["actor_oficina"], f["ip"], f["tarea"],
                f["oficina_origen"], f["oficina_destino"], f["detalle"], f["payload"], f["prev_hash"], f["hash"]]

    return csv_stream(EVENTO, lotes, fila)


def _local(value: datetime | None, tz) -> str:
    return "" if value is None else value.astimezone(tz).strftime("%d/%m/%Y %H:%M:%S")
