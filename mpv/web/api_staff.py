"""The staff API v1 under /api/v1/staff: search expedientes, read one with its history and documents, list the
caller's tasks, and complete a task or derive an expediente through the same actions as the web pages.

Authentication is a personal token (``mpv.tramites.tokens``) in ``Authorization: Bearer <token>``: no cookie,
no session, no CSRF (a token is never sent by a browser on its own, so another site cannot make it act). The
session middleware ignores /api/, so a signed-in browser's cookie gives no access here; and nothing outside
/api/v1/staff reads a token. Every call made with a valid token is audited (:class:`TokenAudit`). Answers and
errors are JSON, as in the citizen API (``mpv.web.api``), and the OpenAPI document describes them
(``mpv.web.openapi_staff``).
"""
from __future__ import annotations

import json

import falcon

from ..errors import InvalidInput
from ..tramites import expedientes, listados, tareas, tokens
from .api import iso, plazo_legal
from .errors import HTTPMessage
from .middleware import UNSAFE
from .openapi_staff import MAX_CUERPO, STAFF

MAX_CAMPOS, MAX_TEXTO = 50, 5000  # as the OpenAPI document's «Valores» says


def add_api_staff_routes(app: falcon.App, services):
    """The routes of the staff API, and the middleware that authenticates and audits them."""
    app.add_middleware(TokenAudit(services))
    app.add_route(f"{STAFF}/expedientes", Expedientes(services))
    app.add_route(f"{STAFF}/expedientes/{{numero}}", UnExpediente(services))
    app.add_route(f"{STAFF}/expedientes/{{numero}}/derivacion", Derivacion(services))
    app.add_route(f"{STAFF}/expedientes/{{numero}}/tareas/{{task_id}}", UnaTarea(services))
    app.add_route(f"{STAFF}/tareas", Tareas(services))


class TokenAudit:
    """Under /api/v1/staff: the bearer token's use (``req.context.uso``) before anything else, writing only with a
    token that may write; after the answer, a row of the audit chain for the call, whatever its status."""

    def __init__(self, services):
        self._services = services

    def process_request(self, req, resp):
        req.context.uso = None
        if req.path != STAFF and not req.path.startswith(STAFF + "/"):
            return
        uso = tokens.autenticar(self._services, req.get_header("Authorization"), ip=req.remote_addr or "")
        req.context.uso, req.context.usuario = uso, uso.usuario  # the user: for the log of a refusal
        if req.method in UNSAFE:
            uso.exigir_escritura()

    def process_response(self, req, resp, resource, req_succeeded):
        uso = getattr(req.context, "uso", None)
        if uso is not None:
            ruta = req.path + (f"?{req.query_string}" if req.query_string else "")
            tokens.registrar(self._services, uso, req.method, ruta, resp.status_code, ip=req.remote_addr or "")


def _param(req, name: str, maximo: int = 100) -> str:
    """A query parameter as text. :raise InvalidInput: too long or with a NUL (PostgreSQL's text cannot hold one)."""
    value = req.get_param(name) or ""
    if len(value) > maximo or "\x00" in value:
        raise InvalidInput("Revise los parámetros de la consulta.", {name: f"Use como máximo {maximo} caracteres, "
                                                                          "sin caracteres de control."})
    return value


def _valor(v) -> bool:
    """Whether ``v`` is a value a form's field may take (the document's ``Valores``)."""
    if isinstance(v, str):
        return len(v) <= MAX_TEXTO
    if isinstance(v, list):
        return len(v) <= MAX_CAMPOS and all(isinstance(i, str) and len(i) <= MAX_TEXTO for i in v)
    return v is None or isinstance(v, (bool, int, float))


def _cuerpo(req) -> dict:
    """The JSON object of a POST: field → a text, number, true/false, null or a list of those.

    :raise HTTPMessage: 415 not JSON, 413 too large, 400 not readable. :raise InvalidInput: not such an object."""
    if not (req.content_type or "").lower().startswith("application/json"):
        sent = (req.content_type or "un cuerpo sin tipo")[:80]
        raise HTTPMessage(falcon.HTTP_415, f"Envíe los datos como application/json, no como {sent}.")
    if (req.content_length or 0) > MAX_CUERPO:
        raise HTTPMessage(falcon.HTTP_413, f"El cuerpo supera los {MAX_CUERPO // 1024} KB permitidos.")
    raw = req.bounded_stream.read(MAX_CUERPO + 1)
    if len(raw) > MAX_CUERPO:
        raise HTTPMessage(falcon.HTTP_413, f"El cuerpo supera los {MAX_CUERPO // 1024} KB permitidos.")
    try:
        body = json.loads(raw or b"{}")
    except (ValueError, UnicodeDecodeError):
        raise HTTPMessage(falcon.HTTP_400, "El cuerpo no es JSON válido (UTF-8).") from None
    if not isinstance(body, dict):
        raise InvalidInput("Envíe un objeto JSON: cada campo del formulario con su valor.")
    if len(body) > MAX_CAMPOS:
        raise InvalidInput(f"Envíe como máximo {MAX_CAMPOS} campos: los del formulario de la tarea.")
    malos = {str(k)[:60]: (f"Use un texto de hasta {MAX_TEXTO} caracteres, un número, true/false, null o una lista "
                           f"de hasta {MAX_CAMPOS} textos.") for k, v in body.items() if not _valor(v)}
    if malos:
        raise InvalidInput("Revise los campos marcados.", malos)
    return body


