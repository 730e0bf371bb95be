"""Process definitions: the versions of each process, stored and parsed once; the files that form a bundle.

A version is a *bundle*: one ``.bpmn`` file with one executable process and the form files its
user tasks name (``formJsonSchemaFilename`` / ``formUiSchemaFilename``). It is stored as a
ProcessDefinition row keyed by the SHA-256 of its files; a running instance keeps the row it
started with. Bundles are parsed once per process and cached. Checking a bundle is
:mod:`mpv.engine.compiler`; its names are re-exported here for the callers that import them from
this module.
"""
from __future__ import annotations

import threading
from datetime import datetime
from pathlib import Path
from typing import Callable

import orjson

from .. import history
from .bpmn_xml import BPMN_NS, Problem, decode_bpmn, refuse, safe_xml
from .compiler import Definition, UserTaskInfo, bundle_sha256, compile_bundle, executable_process, lane_role
from ..errors import DefinitionError
from ..models import ProcessDefinition, utcnow

__all__ = ["BPMN_NS", "ESCRITO", "Definition", "DefinitionStore", "Problem", "UserTaskInfo", "bundle_sha256", "compile_bundle",
           "complete_bundle", "decode_file", "executable_process", "lane_role", "read_bundle", "read_bundles",
           "referenced_files", "safe_xml"]

FORM_FIELDS = ("formJsonSchemaFilename", "formUiSchemaFilename")
SPIFF_NS = "http://spiffworkflow.org/bpmn/schema/1.0/core"


def decode_file(name: str, data: bytes) -> str:
    """A bundle file's text: a diagram in the encoding it declares (:func:`mpv.engine.bpmn_xml.decode_bpmn`), a JSON
    form in UTF-8 (a byte-order mark is dropped).

    :raise DefinitionError: empty, not in its encoding, or (a diagram) not XML.
    """
    if name.endswith(".bpmn"):
        return decode_bpmn(data, name)
    if not data.strip():
        raise refuse(name, "el archivo está vacío", "el archivo está vacío")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise refuse(name, "no es texto UTF-8", f"el archivo no está en UTF-8 (byte {exc.start + 1}): "
                     "guárdelo en UTF-8") from None


def read_bundle(path: Path) -> dict[str, str]:
    """A ``.bpmn`` file and the form files beside it that it names: {file name: text}.

    A form it names but that is not there stays missing: :func:`compile_bundle` names the task that asks for it.

    :raise DefinitionError: not a ``.bpmn`` file, unreadable, or a file :func:`decode_file` refuses.
    """
    path = Path(path)
    if not path.name.endswith(".bpmn"):
        raise refuse(path.name, "no es un archivo .bpmn", "el diagrama debe tener la extensión .bpmn")
    text = decode_file(path.name, _read(path))
    files = {path.name: text}
    for name in sorted(referenced_files(safe_xml(text, path.name))):
        form = path.parent / name
        try:
            present = form.parent == path.parent and form.is_file()
        except (OSError, ValueError):  # a name no file system accepts
            present = False
        if present:
            files[name] = decode_file(name, _read(form))
    return files


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise refuse(path.name, "no se pudo leer", f"no se pudo leer el archivo: {exc.strerror or exc}") from None


def read_bundles(directory: Path) -> dict[str, dict[str, str]]:
    """Every ``.bpmn`` file of ``directory`` with the form files it names: {bpmn name: files}.

    :raise DefinitionError: the first file :func:`read_bundle` refuses.
    """
    return {path.name: read_bundle(path) for path in sorted(Path(directory).glob("*.bpmn"))}


def complete_bundle(bpmn_name: str, bpmn_text: str, uploaded: dict[str, str], base: dict[str, str]) -> dict[str, str]:
    """A bundle of ``bpmn_text`` with the form files it names: the uploaded ones first, then those of
    ``base`` (the version it was edited from). A file named by neither stays missing, and
    :func:`compile_bundle` names the task that asks for it."""
    files = {bpmn_name: bpmn_text}
    try:
        names = referenced_files(safe_xml(bpmn_text, bpmn_name))
    except DefinitionError:
        return {**files, **uploaded}
    for name in sorted(names):
        if name in uploaded:
            files[name] = uploaded[name]
        elif name in base:
            files[name] = base[name]
    return files


def referenced_files(root) -> set[str]:
    """The form files a diagram's user tasks name (``spiffworkflow:property`` formJsonSchemaFilename…); another
    vendor's properties (``camunda:property``) are not read, by SpiffWorkflow either."""
    return {prop.get("value") for prop in root.iter(f"{{{SPIFF_NS}}}property")
            if prop.get("name") in FORM_FIELDS and prop.get("value")}


# A user task with this BPMN property set to "true" reviews an escrito: it stands beside the trámite's own flow (it
# names neither the expediente's state nor who holds it) and the trays list it apart.
ESCRITO = "escrito"


