"""Administración › Usuarios: list, create, edit, disable/enable (ending their sessions), reset password.

A generated password is shown once: it travels in a short-lived HttpOnly cookie to the page that shows
it, and that page removes the cookie; MPV stores only its argon2 hash.
"""
from __future__ import annotations

from urllib.parse import quote, unquote

from ..engine.forms import Field
from ..errors import InvalidInput
from ..passwords import MIN_LENGTH
from ..tramites import usuarios
from ..tramites.usuarios import ROLES
from .admin_base import AdminResource, texto
from .middleware import clear_cookie, set_cookie
from .requests import read_form

PASSWORD_COOKIE = "mpv_clave_nueva"
EDITABLE = ("nombre", "email", "rol", "oficina")


def add_usuario_routes(app, pages, services):
    app.add_route("/admin/usuarios", Usuarios(pages, services))
    app.add_route("/admin/usuarios/nuevo", UsuarioNuevo(pages, services))
    detalle = UsuarioDetalle(pages, services)
    app.add_route("/admin/usuarios/{usuario_id:int}", detalle)
    for suffix in ("desactivar", "activar", "contrasena", "sesiones"):
        app.add_route(f"/admin/usuarios/{{usuario_id:int}}/{suffix}", detalle, suffix=suffix)


def _fields(nuevo: bool, oficinas: list) -> list[Field]:
    """The user form's fields; ``oficinas`` are the offices it offers (:func:`usuarios.ficha`)."""
    username = Field("username", "Usuario", "text", True, max_length=60,
                     help="De 3 a 60 caracteres: letras sin tilde, números, punto, guion o guion bajo.")
    return ([username] if nuevo else []) + [
        Field("nombre", "Nombre completo", "text", True, max_length=200),
        Field("email", "Correo electrónico", "email", False, max_length=200),
        Field("rol", "Rol", "select", True, choices=list(ROLES.items())),
        Field("oficina", "Oficina", "select", False,
              help="Obligatoria para el rol Oficina. Mesa de partes trabaja en la oficina de mesa de partes (si la "
                   "deja vacía, se asigna esa); Auditor, Analista y Administrador no llevan oficina.",
              choices=[(o.codigo, f"{o.codigo} — {o.nombre}{'' if o.activa else ' (inactiva)'}") for o in oficinas]),
        Field("jefe", "Jefe de la oficina", "checkbox", False,
              help="Asigna los expedientes de su oficina a su personal y lee los reportes de la oficina."),
    ]


def _show_password_once(req, resp, usuario_id: int, password: str):
    set_cookie(req, resp, PASSWORD_COOKIE, quote(f"{usuario_id}:{password}"), max_age=300)


class Usuarios(AdminResource):
    """The list of users."""

    template = "admin/usuarios.html"

    def on_get(self, req, resp):
        self._show(req, resp, usuarios=usuarios.lista(self._actor(req)))


class UsuarioNuevo(AdminResource):
    """Create a user; a password left blank is generated and shown once."""

    template = "admin/usuario.html"

    def _form(self, req, resp, actor, error=None, valores=None):
        self._show(req, resp, error, valores, fields=_fields(True, usuarios.ficha(actor).oficinas), u=None,
                   min_length=MIN_LENGTH)

    def on_get(self, req, resp):
        self._form(req, resp, self._actor(req))

    def on_post(self, req, resp):
        actor = self._actor(req)
        form = read_form(req)
        valores = {name: texto(form, name) for name in ("username", *EDITABLE)} | {"jefe": form.get("jefe") == "true"}
        try:
            # Whatever the administrator typed or MPV generated, the administrator knows it: the user
            # replaces it at the first login (ASVS V6.4.1).
            usuario, generada = usuarios.crear_usuario(self._services, actor, password=form.get("password"),
                                                       **valores)
        except InvalidInput as exc:
            self._form(req, resp, actor, exc, valores)
            return
        oficina = f" (oficina {usuario.oficina.codigo})" if usuario.oficina_id else ""
        if generada:
            _show_password_once(req, resp, usuario.id, generada)
            self._pages.redirect(req, resp, f"/admin/usuarios/{usuario.id}/contrasena",
                                 f"Se creó el usuario {usuario.username}{oficina}.")
        self._pages.redirect(req, resp, "/admin/usuarios",
                             f"Se creó el usuario {usuario.username}{oficina} con la contraseña que usted escribió.")


