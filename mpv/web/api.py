"""JSON API v1: file a trámite, follow its seguimiento, read the catalogue of document types.

For citizens' software and other portals. No cookies, sessions or CSRF (``mpv.web.middleware`` skips
them under /api/); every answer is JSON, errors included (``mpv.web.errors`` maps them). The OpenAPI
document served at /api/v1/openapi.json (``mpv.web.openapi``) describes every route.
"""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import falcon

from ..tramites import ciudadano, escritos, tupa
from ..tramites.campos import API
from ..tramites.presentacion import presentar
from .errors import HTTPMessage
from .openapi import PREFIX, document
from .requests import partes_escrito, partes_presentacion, read_multipart


def add_api_routes(app: falcon.App, services):
    """Register the routes of the API under /api/v1."""
    app.add_route(f"{PREFIX}/tramites", Tramites(services))
    app.add_route(f"{PREFIX}/tramites/{{codigo}}/seguimiento", SeguimientoPublico(services))
    app.add_route(f"{PREFIX}/tramites/{{codigo}}/escritos", Escritos(services))
    app.add_route(f"{PREFIX}/tipos-documento", TiposDocumento())
    app.add_route(f"{PREFIX}/procedimientos", Procedimientos())
    app.add_route(f"{PREFIX}/openapi.json", OpenApi(document(services.settings, services.limits)))


def iso(momento: datetime, calendario) -> str:
    """A moment as ISO 8601 with the entity's UTC offset (Lima: -05:00), to the second."""
    return momento.astimezone(calendario.tz).isoformat(timespec="seconds")


class Tramites:
    """POST: a citizen files a trámite as multipart/form-data → 201 with its number and tracking code."""

    def __init__(self, services):
        self._services = services

    def on_post(self, req, resp):
        """:raise HTTPMessage: 415 when the body is not multipart/form-data (the rest: see ``read_multipart``
        and ``presentar``)."""
        services = self._services
        _multipart(req)
        form = read_multipart(req, services.storage, partes_presentacion(API, services.limits))
        principal = (form.files.get("archivo") or [None])[0]
        expediente = presentar(services, form.fields, principal, form.files.get("anexos", []),
                               ip=req.remote_addr or "", cara=API)
        base, codigo = services.settings.base_url, expediente.codigo
        resp.status = falcon.HTTP_201
        resp.location = f"{base}{PREFIX}/tramites/{codigo}/seguimiento"
        resp.media = {
            "numero": expediente.numero,
            "codigo": codigo,
            "fecha_presentacion": expediente.fecha_presentacion.isoformat(),
            "presentado_en": iso(expediente.presentado_en, services.calendario),
            "estado": expediente.estado,
            **plazo_legal(expediente, services.calendario),
            "seguimiento_url": f"{base}/seguimiento/{codigo}",
            "constancia_url": f"{base}/constancia/{codigo}",
        }


def _multipart(req):
    """:raise HTTPMessage: 415 when the body is not multipart/form-data."""
    if not (req.content_type or "").lower().startswith("multipart/form-data"):
        sent = (req.content_type or "un cuerpo sin tipo")[:80]
        raise HTTPMessage(falcon.HTTP_415, "Envíe la solicitud como multipart/form-data (campos de texto y "
                                           f"archivos PDF), no como {sent}.")


class Escritos:
    """POST: the citizen adds an escrito (a PDF and annexes) to the trámite whose tracking code is in the path →
    201 with the escrito's number and its constancia (``mpv.tramites.escritos``)."""

    def __init__(self, services):
        self._services = services

    def on_post(self, req, resp, codigo):
        """:raise NotFound: no trámite has this code. :raise Conflict: it has concluded (409). The rest: as a filing."""
        services = self._services
        _multipart(req)
        form = read_multipart(req, services.storage, partes_escrito(services.limits, csrf=False,
                                                                     campos=("descripcion",)))
        principal = (form.files.get("archivo") or [None])[0]
        escrito = escritos.del_ciudadano(services, {**form.fields, "codigo": codigo}, principal,
                                         form.files.get("anexos", []), ip=req.remote_addr or "")
        base = services.settings.base_url
        resp.status = falcon.HTTP_201
        resp.location = f"{base}/escritos/{escrito.codigo}"
        resp.media = {**escrito_json(escrito, services.calendario, base), "expediente": escrito.expediente.numero,
                      "seguimiento_url": f"{base}/seguimiento/{codigo}"}


