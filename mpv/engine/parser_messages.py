"""SpiffWorkflow's refusals of a diagram, in Spanish, each named by the element it is about.

SpiffWorkflow raises ``ValidationException`` in English: for the BPMN 2.0 schema (lxml's messages, with a
line), for what its parser does not run (with the element), and for anything its task parser trips on
(``"KeyError('name')"``). The known messages are translated below; an unknown one is wrapped in a Spanish
sentence that still names the element and quotes the original.
"""
from __future__ import annotations

import re

from lxml import etree
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException

from .bpmn_xml import Problem, short_tag


def parser_problem(exc: ValidationException, root: etree._Element, filename: str) -> Problem:
    """SpiffWorkflow's refusal as a Problem named by the element's id (or its tag and line)."""
    text = str(exc.args[0]) if exc.args else ""
    line = getattr(exc, "line_number", None)
    schema = _SCHEMA.match(text)
    if schema:
        tag, attribute, detail = schema.groups()
        where = short_tag(tag) + (f", atributo «{attribute}»" if attribute else "")
        detail = _translate(_SCHEMA_DETAILS, detail, "el validador lo rechaza («{}»)")
        message = f"no cumple el esquema BPMN 2.0 ({where}): {detail}"
        return Problem(_element_at(root, tag, line, filename), message)
    element = getattr(exc, "id", "") or getattr(exc, "name", "") or getattr(exc, "tag", "") or filename
    return Problem(element, _translate(_MESSAGES, text))


def crash_problem(exc: Exception, filename: str) -> Problem:
    """A parser crash that is no ValidationException: it names no element, so the file."""
    return Problem(filename, _translate(_MESSAGES, f"{type(exc).__name__}({exc!s})"))


_SCHEMA = re.compile(r"Element '([^']*)'(?:, attribute '([^']*)')?: (.*)", re.DOTALL)


def _element_at(root, tag: str, line, filename: str) -> str:
    """The id of the element the schema refused (or of its nearest ancestor that has one)."""
    if isinstance(line, int):
        for element in root.iter(tag):
            if element.sourceline == line:
                while element is not None and not element.get("id"):
                    element = element.getparent()
                if element is not None:
                    return element.get("id")
        return f"{filename}, línea {line}"
    return filename


def _translate(table, text: str, unknown: str = "el motor de procesos rechaza este elemento (mensaje original: «{}»)"):
    """The first matching Spanish text of ``table``, or the original (cut short) wrapped in ``unknown``."""
    for pattern, spanish in table:
        match = re.fullmatch(pattern, text.strip(), re.DOTALL)
        if match:
            return spanish.format(*match.groups())
    return unknown.format(text.strip()[:300])


# lxml's schema messages (after "Element 'x', attribute 'y': ").
_SCHEMA_DETAILS = [
    (r"'(.*)' is not a valid value of the atomic type 'xs:ID'\.",
     "«{0}» no sirve como id: debe empezar con una letra o «_», no tener espacios ni repetirse en el archivo"),
    (r"'(.*)' is not a valid value of the atomic type 'xs:(?:IDREF|QName|anyURI)'\.",
     "«{0}» no es una referencia válida a otro elemento"),
    (r"'(.*)' is not a valid value of the atomic type 'xs:(?:double|float|integer|int|decimal)'\.",
     "«{0}» no es un número"),
    (r"'(.*)' is not a valid value of the atomic type 'xs:boolean'\.", "«{0}» no es true ni false"),
    (r"'(.*)' is not a valid value of the (?:local )?(?:atomic|union|list) type.*", "el valor «{0}» no es válido"),
    (r"\[facet 'enumeration'\] The value '(.*)' is not an element of the set \{(.*)\}\.",
     "el valor «{0}» no es uno de los admitidos ({1})"),
    (r"The attribute '(.*)' is not allowed\.", "el atributo «{0}» no está permitido aquí"),
    (r"The attribute '(.*)' is required but missing\.", "falta el atributo obligatorio «{0}»"),
    (r"This element is not expected\..*", "este elemento no va en este lugar"),
    (r"Missing child element\(s\)\..*", "le falta un elemento hijo obligatorio"),
    (r"Character content other than whitespace is not allowed.*", "no admite texto, solo otros elementos"),
    (r"Element content is not allowed.*", "no admite elementos dentro, solo texto"),
    (r"Character content is not allowed, because the content type is empty\.", "debe ir vacío, sin texto"),
    (r"No matching global declaration available for the validation root\.",
     "el elemento raíz no es bpmn:definitions"),
]

