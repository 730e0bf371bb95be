"""Official documents on the expediente page (rule 13): draft one, edit a draft, issue it, download an issued PDF."""
from __future__ import annotations

import falcon

from ..engine.forms import Field
from ..errors import InvalidInput, Throttled
from ..tramites import anexos, certificado_usuario, documentos, firma_documento
from .errors import form_status
from .expedientes import content_disposition, staff_actor
from .requests import read_form

CAMPOS = ("tipo", "destinatario", "asunto", "cuerpo")
FIELDS = [
    Field("tipo", "Tipo de documento", "select", True, choices=list(documentos.TIPOS.items())),
    Field("destinatario", "Destinatario", "text", True, max_length=documentos.LIMITES["destinatario"],
          help="Nombre y cargo de quien lo recibe, por ejemplo «Ing. Rosa Quispe, Gerente Municipal»."),
    Field("asunto", "Asunto", "text", True, max_length=documentos.LIMITES["asunto"]),
    Field("cuerpo", "Texto del documento", "textarea", True, max_length=documentos.LIMITES["cuerpo"],
          help="Separe los párrafos con una línea en blanco. El número se asigna al emitirlo."),
]


def add_documento_routes(app, pages, services):
    app.add_route("/expedientes/{numero}/documentos", Redactar(pages, services))
    app.add_route("/documentos/{documento_id:int}", Borrador(pages, services))
    app.add_route("/documentos/{documento_id:int}/emitir", Emitir(pages, services))
    app.add_route("/documentos/{documento_id:int}/pdf", DocumentoPdf(services))
    app.add_route("/documentos/{documento_id:int}/anexos", Anexos(pages, services))
    app.add_route("/documentos/{documento_id:int}/anexos/{anexo_id:int}", Anexo(pages, services))
    app.add_route("/documentos/{documento_id:int}/anexos/{anexo_id:int}/quitar", Anexo(pages, services),
                  suffix="quitar")
    app.add_route("/documentos/{documento_id:int}/firmar", Firmar(pages, services))


def _valores(form) -> dict[str, str]:
    return {name: form.get(name) for name in CAMPOS}


class _Resource:
    def __init__(self, pages, services):
        self._pages = pages
        self._services = services

    def _form(self, req, resp, numero: str, valores: dict, documento=None, error: InvalidInput | None = None):
        self._pages.render(req, resp, "documento.html", status=falcon.HTTP_422 if error else falcon.HTTP_200,
                           numero=numero, documento=documento, fields=FIELDS, valores=valores, tipos=documentos.TIPOS,
                           anexos=anexos.de_documento(documento.id) if documento else [], firmas_de=anexos.firmas,
                           errores=error.campos if error else {}, mensaje=error.message if error else "")


class Redactar(_Resource):
    """«Redactar documento»: a new draft of the user's office on the expediente."""

    def on_get(self, req, resp, numero):
        valores = documentos.inicial(self._services, staff_actor(req), numero, req.get_param("tipo") or "")
        self._form(req, resp, numero, valores)

    def on_post(self, req, resp, numero):
        actor = staff_actor(req)
        valores = _valores(read_form(req))
        try:
            documento = documentos.redactar(self._services, actor, numero, **valores)
        except InvalidInput as exc:
            self._form(req, resp, numero, valores, error=exc)
            return
        self._pages.redirect(req, resp, f"/expedientes/{numero}#documentos",
                             f"Se guardó el borrador «{documento.asunto}». Revíselo y emítalo cuando esté listo.")


class Borrador(_Resource):
    """A draft of the user's office: edit it."""

    def on_get(self, req, resp, documento_id):
        documento = documentos.borrador(self._services, staff_actor(req), documento_id)
        self._form(req, resp, documento.expediente.numero, {n: getattr(documento, n) for n in CAMPOS}, documento)

    def on_post(self, req, resp, documento_id):
        actor = staff_actor(req)
        documento = documentos.borrador(self._services, actor, documento_id)
        valores = _valores(read_form(req))
        try:
            documentos.editar(self._services, actor, documento_id, **valores)
        except InvalidInput as exc:
            self._form(req, resp, documento.expediente.numero, valores, documento, exc)
            return
        self._pages.redirect(req, resp, f"/expedientes/{documento.expediente.numero}#documentos",
                             "Se guardaron los cambios del borrador.")