def escrito_json(escrito, calendario, base: str) -> dict:
    return {"numero": escrito.numero, "fecha_presentacion": escrito.fecha_presentacion.isoformat(),
            "presentado_en": iso(escrito.presentado_en, calendario), "via": escrito.via,
            "descripcion": escrito.descripcion, "constancia_url": f"{base}/escritos/{escrito.codigo}"}


class SeguimientoPublico:
    """GET: the public timeline of a trámite, by its tracking code (no staff names, no internal notes)."""

    def __init__(self, services):
        self._services = services

    def on_get(self, req, resp, codigo):
        """:raise NotFound: no trámite has this tracking code."""
        seguimiento = ciudadano.seguimiento(self._services, codigo)
        expediente, calendario = seguimiento.expediente, self._services.calendario
        resp.media = {
            "numero": expediente.numero,
            "estado": expediente.estado,
            "fecha_presentacion": expediente.fecha_presentacion.isoformat(),
            "terminado": expediente.terminado,
            **plazo_legal(expediente, calendario),
            "eventos": [{"fecha": iso(m.momento, calendario), "accion": m.descripcion, "oficina_origen": m.origen,
                         "oficina_destino": m.destino, "detalle": m.detalle} for m in seguimiento.movimientos],
            "documentos": [{"nombre": a.nombre, "tipo": a.tipo, "sha256": a.sha256,
                            "firmas": [firma(f, calendario) for f in a.firmas]} for a in seguimiento.adjuntos],
            "escritos": [{**escrito_json(v.escrito, calendario, self._services.settings.base_url),
                          "documentos": [a.sha256 for a in v.adjuntos]} for v in seguimiento.escritos],
        }


def firma(f, calendario) -> dict:
    """A digital signature of a document (:mod:`mpv.firmas`) as the API gives it; a problem is never left out."""
    return {"firmante": f.firmante, "documento_identidad": f.documento_identidad,
            "firmado_en": iso(f.firmado_en, calendario) if f.firmado_en else None, "intacto": f.intacto,
            "confiable": f.confiable, "resumen": f.resumen, "problema": f.problema}


def plazo_legal(expediente, calendario) -> dict:
    """The procedure an expediente was filed under and where its legal deadline stands (null: none)."""
    procedimiento = expediente.procedimiento if expediente.procedimiento_id else None
    return {
        "procedimiento": procedimiento.codigo if procedimiento else None,
        "plazo_vence": iso(expediente.plazo_vence, calendario) if expediente.plazo_vence else None,
        "plazo_suspendido": expediente.plazo_suspendido,
        "silencio": expediente.silencio or None,
    }


class Procedimientos:
    """GET: the TUPA's active procedures a filing may name in ``procedimiento``, by code, each with its
    requirements in order (``requisitos`` of a filing names them by their place, from 1)."""

    def on_get(self, req, resp):
        resp.media = {"procedimientos": [{
            "codigo": p.codigo, "nombre": p.nombre, "requisitos": tupa.requisitos(p),
            "derecho_tramite": f"{Decimal(p.derecho_tramite):.2f}" if tupa.tiene_derecho(p) else None,
            "calificacion": p.calificacion, "plazo_dias": p.plazo_dias, "oficina": p.oficina.nombre,
            "base_legal": p.base_legal} for p in tupa.activos()]}


class TiposDocumento:
    """GET: the active document types a filing may name in ``tipo_documento``, by name, as
    ``{"tipos_documento": [{"codigo": …, "nombre": …}]}``: an object, not a bare list, so that it can grow
    (the README and the OpenAPI document show this shape; tests/test_api_readme.py holds them to it)."""

    def on_get(self, req, resp):
        resp.media = {"tipos_documento": [{"codigo": codigo, "nombre": nombre}
                                          for codigo, nombre in ciudadano.tipos_documento()]}


class OpenApi:
    """GET: the OpenAPI 3 document of this API."""

    def __init__(self, spec: dict):
        self._spec = spec

    def on_get(self, req, resp):
        resp.media = self._spec
