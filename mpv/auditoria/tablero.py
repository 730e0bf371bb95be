"""The analytics page (/analitica) and its tables as CSV: who reads them, the filter they are computed for,
the figures kept a few minutes in memory, and the warmer that keeps the page everyone opens first computed.

Readers: auditors, analysts and administrators. Mesa de partes and the offices run the process and see their
own trays; the comparison of every office's times is for those who audit or redesign it.
"""
from __future__ import annotations

import dataclasses
import threading
import time
from datetime import date, timedelta

from ..engine import Actor
from ..errors import NotFound
from ..models import TipoDocumento
from ..periodic import Periodic
from ..tramites.roles import exigir_rol
from . import analitica
from .export import Exportacion, csv_stream

LECTORES = ("auditor", "analista", "admin")
MINUTOS_EN_MEMORIA = 5
PRIMERA, ULTIMA = date(1900, 1, 1), date(2999, 12, 31)


@dataclasses.dataclass(frozen=True)
class Tabla:
    titulo: str
    columna: str  # what the rows are
    tiempos: bool  # rows of analitica.Tiempo (else analitica.Conteo)


TABLAS = {
    "tareas": Tabla("Tiempo en cada tarea", "Tarea", True),
    "oficinas": Tabla("Tiempo de cada expediente en cada oficina", "Oficina", True),
    "plazos-vencidos": Tabla("Plazos vencidos en el periodo", "Oficina y plazo", False),
    "vencidos-ahora": Tabla("Expedientes vencidos hoy", "Oficina", False),
    "por-dia": Tabla("Presentaciones por día", "Fecha de presentación", False),
    "por-tipo": Tabla("Presentaciones por tipo de documento", "Tipo de documento", False),
    "por-estado": Tabla("Expedientes presentados en el periodo, por estado actual", "Estado", False),
}


@dataclasses.dataclass(frozen=True)
class Consulta:
    """The filter as the reader wrote it (the page's query string): ISO dates, an office code, a type id."""

    desde: str = ""
    hasta: str = ""
    oficina: str = ""
    tipo: str = ""


@dataclasses.dataclass
class Tablero:
    """Every table for the filter, and the choices of the filter's fields."""

    filtro: analitica.Filtro
    errores: dict[str, str]  # what was wrong in the filter, and what is shown instead
    tablas: dict[str, list]  # name of TABLAS → rows
    oficinas: list[tuple[str, str]]  # (code, name), by name
    tipos: list[TipoDocumento]

    @property
    def total(self) -> int:
        """Filings in the range."""
        return sum(f.cantidad for f in self.tablas["por-tipo"])


class Memoria:
    """The tables of recent filters, kept ``ttl`` seconds: at a million expedientes a cold page of 90 days
    costs 1.3 s on SQLite (tests/bench/bench_analitica.py), and figures over weeks barely move in minutes."""

    def __init__(self, ttl: float = MINUTOS_EN_MEMORIA * 60, size: int = 64, reloj=time.monotonic):
        self.ttl, self._size, self._reloj = ttl, size, reloj
        self._items: dict = {}
        self._lock = threading.Lock()

    def get(self, key, compute, fresh: bool = False):
        """The value kept for ``key``, or ``compute()``'s (kept); ``fresh`` computes it anew in any case."""
        now = self._reloj()
        with self._lock:
            hit = self._items.get(key)
        if hit is not None and now - hit[0] < self.ttl and not fresh:
            return hit[1]
        value = compute()  # outside the lock: two requests may compute the same figures, never wait on each other
        with self._lock:
            if len(self._items) >= self._size:
                self._items = {k: v for k, v in self._items.items() if now - v[0] < self.ttl}
                if len(self._items) >= self._size:
                    self._items.pop(min(self._items, key=lambda k: self._items[k][0]))
            self._items[key] = (now, value)
        return value


def ver_tablero(services, actor: Actor, memoria: Memoria, consulta: Consulta) -> Tablero:
    """Every table of the process analytics for the filter (a bad field is named, and its default used).

    :raise NotAllowed: mesa de partes and the offices."""
    exigir_rol(actor, LECTORES)
    filtro, errores = revisar_filtro(services, consulta)
    return Tablero(filtro, errores, tablas(services, memoria, filtro, TABLAS),
                   sorted(analitica.oficinas().items(), key=lambda kv: kv[1]),
                   list(TipoDocumento.select().order_by(TipoDocumento.nombre)))


