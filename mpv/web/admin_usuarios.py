"""Administración › Usuarios: list, create, edit, disable/enable (ending their sessions), reset password.

A generated password is shown once: it travels in a short-lived HttpOnly cookie to the page that shows
it, and that page removes the cookie; MPV stores only its argon2 hash.
"""
from __future__ import annotations

import re
from urllib.parse import quote, unquote

import peewee
from peewee import fn

from ..errors import InvalidInput
from ..forms import Field
from ..models import ROLES, Oficina, Usuario
from ..passwords import MIN_LENGTH, generate_password, hash_password, password_problem
from .admin_base import AdminResource, get_or_404, texto, unique_write
from .middleware import clear_cookie, set_cookie
from .requests import read_form

USERNAME = re.compile(r"[A-Za-z0-9._-]{3,60}")
EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
PASSWORD_COOKIE = "mpv_clave_nueva"
EDITABLE = ("nombre", "email", "rol", "oficina")


def add_usuario_routes(app, pages, services, sessions):
    app.add_route("/admin/usuarios", Usuarios(pages, services))
    app.add_route("/admin/usuarios/nuevo", UsuarioNuevo(pages, services))
    detalle = UsuarioDetalle(pages, services, sessions)
    app.add_route("/admin/usuarios/{usuario_id:int}", detalle)
    for suffix in ("desactivar", "activar", "contrasena", "sesiones"):
        app.add_route(f"/admin/usuarios/{{usuario_id:int}}/{suffix}", detalle, suffix=suffix)


def _fields(nuevo: bool, oficina_actual: Oficina | None = None) -> list[Field]:
    oficinas = list(Oficina.activas())
    if oficina_actual is not None and not oficina_actual.activa:
        oficinas.append(oficina_actual)  # the user keeps it until the administrator chooses another
    username = Field("username", "Usuario", "text", True, max_length=60,
                     help="De 3 a 60 caracteres: letras sin tilde, números, punto, guion o guion bajo.")
    return ([username] if nuevo else []) + [
        Field("nombre", "Nombre completo", "text", True, max_length=200),
        Field("email", "Correo electrónico", "email", False, max_length=200),
        Field("rol", "Rol", "select", True, choices=list(ROLES.items())),
        Field("oficina", "Oficina", "select", False, help="Obligatoria para el rol Oficina.",
              choices=[(o.codigo, f"{o.codigo} — {o.nombre}{'' if o.activa else ' (inactiva)'}") for o in oficinas]),
    ]


def _clean(valores: dict, actual: Usuario | None = None, campos: dict | None = None) -> dict:
    """The editable fields, checked, with ``oficina`` as a row (or None); ``campos`` are problems found before.

    :raise InvalidInput: naming each bad field.
    """
    campos = dict(campos or {})
    if not valores["nombre"] or len(valores["nombre"]) > 200:
        campos["nombre"] = "Escriba el nombre completo (hasta 200 caracteres)."
    if valores["email"] and (len(valores["email"]) > 200 or not EMAIL.fullmatch(valores["email"])):
        campos["email"] = "Escriba un correo como nombre@muni.gob.pe, o déjelo vacío."
    if valores["rol"] not in ROLES:
        campos["rol"] = "Elija un rol de la lista."
    oficina = Oficina.get_or_none(Oficina.codigo == valores["oficina"]) if valores["oficina"] else None
    sigue_igual = actual is not None and oficina is not None and oficina.id == actual.oficina_id
    if valores["oficina"] and (oficina is None or not (oficina.activa or sigue_igual)):
        campos["oficina"] = f"La oficina {valores['oficina']} no existe o está desactivada; elija una de la lista."
    elif valores["rol"] == "oficina" and oficina is None:
        campos["oficina"] = "Elija la oficina del usuario: el rol Oficina la necesita."
    if campos:
        raise InvalidInput("Revise los campos marcados.", campos)
    return {"nombre": valores["nombre"], "email": valores["email"], "rol": valores["rol"], "oficina": oficina}


def _new_user_problems(username: str, password: str) -> dict:
    """Problems with a new user's username and typed password (blank: one is generated)."""
    campos = {}
    if not USERNAME.fullmatch(username):
        campos["username"] = "Use de 3 a 60 caracteres: letras sin tilde, números, punto, guion o guion bajo."
    problem = password_problem(password, username) if password else None
    if problem:
        campos["password"] = problem
    return campos


