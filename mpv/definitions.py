"""Process definitions: BPMN files and their JSON Schema forms, validated, versioned by content hash.

A version is a *bundle*: one ``.bpmn`` file with one executable process and the form files its
user tasks name (``formJsonSchemaFilename`` / ``formUiSchemaFilename``). It is stored as a
ProcessDefinition row keyed by the SHA-256 of its files; a running instance keeps the row it
started with. Bundles are parsed once per process and cached.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import threading
import unicodedata
from datetime import datetime
from pathlib import Path
from typing import Callable

import orjson
from lxml import etree
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.bpmn.specs.event_definitions.timer import CycleTimerEventDefinition, TimerEventDefinition
from SpiffWorkflow.bpmn.specs import AdHocSubprocessSpec
from SpiffWorkflow.bpmn.specs.mixins.events.event_types import CatchingEvent
from SpiffWorkflow.bpmn.specs.mixins.multiinstance_task import LoopTask
from SpiffWorkflow.spiff.parser.process import VALIDATOR, SpiffBpmnParser
from SpiffWorkflow.spiff.specs.defaults import ManualTask, ScriptTask, UserTask

from . import forms, history
from .errors import DefinitionError
from .models import ProcessDefinition, utcnow
from .scripting import check_code, names_used, use_engine_clock
from .sentencia import Sentencia

log = logging.getLogger(__name__)

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
NS = {"bpmn": BPMN_NS}

# Lane names analysts use in the diagrams, and the role whose users complete the lane's tasks.
LANE_ROLES = {
    "mesa de partes": "mesa",
    "mesa": "mesa",
    "oficina": "oficina",
    "ciudadano": "ciudadano",
    "administrado": "ciudadano",
}

# Variables every instance has from its start (see ``Engine.start``), besides the forms' fields.
START_VARIABLES = {"numero", "tipo_documento"}

# Functions the restricted environment offers (see ``mpv.scripting.ScriptEngine``).
SCRIPT_FUNCTIONS = {"fin_plazo", "hoy"}


def lane_role(lane: str | None) -> str | None:
    """The role that works a lane, matching names without regard to case or accents."""
    if not lane:
        return None
    key = unicodedata.normalize("NFKD", lane).encode("ascii", "ignore").decode().strip().lower()
    return LANE_ROLES.get(key)


def safe_xml(text: str | bytes, filename: str) -> etree._Element:
    """Parse XML with entities, DTDs and network access off (no XXE); raise DefinitionError."""
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)
    data = text.encode("utf-8") if isinstance(text, str) else text
    if b"<!DOCTYPE" in data or b"<!ENTITY" in data:
        raise DefinitionError(f"{filename}: no se admiten declaraciones DOCTYPE",
                              [Problem(filename, "el archivo declara un DOCTYPE o entidades (posible XXE); quítelos")])
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        raise DefinitionError(f"{filename}: XML mal formado", [Problem(filename, f"XML mal formado: {exc}")]) from None
    if root is None:
        raise DefinitionError(f"{filename}: el archivo está vacío", [Problem(filename, "el archivo está vacío")])
    return root


@dataclasses.dataclass(frozen=True)
class Problem:
    """One thing wrong with a definition, named by its BPMN element id (or file name)."""

    element: str
    message: str

    def __str__(self):
        return f"{self.element}: {self.message}"


@dataclasses.dataclass
class UserTaskInfo:
    """What the applications need to know about one user task of a definition."""

    name: str
    label: str
    lane: str | None
    rol: str | None
    schema: dict | None
    uischema: dict
    instructions: str
    properties: dict
    oficina_variable: str
    in_subprocess: bool = False


@dataclasses.dataclass
class Definition:
    """A parsed, validated version of a process, ready to start and restore instances."""

    sha256: str
    process_id: str
    nombre: str
    files: dict
    spec: object
    subprocess_specs: dict
    user_tasks: dict[str, UserTaskInfo]
    flows: dict[tuple[str, str], str]
    row_id: int | None = None

    def properties(self, spec_name: str) -> dict:
        task_spec = self.spec.task_specs.get(spec_name)
        if task_spec is None:
            for sub in self.subprocess_specs.values():
                task_spec = sub.task_specs.get(spec_name) if sub else None
                if task_spec is not None:
                    break
        extensions = getattr(task_spec, "extensions", None) or {}
        return extensions.get("properties", {})

    def bpmn_text(self) -> str:
        """The version's BPMN XML, as stored."""
        return next(text for name, text in self.files.items() if name.endswith(".bpmn"))

    def estados(self) -> list[str]:
        """Every estado the process's elements declare (``estado`` property), in diagram order."""
        found = ["Presentado"]
        for s in [self.spec, *self.subprocess_specs.values()]:
            for task_spec in (s.task_specs.values() if s else []):
                value = (getattr(task_spec, "extensions", None) or {}).get("properties", {}).get("estado")
                if value and value not in found:
                    found.append(value)
        return found

    def estados_de(self, *task_names: str) -> set[str]:
        """The estados an expediente shows while one of these user tasks is ready."""
        return {info.properties.get("estado") or info.label for name, info in self.user_tasks.items()
                if name in task_names}

    def form_defaults(self) -> dict:
        """Each top-level form field's default value, so gateway conditions always find their variables.

        Fields of tasks inside subprocesses are left out: a multi-instance refuses to start when its
        input item already exists in the parent's data.
        """
        defaults = {}
        for info in self.user_tasks.values():
            if info.schema and not info.in_subprocess:
                for name, value in forms.task_data_defaults(info.schema).items():
                    if value is not None or name not in defaults:
                        defaults[name] = value
        return defaults


