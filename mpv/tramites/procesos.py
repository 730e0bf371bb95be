"""The process versions (Procesos): read them, upload or edit a new one, migrate running expedientes to it.

Analysts change the process (and the system: the ``mpv`` command); administrators and auditors may read it.
Every new version goes through :func:`mpv.engine.definitions.compile_bundle` before it is stored; an invalid
one raises :class:`DefinitionError` listing each problem by its BPMN element id, and changes nothing.
"""
from __future__ import annotations

import dataclasses

import orjson
from peewee import fn

from ..engine import SISTEMA, Actor, migration
from ..engine.definitions import Problem
from ..errors import DefinitionError, NotFound
from ..models import Expediente, ProcessDefinition
from .roles import exigir_rol

LECTORES = ("analista", "admin", "auditor")
CAMBIAN = ("analista", SISTEMA.rol)


@dataclasses.dataclass
class Versiones:
    """Every version of every process, newest first within each, and how many expedientes run on each."""

    filas: list[ProcessDefinition]
    en_curso: dict[int, int]
    puede_cambiar: bool


@dataclasses.dataclass
class Diagrama:
    """One version and the text of its diagram (.bpmn)."""

    fila: ProcessDefinition
    bpmn: str


@dataclasses.dataclass
class Version(Diagrama):
    """One version as its page shows it: its files, the expedientes on it and those that could move to it."""

    archivos: list[str]
    en_curso: int
    migrables: int  # running expedientes on older versions of the same process
    puede_cambiar: bool


@dataclasses.dataclass
class Nueva:
    """A version just stored and made active, with the warnings its check found (messages)."""

    fila: ProcessDefinition
    avisos: list[str]


@dataclasses.dataclass
class Migracion:
    """What a migration to ``fila`` did to each running expediente of older versions."""

    fila: ProcessDefinition
    resultados: list[migration.Resultado]

    @property
    def migrados(self) -> int:
        return sum(r.migrado for r in self.resultados)

    @property
    def rechazados(self) -> int:
        return sum(not r.migrado for r in self.resultados)


def puede_cambiar(actor: Actor) -> bool:
    """Whether ``actor`` may upload, edit and migrate versions."""
    return actor.rol in CAMBIAN


def analista(actor: Actor) -> Actor:
    """``actor``, when they may change the process (a page asks before it reads what was sent).

    :raise NotAllowed: any other role."""
    return exigir_rol(actor, CAMBIAN)


def en_curso() -> dict[int, int]:
    """Running expedientes (not finished) per version id."""
    return dict(Expediente.select(Expediente.definicion, fn.COUNT(Expediente.id))
                .where(Expediente.terminado == False)  # noqa: E712
                .group_by(Expediente.definicion).tuples())


def versiones(actor: Actor) -> Versiones:
    """Every version of every process. :raise NotAllowed: a role that does not read the process."""
    exigir_rol(actor, LECTORES)
    filas = list(ProcessDefinition.select(ProcessDefinition.id, ProcessDefinition.process_id,
                                          ProcessDefinition.nombre, ProcessDefinition.sha256,
                                          ProcessDefinition.autor, ProcessDefinition.creado_en,
                                          ProcessDefinition.activa)
                 .order_by(ProcessDefinition.process_id, ProcessDefinition.id.desc()))
    return Versiones(filas, en_curso(), puede_cambiar(actor))


def version(actor: Actor, definicion_id: int) -> Version:
    """One version with its diagram, files and the expedientes on it or that could migrate to it.

    :raise NotFound: / :raise NotAllowed:"""
    exigir_rol(actor, LECTORES)
    fila = _fila(definicion_id)
    archivos = orjson.loads(fila.archivos)
    counts = en_curso()
    anteriores = (ProcessDefinition.select(ProcessDefinition.id)
                  .where((ProcessDefinition.process_id == fila.process_id) & (ProcessDefinition.id < fila.id)))
    migrables = sum(counts.get(row_id, 0) for (row_id,) in anteriores.tuples())
    return Version(fila, archivos[_bpmn_name(archivos)], sorted(archivos), counts.get(fila.id, 0), migrables,
                   puede_cambiar(actor))


def diagrama(actor: Actor, definicion_id: int) -> Diagrama:
    """A version's diagram, to edit it in the modeler. :raise NotFound: / :raise NotAllowed: not an analyst."""
    analista(actor)
    fila = _fila(definicion_id)
    archivos = orjson.loads(fila.archivos)
    return Diagrama(fila, archivos[_bpmn_name(archivos)])


def subir(services, actor: Actor, archivos: dict[str, str]) -> Nueva:
    """Store an uploaded version and make it active: exactly one .bpmn and the forms it names ({name: text});
    the forms it names but were not sent are taken from the active version of its process.

    :raise DefinitionError: each problem by element (nothing is stored). :raise NotAllowed: not an analyst.
    """
    analista(actor)
    if any("\x00" in text for text in archivos.values()):
        raise DefinitionError("Archivo no válido", [Problem("archivos", "un archivo contiene caracteres NUL")])
    bpmn = [name for name in archivos if name.endswith(".bpmn")]
    if len(bpmn) != 1:
        raise DefinitionError("Envíe exactamente un archivo .bpmn", [
            Problem("archivos", f"se recibieron {len(bpmn)} archivos .bpmn; envíe uno, con sus formularios .json")])
    files = services.definitions.bundle_for(bpmn[0], archivos[bpmn[0]], archivos)
    return _agregar(services, actor, files)


def guardar_diagrama(services, actor: Actor, definicion_id: int, xml) -> Nueva:
    """Store the diagram edited from version ``definicion_id`` as a new active version, with that version's
    forms. :raise DefinitionError: no diagram, or each problem by element. :raise NotFound: / :raise NotAllowed:"""
    analista(actor)
    fila = _fila(definicion_id)
    if not isinstance(xml, str) or not xml.strip() or "\x00" in xml:
        raise DefinitionError("No se recibió el diagrama", [Problem("diagrama", "el envío no trae el XML del diagrama")])
    files = services.definitions.bundle_for(_bpmn_name(orjson.loads(fila.archivos)), xml, base_id=fila.id)
    return _agregar(services, actor, files)


def migrar(services, actor: Actor, definicion_id: int) -> Migracion:
    """Move every running expediente of older versions of the process to version ``definicion_id`` where it is
    safe, one transaction each; a refusal is reported with its reason. :raise NotFound: / :raise NotAllowed:"""
    analista(actor)
    fila = _fila(definicion_id)
    return Migracion(fila, migration.migrar_todos(services.engine, fila.id, actor))


def _agregar(services, actor: Actor, files: dict[str, str]) -> Nueva:
    fila = services.definitions.add_version(services.db, files, actor.nombre, actor)
    return Nueva(fila, [aviso.message for aviso in services.definitions.get(fila.id).avisos])


def _fila(definicion_id: int) -> ProcessDefinition:
    fila = ProcessDefinition.get_or_none(ProcessDefinition.id == definicion_id)
    if fila is None:
        raise NotFound(f"No existe la versión N° {definicion_id} del proceso; vuelva a la lista de procesos.")
    return fila


def _bpmn_name(archivos: dict[str, str]) -> str:
    return next(name for name in archivos if name.endswith(".bpmn"))
