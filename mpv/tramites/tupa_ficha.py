"""A TUPA procedure as a person writes it — in the administrator's form or a row of the CSV file — and the rules
it must meet, each broken one with the Spanish message that says what to fix (rule 10)."""
from __future__ import annotations

import dataclasses
import json
import re
from decimal import Decimal

from ..models import CALIFICACIONES, Oficina
from .catalogos import CODIGO

NOMBRE_MAX, REQUISITO_MAX, BASE_LEGAL_MAX = 300, 500, 500
PLAZO_MAX = 365
MONTO = re.compile(r"(?:S/\.?\s*)?([0-9]{1,8})(?:[.,]([0-9]{1,2}))?", re.IGNORECASE)
MENSAJES = {
    "codigo": "Use de 1 a 20 caracteres: letras mayúsculas sin tilde, números o guion (por ejemplo, LF-01).",
    "nombre": f"Escriba el nombre del procedimiento (hasta {NOMBRE_MAX} caracteres).",
    "requisitos": "Escriba al menos un requisito, uno por línea.",
    "derecho_tramite": "Escriba el monto en soles, con punto y hasta dos decimales (por ejemplo, 45.50); "
                       "déjelo vacío si el procedimiento es gratuito.",
    "calificacion": "Elija la calificación: automatica (aprobación automática), positivo o negativo (evaluación "
                    "previa con silencio positivo o negativo).",
    "plazo_dias": f"Escriba el plazo en días hábiles: un número entero de 1 a {PLAZO_MAX}.",
    "plazo_automatica": "La aprobación automática no tiene plazo: deje el plazo vacío.",
    "oficina": "Elija la oficina competente.",
    "base_legal": f"Escriba la base legal (hasta {BASE_LEGAL_MAX} caracteres), por ejemplo «Ley 28976, art. 8».",
}


@dataclasses.dataclass(frozen=True)
class Ficha:
    """A procedure as a person writes it, in a form or a CSV row: text, checked by :func:`revisar`."""

    codigo: str = ""
    nombre: str = ""
    requisitos: tuple[str, ...] = ()
    derecho_tramite: str = ""
    calificacion: str = ""
    plazo_dias: str = ""
    oficina: str = ""  # the office's code
    base_legal: str = ""


def lineas(texto: str) -> tuple[str, ...]:
    """The requirements typed one per line in a text area, blank lines left out."""
    return tuple(linea.strip() for linea in texto.splitlines() if linea.strip())


def revisar(ficha: Ficha, activo: bool = True) -> tuple[dict, dict[str, str]]:
    """(the procedure's column values, {field: message} for each field that breaks its rule). The office is
    looked up: it must exist, and be active when the procedure is."""
    f, errores = ficha, {}
    # A name or a legal basis is one line, whatever line breaks a text area or a spreadsheet cell brought.
    valores = {"codigo": f.codigo.strip().upper(), "nombre": " ".join(f.nombre.split()),
               "base_legal": " ".join(f.base_legal.split()), "calificacion": f.calificacion.strip().lower()}
    if not CODIGO.fullmatch(valores["codigo"]):
        errores["codigo"] = MENSAJES["codigo"]
    for campo, maximo in (("nombre", NOMBRE_MAX), ("base_legal", BASE_LEGAL_MAX)):
        if not valores[campo] or len(valores[campo]) > maximo:
            errores[campo] = MENSAJES[campo]
    lista_requisitos = [r.strip() for r in f.requisitos if r.strip()]
    valores["requisitos"] = json.dumps(lista_requisitos, ensure_ascii=False)
    mensaje = _requisitos(lista_requisitos)
    if mensaje:
        errores["requisitos"] = mensaje
    try:
        valores["derecho_tramite"] = _monto(f.derecho_tramite)
    except ValueError as exc:
        errores["derecho_tramite"] = str(exc)
    if valores["calificacion"] not in CALIFICACIONES:
        errores["calificacion"] = MENSAJES["calificacion"]
    else:  # the plazo's rule depends on the calificación
        try:
            valores["plazo_dias"] = _plazo(f.plazo_dias, valores["calificacion"])
        except ValueError as exc:
            errores["plazo_dias"] = str(exc)
    try:
        valores["oficina"] = _oficina(f.oficina, activo)
    except ValueError as exc:
        errores["oficina"] = str(exc)
    return valores, errores


def _requisitos(lista_requisitos: list[str]) -> str:
    """The message for the requirements, or "" when they are right."""
    if not lista_requisitos:
        return MENSAJES["requisitos"]
    for numero, requisito in enumerate(lista_requisitos, 1):
        if len(requisito) > REQUISITO_MAX:
            return f"El requisito {numero} pasa de {REQUISITO_MAX} caracteres: acórtelo o divídalo en dos."
        if "|" in requisito:  # the CSV file separates the requirements with it
            return f"El requisito {numero} contiene «|», que separa los requisitos en el archivo CSV: use otro signo."
        if any(ord(c) < 32 or c in "\x7f\u2028\u2029" for c in requisito):
            return f"El requisito {numero} contiene saltos de línea o caracteres no válidos: escriba uno por línea."
    return ""


def _monto(texto: str) -> Decimal | None:
    """The fee in soles; None (gratuito) when empty or zero. :raise ValueError: with the message to show."""
    texto = texto.strip()
    if not texto:
        return None
    coincide = MONTO.fullmatch(texto)
    if not coincide:
        negativo = texto.lstrip("S/. ").startswith("-")
        raise ValueError("El derecho de trámite no puede ser negativo; déjelo vacío si el procedimiento es gratuito."
                         if negativo else MENSAJES["derecho_tramite"])
    monto = Decimal(f"{coincide[1]}.{coincide[2] or '0'}").quantize(Decimal("0.01"))
    return monto or None


def _plazo(texto: str, clave: str) -> int | None:
    """The business days; None for aprobación automática. :raise ValueError: with the message to show."""
    texto = texto.strip()
    if clave == "automatica":
        if texto:
            raise ValueError(MENSAJES["plazo_automatica"])
        return None
    if not re.fullmatch(r"[0-9]{1,3}", texto) or not 1 <= int(texto) <= PLAZO_MAX:
        raise ValueError(MENSAJES["plazo_dias"])
    return int(texto)


def _oficina(codigo: str, activo: bool) -> Oficina:
    """The competent office. :raise ValueError: with the message to show."""
    codigo = codigo.strip().upper()
    if not codigo:
        raise ValueError(MENSAJES["oficina"])
    oficina = Oficina.por_codigo(codigo)
    if oficina is None:
        raise ValueError(f"No existe la oficina «{codigo[:20]}»: use el código de una oficina activa "
                         "(Administración › Oficinas).")
    if activo and not oficina.activa:
        raise ValueError(f"La oficina {codigo} está desactivada: elija una oficina activa.")
    return oficina
