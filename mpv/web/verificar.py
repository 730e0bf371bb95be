"""``/verificar``: anyone checks a document MPV issued or generated — by the code printed under its QR, by uploading
the PDF, or by pasting its SHA-256 (:mod:`mpv.tramites.verificacion`). Public, rate-limited like the other lookups."""
from __future__ import annotations

import falcon

from ..errors import InvalidInput
from ..tramites import verificacion
from .requests import Archivo, Partes, read_form


class VerificarFormulario:
    """``/verificar``: the form (a code, a PDF or a SHA-256) and, after a POST, whether MPV issued that file."""

    def __init__(self, pages, services):
        self._pages = pages
        self._services = services

    def _render(self, req, resp, status=falcon.HTTP_200, valores=None, errores=None, mensaje="", **resultado):
        resultado = {"comprobado": False, "huella": "", "nombre": "", "resultado": None, **resultado}
        self._pages.render(req, resp, "publico/verificar.html", status=status, valores=valores or {},
                           errores=errores or {}, mensaje=mensaje, **resultado)

    def on_get(self, req, resp):
        codigo = (req.get_param("codigo") or "").strip()
        if codigo:
            raise falcon.HTTPSeeOther(f"/verificar/{falcon.uri.encode_value(codigo[:100])}")
        self._render(req, resp)

    def on_post(self, req, resp):
        services = self._services
        partes = Partes(campos=frozenset({"sha256"}), archivos={"archivo": Archivo(services.limits.principal_bytes)},
                        mensaje="Revise el formulario.")
        valores: dict = {}
        try:
            form = read_form(req, services.storage, partes=partes)
            valores = {"sha256": form.get("sha256") or ""}
            recibidos = form.files.get("archivo", [])
            services.storage.discard(recibidos)  # only its SHA-256 is compared: MPV keeps nothing of it
            if recibidos:
                huella, nombre = recibidos[0].sha256, recibidos[0].nombre
            elif valores["sha256"].strip():
                huella, nombre = verificacion.sha256_escrito(valores["sha256"]), ""
            else:
                raise InvalidInput("Elija el PDF que quiere comprobar o pegue su huella SHA-256.",
                                   {"archivo": "Elija un archivo PDF, o pegue la huella SHA-256 abajo."})
        except InvalidInput as exc:
            self._render(req, resp, falcon.HTTP_422, valores, exc.campos or {"archivo": exc.message}, exc.message)
            return
        self._render(req, resp, comprobado=True, huella=huella, nombre=nombre,
                     resultado=verificacion.comprobar(services, huella))


class Verificacion:
    """``/verificar/{codigo}``: what MPV issued for that expediente, or that one document. Unknown: 404."""

    def __init__(self, pages, services):
        self._pages = pages
        self._services = services

    def on_get(self, req, resp, codigo):
        v = verificacion.verificar(self._services, codigo)
        self._pages.render(req, resp, "publico/verificacion.html", e=v.expediente, documentos=v.documentos,
                           documento=v.documento)


def add_verificar_routes(app, pages, services):
    app.add_route("/verificar", VerificarFormulario(pages, services))
    app.add_route("/verificar/{codigo}", Verificacion(pages, services))
