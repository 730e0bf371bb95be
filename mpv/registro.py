"""Security events in the audit chain: access rows (logins, denials), administrative changes, and
refusals folded per client address so that an anonymous flood cannot grow the chain without limit.

Every row goes through :func:`mpv.history.append`, so it is hash-chained like the expedientes' history.
"""
from __future__ import annotations

import threading
from datetime import datetime, timedelta
from typing import Callable

from . import history

FOLD_WINDOW = timedelta(minutes=1)
_FOLD_MEMORY = 10_000  # keys kept before the stale ones are forgotten


def evento(now: datetime, tipo: str, accion: str, descripcion: str, usuario=None, ip: str = "",
           nombre: str = "", detalle: str = "") -> dict:
    """The field values of one audit row not tied to an expediente, ready for :func:`history.append`."""
    return {"expediente": None, "momento": now, "tipo": tipo, "accion": accion, "descripcion": descripcion[:200],
            "actor": usuario.id if usuario else None, "actor_nombre": usuario.username if usuario else nombre,
            "rol": usuario.rol if usuario else "",
            "actor_oficina": usuario.oficina.codigo if usuario and usuario.oficina_id else "",
            "ip": ip, "detalle": detalle, "payload": {}}


def admin_action(db, now: datetime, actor, accion: str, descripcion: str, detalle: str = ""):
    """Append one ``tipo=admin`` row: who changed what in Administración (``actor``, an
    :class:`mpv.engine.Actor`: a signed-in administrator, or the system for the ``mpv`` command). Call inside
    the change's ``db.write()``; never pass a password in ``descripcion`` or ``detalle``."""
    row = evento(now, "admin", accion, descripcion, ip=actor.ip, nombre=actor.nombre, detalle=detalle)
    row.update(actor=actor.usuario_id, rol=actor.rol, actor_oficina=actor.oficina)
    history.append(db, [row])


class Refusals:
    """Refused requests (denials, CSRF failures, rate limits, refused files) in the audit chain, at most one
    row per client address, kind and user a minute; the next row written says how many were folded."""

    def __init__(self, db, clock: Callable[[], datetime]):
        self._db = db
        self._clock = clock
        self._lock = threading.Lock()
        self._windows: dict[tuple, tuple[datetime, int]] = {}

    def _admit(self, key: tuple, now: datetime) -> tuple[bool, int]:
        """(write a row now, how many were folded since the last row of ``key``)."""
        with self._lock:
            start, folded = self._windows.get(key, (None, 0))
            if start is not None and now - start < FOLD_WINDOW:
                self._windows[key] = (start, folded + 1)
                return False, 0
            self._windows[key] = (now, 0)
            if len(self._windows) > _FOLD_MEMORY:
                for stale in [k for k, (s, _) in self._windows.items() if now - s >= FOLD_WINDOW]:
                    del self._windows[stale]
            return True, folded

    def record(self, accion: str, descripcion: str, ip: str, usuario=None, nombre: str = "",
               detalle: str = "") -> bool:
        """Append a ``tipo=acceso`` row for a refusal unless one of the same kind from ``ip`` (and user) was
        written less than a minute ago; return whether a row was written. (Per process: N processes
        write at most N rows a minute; the process log keeps a line for every refusal.)"""
        now = self._clock()
        write, folded = self._admit((ip, accion, usuario.id if usuario else None), now)
        if not write:
            return False
        if folded:
            detalle = f"{detalle} (y {folded} más de esta dirección omitidas desde la fila anterior)".strip()
        with self._db.write():
            history.append(self._db, [evento(now, "acceso", accion, descripcion, usuario, ip, nombre, detalle)])
        return True
