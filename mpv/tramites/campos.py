"""The fields of a filing (la presentación de un trámite, TUO de la Ley 27444 art. 124), defined once.

Every face that takes a filing is derived from :data:`CAMPOS`: the HTML form (``mpv.web.public`` and
``templates/publico/presentar.html``: labels, required marks, lengths), the JSON API's multipart reader and
its OpenAPI schema (``mpv.web.requests``, ``mpv.web.openapi``) and ``mpv tramite new`` (``mpv.cli``).
:func:`revisar` checks and cleans what any face received, with one hygiene:

- one-line fields refuse NUL, CR, LF, tab and every other control character (and the Unicode line and
  paragraph separators): a line break in a name would end up inside an e-mail header;
- the request's text (``asunto``) may span lines: CR, LF and tab pass, NUL and other control characters not;
- identity numbers are normalised to ASCII (full-width and other scripts' digits) before they are checked,
  so the stored number is the one an ASCII search finds (``mpv.identidad.normalizar``);
- e-mail addresses pass the mailer's own rule (``mpv.correo_direccion``): what the filing accepts, the mailer
  can send to; an address with accented letters before the @ is refused with a message that says so.

Where the faces differ, on purpose, the field says so:

- ``declaracion`` (the filer declares the data and documents true) is asked by the HTML form only. API v1
  never had it and refuses it as an unknown field: requiring it now would refuse filings its clients send
  today, and a client application shows its users its own declaration. The CLI is the operator's tool.
- ``requisitos`` (the numbers of the TUPA procedure's requirements the filer ticks) is the one text field that
  may come as several parts (the form's checkboxes) or as one, «1, 2, 4» (the API and the CLI).
- ``acepta_notificacion`` is asked by the form and the API; the CLI, which files at a citizen's request at the
  counter, never asked it (notification by e-mail is how MPV answers at all).
- The API names a required field the request did not send at all («Falta el campo…»: a client's mistake);
  on the form and the CLI a field left out is an empty one and gets the message that says what to write.
- ``presencial`` is mesa de partes' form for a filing brought on paper (``mpv.tramites.presencial``): what the clerk
  types from the paper, as the CLI takes it. The e-mail is optional there (``opcional_en``): a citizen who comes to
  the counter may have none, and is then notified at his address; with one, it gets the constancia and the notices.
"""
from __future__ import annotations

import dataclasses
import unicodedata
from typing import Mapping

from .. import identidad
from ..correo_direccion import DireccionNoValida, direccion

WEB, API, CLI, PRESENCIAL = "web", "api", "cli", "presencial"
CARAS = frozenset({WEB, API, CLI, PRESENCIAL})

# Kinds of field: how a value is cleaned and checked, and how each face shows it.
LINEA = "linea"            # one line of text
TEXTO = "texto"            # text that may span lines
IDENTIDAD = "identidad"    # an identity document number (checked against its type)
CORREO = "correo"          # an e-mail address
OPCION = "opcion"          # one of ``opciones``
CATALOGO = "catalogo"      # a code of the document-type catalogue (checked against the database by mpv.tramites.presentacion)
PROCEDIMIENTO = "procedimiento"  # a code of the TUPA, or empty: a documento simple (mpv.tramites.presentacion checks it)
NUMEROS = "numeros"        # whole numbers from 1, each once: the requirements ticked, by their place in the TUPA
ENTERO = "entero"          # a whole number from ``minimo`` to ``maximo``
CASILLA = "casilla"        # a box to tick: one the filer must tick is not stored (filing at all means it was ticked);
                           # an optional one (``requerido=False``) is stored as True or False
ARCHIVO = "archivo"        # a PDF file (or several, ``multiple``); mpv.tramites.presentacion checks them

SI = ("true", "on", "1", "si", "sí")  # a ticked box, as browsers and clients send it
REVISE = "Revise los datos marcados: la solicitud no se presentó."
NO_VALIDOS = "El texto contiene caracteres no válidos."
SIN_ARCHIVO = "Adjunte el documento principal en PDF."


