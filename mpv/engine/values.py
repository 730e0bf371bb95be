"""The values the engine takes and gives: who acts, a ready task, a file to attach, a step's result."""
from __future__ import annotations

import dataclasses

from .definitions import UserTaskInfo
from ..firmas import Firma
from ..models import Expediente

CIUDADANO = "ciudadano"  # the pseudo-office of tasks in the Ciudadano lane


@dataclasses.dataclass(frozen=True)
class Actor:
    """Who performs a step: a staff user, the citizen of one expediente, or the system (timers)."""

    rol: str
    nombre: str
    usuario_id: int | None = None
    oficina: str = ""
    ip: str = ""
    expediente_id: int | None = None
    jefe: bool = False  # heads their office (``Usuario.jefe``)

    @classmethod
    def de_usuario(cls, usuario, ip: str = "") -> "Actor":
        return cls(rol=usuario.rol, nombre=usuario.username, usuario_id=usuario.id,
                   oficina=usuario.oficina.codigo if usuario.oficina_id else "", ip=ip, jefe=usuario.jefe)

    @classmethod
    def ciudadano(cls, expediente: Expediente, ip: str = "") -> "Actor":
        return cls(rol=CIUDADANO, nombre=expediente.remitente_nombre, oficina=CIUDADANO, ip=ip,
                   expediente_id=expediente.id)


SISTEMA = Actor(rol="sistema", nombre="sistema")


@dataclasses.dataclass
class TaskView:
    """A ready user task, as the applications show it."""

    id: str
    spec: str
    nombre: str
    rol: str
    oficina: str
    info: UserTaskInfo
    data: dict


@dataclasses.dataclass
class NuevoAdjunto:
    """A file already stored on disk (``mpv.storage``), to be attached in the step's transaction."""

    sha256: str
    nombre: str
    tamano: int
    tipo: str
    firmas: list[Firma] = dataclasses.field(default_factory=list)  # verified before the step (mpv.firmas)

    def para_historial(self) -> dict:
        """The file as the step's Evento payload lists it: with its signatures' summaries when it has any."""
        fila = {"sha256": self.sha256, "nombre": self.nombre, "tamano": self.tamano, "tipo": self.tipo}
        return {**fila, "firmas": [f.para_historial() for f in self.firmas]} if self.firmas else fila



@dataclasses.dataclass
class StepResult:
    """The expediente as the step saved it, and the Evento rows it wrote."""

    expediente: Expediente
    eventos: list
    adjuntos: list[int] = dataclasses.field(default_factory=list)  # the ids of the Adjunto rows it inserted
