"""Administración › Plantillas: the text each type of official document starts from (rule 13).

A template is Jinja2 text for the body (and optionally the subject) with the expediente's fields as variables. It is
written by an administrator and rendered in a :class:`~jinja2.sandbox.SandboxedEnvironment` with
:class:`~jinja2.StrictUndefined`: a template that does not compile, names a variable MPV does not give, or reaches
for what the sandbox forbids (``''.__class__``…) is refused with a message that says what to fix, and nothing is
saved. A new draft starts from its type's template; the drafter edits it before issuing it.
"""
from __future__ import annotations

import dataclasses
import logging
from datetime import date, timezone

from jinja2 import StrictUndefined, TemplateError, TemplateSyntaxError, UndefinedError, meta, nodes
from jinja2.sandbox import SandboxedEnvironment, SecurityError

from ..engine import Actor
from ..errors import InvalidInput, NotFound
from ..models import TIPOS_DOCUMENTO_OFICIAL, Expediente, Oficina, PlantillaDocumento
from .administracion import auditar, solo_administrador, unique_write
from .hoja_pdf import fecha_larga

log = logging.getLogger(__name__)

VARIABLES = {
    "numero_expediente": "Número del expediente, p. ej. 2026-000123",
    "fecha_presentacion": "Fecha de presentación, en letras",
    "remitente": "Nombre o razón social de quien presentó el trámite",
    "asunto_expediente": "Asunto del trámite, como lo escribió el ciudadano",
    "procedimiento": "Nombre del procedimiento del TUPA (vacío en un documento simple)",
    "oficina": "Nombre de la oficina que redacta",
    "entidad": "Nombre de la entidad",
    "fecha_hoy": "Fecha de hoy, en letras",
}
EJEMPLO = {
    "numero_expediente": "2026-000123", "fecha_presentacion": "2 de diciembre de 2026",
    "remitente": "María Elena Quispe Huamán", "asunto_expediente": "Solicito licencia de funcionamiento",
    "procedimiento": "Licencia de funcionamiento para establecimientos con nivel de riesgo bajo",
    "oficina": "Gerencia de Desarrollo Urbano y Rural", "entidad": "Municipalidad Distrital de Ejemplo",
    "fecha_hoy": "3 de diciembre de 2026",
}
REFERENCIA = ("expediente N° {{ numero_expediente }}, presentado el {{ fecha_presentacion }} por {{ remitente }}, "
              "sobre «{{ asunto_expediente }}»{% if procedimiento %} (procedimiento: {{ procedimiento }}){% endif %}")
PREDETERMINADAS = {  # what each type starts from until an administrator writes its own template
    "informe": ("Informe sobre el expediente N° {{ numero_expediente }}",
                "En atención al " + REFERENCIA + ", esta oficina informa lo siguiente:\n\n"
                "[Escriba aquí el análisis y la conclusión.]\n\n"
                "Es todo cuanto informo para los fines que estime pertinentes."),
    "oficio": ("Respuesta al expediente N° {{ numero_expediente }}",
               "Tengo el agrado de dirigirme a usted para saludarle cordialmente y, en atención al " + REFERENCIA
               + ", comunicarle lo siguiente:\n\n[Escriba aquí el contenido.]\n\n"
               "Sin otro particular, hago propicia la oportunidad para expresarle las muestras de mi consideración."),
    "carta": ("{{ asunto_expediente }}",
              "Estimado(a) {{ remitente }}:\n\nEn atención al " + REFERENCIA + ", le comunicamos lo siguiente:\n\n"
              "[Escriba aquí el contenido.]\n\nAtentamente, {{ oficina }}."),
    "memorandum": ("Expediente N° {{ numero_expediente }}",
                   "Por medio del presente, y en relación con el " + REFERENCIA + ", se le solicita:\n\n"
                   "[Escriba aquí el pedido y el plazo.]"),
    "resolucion": ("Resolución sobre el expediente N° {{ numero_expediente }}",
                   "VISTO: el " + REFERENCIA + ";\n\nCONSIDERANDO:\n\n[Escriba aquí los fundamentos de hecho y de "
                   "derecho.]\n\nSE RESUELVE:\n\nARTÍCULO PRIMERO.- [Escriba aquí la decisión.]\n\n"
                   "ARTÍCULO SEGUNDO.- Notificar la presente resolución a {{ remitente }}.\n\n"
                   "{{ entidad }}, {{ fecha_hoy }}."),
}
LIMITES = {"asunto": 500, "cuerpo": 20000}
REVISE = "La plantilla no se guardó: revise los campos marcados."

