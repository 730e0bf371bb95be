"""The business-day calendar: national holidays (holidays, PE), local Feriado rows, Ley 31465."""
from __future__ import annotations

from datetime import date, time

from helpers import LIMA, lima

from mpv.plazos import Calendario


def calendario(locales=None, cutoff=None):
    return Calendario(LIMA, lambda: dict(locales or {}), cutoff=cutoff)


def test_peru_national_holidays_2026():
    cal = calendario()
    for d in (date(2026, 7, 23), date(2026, 7, 28), date(2026, 7, 29), date(2026, 8, 6), date(2026, 12, 8),
              date(2026, 12, 9), date(2026, 4, 2), date(2026, 4, 3)):
        assert not cal.es_habil(d), d
    assert cal.feriado(date(2026, 12, 9))  # a name, in Spanish
    assert cal.es_habil(date(2026, 7, 27)) and cal.es_habil(date(2026, 7, 30))


def test_weekends_and_local_holidays_are_not_business_days():
    cal = calendario({date(2026, 3, 9): "Aniversario del distrito"})
    assert not cal.es_habil(date(2026, 3, 7)) and not cal.es_habil(date(2026, 3, 8))
    assert not cal.es_habil(date(2026, 3, 9))
    assert cal.siguiente_habil(date(2026, 3, 6)) == date(2026, 3, 10)


def test_deadlines_start_the_next_business_day():
    cal = calendario()
    # Filed Friday 24 July 2026: 27 is a business day, 28 and 29 are Fiestas Patrias.
    assert cal.sumar_habiles(date(2026, 7, 24), 1) == date(2026, 7, 27)
    assert cal.sumar_habiles(date(2026, 7, 24), 2) == date(2026, 7, 30)
    assert cal.sumar_habiles(date(2026, 7, 24), 3) == date(2026, 7, 31)
    assert cal.sumar_habiles(date(2026, 7, 24), 0) == date(2026, 7, 24)


def test_vencimiento_is_the_midnight_after_the_last_day():
    cal = calendario()
    assert cal.vencimiento(date(2026, 12, 4), 2) == lima(2026, 12, 11, 0, 0)  # Mon 7, Thu 10 (8, 9 holidays)


def test_business_days_between():
    cal = calendario()
    assert cal.habiles_entre(date(2026, 3, 6), date(2026, 3, 9)) == 1
    assert cal.habiles_entre(date(2026, 3, 9), date(2026, 3, 9)) == 0
    assert cal.habiles_entre(date(2026, 7, 24), date(2026, 7, 31)) == 3


def test_filing_date_ley_31465():
    cal = calendario({date(2026, 3, 16): "Feriado local"})
    assert cal.fecha_presentacion(lima(2026, 3, 13, 23, 59)) == date(2026, 3, 13)  # Friday 23:59 counts Friday
    assert cal.fecha_presentacion(lima(2026, 3, 14, 10, 0)) == date(2026, 3, 17)  # Saturday → Tue (Mon local hol.)
    assert cal.fecha_presentacion(lima(2026, 7, 28, 9, 0)) == date(2026, 7, 30)
    assert cal.fecha_presentacion(lima(2026, 12, 8, 9, 0)) == date(2026, 12, 10)


def test_optional_office_hours_cutoff():
    cal = calendario(cutoff=time(16, 30))
    assert cal.fecha_presentacion(lima(2026, 3, 13, 16, 29)) == date(2026, 3, 13)
    assert cal.fecha_presentacion(lima(2026, 3, 13, 16, 30)) == date(2026, 3, 16)
    assert calendario().fecha_presentacion(lima(2026, 3, 13, 16, 30)) == date(2026, 3, 13)  # off by default


def test_local_holidays_are_reloaded_after_refresh():
    rows = {}
    cal = Calendario(LIMA, lambda: dict(rows), ttl=3600)
    assert cal.es_habil(date(2026, 3, 9))
    rows[date(2026, 3, 9)] = "Día no laborable"
    assert cal.es_habil(date(2026, 3, 9))  # cached
    cal.refresh()
    assert not cal.es_habil(date(2026, 3, 9))