def exportar_tabla(services, actor: Actor, memoria: Memoria, nombre: str, consulta: Consulta) -> Exportacion:
    """One table of the page as CSV, for the same filter (a bad field: its default, as on the page).

    :raise NotFound: an unknown table. :raise NotAllowed: as :func:`ver_tablero`."""
    exigir_rol(actor, LECTORES)
    if nombre not in TABLAS:
        raise NotFound("No existe esa tabla de analítica.")
    filtro, _ = revisar_filtro(services, consulta)
    filas = tablas(services, memoria, filtro, [nombre])[nombre]
    tabla = TABLAS[nombre]
    if tabla.tiempos:
        encabezado = ["clave", tabla.columna.lower(), "cantidad", "mediana_segundos", "p90_segundos"]
        celdas = lambda f: [f.clave, f.nombre, f.cantidad, f.mediana, f.p90]  # noqa: E731
    else:
        encabezado = ["clave", tabla.columna.lower(), "cantidad"]
        celdas = lambda f: [f.clave, f.nombre, f.cantidad]  # noqa: E731
    return Exportacion(f"analitica-{nombre}-{filtro.desde}-{filtro.hasta}.csv",
                       csv_stream(encabezado, [filas], celdas))


def revisar_filtro(services, consulta: Consulta) -> tuple[analitica.Filtro, dict[str, str]]:
    """The filter of ``consulta``: the last 90 days by the services' clock unless dates are given, a range
    cut to :data:`analitica.MAX_DIAS`; a bad value is named in the errors and its default used."""
    errores: dict[str, str] = {}
    defecto = analitica.Filtro.ultimos(services.calendario.fecha_local(services.clock()))

    def fecha(name, value, default):
        try:
            result = date.fromisoformat(value) if value else default
        except ValueError:
            result = None
        if result is None or not PRIMERA <= result <= ULTIMA:  # the range's ends must stay datetimes
            errores[name] = "Use una fecha válida (día/mes/año)."
            return default
        return result

    desde, hasta = fecha("desde", consulta.desde, defecto.desde), fecha("hasta", consulta.hasta, defecto.hasta)
    if hasta < desde:
        errores["hasta"] = ("La fecha «hasta» es anterior a «desde»: se muestran los últimos "
                            f"{analitica.DIAS_POR_DEFECTO} días.")
        desde, hasta = defecto.desde, defecto.hasta
    elif (hasta - desde).days + 1 > analitica.MAX_DIAS:
        errores["desde"] = (f"Elija un periodo de hasta {analitica.MAX_DIAS} días: se muestran los últimos "
                            f"{analitica.MAX_DIAS}.")
        desde = hasta - timedelta(days=analitica.MAX_DIAS - 1)
    oficina = consulta.oficina
    if oficina and oficina not in analitica.oficinas():
        errores["oficina"] = "Esa oficina no existe: se muestran todas."
        oficina = ""
    tipo, raw = None, consulta.tipo
    if raw:
        tipo = int(raw) if raw.isascii() and raw.isdigit() and len(raw) <= 9 else None
        if tipo is None or TipoDocumento.get_or_none(TipoDocumento.id == tipo) is None:
            errores["tipo"] = "Ese tipo de documento no existe: se muestran todos."
            tipo = None
    return analitica.Filtro(desde, hasta, oficina, tipo), errores


def tablas(services, memoria: Memoria, filtro: analitica.Filtro, nombres, fresh: bool = False) -> dict[str, list]:
    """The rows of the tables ``nombres`` (both times come from one pass, the filings' three from one query),
    each kept in ``memoria``; ``fresh`` computes them anew."""
    db, tz = services.db.peewee, services.calendario.tz
    tiempos, presentaciones = [], []  # each computed once for its tables

    def uno(nombre):
        if nombre in ("tareas", "oficinas"):
            if not tiempos:
                etiquetas = {name: info.label for name, info in services.definitions.active().user_tasks.items()}
                tiempos.append(analitica.tiempos(db, filtro, tz, etiquetas))
            return tiempos[0].por_tarea if nombre == "tareas" else tiempos[0].por_oficina
        if nombre == "plazos-vencidos":
            return analitica.plazos_vencidos(filtro, tz)
        if nombre == "vencidos-ahora":
            return analitica.vencidos_ahora(filtro)
        if not presentaciones:
            presentaciones.append(analitica.presentaciones(filtro, tz))
        p = presentaciones[0]
        return {"por-dia": p.por_dia, "por-tipo": p.por_tipo, "por-estado": p.por_estado}[nombre]

    return {nombre: memoria.get((filtro, nombre), lambda: uno(nombre), fresh) for nombre in nombres}


class CalentadorAnalitica(Periodic):
    """Keeps the page everyone opens first — the last 90 days, unfiltered — computed: at start, then a
    minute before its figures leave the memory, so no reader waits the cold 1.3 s of a million expedientes."""

    def __init__(self, services, memoria: Memoria):
        super().__init__("mpv-analitica", services.db, max(memoria.ttl - 60, 30), first=0.0)
        self._services, self._memoria = services, memoria

    def round(self):
        hoy = self._services.calendario.fecha_local(self._services.clock())
        tablas(self._services, self._memoria, analitica.Filtro.ultimos(hoy), TABLAS, fresh=True)