@dataclasses.dataclass(frozen=True)
class Campo:
    """One input of a filing, for every face."""

    nombre: str
    etiqueta: str
    tipo: str
    requerido: bool | str = True   # True, False, or the ``tipo_persona`` that needs it ("natural", "juridica")
    maximo: int = 0                # characters (text kinds), or the largest value (ENTERO)
    minimo: int = 0                # the smallest value (ENTERO)
    opciones: tuple = ()           # (value, label) pairs of an OPCION
    falta: str = ""                # the message when it is empty (or, for a choice, not one of the list)
    ayuda: str = ""                # a line of help, shown by the form and the OpenAPI document
    ejemplo: str = ""              # a valid value, for the OpenAPI document
    defecto: str = ""              # the value an empty field takes
    inicial: str = ""              # the form's initial value and the CLI's default
    caras: frozenset = CARAS       # the faces that take it
    multiple: bool = False         # ARCHIVO: several files under this name; NUMEROS: several parts
    opcional_en: frozenset = frozenset()  # the faces where a required field may be left empty

    @property
    def una_linea(self) -> bool:
        return self.tipo not in (TEXTO, ENTERO, CASILLA, ARCHIVO)


CAMPOS: tuple[Campo, ...] = (
    Campo("tipo_persona", "Tipo de persona", OPCION, opciones=(("natural", "Persona natural"), (
        "juridica", "Persona jurídica (empresa, asociación)")), falta="Elija persona natural o jurídica.",
        ejemplo="natural", defecto="natural", inicial="natural"),
    Campo("tipo_documento_identidad", "Tipo de documento de identidad", OPCION,
          opciones=tuple(identidad.TIPOS.items()), ayuda="Persona jurídica: RUC.", ejemplo="DNI", inicial="DNI",
          falta="Elija un tipo de documento de identidad: DNI, CE, PASAPORTE o RUC."),
    Campo("numero_documento_identidad", "Número de documento de identidad", IDENTIDAD, maximo=15,
          falta="Escriba el número de documento.", ejemplo="45871236",
          ayuda="DNI: 8 dígitos. RUC: 11 dígitos, empieza con 10, 15, 16, 17 o 20 y termina en su dígito "
                "verificador. Carné de extranjería: hasta 12 letras o dígitos. Pasaporte: de 5 a 15."),
    Campo("nombres", "Nombres", LINEA, requerido="natural", maximo=120, falta="Escriba sus nombres.",
          ejemplo="Ana"),
    Campo("apellidos", "Apellidos", LINEA, requerido="natural", maximo=120, falta="Escriba sus apellidos.",
          ejemplo="Rojas Villanueva"),
    Campo("razon_social", "Razón social", LINEA, requerido="juridica", maximo=250,
          falta="Escriba la razón social."),
    Campo("email", "Correo electrónico", CORREO, maximo=200, ejemplo="ana@example.com",
          falta="Escriba un correo electrónico válido: allí le enviaremos la constancia.",
          ayuda="Aquí llegan la constancia y las notificaciones. Sin tildes ni ñ antes de la @.",
          opcional_en=frozenset({PRESENCIAL})),
    Campo("telefono", "Teléfono", LINEA, requerido=False, maximo=30),
    Campo("direccion", "Dirección", LINEA, maximo=300, falta="Escriba su dirección.", ejemplo="Jr. Loreto 215"),
    Campo("procedimiento", "Procedimiento del TUPA", PROCEDIMIENTO, requerido=False, maximo=20, ejemplo="LF-01",
          falta="Elija un procedimiento del TUPA de la lista, o ninguno si presenta un documento simple.",
          ayuda="El procedimiento que solicita, por su código en el TUPA (GET /api/v1/procedimientos). Vacío: un "
                "documento simple, que no tiene plazo de procedimiento."),
    Campo("requisitos", "Requisitos que cumple y adjunta", NUMEROS, requerido=False, maximo=200, multiple=True,
          falta="Indique los requisitos por su número en el TUPA (1, 2, 3…), separados por comas.",
          ayuda="Los números de los requisitos del procedimiento que cumple, en el orden del TUPA. Si le falta "
                "alguno igual puede presentar: mesa de partes le indicará qué subsanar (Ley 27444, art. 136).",
          ejemplo="1, 2"),
    Campo("recibo_pago", "Número del recibo de pago", LINEA, requerido=False, maximo=40,
          ayuda="Si el procedimiento tiene derecho de trámite: el número del recibo o de la operación del pago."),
    Campo("tipo_documento", "Tipo de documento", CATALOGO, maximo=20, ejemplo="SOL",
          falta="Elija un tipo de documento de la lista."),
    Campo("numero_documento", "Número del documento", LINEA, requerido=False, maximo=60,
          ayuda="Número o sigla del documento, si tiene."),
    Campo("asunto", "Asunto", TEXTO, maximo=500, falta="Escriba el asunto: qué solicita.",
          ayuda="Qué solicita, en pocas palabras.", ejemplo="Licencia de funcionamiento"),
    Campo("folios", "Folios (número de páginas)", ENTERO, minimo=1, maximo=10000, inicial="1",
          falta="Indique el número de folios (páginas), de 1 a 10000."),
    Campo("archivo", "Documento principal (PDF)", ARCHIVO, falta=SIN_ARCHIVO),
    Campo("anexos", "Anexos (PDF)", ARCHIVO, requerido=False, multiple=True),
    Campo("declaracion", "Declaro que los datos consignados y los documentos adjuntos son verdaderos.", CASILLA,
          falta="Debe declarar que los datos y documentos son verdaderos.", caras=frozenset({WEB})),
    Campo("acepta_notificacion", "Acepto ser notificado por correo electrónico sobre este trámite.", CASILLA,
          falta="Para presentar por la mesa virtual debe aceptar la notificación por correo.",
          caras=frozenset({WEB, API})),
    Campo("casilla", "Deseo ser notificado en mi casilla electrónica para este expediente (Ley 31736).", CASILLA,
          requerido=False, caras=frozenset({WEB, API}),
          ayuda="Opcional. Los actos se depositan en su casilla, que abre con su código de seguimiento y su documento "
                "de identidad, y se le avisa por correo; surten efecto el día de su acuse de recibo o, sin acuse, a "
                "los días hábiles que fija la entidad. Puede revocarlo desde el seguimiento."),
)
POR_NOMBRE = {c.nombre: c for c in CAMPOS}


