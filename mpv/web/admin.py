"""Administración (admin role): users, offices, document types, the TUPA, local holidays, office hours.

Each family of pages lives in its own ``admin_*`` module; this one wires them and holds the two small
pages left: the index and Horario y corte (:mod:`mpv.tramites.parametros`).
"""
from __future__ import annotations

from ..errors import InvalidInput
from ..engine.forms import Field
from ..parametros import DEFAULTS, LABELS
from ..tramites import parametros
from .admin_base import AdminResource, texto
from .admin_catalogos import add_catalogo_routes
from .admin_correos import add_correo_routes
from .admin_feriados import add_feriado_routes
from .admin_plantillas import add_plantilla_routes
from .admin_tupa import add_tupa_routes
from .admin_usuarios import add_usuario_routes
from .requests import read_form

SECCIONES = [
    ("/admin/usuarios", "Usuarios", "Crear cuentas, asignar rol y oficina, desactivar y restablecer contraseñas."),
    ("/admin/oficinas", "Oficinas", "Las unidades orgánicas a las que se derivan los trámites."),
    ("/admin/tipos-documento", "Tipos de documento", "Los tipos que el ciudadano elige al presentar un escrito."),
    ("/admin/tupa", "TUPA",
     "Los procedimientos del TUPA: requisitos, derecho de trámite, calificación, plazo y oficina competente; "
     "descargar e importar el archivo CSV."),
    ("/admin/feriados", "Feriados locales",
     "Feriados locales y regionales y días no laborables, que no cuentan en los plazos."),
    ("/admin/parametros", "Horario y corte",
     "Nombre de la entidad, horario de atención, hora de corte opcional y hora del resumen diario."),
    ("/admin/plantillas", "Plantillas de documentos",
     "El texto con el que empieza cada informe, oficio, carta, memorándum y resolución, con los datos del expediente."),
    ("/admin/correos", "Correos a ciudadanos",
     "Los avisos por correo a los ciudadanos: pendientes, enviados y fallidos; reintentar los que fallaron."),
]

PARAMETRO_HELP = {
    "horario_inicio": "Formato de 24 horas, por ejemplo 08:00.",
    "horario_fin": "Formato de 24 horas, por ejemplo 16:30; posterior al inicio.",
    "corte_presentacion": "Lo enviado en un día hábil a partir de esta hora se considera presentado el día hábil "
                          "siguiente. Déjelo vacío para no aplicar corte.",
    "resumen_hora": "Desde esta hora de cada día hábil, cada oficina con el resumen activado recibe por correo sus "
                    "expedientes vencidos y por vencer (si tiene alguno). Por ejemplo 07:00.",
    "entidad_sigla": "Va al final del número de cada documento oficial, p. ej. MDX en «INFORME N° 012-2026-GDUR/MDX».",
    "formato_numero_documento": "Partes: {TIPO} (o {tipo}), {correlativo} (p. ej. {correlativo:03d} para 012), {anio}, "
                                "{oficina} (su código) y {sigla}; las cuatro primeras son obligatorias.",
    "dias_notificacion": "Un acto depositado en la casilla electrónica surte efecto el día del acuse de recibo o, sin "
                         "acuse, al cumplirse estos días hábiles desde el depósito (Ley 31736). De 1 a 30; usual: 5.",
}
MAX_LENGTH = {"entidad_nombre": 200, "entidad_sigla": 20, "formato_numero_documento": 200}


def add_admin_routes(app, pages, services):
    """Register the /admin pages (see the module docstring)."""
    app.add_route("/admin", AdminIndex(pages, services))
    app.add_route("/admin/parametros", Parametros(pages, services))
    add_usuario_routes(app, pages, services)
    add_catalogo_routes(app, pages, services)
    add_tupa_routes(app, pages, services)
    add_feriado_routes(app, pages, services)
    add_correo_routes(app, pages, services)
    add_plantilla_routes(app, pages, services)


class AdminIndex(AdminResource):
    template = "admin/index.html"

    def on_get(self, req, resp):
        self._admin(req)
        self._show(req, resp, secciones=SECCIONES)


class Parametros(AdminResource):
    """Horario y corte: the entity-wide settings (:mod:`mpv.tramites.parametros`)."""

    template = "admin/parametros.html"
    fields = [Field(key, LABELS[key], "text", key != "corte_presentacion", help=PARAMETRO_HELP.get(key, ""),
                    max_length=MAX_LENGTH.get(key, 5)) for key in DEFAULTS]

    def on_get(self, req, resp):
        self._show(req, resp, valores=parametros.actuales(self._services, self._actor(req)), fields=self.fields)

    def on_post(self, req, resp):
        actor = self._actor(req)
        form = read_form(req)
        valores = {key: texto(form, key) for key in DEFAULTS if key in form.fields}
        try:
            parametros.guardar(self._services, actor, valores)
        except InvalidInput as exc:
            self._show(req, resp, exc, valores, fields=self.fields)
            return
        self._pages.redirect(req, resp, "/admin/parametros", "Se guardaron el horario de atención y la hora de corte.")
