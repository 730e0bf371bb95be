"""The auditor's pages (read-only): the register with filters, an expediente's complete history, the
global log, each as CSV streamed in batches; the chain's verification at the top of each page.

Who reads: the auditor and the administrator. The analyst does not: the log holds client addresses
and the names tried in failed logins (personal data, Ley 29733), and the analyst's work needs the
process figures of the analytics pages, not who did what from where.
"""
from __future__ import annotations

import dataclasses
from urllib.parse import urlencode

import falcon

from ..auditoria import queries
from ..tramites import listados
from ..auditoria.queries import FiltroEventos
from ..errors import NotFound
from ..auditoria.export import csv_stream
from ..models import ROLES, Expediente, Oficina, TipoDocumento
from .expedientes import date_param, content_disposition
from .middleware import require

LECTORES = ("auditor", "admin")


def _int_param(req, name: str) -> int | None:
    value = req.get_param(name) or ""
    return int(value) if value.isdigit() and len(value) < 12 else None


def _send_csv(req, resp, nombre: str, encabezado: list[str], lotes, fila):
    resp.content_type = "text/csv; charset=utf-8"
    resp.set_header("Content-Disposition", content_disposition("attachment", nombre))
    resp.stream = csv_stream(encabezado, lotes, fila)


class _Base:
    def __init__(self, pages, services, cadena: queries.VerificacionCadena):
        self._pages = pages
        self._services = services
        self._cadena = cadena

    @property
    def _tz(self):
        return self._services.calendario.tz

    def _hoy(self) -> str:
        """Today in Lima by the services' clock, for the name of an export."""
        return self._services.calendario.fecha_local(self._services.clock()).isoformat()

    def _local(self, value) -> str:
        return "" if value is None else value.astimezone(self._tz).strftime("%d/%m/%Y %H:%M:%S")

    def _render(self, req, resp, template: str, **context):
        resultado = self._cadena.resultado(completa=req.get_param("verificar") == "completa")
        self._pages.render(req, resp, template, cadena=resultado, tipos_evento=queries.TIPOS_EVENTO, **context)


class Auditoria:
    """/auditoria: the auditor's start, the register."""

    def on_get(self, req, resp):
        require(req, *LECTORES)
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
        require(req, *LECTORES)
        errors: dict[str, str] = {}
        filtro = self._filtro(req, errors)
        pagina = listados.tramites(filtro, self._tz)
        self._render(req, resp, "auditoria/expedientes.html", filtro=filtro, pagina=pagina, errores=errors,
                     estados=self._services.definitions.active().estados(),
                     oficinas=list(Oficina.select().order_by(Oficina.nombre)),
                     tipos=list(TipoDocumento.select().order_by(TipoDocumento.nombre)), consulta=_sin_cursor(req))

    def on_get_csv(self, req, resp):
        require(req, *LECTORES)
        filtro = self._filtro(req, {})
        encabezado = ["N° de expediente", "Presentado (hora de Lima)", "Fecha de presentación", "Remitente",
                      "Documento del remitente", "Tipo de documento", "Asunto", "Estado", "Tarea actual",
                      "Oficina actual", "Vence (hora de Lima)", "Vencido", "Concluido"]

        def fila(f):
            return [f["numero"], self._local(f["presentado_en"]), f["fecha_presentacion"].strftime("%d/%m/%Y"),
                    f["remitente_nombre"], f["remitente_documento"], f["tipo_nombre"], f["asunto"], f["estado"],
                    f["tarea_actual"], f["oficina_nombre"], self._local(f["vence"]), "sí" if f["vencido"] else "no",
                    "sí" if f["terminado"] else "no"]

        _send_csv(req, resp, f"expedientes-{self._hoy()}.csv", encabezado,
                  queries.lotes_expedientes(filtro, self._tz), fila)


EVENTO_CSV = ["Seq", "Momento (hora de Lima)", "Tipo", "Acción", "Descripción", "Expediente", "Usuario", "Rol",
              "Oficina del usuario", "Dirección IP", "Tarea", "Oficina de origen", "Oficina de destino", "Detalle",
              "Datos enviados (JSON)", "Hash anterior", "Hash"]


