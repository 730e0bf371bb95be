"""Figs. 3–7: Trámites Recibidos, Ver datos del expediente, Ver seguimiento, and the files."""
from __future__ import annotations

from datetime import date
from urllib.parse import quote

from ..engine import Actor
from ..errors import InvalidInput
from ..tramites import casilla, documentos, expedientes, exportar, hoja_ruta, listados, tupa
from ..tramites.listados import consulta
from .middleware import require

STAFF = expedientes.PERSONAL


def staff_actor(req) -> Actor:
    """The signed-in staff user, as the actor of an action (signing in is asked for otherwise)."""
    require(req, *STAFF)
    return actor_of(req)


def actor_of(req) -> Actor:
    """The signed-in user as an :class:`Actor`, with the address the request came from."""
    return Actor.de_usuario(req.context.usuario, ip=req.remote_addr or "")


def date_param(req, name: str, errors: dict) -> date | None:
    value = req.get_param(name) or ""
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        errors[name] = "Use una fecha válida (día/mes/año)."
        return None


def filtro_tramites(req, errors: dict) -> listados.Filtro:
    """The filters of Trámites recibidos in the query string (:func:`mpv.tramites.listados.consulta` writes them); a bad date
    is left out, with its message in ``errors``, and an unknown choice is ignored."""
    orden, plazo, ubicacion = (req.get_param(name) or "" for name in ("orden", "plazo", "ubicacion"))
    return listados.Filtro(
        q=(req.get_param("q") or "").strip()[:100], estado=req.get_param("estado") or "",
        desde=date_param(req, "desde", errors), hasta=date_param(req, "hasta", errors),
        orden=orden if orden in listados.ORDENES else "recientes",
        plazo=plazo if plazo in listados.PLAZOS else "", ubicacion=ubicacion if ubicacion in listados.UBICACIONES else "",
        cursor=req.get_param("despues") or req.get_param("antes") or "", atras=bool(req.get_param("antes")))


class TramitesRecibidos:
    """Fig. 3: every filing, searchable, filtered and paginated by keyset."""

    def __init__(self, pages, services):
        self._pages = pages
        self._services = services

    def on_get(self, req, resp):
        actor = staff_actor(req)
        errors: dict[str, str] = {}
        filtro = filtro_tramites(req, errors)
        vista = listados.recibidos(self._services, actor, filtro)
        self._pages.render(req, resp, "tramites.html", pagina=vista.pagina, filtro=filtro, errores=errors,
                           consulta=consulta(filtro), estados=vista.estados, ordenes=listados.ORDENES,
                           plazos=listados.PLAZOS, ubicaciones=listados.UBICACIONES,
                           puede_derivar=vista.puede_derivar, derivables=vista.derivables)


class ExportarTramites:
    """Trámites recibidos with the filters of its query string, as .xlsx (``?formato=xlsx``) or CSV."""

    def __init__(self, services):
        self._services = services

    def on_get(self, req, resp):
        errors: dict[str, str] = {}
        filtro = filtro_tramites(req, errors)
        if errors:
            raise InvalidInput("Corrija las fechas del filtro antes de exportar.", errors)
        filas = exportar.recibidos(self._services, staff_actor(req), filtro)
        if req.get_param("formato") == "csv":
            resp.content_type = "text/csv; charset=utf-8"
            resp.set_header("Content-Disposition", 'attachment; filename="tramites-recibidos.csv"')
            resp.text = exportar.csv_texto(filas)
            return
        resp.content_type = exportar.XLSX
        resp.set_header("Content-Disposition", 'attachment; filename="tramites-recibidos.xlsx"')
        resp.data = exportar.xlsx(filas)


class ExpedienteDetalle:
    """Figs. 4–6: the trámite's data, the sender's data and the attached files."""

    def __init__(self, pages, services):
        self._pages = pages
        self._services = services

    def on_get(self, req, resp, numero):
        detalle = expedientes.ver(self._services, staff_actor(req), numero)
        self._pages.render(req, resp, "expediente.html", e=detalle.expediente, r=detalle.remitente,
                           adjuntos=detalle.adjuntos, tareas=detalle.tareas, eventos=detalle.eventos,
                           copias=detalle.copias, procedimiento=tupa.de_expediente(detalle.expediente),
                           documentos=detalle.documentos, redacta=detalle.redacta, tipos=documentos.TIPOS,
                           anexos_de=detalle.anexos, escritos=detalle.escritos, asignacion=detalle.asignacion,
                           acumulacion=detalle.acumulacion,
                           casilla=casilla.vigente(detalle.expediente),
                           notificaciones=casilla.de_expediente(self._services, detalle.expediente))


class Seguimiento:
    """Fig. 7: the timeline from the engine's history, with the current step and plazo."""

    def __init__(self, pages, services):
        self._pages = pages
        self._services = services

    def on_get(self, req, resp, numero):
        vista = expedientes.ver_seguimiento(self._services, staff_actor(req), numero)
        self._pages.render(req, resp, "seguimiento.html", e=vista.expediente, movimientos=vista.movimientos,
                           pendientes=vista.pendientes, bpmn=vista.bpmn, recorrido=vista.recorrido,
                           procedimiento=tupa.de_expediente(vista.expediente))


def content_disposition(kind: str, nombre: str) -> str:
    """RFC 6266: an ASCII fallback name and the original UTF-8 name."""
    fallback = "".join(c if c.isascii() and (c.isalnum() or c in "._- ") else "_" for c in nombre) or "archivo"
    return f"{kind}; filename=\"{fallback}\"; filename*=UTF-8''{quote(nombre, safe='')}"


class AdjuntoArchivo:
    """A stored file, always as an attachment under its original name (the pdf.js preview fetches it too)."""

    def __init__(self, services):
        self._services = services

    def on_get(self, req, resp, adjunto_id):
        archivo = expedientes.archivo(self._services, staff_actor(req), adjunto_id)
        resp.content_type = "application/pdf"
        resp.set_header("Content-Disposition", content_disposition("attachment", archivo.nombre))
        resp.set_stream(archivo.path.open("rb"), archivo.path.stat().st_size)
        resp.set_header("Content-Security-Policy", "sandbox; default-src 'none'")


def send_pdf(resp, nombre: str, contenido: bytes):
    """A PDF MPV generated, as a download under ``nombre``."""
    resp.content_type = "application/pdf"
    resp.set_header("Content-Disposition", content_disposition("attachment", nombre))
    resp.data = contenido


class HojaDeRutaPdf:
    """The expediente's hoja de ruta (every movement, with the QR of its public verification), for staff."""

    def __init__(self, services):
        self._services = services

    def on_get(self, req, resp, numero):
        send_pdf(resp, *hoja_ruta.documento_hoja_de_ruta(self._services, staff_actor(req), numero))


class CargoPdf:
    """The cargo of one derivation of the expediente (its history row's id), for staff."""

    def __init__(self, services):
        self._services = services

    def on_get(self, req, resp, numero, evento_id):
        send_pdf(resp, *hoja_ruta.documento_cargo(self._services, staff_actor(req), numero, evento_id))