class Emitir(_Resource):
    """Issue a draft: it gets its number and its PDF, and can no longer change."""

    def on_post(self, req, resp, documento_id):
        actor = staff_actor(req)
        read_form(req)
        documento = documentos.emitir(self._services, actor, documento_id)
        self._pages.redirect(req, resp, f"/expedientes/{documento.expediente.numero}#documentos",
                             f"Se emitió el {documento.numero}.")


class Firmar(_Resource):
    """Sign an issued document of the user's office with the certificate of his Mi cuenta."""

    def _pagina(self, req, resp, documento, error=None):
        self._pages.render(req, resp, "documento_firmar.html", status=form_status(resp, error) if error
                           else falcon.HTTP_200, d=documento, firmas=firma_documento.firmas(documento),
                           certificado=certificado_usuario.de_usuario(req.context.usuario.id),
                           errores=getattr(error, "campos", {}), mensaje=error.message if error else "")

    def on_get(self, req, resp, documento_id):
        self._pagina(req, resp, firma_documento.puede_firmar(staff_actor(req), documento_id))

    def on_post(self, req, resp, documento_id):
        actor = staff_actor(req)
        documento = firma_documento.puede_firmar(actor, documento_id)
        clave = read_form(req).get("clave")
        try:
            fila = firma_documento.firmar(self._services, actor, documento_id, clave)
        except (InvalidInput, Throttled) as exc:
            self._pagina(req, resp, documento, exc)
            return
        self._pages.redirect(req, resp, f"/expedientes/{documento.expediente.numero}#documentos",
                             f"Se firmó digitalmente el {documento.numero} ({fila.razon.lower()}).")


class DocumentoPdf:
    """An issued document's PDF, as an attachment named by its number."""

    def __init__(self, services):
        self._services = services

    def on_get(self, req, resp, documento_id):
        documento, archivo = documentos.pdf_emitido(self._services, staff_actor(req), documento_id)
        resp.content_type = "application/pdf"
        resp.set_header("Content-Disposition", content_disposition("attachment", f"{documento.numero}.pdf"))
        resp.set_stream(archivo, None)
        resp.set_header("Content-Security-Policy", "sandbox; default-src 'none'")


class Anexos(_Resource):
    """POST: annex PDFs to a draft (multipart, field ``anexo``)."""

    def on_post(self, req, resp, documento_id):
        actor = staff_actor(req)
        documento = documentos.borrador(self._services, actor, documento_id)
        form = read_form(req, self._services.storage, max_file_bytes=self._services.limits.principal_bytes)
        try:
            nuevos = anexos.anexar(self._services, actor, documento_id, form.files.get(anexos.CAMPO, []))
        except InvalidInput as exc:
            self._form(req, resp, documento.expediente.numero, {n: getattr(documento, n) for n in CAMPOS}, documento,
                       exc)
            return
        self._pages.redirect(req, resp, f"/documentos/{documento_id}#anexos",
                             "Se anexó " + ", ".join(f"«{a.nombre}»" for a in nuevos) + ".")


class Anexo:
    """GET: an annex's PDF. POST …/quitar: remove it from a draft."""

    def __init__(self, pages, services):
        self._pages = pages
        self._services = services

    def on_get(self, req, resp, documento_id, anexo_id):
        anexo, archivo = anexos.abrir(self._services, staff_actor(req), documento_id, anexo_id)
        resp.content_type = "application/pdf"
        resp.set_header("Content-Disposition", content_disposition("attachment", anexo.nombre))
        resp.set_stream(archivo, None)
        resp.set_header("Content-Security-Policy", "sandbox; default-src 'none'")

    def on_post_quitar(self, req, resp, documento_id, anexo_id):
        actor = staff_actor(req)
        read_form(req)
        anexo = anexos.quitar(self._services, actor, documento_id, anexo_id)
        self._pages.redirect(req, resp, f"/documentos/{documento_id}#anexos", f"Se quitó el anexo «{anexo.nombre}».")