class _EventosCsv(_Base):
    def _csv(self, req, resp, nombre: str, filtro: FiltroEventos, cadena: bool):
        def fila(f):
            return [f["seq"], self._local(f["momento"]), f["tipo"], f["accion"], f["descripcion"], f["numero"],
                    f["actor_nombre"], ROLES.get(f["rol"], f["rol"]), f["actor_oficina"], f["ip"], f["tarea"],
                    f["oficina_origen"], f["oficina_destino"], f["detalle"], f["payload"], f["prev_hash"], f["hash"]]

        _send_csv(req, resp, nombre, EVENTO_CSV, queries.lotes_eventos(filtro, self._tz, cadena=cadena), fila)


class HistorialExpediente(_EventosCsv):
    """An expediente's complete history: every Evento with who, role, office, address, time, task,
    the form as submitted and the hashes.

    :raise NotFound: an unknown number.
    """

    def _expediente(self, req, numero: str) -> Expediente:
        require(req, *LECTORES)
        expediente = Expediente.por_numero(numero)
        if expediente is None:
            raise NotFound(f"No existe el expediente {numero}. Revise el número e inténtelo otra vez.")
        return expediente

    def on_get(self, req, resp, numero):
        expediente = self._expediente(req, numero)
        filas = [(row, queries.payload_legible(row.payload)) for row in queries.historial(expediente.id)]
        self._render(req, resp, "auditoria/expediente.html", e=expediente, filas=filas, oficinas=Oficina.nombres())

    def on_get_csv(self, req, resp, numero):
        expediente = self._expediente(req, numero)
        self._csv(req, resp, f"historial-{expediente.numero}.csv", FiltroEventos(expediente_id=expediente.id),
                  cadena=True)


class EventosAuditoria(_EventosCsv):
    """The global log: every Evento (logins, failed logins, denials, steps, migrations…), with filters."""

    def _filtro(self, req, errors: dict) -> FiltroEventos:
        filtro = FiltroEventos(
            desde=date_param(req, "desde", errors), hasta=date_param(req, "hasta", errors),
            tipo=(req.get_param("tipo") or "")[:20], usuario=(req.get_param("usuario") or "").strip()[:250],
            ip=(req.get_param("ip") or "").strip()[:64], cursor=req.get_param("despues") or "")
        numero = (req.get_param("expediente") or "").strip()
        if numero:
            expediente = Expediente.por_numero(numero[:16])
            if expediente is None:
                errors["expediente"] = f"No existe el expediente {numero}."
                filtro.expediente_id = -1  # nothing matches an unknown number
            else:
                filtro.expediente_id = expediente.id
        return filtro

    def on_get(self, req, resp):
        require(req, *LECTORES)
        errors: dict[str, str] = {}
        filtro = self._filtro(req, errors)
        pagina = queries.eventos(filtro, self._tz)
        self._render(req, resp, "auditoria/eventos.html", filtro=filtro, pagina=pagina, errores=errors,
                     expediente=(req.get_param("expediente") or "").strip(), roles=ROLES,
                     consulta=_sin_cursor(req), primera=not filtro.cursor)

    def on_get_csv(self, req, resp):
        require(req, *LECTORES)
        filtro = dataclasses.replace(self._filtro(req, {}), cursor="")
        self._csv(req, resp, f"eventos-{self._hoy()}.csv", filtro, cadena=False)


def _sin_cursor(req) -> str:
    """The query string of the filters, without the page cursor (for the next page and the CSV link)."""
    return urlencode([(k, v) for k, v in req.params.items() if k not in ("despues", "antes", "verificar")],
                     doseq=True)


def add_auditoria_routes(app: falcon.App, pages, services):
    """The auditor's routes; the chain verification they share is kept for this app's process."""
    cadena = queries.VerificacionCadena(services.clock)
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
