"""Mi cuenta (every staff user): change one's own password, see one's open sessions and end them, keep the
certificate one signs documents with (upload, replace, remove), and create and revoke one's personal API tokens
(``mpv.tramites.tokens``; a new token is shown on the page that answers its creation, and never again).

A user whose password an administrator set (new user, reset) is sent here before anything else
(:class:`mpv.web.middleware.SessionMiddleware`) until they choose their own.
"""
from __future__ import annotations

import falcon

from ..errors import InvalidInput, MPVError, Throttled, TooLarge
from ..passwords import MIN_LENGTH
from ..tramites import certificado_usuario, tokens
from ..tramites.sessions import Current
from .errors import form_status
from .middleware import require
from .requests import Archivo, Partes, read_form

# The certificate's form: the file, read within a little more than the use case's limit (which says what to do
# when it is over), and its passphrase.
SUBIDA = Partes(campos=frozenset({"clave"}), archivos={"certificado": Archivo(certificado_usuario.MAX_BYTES + 1)},
                max_texto=4 * 1024, mensaje=certificado_usuario.REVISE)


class Cuenta:
    def __init__(self, pages, sessions, services):
        self._pages = pages
        self._sessions = sessions
        self._services = services

    def _show(self, req, resp, error: MPVError | None = None, valores: dict | None = None, nuevo_token: str = "",
              nuevo=None):
        """The page; again with ``error``'s messages next to the fields it names (422, or 429 while the
        account waits) and the token form's ``valores``."""
        usuario = require(req)
        self._pages.render(req, resp, "cuenta.html", status=form_status(resp, error) if error else falcon.HTTP_200,
                           sesiones=self._sessions.of(usuario.id), actual_id=req.context.sesion.id,
                           errores=getattr(error, "campos", {}), mensaje=error.message if error else "",
                           min_length=MIN_LENGTH, certificado=certificado_usuario.de_usuario(usuario.id),
                           max_certificado_kb=certificado_usuario.MAX_BYTES // 1024,
                           tokens=tokens.de_usuario(usuario.id), ahora=self._services.clock(),
                           estado_token=tokens.estado, dias_token=tokens.DIAS, valores=valores or {},
                           nuevo_token=nuevo_token, nuevo=nuevo)

    def on_get(self, req, resp):
        self._show(req, resp)

    def on_post_clave(self, req, resp):
        require(req)
        form = read_form(req)
        try:
            self._sessions.change_password(self._current(req), form.get("actual"), form.get("nueva"),
                                           form.get("confirmacion"), ip=req.remote_addr or "")
        except (InvalidInput, Throttled) as exc:
            self._show(req, resp, exc)
            return
        self._pages.redirect(req, resp, "/cuenta", "Se cambió su contraseña; sus otras sesiones se cerraron.")

    def on_post_cerrar(self, req, resp, sesion_id):
        require(req)
        read_form(req)
        try:
            self._sessions.end_one(self._current(req), sesion_id, ip=req.remote_addr or "")
        except InvalidInput as exc:
            self._show(req, resp, exc)
            return
        self._pages.redirect(req, resp, "/cuenta", "Se cerró la sesión.")

    def on_post_certificado(self, req, resp):
        usuario = require(req)
        storage = self._services.storage
        try:
            try:
                form = read_form(req, storage, partes=SUBIDA)
            except TooLarge:
                raise InvalidInput(certificado_usuario.REVISE,
                                   {"certificado": certificado_usuario.DEMASIADO_GRANDE}) from None
            archivos = form.files.get("certificado", [])
            try:  # read, and never kept: only the re-encrypted copy is
                data = archivos[0].path.read_bytes() if archivos else None
            finally:
                storage.discard(archivos)
            fila = certificado_usuario.subir(self._services, usuario, data, form.get("clave"),
                                             ip=req.remote_addr or "")
        except InvalidInput as exc:
            self._show(req, resp, exc)
            return
        self._pages.redirect(req, resp, "/cuenta#certificado",
                             f"Se guardó su certificado digital de {fila.titular}; desde ahora puede firmar "
                             "documentos con él.")

    def on_post_quitar_certificado(self, req, resp):
        usuario = require(req)
        read_form(req)
        quitado = certificado_usuario.quitar(self._services, usuario, ip=req.remote_addr or "")
        self._pages.redirect(req, resp, "/cuenta#certificado", "Se quitó su certificado digital." if quitado
                             else "No tenía un certificado digital guardado.")

    def on_post_token(self, req, resp):
        usuario = require(req)
        form = read_form(req)
        valores = {name: form.get(name) or "" for name in ("nombre", "alcance", "dias")}
        try:
            secreto, token = tokens.crear(self._services, usuario, valores["nombre"], valores["alcance"],
                                          valores["dias"], ip=req.remote_addr or "")
        except InvalidInput as exc:
            self._show(req, resp, exc, valores)
            return
        # Shown here once, never in a redirect's notice (a cookie) nor anywhere else later.
        self._show(req, resp, nuevo_token=secreto, nuevo=token)

    def on_post_revocar(self, req, resp, token_id):
        usuario = require(req)
        read_form(req)
        token = tokens.revocar(self._services, usuario, token_id, ip=req.remote_addr or "")
        self._pages.redirect(req, resp, "/cuenta#tokens", f"Se revocó el token «{token.nombre}»; ya no sirve.")

    @staticmethod
    def _current(req) -> Current:
        return Current(req.context.sesion, req.context.usuario)


def add_cuenta_routes(app, pages, sessions, services):
    cuenta = Cuenta(pages, sessions, services)
    app.add_route("/cuenta", cuenta)
    app.add_route("/cuenta/clave", cuenta, suffix="clave")
    app.add_route("/cuenta/sesiones/{sesion_id:int}/cerrar", cuenta, suffix="cerrar")
    app.add_route("/cuenta/certificado", cuenta, suffix="certificado")
    app.add_route("/cuenta/certificado/quitar", cuenta, suffix="quitar_certificado")
    app.add_route("/cuenta/tokens", cuenta, suffix="token")
    app.add_route("/cuenta/tokens/{token_id:int}/revocar", cuenta, suffix="revocar")
