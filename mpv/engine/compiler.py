"""The definition compiler: a bundle (one ``.bpmn`` and the JSON Schema forms its user tasks name) checked and
parsed into a :class:`Definition`, or refused with every problem named by its BPMN element id.

What reaches it may come from anyone's modeler: refusals of the XML itself are in :mod:`mpv.engine.bpmn_xml`,
SpiffWorkflow's refusals in Spanish in :mod:`mpv.engine.parser_messages`. Storing versions is :mod:`mpv.engine.definitions`.
"""
from __future__ import annotations

import ast
import dataclasses
import hashlib
import json
import logging
import unicodedata

from lxml import etree
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.bpmn.specs.event_definitions.timer import CycleTimerEventDefinition, TimerEventDefinition
from SpiffWorkflow.bpmn.specs import AdHocSubprocessSpec
from SpiffWorkflow.bpmn.specs.mixins.events.event_types import CatchingEvent
from SpiffWorkflow.bpmn.specs.mixins.multiinstance_task import LoopTask
from SpiffWorkflow.spiff.parser.process import VALIDATOR, SpiffBpmnParser
from SpiffWorkflow.spiff.specs.defaults import ManualTask, ScriptTask, UserTask

from . import forms
from .parser_messages import crash_problem, parser_problem
from .bpmn_xml import BPMN_NS, Problem, executable_process, refuse, safe_xml, short_tag
from ..errors import DefinitionError
from .scripting import check_code, names_used, use_engine_clock

log = logging.getLogger(__name__)

BPMNDI_NS = "http://www.omg.org/spec/BPMN/20100524/DI"

# Lane names analysts use in the diagrams, and the role whose users complete the lane's tasks.
LANE_ROLES = {
    "mesa de partes": "mesa",
    "mesa": "mesa",
    "oficina": "oficina",
    "ciudadano": "ciudadano",
    "administrado": "ciudadano",
}

# Variables every instance has from its start (see ``Engine.start``), besides the forms' fields.
START_VARIABLES = {"numero", "tipo_documento", "fecha_presentacion", "calificacion",
                   "plazo_procedimiento", "casilla", "dias_notificacion"}

# Functions the restricted environment offers (see ``mpv.engine.scripting.ScriptEngine``).
SCRIPT_FUNCTIONS = {"fin_plazo", "hoy", "dia_habil", "sumar_habiles"}


def lane_role(lane: str | None) -> str | None:
    """The role that works a lane, matching names without regard to case or accents."""
    if not lane:
        return None
    key = unicodedata.normalize("NFKD", lane).encode("ascii", "ignore").decode().strip().lower()
    return LANE_ROLES.get(key)


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
    avisos: list[Problem] = dataclasses.field(default_factory=list)  # accepted, but worth telling the analyst

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
    """The version's identity: SHA-256 over the sorted (name, SHA-256 of the UTF-8 text) of its files."""
    manifest = sorted((name, hashlib.sha256(text.encode("utf-8")).hexdigest()) for name, text in files.items())
    return hashlib.sha256(json.dumps(manifest).encode()).hexdigest()


def compile_bundle(files: dict[str, str], validate_xsd: bool = True) -> Definition:
    """Parse and check a bundle.

    :raise DefinitionError: whatever the files hold, with every problem (in Spanish) named by its element id,
        or by the file (and line) when the XML itself is refused. Nothing else escapes.
    """
    bpmn_names = [name for name in files if name.endswith(".bpmn")]
    if len(bpmn_names) != 1:
        raise DefinitionError("Una versión debe tener exactamente un archivo .bpmn",
                              [Problem("archivos", f"se recibieron {len(bpmn_names)} archivos .bpmn")])
    bpmn_name = bpmn_names[0]
    _check_texts(files)
    root = safe_xml(files[bpmn_name], bpmn_name)
    # Comments say nothing to the engine, and SpiffWorkflow trips on one inside a script task.
    etree.strip_tags(root, etree.Comment, etree.ProcessingInstruction)
    process_id = executable_process(root, bpmn_name).get("id")
    parser = SpiffBpmnParser(validator=VALIDATOR if validate_xsd else None)
    try:
        parser.add_bpmn_xml(etree.ElementTree(root), filename=bpmn_name)
        spec = parser.get_spec(process_id)
        subprocess_specs = parser.get_subprocess_specs(process_id)
    except ValidationException as exc:
        raise DefinitionError(f"{bpmn_name}: el diagrama no es válido",
                              [parser_problem(exc, root, bpmn_name)]) from None
    except Exception as exc:  # the parser crashes on some inputs; tell the analyst, never a traceback
        log.info("BPMN parse failure in %r", bpmn_name, exc_info=True)
        raise DefinitionError(f"{bpmn_name}: el diagrama no se pudo leer", [crash_problem(exc, bpmn_name)]) from None

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
        flows=_flow_names(root), avisos=_avisos(root, bpmn_name))


def _check_texts(files: dict[str, str]):
    """Every file can be stored as UTF-8 text (PostgreSQL refuses NUL characters; lone surrogates are no UTF-8)."""
    for name, text in files.items():
        if "\x00" in text:
            raise refuse(name, "archivo no válido", "el archivo contiene caracteres NUL (¿es un archivo binario?)")
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            raise refuse(name, "caracteres no válidos", "el texto contiene caracteres Unicode no válidos "
                         "(sustitutos sueltos); vuelva a guardarlo") from None


def _avisos(root, filename: str) -> list[Problem]:
    if next(root.iter(f"{{{BPMNDI_NS}}}BPMNDiagram"), None) is None:
        return [Problem(filename, "el archivo no trae el dibujo del diagrama (BPMN DI): el motor lo ejecuta igual, "
                                  "pero la página de la versión no podrá mostrarlo; para verlo, expórtelo desde un "
                                  "modelador que guarde el dibujo")]
    return []


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
        for element in container.iterchildren(etree.Element):  # not comments nor processing instructions
            local = etree.QName(element).localname
            if local in FLOW_NODES and element.get("id") not in parsed:
                name = element.get("id") or f"{short_tag(element.tag)} de la línea {element.sourceline}"
                problems.append(Problem(name, "el elemento no está conectado: ningún flujo llega a "
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
    """A lane with user tasks must name the role that works them; a lane of events only (a clock) need not."""
    kinds = {element.get("id"): etree.QName(element).localname for element in root.iter() if element.get("id")}
    for lane in root.iter(f"{{{BPMN_NS}}}lane"):
        nodes = [kinds.get((ref.text or "").strip(), "") for ref in lane.iter(f"{{{BPMN_NS}}}flowNodeRef")]
        clock_only = nodes and all(kind.endswith(("Event", "Gateway")) for kind in nodes)
        if lane_role(lane.get("name")) is None and not clock_only:
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
    return {n.id for n in ast.walk(ast.parse(script)) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}


def _check_expression(element, what, expression, variables, problems):
    if not isinstance(expression, str) or not expression.strip():
        problems.append(Problem(element, f"el {what} no tiene expresión: escriba una (p. ej. fin_plazo(2))"
                                if what == "temporizador" else f"la {what} está vacía"))
        return
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


