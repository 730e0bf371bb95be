"""Personal API tokens for the staff API (``/api/v1/staff``): created and revoked in «Mi cuenta», shown once,
stored as their SHA-256 (as :mod:`mpv.tramites.sessions` stores a session's cookie), scoped to reading
(``lectura``) or to reading and writing (``escritura``), expiring a fixed number of days after their creation.

A token acts as its user: the same role and office rules as the web, and nothing while the user is disabled.
Every call made with a valid token is a row of the audit chain (``tipo="api"``: who, which token, method, path,
status, when, from where) that auditors read in «Auditoría › Registro de eventos»; a refused token is a refusal
row (``tipo="acceso"``, folded per address and minute like every refusal). Creating and revoking a token are
audit rows too.
"""
from __future__ import annotations

import dataclasses
import hashlib
import secrets
from datetime import datetime, timedelta

from peewee import JOIN

from .. import history, registro
from ..engine import Actor
from ..errors import InvalidInput, NotAllowed, NotAuthenticated, NotFound
from ..models import Oficina, Usuario
from ..models_tokens import ALCANCES, TokenApi

DIAS = (30, 90, 365)  # the lifetimes a token may be given, in days (at most a year)
MAXIMO_VIGENTES = 10  # live tokens a user may hold at once
PREFIJO = "mpv_"  # every token starts so: easy to recognise in a leaked file (secret scanners look for prefixes)
REVISE = "Revise los campos marcados."
EN_CUENTA = "Cree un token nuevo en «Mi cuenta»."


@dataclasses.dataclass
class Uso:
    """A request made with a valid token: the token, its user, and that user as the actor of an action."""

    token: TokenApi
    usuario: Usuario
    actor: Actor

    def exigir_escritura(self):
        """:raise NotAllowed: the token only reads."""
        if self.token.alcance != "escritura":
            raise NotAllowed("Este token es de solo lectura: no puede registrar acciones. Cree en «Mi cuenta» un "
                             "token de lectura y escritura para hacerlo.")


def _digest(secreto: str) -> str:
    return hashlib.sha256(secreto.encode()).hexdigest()


def estado(token: TokenApi, ahora: datetime) -> str:
    """«vigente», «vencido» or «revocado»."""
    if token.revocado is not None:
        return "revocado"
    return "vencido" if token.vence <= ahora else "vigente"


def de_usuario(usuario_id: int) -> list[TokenApi]:
    """A user's tokens, the newest first (revoked and expired ones too: the page says which)."""
    return list(TokenApi.select().where(TokenApi.usuario == usuario_id).order_by(TokenApi.creado.desc(),
                                                                                  TokenApi.id.desc()))


def crear(services, usuario: Usuario, nombre, alcance, dias, ip: str = "") -> tuple[str, TokenApi]:
    """Create a token for ``usuario``; return (the token, shown only now; its row).

    :raise InvalidInput: naming each bad field (``nombre``, ``alcance``, ``dias``), or the user already holds
        :data:`MAXIMO_VIGENTES` live tokens."""
    nombre = " ".join(str(nombre or "").split())
    campos = {}
    if not nombre:
        campos["nombre"] = "Escriba un nombre que le recuerde para qué es el token (p. ej., «Integración SGD»)."
    elif len(nombre) > 80 or any(not c.isprintable() for c in nombre):
        campos["nombre"] = "Use como máximo 80 caracteres, en una sola línea."
    if alcance not in ALCANCES:
        campos["alcance"] = "Elija «Solo lectura» o «Lectura y escritura»."
    try:
        dias = int(dias)
    except (TypeError, ValueError):
        dias = 0
    if dias not in DIAS:
        campos["dias"] = f"Elija una vigencia de {', '.join(map(str, DIAS[:-1]))} o {DIAS[-1]} días."
    if campos:
        raise InvalidInput(REVISE, campos)
    ahora = services.clock()
    secreto = PREFIJO + secrets.token_urlsafe(32)
    with services.db.write():
        vigentes = TokenApi.select().where((TokenApi.usuario == usuario.id) & TokenApi.revocado.is_null()
                                           & (TokenApi.vence > ahora)).count()
        if vigentes >= MAXIMO_VIGENTES:
            raise InvalidInput(f"Ya tiene {vigentes} tokens vigentes, el máximo. Revoque uno que ya no use y vuelva "
                               "a intentarlo.", {"nombre": "Revoque antes un token que ya no use."})
        token = TokenApi.create(usuario=usuario.id, nombre=nombre, prefijo=secreto[:len(PREFIJO) + 6],
                                token_hash=_digest(secreto), alcance=alcance, creado=ahora,
                                vence=ahora + timedelta(days=dias))
        _auditar(services, ahora, "token_creado", f"Creó el token de API «{nombre}»", usuario, ip,
                 f"token N° {token.id} ({token.prefijo}…), {ALCANCES[alcance].lower()}, vence a los {dias} días")
    return secreto, token