def de_cara(cara: str) -> tuple[Campo, ...]:
    """The fields ``cara`` takes, in the form's order, each as that face asks it (optional where ``opcional_en``)."""
    return tuple(dataclasses.replace(c, requerido=False) if cara in c.opcional_en else c
                 for c in CAMPOS if cara in c.caras)


def textos(cara: str) -> tuple[str, ...]:
    """The names of the text fields (everything but files) ``cara`` takes."""
    return tuple(c.nombre for c in de_cara(cara) if c.tipo != ARCHIVO)


def obligatorios(cara: str) -> tuple[str, ...]:
    """The fields ``cara`` needs whoever files (the OpenAPI schema's ``required``)."""
    return tuple(c.nombre for c in de_cara(cara) if c.requerido is True)


def revisar(datos: Mapping[str, object], cara: str = CLI) -> tuple[dict, dict[str, str]]:
    """(the cleaned values, a message per field that breaks a rule) of the text fields ``datos`` brought
    through ``cara``. The values are what a filing stores: boxes are left out, and the names of the other
    kind of person are empty. Whether ``tipo_documento`` is in the catalogue is for ``mpv.tramites.presentacion`` to say."""
    valores: dict[str, object] = {}
    problemas: dict[str, str] = {}
    for campo in de_cara(cara):
        if campo.tipo == ARCHIVO:
            continue
        crudo = datos.get(campo.nombre)
        if crudo is None and cara == API and campo.requerido is True:
            problemas[campo.nombre] = f"Falta el campo «{campo.nombre}»."
            continue
        if isinstance(crudo, (list, tuple)):
            if not campo.multiple:
                problemas[campo.nombre] = "Envíe este campo una sola vez."
                continue
            crudo = ",".join(str(parte) for parte in crudo)
        texto = "" if crudo is None else str(crudo).strip()
        problema = _higiene(campo, texto)
        if problema is None:
            valor, problema = _limpiar(campo, texto or campo.defecto)
            valores[campo.nombre] = valor
        if problema:
            problemas[campo.nombre] = problema
    _reglas_de_persona(valores, problemas)
    for campo in de_cara(cara):
        if campo.tipo == CASILLA and campo.requerido is True:
            valores.pop(campo.nombre, None)
    return valores, problemas


