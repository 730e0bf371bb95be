"""Benchmark: the auditor's CSV exports over a million Evento rows, and the chain verification behind their pages.

A SQLite database is seeded with ``mpv.demo.volumen`` (realistic expedientes, ~12 Evento rows each) up to
``--realistas`` rows, then with login rows up to ``--eventos``, all in one hash chain. Each measurement then runs in a fresh child process (started and waited
for by PID) so that its peak RSS is its own: the app is built, an auditor signs in, and the CSV is read
from the WSGI response chunk by chunk, as waitress would send it, and thrown away. Printed: rows/s, MB/s,
peak RSS during the export (VmHWM reset before it) next to the RSS before it. Also: the whole-chain walk, and the
incremental check the pages do between walks (:class:`mpv.auditoria.queries.VerificacionCadena`).

Run: ``.venv/bin/python tests/bench/bench_export.py [--eventos N] [--carpeta DIR]`` (a DIR kept between
runs skips the seeding).
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from mpv.config import Settings  # noqa: E402

MB = 1024 * 1024


def settings_for(carpeta: Path) -> Settings:
    return Settings(data_dir=carpeta / "data", database_url=f"sqlite:///{carpeta / 'mpv.sqlite3'}",
                    limite_ingresos=10 ** 9)


def rss_mb(campo: str = "VmRSS") -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(campo + ":"):
            return int(line.split()[1]) / 1024
    return 0.0


def reiniciar_pico():
    """Linux: the peak RSS (VmHWM) starts again from the current RSS, so start-up peaks do not hide the export's."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        pass


def pico_mb() -> float:
    return rss_mb("VmHWM") or resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def eventos_en(carpeta: Path) -> int:
    path = carpeta / "mpv.sqlite3"
    if not path.exists():
        return 0
    with sqlite3.connect(path) as conn:
        try:
            return conn.execute("SELECT COUNT(*) FROM evento").fetchone()[0]
        except sqlite3.OperationalError:
            return 0


