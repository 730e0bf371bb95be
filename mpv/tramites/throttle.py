"""Per-account throttling of password guesses (ASVS V6.3.1): after a few failures in a row, an account waits
before its password is checked again, and each new failure doubles the wait. Other accounts are not affected.

Every check of an account's password (a login, the current password when changing it) first takes its turn
with :func:`take`, in a write transaction of its own and before the slow check: the turn is counted as a
failure at once, and :func:`forgive` clears the count when the password proves right. Counting before
checking is what holds against guesses sent in parallel: each takes its own number under the row's lock, so
the sixth of them waits as the sixth of a series would (counted after the check, they would all read the same
count and all be checked).
"""
from __future__ import annotations

import math
from datetime import datetime, timedelta
from typing import NamedTuple

from ..models import IntentoAcceso

# The first FREE_FAILURES cost nothing; then the account waits BASE_WAIT, doubling up to MAX_WAIT.
FREE_FAILURES = 5
BASE_WAIT = timedelta(seconds=30)
MAX_WAIT = timedelta(minutes=15)
FORGET_AFTER = timedelta(hours=24)  # failures older than this no longer count


class Turn(NamedTuple):
    """An attempt's turn: ``fallos``, the failures in a row it makes if its password is wrong; ``espera``,
    the seconds the account still waits (0 when the attempt may go on; then no turn was taken)."""

    fallos: int
    espera: int


def wait_after(failures: int) -> timedelta:
    """How long an account waits after ``failures`` consecutive failed attempts."""
    if failures < FREE_FAILURES:
        return timedelta(0)
    return min(BASE_WAIT * (2 ** (failures - FREE_FAILURES)), MAX_WAIT)


def take(db, username: str, now: datetime) -> Turn:
    """Count an attempt on ``username`` as a failure before its password is checked (see the module's
    docstring); while the account waits, count nothing and say how long it still waits."""
    with db.write():
        # The row first, so that the lock below always has a row to hold (two first attempts at once
        # would otherwise both read «no failures»).
        IntentoAcceso.insert(username=username, fallos=0).on_conflict_ignore().execute()
        intento = db.locked(IntentoAcceso.select().where(IntentoAcceso.username == username)).get()
        if intento.bloqueado_hasta and intento.bloqueado_hasta > now:
            return Turn(intento.fallos, math.ceil((intento.bloqueado_hasta - now).total_seconds()))
        olvidado = intento.ultimo_fallo is None or now - intento.ultimo_fallo > FORGET_AFTER
        fallos = 1 if olvidado else intento.fallos + 1
        wait = wait_after(fallos)
        (IntentoAcceso.update(fallos=fallos, ultimo_fallo=now, bloqueado_hasta=now + wait if wait else None)
         .where(IntentoAcceso.id == intento.id).execute())
    return Turn(fallos, 0)


def forgive(username: str):
    """The password of ``username`` proved right: its failures no longer count. Call inside ``db.write()``."""
    IntentoAcceso.delete().where(IntentoAcceso.username == username).execute()
