"""Staff sessions: server-side rows behind a random cookie token, with idle and absolute timeouts,
per-account throttling of failed logins, and every login, failure and logout in the audit history.

A session ends at logout, after 30 minutes without use, 12 hours after login, or when its user is
disabled. The cookie carries only the token; the row stores its SHA-256.
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
from ..models import IntentoAcceso, Oficina, Sesion, Usuario
from ..passwords import hash_password, password_problem, verify_password

IDLE = timedelta(minutes=30)
ABSOLUTE = timedelta(hours=12)
TOUCH_EVERY = timedelta(seconds=60)  # write ultimo_uso at most this often (a write per request costs)

# Failed logins of one account: the first FREE_FAILURES cost nothing; then it waits BASE_WAIT, doubling up to MAX_WAIT.
FREE_FAILURES = 5
BASE_WAIT = timedelta(seconds=30)
MAX_WAIT = timedelta(minutes=15)
FORGET_AFTER = timedelta(hours=24)

# A hash to verify against when the user does not exist, so both cases take the same time.
_DUMMY_HASH = hash_password("usuario-inexistente-para-igualar-tiempos")

def _session_row(token_hash: str) -> Sesion | None:
    """The session with its user and the user's office, in one query (read on every staff request)."""
    return (Sesion.select(Sesion, Usuario, Oficina).join(Usuario).join(Oficina, JOIN.LEFT_OUTER)
            .where(Sesion.token_hash == token_hash).first())


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def wait_after(failures: int) -> timedelta:
    """How long an account waits after ``failures`` consecutive failed logins."""
    if failures < FREE_FAILURES:
        return timedelta(0)
    return min(BASE_WAIT * (2 ** (failures - FREE_FAILURES)), MAX_WAIT)


@dataclasses.dataclass
class Current:
    sesion: Sesion
    usuario: Usuario


class Sessions:
    def __init__(self, database, clock: Callable[[], datetime], refusals: registro.Refusals | None = None):
        self.db = database
        self.clock = clock
        self.refusals = refusals or registro.Refusals(database, clock)

    def login(self, username: str, password: str, ip: str = "") -> tuple[str, Usuario]:
        """Check the password and open a session; return (cookie token, user).

        :raise Throttled: this account failed too often lately; the message says how long to wait.
        :raise NotAllowed: wrong user or password, or a disabled user (the same message for all).
        """
        username = username.strip()[:60]
        now = self.clock()
        intento = IntentoAcceso.get_or_none(IntentoAcceso.username == username)
        if intento and intento.bloqueado_hasta and intento.bloqueado_hasta > now:
            seconds = math.ceil((intento.bloqueado_hasta - now).total_seconds())
            self._record(now, "ingreso_bloqueado", username, ip, f"espera {seconds} s")
            raise Throttled(f"Demasiados intentos fallidos para el usuario {username}. Espere "
                            f"{_duration(seconds)} e inténtelo de nuevo.", seconds)
        usuario = Usuario.get_or_none(Usuario.username == username)
        ok, rehash = verify_password(usuario.password_hash if usuario else _DUMMY_HASH, password)
        if not usuario or not ok or not usuario.activo:
            self._failure(now, username, ip, intento)
            raise NotAllowed("Usuario o contraseña incorrectos.")
        token = secrets.token_urlsafe(32)
        with self.db.write():
            if rehash:
                Usuario.update(password_hash=hash_password(password)).where(Usuario.id == usuario.id).execute()
            Sesion.create(token_hash=_digest(token), usuario=usuario, csrf=secrets.token_urlsafe(32),
                          creada=now, ultimo_uso=now, ip=ip)
            IntentoAcceso.delete().where(IntentoAcceso.username == username).execute()
            self._append(now, "ingreso", "Ingreso al sistema", usuario, ip)
        return token, usuario

    def _failure(self, now, username, ip, intento):
        fallos = 1 if intento is None or now - (intento.ultimo_fallo or now) > FORGET_AFTER else intento.fallos + 1
        wait = wait_after(fallos)
        with self.db.write():
            (IntentoAcceso.insert(username=username, fallos=fallos, ultimo_fallo=now,
                                  bloqueado_hasta=now + wait if wait else None)
             .on_conflict(conflict_target=[IntentoAcceso.username],
                          update={IntentoAcceso.fallos: fallos, IntentoAcceso.ultimo_fallo: now,
                                  IntentoAcceso.bloqueado_hasta: now + wait if wait else None}).execute())
            self._append(now, "ingreso_fallido", "Intento de ingreso fallido", None, ip, username,
                         f"fallos seguidos: {fallos}")

    def _record(self, now, accion, username, ip, detalle=""):
        with self.db.write():
            self._append(now, accion, "Intento de ingreso durante la espera", None, ip, username, detalle)

    def _append(self, now, accion, descripcion, usuario, ip, nombre="", detalle=""):
        history.append(self.db, [registro.evento(now, "acceso", accion, descripcion, usuario, ip, nombre, detalle)])

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
        other session of the user ends and the change is audited.

        :raise InvalidInput: naming each bad field (``actual``, ``nueva``, ``confirmacion``).
        """
        usuario = Usuario.get_by_id(current.usuario.id)
        ok, _ = verify_password(usuario.password_hash, actual or "")
        if not ok:
            raise InvalidInput("Revise los campos marcados.", {"actual": "La contraseña actual no es correcta."})
        campos = {}
        problem = password_problem(nueva or "", usuario.username, usuario.nombre, usuario.email)
        if problem:
            campos["nueva"] = problem
        elif nueva == actual:
            campos["nueva"] = "La nueva contraseña debe ser distinta de la actual."
        if not campos and nueva != confirmacion:
            campos["confirmacion"] = "La confirmación no coincide con la nueva contraseña."
        if campos:
            raise InvalidInput("Revise los campos marcados.", campos)
        with self.db.write():
            Usuario.update(password_hash=hash_password(nueva), cambiar_clave=False).where(
                Usuario.id == usuario.id).execute()
            otras = Sesion.delete().where((Sesion.usuario == usuario.id) & (Sesion.id != current.sesion.id)).execute()
            self._append(self.clock(), "cambio_clave", "Cambió su contraseña", usuario, ip,
                         detalle=f"otras sesiones cerradas: {otras}")


def end_all(usuario_id: int) -> int:
    """End every session of a user (when disabled or their password is reset); return how many. Call inside
    ``db.write()``."""
    return Sesion.delete().where(Sesion.usuario == usuario_id).execute()


def _duration(seconds: int) -> str:
    if seconds < 60:
        return f"{seconds} segundos"
    minutes = math.ceil(seconds / 60)
    return f"{minutes} minuto{'s' if minutes != 1 else ''}"
