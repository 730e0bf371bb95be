"""What MPV accepts as a PDF: the magic bytes, a parse by pypdf, no password, no active content
(:mod:`mpv.pdf_active`)."""
from __future__ import annotations

import logging
import struct
import time
import zlib
from pathlib import Path
from typing import Callable

from pypdf import PdfReader
from pypdf.errors import LimitReachedError, PyPdfError

from .errors import ArchivoRechazado
from .pdf_active import OutOfTime, find_active_content

log = logging.getLogger(__name__)

# How much processor time the check may take for one file: a 300-page expediente técnico with 21,000 objects,
# every one of them a place the check must read, takes about 3 s (tests/test_pdf_check.py measures it). A file
# that needs more is refused saying what to do, never accepted unchecked. The time is the checking thread's own
# (time.thread_time), not the wall clock's: the same file gets the same answer on a busy server and an idle one.
TIME_BUDGET_S = 10.0


def pdf_name(nombre: str) -> str:
    """``nombre`` with a ``.pdf`` extension (added when missing): every file MPV keeps is a PDF, and the
    name it is stored, served and mailed under must not make a browser or a desktop treat it as anything else."""
    return nombre if nombre.lower().endswith(".pdf") else f"{nombre}.pdf"


def check_pdf(path: Path, nombre: str, *, clock: Callable[[], float] = time.thread_time,
              budget_s: float | None = None) -> int:
    """Check that ``path`` is a readable, unencrypted PDF without active content; return its pages.

    The check reads only the places where a viewer acts (see :mod:`mpv.pdf_active`), within ``budget_s``
    seconds (:data:`TIME_BUDGET_S` when not given) measured by ``clock``.

    :raise ArchivoRechazado: saying what is wrong with the file and what to do, in Spanish.
    """
    def refuse(problema: str) -> ArchivoRechazado:
        return ArchivoRechazado(f"«{nombre}» {problema}", nombre=nombre)

    budget_s = TIME_BUDGET_S if budget_s is None else budget_s
    deadline = clock() + budget_s
    with open(path, "rb") as fh:
        head = fh.read(1024)
        fh.seek(0, 2)
        size = fh.tell()
        fh.seek(max(0, size - 2048))
        tail = fh.read()
    if b"%PDF-" not in head:
        raise refuse("no es un PDF. Adjunte el documento en formato PDF.")
    if b"%%EOF" not in tail:
        raise refuse("está incompleto o dañado (el PDF está cortado). Vuelva a generarlo y adjúntelo otra vez.")
    try:
        # An open file, not the path: given a path, pypdf copies the whole file into memory.
        with open(path, "rb") as fh:
            reader = PdfReader(fh, strict=False)
            if reader.is_encrypted:
                raise refuse("está protegido con contraseña. Adjunte una copia sin contraseña.")
            pages = len(reader.pages)
            found = find_active_content(reader, deadline, clock) if pages else None
    except ArchivoRechazado:
        raise
    except OutOfTime:
        log.info("PDF %r not checked within %s s", nombre, budget_s)
        raise refuse(f"tiene una estructura demasiado compleja para revisarla por seguridad en el tiempo "
                     f"disponible ({budget_s:g} segundos). Divídalo en partes más pequeñas, o guárdelo de nuevo "
                     "como PDF («Imprimir» → «Guardar como PDF»), y adjúntelo otra vez.") from None
    # pypdf reports a malformed file with many kinds of exception (an assertion on an object stream's type, a
    # zlib error on a corrupt stream...): every one of them means the file cannot be read.
    except (PyPdfError, ValueError, LookupError, TypeError, AttributeError, AssertionError, ArithmeticError,
            RecursionError, OSError, zlib.error, struct.error) as exc:
        log.info("Unreadable PDF %r: %r", nombre, exc)
        if _limit_reached(exc):
            raise refuse("contiene datos comprimidos que se expanden a un tamaño excesivo, y no se admite por "
                         "seguridad. Vuelva a generar el PDF y adjúntelo otra vez.") from None
        raise refuse("está dañado o no se puede leer como PDF. Vuelva a generarlo y adjúntelo otra vez.") from None
    if pages < 1:
        raise refuse("no tiene páginas.")
    if found:
        raise refuse(f"contiene {found}, que no se admite por seguridad. "
                     "Imprímalo o guárdelo de nuevo como PDF simple y adjúntelo otra vez.")
    return pages


def _limit_reached(exc: BaseException | None) -> bool:
    """Whether pypdf stopped at one of its decompression limits (a "zip bomb"), possibly wrapped."""
    for _ in range(10):
        if exc is None:
            return False
        if isinstance(exc, LimitReachedError):
            return True
        exc = exc.__cause__ or exc.__context__
    return False
