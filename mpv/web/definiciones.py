"""Procesos: the analyst's process versions — list, upload, diagram (bpmn-js), modeler, migration.

Analysts change the process; administrators and auditors may read it. Every new version goes through
``compile_bundle`` before it is stored; an invalid one lists each problem by its BPMN element id and
changes nothing.
"""
from __future__ import annotations

import re

import falcon
import orjson
from peewee import fn

from ..engine import migration
from ..engine.definitions import Problem, decode_file
from ..engine import Actor
from ..errors import DefinitionError, InvalidInput, NotFound
from ..models import Expediente, ProcessDefinition
from .middleware import check_csrf, require

LECTORES = ("analista", "admin", "auditor")
ANALISTA = ("analista",)
MAX_FILE_BYTES = 2 * 1024 * 1024
MAX_FILES = 40


def add_definiciones_routes(app, pages, services):
    """/definiciones and its pages (see the module docstring)."""
    app.add_route("/definiciones", Definiciones(pages, services))
    app.add_route("/definiciones/{definicion_id:int}", DefinicionDetalle(pages, services))
    app.add_route("/definiciones/{definicion_id:int}/editar", DefinicionEditor(pages, services))
    app.add_route("/definiciones/{definicion_id:int}/migrar", DefinicionMigracion(pages, services))


def _actor(req) -> Actor:
    return Actor.de_usuario(req.context.usuario, ip=req.remote_addr or "")


def _row(definicion_id: int) -> ProcessDefinition:
    row = ProcessDefinition.get_or_none(ProcessDefinition.id == definicion_id)
    if row is None:
        raise NotFound(f"No existe la versión N° {definicion_id} del proceso; vuelva a la lista de procesos.")
    return row


def en_curso() -> dict[int, int]:
    """Running expedientes (not finished) per version id."""
    return dict(Expediente.select(Expediente.definicion, fn.COUNT(Expediente.id))
                .where(Expediente.terminado == False)  # noqa: E712
                .group_by(Expediente.definicion).tuples())


def _problemas(exc: DefinitionError) -> list[Problem]:
    return exc.problems or [Problem("archivos", exc.message)]


class Definiciones:
    """Every version of every process, and the form that uploads a new one (BPMN + JSON Schema forms)."""

    def __init__(self, pages, services):
        self._pages = pages
        self._services = services

    def _show(self, req, resp, status=falcon.HTTP_200, mensaje: str = "", problemas=()):
        rows = list(ProcessDefinition.select(ProcessDefinition.id, ProcessDefinition.process_id,
                                             ProcessDefinition.nombre, ProcessDefinition.sha256,
                                             ProcessDefinition.autor, ProcessDefinition.creado_en,
                                             ProcessDefinition.activa)
                    .order_by(ProcessDefinition.process_id, ProcessDefinition.id.desc()))
        self._pages.render(req, resp, "definiciones/lista.html", status=status, versiones=rows,
                           en_curso=en_curso(), puede_cambiar=req.context.usuario.rol in ANALISTA,
                           mensaje=mensaje, problemas=list(problemas))

    def on_get(self, req, resp):
        require(req, *LECTORES)
        self._show(req, resp)

    def on_post(self, req, resp):
        """Upload: exactly one .bpmn and the forms it names (those not sent are taken from the active version)."""
        require(req, *ANALISTA)
        try:
            uploaded = _read_upload(req)
            bpmn = [name for name in uploaded if name.endswith(".bpmn")]
            if len(bpmn) != 1:
                raise DefinitionError("Envíe exactamente un archivo .bpmn", [
                    Problem("archivos", f"se recibieron {len(bpmn)} archivos .bpmn; envíe uno, con sus formularios .json")])
            files = self._services.definitions.bundle_for(bpmn[0], uploaded[bpmn[0]], uploaded)
            row = self._services.definitions.add_version(self._services.db, files, req.context.usuario.username,
                                                         _actor(req))
        except DefinitionError as exc:
            self._show(req, resp, falcon.HTTP_422, mensaje=exc.message, problemas=_problemas(exc))
            return
        avisos = [f"Aviso: {aviso.message}." for aviso in self._services.definitions.get(row.id).avisos]
        self._pages.redirect(req, resp, f"/definiciones/{row.id}", " ".join([
            f"La versión {row.sha256[:12]} de «{row.nombre}» está activa: los trámites nuevos la usan.", *avisos]))


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
    if any("\x00" in text for text in files.values()):
        raise DefinitionError("Archivo no válido", [Problem("archivos", "un archivo contiene caracteres NUL")])
    return files


