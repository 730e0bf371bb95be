"""CSV for spreadsheets, streamed: UTF-8 with a BOM (Excel then reads the accents right), one chunk of
bytes per batch of rows, and no cell a spreadsheet would run as a formula."""
from __future__ import annotations

import csv
import io
from typing import Callable, Iterable, Iterator

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
