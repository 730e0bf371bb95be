"""Process analytics: the page of charts and tables (/analitica) and each table as CSV.

Readers: auditors, analysts and administrators. Mesa de partes and the offices run the process and
see their own trays; the comparison of every office's times is for those who audit or redesign it.
"""
from __future__ import annotations

import csv
import dataclasses
import io
import threading
import time
from datetime import date, timedelta

from ..auditoria import analitica
from ..errors import NotFound
from ..models import TipoDocumento
from ..periodic import Periodic
from .middleware import require

LECTORES = ("auditor", "analista", "admin")
HORA = 3600
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


def _filtro(req, services) -> tuple[analitica.Filtro, dict[str, str]]:
    """The filter of the query string; a bad value is named in ``errores`` and its default used."""
    errores: dict[str, str] = {}
    hoy = services.calendario.fecha_local(services.clock())
    defecto = analitica.Filtro.ultimos(hoy)

    def fecha(name, default):
        value = req.get_param(name) or ""
        try:
            result = date.fromisoformat(value) if value else default
        except ValueError:
            result = None
        if result is None or not PRIMERA <= result <= ULTIMA:  # the range's ends must stay datetimes
            errores[name] = "Use una fecha válida (día/mes/año)."
            return default
        return result

    desde, hasta = fecha("desde", defecto.desde), fecha("hasta", defecto.hasta)
    if hasta < desde:
        errores["hasta"] = ("La fecha «hasta» es anterior a «desde»: se muestran los últimos "
                            f"{analitica.DIAS_POR_DEFECTO} días.")
        desde, hasta = defecto.desde, defecto.hasta
    elif (hasta - desde).days + 1 > analitica.MAX_DIAS:
        errores["desde"] = f"Elija un periodo de hasta {analitica.MAX_DIAS} días: se muestran los últimos {analitica.MAX_DIAS}."
        desde = hasta - timedelta(days=analitica.MAX_DIAS - 1)
    oficina = req.get_param("oficina") or ""
    if oficina and oficina not in analitica.oficinas():
        errores["oficina"] = "Esa oficina no existe: se muestran todas."
        oficina = ""
    tipo, raw = None, req.get_param("tipo") or ""
    if raw:
        tipo = int(raw) if raw.isascii() and raw.isdigit() and len(raw) <= 9 else None
        if tipo is None or TipoDocumento.get_or_none(TipoDocumento.id == tipo) is None:
            errores["tipo"] = "Ese tipo de documento no existe: se muestran todos."
            tipo = None
    return analitica.Filtro(desde, hasta, oficina, tipo), errores


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


def _tablas(services, memoria: Memoria, filtro, nombres, fresh: bool = False) -> dict[str, list]:
    """The rows of the tables ``nombres`` (both times come from one pass, the filings' three from one query)."""
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


def _grafico(nombre: str, filas: list) -> dict:
    """What static/analitica.js draws for one table: labels and series (times in hours)."""
    labels = [f.nombre for f in filas]
    if TABLAS[nombre].tiempos:
        series = [{"label": "Mediana (horas)", "data": [round(f.mediana / HORA, 2) for f in filas]},
                  {"label": "Percentil 90 (horas)", "data": [round(f.p90 / HORA, 2) for f in filas]}]
    else:
        series = [{"label": "Cantidad", "data": [f.cantidad for f in filas]}]
    return {"id": nombre, "tipo": "line" if nombre == "por-dia" else "bar", "labels": labels, "series": series}


class Analitica:
    """Every table of the process analytics for the filter, each with its chart."""

    def __init__(self, pages, services, memoria: Memoria):
        self._pages = pages
        self._services = services
        self._memoria = memoria

    def on_get(self, req, resp):
        require(req, *LECTORES)
        filtro, errores = _filtro(req, self._services)
        tablas = _tablas(self._services, self._memoria, filtro, TABLAS)
        self._pages.render(
            req, resp, "analitica/analitica.html", filtro=filtro, errores=errores, tablas=tablas, TABLAS=TABLAS,
            minutos=MINUTOS_EN_MEMORIA,
            total=sum(f.cantidad for f in tablas["por-tipo"]), graficos=[_grafico(n, filas) for n, filas in tablas.items()],
            oficinas=sorted(analitica.oficinas().items(), key=lambda kv: kv[1]),
            tipos=list(TipoDocumento.select().order_by(TipoDocumento.nombre)), query=req.query_string or "")


def _celda(value):
    """A text cell a spreadsheet must not run as a formula (office names are typed by people)."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


class AnaliticaCsv:
    """One table of /analitica as CSV, for the same filter. :raise NotFound: for an unknown table."""

    def __init__(self, services, memoria: Memoria):
        self._services = services
        self._memoria = memoria

    def on_get(self, req, resp, tabla):
        require(req, *LECTORES)
        if tabla not in TABLAS:
            raise NotFound("No existe esa tabla de analítica.")
        filtro, _ = _filtro(req, self._services)
        filas = _tablas(self._services, self._memoria, filtro, [tabla])[tabla]
        out = io.StringIO()
        writer = csv.writer(out)
        if TABLAS[tabla].tiempos:
            writer.writerow(["clave", TABLAS[tabla].columna.lower(), "cantidad", "mediana_segundos", "p90_segundos"])
            writer.writerows([_celda(f.clave), _celda(f.nombre), f.cantidad, f.mediana, f.p90] for f in filas)
        else:
            writer.writerow(["clave", TABLAS[tabla].columna.lower(), "cantidad"])
            writer.writerows([_celda(f.clave), _celda(f.nombre), f.cantidad] for f in filas)
        resp.content_type = "text/csv; charset=utf-8"
        resp.set_header("Content-Disposition", f'attachment; filename="analitica-{tabla}-{filtro.desde}-{filtro.hasta}.csv"')
        resp.text = "\ufeff" + out.getvalue()  # the BOM makes spreadsheets read UTF-8 (tildes, ñ)


class CalentadorAnalitica(Periodic):
    """Keeps the page everyone opens first — the last 90 days, unfiltered — computed: at start, then a
    minute before its figures leave the memory, so no reader waits the cold 1.3 s of a million expedientes."""

    def __init__(self, services, memoria: Memoria):
        super().__init__("mpv-analitica", services.db, max(memoria.ttl - 60, 30), first=0.0)
        self._services, self._memoria = services, memoria

    def round(self):
        hoy = self._services.calendario.fecha_local(self._services.clock())
        _tablas(self._services, self._memoria, analitica.Filtro.ultimos(hoy), TABLAS, fresh=True)


def add_analitica_routes(app, pages, services) -> Memoria:
    """The routes of /analitica; returns the memory they share (for :class:`CalentadorAnalitica`)."""
    memoria = Memoria()
    app.add_route("/analitica", Analitica(pages, services, memoria))
    app.add_route("/analitica/{tabla}.csv", AnaliticaCsv(services, memoria))
    return memoria

