"""Benchmark: the process analytics page (/analitica) with 100k and 1M expedientes, on SQLite or PostgreSQL.

Measures, at each size, the time of one whole request (the real app through Falcon's test client,
signed in as an analyst: filter, every query, template, JSON for the charts) for several filters with
the figures computed anew (the page keeps them 5 minutes; that case is measured last), and the time of
each query for the default filter (the last 90 days). The cost grows with the rows in the range, not
with the whole history: 1M expedientes are about 12M Evento rows, 670k of them tasks of the last 90 days.

Run: ``python tests/bench/bench_analitica.py [--max N] [--carpeta DIR] [--postgresql ESQUEMA]``. The
database is seeded with ``mpv.demo.volumen`` (100k, then grown to 1M: about 7 minutes on 2 cores on SQLite), or
reused from ``--carpeta`` (or the schema); the analytics indexes are created by ``init-db`` (timed too).
"""
from __future__ import annotations

import argparse
import os
import platform
import sqlite3
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from mpv.auditoria import analitica  # noqa: E402
from mpv.config import Settings  # noqa: E402
from mpv.models import Expediente, TipoDocumento, Usuario  # noqa: E402

ANALISTA, CLAVE = "bench-analista", "una clave larga de prueba 123"


PG_URL = "postgresql://postgres@127.0.0.1:5432/test"


def settings_for(carpeta: Path, esquema: str = "") -> Settings:
    """SQLite in ``carpeta``, or the PostgreSQL schema ``esquema`` of the test database (created when missing)."""
    if not esquema:
        return Settings(data_dir=carpeta / "data", database_url=f"sqlite:///{carpeta / 'mpv.sqlite3'}")
    import psycopg2

    with psycopg2.connect(PG_URL) as conn, conn.cursor() as cur:
        cur.execute(f"CREATE SCHEMA IF NOT EXISTS {esquema}")
    return Settings(data_dir=carpeta / "data", database_url=f"{PG_URL}?options=-csearch_path%3D{esquema}")


def median_ms(fn, repeats: int) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeats):
        t0 = time.perf_counter()
        result = fn()
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times), result


def measure(services, repeats: int):
    from webclient import Browser

    from mpv.passwords import hash_password
    from mpv.web.app import create_app

    if not Usuario.select().where(Usuario.username == ANALISTA).exists():
        with services.db.write():
            Usuario.create(username=ANALISTA, nombre="Analista de prueba", rol="analista",
                           password_hash=hash_password(CLAVE))
    app = create_app(services)
    memoria = app._router.find("/analitica")[0]._memoria  # the figures kept 5 minutes: off, to measure the queries
    memoria.ttl = 0
    browser = Browser(app)
    browser.login(ANALISTA, CLAVE)
    hoy = services.calendario.fecha_local(services.clock())
    solicitud = TipoDocumento.get(TipoDocumento.codigo == "SOL").id
    casos = [
        ("últimos 90 días (por defecto)", {}),
        ("últimos 30 días", {"desde": (hoy - timedelta(days=29)).isoformat()}),
        ("último año", {"desde": (hoy - timedelta(days=364)).isoformat()}),
        ("90 días, oficina GDUR", {"oficina": "GDUR"}),
        ("90 días, tipo Solicitud", {"tipo": str(solicitud)}),
        ("un mes de hace un año", {"desde": (hoy - timedelta(days=395)).isoformat(),
                                   "hasta": (hoy - timedelta(days=365)).isoformat()}),
    ]
    print("  Página completa (mediana de %d, ms):" % repeats)
    for nombre, params in casos:
        ms, result = median_ms(lambda: browser.get("/analitica", **params), repeats)
        assert result.status_code == 200, (nombre, result.status_code)
        print(f"    {nombre:34} {ms:9.1f} ms")
    ms, result = median_ms(lambda: browser.get("/analitica/tareas.csv"), repeats)
    assert result.status_code == 200
    print(f"    {'CSV de tiempos por tarea':34} {ms:9.1f} ms")
    memoria.ttl = 300
    ms, result = median_ms(lambda: browser.get("/analitica"), repeats)
    print(f"    {'por defecto, cifras en memoria':34} {ms:9.1f} ms")

    db, tz = services.db.peewee, services.calendario.tz
    filtro = analitica.Filtro.ultimos(hoy)
    consultas = [
        ("tiempos por tarea y por oficina", lambda: analitica.tiempos(db, filtro, tz, {})),
        ("plazos vencidos", lambda: analitica.plazos_vencidos(filtro, tz)),
        ("vencidos ahora", lambda: analitica.vencidos_ahora(filtro)),
        ("presentaciones (día, tipo, estado)", lambda: analitica.presentaciones(filtro, tz)),
    ]
    print("  Consultas, últimos 90 días (mediana de %d, ms):" % repeats)
    for nombre, fn in consultas:
        ms, result = median_ms(fn, repeats)
        if isinstance(result, analitica.Tiempos):
            filas = sum(r.cantidad for r in result.por_tarea)
        else:
            filas = result.total if isinstance(result, analitica.Presentaciones) else sum(r.cantidad for r in result)
        print(f"    {nombre:34} {ms:9.1f} ms  ({filas:,} filas leídas)")


def machine() -> str:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor() or "?")
    return (f"CPU: {cpu}; {os.cpu_count()} núcleos; Python {platform.python_version()}; "
            f"SQLite {sqlite3.sqlite_version}; carga media al empezar: {os.getloadavg()[0]:.2f}")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max", type=int, default=1_000_000, help="tamaño mayor (por defecto 1 000 000)")
    parser.add_argument("--repeticiones", type=int, default=5)
    parser.add_argument("--carpeta", type=Path, help="conserva (y reutiliza) la base sembrada en esta carpeta")
    parser.add_argument("--postgresql", metavar="ESQUEMA", default="",
                        help=f"usa este esquema de {PG_URL} (se conserva) en vez de SQLite")
    args = parser.parse_args(argv)
    from mpv.demo import seed as demo_seed
    from mpv.demo.volumen import Barra, sembrar
    from mpv.services import Services

    print(machine() + (f"; PostgreSQL, esquema {args.postgresql}" if args.postgresql else ""))
    tmp = None if args.carpeta else tempfile.TemporaryDirectory(prefix="mpv-bench-")
    carpeta = args.carpeta or Path(tmp.name)
    carpeta.mkdir(parents=True, exist_ok=True)
    try:
        for size in sorted({min(100_000, args.max), args.max}):
            services = Services.build(settings_for(carpeta, args.postgresql))  # clock-ok: dated today, as a real run
            try:
                t0 = time.perf_counter()
                services.init_db()
                print(f"init-db (crea los índices que falten): {time.perf_counter() - t0:.1f} s")
                if not Expediente.select().exists():
                    demo_seed(services, 0)
                have = Expediente.select().count()
                if have > size:
                    print(f"La base de {carpeta} ya tiene {have:,} expedientes: se omite el tamaño {size:,}.")
                    continue
                if have < size:
                    informe = sembrar(services, size - have, progreso=Barra(sys.stderr))
                    print(f"Siembra hasta {size:,}: {informe.segundos:.0f} s")
                print(f"\nAnalítica con {size:,} expedientes:")
                measure(services, args.repeticiones)
            finally:
                services.close()
    finally:
        if tmp:
            tmp.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
