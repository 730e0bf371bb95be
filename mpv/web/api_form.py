"""The filing form of the JSON API: multipart/form-data read part by part, without cookies or CSRF.

Each part is checked against the fields the API knows before a byte of it is read; files are streamed
into storage in 64 KiB chunks within their own limit, and annexes are counted as they arrive, so a
refused request stops early. Whatever was received before an error is removed again.
"""
from __future__ import annotations

import dataclasses

import falcon

from ..errors import InvalidInput, TooLarge
from ..storage import Received
from .errors import HTTPMessage
from .requests import file_name

# The text fields of POST /api/v1/tramites (mpv.web.openapi describes each one).
TEXT_FIELDS = ("tipo_persona", "tipo_documento_identidad", "numero_documento_identidad", "nombres", "apellidos",
               "razon_social", "email", "telefono", "direccion", "tipo_documento", "numero_documento", "asunto",
               "folios", "acepta_notificacion")
FILE_FIELDS = ("archivo", "anexos")
# Required whatever the filer is; nombres/apellidos (natural) and razon_social (jurídica) are checked by
# mpv.tramites.presentacion.validar, which knows the rule.
REQUIRED = ("tipo_persona", "tipo_documento_identidad", "numero_documento_identidad", "email", "direccion",
            "tipo_documento", "asunto", "folios", "acepta_notificacion", "archivo")
# The longest text field holds 500 characters; a part past this is refused without reading the rest.
MAX_TEXT_BYTES = 16 * 1024
REVISE = "Revise los datos marcados: la solicitud no se presentó."


@dataclasses.dataclass
class Filing:
    """What a request brought: its text fields and the files received into storage (not yet kept)."""

    fields: dict[str, str] = dataclasses.field(default_factory=dict)
    archivo: Received | None = None
    anexos: list[Received] = dataclasses.field(default_factory=list)

    def received(self) -> list[Received]:
        return [r for r in [self.archivo, *self.anexos] if r is not None]

    def missing(self) -> dict[str, str]:
        """A message for each required field the request did not send at all."""
        sent = set(self.fields) | ({"archivo"} if self.archivo else set())
        return {name: ("Adjunte el documento principal en PDF." if name == "archivo" else f"Falta el campo «{name}».")
                for name in REQUIRED if name not in sent}


def read_filing(req, storage, limits) -> Filing:
    """The filing sent as multipart/form-data, its files streamed into ``storage`` within ``limits``.

    :raise HTTPMessage: 415 when the body is not multipart/form-data; 400 when it is malformed.
    :raise TooLarge: a file over its limit (413); reading stops there.
    :raise InvalidInput: an unknown or repeated field, too many annexes, a text that is too long (422).
    Nothing received is left on disk when any of these is raised.
    """
    if not (req.content_type or "").lower().startswith("multipart/form-data"):
        sent = (req.content_type or "un cuerpo sin tipo")[:80]
        raise HTTPMessage(falcon.HTTP_415, "Envíe la solicitud como multipart/form-data (campos de texto y "
                                           f"archivos PDF), no como {sent}.")
    filing = Filing()
    try:
        for part in req.get_media():
            _read_part(part, filing, storage, limits)
    except BaseException as exc:
        storage.discard(filing.received())
        if isinstance(exc, falcon.HTTPBadRequest):  # Falcon's multipart errors: no boundary, broken structure…
            raise HTTPMessage(falcon.HTTP_400, "El cuerpo multipart/form-data está mal formado o incompleto. "
                                               "Revise el límite (boundary) y vuelva a enviarlo.") from None
        raise
    return filing


def _read_part(part, filing: Filing, storage, limits):
    name = part.name
    if name == "archivo":
        if filing.archivo is not None:
            raise InvalidInput(REVISE, {"archivo": "Envíe un solo documento principal; los demás van en «anexos»."})
        filing.archivo = _receive(part, storage, "archivo", limits.principal_bytes, "documento.pdf")
    elif name == "anexos":
        if len(filing.anexos) >= limits.anexos:  # before reading it: the extra annex never reaches the disk
            raise InvalidInput(f"Puede adjuntar como máximo {limits.anexos} anexos.",
                               {"anexos": f"Envió más de {limits.anexos} anexos; el máximo es {limits.anexos}."})
        anexo = _receive(part, storage, "anexos", limits.anexo_bytes, f"anexo-{len(filing.anexos) + 1}.pdf")
        if anexo is not None:
            filing.anexos.append(anexo)
    elif name in TEXT_FIELDS:
        if name in filing.fields:
            raise InvalidInput(REVISE, {name: "Envíe este campo una sola vez."})
        filing.fields[name] = _text(part, name)
    elif not name:
        raise HTTPMessage(falcon.HTTP_400, "Cada parte del formulario debe tener un nombre "
                                           "(Content-Disposition: form-data; name=\"…\").")
    else:
        shown = name[:60]
        raise InvalidInput(f"El campo «{shown}» no existe en esta API; la solicitud no se presentó.",
                           {shown: "Campo desconocido: revise el nombre (vea /api/v1/openapi.json)."})


def _receive(part, storage, field: str, limit: int, default_name: str) -> Received | None:
    """The file of ``part``, or None for the empty part a browser sends when no file was chosen."""
    try:
        received = storage.receive(part.stream, file_name(part.filename, default_name), limit)
    except TooLarge as exc:
        raise TooLarge(exc.message, {field: exc.message}) from None
    if received.size == 0 and not part.filename:
        storage.discard([received])
        return None
    return received


def _text(part, name: str) -> str:
    data = part.stream.read(MAX_TEXT_BYTES + 1)
    if len(data) > MAX_TEXT_BYTES:
        raise InvalidInput(REVISE, {name: "El texto es demasiado largo."})
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidInput(REVISE, {name: "Envíe el texto codificado en UTF-8."}) from None
    if "\x00" in text:
        raise InvalidInput(REVISE, {name: "El texto contiene caracteres no válidos."})
    return text