def _bundle_name(filename: str) -> str:
    """A bundle file's name as the BPMN refers to it: no client folders, no control characters."""
    return "".join(c for c in re.split(r"[\\/]", filename)[-1] if c.isprintable()).strip()[:200]


class DefinicionDetalle:
    """One version: its diagram (bpmn-js viewer), files, running instances and the migration action."""

    def __init__(self, pages, services):
        self._pages = pages
        self._services = services

    def on_get(self, req, resp, definicion_id):
        usuario = require(req, *LECTORES)
        row = _row(definicion_id)
        archivos = orjson.loads(row.archivos)
        bpmn_name = next(name for name in archivos if name.endswith(".bpmn"))
        counts = en_curso()
        anteriores = list(ProcessDefinition.select(ProcessDefinition.id, ProcessDefinition.sha256)
                          .where((ProcessDefinition.process_id == row.process_id) & (ProcessDefinition.id < row.id))
                          .order_by(ProcessDefinition.id.desc()))
        migrables = sum(counts.get(a.id, 0) for a in anteriores)
        self._pages.render(req, resp, "definiciones/detalle.html", v=row, bpmn=archivos[bpmn_name],
                           archivos=sorted(archivos), en_curso=counts.get(row.id, 0), migrables=migrables,
                           puede_cambiar=usuario.rol in ANALISTA)


class DefinicionEditor:
    """The bpmn-js modeler on a version; «Guardar como nueva versión» posts the XML (JSON, X-CSRF-Token)."""

    def __init__(self, pages, services):
        self._pages = pages
        self._services = services

    def on_get(self, req, resp, definicion_id):
        require(req, *ANALISTA)
        row = _row(definicion_id)
        archivos = orjson.loads(row.archivos)
        bpmn_name = next(name for name in archivos if name.endswith(".bpmn"))
        self._pages.render(req, resp, "definiciones/editar.html", v=row, bpmn=archivos[bpmn_name])

    def on_post(self, req, resp, definicion_id):
        """201 {"id", "url", "sha256", "avisos"} for the new version; 422 {"error", "problemas": [{"elemento", "mensaje"}]}
        (from :mod:`mpv.web.errors`, as every error of this JSON request)."""
        require(req, *ANALISTA)
        if not req.context.csrf_checked:  # a multipart post: the middleware leaves those to their reader
            check_csrf(req, None)
        row = _row(definicion_id)
        if (req.content_type or "").startswith("application/json"):
            body = req.get_media(default_when_empty={})
            xml = body.get("xml") if isinstance(body, dict) else None
        else:
            form = req.get_media(default_when_empty={}) if req.content_length else {}
            xml = form.get("xml") if isinstance(form, dict) else None
        resp.content_type = falcon.MEDIA_JSON
        if not isinstance(xml, str) or not xml.strip() or "\x00" in xml:
            raise DefinitionError("No se recibió el diagrama", [Problem("diagrama", "el envío no trae el XML del diagrama")])
        bpmn_name = next(name for name in orjson.loads(row.archivos) if name.endswith(".bpmn"))
        files = self._services.definitions.bundle_for(bpmn_name, xml, base_id=row.id)
        new = self._services.definitions.add_version(self._services.db, files, req.context.usuario.username,
                                                     _actor(req))
        resp.status = falcon.HTTP_201
        resp.media = {"id": new.id, "url": f"/definiciones/{new.id}", "sha256": new.sha256,
                      "avisos": [aviso.message for aviso in self._services.definitions.get(new.id).avisos]}


class DefinicionMigracion:
    """Moves every running instance of older versions to this one when safe; shows each refusal's reason.

    The result is shown at once (200) rather than after a redirect: it is a per-expediente report of
    this one action, not a state to reload.
    """

    def __init__(self, pages, services):
        self._pages = pages
        self._services = services

    def on_post(self, req, resp, definicion_id):
        require(req, *ANALISTA)
        if not req.context.csrf_checked:
            raise InvalidInput("Use el botón «Migrar» de la página de la versión.")
        row = _row(definicion_id)
        resultados = migration.migrar_todos(self._services.engine, row.id, _actor(req))
        self._pages.render(req, resp, "definiciones/migracion.html", v=row, resultados=resultados,
                           migrados=sum(r.migrado for r in resultados),
                           rechazados=sum(not r.migrado for r in resultados))
