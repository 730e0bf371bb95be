"""Administración › Oficinas and Tipos de documento: two catalogs of code + name + active flag.

Codes are never edited: history rows and process data keep them. Deactivating hides an entry from new
choices (derivations, filings) and leaves everything recorded with it as it was.
"""
from __future__ import annotations

import dataclasses
import re

from ..errors import InvalidInput
from ..engine.forms import Field
from ..models import Oficina, TipoDocumento
from .admin_base import AdminResource, get_or_404, texto, unique_write
from .requests import read_form

CODIGO = re.compile(r"[A-Z0-9-]{1,20}")


@dataclasses.dataclass(frozen=True)
class Catalogo:
    model: type
    activo: str  # the name of the model's active flag
    ruta: str
    titulo: str
    singular: str  # «oficina», «tipo de documento»
    genero: str  # "a" | "o": «la oficina creada», «el tipo de documento creado»
    nombre_max: int
    clave: str  # in the audit rows' accion: «oficina_creado», «tipo_documento_desactivado»

    @property
    def articulo(self) -> str:
        return f"{'la' if self.genero == 'a' else 'el'} {self.singular}"

    @property
    def nuevo(self) -> str:
        return f"{'Nueva' if self.genero == 'a' else 'Nuevo'} {self.singular}"

    def field(self):
        return getattr(self.model, self.activo)

    def que(self, row, inicio: bool = False) -> str:
        """«la oficina GDUR» («La oficina GDUR» at the start of a sentence)."""
        articulo = self.articulo.capitalize() if inicio else self.articulo
        return f"{articulo} {row.codigo}"

    def fields(self, nuevo: bool) -> list[Field]:
        codigo = Field("codigo", "Código", "text", True, max_length=20,
                       help="Hasta 20 caracteres: letras mayúsculas, números o guion. No se puede cambiar después.")
        return ([codigo] if nuevo else []) + [Field("nombre", "Nombre", "text", True, max_length=self.nombre_max)]


OFICINAS = Catalogo(Oficina, "activa", "/admin/oficinas", "Oficinas", "oficina", "a", 200, "oficina")
TIPOS_DOCUMENTO = Catalogo(TipoDocumento, "activo", "/admin/tipos-documento", "Tipos de documento",
                           "tipo de documento", "o", 120, "tipo_documento")


def add_catalogo_routes(app, pages, services):
    for catalogo in (OFICINAS, TIPOS_DOCUMENTO):
        item = CatalogoItem(pages, services, catalogo)
        app.add_route(catalogo.ruta, CatalogoLista(pages, services, catalogo))
        app.add_route(f"{catalogo.ruta}/{{item_id:int}}", item)
        for suffix in ("activar", "desactivar"):
            app.add_route(f"{catalogo.ruta}/{{item_id:int}}/{suffix}", item, suffix=suffix)


def _nombre(catalogo: Catalogo, nombre: str) -> dict:
    if not nombre or len(nombre) > catalogo.nombre_max:
        return {"nombre": f"Escriba el nombre (hasta {catalogo.nombre_max} caracteres)."}
    return {}


class _CatalogoResource(AdminResource):
    def __init__(self, pages, services, catalogo: Catalogo):
        super().__init__(pages, services)
        self._c = catalogo


class CatalogoLista(_CatalogoResource):
    """The catalog's entries, and the form that adds one."""

    template = "admin/catalogo.html"

    def _lista(self, req, resp, error=None, valores=None):
        c = self._c
        rows = c.model.select().order_by(c.field().desc(), c.model.codigo)
        self._show(req, resp, error, valores, c=c,
                   filas=[(row, getattr(row, c.activo)) for row in rows])

    def on_get(self, req, resp):
        self._admin(req)
        self._lista(req, resp)

    def on_post(self, req, resp):
        self._admin(req)
        c = self._c
        form = read_form(req)
        valores = {"codigo": texto(form, "codigo").upper(), "nombre": texto(form, "nombre")}
        duplicate = InvalidInput(f"Ya existe {c.articulo} {valores['codigo']}.",
                                 {"codigo": f"Ya existe {c.articulo} {valores['codigo']}; use otro código."})

        def create():
            taken = c.model.get_or_none(c.model.codigo == valores["codigo"])
            if taken is not None:
                raise InvalidInput(f"Ya existe {c.que(taken)}: {taken.nombre}.", duplicate.campos)
            row = c.model.create(**valores)
            self._audit(req, f"{c.clave}_creado", f"{c.que(row, inicio=True)} fue cread{c.genero}.",
                        f"nombre: {row.nombre}")
            return row

        try:
            campos = _nombre(c, valores["nombre"])
            if not CODIGO.fullmatch(valores["codigo"]):
                campos["codigo"] = "Use de 1 a 20 caracteres: letras mayúsculas sin tilde, números o guion."
            if campos:
                raise InvalidInput("Revise los campos marcados.", campos)
            row = unique_write(self._services.db, create, duplicate)
        except InvalidInput as exc:
            self._lista(req, resp, exc, valores)
            return
        self._pages.redirect(req, resp, c.ruta, f"{c.que(row, inicio=True)} fue cread{c.genero}: {row.nombre}.")


class CatalogoItem(_CatalogoResource):
    """Rename an entry; activate or deactivate it (never the mesa de partes office)."""

    template = "admin/catalogo_item.html"

    def _row(self, item_id):
        return get_or_404(self._c.model, item_id, self._c.articulo)

    def _item(self, req, resp, row, error=None, valores=None):
        self._show(req, resp, error, valores or {"nombre": row.nombre}, c=self._c, fila=row,
                   activo=getattr(row, self._c.activo))

    def on_get(self, req, resp, item_id):
        self._admin(req)
        self._item(req, resp, self._row(item_id))

    def on_post(self, req, resp, item_id):
        self._admin(req)
        row = self._row(item_id)
        nombre = texto(read_form(req), "nombre")
        campos = _nombre(self._c, nombre)
        if campos:
            self._item(req, resp, row, InvalidInput("Revise los campos marcados.", campos), {"nombre": nombre})
            return
        with self._services.db.write():
            self._c.model.update(nombre=nombre).where(self._c.model.id == row.id).execute()
            self._audit(req, f"{self._c.clave}_renombrado", f"{self._c.que(row, inicio=True)} cambió de nombre.",
                        f"antes: {row.nombre}; después: {nombre}")
        self._pages.redirect(req, resp, self._c.ruta, f"{self._c.que(row, inicio=True)} ahora se llama «{nombre}».")

    def on_post_activar(self, req, resp, item_id):
        self._set_active(req, resp, item_id, True)

    def on_post_desactivar(self, req, resp, item_id):
        self._set_active(req, resp, item_id, False)

    def _set_active(self, req, resp, item_id, active: bool):
        self._admin(req)
        c = self._c
        row = self._row(item_id)
        read_form(req)
        if not active and getattr(row, "es_mesa_partes", False):
            self._item(req, resp, row, InvalidInput(
                f"La oficina {row.codigo} es la mesa de partes: recibe todos los trámites presentados y no se "
                "puede desactivar."))
            return
        with self._services.db.write():
            c.model.update({c.field(): active}).where(c.model.id == row.id).execute()
            estado = "activ" if active else "desactiv"
            self._audit(req, f"{c.clave}_{estado}ado", f"{c.que(row, inicio=True)} quedó {estado}ad{c.genero}.")
        self._pages.redirect(req, resp, c.ruta, f"{c.que(row, inicio=True)} quedó {estado}ad{c.genero}.")
