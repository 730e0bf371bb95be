"""Administración › Oficinas and Tipos de documento: two catalogues of code + name + active flag, kept by the
actions of :mod:`mpv.tramites.catalogos` (which say what may change and how)."""
from __future__ import annotations

import dataclasses

from ..engine.forms import Field
from ..errors import InvalidInput
from ..tramites import catalogos
from ..tramites.catalogos import Catalogo
from .admin_base import AdminResource, texto
from .requests import read_form


@dataclasses.dataclass(frozen=True)
class Pagina:
    """A catalogue's pages: its route and its forms; the templates read the catalogue's words through it."""

    catalogo: Catalogo
    ruta: str

    titulo = property(lambda self: self.catalogo.titulo)
    singular = property(lambda self: self.catalogo.singular)
    genero = property(lambda self: self.catalogo.genero)

    @property
    def nuevo(self) -> str:
        return f"{'Nueva' if self.genero == 'a' else 'Nuevo'} {self.singular}"

    def fields(self, nuevo: bool) -> list[Field]:
        codigo = Field("codigo", "Código", "text", True, max_length=20,
                       help="Hasta 20 caracteres: letras mayúsculas, números o guion. No se puede cambiar después.")
        return ([codigo] if nuevo else []) + [Field("nombre", "Nombre", "text", True,
                                                    max_length=self.catalogo.nombre_max)]


OFICINAS = Pagina(catalogos.OFICINAS, "/admin/oficinas")
TIPOS_DOCUMENTO = Pagina(catalogos.TIPOS_DOCUMENTO, "/admin/tipos-documento")


def add_catalogo_routes(app, pages, services):
    for pagina in (OFICINAS, TIPOS_DOCUMENTO):
        item = CatalogoItem(pages, services, pagina)
        app.add_route(pagina.ruta, CatalogoLista(pages, services, pagina))
        app.add_route(f"{pagina.ruta}/{{item_id:int}}", item)
        for suffix in ("activar", "desactivar"):
            app.add_route(f"{pagina.ruta}/{{item_id:int}}/{suffix}", item, suffix=suffix)
    app.add_route(f"{OFICINAS.ruta}/{{item_id:int}}/resumen", CatalogoItem(pages, services, OFICINAS), suffix="resumen")


class _CatalogoResource(AdminResource):
    def __init__(self, pages, services, pagina: Pagina):
        super().__init__(pages, services)
        self._p = pagina
        self._c = pagina.catalogo


class CatalogoLista(_CatalogoResource):
    """The catalogue's entries, and the form that adds one."""

    template = "admin/catalogo.html"

    def _lista(self, req, resp, actor, error=None, valores=None):
        self._show(req, resp, error, valores, c=self._p, filas=catalogos.entradas(actor, self._c))

    def on_get(self, req, resp):
        self._lista(req, resp, self._actor(req))

    def on_post(self, req, resp):
        actor = self._actor(req)
        form = read_form(req)
        valores = {"codigo": texto(form, "codigo").upper(), "nombre": texto(form, "nombre")}
        try:
            row = catalogos.crear(self._services, actor, self._c, **valores)
        except InvalidInput as exc:
            self._lista(req, resp, actor, exc, valores)
            return
        self._pages.redirect(req, resp, self._p.ruta,
                             f"{self._c.que(row, inicio=True)} fue cread{self._c.genero}: {row.nombre}.")


class CatalogoItem(_CatalogoResource):
    """Rename an entry; activate or deactivate it (never the mesa de partes office)."""

    template = "admin/catalogo_item.html"

    def _item(self, req, resp, actor, item_id, error=None, valores=None):
        row = catalogos.entrada(actor, self._c, item_id)
        self._show(req, resp, error, valores or {"nombre": row.nombre}, c=self._p, fila=row,
                   activo=self._c.esta_activo(row))

    def on_get(self, req, resp, item_id):
        self._item(req, resp, self._actor(req), item_id)

    def on_post(self, req, resp, item_id):
        actor = self._actor(req)
        nombre = texto(read_form(req), "nombre")
        try:
            row = catalogos.renombrar(self._services, actor, self._c, item_id, nombre)
        except InvalidInput as exc:
            self._item(req, resp, actor, item_id, exc, {"nombre": nombre})
            return
        self._pages.redirect(req, resp, self._p.ruta, f"{self._c.que(row, inicio=True)} ahora se llama «{nombre}».")

    def on_post_activar(self, req, resp, item_id):
        self._set_active(req, resp, item_id, catalogos.activar, "activ")

    def on_post_desactivar(self, req, resp, item_id):
        self._set_active(req, resp, item_id, catalogos.desactivar, "desactiv")

    def on_post_resumen(self, req, resp, item_id):
        """An office's «Enviar resumen diario» checkbox (only the offices' pages have this route)."""
        actor = self._actor(req)
        alertas = texto(read_form(req), "alertas") == "true"
        row = catalogos.cambiar_resumen(self._services, actor, item_id, alertas)
        self._pages.redirect(req, resp, f"{self._p.ruta}/{row.id}",
                             f"La oficina {row.codigo} {'recibirá' if alertas else 'ya no recibirá'} el resumen "
                             "diario por correo.")

    def _set_active(self, req, resp, item_id, action, estado: str):
        actor = self._actor(req)
        read_form(req)
        try:
            row = action(self._services, actor, self._c, item_id)
        except InvalidInput as exc:
            self._item(req, resp, actor, item_id, exc)
            return
        self._pages.redirect(req, resp, self._p.ruta,
                             f"{self._c.que(row, inicio=True)} quedó {estado}ad{self._c.genero}.")
