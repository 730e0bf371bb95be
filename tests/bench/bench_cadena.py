"""Benchmark: how far one database's shared rows let writers go on PostgreSQL (docs/scaling.md).

Every Evento append locks the one chain head (``cadena``, id 1) until its transaction commits, and every
filing locks the year's ``numeracion`` row from the start of its transaction to its commit. This runs N
writer *processes* (no GIL between them) against one fresh schema and prints, for each N:

- ``cadena``: transactions that append one audit-sized Evento row through :func:`mpv.history.append`;
- ``sin cadena``: the same row inserted in its own transaction without touching the head (the baseline:
  what the database does when nothing serialises the writers);
- ``presentaciones``: whole filings (:func:`mpv.tramites.presentacion.presentar` with a small PDF, in-process, no HTTP).

Run: ``.venv/bin/python tests/bench/bench_cadena.py [--segundos S] [--procesos 1,2,4,8]``.
Skipped when no PostgreSQL answers at 127.0.0.1:5432 (database ``test``).
"""
from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import platform
import statistics
import sys
import tempfile
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

PG_URL = "postgresql://postgres@127.0.0.1:5432/test"


def _url(schema: str) -> str:
    return f"{PG_URL}?options=-csearch_path%3D{schema}"


MOMENTO = datetime(2026, 3, 2, 14, 0, tzinfo=timezone.utc)  # when the rows say they were written


def _row(i: int) -> dict:
    """An audit-sized Evento row (a login), as mpv.registro builds them."""
    return {"expediente": None, "momento": MOMENTO, "tipo": "acceso", "accion": "ingreso",
            "descripcion": f"Ingreso al sistema ({i})", "actor": None, "actor_nombre": "mesa", "rol": "mesa",
            "ip": "10.0.0.7", "detalle": "", "payload": {"n": i}}


def _worker(kind: str, url: str, data_dir: str, index: int, start_at: float, seconds: float, out):
    from mpv import history
    from mpv.models import Evento

    if kind == "presentaciones":
        from helpers import FakeClock, base_moment, file_tramite  # noqa: E402
        from mpv.config import Settings
        from mpv.demo import sample_pdf
        from mpv.services import Services

        services = Services.build(Settings(data_dir=Path(data_dir), database_url=url),
                                  clock=FakeClock(base_moment(9, 0)))
        pdf = sample_pdf("Solicitud")
        db = services.db

        def once(i):
            file_tramite(services, pdf=pdf)
    else:
        from mpv.db import Database

        db = Database(url)
        # The baseline's rows stay clear of the chain's seq values, and of other runs' and workers' rows.
        base = 10**12 + (int(start_at) % 10**5) * 10**7 + index * 10**5 + 1

        def once(i):
            with db.write():
                if kind == "cadena":
                    history.append(db, [_row(i)])
                else:
                    fields = _row(i)
                    fields["payload"] = "{}"
                    row = Evento(**fields, seq=base + i, prev_hash="0" * 64)
                    row.hash = history.row_hash(row)
                    row.save(force_insert=True)

    once(-1)  # connect and warm up before the clock starts
    while time.time() < start_at:  # clock-ok: one start instant for every process, not a date
        time.sleep(0.005)
    latencies, i, end = [], 0, start_at + seconds
    while time.time() < end:  # clock-ok: see start_at
        t0 = time.perf_counter()
        once(i)
        latencies.append(time.perf_counter() - t0)
        i += 1
    db.close()
    out.put(latencies)


def run(kind: str, url: str, data_dir: str, procs: int, seconds: float) -> tuple[float, float, float]:
    """(transactions/s, p50 ms, p99 ms) with ``procs`` writers for ``seconds``."""
    ctx = mp.get_context("spawn")
    out = ctx.Queue()
    start_at = time.time() + 4.0 + procs * 0.6  # clock-ok: every worker imported and warmed up before it
    workers = [ctx.Process(target=_worker, args=(kind, url, data_dir, i, start_at, seconds, out))
               for i in range(procs)]
    for w in workers:
        w.start()
    results = [out.get(timeout=seconds + 120) for _ in workers]
    for w in workers:
        w.join()
    lat = sorted(x for r in results for x in r)
    p99 = lat[min(len(lat) - 1, int(len(lat) * 0.99))]
    return len(lat) / seconds, statistics.median(lat) * 1000, p99 * 1000


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--segundos", type=float, default=5.0)
    parser.add_argument("--procesos", default="1,2,4,8,16")
    args = parser.parse_args(argv)
    import psycopg2

    try:
        conn = psycopg2.connect(PG_URL, connect_timeout=3)
    except Exception as exc:  # noqa: BLE001
        print(f"PostgreSQL no disponible ({exc}); se omite.")
        return 0
    conn.autocommit = True
    schema = f"bench_{uuid.uuid4().hex[:10]}"  # random-ok: a schema no other run uses
    with conn.cursor() as cur:
        cur.execute(f"CREATE SCHEMA {schema}")
        cur.execute("SHOW synchronous_commit")
        sync = cur.fetchone()[0]
    try:
        from helpers import build_services, FakeClock, lima
        from mpv.config import Settings

        with tempfile.TemporaryDirectory() as tmp:
            services = build_services(Settings(data_dir=Path(tmp), database_url=_url(schema)),
                                      FakeClock(lima(2026, 3, 2, 9, 0)))
            services.close()
            print(f"Máquina: {platform.machine()}, {os.cpu_count()} núcleos, Python {platform.python_version()}, "
                  f"PostgreSQL en 127.0.0.1 (synchronous_commit={sync}); {args.segundos:.0f} s por medida")
            print()
            print("| procesos | cadena tx/s | p50 | p99 | sin cadena tx/s | p50 | p99 | presentaciones/s | p50 | p99 |")
            print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
            for procs in (int(p) for p in args.procesos.split(",")):
                cells = []
                for kind in ("cadena", "sin cadena", "presentaciones"):
                    rate, p50, p99 = run(kind, _url(schema), tmp, procs, args.segundos)
                    cells.append(f"{rate:.0f} | {p50:.1f} ms | {p99:.1f} ms")
                print(f"| {procs} | " + " | ".join(cells) + " |", flush=True)
    finally:
        with conn.cursor() as cur:
            cur.execute(f"DROP SCHEMA {schema} CASCADE")
        conn.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
