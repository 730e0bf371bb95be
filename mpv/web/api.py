"""JSON API v1: file a trámite, follow its seguimiento, read the catalogue of document types.

For citizens' software and other portals. No cookies, sessions or CSRF (``mpv.web.middleware`` skips
them under /api/); every answer is JSON, errors included (``mpv.web.errors`` maps them). The OpenAPI
document served at /api/v1/openapi.json (``mpv.web.openapi``) describes every route.
"""
from __future__ import annotations

from datetime import datetime

import falcon

from ..tramites import ciudadano
from ..tramites.campos import API
from ..tramites.presentacion import presentar
from .errors import HTTPMessage
from .openapi import PREFIX, document
from .requests import partes_presentacion, read_multipart


def add_api_routes(app: falcon.App, services):
    """Register the routes of the API under /api/v1."""
    app.add_route(f"{PREFIX}/tramites", Tramites(services))
    app.add_route(f"{PREFIX}/tramites/{{codigo}}/seguimiento", SeguimientoPublico(services))
    app.add_route(f"{PREFIX}/tipos-documento", TiposDocumento())
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
        if not (req.content_type or "").lower().startswith("multipart/form-data"):
            sent = (req.content_type or "un cuerpo sin tipo")[:80]
            raise HTTPMessage(falcon.HTTP_415, "Envíe la solicitud como multipart/form-data (campos de texto y "
                                               f"archivos PDF), no como {sent}.")
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
            "seguimiento_url": f"{base}/seguimiento/{codigo}",
            "constancia_url": f"{base}/constancia/{codigo}",
        }


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
            "eventos": [{"fecha": iso(m.momento, calendario), "accion": m.descripcion, "oficina_origen": m.origen,
                         "oficina_destino": m.destino, "detalle": m.detalle} for m in seguimiento.movimientos],
        }


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
