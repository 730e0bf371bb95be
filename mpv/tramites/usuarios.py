"""The staff's accounts: list them, create, edit, activate and deactivate a user, reset their password, end
their sessions.

One set of rules for every face (Administración, ``mpv create-user``, the demo data and the volume seeder):

- the username is 3 to 60 letters without accents, digits, «.», «-» or «_», kept as typed (the login matches
  it exactly) and unique whatever its case: «Mesa2» is taken when «mesa2» exists;
- a typed password meets :func:`mpv.passwords.password_problem`; a blank one is generated and returned once;
- the role decides the office: «mesa» works in the mesa de partes office (given when none is chosen, since the
  engine hands mesa de partes' tasks to that office); «oficina» needs an active office other than mesa de
  partes (whose tasks only the role «mesa» does); «auditor», «analista» and «admin» belong to no office,
  and choosing one for them is refused rather than silently dropped;
- each change writes its ``tipo=admin`` audit row in the same transaction, and only an administrator (or the
  system: the ``mpv`` command, the demo) may make it.

Each action takes plain values and an :class:`mpv.engine.Actor` and raises :class:`InvalidInput` with a
Spanish message per field (``username``, ``password``, ``nombre``, ``email``, ``rol``, ``oficina``).
"""
from __future__ import annotations

import re
from typing import NamedTuple

import peewee
from peewee import fn

from .. import history
from ..correo_direccion import DireccionNoValida, direccion
from ..engine import Actor
from ..errors import InvalidInput, NotFound
from ..models import ROLES, Oficina, Usuario
from . import sessions, tokens
from .administracion import auditar, solo_administrador
from ..passwords import generate_password, hash_password, password_problem

USERNAME = re.compile(r"[A-Za-z0-9._-]{3,60}")
SIN_OFICINA = ("auditor", "analista", "admin")
REVISE = "Revise los datos del usuario."


class Creado(NamedTuple):
    """A new user and the password generated for them (None when the creator typed it)."""

    usuario: Usuario
    clave_generada: str | None


def crear_usuario(services, actor: Actor, username: str, nombre: str, rol: str, oficina: str = "",
                  email: str = "", password: str = "", cambiar_clave: bool = True, jefe: bool = False) -> Creado:
    """Create a staff user; ``oficina`` is an office code ("" for none, or mesa de partes' for «mesa»).

    ``cambiar_clave``: the user must replace the password at their next login (ASVS V6.4.1), as whenever
    someone else knows it; only a password its owner typed (``mpv create-user --password-stdin``) or a demo
    account's is not flagged.
    :raise InvalidInput: naming each bad field; nothing is written. :raise NotAllowed: for a non-administrator.
    """
    _puede(actor)
    username, nombre, email = username.strip(), nombre.strip(), email.strip()
    campos = {}
    if not USERNAME.fullmatch(username):
        campos["username"] = "Use de 3 a 60 caracteres: letras sin tilde, números, punto, guion o guion bajo."
    elif (taken := _con_nombre(username)) is not None:
        campos.update(_taken(taken).campos)
    problem = password_problem(password, username, nombre, email) if password else None
    if problem:
        campos["password"] = problem
    datos = _datos(campos, nombre, email, rol, oficina.strip(), jefe=jefe)
    generada = None if password else generate_password()
    password_hash = hash_password(password or generada)  # before the transaction: argon2 is slow by design
    como = "generada" if generada else "escrita al crearlo"
    try:
        with services.db.write():
            # Every audit row takes the chain head's lock: taken first, it orders creations, so the
            # case-insensitive check below cannot race another one (the unique index is case-sensitive).
            history.head(services.db)
            if (taken := _con_nombre(username)) is not None:
                raise _taken(taken)
            usuario = Usuario.create(username=username, password_hash=password_hash, cambiar_clave=cambiar_clave,
                                     creado_en=services.clock(), **datos)
            auditar(services, actor, "usuario_creado", f"Se creó el usuario {username}.",
                   f"{_describe(datos)}; contraseña {como}{', temporal' if cambiar_clave else ''}")
    except peewee.IntegrityError:  # a writer outside this module took the exact name first
        raise _taken(username) from None
    return Creado(usuario, generada)


def modificar_usuario(services, actor: Actor, usuario_id: int, nombre: str, rol: str, oficina: str = "",
                      email: str = "", jefe: bool = False) -> Usuario:
    """Save a user's name, e-mail, role, office (a user keeps an office deactivated after they joined it) and
    whether they head it.

    :raise InvalidInput: naming each bad field, or when administrators would demote themselves.
    :raise NotFound: / :raise NotAllowed:
    """
    _puede(actor)
    with services.db.write():
        usuario = _usuario(services, usuario_id)
        datos = _datos({}, nombre.strip(), email.strip(), rol, oficina.strip(), usuario, jefe)
        if usuario.id == actor.usuario_id and datos["rol"] != "admin":
            raise InvalidInput("No puede quitarse a sí mismo el rol de administrador.", {
                "rol": "Pida a otro administrador que cambie su rol."})
        antes = _describe({"nombre": usuario.nombre, "email": usuario.email, "rol": usuario.rol,
                           "oficina": usuario.oficina, "jefe": usuario.jefe})
        Usuario.update(**datos).where(Usuario.id == usuario.id).execute()
        auditar(services, actor, "usuario_modificado", f"Se guardaron los datos del usuario {usuario.username}.",
               f"antes: {antes}; después: {_describe(datos)}")
    return Usuario.get_by_id(usuario.id)


