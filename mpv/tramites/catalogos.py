"""The catalogues staff choose from: offices and document types, each a code + name + active flag, and their
upkeep in Administración (create, rename, activate, deactivate; an office's daily digest on or off).

Codes are never edited: history rows and process data keep them. Deactivating hides an entry from new choices
(derivations, filings) and leaves everything recorded with it as it was; the mesa de partes office, which
receives every filing, cannot be deactivated. Each change writes its ``tipo=admin`` audit row in the same
transaction, and only an administrator (or the system) may make it.
"""
from __future__ import annotations

import dataclasses
import re
from typing import NamedTuple

from ..engine import Actor
from ..errors import InvalidInput, NotFound
from ..models import Oficina, TipoDocumento
from .administracion import REVISE, auditar, solo_administrador, unique_write

CODIGO = re.compile(r"[A-Z0-9-]{1,20}")


@dataclasses.dataclass(frozen=True)
class Catalogo:
    """One catalogue, and the words its messages name an entry with."""

    model: type
    activo: str  # the name of the model's active flag
    titulo: str  # «Oficinas»
    singular: str  # «oficina», «tipo de documento»
    genero: str  # "a" | "o": «la oficina creada», «el tipo de documento creado»
    nombre_max: int
    clave: str  # in the audit rows' accion: «oficina_creado», «tipo_documento_desactivado»

    @property
    def articulo(self) -> str:
        """«la oficina», «el tipo de documento»."""
        return f"{'la' if self.genero == 'a' else 'el'} {self.singular}"

    def que(self, row, inicio: bool = False) -> str:
        """«la oficina GDUR» («La oficina GDUR» at the start of a sentence)."""
        articulo = self.articulo.capitalize() if inicio else self.articulo
        return f"{articulo} {row.codigo}"

    def esta_activo(self, row) -> bool:
        """Whether ``row`` is offered in new choices."""
        return getattr(row, self.activo)


OFICINAS = Catalogo(Oficina, "activa", "Oficinas", "oficina", "a", 200, "oficina")
TIPOS_DOCUMENTO = Catalogo(TipoDocumento, "activo", "Tipos de documento", "tipo de documento", "o", 120,
                           "tipo_documento")


class Entrada(NamedTuple):
    """An entry of a catalogue and whether it is active."""

    fila: object
    activo: bool


def oficinas() -> list[Oficina]:
    """Every office, by code, active or not."""
    return list(Oficina.select().order_by(Oficina.codigo))


def entradas(actor: Actor, catalogo: Catalogo) -> list[Entrada]:
    """Every entry of ``catalogo``, the active ones first, by code. :raise NotAllowed: for a non-administrator."""
    _puede(actor)
    c = catalogo
    rows = c.model.select().order_by(getattr(c.model, c.activo).desc(), c.model.codigo)
    return [Entrada(row, c.esta_activo(row)) for row in rows]


def entrada(actor: Actor, catalogo: Catalogo, item_id: int):
    """The entry ``item_id`` of ``catalogo``. :raise NotFound: / :raise NotAllowed:"""
    _puede(actor)
    return _entrada(catalogo, catalogo.model.select(), item_id)


def crear(services, actor: Actor, catalogo: Catalogo, codigo: str, nombre: str):
    """Add an entry; ``codigo`` is kept in capitals. Returns the new row.

    :raise InvalidInput: naming each bad field (``codigo``, ``nombre``), or the code already taken, even by a
        request that took it a moment before this one; nothing is written. :raise NotAllowed:
    """
    _puede(actor)
    c = catalogo
    codigo, nombre = codigo.strip().upper(), nombre.strip()
    campos = _nombre(c, nombre)
    if not CODIGO.fullmatch(codigo):
        campos["codigo"] = "Use de 1 a 20 caracteres: letras mayúsculas sin tilde, números o guion."
    if campos:
        raise InvalidInput(REVISE, campos)
    duplicate = InvalidInput(f"Ya existe {c.articulo} {codigo}.",
                             {"codigo": f"Ya existe {c.articulo} {codigo}; use otro código."})

    def create():
        taken = c.model.get_or_none(c.model.codigo == codigo)
        if taken is not None:
            raise InvalidInput(f"Ya existe {c.que(taken)}: {taken.nombre}.", duplicate.campos)
        row = c.model.create(codigo=codigo, nombre=nombre)
        auditar(services, actor, f"{c.clave}_creado", f"{c.que(row, inicio=True)} fue cread{c.genero}.",
                f"nombre: {row.nombre}")
        return row

    return unique_write(services.db, create, duplicate)