class UsuarioDetalle(AdminResource):
    """Edit a user (name, e-mail, role, office); disable or enable them; reset their password."""

    template = "admin/usuario.html"

    def _form(self, req, resp, actor, usuario_id, error=None, valores=None):
        usuario, oficinas = usuarios.ficha(actor, usuario_id)
        valores = valores or {"nombre": usuario.nombre, "email": usuario.email, "rol": usuario.rol,
                              "oficina": usuario.oficina.codigo if usuario.oficina_id else "", "jefe": usuario.jefe}
        self._show(req, resp, error, valores, fields=_fields(False, oficinas), u=usuario, min_length=MIN_LENGTH)

    def on_get(self, req, resp, usuario_id):
        self._form(req, resp, self._actor(req), usuario_id)

    def on_post(self, req, resp, usuario_id):
        actor = self._actor(req)
        form = read_form(req)
        valores = {name: texto(form, name) for name in EDITABLE} | {"jefe": form.get("jefe") == "true"}
        try:
            usuario = usuarios.modificar_usuario(self._services, actor, usuario_id, **valores)
        except InvalidInput as exc:
            self._form(req, resp, actor, usuario_id, exc, valores)
            return
        self._pages.redirect(req, resp, "/admin/usuarios", f"Se guardaron los datos del usuario {usuario.username}.")

    def _act(self, req, resp, usuario_id, action):
        """``action(services, actor, usuario_id)``'s result; None when it refused (shown on the user's page)."""
        actor = self._actor(req)
        read_form(req)
        try:
            return action(self._services, actor, usuario_id)
        except InvalidInput as exc:
            self._form(req, resp, actor, usuario_id, exc)
            return None

    def on_post_desactivar(self, req, resp, usuario_id):
        usuario = self._act(req, resp, usuario_id, usuarios.desactivar_usuario)
        if usuario is not None:
            self._pages.redirect(req, resp, "/admin/usuarios",
                                 f"Se desactivó el usuario {usuario.username}; sus sesiones abiertas se cerraron.")

    def on_post_sesiones(self, req, resp, usuario_id):
        """«Cerrar sesiones»: end every open session of the user, who stays active (ASVS V7.4.5)."""
        hecho = self._act(req, resp, usuario_id, usuarios.cerrar_sesiones)
        if hecho is not None:
            usuario, cerradas = hecho
            self._pages.redirect(req, resp, f"/admin/usuarios/{usuario.id}",
                                 f"Se cerraron las sesiones abiertas de {usuario.username} ({cerradas}).")

    def on_post_activar(self, req, resp, usuario_id):
        usuario = self._act(req, resp, usuario_id, usuarios.activar_usuario)
        if usuario is not None:
            self._pages.redirect(req, resp, "/admin/usuarios", f"Se activó el usuario {usuario.username}.")

    def on_post_contrasena(self, req, resp, usuario_id):
        hecho = self._act(req, resp, usuario_id, usuarios.restablecer_contrasena)
        if hecho is not None:
            usuario, password = hecho
            _show_password_once(req, resp, usuario.id, password)
            self._pages.redirect(req, resp, f"/admin/usuarios/{usuario.id}/contrasena",
                                 f"Se restableció la contraseña de {usuario.username}; sus sesiones abiertas se "
                                 "cerraron.")

    def on_get_contrasena(self, req, resp, usuario_id):
        """The generated password, once: the cookie that carries it is removed by this page."""
        usuario = usuarios.ficha(self._actor(req), usuario_id).usuario
        owner, _, password = unquote(req.cookies.get(PASSWORD_COOKIE) or "").partition(":")
        if owner != str(usuario.id):
            password = ""
        elif password:
            clear_cookie(req, resp, PASSWORD_COOKIE)
        self._pages.render(req, resp, "admin/contrasena.html", u=usuario, password=password)
