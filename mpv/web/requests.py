"""Reading forms: urlencoded, or multipart with files streamed to storage as they arrive.

One multipart reader serves every form, the browser's and the JSON API's: a :class:`Partes` says what a
form may carry. Each part is judged by its name before a byte of it is read; files go to storage in
64 KiB chunks within their own limit, and are counted as they arrive, so a refused request stops early.
Whatever was received before an error is removed again.
"""
from __future__ import annotations

import dataclasses
import re
from typing import Mapping

import falcon

from ..errors import InvalidInput, MPVError, TooLarge
from ..pdf import pdf_name
from ..tramites.campos import API, ARCHIVO, WEB, de_cara, textos
from ..tramites.campos import REVISE as REVISE_PRESENTACION
from ..storage import Received
from .errors import HTTPMessage
from .middleware import check_csrf

REVISE = "Revise los campos marcados: el formulario no se envió."
# A filing's longest text holds 500 characters (at most 2,000 bytes): a part past this is refused unread,
# and one below it but over its field's length gets the message that names the length.
MAX_TEXTO_PRESENTACION = 16 * 1024


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


@dataclasses.dataclass(frozen=True)
class Archivo:
    """A file field: its size limit, how many files it takes, the name of a file sent without one."""

    limite: int
    maximo: int = 1
    demasiados: str = ""  # the message when one more file arrives
    detalle: str = ""     # … and the one next to the field (the message itself when empty)
    sin_nombre: str = "documento.pdf"  # «{n}»: the file's number in its field


@dataclasses.dataclass(frozen=True)
class Partes:
    """What a multipart form may carry.

    ``campos`` None: any text field, a name sent twice keeps its values in a list (the staff's forms,
    built from BPMN). Otherwise the form's text fields, each sent once; a part of another name is ignored
    unread, or refused when ``desconocido`` gives the message to show next to it. ``archivos`` are the file
    fields; a file under another name (it came with a file name) is taken within ``otro_limite`` bytes,
    refused when that is 0.
    """

    csrf: bool = True                      # the first part is the browser's CSRF token (not under /api/)
    campos: frozenset | None = None
    desconocido: str = ""
    archivos: Mapping[str, Archivo] = dataclasses.field(default_factory=dict)
    otro_limite: int = 0
    max_archivos: int = 50
    max_texto: int = 256 * 1024            # bytes of one text field; past it the field is refused unread
    varias: frozenset = frozenset()        # text fields of ``campos`` that may come as several parts (a list)
    mensaje: str = REVISE                  # the message of a refusal (the one next to each field says why)


def read_form(req, storage=None, max_file_bytes: int = 0, max_files: int = 50, partes: Partes | None = None) -> Form:
    """The submitted form: urlencoded, or multipart read by :func:`read_multipart` with ``partes`` (by
    default any field, and files of any name within ``max_file_bytes``, ``max_files`` in all)."""
    content_type = req.content_type or ""
    if content_type.startswith("multipart/form-data"):
        return read_multipart(req, storage, partes or Partes(otro_limite=max_file_bytes, max_archivos=max_files))
    media = req.get_media(default_when_empty={}) if req.content_length else {}
    if not isinstance(media, dict):
        raise falcon.HTTPBadRequest(description="El formulario no se pudo leer.")
    if not req.context.csrf_checked:
        check_csrf(req, media.get("csrf"))
    _check_text(media)
    return Form(dict(media), {})


