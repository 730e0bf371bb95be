"""The staff web app: ``create_app(services)`` builds the Falcon app with its collaborators injected."""
from __future__ import annotations

from pathlib import Path

import falcon

from ..config import PACKAGE_ROOT
from ..models import ROLES
from ..tramites.sessions import Sessions
from .acumulacion import add_acumulacion_routes
from .admin import add_admin_routes
from .analitica import CalentadorAnalitica, add_analitica_routes
from .api import add_api_routes
from .asignacion import add_asignacion_routes
from .api_staff import add_api_staff_routes
from .auditoria import add_auditoria_routes
from .auth import Login, Logout
from .cuenta import add_cuenta_routes
from .documentos import add_documento_routes
from .escritos import add_escrito_routes
from .presencial import add_presencial_routes
from .procesos import add_definiciones_routes
from .errors import ErrorPages
from .expedientes import (AdjuntoArchivo, CargoPdf, ExpedienteDetalle, ExportarTramites, HojaDeRutaPdf, Seguimiento,
                          TramitesRecibidos)
from .inicio import Inicio
from .middleware import CsrfMiddleware, NulGuard, SecurityHeaders, SessionMiddleware
from .pages import Pages
from .public import add_public_routes
from .casilla import add_casilla_routes
from .ratelimit import public_limits
from .render import Renderer
from .tareas import Bandeja, Derivado, Derivar, EventoAccion, TaskPage
from .reportes import ExportarReportes, Reportes
from .verificar import add_verificar_routes

STATIC = Path(__file__).resolve().parent / "static"
NODE_MODULES = PACKAGE_ROOT / "node_modules"
# Browser libraries installed from npm by the Makefile and served by MPV itself (the machine is offline).
VENDOR = {"pdfjs": NODE_MODULES / "pdfjs-dist" / "build", "bpmn-js": NODE_MODULES / "bpmn-js" / "dist",
          "bpmn-js-i18n": NODE_MODULES / "bpmn-js-i18n" / "translations", "chartjs": NODE_MODULES / "chart.js" / "dist"}


def create_app(services, background: list | None = None) -> falcon.App:
    """The WSGI app for ``services`` (see ``mpv.services.Services``). A server passes ``background``: the
    app adds to it the threads it wants running beside it (``mpv.periodic.Periodic``), not started."""
    renderer = Renderer(services.calendario, services.clock, recargar=services.settings.recargar_plantillas)
    renderer.env.globals.update(entidad=lambda: services.parametros.get("entidad_nombre"), roles=ROLES)
    pages = Pages(renderer)
    sessions = Sessions(services.db, services.clock, services.refusals)
    app = falcon.App(middleware=[SessionMiddleware(sessions), NulGuard(), public_limits(services.settings),
                                 CsrfMiddleware(services.settings.base_url), SecurityHeaders()])
    app.req_options.strip_url_path_trailing_slash = True
    ErrorPages(pages, sessions).install(app)
    app.add_static_route("/static", str(STATIC))
    for name, folder in VENDOR.items():  # added after /static: Falcon tries static routes newest first
        if folder.is_dir():
            app.add_static_route(f"/static/vendor/{name}", str(folder))

    app.add_route("/login", Login(pages, sessions))
    app.add_route("/logout", Logout(sessions))
    add_cuenta_routes(app, pages, sessions, services)
    app.add_route("/inicio", Inicio(pages, services))
    app.add_route("/tramites", TramitesRecibidos(pages, services))
    app.add_route("/tramites/exportar", ExportarTramites(services))
    add_presencial_routes(app, pages, services)
    app.add_route("/reportes", Reportes(pages, services))
    app.add_route("/reportes/exportar", ExportarReportes(services))
    app.add_route("/bandeja", Bandeja(pages, services))
    app.add_route("/expedientes/{numero}", ExpedienteDetalle(pages, services))
    app.add_route("/expedientes/{numero}/seguimiento", Seguimiento(pages, services))
    app.add_route("/expedientes/{numero}/hoja-de-ruta", HojaDeRutaPdf(services))
    app.add_route("/expedientes/{numero}/cargos/{evento_id:int}", CargoPdf(services))
    app.add_route("/expedientes/{numero}/derivar", Derivar(pages, services))
    app.add_route("/expedientes/{numero}/derivado", Derivado(pages, services))
    app.add_route("/expedientes/{numero}/tareas/{task_id}", TaskPage(pages, services))
    app.add_route("/expedientes/{numero}/eventos/{nombre}", EventoAccion(pages, services))
    app.add_route("/adjuntos/{adjunto_id:int}", AdjuntoArchivo(services))
    add_asignacion_routes(app, pages, services)
    add_documento_routes(app, pages, services)
    add_escrito_routes(app, pages, services)
    add_acumulacion_routes(app, pages, services)
    add_admin_routes(app, pages, services)
    add_api_routes(app, services)  # JSON API v1 under /api/v1 (mpv/web/api.py)
    add_api_staff_routes(app, services)  # the staff's, with personal tokens, under /api/v1/staff
    add_public_routes(app, pages, services)
    add_casilla_routes(app, pages, services)
    add_verificar_routes(app, pages, services)
    add_auditoria_routes(app, pages, services)
    add_definiciones_routes(app, pages, services)
    memoria = add_analitica_routes(app, pages, services)
    if background is not None:
        background.append(CalentadorAnalitica(services, memoria))
    return app