FILTROS = ("upper", "lower", "title", "capitalize", "trim", "default", "truncate")
# Loops, macros and assignments are what would let a short template build a huge text (``{% set x = x ~ x %}``
# twenty times): a document's text needs none of them.
SIN_BUCLES = (nodes.For, nodes.Macro, nodes.CallBlock, nodes.Assign, nodes.AssignBlock, nodes.With)


class _Sandbox(SandboxedEnvironment):
    """Jinja2's sandbox, narrowed to what a document's text needs (variables, a few filters, ``{% if %}``) so that an
    administrator's template can neither reach Python's internals nor make the server build a huge text: no calls
    (``remitente.ljust(10**9)``), no ``*``, ``**`` or ``%``, no loops, macros or ``{% set %}`` (:func:`_problema`
    refuses them), no globals (``range``, ``lipsum``…) and only filters that cannot lengthen a text much."""

    intercepted_binops = frozenset({"*", "**", "%"})

    def call_binop(self, context, operator, left, right):
        raise SecurityError(f"el operador «{operator}» no se puede usar en una plantilla")

    def call(self, __context, __obj, *args, **kwargs):
        raise SecurityError("una plantilla no puede llamar funciones ni métodos")


_SANDBOX = _Sandbox(undefined=StrictUndefined, autoescape=False)
_SANDBOX.globals.clear()
_SANDBOX.filters = {nombre: _SANDBOX.filters[nombre] for nombre in FILTROS}


@dataclasses.dataclass(frozen=True)
class Plantilla:
    """A type's template as the administrator sees it: its texts and whether it is still the built-in one."""

    tipo: str
    nombre: str
    asunto: str
    cuerpo: str
    propia: bool  # False: the built-in text (no administrator has changed it)


def _problema(texto: str) -> str:
    """What is wrong with the template ``texto`` (compiling it and rendering it with the example's data), in
    Spanish; "" when nothing is."""
    try:
        arbol = _SANDBOX.parse(texto)
        if next(arbol.find_all(SIN_BUCLES), None) is not None:
            return ("La plantilla no puede usar bucles ({% for %}), macros ni asignaciones ({% set %}, {% with %}): "
                    f"use las variables, los filtros ({', '.join(FILTROS)}) y condiciones ({{% if %}}).")
        desconocidas = sorted(meta.find_undeclared_variables(arbol) - set(VARIABLES))
        if desconocidas:
            return ("Usa variables que no existen: " + ", ".join(f"«{v}»" for v in desconocidas)
                    + ". Las disponibles son: " + ", ".join(VARIABLES) + ".")
        _SANDBOX.from_string(texto).render(**EJEMPLO)
    except SecurityError as exc:
        return (f"La plantilla intenta algo que no está permitido ({str(exc).rstrip('.')}). "
                "Use solo las variables de la lista, filtros y condiciones.")
    except TemplateSyntaxError as exc:
        return f"No se puede leer la plantilla (línea {exc.lineno}): {str(exc.message).rstrip('.')}."
    except UndefinedError as exc:
        return f"La plantilla usa algo que no existe: {exc.message}."
    except TemplateError as exc:
        return f"La plantilla falla al completarse: {exc.message or exc}."
    except (ArithmeticError, TypeError, ValueError, LookupError) as exc:
        return f"La plantilla falla al completarse: {exc}."
    return ""


def completar(texto: str, datos: dict[str, str]) -> str:
    """The template ``texto`` filled with ``datos`` (the sandbox's output, without surrounding spaces).

    :raise TemplateError: (or what a filter raises) when it cannot; :func:`guardar` refused such templates."""
    return _SANDBOX.from_string(texto).render(**datos).strip()


def _plantilla(tipo: str) -> Plantilla:
    """:raise NotFound: ``tipo`` is not a type of official document."""
    if tipo not in TIPOS_DOCUMENTO_OFICIAL:
        raise NotFound("Ese tipo de documento no existe.")
    fila = PlantillaDocumento.get_or_none(PlantillaDocumento.tipo == tipo)
    asunto, cuerpo = (fila.asunto, fila.cuerpo) if fila else PREDETERMINADAS[tipo]
    return Plantilla(tipo, TIPOS_DOCUMENTO_OFICIAL[tipo], asunto, cuerpo, fila is not None)


def todas(services, actor: Actor) -> list[Plantilla]:
    """Every type's template, in the types' order. :raise NotAllowed: for a non-administrator."""
    _puede(actor)
    return [_plantilla(tipo) for tipo in TIPOS_DOCUMENTO_OFICIAL]


def de_tipo(services, actor: Actor, tipo: str) -> Plantilla:
    """One type's template. :raise NotAllowed: / :raise NotFound:"""
    _puede(actor)
    return _plantilla(tipo)


