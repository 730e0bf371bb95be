"""Figs. 3–7: Trámites Recibidos, Ver datos del expediente, Ver seguimiento, and the files."""
from __future__ import annotations

from datetime import date
from urllib.parse import quote, urlencode

from peewee import JOIN

from .. import history
from ..tramites import listados
from ..tramites import expedientes
from ..engine import Actor
from ..errors import NotFound
from ..models import Adjunto, Copia, Expediente, Oficina, Tarea
from ..engine.path import recorrido
from ..pdf import pdf_name
from .middleware import require

STAFF = ("mesa", "oficina", "auditor", "analista", "admin")


def staff_actor(req) -> Actor:
    """The signed-in staff user, as the actor of an action (signing in is asked for otherwise)."""
    require(req, *STAFF)
    return actor_of(req)


def expediente_visible(req, numero: str) -> Expediente:
    """The expediente ``numero`` if the signed-in user may see it (:func:`mpv.tramites.expedientes.visible`)."""
    return expedientes.visible(staff_actor(req), numero)


def actor_of(req) -> Actor:
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
    """The filters of Trámites recibidos in the query string (:func:`consulta` writes them); a bad date
    is left out, with its message in ``errors``, and an unknown choice is ignored."""
    orden, plazo, ubicacion = (req.get_param(name) or "" for name in ("orden", "plazo", "ubicacion"))
    return listados.Filtro(
        q=(req.get_param("q") or "").strip()[:100], estado=req.get_param("estado") or "",
        desde=date_param(req, "desde", errors), hasta=date_param(req, "hasta", errors),
        orden=orden if orden in listados.ORDENES else "recientes",
        plazo=plazo if plazo in listados.PLAZOS else "", ubicacion=ubicacion if ubicacion in listados.UBICACIONES else "",
        cursor=req.get_param("despues") or req.get_param("antes") or "", atras=bool(req.get_param("antes")))


def consulta(filtro: listados.Filtro) -> str:
    """The query string of /tramites that lists ``filtro``'s rows (from its first page)."""
    pares = [("q", filtro.q), ("estado", filtro.estado), ("ubicacion", filtro.ubicacion), ("plazo", filtro.plazo),
             ("desde", filtro.desde.isoformat() if filtro.desde else ""),
             ("hasta", filtro.hasta.isoformat() if filtro.hasta else ""),
             ("orden", "" if filtro.orden == "recientes" else filtro.orden)]
    return urlencode([(name, value) for name, value in pares if value])


class TramitesRecibidos:
    """Fig. 3: every filing, searchable, filtered and paginated by keyset."""

    def __init__(self, pages, services):
        self._pages = pages
        self._services = services

    def on_get(self, req, resp):
        usuario = require(req, *STAFF)
        errors: dict[str, str] = {}
        filtro = filtro_tramites(req, errors)
        calendario = self._services.calendario
        pagina = listados.tramites(listados.alcance(filtro, usuario), calendario.tz, search=self._services.busqueda,
                                   hoy=listados.Hoy.segun(calendario, self._services.clock()))
        definition = self._services.definitions.active()
        self._pages.render(req, resp, "tramites.html", pagina=pagina, filtro=filtro, errores=errors,
                           consulta=consulta(filtro), estados=definition.estados(), ordenes=listados.ORDENES,
                           plazos=listados.PLAZOS, ubicaciones=listados.UBICACIONES,
                           puede_derivar=usuario.rol == "mesa", derivables=definition.estados_de("recepcion", "derivacion"))


class ExpedienteDetalle:
    """Figs. 4–6: the trámite's data, the sender's data and the attached files."""

    def __init__(self, pages, services):
        self._pages = pages
        self._services = services

    def on_get(self, req, resp, numero):
        expediente = expediente_visible(req, numero)
        actor = actor_of(req)
        self._pages.render(
            req, resp, "expediente.html", e=expediente, r=expediente.remitente,
            adjuntos=list(expediente.adjuntos.order_by(Adjunto.id)),
            tareas=list(self._services.engine.tasks_for(actor, expediente.id)),
            eventos=self._services.engine.events_for(actor, expediente) if actor.rol == "mesa" else [],
            copias=list(Copia.select(Copia, Oficina).join(Oficina).where(Copia.expediente == expediente.id)))


class Seguimiento:
    """Fig. 7: the timeline from the engine's history, with the current step and plazo."""

    def __init__(self, pages, services):
        self._pages = pages
        self._services = services

    def on_get(self, req, resp, numero):
        expediente = expediente_visible(req, numero)
        pendientes = list(Tarea.select(Tarea, Oficina).join(Oficina, JOIN.LEFT_OUTER)
                          .where(Tarea.expediente == expediente.id).order_by(Tarea.desde))
        definition = self._services.definitions.get(expediente.definicion_id)
        self._pages.render(req, resp, "seguimiento.html", e=expediente,
                           movimientos=history.seguimiento(expediente.id, self._services.calendario),
                           pendientes=pendientes, bpmn=definition.bpmn_text(),
                           recorrido=recorrido(expediente.id, definition))


def content_disposition(kind: str, nombre: str) -> str:
    """RFC 6266: an ASCII fallback name and the original UTF-8 name."""
    fallback = "".join(c if c.isascii() and (c.isalnum() or c in "._- ") else "_" for c in nombre) or "archivo"
    return f"{kind}; filename=\"{fallback}\"; filename*=UTF-8''{quote(nombre, safe='')}"


class AdjuntoArchivo:
    """A stored file, always as an attachment under its original name (the pdf.js preview fetches it too)."""

    def __init__(self, services):
        self._services = services

    def _find(self, req, adjunto_id: int) -> Adjunto:
        adjunto = Adjunto.get_or_none(Adjunto.id == adjunto_id)
        if adjunto is None:
            raise NotFound("Ese archivo no existe.")
        expediente_visible(req, adjunto.expediente.numero)
        return adjunto

    def on_get(self, req, resp, adjunto_id):
        adjunto = self._find(req, adjunto_id)
        self._send(resp, adjunto, "attachment")
        resp.set_header("Content-Security-Policy", "sandbox; default-src 'none'")

    def _send(self, resp, adjunto: Adjunto, kind: str):
        path = self._services.storage.path(adjunto.sha256)
        if not path.exists():
            raise NotFound("El archivo no está disponible en el servidor; avise al administrador.")
        resp.content_type = "application/pdf"
        resp.set_header("Content-Disposition", content_disposition(kind, pdf_name(adjunto.nombre)))
        resp.set_stream(path.open("rb"), path.stat().st_size)
