"""Staff sessions: server-side rows behind a random cookie token, with idle and absolute timeouts.

A session ends at logout, after 30 minutes without use, 12 hours after login, or when its user is
disabled. The cookie carries only the token; the row stores its SHA-256.
"""
from __future__ import annotations

import dataclasses
import hashlib
import secrets
from datetime import datetime, timedelta
from typing import Callable

from .errors import NotAllowed
from .models import Sesion, Usuario
from .passwords import hash_password, verify_password

IDLE = timedelta(minutes=30)
ABSOLUTE = timedelta(hours=12)
TOUCH_EVERY = timedelta(seconds=60)  # write ultimo_uso at most this often (a write per request costs)

# A hash to verify against when the user does not exist, so both cases take the same time.
_DUMMY_HASH = hash_password("usuario-inexistente-para-igualar-tiempos")


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclasses.dataclass
class Current:
    sesion: Sesion
    usuario: Usuario


class Sessions:
    def __init__(self, database, clock: Callable[[], datetime]):
        self.db = database
        self.clock = clock

    def login(self, username: str, password: str, ip: str = "") -> tuple[str, Usuario]:
        """Check the password and open a session; return (cookie token, user).

        :raise NotAllowed: wrong user or password, or a disabled user (the same message for all).
        """
        usuario = Usuario.get_or_none(Usuario.username == username.strip())
        ok, rehash = verify_password(usuario.password_hash if usuario else _DUMMY_HASH, password)
        if not usuario or not ok or not usuario.activo:
            raise NotAllowed("Usuario o contraseña incorrectos.")
        token = secrets.token_urlsafe(32)
        now = self.clock()
        with self.db.write():
            if rehash:
                Usuario.update(password_hash=hash_password(password)).where(Usuario.id == usuario.id).execute()
            Sesion.create(token_hash=_digest(token), usuario=usuario, csrf=secrets.token_urlsafe(32),
                          creada=now, ultimo_uso=now, ip=ip)
        return token, usuario

    def current(self, token: str | None) -> Current | None:
        """The live session behind ``token`` (None when missing, expired or its user disabled)."""
        if not token:
            return None
        row = (Sesion.select(Sesion, Usuario).join(Usuario)
               .where(Sesion.token_hash == _digest(token)).first())
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

    def logout(self, token: str | None):
        if token:
            with self.db.write():
                Sesion.delete().where(Sesion.token_hash == _digest(token)).execute()

    def end_all(self, usuario_id: int):
        """End every session of a user (when disabled or their password is reset)."""
        Sesion.delete().where(Sesion.usuario == usuario_id).execute()
