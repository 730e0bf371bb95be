"""Staff sessions: server-side rows behind a random cookie token, with idle and absolute timeouts,
per-account throttling of password guesses (:mod:`mpv.tramites.throttle`), and every login, failure,
logout and password change in the audit history.

A session ends at logout, after 30 minutes without use, 12 hours after login, when its user signs in
again from the same browser, when its user changes their password from another session, or when its
user is disabled. The cookie carries only the token; the row stores its SHA-256.
"""
from __future__ import annotations

import dataclasses
import hashlib
import math
import secrets
from datetime import datetime, timedelta
from typing import Callable

from peewee import JOIN

from .. import history, registro
from ..errors import InvalidInput, NotAllowed, NotFound, Throttled
from ..models import Oficina, Sesion, Usuario
from ..passwords import hash_password, password_problem, verify_password
from . import throttle

IDLE = timedelta(minutes=30)
ABSOLUTE = timedelta(hours=12)
TOUCH_EVERY = timedelta(seconds=60)  # write ultimo_uso at most this often (a write per request costs)
REVISE = "Revise los campos marcados."

# A hash to verify against when the user does not exist, so both cases take the same time.
_DUMMY_HASH = hash_password("usuario-inexistente-para-igualar-tiempos")


def _session_row(token_hash: str) -> Sesion | None:
    """The session with its user and the user's office, in one query (read on every staff request)."""
    return (Sesion.select(Sesion, Usuario, Oficina).join(Usuario).join(Oficina, JOIN.LEFT_OUTER)
            .where(Sesion.token_hash == token_hash).first())


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclasses.dataclass
class Current:
    """The session a request comes with, and its user."""

    sesion: Sesion
    usuario: Usuario


