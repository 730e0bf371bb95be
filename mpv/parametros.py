"""Entity-wide settings the administrator edits: the entity's name, office hours, the filing cutoff, the hour of
the offices' daily digest."""
from __future__ import annotations

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
}

LABELS = {
    "entidad_nombre": "Nombre de la entidad",
    "horario_inicio": "Horario de atención: inicio",
    "horario_fin": "Horario de atención: fin",
    "corte_presentacion": "Hora de corte de la presentación virtual (vacío: sin corte)",
    "resumen_hora": "Hora del resumen diario a las oficinas",
}


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

    def refresh(self):
        """Forget the cached values (after a change this process made, once it is committed)."""
        with self._lock:
            self._loaded = float("-inf")

    def update(self, values: dict[str, str]) -> list[tuple[str, str, str]]:
        """Validate and save; return (key, before, after) of each setting that changed. Inside a caller's write
        transaction, call :meth:`refresh` once it is committed. :raise InvalidInput: naming each bad field."""
        campos = {}
        clean = {}
        for key in DEFAULTS:
            value = (values.get(key) or "").strip()
            if key == "entidad_nombre":
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