def _higiene(campo: Campo, texto: str) -> str | None:
    if "\x00" in texto:
        return NO_VALIDOS
    if campo.una_linea and any(unicodedata.category(c) in ("Cc", "Zl", "Zp") for c in texto):
        return (f"{campo.etiqueta}: escriba una sola línea, sin saltos de línea, tabulaciones ni otros "
                "caracteres de control.")
    if not campo.una_linea and any(unicodedata.category(c) == "Cc" and c not in "\t\r\n" for c in texto):
        return NO_VALIDOS
    if campo.maximo and campo.tipo not in (ENTERO, IDENTIDAD) and len(texto) > campo.maximo:
        return f"{campo.etiqueta}: use como máximo {campo.maximo} caracteres."
    return None


def _limpiar(campo: Campo, texto: str) -> tuple[object, str | None]:
    """(value, problem) of one field; emptiness of a field that a kind of person needs is judged later."""
    if campo.tipo == OPCION:
        valor = next((v for v, _ in campo.opciones if v.lower() == texto.lower()), None)
        return (valor, None) if valor else (texto, campo.falta)
    if campo.tipo == ENTERO:
        try:
            valor = int(texto)
        except ValueError:
            valor = None
        ok = valor is not None and campo.minimo <= valor <= campo.maximo
        return (valor, None) if ok else (texto, campo.falta)
    if campo.tipo == CASILLA:
        return (True, None) if texto.lower() in SI else (False, campo.falta if campo.requerido is True else None)
    if campo.tipo == NUMEROS:
        partes = [parte.strip() for parte in texto.split(",") if parte.strip()]
        if not all(parte.isascii() and parte.isdigit() and 1 <= int(parte) <= 100 for parte in partes):
            return texto, campo.falta
        return sorted({int(parte) for parte in partes}), None
    if campo.tipo == PROCEDIMIENTO:
        texto = texto.upper()
    if campo.tipo == IDENTIDAD:
        texto = identidad.normalizar(texto)
    if not texto:
        return texto, (campo.falta if campo.requerido is True else None)
    if campo.tipo == CORREO:
        return _correo(campo, texto)
    return texto, None


def _correo(campo: Campo, texto: str) -> tuple[str, str | None]:
    try:
        return direccion(texto).normalizada, None
    except DireccionNoValida as exc:
        if exc.letras:
            return texto, (f"Escriba un correo electrónico sin tildes ni ñ antes de la @ (tiene «{exc.letras}»): "
                           "a esa dirección no podemos enviarle la constancia.")
        return texto, campo.falta


def _reglas_de_persona(valores: dict, problemas: dict[str, str]):
    """The rules between fields: who needs which name, and what identifies a persona jurídica."""
    persona = valores.get("tipo_persona")
    for campo in CAMPOS:
        if campo.requerido in ("natural", "juridica") and campo.nombre in valores:
            if campo.requerido != persona:
                valores[campo.nombre] = ""  # the other kind of person's names are not kept
            elif not valores[campo.nombre] and campo.nombre not in problemas:
                problemas[campo.nombre] = campo.falta
    tipo = valores.get("tipo_documento_identidad")
    if "tipo_documento_identidad" in problemas or "numero_documento_identidad" not in valores:
        return
    if persona == "juridica" and tipo != "RUC":
        problemas["tipo_documento_identidad"] = "Una persona jurídica se identifica con su RUC."
    numero = valores["numero_documento_identidad"]
    if numero and "numero_documento_identidad" not in problemas:
        problema = identidad.error_documento(tipo, numero)
        if problema:
            problemas["numero_documento_identidad"] = problema
