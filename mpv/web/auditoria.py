"""The auditor's pages (read-only): the register with filters, an expediente's complete history, the
global log, each as CSV streamed in batches; the chain's verification at the top of each page.

Each page parses its filters from the query string and renders what one action of
:mod:`mpv.auditoria.auditor` returns; that module says who reads (the auditor and the administrator).
"""
from __future__ import annotations

from urllib.parse import urlencode

import falcon

from ..auditoria import auditor
from ..auditoria.export import Exportacion
from ..auditoria.queries import TIPOS_EVENTO, FiltroEventos, VerificacionCadena
from ..tramites import listados
from .expedientes import content_disposition, date_param, staff_actor


def _int_param(req, name: str) -> int | None:
    value = req.get_param(name) or ""
    return int(value) if value.isdigit() and len(value) < 12 else None


def _send_csv(resp, exportacion: Exportacion):
    resp.content_type = "text/csv; charset=utf-8"
    resp.set_header("Content-Disposition", content_disposition("attachment", exportacion.nombre))
    resp.stream = exportacion.contenido


class _Base:
    def __init__(self, pages, services, cadena: VerificacionCadena):
        self._pages = pages
        self._services = services
        self._cadena = cadena

    def _render(self, req, resp, actor, template: str, **context):
        resultado = auditor.verificar_cadena(actor, self._cadena, completa=req.get_param("verificar") == "completa")
        self._pages.render(req, resp, template, cadena=resultado, tipos_evento=TIPOS_EVENTO, **context)


class Auditoria:
    """/auditoria: the auditor's start, the register."""

    def on_get(self, req, resp):
        auditor.lector(staff_actor(req))
        raise falcon.HTTPSeeOther("/auditoria/expedientes")


class ExpedientesAuditoria(_Base):
    """Every expediente, filtered by dates, estado, office, document type and sender; and as CSV."""

    def _filtro(self, req, errors: dict) -> listados.Filtro:
        return listados.Filtro(
            estado=(req.get_param("estado") or "")[:40], desde=date_param(req, "desde", errors),
            hasta=date_param(req, "hasta", errors), oficina_id=_int_param(req, "oficina"),
            tipo_documento_id=_int_param(req, "tipo_documento"), remitente=(req.get_param("remitente") or "").strip()[:100],
            orden="antiguos" if req.get_param("orden") == "antiguos" else "recientes",
            cursor=req.get_param("despues") or req.get_param("antes") or "", atras=bool(req.get_param("antes")))

    def on_get(self, req, resp):
        actor = staff_actor(req)
        errors: dict[str, str] = {}
        filtro = self._filtro(req, errors)
        registro = auditor.ver_expedientes(self._services, actor, filtro)
        self._render(req, resp, actor, "auditoria/expedientes.html", filtro=filtro, pagina=registro.pagina,
                     errores=errors, estados=registro.estados, oficinas=registro.oficinas, tipos=registro.tipos,
                     consulta=_sin_cursor(req))

    def on_get_csv(self, req, resp):
        actor = staff_actor(req)
        _send_csv(resp, auditor.exportar_expedientes(self._services, actor, self._filtro(req, {})))


class HistorialExpediente(_Base):
    """An expediente's complete history: every Evento with who, role, office, address, time, task,
    the form as submitted and the hashes.

    :raise NotFound: an unknown number.
    """

    def on_get(self, req, resp, numero):
        actor = staff_actor(req)
        historial = auditor.ver_historial(actor, numero)
        self._render(req, resp, actor, "auditoria/expediente.html", e=historial.expediente, filas=historial.filas,
                     oficinas=historial.oficinas)

    def on_get_csv(self, req, resp, numero):
        _send_csv(resp, auditor.exportar_historial(self._services, staff_actor(req), numero))


class EventosAuditoria(_Base):
    """The global log: every Evento (logins, failed logins, denials, steps, migrations…), with filters."""

    def _filtro(self, req, errors: dict) -> FiltroEventos:
        return FiltroEventos(
            desde=date_param(req, "desde", errors), hasta=date_param(req, "hasta", errors),
            tipo=(req.get_param("tipo") or "")[:20], usuario=(req.get_param("usuario") or "").strip()[:250],
            ip=(req.get_param("ip") or "").strip()[:64], cursor=req.get_param("despues") or "")

    def on_get(self, req, resp):
        actor = staff_actor(req)
        errors: dict[str, str] = {}
        filtro = self._filtro(req, errors)
        expediente = (req.get_param("expediente") or "").strip()
        bitacora = auditor.ver_eventos(self._services, actor, filtro, expediente)
        self._render(req, resp, actor, "auditoria/eventos.html", filtro=bitacora.filtro, pagina=bitacora.pagina,
                     errores={**errors, **bitacora.errores}, expediente=expediente, consulta=_sin_cursor(req),
                     primera=not bitacora.filtro.cursor)

    def on_get_csv(self, req, resp):
        actor = staff_actor(req)
        _send_csv(resp, auditor.exportar_eventos(self._services, actor, self._filtro(req, {}),
                                                 req.get_param("expediente") or ""))


def _sin_cursor(req) -> str:
    """The query string of the filters, without the page cursor (for the next page and the CSV link)."""
    return urlencode([(k, v) for k, v in req.params.items() if k not in ("despues", "antes", "verificar")],
                     doseq=True)


def add_auditoria_routes(app: falcon.App, pages, services):
    """The auditor's routes; the chain verification they share is kept for this app's process."""
    cadena = VerificacionCadena(services.clock)
    app.add_route("/auditoria", Auditoria())
    expedientes = ExpedientesAuditoria(pages, services, cadena)
    app.add_route("/auditoria/expedientes", expedientes)
    app.add_route("/auditoria/expedientes/csv", expedientes, suffix="csv")
    historial = HistorialExpediente(pages, services, cadena)
    app.add_route("/auditoria/expedientes/{numero}", historial)
    app.add_route("/auditoria/expedientes/{numero}/csv", historial, suffix="csv")
    eventos = EventosAuditoria(pages, services, cadena)
    app.add_route("/auditoria/eventos", eventos)
    app.add_route("/auditoria/eventos/csv", eventos, suffix="csv")
