"""Business days: the one calendar every filing date, deadline and timer is computed with.

National holidays come from the ``holidays`` package (country PE); the municipality adds its
regional and local holidays and each year's decreed non-working days as Feriado rows.
Rules (TUO Ley 27444 art. 145, Ley 31465): a deadline starts the business day after the act and
counts business days only; a filing sent on a non-business day counts on the next business day.
"""
from __future__ import annotations

import functools
import threading
import time as _time
from datetime import date, datetime, time, timedelta, timezone
from typing import Callable
from zoneinfo import ZoneInfo

import holidays


@functools.lru_cache(maxsize=64)
def _nacionales(year: int) -> dict[date, str]:
    return dict(holidays.country_holidays("PE", years=year, language="es").items())


class Calendario:
    """Peru's business-day calendar for one municipality.

    ``feriados_locales`` returns the municipality's own non-working days ({date: name}); it is
    re-read at most every ``ttl`` seconds, or at once after :meth:`refresh`.
    """

    def __init__(self, tz: ZoneInfo, feriados_locales: Callable[[], dict[date, str]] = dict,
                 cutoff: Callable[[], time | None] | time | None = None, ttl: float = 60.0):
        self.tz = tz
        self._cutoff = cutoff if callable(cutoff) else (lambda: cutoff)
        self._load = feriados_locales
        self._ttl = ttl
        self._lock = threading.Lock()
        self._locales: dict[date, str] = {}
        self._loaded_at = float("-inf")

    def refresh(self):
        """Forget the cached local holidays (after an administrator changed them)."""
        with self._lock:
            self._loaded_at = float("-inf")

    def _locales_vigentes(self) -> dict[date, str]:
        now = _time.monotonic()
        with self._lock:
            if now - self._loaded_at > self._ttl:
                self._locales = dict(self._load())
                self._loaded_at = now
            return self._locales

    def feriado(self, d: date) -> str | None:
        """The name of the holiday on ``d``, or None."""
        return self._locales_vigentes().get(d) or _nacionales(d.year).get(d)

    def feriados_nacionales(self, anio: int) -> dict[date, str]:
        """The national holidays of ``anio`` ({date: name}), without the municipality's own days."""
        return dict(_nacionales(anio))

    def es_habil(self, d: date) -> bool:
        return d.weekday() < 5 and self.feriado(d) is None

    def habil_o_siguiente(self, d: date) -> date:
        while not self.es_habil(d):
            d += timedelta(days=1)
        return d

    def siguiente_habil(self, d: date) -> date:
        return self.habil_o_siguiente(d + timedelta(days=1))

    def sumar_habiles(self, d: date, dias: int) -> date:
        """The ``dias``-th business day after ``d`` (the count starts the next business day)."""
        if dias < 0:
            raise ValueError("el plazo no puede ser negativo")
        for _ in range(dias):
            d = self.siguiente_habil(d)
        return d

    def habiles_entre(self, desde: date, hasta: date) -> int:
        """Business days after ``desde`` up to ``hasta`` inclusive (0 when ``hasta <= desde``)."""
        count, d = 0, desde
        while d < hasta:
            d += timedelta(days=1)
            if self.es_habil(d):
                count += 1
        return count

    def vence_plazo(self, desde: date, dias: int, pausas=()) -> datetime | None:
        """When a plazo of ``dias`` business days counted from ``desde`` runs out, as UTC, after its
        suspensions (art. 136): each pausa ``(inicio, fin)`` adds the business days after ``inicio`` up to ``fin``
        (those after ``desde`` only). None while a pausa is still open (``fin`` None): the plazo does not run.
        """
        extra = 0
        for inicio, fin in pausas:
            if fin is None:
                return None
            extra += self.habiles_entre(max(inicio, desde), fin)
        return self.vencimiento(desde, dias + extra)

    def fecha_local(self, momento: datetime) -> date:
        return momento.astimezone(self.tz).date()

    def fecha_presentacion(self, enviado: datetime) -> date:
        """The legal filing date of something sent at ``enviado`` (Ley 31465, optional cutoff)."""
        local = enviado.astimezone(self.tz)
        d = local.date()
        cutoff = self._cutoff()
        if cutoff is not None and self.es_habil(d) and local.time() >= cutoff:
            return self.siguiente_habil(d)
        return self.habil_o_siguiente(d)

    def vencimiento(self, desde: date, dias: int) -> datetime:
        """When a plazo of ``dias`` business days counted from ``desde`` runs out, as UTC.

        The plazo covers the whole of its last business day; it is over at the following midnight.
        """
        ultimo = self.sumar_habiles(desde, dias)
        fin = datetime.combine(ultimo + timedelta(days=1), time(0), self.tz)
        return fin.astimezone(timezone.utc)