def bundle_sha256(files: dict[str, str]) -> str:
    manifest = sorted((name, hashlib.sha256(text.encode("utf-8")).hexdigest()) for name, text in files.items())
    return hashlib.sha256(json.dumps(manifest).encode()).hexdigest()


def read_bundles(directory: Path) -> dict[str, dict[str, str]]:
    """Every ``.bpmn`` file of ``directory`` with the form files it names: {bpmn name: files}."""
    bundles = {}
    for path in sorted(Path(directory).glob("*.bpmn")):
        text = path.read_text(encoding="utf-8")
        files = {path.name: text}
        try:
            root = safe_xml(text, path.name)
        except DefinitionError:
            bundles[path.name] = files
            continue
        for name in _referenced_files(root):
            form_path = Path(directory) / name
            if form_path.is_file() and form_path.parent == Path(directory):
                files[name] = form_path.read_text(encoding="utf-8")
        bundles[path.name] = files
    return bundles


def complete_bundle(bpmn_name: str, bpmn_text: str, uploaded: dict[str, str], base: dict[str, str]) -> dict[str, str]:
    """A bundle of ``bpmn_text`` with the form files it names: the uploaded ones first, then those of
    ``base`` (the version it was edited from). A file named by neither stays missing, and
    :func:`compile_bundle` names the task that asks for it."""
    files = {bpmn_name: bpmn_text}
    try:
        names = _referenced_files(safe_xml(bpmn_text, bpmn_name))
    except DefinitionError:
        return {**files, **uploaded}
    for name in sorted(names):
        if name in uploaded:
            files[name] = uploaded[name]
        elif name in base:
            files[name] = base[name]
    return files


def _referenced_files(root) -> set[str]:
    names = set()
    for prop in root.iter("{*}property"):
        if prop.get("name") in ("formJsonSchemaFilename", "formUiSchemaFilename") and prop.get("value"):
            names.add(prop.get("value"))
    return names


def compile_bundle(files: dict[str, str], validate_xsd: bool = True) -> Definition:
    """Parse and check a bundle; raise :class:`DefinitionError` listing every problem by element id."""
    bpmn_names = [name for name in files if name.endswith(".bpmn")]
    if len(bpmn_names) != 1:
        raise DefinitionError("Una versión debe tener exactamente un archivo .bpmn",
                              [Problem("archivos", f"se recibieron {len(bpmn_names)} archivos .bpmn")])
    bpmn_name = bpmn_names[0]
    root = safe_xml(files[bpmn_name], bpmn_name)
    processes = [p for p in root.iter(f"{{{BPMN_NS}}}process") if p.get("isExecutable", "true") != "false"]
    if not processes:
        raise DefinitionError(f"{bpmn_name}: no define ningún proceso ejecutable",
                              [Problem(bpmn_name, "no hay ningún bpmn:process con isExecutable=\"true\"")])
    process_id = processes[0].get("id")
    parser = SpiffBpmnParser(validator=VALIDATOR if validate_xsd else None)
    try:
        parser.add_bpmn_xml(etree.ElementTree(root), filename=bpmn_name)
        spec = parser.get_spec(process_id)
        subprocess_specs = parser.get_subprocess_specs(process_id)
    except ValidationException as exc:
        raise DefinitionError(f"{bpmn_name}: el diagrama no es válido",
                              [Problem(exc.id or bpmn_name, _exception_text(exc))]) from None
    except Exception as exc:  # the parser crashes on some inputs; tell the analyst, never a traceback
        log.info("BPMN parse failure in %r", bpmn_name, exc_info=True)
        raise DefinitionError(f"{bpmn_name}: el diagrama no se pudo leer",
                              [Problem(bpmn_name, f"{type(exc).__name__}: {exc}")]) from None

    problems: list[Problem] = []
    all_specs = [spec] + [s for s in subprocess_specs.values() if s is not None]
    for s in all_specs:
        _connect_spec_events(s)
        for task_spec in s.task_specs.values():
            if hasattr(task_spec, "event_definition"):
                task_spec.event_definition = use_engine_clock(task_spec.event_definition)
    user_tasks = _user_tasks(all_specs, files, problems)
    _check_reachable(root, all_specs, problems)
    _check_lanes(root, problems)
    _check_code(all_specs, user_tasks, problems)
    if problems:
        raise DefinitionError(f"{bpmn_name}: {len(problems)} problema(s) en la definición", problems)
    return Definition(
        sha256=bundle_sha256(files), process_id=process_id, nombre=spec.description or process_id,
        files=dict(files), spec=spec, subprocess_specs=subprocess_specs, user_tasks=user_tasks,
        flows=_flow_names(root))