def validar(asunto: str, cuerpo: str) -> tuple[str, str]:
    """The two texts, cleaned. :raise InvalidInput: naming each text that is empty, too long or does not work."""
    textos = {"asunto": (asunto or "").strip(), "cuerpo": (cuerpo or "").replace("\r\n", "\n").strip()}
    campos = {}
    for campo, texto in textos.items():
        if len(texto) > LIMITES[campo]:
            campos[campo] = f"Escríbalo en {LIMITES[campo]} caracteres como máximo (tiene {len(texto)})."
        elif campo == "cuerpo" and not texto:
            campos[campo] = "Escriba el texto del documento."
        elif campo == "asunto" and any(c in texto for c in "\r\n"):
            campos[campo] = "Escriba el asunto en una sola línea."
        elif problema := _problema(texto):
            campos[campo] = problema
    if campos:
        raise InvalidInput(REVISE, campos)
    return textos["asunto"], textos["cuerpo"]


def vista_previa(services, actor: Actor, tipo: str, asunto: str, cuerpo: str) -> tuple[str, str]:
    """The (subject, body) the template gives with the example's data; nothing is written.

    :raise InvalidInput: / :raise NotAllowed: / :raise NotFound: as :func:`guardar`."""
    _puede(actor)
    _plantilla(tipo)
    asunto, cuerpo = validar(asunto, cuerpo)
    return completar(asunto, EJEMPLO), completar(cuerpo, EJEMPLO)


def guardar(services, actor: Actor, tipo: str, asunto: str, cuerpo: str) -> Plantilla:
    """Save a type's template with its audit row, in one transaction.

    :raise InvalidInput: the template does not compile, names an unknown variable or breaks the sandbox; nothing
    is written. :raise NotAllowed: for a non-administrator. :raise NotFound: unknown type."""
    _puede(actor)
    antes = _plantilla(tipo)
    asunto, cuerpo = validar(asunto, cuerpo)
    now = services.clock().astimezone(timezone.utc)

    def escribir():
        cambiados = (PlantillaDocumento.update(asunto=asunto, cuerpo=cuerpo, actualizado_en=now)
                     .where(PlantillaDocumento.tipo == tipo).execute())
        if not cambiados:
            PlantillaDocumento.create(tipo=tipo, asunto=asunto, cuerpo=cuerpo, actualizado_en=now)
        auditar(services, actor, "plantilla", f"Se cambió la plantilla de {antes.nombre}.",
                f"Asunto antes: {antes.asunto}\nAsunto ahora: {asunto}\nTexto antes:\n{antes.cuerpo}\n"
                f"Texto ahora:\n{cuerpo}")

    mensaje = "Otro administrador guardó esta plantilla en el mismo momento: revise el texto y vuelva a guardarlo."
    unique_write(services.db, escribir, InvalidInput(mensaje, {"cuerpo": mensaje}))
    return _plantilla(tipo)


def datos_de(services, expediente: Expediente, oficina: Oficina) -> dict[str, str]:
    """The variables of a template, for a draft of ``oficina`` on ``expediente``."""
    hoy: date = services.calendario.fecha_local(services.clock())
    return {
        "numero_expediente": expediente.numero, "fecha_presentacion": fecha_larga(expediente.fecha_presentacion),
        "remitente": expediente.remitente_nombre, "asunto_expediente": expediente.asunto,
        "procedimiento": expediente.procedimiento.nombre if expediente.procedimiento_id else "",
        "oficina": oficina.nombre, "entidad": services.parametros.all()["entidad_nombre"],
        "fecha_hoy": fecha_larga(hoy),
    }


def para_borrador(services, tipo: str, expediente: Expediente, oficina: Oficina) -> tuple[str, str]:
    """The (subject, body) a new draft of ``tipo`` starts from. A saved template that cannot be filled with this
    expediente's data (it passed the checks with the example's) is logged and offered as written, for the drafter
    to fix, rather than failing the page."""
    plantilla = _plantilla(tipo if tipo in TIPOS_DOCUMENTO_OFICIAL else "informe")
    datos = datos_de(services, expediente, oficina)
    textos = []
    for texto in (plantilla.asunto, plantilla.cuerpo):
        try:
            textos.append(completar(texto, datos))
        except (TemplateError, ArithmeticError, TypeError, ValueError, LookupError) as exc:
            log.warning("template of %s failed on expediente %s: %r", tipo, expediente.numero, str(exc))
            textos.append(texto)
    return textos[0][:LIMITES["asunto"]], textos[1]


def _puede(actor: Actor):
    solo_administrador(actor, "cambiar las plantillas de los documentos oficiales")
