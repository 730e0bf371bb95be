"""What MPV accepts as a PDF: the magic bytes, a parse by pypdf, no password, no active content."""
from __future__ import annotations

import logging
from pathlib import Path

from pypdf import PdfReader
from pypdf.errors import LimitReachedError, PyPdfError
from pypdf.generic import DictionaryObject, IndirectObject

from .errors import ArchivoRechazado

log = logging.getLogger(__name__)

_ACTIVE = {"/JavaScript": "JavaScript", "/JS": "JavaScript", "/Launch": "una acción que abre programas",
           "/EmbeddedFiles": "archivos incrustados", "/EmbeddedFile": "archivos incrustados",
           "/RichMedia": "contenido multimedia activo"}


# Keys whose values are page content, fonts, images or thumbnails: data a viewer draws, never actions it runs.
# Not walking them keeps a scanned document's image streams out of memory.
_DATA = ("/Parent", "/Contents", "/Resources", "/Thumb")


# The active-content walk visits at most this many objects; a file with more is refused, not accepted
# unchecked (a real document of a mesa de partes has a few thousand at most).
WALK_LIMIT = 20000


def pdf_name(nombre: str) -> str:
    """``nombre`` with a ``.pdf`` extension (added when missing): every file MPV keeps is a PDF, and the
    name it is stored, served and mailed under must not make a browser or a desktop treat it as anything else."""
    return nombre if nombre.lower().endswith(".pdf") else f"{nombre}.pdf"


def check_pdf(path: Path, nombre: str) -> int:
    """Check that ``path`` is a readable, unencrypted PDF without active content; return its pages.

    :raise ArchivoRechazado: saying what is wrong with the file, in Spanish.
    """
    def refuse(problema: str) -> ArchivoRechazado:
        return ArchivoRechazado(f"«{nombre}» {problema}", nombre=nombre)

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
            found = _active_content(reader)
    except ArchivoRechazado:
        raise
    except (PyPdfError, ValueError, KeyError, TypeError, AttributeError, RecursionError, OSError) as exc:
        log.info("Unreadable PDF %r: %r", nombre, str(exc))
        if _limit_reached(exc):
            raise refuse("contiene datos comprimidos que se expanden a un tamaño excesivo, y no se admite por "
                         "seguridad. Vuelva a generar el PDF y adjúntelo otra vez.") from None
        raise refuse("está dañado o no se puede leer como PDF. Vuelva a generarlo y adjúntelo otra vez.") from None
    if pages < 1:
        raise refuse("no tiene páginas.")
    if found is _TOO_MANY:
        raise refuse("tiene una estructura demasiado compleja para revisarla por seguridad. "
                     "Imprímalo o guárdelo de nuevo como PDF simple y adjúntelo otra vez.")
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


_TOO_MANY = "demasiados objetos"


def _active_content(reader: PdfReader, limit: int | None = None) -> str | None:
    """Walk the document's objects from its trailer looking for scripts, launch actions or embedded files;
    :data:`_TOO_MANY` when the walk reaches ``limit`` objects before it ends."""
    limit = WALK_LIMIT if limit is None else limit
    seen, stack, visited = set(), [reader.trailer], 0
    while stack:
        if visited >= limit:
            return _TOO_MANY
        obj = stack.pop()
        if isinstance(obj, IndirectObject):
            key = (obj.idnum, obj.generation)
            if key in seen:
                continue
            seen.add(key)
            obj = obj.get_object()
        visited += 1
        if isinstance(obj, DictionaryObject):
            for name, value in obj.items():
                if name in _ACTIVE:
                    return _ACTIVE[name]
                if name == "/S" and value in _ACTIVE:
                    return _ACTIVE[value]
                if name not in _DATA:
                    stack.append(value)
        elif isinstance(obj, list):
            stack.extend(obj)
    return None