def _connect_spec_events(spec):
    """Wire the spec-level callbacks SpiffWorkflow's spec deserializer wires, since MPV parses specs
    instead of deserializing them: without them a multi-instance restored in another process never
    learns that its children finished."""
    for task_spec in spec.task_specs.values():
        if isinstance(task_spec, LoopTask):
            child = spec.task_specs.get(task_spec.task_spec)
            if not child.completed_event.is_connected(task_spec.merge_child):
                child.completed_event.connect(task_spec.merge_child)
    if isinstance(spec, AdHocSubprocessSpec):
        for task_spec in spec.task_specs.values():
            if spec.end.name in task_spec._outputs and not task_spec.completed_event.is_connected(spec.path_complete):
                task_spec.completed_event.connect(spec.path_complete)


# The active version's id, asked by every filing and form page (mpv.sentencia: SQL written once).
_ACTIVA = Sentencia(lambda process_id: ProcessDefinition.select(ProcessDefinition.id).where(
    (ProcessDefinition.process_id == process_id) & (ProcessDefinition.activa == True))  # noqa: E712
    .order_by(ProcessDefinition.id.desc()).limit(1).tuples())

# The parser's messages an analyst meets most, in Spanish (the rest are shown as the parser wrote them).
_PARSER_MESSAGES = {
    "Multiple outgoing flows are not supported for tasks of type":
        "una tarea no puede tener varios flujos de salida: use una compuerta (gateway) para bifurcar",
}


def _exception_text(exc: ValidationException) -> str:
    text = str(exc.args[0]) if exc.args else type(exc).__name__
    return _PARSER_MESSAGES.get(text.strip(), text)


# The elements of a process the engine runs; one the parser did not reach is connected to nothing.
FLOW_NODES = ("task", "userTask", "manualTask", "scriptTask", "serviceTask", "sendTask", "receiveTask",
              "businessRuleTask", "callActivity", "subProcess", "exclusiveGateway", "parallelGateway",
              "inclusiveGateway", "eventBasedGateway", "intermediateCatchEvent", "intermediateThrowEvent",
              "endEvent", "boundaryEvent")


def _check_reachable(root, specs, problems):
    """Name every flow node no path from the start reaches: the parser leaves it out, so its checks
    (a user task's form, its lane) would never run, and the step would silently never happen."""
    parsed = {name for s in specs for name in s.task_specs}
    processes = [p for p in root.iter(f"{{{BPMN_NS}}}process") if p.get("isExecutable", "true") != "false"]
    for container in [c for p in processes for c in (p, *p.iter(f"{{{BPMN_NS}}}subProcess"))]:
        for element in container:
            local = etree.QName(element).localname
            if local in FLOW_NODES and element.get("id") not in parsed:
                problems.append(Problem(element.get("id"), "el elemento no está conectado: ningún flujo llega a "
                                        "él desde el inicio del proceso"))


def _user_tasks(specs, files, problems) -> dict[str, UserTaskInfo]:
    tasks = {}
    for index, s in enumerate(specs):
        for task_spec in s.task_specs.values():
            if not isinstance(task_spec, (UserTask, ManualTask)):
                continue
            extensions = getattr(task_spec, "extensions", {}) or {}
            props = extensions.get("properties", {})
            schema, uischema = None, {}
            schema_name = props.get("formJsonSchemaFilename")
            if schema_name:
                schema = _load_json(files, schema_name, task_spec.name, problems)
                if schema is not None:
                    for message in forms.check_schema(schema, reserved=SCRIPT_FUNCTIONS):
                        problems.append(Problem(task_spec.name, f"{schema_name}: {message}"))
            elif isinstance(task_spec, UserTask):
                problems.append(Problem(task_spec.name, "la tarea de usuario no indica formJsonSchemaFilename"))
            ui_name = props.get("formUiSchemaFilename")
            if ui_name:
                uischema = _load_json(files, ui_name, task_spec.name, problems) or {}
            tasks[task_spec.name] = UserTaskInfo(
                name=task_spec.name, label=task_spec.bpmn_name or task_spec.name, lane=task_spec.lane,
                rol=lane_role(task_spec.lane), schema=schema, uischema=uischema,
                instructions=extensions.get("instructionsForEndUser") or "",
                properties=props, oficina_variable=props.get("oficinaVariable", "oficina"),
                in_subprocess=index > 0)
            if task_spec.lane is None:
                problems.append(Problem(task_spec.name, "la tarea no está en ningún carril (lane): no se sabe quién la atiende"))
    return tasks


