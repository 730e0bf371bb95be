"""Reading browser forms: urlencoded or multipart, with files streamed to storage as they arrive."""
from __future__ import annotations

import dataclasses
import re

import falcon

from ..errors import InvalidInput, MPVError, TooLarge
from ..pdf import pdf_name
from ..storage import Received
from .middleware import check_csrf


@dataclasses.dataclass
class Form:
    fields: dict[str, object]
    files: dict[str, list[Received]]

    def get(self, name: str, default: str = "") -> str:
        value = self.fields.get(name, default)
        if isinstance(value, list):
            value = value[-1] if value else default
        return value if isinstance(value, str) else default

    def getlist(self, name: str) -> list[str]:
        value = self.fields.get(name, [])
        return value if isinstance(value, list) else [value]

    def all_files(self) -> list[Received]:
        return [f for files in self.files.values() for f in files]


def read_form(req, storage=None, max_file_bytes: int = 0, file_limits: dict[str, int] | None = None,
              max_files: int = 50, file_counts: dict[str, tuple[int, str]] | None = None) -> Form:
    """The submitted form. Multipart: the first part must be the CSRF token (checked before any file is
    read); each file is streamed into ``storage`` within its limit (``file_limits`` per field, else
    ``max_file_bytes``); ``file_counts`` caps the files of a field: {field: (most, message)}. Files
    received before an error are removed, so a refused request leaves nothing on disk.
    """
    content_type = req.content_type or ""
    if content_type.startswith("multipart/form-data"):
        return _multipart(req, storage, max_file_bytes, file_limits or {}, max_files, file_counts or {})
    media = req.get_media(default_when_empty={}) if req.content_length else {}
    if not isinstance(media, dict):
        raise falcon.HTTPBadRequest(description="El formulario no se pudo leer.")
    if not req.context.csrf_checked:
        check_csrf(req, media.get("csrf"))
    _check_text(media)
    return Form(dict(media), {})


def _multipart(req, storage, max_file_bytes, file_limits, max_files, file_counts) -> Form:
    fields: dict[str, object] = {}
    files: dict[str, list[Received]] = {}
    received: list[Received] = []
    try:
        first = True
        for part in req.get_media():
            if first:
                if part.name != "csrf":
                    check_csrf(req, None)
                check_csrf(req, part.get_text())
                first = False
                continue
            if part.filename:
                if storage is None:
                    raise InvalidInput("Este formulario no admite archivos.")
                most, message = file_counts.get(part.name, (max_files, ""))
                if len(files.get(part.name, [])) >= most:
                    raise InvalidInput(message, {part.name: message})
                if len(received) >= max_files:
                    raise InvalidInput(f"Se enviaron demasiados archivos (máximo {max_files}).")
                limit = file_limits.get(part.name, max_file_bytes)
                try:
                    item = storage.receive(part.stream, file_name(part.filename, "documento.pdf"), limit,
                                           read=_read)
                except TooLarge as exc:
                    raise TooLarge(exc.message, {part.name: exc.message}) from None
                received.append(item)
                if item.size == 0:
                    continue  # an empty file input the browser sent anyway
                files.setdefault(part.name, []).append(item)
            else:
                value = part.get_text()
                if part.name in fields:
                    previous = fields[part.name]
                    fields[part.name] = (previous if isinstance(previous, list) else [previous]) + [value]
                else:
                    fields[part.name] = value
        if first:
            check_csrf(req, None)
        _check_text(fields)
    except falcon.MediaMalformedError:
        storage and storage.discard(received)
        raise falcon.HTTPBadRequest(description="El formulario llegó incompleto; vuelva a enviarlo.") from None
    except BaseException as exc:
        storage and storage.discard(received)
        if isinstance(exc, MPVError):
            exc.partial = Form(fields, {})  # the text read so far, to show the form again with it
        raise
    storage and storage.discard([r for r in received if r.size == 0])
    return Form(fields, files)


def _check_text(fields: dict):
    """:raise InvalidInput: naming each field whose text carries a NUL character, which no database column
    (PostgreSQL's text) can hold and no person types; the JSON API refuses it the same way."""
    bad = [name for name, value in fields.items()
           if any(isinstance(v, str) and "\x00" in v for v in (value if isinstance(value, list) else [value]))]
    if bad:
        raise InvalidInput("El formulario contiene caracteres no válidos: revise los campos marcados.",
                           {name: "El texto contiene caracteres no válidos." for name in bad})


def _read(stream, size: int) -> bytes:
    return stream.read(size)


def file_name(filename: str | None, default: str) -> str:
    """The name shown for a file: without the client's folders or control characters, at most 200 characters,
    ending in ``.pdf`` (every upload must be a PDF)."""
    name = "".join(c for c in re.split(r"[\\/]", filename or "")[-1] if c.isprintable()).strip()
    if len(name) > 196:
        stem, dot, ext = name.rpartition(".")
        name = f"{stem[:186]}.{ext[:8]}" if dot and len(ext) <= 8 else name[:196]
    return pdf_name(name) if name else default
