"""Entity-wide settings the administrator edits: the entity's name and acronym, office hours, the filing cutoff, the
hour of the offices' daily digest, the form of an official document's number, and the business days after which an
act deposited in a casilla electrónica takes effect without an acuse de recibo (DOMAIN rule 15)."""
from __future__ import annotations

import string
import threading
import time as _time
from datetime import time

from .errors import InvalidInput
from .models import Parametro

DEFAULTS = {
    "entidad_nombre": "Municipalidad Distrital (demostración)",
    "horario_inicio": "08:00",
    "horario_fin": "16:30",
    "corte_presentacion": "",  # empty: no cutoff (Ley 31465's default)
    "resumen_hora": "07:00",  # local time from which the offices' daily digest goes out (mpv.tramites.resumen)
    "entidad_sigla": "MDX",  # the entity's acronym at the end of its documents' numbers
    "formato_numero_documento": "{TIPO} N° {correlativo:03d}-{anio}-{oficina}/{sigla}",
    "dias_notificacion": "5",  # business days after a deposit in the casilla when nobody acknowledges it
}

LABELS = {
    "entidad_nombre": "Nombre de la entidad",
    "horario_inicio": "Horario de atención: inicio",
    "horario_fin": "Horario de atención: fin",
    "corte_presentacion": "Hora de corte de la presentación virtual (vacío: sin corte)",
    "resumen_hora": "Hora del resumen diario a las oficinas",
    "entidad_sigla": "Sigla de la entidad",
    "formato_numero_documento": "Formato del número de los documentos oficiales",
    "dias_notificacion": "Días hábiles para que surta efecto una notificación en casilla sin acuse de recibo",
}

# The parts a document's number may use: its type (in capitals, or as written), number, year, office and the sigla.
PARTES_NUMERO = ("TIPO", "tipo", "correlativo", "anio", "oficina", "sigla")
# Without these the number of two documents could be the same (rule 13: one number per type, office and year).
PARTES_OBLIGATORIAS = ("TIPO", "correlativo", "anio", "oficina")
_EJEMPLO = {"TIPO": "INFORME", "tipo": "Informe", "correlativo": 12, "anio": 2026, "oficina": "GDUR", "sigla": "MDX"}


def numero_documento(formato: str, **partes) -> str:
    """An official document's number in ``formato`` (``formato_numero_documento``), e.g.
    «INFORME N° 012-2026-GDUR/MDX». :raise ValueError: a format :func:`error_formato` would refuse."""
    return formato.format(**{k: partes[k] for k in PARTES_NUMERO})


def error_formato(formato: str) -> str | None:
    """What is wrong with a number format, in Spanish, or None when it is usable."""
    try:
        nombres = [campo for _, campo, _, _ in string.Formatter().parse(formato) if campo is not None]
        desconocidas = [n for n in nombres if n not in PARTES_NUMERO]
        if desconocidas:
            return (f"«{{{desconocidas[0]}}}» no es una parte del número; use solo "
                    + ", ".join(f"{{{p}}}" for p in PARTES_NUMERO) + ".")
        faltan = [p for p in PARTES_OBLIGATORIAS if p not in nombres and not (p == "TIPO" and "tipo" in nombres)]
        if faltan:
            return f"El formato debe incluir {{{faltan[0]}}}: sin él, dos documentos podrían tener el mismo número."
        ejemplo = numero_documento(formato, **_EJEMPLO)
    except (ValueError, IndexError, KeyError, TypeError):
        return ("El formato no se puede usar: escriba las partes entre llaves, como "
                "{TIPO} N° {correlativo:03d}-{anio}-{oficina}/{sigla}.")
    if len(ejemplo) > 120:
        return "El número resultante es demasiado largo (más de 120 caracteres)."
    return None


class Parametros:
    """Reads settings with a short cache (several processes may change them); writes validate."""

    def __init__(self, database, ttl: float = 30.0):
        self._db = database
        self._ttl = ttl
        self._lock = threading.Lock()
        self._values: dict[str, str] = {}
        self._loaded = float("-inf")

    def all(self) -> dict[str, str]:
        now = _time.monotonic()
        with self._lock:
            if now - self._loaded > self._ttl:
                self._values = {**DEFAULTS, **dict(Parametro.select(Parametro.clave, Parametro.valor).tuples())}
                self._loaded = now
            return dict(self._values)

    def get(self, key: str) -> str:
        return self.all().get(key, DEFAULTS.get(key, ""))

    def cutoff(self) -> time | None:
        value = self.get("corte_presentacion")
        return time.fromisoformat(value) if value else None

    def hora_resumen(self) -> time:
        """The local time from which the offices' daily digest is sent."""
        return time.fromisoformat(self.get("resumen_hora") or DEFAULTS["resumen_hora"])

    def dias_notificacion(self) -> int:
        """Business days after its deposit in a casilla electrónica when an act nobody acknowledged takes effect."""
        return int(self.get("dias_notificacion") or DEFAULTS["dias_notificacion"])

    def refresh(self):
        """Forget the cached values (after a change this process made, once it is committed)."""
        with self._lock:
            self._loaded = float("-inf")

    def update(self, values: dict[str, str]) -> list[tuple[str, str, str]]:
        """Validate and save; return (key, before, after) of each setting that changed. Inside a caller's write
        transaction, call :meth:`refresh` once it is committed. :raise InvalidInput: naming each bad field."""
        campos = {}
        clean = {}
        current = self.all()
        for key in DEFAULTS:
            # A setting the caller does not send keeps its value (an older form, a face that edits a few).
            value = str((values.get(key) if key in values else current.get(key)) or "").strip()
            if key == "entidad_sigla":
                if not value or len(value) > 20 or not all(c.isalnum() or c in "-." for c in value):
                    campos[key] = "Escriba la sigla de la entidad: letras y números, hasta 20 caracteres (p. ej. MDX)."
            elif key == "formato_numero_documento":
                problema = error_formato(value)
                if problema:
                    campos[key] = problema
            elif key == "dias_notificacion":
                if not (value.isascii() and value.isdigit() and 1 <= int(value) <= 30):
                    campos[key] = "Escriba un número de días hábiles entre 1 y 30 (5 es lo usual)."
            elif key == "entidad_nombre":
                if not value or len(value) > 200:
                    campos[key] = "Escriba el nombre de la entidad (hasta 200 caracteres)."
            elif value or key != "corte_presentacion":
                try:
                    time.fromisoformat(value)
                except ValueError:
                    campos[key] = "Escriba una hora como 08:00 o 16:30."
            clean[key] = value
        if not campos and clean["horario_inicio"] >= clean["horario_fin"]:
            campos["horario_fin"] = "El fin del horario debe ser posterior al inicio."
        if campos:
            raise InvalidInput("Revise los campos marcados.", campos)
        with self._db.write():
            before = {**DEFAULTS, **dict(self._db.locked(Parametro.select(Parametro.clave, Parametro.valor)).tuples())}
            for key, value in clean.items():
                (Parametro.insert(clave=key, valor=value)
                 .on_conflict(conflict_target=[Parametro.clave], update={Parametro.valor: value}).execute())
        self.refresh()
        return [(key, before.get(key, ""), value) for key, value in clean.items() if before.get(key, "") != value]