def _load_json(files, name, element, problems):
    if name not in files:
        problems.append(Problem(element, f"falta el archivo de formulario {name}"))
        return None
    try:
        value = json.loads(files[name])
    except ValueError as exc:
        problems.append(Problem(element, f"{name} no es JSON válido: {exc}"))
        return None
    if not isinstance(value, dict):
        problems.append(Problem(element, f"{name} debe contener un objeto JSON"))
        return None
    return value


def _check_lanes(root, problems):
    for lane in root.iter(f"{{{BPMN_NS}}}lane"):
        if lane_role(lane.get("name")) is None:
            known = ", ".join(sorted({k.title() for k in LANE_ROLES}))
            problems.append(Problem(lane.get("id") or "lane",
                                    f"el carril «{lane.get('name') or ''}» no corresponde a ningún rol ({known})"))


def _check_code(specs, user_tasks, problems):
    variables = set(START_VARIABLES) | SCRIPT_FUNCTIONS
    for info in user_tasks.values():
        if info.schema:
            variables |= set(forms.task_data_fields(info.schema))
    for s in specs:
        variables |= set(getattr(s, "data_objects", {}) or {})
        for task_spec in s.task_specs.values():
            for item in ("input_item", "output_item", "data_input", "data_output"):
                ref = getattr(task_spec, item, None)
                if ref is not None and getattr(ref, "bpmn_id", None):
                    variables.add(ref.bpmn_id)
    for s in specs:
        for task_spec in s.task_specs.values():
            for script in _scripts(task_spec):
                for message in check_code(script, "exec"):
                    problems.append(Problem(task_spec.name, f"script: {message}"))
                if not check_code(script, "exec"):
                    variables |= _assigned(script)
    for s in specs:
        for task_spec in s.task_specs.values():
            for condition, _target in getattr(task_spec, "cond_task_specs", []):
                if condition is not None:
                    _check_expression(task_spec.name, "condición", condition.args[0], variables, problems)
            event = getattr(task_spec, "event_definition", None)
            if isinstance(task_spec, CatchingEvent) and isinstance(event, TimerEventDefinition):
                if isinstance(event, CycleTimerEventDefinition):
                    problems.append(Problem(task_spec.name, "los temporizadores cíclicos (timeCycle) no están soportados"))
                else:
                    _check_expression(task_spec.name, "temporizador", event.expression, variables, problems)


def _scripts(task_spec):
    scripts = [getattr(task_spec, "prescript", None), getattr(task_spec, "postscript", None)]
    if isinstance(task_spec, ScriptTask):
        scripts.append(task_spec.script)
    return [s for s in scripts if s]


def _assigned(script: str) -> set[str]:
    import ast
    return {n.id for n in ast.walk(ast.parse(script)) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}


def _check_expression(element, what, expression, variables, problems):
    messages = check_code(expression, "eval")
    for message in messages:
        problems.append(Problem(element, f"{what} «{expression}»: {message}"))
    if messages:
        return
    missing = names_used(expression, "eval") - variables - _BUILTIN_NAMES
    for name in sorted(missing):
        problems.append(Problem(element, f"{what} «{expression}» usa la variable «{name}», que ningún formulario define"))


_BUILTIN_NAMES = {"True", "False", "None", "len", "int", "str", "float", "bool", "min", "max", "sum",
                  "any", "all", "abs", "round", "sorted", "range", "list", "dict", "set", "tuple"}


def _flow_names(root) -> dict[tuple[str, str], str]:
    flows = {}
    for flow in root.iter(f"{{{BPMN_NS}}}sequenceFlow"):
        flows[(flow.get("sourceRef"), flow.get("targetRef"))] = flow.get("name") or ""
    return flows


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

    def active(self, process_id: str = "tramite") -> Definition:
        # Only the id: the row's files are read once, when the version is first parsed (every page asks this).
        row = _ACTIVA.primera(process_id)
        row_id = row[0] if row else None
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
