"""The citizen's side: file a trámite, get the constancia, follow it, correct an observed filing.

No login: a citizen reaches an expediente only through its tracking code (128 random bits), or by
its number together with the sender's identity document.
"""
from __future__ import annotations


import falcon

from .. import identidad
from ..errors import InvalidInput, TooLarge
from ..tramites import casilla, ciudadano, tareas, tupa
from ..tramites.campos import WEB, de_cara, textos
from ..tramites.presentacion import presentar
from .requests import partes_presentacion, read_form
from .tareas import form_view, submitted


class Portada:
    """``/``: staff go to their home; everybody else sees how to file or follow a trámite."""

    def __init__(self, pages):
        self._pages = pages

    def on_get(self, req, resp):
        if req.context.usuario is not None:
            raise falcon.HTTPSeeOther("/inicio")
        self._pages.render(req, resp, "publico/inicio.html")


def formulario(services, cara: str, valores: dict, errores: dict) -> dict:
    """What a filing's form (``templates/_presentacion.html``) shows for the face ``cara``: its fields, what was typed
    and each field's message, the catalogues and the chosen TUPA procedure with its requirements and fee."""
    limits = services.limits
    elegido = tupa.por_codigo(str(valores.get("procedimiento") or ""))
    elegido = elegido if elegido is not None and elegido.activo else None
    return dict(valores=valores, errores=errores, tipos=ciudadano.tipos_documento(),
                campos={c.nombre: c for c in de_cara(cara)}, procedimientos=tupa.activos(), elegido=elegido,
                marcados={str(n) for n in valores.get("requisitos") or []},
                requisitos=tupa.requisitos(elegido) if elegido else [],
                derecho=tupa.derecho(elegido) if elegido else "",
                con_derecho=bool(elegido and tupa.tiene_derecho(elegido)),
                calificacion=tupa.calificacion(elegido) if elegido else "",
                limite_principal=limits.principal_bytes // (1024 * 1024),
                limite_anexo=limits.anexo_bytes // (1024 * 1024), max_anexos=limits.anexos)


def valores_iniciales(req, cara: str) -> tuple[dict, dict]:
    """A filing form's first values through ``cara``, with the procedure ``?procedimiento=`` names (its name as the
    subject), and the error to show when that names no procedure of the TUPA in force."""
    valores = {c.nombre: c.inicial for c in de_cara(cara) if c.inicial}
    codigo = (req.get_param("procedimiento") or "").strip()
    elegido = tupa.por_codigo(codigo) if codigo else None
    errores = {}
    if elegido is not None and elegido.activo:
        valores.update(procedimiento=elegido.codigo, asunto=elegido.nombre[:500])
    elif codigo:
        errores["procedimiento"] = "Ese procedimiento no está en el TUPA vigente: elija uno de la lista."
    return valores, errores


class Presentar:
    """The public filing form (Ley 31170: open 24 hours); success leads to the constancia."""

    def __init__(self, pages, services):
        self._pages = pages
        self._services = services

    def _render(self, req, resp, valores, errores, status=falcon.HTTP_200, mensaje=""):
        self._pages.render(req, resp, "publico/presentar.html", status=status, mensaje=mensaje,
                           **formulario(self._services, WEB, valores, errores))

    def on_get(self, req, resp):
        valores, errores = valores_iniciales(req, WEB)
        self._render(req, resp, valores, errores, falcon.HTTP_404 if errores else falcon.HTTP_200)

    def on_post(self, req, resp):
        services = self._services
        try:
            form = read_form(req, services.storage, partes=partes_presentacion(WEB, services.limits))
        except InvalidInput as exc:  # read_form removed what it had received
            self._refused(req, resp, getattr(exc, "partial", None), exc, adjuntos=True)
            return
        principal = (form.files.get("archivo") or [None])[0]
        try:
            expediente = presentar(services, form.fields, principal, form.files.get("anexos", []),
                                   ip=req.remote_addr or "", cara=WEB)
        except InvalidInput as exc:  # presentar removed the files
            self._refused(req, resp, form, exc, adjuntos=bool(form.files))
            return
        raise falcon.HTTPSeeOther(f"/constancia/{expediente.codigo}")

    def _refused(self, req, resp, form, exc: InvalidInput, adjuntos: bool):
        """The form again, with what the filer typed and a message next to each field to correct."""
        status = falcon.HTTP_413 if isinstance(exc, TooLarge) else falcon.HTTP_422
        self._render(req, resp, valores_tecleados(form, WEB), exc.campos or {"__all__": exc.message}, status,
                     exc.message + (" Vuelva a adjuntar sus archivos." if adjuntos else ""))


def valores_tecleados(form, cara: str) -> dict:
    """What was typed in a filing's form of the face ``cara``, to show the form again with it."""
    if form is None:
        return {}
    valores = {name: form.get(name) for name in textos(cara) if name in form.fields}
    valores["requisitos"] = [v for v in form.getlist("requisitos") if v]
    return valores


class ConstanciaPagina:
    """The constancia de presentación: printable page and PDF download."""

    def __init__(self, pages, services):
        self._pages = pages
        self._services = services

    def on_get(self, req, resp, codigo):
        self._pages.render(req, resp, "publico/constancia.html", c=ciudadano.constancia_de(self._services, codigo))

    def on_get_pdf(self, req, resp, codigo):
        c, contenido = ciudadano.constancia_pdf(self._services, codigo)
        resp.content_type = "application/pdf"
        resp.set_header("Content-Disposition", f'attachment; filename="constancia-{c.numero}.pdf"')
        resp.data = contenido


class Consulta:
    """Find a trámite by tracking code, or by número de expediente and identity document."""

    def __init__(self, pages):
        self._pages = pages

    def on_get(self, req, resp):
        codigo = (req.get_param("codigo") or "").strip()
        numero = ciudadano.normalizar_numero((req.get_param("numero") or "").strip())
        documento = identidad.normalizar(req.get_param("documento") or "")
        error = ""
        if codigo:
            raise falcon.HTTPSeeOther(f"/seguimiento/{falcon.uri.encode_value(codigo)}")
        if numero or documento:
            expediente = ciudadano.por_numero_y_documento(numero, documento)
            if expediente is not None:  # only its state: never the tracking code (V6.3.4)
                self._pages.render(req, resp, "publico/resumen.html", e=expediente,
                                   pendientes=ciudadano.pendientes(expediente))
                return
            error = ("No encontramos un trámite con ese número de expediente y ese documento de identidad. "
                     "Revise ambos datos (el número tiene la forma 2026-000123).")
        self._pages.render(req, resp, "publico/consulta.html", status=falcon.HTTP_404 if error else falcon.HTTP_200,
                           error=error, numero=numero, documento=documento)


class SeguimientoPublico:
    """The citizen's view of the timeline: offices instead of staff names, no internal notes."""

    def __init__(self, pages, services):
        self._pages = pages
        self._services = services

    def on_get(self, req, resp, codigo):
        s = ciudadano.seguimiento(self._services, codigo)
        self._pages.render(req, resp, "publico/seguimiento.html", e=s.expediente, movimientos=s.movimientos,
                           pendientes=s.pendientes, subsanacion=s.subsanacion, adjuntos=s.adjuntos,
                           procedimiento=s.procedimiento, escritos=s.escritos, casilla=casilla.vigente(s.expediente),
                           por_acusar=casilla.pendiente_de_acuse(s.expediente))


class Subsanar:
    """Through the link in the e-mail, the citizen uploads the corrected documents."""

    def __init__(self, pages, services):
        self._pages = pages
        self._services = services

    def _load(self, req, codigo):
        return tareas.subsanacion(self._services, codigo, ip=req.remote_addr or "")

    def on_get(self, req, resp, codigo):
        expediente, _, task = self._load(req, codigo)
        view = form_view(self._services.engine, self._pages.renderer, task.info, task.data)
        self._pages.render(req, resp, "publico/subsanar.html", e=expediente, tarea=task, vista=view, valores={},
                           errores={}, observacion=ciudadano.observacion(expediente))

    def on_post(self, req, resp, codigo):
        expediente, actor, task = self._load(req, codigo)
        form = read_form(req, self._services.storage, max_file_bytes=self._services.limits.principal_bytes, max_files=5)
        view = form_view(self._services.engine, self._pages.renderer, task.info, task.data)
        values = submitted(view["schema"], form)
        try:
            tareas.subsanar(self._services, actor, expediente, task.id, values, form.files)
        except InvalidInput as exc:
            self._pages.render(req, resp, "publico/subsanar.html", status=falcon.HTTP_422, e=expediente, tarea=task,
                               vista=view, valores=values, errores=exc.campos or {"__all__": exc.message},
                               observacion=ciudadano.observacion(expediente), mensaje=exc.message)
            return
        self._pages.redirect(req, resp, f"/seguimiento/{codigo}",
                             "Recibimos su subsanación: el expediente vuelve a revisión de mesa de partes.")


class Tupa:
    """``/tupa``: the procedures a citizen may file, each with its requirements, fee, calificación and plazo."""

    def __init__(self, pages):
        self._pages = pages

    def on_get(self, req, resp):
        self._pages.render(req, resp, "publico/tupa.html", procedimientos=[
            (p, tupa.requisitos(p), tupa.derecho(p), tupa.calificacion(p)) for p in tupa.activos()])


class SilencioPdf:
    """The citizen's statement that silencio administrativo applied to his expediente (positivo: approved)."""

    def __init__(self, services):
        self._services = services

    def on_get(self, req, resp, codigo):
        s, contenido = ciudadano.silencio_pdf(self._services, codigo)
        resp.content_type = "application/pdf"
        resp.set_header("Content-Disposition", f'attachment; filename="silencio-{s.numero}.pdf"')
        resp.data = contenido


class ArchivoPublico:
    """A file of the citizen's expediente, reached through its tracking code."""

    def __init__(self, services):
        self._services = services

    def on_get(self, req, resp, codigo, adjunto_id):
        from .expedientes import content_disposition

        archivo = ciudadano.archivo(self._services, codigo, adjunto_id)
        resp.content_type = "application/pdf"
        resp.set_header("Content-Disposition", content_disposition("attachment", archivo.nombre))
        resp.set_header("Content-Security-Policy", "sandbox; default-src 'none'")
        resp.set_stream(archivo.path.open("rb"), archivo.path.stat().st_size)


def add_public_routes(app, pages, services):
    app.add_route("/", Portada(pages))
    app.add_route("/presentar", Presentar(pages, services))
    constancias = ConstanciaPagina(pages, services)
    app.add_route("/constancia/{codigo}", constancias)
    app.add_route("/constancia/{codigo}/pdf", constancias, suffix="pdf")
    app.add_route("/seguimiento", Consulta(pages))
    app.add_route("/seguimiento/{codigo}", SeguimientoPublico(pages, services))
    app.add_route("/seguimiento/{codigo}/subsanar", Subsanar(pages, services))
    app.add_route("/seguimiento/{codigo}/archivos/{adjunto_id:int}", ArchivoPublico(services))
    app.add_route("/seguimiento/{codigo}/silencio.pdf", SilencioPdf(services))
    app.add_route("/tupa", Tupa(pages))