class Sessions:
    """The staff's sessions: sign in and out, the session behind a cookie, «Mi cuenta» (one's own password
    and sessions), and the audit rows of refused requests."""

    def __init__(self, database, clock: Callable[[], datetime], refusals: registro.Refusals | None = None):
        self.db = database
        self.clock = clock
        self.refusals = refusals or registro.Refusals(database, clock)

    def login(self, username: str, password: str, ip: str = "", anterior: str | None = None) -> tuple[str, Usuario]:
        """Check the password and open a session; return (cookie token, user).

        ``anterior``: the token this browser already had. Signing in again ends that session: the older
        token must not outlive the re-authentication (ASVS V7.2.4). A failed attempt leaves it as it was.
        :raise Throttled: this account failed too often lately; the message says how long to wait.
        :raise NotAllowed: wrong user or password, or a disabled user (the same message for all).
        """
        username = username.strip()[:60]
        now = self.clock()
        turn = throttle.take(self.db, username, now)
        if turn.espera:
            self._write(now, "ingreso_bloqueado", "Intento de ingreso durante la espera", None, ip, username,
                        f"espera {turn.espera} s")
            raise _throttled(username, turn.espera)
        usuario = Usuario.get_or_none(Usuario.username == username)
        ok, rehash = verify_password(usuario.password_hash if usuario else _DUMMY_HASH, password)
        if not usuario or not ok or not usuario.activo:
            self._write(now, "ingreso_fallido", "Intento de ingreso fallido", None, ip, username,
                        f"fallos seguidos: {turn.fallos}")
            raise NotAllowed("Usuario o contraseña incorrectos.")
        token = secrets.token_urlsafe(32)
        nuevo_hash = hash_password(password) if rehash else None  # before the transaction: argon2 is slow
        with self.db.write():
            if nuevo_hash:
                Usuario.update(password_hash=nuevo_hash).where(Usuario.id == usuario.id).execute()
            Sesion.create(token_hash=_digest(token), usuario=usuario, csrf=secrets.token_urlsafe(32),
                          creada=now, ultimo_uso=now, ip=ip)
            throttle.forgive(username)
            self._append(now, "ingreso", "Ingreso al sistema", usuario, ip)
        if anterior:
            self.logout(anterior, ip)
        return token, usuario

    def current(self, token: str | None) -> Current | None:
        """The live session behind ``token`` (None when missing, expired or its user disabled)."""
        if not token:
            return None
        row = _session_row(_digest(token))
        if row is None:
            return None
        now = self.clock()
        if not row.usuario.activo or now - row.ultimo_uso > IDLE or now - row.creada > ABSOLUTE:
            with self.db.write():
                Sesion.delete().where(Sesion.id == row.id).execute()
            return None
        if now - row.ultimo_uso > TOUCH_EVERY:
            with self.db.write():
                Sesion.update(ultimo_uso=now).where(Sesion.id == row.id).execute()
        return Current(row, row.usuario)

    def logout(self, token: str | None, ip: str = ""):
        """End the session behind ``token`` (audited when it was still live); nothing happens without one."""
        if not token:
            return
        current = self.current(token)
        with self.db.write():
            Sesion.delete().where(Sesion.token_hash == _digest(token)).execute()
            if current is not None:
                self._append(self.clock(), "salida", "Salida del sistema", current.usuario, ip)

    def denied(self, usuario, ip: str, method: str, path: str, message: str, accion: str = "denegado"):
        """Record a refused request in the audit history (who, from where, what), folded per address and
        minute (:class:`mpv.registro.Refusals`)."""
        self.refusals.record(accion, f"Acceso denegado: {method} {path}", ip, usuario,
                             "" if usuario else "anónimo", message)

    def limited(self, usuario, ip: str, method: str, path: str, retry_after: int):
        """Record a request refused by a rate limit, folded as :meth:`denied`."""
        self.refusals.record("limite", f"Límite de solicitudes: {method} {path}", ip, usuario,
                             nombre="anónimo", detalle=f"espere {retry_after} s")

    def of(self, usuario_id: int) -> list[Sesion]:
        """The live sessions of a user, the most recently used first."""
        now = self.clock()
        rows = Sesion.select().where(Sesion.usuario == usuario_id).order_by(Sesion.ultimo_uso.desc(), Sesion.id.desc())
        return [s for s in rows if now - s.ultimo_uso <= IDLE and now - s.creada <= ABSOLUTE]

    def end_one(self, current: Current, sesion_id: int, ip: str = ""):
        """End one of the user's own other sessions.

        :raise NotFound: it is not a live session of this user.
        :raise InvalidInput: it is the session making the request (that one ends with «Salir»).
        """
        if sesion_id == current.sesion.id:
            raise InvalidInput("Esta es la sesión que está usando ahora; para cerrarla use «Salir».")
        with self.db.write():
            if not Sesion.delete().where((Sesion.id == sesion_id) & (Sesion.usuario == current.usuario.id)).execute():
                raise NotFound("Esa sesión ya no está abierta; vuelva a cargar la página.")
            self._append(self.clock(), "sesion_cerrada", "Cerró otra de sus sesiones", current.usuario, ip,
                         detalle=f"sesión N° {sesion_id}")

    def change_password(self, current: Current, actual: str, nueva: str, confirmacion: str, ip: str = ""):
        """The user's own password change: the current one must match, the new one meet the rules; every
        other session of the user ends and the change is audited. A wrong current password counts as a
        failed login of the account (:mod:`mpv.tramites.throttle`): a stolen session cannot guess it.

        :raise InvalidInput: naming each bad field (``actual``, ``nueva``, ``confirmacion``).
        :raise Throttled: the account failed too often lately; nothing is checked until the wait ends.
        """
        usuario = Usuario.get_by_id(current.usuario.id)
        now = self.clock()
        turn = throttle.take(self.db, usuario.username, now)
        if turn.espera:
            self._write(now, "cambio_clave_bloqueado", "Intento de cambio de contraseña durante la espera",
                        usuario, ip, detalle=f"espera {turn.espera} s")
            raise _throttled(usuario.username, turn.espera)
        ok, _ = verify_password(usuario.password_hash, actual or "")
        if not ok:
            self._write(now, "cambio_clave_fallido", "Contraseña actual incorrecta al cambiar la contraseña",
                        usuario, ip, detalle=f"fallos seguidos: {turn.fallos}")
            raise InvalidInput(REVISE, {"actual": "La contraseña actual no es correcta."})
        campos = _new_password_problems(usuario, actual, nueva or "", confirmacion)
        if campos:
            with self.db.write():
                throttle.forgive(usuario.username)  # the current password was right
            raise InvalidInput(REVISE, campos)
        nuevo_hash = hash_password(nueva)  # before the transaction: argon2 is slow by design
        with self.db.write():
            Usuario.update(password_hash=nuevo_hash, cambiar_clave=False).where(Usuario.id == usuario.id).execute()
            otras = Sesion.delete().where((Sesion.usuario == usuario.id) & (Sesion.id != current.sesion.id)).execute()
            throttle.forgive(usuario.username)
            self._append(now, "cambio_clave", "Cambió su contraseña", usuario, ip,
                         detalle=f"otras sesiones cerradas: {otras}")

    def _write(self, now, accion, descripcion, usuario, ip, nombre="", detalle=""):
        with self.db.write():
            self._append(now, accion, descripcion, usuario, ip, nombre, detalle)

    def _append(self, now, accion, descripcion, usuario, ip, nombre="", detalle=""):
        history.append(self.db, [registro.evento(now, "acceso", accion, descripcion, usuario, ip, nombre, detalle)])


def end_all(usuario_id: int) -> int:
    """End every session of a user (when disabled or their password is reset); return how many. Call inside
    ``db.write()``."""
    return Sesion.delete().where(Sesion.usuario == usuario_id).execute()


def _new_password_problems(usuario: Usuario, actual: str, nueva: str, confirmacion: str) -> dict[str, str]:
    """Each field's problem with a new password: the rules of :func:`mpv.passwords.password_problem`, other
    than the current one, and typed the same twice."""
    problem = password_problem(nueva, usuario.username, usuario.nombre, usuario.email)
    if problem:
        return {"nueva": problem}
    if nueva == actual:
        return {"nueva": "La nueva contraseña debe ser distinta de la actual."}
    if nueva != confirmacion:
        return {"confirmacion": "La confirmación no coincide con la nueva contraseña."}
    return {}


def _throttled(username: str, seconds: int) -> Throttled:
    return Throttled(f"Demasiados intentos fallidos para el usuario {username}. Espere {_duration(seconds)} e "
                     f"inténtelo de nuevo.", seconds)


def _duration(seconds: int) -> str:
    if seconds < 60:
        return f"{seconds} segundos"
    minutes = math.ceil(seconds / 60)
    return f"{minutes} minuto{'s' if minutes != 1 else ''}"