def renombrar(services, actor: Actor, catalogo: Catalogo, item_id: int, nombre: str):
    """Give an entry a new name; returns it renamed. :raise InvalidInput: on ``nombre``. :raise NotFound:"""
    _puede(actor)
    c = catalogo
    nombre = nombre.strip()
    with services.db.write():
        row = _bloqueada(services, c, item_id)
        campos = _nombre(c, nombre)
        if campos:
            raise InvalidInput(REVISE, campos)
        c.model.update(nombre=nombre).where(c.model.id == row.id).execute()
        auditar(services, actor, f"{c.clave}_renombrado", f"{c.que(row, inicio=True)} cambió de nombre.",
                f"antes: {row.nombre}; después: {nombre}")
    return c.model.get_by_id(row.id)


def activar(services, actor: Actor, catalogo: Catalogo, item_id: int):
    """Offer an entry again in new choices; returns it. :raise NotFound: / :raise NotAllowed:"""
    return _cambiar_estado(services, actor, catalogo, item_id, True)


def desactivar(services, actor: Actor, catalogo: Catalogo, item_id: int):
    """Stop offering an entry in new choices; returns it.

    :raise InvalidInput: for the mesa de partes office, which receives every filing. :raise NotFound:
    """
    return _cambiar_estado(services, actor, catalogo, item_id, False)


def cambiar_resumen(services, actor: Actor, oficina_id: int, alertas: bool) -> Oficina:
    """Whether the office gets the daily digest of its expedientes vencidos and por vencer
    (:mod:`mpv.tramites.resumen`); returns it. :raise NotFound: / :raise NotAllowed:"""
    _puede(actor)
    with services.db.write():
        row = _bloqueada(services, OFICINAS, oficina_id)
        Oficina.update(alertas=alertas).where(Oficina.id == row.id).execute()
        auditar(services, actor, "oficina_resumen_" + ("activado" if alertas else "desactivado"),
                f"La oficina {row.codigo} {'recibirá' if alertas else 'ya no recibirá'} el resumen diario "
                "de sus expedientes vencidos y por vencer.")
    return Oficina.get_by_id(row.id)


def _cambiar_estado(services, actor: Actor, c: Catalogo, item_id: int, activo: bool):
    _puede(actor)
    with services.db.write():
        row = _bloqueada(services, c, item_id)
        if not activo and getattr(row, "es_mesa_partes", False):
            raise InvalidInput(f"La oficina {row.codigo} es la mesa de partes: recibe todos los trámites presentados "
                               "y no se puede desactivar.")
        c.model.update({getattr(c.model, c.activo): activo}).where(c.model.id == row.id).execute()
        estado = "activ" if activo else "desactiv"
        auditar(services, actor, f"{c.clave}_{estado}ado", f"{c.que(row, inicio=True)} quedó {estado}ad{c.genero}.")
    return c.model.get_by_id(row.id)


def _puede(actor: Actor):
    solo_administrador(actor, "cambiar las oficinas y los tipos de documento")


def _bloqueada(services, c: Catalogo, item_id: int):
    """The entry, locked until the transaction ends. :raise NotFound:"""
    return _entrada(c, services.db.locked(c.model.select()), item_id)


def _entrada(c: Catalogo, query, item_id: int):
    row = query.where(c.model.id == item_id).first()
    if row is None:
        raise NotFound(f"No existe {c.articulo} N° {item_id}; vuelva a la lista y elíjalo de nuevo.")
    return row


def _nombre(c: Catalogo, nombre: str) -> dict:
    if not nombre or len(nombre) > c.nombre_max:
        return {"nombre": f"Escriba el nombre (hasta {c.nombre_max} caracteres)."}
    return {}
