"""Administración › TUPA: the procedures a citizen can file — list, create, edit, activate and deactivate — and
the TUPA as a CSV file, downloaded or uploaded (the actions are :mod:`mpv.tramites.tupa` and
:mod:`mpv.tramites.tupa_csv`'s)."""
from __future__ import annotations

from ..engine.forms import Field
from ..errors import InvalidInput
from ..tramites import tupa, tupa_csv, tupa_ficha
from .admin_base import AdminResource, texto
from .requests import Archivo, Partes, read_form

RUTA = "/admin/tupa"
CSV_BYTES = 1024 * 1024
SUBIDA = Partes(campos=frozenset(), archivos={"archivo": Archivo(CSV_BYTES, 1, sin_nombre="tupa.csv")})
CAMPOS = ("nombre", "requisitos", "derecho_tramite", "calificacion", "plazo_dias", "oficina", "base_legal")


def add_tupa_routes(app, pages, services):
    lista = Tupa(pages, services)
    app.add_route(RUTA, lista)
    for suffix in ("exportar", "importar"):
        app.add_route(f"{RUTA}/{suffix}", lista, suffix=suffix)
    app.add_route(f"{RUTA}/nuevo", ProcedimientoNuevo(pages, services))
    detalle = ProcedimientoDetalle(pages, services)
    app.add_route(f"{RUTA}/{{procedimiento_id:int}}", detalle)
    for suffix in ("activar", "desactivar"):
        app.add_route(f"{RUTA}/{{procedimiento_id:int}}/{suffix}", detalle, suffix=suffix)


def _fields(nuevo: bool, oficinas: list) -> list[Field]:
    """The procedure form's fields; ``oficinas`` are the offices it offers as competent."""
    codigo = Field("codigo", "Código", "text", True, max_length=20, placeholder="LF-01",
                   help="Hasta 20 caracteres: letras mayúsculas, números o guion. No se puede cambiar después.")
    return ([codigo] if nuevo else []) + [
        Field("nombre", "Nombre del procedimiento", "text", True, max_length=tupa_ficha.NOMBRE_MAX),
        Field("requisitos", "Requisitos", "textarea", True,
              help="Un requisito por línea, en el orden en que el ciudadano los presenta."),
        Field("derecho_tramite", "Derecho de trámite (S/)", "text", False, max_length=12, placeholder="45.50",
              help="En soles, con punto y hasta dos decimales. Déjelo vacío si el procedimiento es gratuito."),
        Field("calificacion", "Calificación", "select", True, choices=list(tupa.CALIFICACIONES.items())),
        Field("plazo_dias", "Plazo máximo (días hábiles)", "integer", False, minimum=1, maximum=tupa_ficha.PLAZO_MAX,
              help="De 1 a 365 días hábiles. Déjelo vacío para la aprobación automática, que no tiene plazo."),
        Field("oficina", "Oficina competente", "select", True,
              choices=[(o.codigo, f"{o.codigo} — {o.nombre}{'' if o.activa else ' (inactiva)'}") for o in oficinas]),
        Field("base_legal", "Base legal", "textarea", True, max_length=tupa_ficha.BASE_LEGAL_MAX,
              help="La norma que crea el procedimiento y fija su plazo, por ejemplo «Ley 28976, art. 8»."),
    ]


def _ficha(valores: dict) -> tupa_ficha.Ficha:
    return tupa_ficha.Ficha(**{**valores, "requisitos": tupa_ficha.lineas(valores.get("requisitos", ""))})


def _valores(form, nombres) -> dict:
    return {name: texto(form, name) for name in nombres}