def read_multipart(req, storage, partes: Partes) -> Form:
    """The multipart/form-data body, its files streamed into ``storage``.

    :raise NotAllowed: the CSRF token is missing or wrong (checked before any file is read).
    :raise HTTPMessage: 400 when the body is malformed or a part has no name.
    :raise TooLarge: a file over its limit (413); reading stops there.
    :raise InvalidInput: a field that is unknown, repeated, too long, not UTF-8 or carries a NUL; one file
        too many. The text read so far rides along as ``partial``, to show the form again with it.
    Nothing received is left on disk when any of these is raised.
    """
    form = Form({}, {})
    try:
        parts = iter(req.get_media())
        if partes.csrf:
            first = next(parts, None)
            check_csrf(req, _text(first, partes) if first is not None and first.name == "csrf" else None)
        for part in parts:
            _read_part(part, form, storage, partes)
    except BaseException as exc:
        if storage is not None:
            storage.discard(form.all_files())
        if isinstance(exc, falcon.HTTPBadRequest):  # Falcon's multipart errors: no boundary, cut short…
            raise HTTPMessage(falcon.HTTP_400, "El formulario (multipart/form-data) llegó incompleto o mal "
                                               "formado; vuelva a enviarlo.") from None
        if isinstance(exc, MPVError):
            exc.partial = Form(form.fields, {})
        raise
    return form


def _read_part(part, form: Form, storage, partes: Partes):
    name = part.name
    if not name:
        raise HTTPMessage(falcon.HTTP_400, "Cada parte del formulario debe tener un nombre "
                                           "(Content-Disposition: form-data; name=\"…\").")
    regla = partes.archivos.get(name)
    if regla is None and partes.campos is None and part.filename is not None:  # a file of a staff form
        if partes.otro_limite:
            regla = Archivo(partes.otro_limite, partes.max_archivos)
        elif part.filename:
            raise InvalidInput("Este formulario no admite archivos.")
    if regla is not None:
        _receive(part, form, storage, partes, regla)
    elif partes.campos is None:
        value = _text(part, partes)
        previous = form.fields.get(name)
        form.fields[name] = value if previous is None else (
            previous if isinstance(previous, list) else [previous]) + [value]
    elif name in partes.varias:
        valores = form.fields.setdefault(name, [])
        if len(valores) >= 100:
            raise InvalidInput(partes.mensaje, {name: "Envíe este campo como máximo 100 veces."})
        valores.append(_text(part, partes))
    elif name in partes.campos:
        if name in form.fields:
            raise InvalidInput(partes.mensaje, {name: "Envíe este campo una sola vez."})
        form.fields[name] = _text(part, partes)
    elif partes.desconocido:
        shown = name[:60]
        raise InvalidInput(f"El campo «{shown}» no existe. {partes.mensaje}", {shown: partes.desconocido})


def partes_presentacion(cara: str, limits) -> Partes:
    """What a filing may carry through ``cara`` (``web``, ``presencial``, ``api``), from ``mpv.tramites.campos`` and the
    upload ``limits``. The form ignores a field it does not know (a browser extension may add one); the API
    refuses it, so a client's misspelt field name is never silently lost."""
    archivos = {}
    for campo in de_cara(cara):
        if campo.tipo == ARCHIVO and campo.multiple:
            archivos[campo.nombre] = Archivo(
                limits.anexo_bytes, limits.anexos, f"Puede adjuntar como máximo {limits.anexos} anexos.",
                f"Envió más de {limits.anexos} anexos; el máximo es {limits.anexos}.", "anexo-{n}.pdf")
        elif campo.tipo == ARCHIVO:
            archivos[campo.nombre] = Archivo(limits.principal_bytes, 1, "Adjunte un solo documento principal; "
                                             "los demás van en «anexos».")
    desconocido = "Campo desconocido: revise el nombre (vea /api/v1/openapi.json)." if cara == API else ""
    return Partes(csrf=cara != API, campos=frozenset(textos(cara)), desconocido=desconocido, archivos=archivos,
                  max_archivos=sum(a.maximo for a in archivos.values()), max_texto=MAX_TEXTO_PRESENTACION,
                  mensaje=REVISE_PRESENTACION,
                  varias=frozenset(c.nombre for c in de_cara(cara) if c.multiple and c.tipo != ARCHIVO))