def sembrar_hasta(carpeta: Path, eventos: int, realistas: int):
    """Seed expedientes (``mpv.demo.volumen``) up to ``realistas`` Evento rows, then access rows (logins with their
    address, as a busy year has) up to ``eventos``: both through ``history.append``, one chain."""
    from datetime import datetime, timedelta, timezone

    from mpv import demo, history
    from mpv.demo.volumen import sembrar
    from mpv.services import Services

    services = Services.build(settings_for(carpeta))  # clock-ok: seeded up to today, as a real database
    try:
        services.init_db()
        demo.seed(services, 0)  # offices, document types and the demo users
        started = time.perf_counter()
        while (hay := eventos_en(carpeta)) < min(eventos, realistas):
            sembrar(services, max(1000, min(20_000, (min(eventos, realistas) - hay) // 11)))
            print(f"  sembrados {eventos_en(carpeta):,} eventos ({time.perf_counter() - started:.0f} s)", flush=True)
        inicio = datetime(2025, 1, 1, 13, tzinfo=timezone.utc)
        while (hay := eventos_en(carpeta)) < eventos:
            lote = [{"expediente": None, "momento": inicio + timedelta(seconds=30 * (hay + i)), "tipo": "acceso",
                     "accion": "ingreso", "descripcion": "Ingreso al sistema", "actor": None,
                     "actor_nombre": f"usuario{i % 40}", "rol": "oficina", "actor_oficina": "GDUR",
                     "ip": f"10.20.{i % 200}.{i % 250}", "payload": {}} for i in range(min(20_000, eventos - hay))]
            with services.db.write():
                for desde in range(0, len(lote), 1000):  # one INSERT holds at most 32,766 values on SQLite
                    history.append(services.db, lote[desde:desde + 1000])
            print(f"  {eventos_en(carpeta):,} eventos ({time.perf_counter() - started:.0f} s)", flush=True)
    finally:
        services.close()


def medir(carpeta: Path, que: str) -> dict:
    """In the child process: one measurement, returned as a dict."""
    from helpers import make_user
    from webclient import Browser
    from falcon import testing

    from mpv.auditoria import queries
    from mpv.models import Usuario
    from mpv.services import Services
    from mpv.web.app import create_app

    services = Services.build(settings_for(carpeta))  # clock-ok: a server process on the wall clock, as mpv serve
    if que == "verificar":
        reiniciar_pico()
        cache = queries.VerificacionCadena(services.clock)
        completa = cache.resultado()
        incremental = cache.resultado()
        assert completa.verificacion.ok, str(completa.verificacion)
        return {"filas": completa.verificacion.checked, "completa_s": completa.segundos,
                "incremental_s": incremental.segundos, "rss_pico_mb": pico_mb()}
    if Usuario.get_or_none(Usuario.username == "auditor-bench") is None:
        with services.db.write():
            make_user("auditor-bench", "auditor")
    app = create_app(services)
    browser = Browser(app)
    browser.login("auditor-bench")
    path = {"eventos": "/auditoria/eventos/csv", "expedientes": "/auditoria/expedientes/csv"}[que]
    environ = testing.create_environ(path=path, headers={
        "Cookie": "; ".join(f"{k}={v}" for k, v in browser.cookies.items())})
    reiniciar_pico()
    antes = rss_mb()
    started = time.perf_counter()
    size = 0
    body = app(environ, lambda status, headers, exc_info=None: None)
    for chunk in body:
        size += len(chunk)
    getattr(body, "close", lambda: None)()
    segundos = time.perf_counter() - started
    return {"bytes": size, "segundos": segundos, "rss_antes_mb": antes, "rss_pico_mb": pico_mb()}


def en_proceso(carpeta: Path, que: str) -> dict:
    proc = subprocess.Popen([sys.executable, __file__, "--medir", que, "--carpeta", str(carpeta)],
                            stdout=subprocess.PIPE, text=True)
    out, _ = proc.communicate(timeout=3600)
    if proc.returncode != 0:
        raise RuntimeError(f"la medición {que} falló (código {proc.returncode})")
    return json.loads(out.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--eventos", type=int, default=1_000_000)
    parser.add_argument("--carpeta", type=Path)
    parser.add_argument("--realistas", type=int, default=200_000,
                        help="eventos de expedientes sembrados con mpv.demo.volumen; el resto, ingresos (más rápidos de sembrar)")
    parser.add_argument("--medir", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.medir:
        print(json.dumps(medir(args.carpeta, args.medir)))
        return 0
    temporal = None
    carpeta = args.carpeta
    if carpeta is None:
        temporal = tempfile.TemporaryDirectory(prefix="mpv-bench-export-")
        carpeta = Path(temporal.name)
    carpeta.mkdir(parents=True, exist_ok=True)
    print(f"Python {platform.python_version()}, SQLite {sqlite3.sqlite_version}, {os.cpu_count()} núcleos, "
          f"carga media {' / '.join(f'{x:.2f}' for x in os.getloadavg())}")
    if eventos_en(carpeta) < args.eventos:
        print(f"Sembrando hasta {args.eventos:,} eventos en {carpeta} …")
        sembrar_hasta(carpeta, args.eventos, args.realistas)
    with sqlite3.connect(carpeta / "mpv.sqlite3") as conn:
        n_eventos = conn.execute("SELECT COUNT(*) FROM evento").fetchone()[0]
        n_expedientes = conn.execute("SELECT COUNT(*) FROM expediente").fetchone()[0]
    print(f"Base: {n_eventos:,} eventos, {n_expedientes:,} expedientes\n")
    print(f"{'exportación CSV':<22}{'filas':>12}{'MB':>9}{'s':>9}{'filas/s':>12}{'MB/s':>8}{'RSS antes':>11}{'RSS pico':>10}")
    for que, filas in (("eventos", n_eventos), ("expedientes", n_expedientes)):
        r = en_proceso(carpeta, que)
        print(f"{que:<22}{filas:>12,}{r['bytes'] / MB:>9.1f}{r['segundos']:>9.1f}{filas / r['segundos']:>12,.0f}"
              f"{r['bytes'] / MB / r['segundos']:>8.1f}{r['rss_antes_mb']:>9.0f}MB{r['rss_pico_mb']:>8.0f}MB")
    v = en_proceso(carpeta, "verificar")
    print(f"\nVerificación de la cadena ({v['filas']:,} eventos): completa {v['completa_s']:.1f} s "
          f"({v['filas'] / v['completa_s']:,.0f} eventos/s); incremental sin eventos nuevos {v['incremental_s'] * 1000:.1f} ms; "
          f"RSS pico {v['rss_pico_mb']:.0f} MB")
    if temporal:
        temporal.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