def _describe(datos: dict) -> str:
    """A user's editable fields for an audit row: «nombre=…, email=…, rol=…, oficina=…» (never a password)."""
    oficina = datos["oficina"]
    return (f"nombre={datos['nombre']}, email={datos['email'] or '—'}, rol={datos['rol']}, "
            f"oficina={oficina.codigo if oficina else '—'}")


def _taken(username: str) -> InvalidInput:
    return InvalidInput(f"Ya existe el usuario {username}.",
                        {"username": f"Ya existe el usuario {username}; elija otro nombre de usuario."})


def _show_password_once(req, resp, usuario_id: int, password: str):
    set_cookie(req, resp, PASSWORD_COOKIE, quote(f"{usuario_id}:{password}"), max_age=300)


class Usuarios(AdminResource):
    """The list of users."""

    template = "admin/usuarios.html"

    def on_get(self, req, resp):
        self._admin(req)
        usuarios = (Usuario.select(Usuario, Oficina).join(Oficina, peewee.JOIN.LEFT_OUTER)
                    .order_by(Usuario.activo.desc(), Usuario.username))
        self._show(req, resp, usuarios=list(usuarios))


class UsuarioNuevo(AdminResource):
    """Create a user; a password left blank is generated and shown once."""

    template = "admin/usuario.html"

    def on_get(self, req, resp):
        self._admin(req)
        self._show(req, resp, fields=_fields(nuevo=True), u=None, min_length=MIN_LENGTH)

    def on_post(self, req, resp):
        self._admin(req)
        form = read_form(req)
        valores = {name: texto(form, name) for name in ("username", *EDITABLE)}
        password = form.get("password")
        try:
            clean = _clean(valores, campos=_new_user_problems(valores["username"], password))
            generated = not password
            password = password or generate_password()

            def create():
                taken = Usuario.get_or_none(fn.LOWER(Usuario.username) == valores["username"].lower())
                if taken is not None:
                    raise _taken(taken.username)
                # Whatever the administrator typed or MPV generated, the administrator knows it: the user
                # replaces it at the first login (ASVS V6.4.1).
                usuario = Usuario.create(username=valores["username"], password_hash=hash_password(password),
                                         cambiar_clave=True, **clean)
                self._audit(req, "usuario_creado", f"Se creó el usuario {usuario.username}.",
                            f"{_describe(clean)}; contraseña {'generada' if generated else 'escrita por el administrador'}")
                return usuario

            usuario = unique_write(self._services.db, create, _taken(valores["username"]))
        except InvalidInput as exc:
            self._show(req, resp, exc, valores, fields=_fields(nuevo=True), u=None, min_length=MIN_LENGTH)
            return
        if generated:
            _show_password_once(req, resp, usuario.id, password)
            self._pages.redirect(req, resp, f"/admin/usuarios/{usuario.id}/contrasena",
                                 f"Se creó el usuario {usuario.username}.")
        self._pages.redirect(req, resp, "/admin/usuarios",
                             f"Se creó el usuario {usuario.username} con la contraseña que usted escribió.")


