"""User-task forms: JSON Schema (+ the UI schema of react-jsonschema-form) → fields, values, errors.

No web imports: the web layer renders :func:`fields`, the engine calls :func:`validate`.

MPV reads two extension keywords in a form's properties (validators ignore unknown keywords):
``"x-options": "oficinas"`` fills the choices from a catalogue at run time, and
``"x-mpv-historial": true`` keeps a text (proveído, observación…) out of the process data: it is
recorded in the history row of the step, so the serialized instance does not grow with it.
"""
from __future__ import annotations

import copy
import dataclasses
import keyword
import re

from jsonschema import FormatChecker
from jsonschema.exceptions import SchemaError
from jsonschema.validators import validator_for

RESERVED = {"typename"}  # breaks SpiffWorkflow's serializer when used as a task-data key
_IDENTIFIER = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")


def properties(schema: dict) -> dict:
    return schema.get("properties") or {}


def is_history_only(prop: dict) -> bool:
    return bool(prop.get("x-mpv-historial"))


def is_file(prop: dict) -> bool:
    return prop.get("format") == "data-url" or prop.get("x-mpv-archivo") is True


def check_schema(schema: dict, reserved=frozenset()) -> list[str]:
    """Problems that make ``schema`` unusable as a task form (empty when fine)."""
    problems = []
    try:
        validator_for(schema).check_schema(schema)
    except SchemaError as exc:
        problems.append(f"no es un JSON Schema válido: {exc.message}")
    if schema.get("type", "object") != "object":
        problems.append("el formulario debe ser un objeto (\"type\": \"object\")")
    for name, prop in properties(schema).items():
        if not _IDENTIFIER.match(name) or keyword.iskeyword(name):
            problems.append(f"el campo «{name}» debe ser un identificador (letras, dígitos y _)")
        elif name in RESERVED or name in reserved:
            problems.append(f"el campo «{name}» usa un nombre reservado")
        if not isinstance(prop, dict):
            problems.append(f"el campo «{name}» debe describirse con un objeto")
    return problems


def task_data_fields(schema: dict) -> list[str]:
    """Fields whose values go into the process data (and so may be read by conditions)."""
    return [name for name, prop in properties(schema).items()
            if isinstance(prop, dict) and not is_history_only(prop) and not is_file(prop)]


def task_data_defaults(schema: dict) -> dict:
    """Each task-data field's default (None when the form gives none)."""
    props = properties(schema)
    return {name: props[name].get("default") for name in task_data_fields(schema)}


def resolve(schema: dict, catalogs: dict[str, list[tuple[str, str]]]) -> dict:
    """The schema with every ``x-options`` catalogue (on a field or on an array's items) expanded
    into ``oneOf`` choices."""
    resolved = copy.deepcopy(schema)
    for prop in properties(resolved).values():
        if not isinstance(prop, dict):
            continue
        for target in (prop, prop.get("items")):
            source = target.get("x-options") if isinstance(target, dict) else None
            if source is not None:
                options = catalogs.get(source, [])
                target["oneOf"] = [{"const": value, "title": label} for value, label in options] or [{"const": ""}]
    return resolved


def is_copy_list(prop: dict) -> bool:
    """A list of offices that receive the expediente for their information only."""
    return bool(prop.get("x-mpv-copia"))


def choices(prop: dict) -> list[tuple[object, str]]:
    """(value, label) for a field with ``enum`` or ``oneOf``/``anyOf`` of ``const``s (or an array of such)."""
    if prop.get("type") == "array" and isinstance(prop.get("items"), dict):
        return choices(prop["items"])
    if "enum" in prop:
        names = prop.get("enumNames") or [str(v) for v in prop["enum"]]
        return list(zip(prop["enum"], names))
    for key in ("oneOf", "anyOf"):
        if key in prop and all(isinstance(o, dict) and "const" in o for o in prop[key]):
            return [(o["const"], o.get("title", str(o["const"]))) for o in prop[key]]
    return []


def clean(schema: dict, data: dict) -> dict:
    """Drop values the user left empty, so they neither fail type checks nor erase process data."""
    props = properties(schema)
    values = {k: v.strip() if isinstance(v, str) else v for k, v in data.items() if k in props}
    return {k: v for k, v in values.items() if v not in (None, "", [])}


def validate(schema: dict, data: dict) -> dict[str, str]:
    """Check ``data`` against ``schema``; return {field: Spanish message} (empty when valid)."""
    validator = validator_for(schema)(schema, format_checker=FormatChecker())
    errors: dict[str, str] = {}
    for name, value in data.items():  # PostgreSQL's text cannot hold NUL: refuse it on every backend alike
        if any(isinstance(v, str) and "\x00" in v for v in (value if isinstance(value, list) else [value])):
            errors[name] = "El texto contiene caracteres no válidos."
    for error in sorted(validator.iter_errors(data), key=lambda e: (len(e.absolute_path), e.validator)):
        if error.validator == "required":
            for name in error.validator_value:
                if isinstance(error.instance, dict) and name not in error.instance:
                    errors.setdefault(name, "Este campo es obligatorio.")
            continue
        if error.validator in ("if", "allOf", "anyOf") and not error.absolute_path:
            continue
        field = str(error.absolute_path[0]) if error.absolute_path else "__all__"
        errors.setdefault(field, _message(error))
    return errors