class Tupa(AdminResource):
    """GET: every procedure. GET …/exportar: the CSV file. POST …/importar: a CSV file, all or nothing."""

    template = "admin/tupa.html"

    def _lista(self, req, resp, actor, error=None):
        self._show(req, resp, error, filas=tupa.lista(actor), tupa=tupa, limite_mb=CSV_BYTES // (1024 * 1024))

    def on_get(self, req, resp):
        self._lista(req, resp, self._actor(req))

    def on_get_exportar(self, req, resp):
        texto_csv = tupa_csv.exportar(self._actor(req))
        resp.content_type = "text/csv; charset=utf-8"
        resp.set_header("Content-Disposition", 'attachment; filename="tupa.csv"')
        resp.text = texto_csv

    def on_post_importar(self, req, resp):
        actor = self._actor(req)
        storage = self._services.storage
        try:
            form = read_form(req, storage, partes=SUBIDA)
            archivos = form.files.get("archivo", [])
            try:
                if not archivos:
                    raise InvalidInput("Elija el archivo CSV del TUPA para importar.",
                                       {"archivo": "Elija el archivo CSV."})
                # Uploads are named as PDFs (mpv.web.requests.file_name): the audit row names the CSV file sent.
                resumen = tupa_csv.importar(self._services, actor, archivos[0].path.read_bytes(),
                                            archivos[0].nombre.removesuffix(".pdf"))
            finally:
                storage.discard(archivos)
        except InvalidInput as exc:
            self._lista(req, resp, actor, exc)
            return
        self._pages.redirect(req, resp, RUTA, str(resumen))


class ProcedimientoNuevo(AdminResource):
    """Add a procedure to the TUPA."""

    template = "admin/tupa_item.html"

    def _form(self, req, resp, actor, error=None, valores=None):
        self._show(req, resp, error, valores, fields=_fields(True, tupa.oficinas(actor)), p=None)

    def on_get(self, req, resp):
        self._form(req, resp, self._actor(req))

    def on_post(self, req, resp):
        actor = self._actor(req)
        valores = _valores(read_form(req), ("codigo", *CAMPOS))
        valores["codigo"] = valores["codigo"].upper()
        try:
            p = tupa.crear(self._services, actor, _ficha(valores))
        except InvalidInput as exc:
            self._form(req, resp, actor, exc, valores)
            return
        self._pages.redirect(req, resp, RUTA, f"El procedimiento {p.codigo} fue creado: {p.nombre}.")


class ProcedimientoDetalle(AdminResource):
    """Edit a procedure (not its code); activate or deactivate it."""

    template = "admin/tupa_item.html"

    def _form(self, req, resp, actor, procedimiento_id, error=None, valores=None):
        p = tupa.procedimiento(actor, procedimiento_id)
        oficinas = tupa.oficinas(actor)
        if p.oficina not in oficinas:  # a deactivated office stays shown as the one the procedure names
            oficinas = [p.oficina, *oficinas]
        if valores is None:
            valores = {**tupa.en_texto(p), "requisitos": "\n".join(tupa.requisitos(p))}
        self._show(req, resp, error, valores, fields=_fields(False, oficinas), p=p)

    def on_get(self, req, resp, procedimiento_id):
        self._form(req, resp, self._actor(req), procedimiento_id)

    def on_post(self, req, resp, procedimiento_id):
        actor = self._actor(req)
        valores = _valores(read_form(req), CAMPOS)
        try:
            p = tupa.modificar(self._services, actor, procedimiento_id, _ficha(valores))
        except InvalidInput as exc:
            self._form(req, resp, actor, procedimiento_id, exc, valores)
            return
        self._pages.redirect(req, resp, RUTA, f"Se guardaron los cambios del procedimiento {p.codigo}.")

    def on_post_activar(self, req, resp, procedimiento_id):
        self._set_active(req, resp, procedimiento_id, tupa.activar)

    def on_post_desactivar(self, req, resp, procedimiento_id):
        self._set_active(req, resp, procedimiento_id, tupa.desactivar)

    def _set_active(self, req, resp, procedimiento_id, action):
        actor = self._actor(req)
        read_form(req)
        try:
            p = action(self._services, actor, procedimiento_id)
        except InvalidInput as exc:
            self._form(req, resp, actor, procedimiento_id, exc)
            return
        estado = "activado: se ofrece" if p.activo else "desactivado: ya no se ofrece"
        self._pages.redirect(req, resp, RUTA, f"El procedimiento {p.codigo} quedó {estado} en los trámites nuevos.")