class UsuarioDetalle(AdminResource):
    """Edit a user (name, e-mail, role, office); disable or enable them; reset their password."""

    template = "admin/usuario.html"

    def __init__(self, pages, services, sessions):
        super().__init__(pages, services)
        self._sessions = sessions

    def _form(self, req, resp, usuario, error=None, valores=None):
        valores = valores or {"nombre": usuario.nombre, "email": usuario.email, "rol": usuario.rol,
                              "oficina": usuario.oficina.codigo if usuario.oficina_id else ""}
        self._show(req, resp, error, valores, fields=_fields(nuevo=False, oficina_actual=usuario.oficina),
                   u=usuario, min_length=MIN_LENGTH)

    def on_get(self, req, resp, usuario_id):
        self._admin(req)
        self._form(req, resp, get_or_404(Usuario, usuario_id, "el usuario"))

    def on_post(self, req, resp, usuario_id):
        admin = self._admin(req)
        usuario = get_or_404(Usuario, usuario_id, "el usuario")
        form = read_form(req)
        valores = {name: texto(form, name) for name in EDITABLE}
        try:
            clean = _clean(valores, usuario)
            if usuario.id == admin.id and clean["rol"] != "admin":
                raise InvalidInput("No puede quitarse a sí mismo el rol de administrador.", {
                    "rol": "Pida a otro administrador que cambie su rol."})
            antes = _describe({"nombre": usuario.nombre, "email": usuario.email, "rol": usuario.rol,
                               "oficina": usuario.oficina})
            with self._services.db.write():
                Usuario.update(**clean).where(Usuario.id == usuario.id).execute()
                self._audit(req, "usuario_modificado", f"Se guardaron los datos del usuario {usuario.username}.",
                            f"antes: {antes}; después: {_describe(clean)}")
        except InvalidInput as exc:
            self._form(req, resp, usuario, exc, valores)
            return
        self._pages.redirect(req, resp, "/admin/usuarios", f"Se guardaron los datos del usuario {usuario.username}.")

    def _another_user(self, req, resp, usuario_id, refusal: str) -> Usuario | None:
        """The user an administrator acts on from the user's page; None (with ``refusal`` shown on that
        page) when it is the administrator themself."""
        admin = self._admin(req)
        usuario = get_or_404(Usuario, usuario_id, "el usuario")
        read_form(req)
        if usuario.id == admin.id:
            self._form(req, resp, usuario, InvalidInput(refusal))
            return None
        return usuario

    def on_post_desactivar(self, req, resp, usuario_id):
        usuario = self._another_user(req, resp, usuario_id,
                                     "No puede desactivar su propia cuenta; pida a otro administrador que lo haga.")
        if usuario is None:
            return
        with self._services.db.write():
            Usuario.update(activo=False).where(Usuario.id == usuario.id).execute()
            self._sessions.end_all(usuario.id)
            self._audit(req, "usuario_desactivado", f"Se desactivó el usuario {usuario.username}.",
                        "sus sesiones abiertas se cerraron")
        self._pages.redirect(req, resp, "/admin/usuarios",
                             f"Se desactivó el usuario {usuario.username}; sus sesiones abiertas se cerraron.")

    def on_post_sesiones(self, req, resp, usuario_id):
        """«Cerrar sesiones»: end every open session of the user, who stays active (ASVS V7.4.5)."""
        usuario = self._another_user(
            req, resp, usuario_id, "No puede cerrar desde aquí sus propias sesiones: use «Mi cuenta» para cerrar las demás.")
        if usuario is None:
            return
        with self._services.db.write():
            cerradas = self._sessions.end_all(usuario.id)
            self._audit(req, "sesiones_cerradas", f"Se cerraron las sesiones de {usuario.username}.",
                        f"sesiones cerradas: {cerradas}")
        self._pages.redirect(req, resp, f"/admin/usuarios/{usuario.id}",
                             f"Se cerraron las sesiones abiertas de {usuario.username} ({cerradas}).")

    def on_post_activar(self, req, resp, usuario_id):
        self._admin(req)
        usuario = get_or_404(Usuario, usuario_id, "el usuario")
        read_form(req)
        with self._services.db.write():
            Usuario.update(activo=True).where(Usuario.id == usuario.id).execute()
            self._audit(req, "usuario_activado", f"Se activó el usuario {usuario.username}.")
        self._pages.redirect(req, resp, "/admin/usuarios", f"Se activó el usuario {usuario.username}.")

    def on_post_contrasena(self, req, resp, usuario_id):
        # Resetting one's own would end this very session before the new password is shown.
        usuario = self._another_user(req, resp, usuario_id,
                                     "No puede restablecer su propia contraseña; pida a otro administrador que lo haga.")
        if usuario is None:
            return
        password = generate_password()
        with self._services.db.write():
            Usuario.update(password_hash=hash_password(password), cambiar_clave=True).where(
                Usuario.id == usuario.id).execute()
            self._sessions.end_all(usuario.id)
            self._audit(req, "contrasena_restablecida", f"Se restableció la contraseña de {usuario.username}.",
                        "contraseña generada; sus sesiones abiertas se cerraron")
        _show_password_once(req, resp, usuario.id, password)
        self._pages.redirect(req, resp, f"/admin/usuarios/{usuario.id}/contrasena",
                             f"Se restableció la contraseña de {usuario.username}; sus sesiones abiertas se cerraron.")

    def on_get_contrasena(self, req, resp, usuario_id):
        """The generated password, once: the cookie that carries it is removed by this page."""
        self._admin(req)
        usuario = get_or_404(Usuario, usuario_id, "el usuario")
        owner, _, password = unquote(req.cookies.get(PASSWORD_COOKIE) or "").partition(":")
        if owner != str(usuario.id):
            password = ""
        elif password:
            clear_cookie(req, resp, PASSWORD_COOKIE)
        self._pages.render(req, resp, "admin/contrasena.html", u=usuario, password=password)