_TYPES = {"integer": "un número entero", "number": "un número", "string": "un texto",
          "boolean": "sí o no", "array": "una lista", "object": "un objeto"}
_FORMATS = {"email": "un correo electrónico válido", "date": "una fecha válida (AAAA-MM-DD)",
            "date-time": "una fecha y hora válidas", "uri": "una dirección web válida"}


def _message(error) -> str:
    v, value = error.validator, error.validator_value
    if v == "type":
        wanted = value if isinstance(value, str) else value[0]
        return f"Debe ser {_TYPES.get(wanted, wanted)}."
    if v in ("enum", "const", "oneOf", "anyOf"):
        return "Elija una de las opciones de la lista."
    if v == "minLength":
        return "Este campo es obligatorio." if value == 1 else f"Escriba al menos {value} caracteres."
    if v == "maxLength":
        return f"Use como máximo {value} caracteres."
    if v == "minimum":
        return f"Debe ser {value} o más."
    if v == "maximum":
        return f"Debe ser {value} o menos."
    if v == "exclusiveMinimum":
        return f"Debe ser mayor que {value}."
    if v == "exclusiveMaximum":
        return f"Debe ser menor que {value}."
    if v == "pattern":
        return "El formato no es válido."
    if v == "format":
        return f"Escriba {_FORMATS.get(value, 'un valor con el formato correcto')}."
    if v == "additionalProperties":
        return "Este campo no se esperaba."
    if v in ("minItems", "maxItems"):
        return f"Elija {'al menos' if v == 'minItems' else 'como máximo'} {value}."
    return "El valor no es válido."


def split(schema: dict, data: dict) -> tuple[dict, dict]:
    """(values for the process data, values recorded only in the history row)."""
    props = properties(schema)
    keep, history = {}, {}
    for name, value in data.items():
        prop = props.get(name, {})
        if is_history_only(prop) or is_file(prop):
            history[name] = value
        else:
            keep[name] = value
    return keep, history


@dataclasses.dataclass
class Field:
    """One control of a rendered form."""

    name: str
    label: str
    kind: str  # text | textarea | number | integer | date | email | select | radio | checkbox | file
    required: bool
    help: str = ""
    placeholder: str = ""
    default: object = None
    choices: list = dataclasses.field(default_factory=list)
    minimum: object = None
    maximum: object = None
    max_length: int | None = None
    multiple: bool = False


def fields(schema: dict, uischema: dict | None = None) -> list[Field]:
    """The form's controls in display order (``ui:order``), with labels, help and choices."""
    uischema = uischema or {}
    props = properties(schema)
    order = list(uischema.get("ui:order") or [])
    names = [n for n in order if n in props] + [n for n in props if n not in order]
    required = set(schema.get("required") or [])
    result = []
    for name in names:
        prop, ui = props[name], uischema.get(name) or {}
        if ui.get("ui:widget") == "hidden":
            continue
        result.append(Field(
            name=name, label=prop.get("title") or name, kind=_kind(prop, ui), required=name in required,
            help=ui.get("ui:help") or prop.get("description") or "", placeholder=ui.get("ui:placeholder") or "",
            default=prop.get("default"), choices=choices(prop), minimum=prop.get("minimum"),
            maximum=prop.get("maximum"), max_length=prop.get("maxLength"),
            multiple=prop.get("type") == "array"))
    return result


def _kind(prop: dict, ui: dict) -> str:
    widget = ui.get("ui:widget")
    if is_file(prop) or widget == "file":
        return "file"
    if choices(prop):
        if prop.get("type") == "array":
            return "checkboxes"
        return "radio" if widget == "radio" else "select"
    if prop.get("type") == "boolean":
        return "checkbox"
    if prop.get("type") in ("integer", "number"):
        return prop["type"]
    if widget == "textarea":
        return "textarea"
    if prop.get("format") in ("date", "email"):
        return prop["format"]
    return "text"


def coerce(schema: dict, raw: dict[str, object]) -> dict:
    """Typed values from an HTML form's strings (what the browser sends), before validation.

    A value that cannot be converted is kept as text, so validation reports it next to its field.
    """
    props = properties(schema)
    data = {}
    for name, prop in props.items():
        kind = prop.get("type")
        if is_file(prop):
            continue
        if kind == "boolean":  # an unchecked box is simply absent from the request
            data[name] = raw.get(name) in (True, "true", "on", "1", "si", "sí")
            continue
        if name not in raw:
            continue
        value = raw[name]
        if isinstance(value, list) and kind != "array":
            value = value[-1] if value else ""
        if isinstance(value, str):
            value = value.strip()
            if value == "":
                continue
        if kind in ("integer", "number"):
            try:
                data[name] = int(value) if kind == "integer" else float(value)
            except (TypeError, ValueError):
                data[name] = value
        elif kind == "array":
            data[name] = value if isinstance(value, list) else [value]
        else:
            data[name] = value
    return data