# SpiffWorkflow's own messages (SpiffWorkflow/bpmn/parser, spiff/parser).
_MESSAGES = [
    (r"Multiple outgoing flows are not supported for tasks of type.*",
     "una tarea no puede tener varios flujos de salida: use una compuerta (gateway) para bifurcar"),
    (r"No start event found", "el proceso no tiene evento de inicio"),
    (r"Process (.*) is not executable\.", "el proceso «{0}» no es ejecutable (isExecutable=\"false\")"),
    (r"There is no support implemented for this task type\.",
     "el motor no ejecuta este tipo de elemento; use una tarea de usuario, manual o de script"),
    (r"Duplicate process ID: (.*)", "hay dos procesos con el id «{0}»"),
    (r"The process '(.*)' was not found\..*", "no existe el proceso «{0}» al que remite el diagrama"),
    (r"Non-default exclusive outgoing sequence flow without condition",
     "un flujo que sale de la compuerta no tiene condición ni es el flujo por defecto"),
    (r"Exactly one start event is required in a SubWorkflow Task; found (\d+)\.",
     "el subproceso debe tener exactamente un evento de inicio; tiene {0}"),
    (r"A SubWorkflow Must contain an End event", "el subproceso no tiene evento de fin"),
    (r'No "calledElement" attribute for Call Activity\.', "la actividad de llamada no indica calledElement"),
    (r"Invalid Script Task\.\s+No Script Provided\..*", "la tarea de script no tiene script"),
    (r"A Service Task must have an operator",
     "la tarea de servicio no indica operador: MPV no ejecuta tareas de servicio; use una tarea de script"),
    (r"Sequential ordering for ad hoc subprocesses not supported",
     "los subprocesos ad hoc secuenciales no están soportados"),
    (r"Ad hoc subprocesses may not contain start or end events",
     "un subproceso ad hoc no puede tener eventos de inicio ni de fin"),
    (r"Conditional event definition with missing condition", "el evento condicional no tiene condición"),
    (r"Unknown Time Specification", "el temporizador no indica timeDate, timeDuration ni timeCycle"),
    (r"Time Specification Error\..*", "la expresión del temporizador no es válida"),
    (r"Cannot resolve dataInputAssociation (.*)", "no existe el dato de entrada «{0}» que usa"),
    (r"Cannot resolve dataOutputAssociation (.*)", "no existe el dato de salida «{0}» que usa"),
    (r"A loopMaximum or loopCondition must be specified for Loop Tasks",
     "la tarea en bucle debe indicar loopMaximum o loopCondition"),
    (r"A multiinstance task must specify a cardinality or a loop input data reference",
     "la tarea multi-instancia debe indicar una cardinalidad o una colección de entrada"),
    (r"A multiinstance task must specify exactly one of cardinality or loop input data reference",
     "la tarea multi-instancia debe indicar una cardinalidad o una colección de entrada, no ambas"),
    (r"The loop (input|output) data reference is missing from the IO specification",
     "la colección de {0} de la multi-instancia no está en su especificación de datos"),
    (r"Cancel Events may only be used with transactions",
     "los eventos de cancelación solo van en transacciones"),
    (r"When looking for a task spec, we found two items.*\((.*)\)", "hay dos elementos con el id «{0}»"),
    (r"Expected an? (\w+) node", "el evento remite a un elemento ({0}) que el archivo no define"),
    (r"Could not find messageRef from message event definition: (.*)",
     "el evento remite al mensaje «{0}», que el archivo no define"),
    (r"(Message|Signal|Error|Escalation|Correlation|Data Store) identifier is missing from bpmn xml",
     "un elemento {0} del archivo no tiene id"),
    (r"Correlation is missing correlation property retrieval expressions: (.*)",
     "la correlación «{0}» no indica cómo obtener su valor"),
    (r"Message identifier is missing from correlation property: (.*)",
     "la propiedad de correlación «{0}» no indica su mensaje"),
    (r"Data Store name is missing from bpmn xml", "un almacén de datos no tiene nombre"),
    (r"Data Store with name (.*) has no implementation", "el almacén de datos «{0}» no está soportado"),
    # The task parser's wrapper around what it trips on: "%r" of the exception.
    (r"NotImplementedError\('Unsupported Catch Event.*",
     "el motor no admite este tipo de evento de captura: use un temporizador, un mensaje o una señal"),
    (r"RecursionError\(.*", "el diagrama encadena demasiados elementos para leerlo: divídalo en subprocesos"),
    (r"KeyError\('(.*)'\)", "le falta el atributo «{0}» (en el elemento o en sus extensiones)"),
    (r"(?:ValueError|TypeError)\((.*)\)",
     "un atributo o un valor del elemento no tiene la forma esperada (mensaje original: {0})"),
]