def _receive(part, form: Form, storage, partes: Partes, regla: Archivo):
    """Stream the file of ``part`` into storage; the empty part a browser sends for no file is no file."""
    if storage is None:
        raise InvalidInput("Este formulario no admite archivos.")
    name = part.name
    if len(form.files.get(name, [])) >= regla.maximo:  # before reading it: the extra file never reaches the disk
        message = regla.demasiados or f"Envíe como máximo {regla.maximo} archivo(s) en «{name}»."
        raise InvalidInput(message, {name: regla.detalle or message})
    if len(form.all_files()) >= partes.max_archivos:
        raise InvalidInput(f"Se enviaron demasiados archivos (máximo {partes.max_archivos}).")
    try:
        default = regla.sin_nombre.format(n=len(form.files.get(name, [])) + 1)
        item = storage.receive(part.stream, file_name(part.filename, default), regla.limite)
    except TooLarge as exc:
        raise TooLarge(exc.message, {name: exc.message}) from None
    if not item.size and not part.filename:  # the empty file input a browser sends when no file was chosen
        storage.discard([item])
        return
    form.files.setdefault(name, []).append(item)


def _text(part, partes: Partes) -> str:
    """The text of ``part``, read within ``partes.max_texto`` bytes. :raise InvalidInput: too long, not
    UTF-8, or with a NUL character, which no database column (PostgreSQL's text) can hold and no person types."""
    data = part.stream.read(partes.max_texto + 1)
    if len(data) > partes.max_texto:
        raise InvalidInput(partes.mensaje, {part.name: "El texto es demasiado largo."})
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidInput(partes.mensaje, {part.name: "Envíe el texto codificado en UTF-8."}) from None
    if "\x00" in text:
        raise InvalidInput(partes.mensaje, {part.name: "El texto contiene caracteres no válidos."})
    return text


def _check_text(fields: dict):
    """:raise InvalidInput: naming each field whose text carries a NUL character (as :func:`_text`)."""
    bad = [name for name, value in fields.items()
           if any(isinstance(v, str) and "\x00" in v for v in (value if isinstance(value, list) else [value]))]
    if bad:
        raise InvalidInput("El formulario contiene caracteres no válidos: revise los campos marcados.",
                           {name: "El texto contiene caracteres no válidos." for name in bad})


def file_name(filename: str | None, default: str) -> str:
    """The name shown for a file: without the client's folders or control characters, at most 200 characters,
    ending in ``.pdf`` (every upload must be a PDF)."""
    name = "".join(c for c in re.split(r"[\\/]", filename or "")[-1] if c.isprintable()).strip()
    if len(name) > 196:
        stem, dot, ext = name.rpartition(".")
        name = f"{stem[:186]}.{ext[:8]}" if dot and len(ext) <= 8 else name[:196]
    return pdf_name(name) if name else default


def partes_escrito(limits, csrf: bool = True, campos=("codigo", "numero", "documento", "descripcion")) -> Partes:
    """What an escrito may carry (``mpv.tramites.escritos``): its main PDF, annexes and a short description; the
    public form also the expediente's tracking code, or its number and the sender's identity document. The API
    (``csrf`` False) refuses an unknown field, as for a filing."""
    archivos = {"archivo": Archivo(limits.principal_bytes, 1, "Adjunte un solo escrito; los demás van en «anexos»."),
                "anexos": Archivo(limits.anexo_bytes, limits.anexos, f"Puede adjuntar como máximo {limits.anexos} anexos.",
                                  f"Envió más de {limits.anexos} anexos; el máximo es {limits.anexos}.", "anexo-{n}.pdf")}
    desconocido = "" if csrf else "Campo desconocido: revise el nombre (vea /api/v1/openapi.json)."
    return Partes(csrf=csrf, campos=frozenset(campos), desconocido=desconocido, archivos=archivos,
                  max_archivos=1 + limits.anexos, max_texto=4096)