class DefinitionStore:
    """The process versions: stored rows, their parsed form cached per process."""

    def __init__(self, workflows_dir: Path, cache: bool = True, clock: Callable[[], datetime] = utcnow):
        self.workflows_dir = Path(workflows_dir)
        self._clock = clock  # dates each version and its audit Evento
        self._cache: dict[int, Definition] = {}
        self._use_cache = cache  # off in tests that must behave as if every step ran in a new process
        self._lock = threading.Lock()

    def sync(self, database, autor: str = "sistema") -> list[tuple[str, str, bool]]:
        """Store every bundle of the workflows folder not stored yet, and make it the active version.

        Returns (file, sha256, new) per bundle; raises DefinitionError on the first invalid one,
        before anything is stored.
        """
        compiled = []
        for name, files in read_bundles(self.workflows_dir).items():
            sha = bundle_sha256(files)
            row = ProcessDefinition.get_or_none(ProcessDefinition.sha256 == sha)
            compiled.append((name, sha, files, row))
        for name, sha, files, row in compiled:
            if row is None:
                compile_bundle(files)
        results = []
        with database.write():
            for name, sha, files, row in compiled:
                if row is None:
                    self._store(files, autor)
                results.append((name, sha, row is None))
        return results

    def add_version(self, database, files: dict[str, str], autor: str, actor=None) -> ProcessDefinition:
        """Validate a new version and make it the active one; raise DefinitionError, storing nothing.

        The same files again are the version already stored (nothing changes). ``actor``
        (an ``mpv.engine.Actor``) is who appears in the audit Evento (tipo ``definicion``).
        """
        definition = compile_bundle(files)
        with database.write():
            existing = ProcessDefinition.get_or_none(ProcessDefinition.sha256 == definition.sha256)
            if existing is not None:
                return existing
            row = self._store(files, autor, definition)
            history.append(database, [{
                "expediente": None, "momento": self._clock(), "tipo": "definicion", "accion": "nueva_version",
                "descripcion": f"Nueva versión de «{row.nombre}» ({row.sha256[:12]})"[:200],
                "actor": getattr(actor, "usuario_id", None), "actor_nombre": getattr(actor, "nombre", autor),
                "rol": getattr(actor, "rol", ""), "actor_oficina": getattr(actor, "oficina", ""),
                "ip": getattr(actor, "ip", ""), "tarea": "", "detalle": ", ".join(sorted(files)),
                "payload": {"definicion": row.id, "sha256": row.sha256, "process_id": row.process_id}}])
            return row

    def _store(self, files, autor, definition: Definition | None = None) -> ProcessDefinition:
        definition = definition or compile_bundle(files, validate_xsd=False)
        (ProcessDefinition.update(activa=False)
         .where(ProcessDefinition.process_id == definition.process_id).execute())
        return ProcessDefinition.create(
            sha256=definition.sha256, process_id=definition.process_id, nombre=definition.nombre,
            archivos=orjson.dumps(definition.files).decode(), autor=autor, creado_en=self._clock(), activa=True)

    def bundle_for(self, bpmn_name: str, bpmn_text: str, uploaded: dict[str, str] | None = None,
                   base_id: int | None = None) -> dict[str, str]:
        """The bundle of an edited or uploaded BPMN: the form files it names come from ``uploaded``, else
        from version ``base_id`` (by default the active version of the same process)."""
        base = {}
        if base_id is None:
            try:
                root = safe_xml(bpmn_text, bpmn_name)
            except DefinitionError:
                root = None
            process = next((p for p in root.iter(f"{{{BPMN_NS}}}process")
                            if p.get("isExecutable", "true") != "false"), None) if root is not None else None
            if process is not None:
                base_id = (ProcessDefinition.select(ProcessDefinition.id)
                           .where((ProcessDefinition.process_id == process.get("id"))
                                  & (ProcessDefinition.activa == True))  # noqa: E712
                           .order_by(ProcessDefinition.id.desc()).scalar())
        if base_id is not None:
            row = ProcessDefinition.get_or_none(ProcessDefinition.id == base_id)
            base = orjson.loads(row.archivos) if row else {}
        return complete_bundle(bpmn_name, bpmn_text, uploaded or {}, base)

    def revisiones_de_escritos(self) -> frozenset[str]:
        """The names of the user tasks that review an escrito (BPMN property ``escrito``: :data:`ESCRITO`) in every
        stored version, for the lists that show them apart from the trámite's own work."""
        ids = [row_id for (row_id,) in ProcessDefinition.select(ProcessDefinition.id).tuples()]
        return frozenset(name for row_id in ids for name, info in self.get(row_id).user_tasks.items()
                         if info.properties.get(ESCRITO) == "true")

    def tareas_de(self, rol: str) -> frozenset[str]:
        """The names of the user tasks of role ``rol`` in every stored version (the sections of an office's tray)."""
        ids = [row_id for (row_id,) in ProcessDefinition.select(ProcessDefinition.id).tuples()]
        return frozenset(name for row_id in ids for name, info in self.get(row_id).user_tasks.items()
                         if info.rol == rol)

    def active(self, process_id: str = "tramite") -> Definition:
        # Only the id: the row's files are read once, when the version is first parsed (every page asks this).
        row_id = (ProcessDefinition.select(ProcessDefinition.id)
                  .where((ProcessDefinition.process_id == process_id) & (ProcessDefinition.activa == True))  # noqa: E712
                  .order_by(ProcessDefinition.id.desc()).limit(1).scalar())
        if row_id is None:
            raise DefinitionError(f"No hay una versión activa del proceso «{process_id}»; ejecute «mpv init-db».")
        return self.get(row_id)

    def get(self, row_id: int, row: ProcessDefinition | None = None) -> Definition:
        """The parsed version stored as row ``row_id`` (parsed once, then cached)."""
        definition = self._cache.get(row_id)
        if definition is not None:
            return definition
        row = row or ProcessDefinition.get_by_id(row_id)
        definition = compile_bundle(orjson.loads(row.archivos), validate_xsd=False)
        definition.row_id = row.id
        if not self._use_cache:
            return definition
        with self._lock:
            return self._cache.setdefault(row_id, definition)