def _expediente_fila(fila: dict, calendario) -> dict:
    """A row of the register (:func:`mpv.tramites.listados.tramites`) as the API gives it."""
    return {"numero": fila["numero"], "presentado_en": iso(fila["presentado_en"], calendario),
            "fecha_presentacion": fila["fecha_presentacion"].isoformat(), "remitente": fila["remitente_nombre"],
            "asunto": fila["asunto"], "estado": fila["estado"], "tarea_actual": fila["tarea_actual"],
            "oficina_actual": fila["oficina_nombre"], "tipo_documento": fila["tipo_nombre"],
            "vence": iso(fila["vence"], calendario) if fila["vence"] else None, "terminado": fila["terminado"]}


def _tarea(tarea, numero: str, calendario) -> dict:
    return {"expediente": numero, "task_id": tarea.task_id, "tarea": tarea.spec, "nombre": tarea.nombre,
            "desde": iso(tarea.desde, calendario)}


def _resultado(result, calendario) -> dict:
    """What a completed step answers: the expediente as it is now and what the step recorded."""
    e = result.expediente
    return {"numero": e.numero, "estado": e.estado, "tarea_actual": e.tarea_actual, "terminado": e.terminado,
            "registrado": [{"fecha": iso(ev.momento, calendario), "accion": ev.descripcion,
                            "oficina_origen": ev.oficina_origen, "oficina_destino": ev.oficina_destino}
                           for ev in result.eventos]}


class Expedientes:
    """GET: search the register, as Trámites recibidos does for the token's user (an office: what waits in it)."""

    def __init__(self, services):
        self._services = services

    def on_get(self, req, resp):
        filtro = listados.Filtro(q=_param(req, "q").strip(), estado=_param(req, "estado"),
                                 cursor=_param(req, "despues", 200))
        vista = listados.recibidos(self._services, req.context.uso.actor, filtro)
        calendario = self._services.calendario
        resp.media = {"expedientes": [_expediente_fila(f, calendario) for f in vista.pagina.filas],
                      "siguiente": vista.pagina.siguiente or None}


class UnExpediente:
    """GET: one expediente with its sender, documents, history (as staff see it) and the tasks the caller works."""

    def __init__(self, services):
        self._services = services

    def on_get(self, req, resp, numero):
        detalle, movimientos = expedientes.ficha(self._services, req.context.uso.actor, numero)
        e, r, calendario = detalle.expediente, detalle.remitente, self._services.calendario
        resp.media = {
            "numero": e.numero, "asunto": e.asunto, "estado": e.estado, "tarea_actual": e.tarea_actual,
            "terminado": e.terminado, "folios": e.folios, "presentado_en": iso(e.presentado_en, calendario),
            "fecha_presentacion": e.fecha_presentacion.isoformat(), **plazo_legal(e, calendario),
            "remitente": {"nombre": e.remitente_nombre, "documento": e.remitente_documento, "email": r.email},
            "documentos": [{"id": a.id, "nombre": a.nombre, "tipo": a.tipo, "sha256": a.sha256,
                            "tamano": a.tamano} for a in detalle.adjuntos],
            "historial": [{"fecha": m.momento.isoformat(timespec="seconds"), "accion": m.descripcion,
                           "usuario": m.usuario, "oficina_origen": m.origen, "oficina_destino": m.destino,
                           "detalle": m.detalle} for m in movimientos],
            "tareas": [_tarea(t, e.numero, calendario) for t in detalle.tareas],
        }


class Tareas:
    """GET: the ready tasks the caller works, oldest first, by pages of 50."""

    def __init__(self, services):
        self._services = services

    def on_get(self, req, resp):
        filas, siguiente = tareas.mis_tareas(self._services, req.context.uso.actor, _param(req, "despues", 200))
        calendario = self._services.calendario
        resp.media = {"tareas": [_tarea(t, numero, calendario) for t, numero in filas], "siguiente": siguiente or None}


class UnaTarea:
    """POST: complete a ready task with its form's values as JSON (receive, attend, observe…), as the web form
    does; 409 when someone completed it first."""

    def __init__(self, services):
        self._services = services

    def on_post(self, req, resp, numero, task_id):
        actor = req.context.uso.actor
        result = tareas.completar(self._services, actor, numero, task_id, _cuerpo(req))
        resp.media = _resultado(result, self._services.calendario)


class Derivacion:
    """POST: derive an expediente waiting in mesa de partes (recording its recepción first where it is still in
    Recepción), as «Derivar trámite» does; 409 when someone derived it first."""

    def __init__(self, services):
        self._services = services

    def on_post(self, req, resp, numero):
        result = tareas.derivar(self._services, req.context.uso.actor, numero, _cuerpo(req))
        resp.media = _resultado(result, self._services.calendario)