def desactivar_usuario(services, actor: Actor, usuario_id: int) -> Usuario:
    """Disable a user and end their open sessions. :raise InvalidInput: on one's own account."""
    with services.db.write():
        usuario = _otro(services, actor, usuario_id,
                        "No puede desactivar su propia cuenta; pida a otro administrador que lo haga.")
        Usuario.update(activo=False).where(Usuario.id == usuario.id).execute()
        sessions.end_all(usuario.id)
        revocados = tokens.revocar_todos(usuario.id, services.clock())  # reactivating the user revives none
        auditar(services, actor, "usuario_desactivado", f"Se desactivó el usuario {usuario.username}.",
               f"sus sesiones abiertas se cerraron; tokens de API revocados: {revocados}")
    return usuario


def activar_usuario(services, actor: Actor, usuario_id: int) -> Usuario:
    """Enable a user again."""
    _puede(actor)
    with services.db.write():
        usuario = _usuario(services, usuario_id)
        Usuario.update(activo=True).where(Usuario.id == usuario.id).execute()
        auditar(services, actor, "usuario_activado", f"Se activó el usuario {usuario.username}.")
    return usuario


def restablecer_contrasena(services, actor: Actor, usuario_id: int) -> tuple[Usuario, str]:
    """Give a user a generated password they must replace at the next login, ending their sessions;
    returns it, to be shown once. :raise InvalidInput: on one's own account (it would end this session
    before the password is shown)."""
    password = generate_password()
    password_hash = hash_password(password)
    with services.db.write():
        usuario = _otro(services, actor, usuario_id,
                        "No puede restablecer su propia contraseña; pida a otro administrador que lo haga.")
        Usuario.update(password_hash=password_hash, cambiar_clave=True).where(Usuario.id == usuario.id).execute()
        sessions.end_all(usuario.id)
        auditar(services, actor, "contrasena_restablecida", f"Se restableció la contraseña de {usuario.username}.",
               "contraseña generada; sus sesiones abiertas se cerraron")
    return usuario, password


def cerrar_sesiones(services, actor: Actor, usuario_id: int) -> tuple[Usuario, int]:
    """End every open session of a user, who stays active (ASVS V7.4.5); returns how many ended.
    :raise InvalidInput: on one's own account (the page «Mi cuenta» ends one's other sessions)."""
    with services.db.write():
        usuario = _otro(services, actor, usuario_id, "No puede cerrar desde aquí sus propias sesiones: use "
                                                     "«Mi cuenta» para cerrar las demás.")
        cerradas = sessions.end_all(usuario.id)
        auditar(services, actor, "sesiones_cerradas", f"Se cerraron las sesiones de {usuario.username}.",
               f"sesiones cerradas: {cerradas}")
    return usuario, cerradas


class Ficha(NamedTuple):
    """What a user's form shows: the user (None for a new one) and the offices it offers."""

    usuario: Usuario | None
    oficinas: list[Oficina]


def lista(actor: Actor) -> list[Usuario]:
    """Every user with their office, the active ones first, by username. :raise NotAllowed:"""
    _puede(actor)
    return list(Usuario.select(Usuario, Oficina).join(Oficina, peewee.JOIN.LEFT_OUTER)
                .order_by(Usuario.activo.desc(), Usuario.username))


def ficha(actor: Actor, usuario_id: int | None = None) -> Ficha:
    """The user ``usuario_id`` (None: a new one) and the offices their form offers: the active ones, and the
    deactivated one the user still works in (kept until an administrator chooses another).
    :raise NotFound: / :raise NotAllowed:"""
    _puede(actor)
    usuario = None
    if usuario_id is not None:
        usuario = (Usuario.select(Usuario, Oficina).join(Oficina, peewee.JOIN.LEFT_OUTER)
                   .where(Usuario.id == usuario_id).first())
        if usuario is None:
            raise _no_existe(usuario_id)
    oficinas = Oficina.activas()
    if usuario is not None and usuario.oficina_id and not usuario.oficina.activa:
        oficinas.append(usuario.oficina)
    return Ficha(usuario, oficinas)


def actor_activo(username: str, ip: str = "") -> Actor:
    """The active staff user ``username`` as the :class:`Actor` of an action taken for them (the command line).
    :raise NotFound: no active user has that name."""
    usuario = Usuario.get_or_none((Usuario.username == username) & (Usuario.activo == True))  # noqa: E712
    if usuario is None:
        raise NotFound(f"No existe el usuario activo {username}.")
    return Actor.de_usuario(usuario, ip=ip)


