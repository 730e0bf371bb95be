"""Procesos: the analyst's process versions — list, upload, diagram (bpmn-js), modeler, migration.

Each page parses what was sent (the multipart upload of .bpmn/.json files, the modeler's XML) and renders what
one action of :mod:`mpv.tramites.procesos` returns; that module holds the rules and who may use them. A page that
changes the process asks :func:`mpv.tramites.procesos.analista` first, so another role is refused before
anything it sent is read.
"""
from __future__ import annotations

import re

import falcon

from ..engine.definitions import Problem, decode_file
from ..errors import DefinitionError, InvalidInput
from ..tramites import procesos
from .expedientes import staff_actor
from .middleware import check_csrf

MAX_FILE_BYTES = 2 * 1024 * 1024
MAX_FILES = 40


def add_definiciones_routes(app, pages, services):
    """/definiciones and its pages (see the module docstring)."""
    app.add_route("/definiciones", Definiciones(pages, services))
    app.add_route("/definiciones/{definicion_id:int}", DefinicionDetalle(pages, services))
    app.add_route("/definiciones/{definicion_id:int}/editar", DefinicionEditor(pages, services))
    app.add_route("/definiciones/{definicion_id:int}/migrar", DefinicionMigracion(pages, services))


def _problemas(exc: DefinitionError) -> list[Problem]:
    return exc.problems or [Problem("archivos", exc.message)]


class _Pagina:
    def __init__(self, pages, services):
        self._pages = pages
        self._services = services


class Definiciones(_Pagina):
    """Every version of every process, and the form that uploads a new one (BPMN + JSON Schema forms)."""

    def _show(self, req, resp, actor, status=falcon.HTTP_200, mensaje: str = "", problemas=()):
        lista = procesos.versiones(actor)
        self._pages.render(req, resp, "definiciones/lista.html", status=status, versiones=lista.filas,
                           en_curso=lista.en_curso, puede_cambiar=lista.puede_cambiar,
                           mensaje=mensaje, problemas=list(problemas))

    def on_get(self, req, resp):
        self._show(req, resp, staff_actor(req))

    def on_post(self, req, resp):
        """Upload: exactly one .bpmn and the forms it names (those not sent are taken from the active version)."""
        actor = procesos.analista(staff_actor(req))
        try:
            nueva = procesos.subir(self._services, actor, _read_upload(req))
        except DefinitionError as exc:
            self._show(req, resp, actor, falcon.HTTP_422, mensaje=exc.message, problemas=_problemas(exc))
            return
        fila = nueva.fila
        self._pages.redirect(req, resp, f"/definiciones/{fila.id}", " ".join([
            f"La versión {fila.sha256[:12]} de «{fila.nombre}» está activa: los trámites nuevos la usan.",
            *(f"Aviso: {aviso}." for aviso in nueva.avisos)]))


def _read_upload(req) -> dict[str, str]:
    """The uploaded files as {name: text}. The first part must be the CSRF token.

    :raise DefinitionError: an empty file, a diagram that is not XML or a form not in UTF-8 (see
        :func:`mpv.engine.definitions.decode_file`), a file too large, or too many files.
    """
    if not (req.content_type or "").startswith("multipart/form-data"):
        if not req.context.csrf_checked:
            check_csrf(req, None)
        raise DefinitionError("No se recibió ningún archivo", [Problem("archivos", "adjunte el archivo .bpmn y sus formularios .json")])
    files: dict[str, str] = {}
    first = True
    try:
        for part in req.get_media():
            if first:
                check_csrf(req, part.get_text() if part.name == "csrf" else None)
                first = False
                continue
            if not part.filename:
                continue
            name = _bundle_name(part.filename)
            data = part.stream.read(MAX_FILE_BYTES + 1)
            if len(files) >= MAX_FILES:
                raise DefinitionError("Demasiados archivos", [Problem("archivos", f"envíe a lo más {MAX_FILES} archivos")])
            if not name.endswith((".bpmn", ".json")):
                raise DefinitionError(f"{name}: tipo de archivo no admitido", [
                    Problem(name, "solo se admiten el diagrama (.bpmn) y formularios JSON Schema (.json)")])
            if len(data) > MAX_FILE_BYTES:
                raise DefinitionError(f"{name}: archivo demasiado grande", [
                    Problem(name, f"supera {MAX_FILE_BYTES // (1024 * 1024)} MB")])
            files[name] = decode_file(name, data)
    except falcon.MediaMalformedError:
        raise falcon.HTTPBadRequest(description="El formulario llegó incompleto; vuelva a enviarlo.") from None
    if first:
        check_csrf(req, None)
    return files


def _bundle_name(filename: str) -> str:
    """A bundle file's name as the BPMN refers to it: no client folders, no control characters."""
    return "".join(c for c in re.split(r"[\\/]", filename)[-1] if c.isprintable()).strip()[:200]


class DefinicionDetalle(_Pagina):
    """One version: its diagram (bpmn-js viewer), files, running instances and the migration action."""

    def on_get(self, req, resp, definicion_id):
        version = procesos.version(staff_actor(req), definicion_id)
        self._pages.render(req, resp, "definiciones/detalle.html", v=version.fila, bpmn=version.bpmn,
                           archivos=version.archivos, en_curso=version.en_curso, migrables=version.migrables,
                           puede_cambiar=version.puede_cambiar)


class DefinicionEditor(_Pagina):
    """The bpmn-js modeler on a version; «Guardar como nueva versión» posts the XML (JSON, X-CSRF-Token)."""

    def on_get(self, req, resp, definicion_id):
        diagrama = procesos.diagrama(staff_actor(req), definicion_id)
        self._pages.render(req, resp, "definiciones/editar.html", v=diagrama.fila, bpmn=diagrama.bpmn)

    def on_post(self, req, resp, definicion_id):
        """201 {"id", "url", "sha256", "avisos"} for the new version; 422 {"error", "problemas": [{"elemento", "mensaje"}]}
        (from :mod:`mpv.web.errors`, as every error of this JSON request)."""
        actor = procesos.analista(staff_actor(req))
        if not req.context.csrf_checked:  # a multipart post: the middleware leaves those to their reader
            check_csrf(req, None)
        if (req.content_type or "").startswith("application/json"):
            body = req.get_media(default_when_empty={})
            xml = body.get("xml") if isinstance(body, dict) else None
        else:
            form = req.get_media(default_when_empty={}) if req.content_length else {}
            xml = form.get("xml") if isinstance(form, dict) else None
        resp.content_type = falcon.MEDIA_JSON
        nueva = procesos.guardar_diagrama(self._services, actor, definicion_id, xml)
        resp.status = falcon.HTTP_201
        resp.media = {"id": nueva.fila.id, "url": f"/definiciones/{nueva.fila.id}", "sha256": nueva.fila.sha256,
                      "avisos": nueva.avisos}


class DefinicionMigracion(_Pagina):
    """Moves every running instance of older versions to this one when safe; shows each refusal's reason.

    The result is shown at once (200) rather than after a redirect: it is a per-expediente report of
    this one action, not a state to reload.
    """

    def on_post(self, req, resp, definicion_id):
        actor = procesos.analista(staff_actor(req))
        if not req.context.csrf_checked:
            raise InvalidInput("Use el botón «Migrar» de la página de la versión.")
        migracion = procesos.migrar(self._services, actor, definicion_id)
        self._pages.render(req, resp, "definiciones/migracion.html", v=migracion.fila,
                           resultados=migracion.resultados, migrados=migracion.migrados,
                           rechazados=migracion.rechazados)