def revocar(services, usuario: Usuario, token_id: int, ip: str = "") -> TokenApi:
    """Revoke one of the user's own tokens (it stops working at once). Revoking it again changes nothing.

    :raise NotFound: it is not a token of this user."""
    ahora = services.clock()
    with services.db.write():
        token = TokenApi.get_or_none((TokenApi.id == token_id) & (TokenApi.usuario == usuario.id)) \
            if 0 < token_id < 2**63 else None
        if token is None:
            raise NotFound("Ese token no existe o no es suyo; vuelva a cargar la página.")
        if token.revocado is None:
            TokenApi.update(revocado=ahora).where(TokenApi.id == token.id).execute()
            _auditar(services, ahora, "token_revocado", f"Revocó el token de API «{token.nombre}»", usuario, ip,
                     f"token N° {token.id} ({token.prefijo}…)")
    return TokenApi.get_by_id(token.id)


def revocar_todos(usuario_id: int, ahora: datetime) -> int:
    """Revoke every live token of a user (when an administrator disables them); return how many. Call inside
    ``db.write()``."""
    return TokenApi.update(revocado=ahora).where((TokenApi.usuario == usuario_id)
                                                 & TokenApi.revocado.is_null()).execute()


def autenticar(services, autorizacion: str | None, ip: str = "") -> Uso:
    """The use of the token in an ``Authorization: Bearer <token>`` header.

    :raise NotAuthenticated: no bearer token, or one that is unknown, revoked, expired or whose user is disabled
        (recorded as a refusal, folded per address and minute)."""
    esquema, _, secreto = (autorizacion or "").strip().partition(" ")
    secreto = secreto.strip()
    if esquema.lower() != "bearer" or not secreto:
        raise _rechazo(services, ip, "Falta el token: envíe la cabecera «Authorization: Bearer <token>» con un "
                                     "token personal creado en «Mi cuenta».", "sin token")
    token = (TokenApi.select(TokenApi, Usuario, Oficina).join(Usuario).join(Oficina, JOIN.LEFT_OUTER)
             .where(TokenApi.token_hash == _digest(secreto)).first()) if len(secreto) <= 200 else None
    if token is None:
        raise _rechazo(services, ip, "El token no es válido: revise que lo copió completo. " + EN_CUENTA,
                       "token desconocido")
    ahora, usuario = services.clock(), token.usuario
    situacion = estado(token, ahora)
    if situacion != "vigente":
        cuando = token.revocado if situacion == "revocado" else token.vence
        dia = services.calendario.fecha_local(cuando).strftime("%d/%m/%Y")
        que = "fue revocado" if situacion == "revocado" else "venció"
        raise _rechazo(services, ip, f"El token «{token.nombre}» {que} el {dia}. {EN_CUENTA}",
                       f"token N° {token.id} {situacion}", usuario)
    if not usuario.activo:
        raise _rechazo(services, ip, "El usuario de este token está desactivado; el token ya no sirve.",
                       f"token N° {token.id}: usuario desactivado", usuario)
    return Uso(token, usuario, Actor.de_usuario(usuario, ip=ip))


def _rechazo(services, ip: str, mensaje: str, detalle: str, usuario=None) -> NotAuthenticated:
    services.refusals.record("token_rechazado", "Token de API rechazado", ip, usuario,
                             "" if usuario else "anónimo", detalle)
    return NotAuthenticated(mensaje)


def registrar(services, uso: Uso, metodo: str, ruta: str, estado_http: int, ip: str = ""):
    """Record one call made with a token (whatever its answer): a ``tipo="api"`` row of the audit chain, and the
    token's last use and count of uses."""
    ahora, token = services.clock(), uso.token
    fila = registro.evento(ahora, "api", "api", f"{metodo} {ruta}", uso.usuario, ip,
                           detalle=f"token N° {token.id} «{token.nombre}» ({token.prefijo}…): {estado_http}")
    fila["payload"] = {"token": token.id, "metodo": metodo, "ruta": ruta[:500], "estado": estado_http}
    with services.db.write():
        history.append(services.db, [fila])
        TokenApi.update(ultimo_uso=ahora, usos=TokenApi.usos + 1).where(TokenApi.id == token.id).execute()


def _auditar(services, ahora, accion, descripcion, usuario, ip, detalle):
    history.append(services.db, [registro.evento(ahora, "acceso", accion, descripcion, usuario, ip, detalle=detalle)])