def existe(username: str) -> bool:
    """Whether ``username`` is taken, whatever its case."""
    return _con_nombre(username.strip()) is not None


def _puede(actor: Actor):
    solo_administrador(actor, "crear o cambiar usuarios")


def _usuario(services, usuario_id: int) -> Usuario:
    """The user, locked until the transaction ends. :raise NotFound:"""
    usuario = services.db.locked(Usuario.select().where(Usuario.id == usuario_id)).first()
    if usuario is None:
        raise _no_existe(usuario_id)
    return usuario


def _no_existe(usuario_id: int) -> NotFound:
    return NotFound(f"No existe el usuario N° {usuario_id}; vuelva a la lista y elíjalo de nuevo.")


def _otro(services, actor: Actor, usuario_id: int, refusal: str) -> Usuario:
    """Another user than ``actor``. :raise InvalidInput: ``refusal`` when it is the actor themself."""
    _puede(actor)
    usuario = _usuario(services, usuario_id)
    if usuario.id == actor.usuario_id:
        raise InvalidInput(refusal)
    return usuario


def _con_nombre(username: str) -> str | None:
    """The username, as stored, that equals ``username`` but for case; None when there is none."""
    row = (Usuario.select(Usuario.username).where(fn.LOWER(Usuario.username) == username.lower())
           .limit(1).tuples().first())
    return row[0] if row else None


def _taken(username: str) -> InvalidInput:
    return InvalidInput(f"Ya existe el usuario {username}.",
                        {"username": f"Ya existe el usuario {username}; elija otro nombre de usuario."})


def _datos(campos: dict, nombre: str, email: str, rol: str, codigo: str, actual: Usuario | None = None,
           jefe: bool = False) -> dict:
    """The checked editable fields, with ``oficina`` as a row (or None); ``campos`` are problems found before.

    :raise InvalidInput: naming each bad field.
    """
    campos = dict(campos)
    if not nombre or len(nombre) > 200:
        campos["nombre"] = "Escriba el nombre completo (hasta 200 caracteres)."
    if email and (len(email) > 200 or not _es_direccion(email)):
        campos["email"] = "Escriba un correo como nombre@muni.gob.pe, o déjelo vacío."
    oficina = None
    if rol not in ROLES:
        campos["rol"] = "Elija un rol de la lista."
    else:
        oficina, problem = _oficina(rol, codigo, actual)
        if problem:
            campos["oficina"] = problem
        elif jefe and rol in SIN_OFICINA:
            campos["jefe"] = f"El rol {ROLES[rol]} no pertenece a ninguna oficina, así que no puede ser su jefe."
    if campos:
        raise InvalidInput(REVISE, campos)
    return {"nombre": nombre, "email": email, "rol": rol, "oficina": oficina, "jefe": bool(jefe)}


def _oficina(rol: str, codigo: str, actual: Usuario | None) -> tuple[Oficina | None, str]:
    """The office a user of ``rol`` works in, from the code chosen; or the reason it cannot be."""
    if rol in SIN_OFICINA:
        if codigo:
            return None, f"El rol {ROLES[rol]} no pertenece a ninguna oficina: deje la oficina vacía."
        return None, ""
    mesa = Oficina.mesa_de_partes()
    if rol == "mesa" and mesa is None:
        return None, ("No hay ninguna oficina marcada como mesa de partes, y el rol Mesa de partes trabaja en "
                      "ella: regístrela antes de crear este usuario.")
    if rol == "mesa" and not codigo:
        return mesa, ""
    if not codigo:
        return None, "Elija la oficina del usuario: el rol Oficina la necesita."
    oficina = Oficina.por_codigo(codigo)
    sigue_igual = actual is not None and oficina is not None and oficina.id == actual.oficina_id
    if oficina is None or not (oficina.activa or sigue_igual):
        return None, f"La oficina {codigo} no existe o está desactivada; elija una oficina activa."
    es_mesa = mesa is not None and oficina.id == mesa.id
    if rol == "mesa" and not es_mesa:
        return None, f"El rol Mesa de partes trabaja en la oficina {mesa.codigo}: deje la oficina vacía o elija esa."
    if rol == "oficina" and es_mesa:
        return None, (f"La oficina {codigo} es la mesa de partes, que atiende el rol Mesa de partes: elija ese rol "
                      "u otra oficina.")
    return oficina, ""


def _es_direccion(email: str) -> bool:
    """Whether MPV could write to ``email``: the one rule of :mod:`mpv.correo_direccion`."""
    try:
        direccion(email)
    except DireccionNoValida:
        return False
    return True


def _describe(datos: dict) -> str:
    """A user's editable fields for an audit row: «nombre=…, email=…, rol=…, oficina=…» (never a password)."""
    oficina = datos["oficina"]
    return (f"nombre={datos['nombre']}, email={datos['email'] or '—'}, rol={datos['rol']}, "
            f"oficina={oficina.codigo if oficina else '—'}{', jefe de la oficina' if datos['jefe'] else ''}")

