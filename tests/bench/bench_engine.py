"""Benchmark: the engine's per-step cost as an expediente accumulates derivations, and filings/s.

A step is what ``Engine.complete`` does inside its transaction: lock, restore the instance,
complete the task, run the engine, save state + history + projections. Run: ``make bench``.
"""
from __future__ import annotations

import io
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from helpers import PG_URL, FakeClock, build_services, file_tramite, fresh_database, lima, make_user  # noqa: E402

from mpv.config import Settings  # noqa: E402
from mpv.demo import sample_pdf  # noqa: E402
from mpv.engine import Actor  # noqa: E402
from mpv.tramites.presentacion import presentar  # noqa: E402
from mpv.models import Tarea  # noqa: E402

SIZES = (0, 5, 20, 50)
SAMPLES = 25


def pg_available() -> bool:
    import psycopg2

    try:
        psycopg2.connect(PG_URL, connect_timeout=3).close()
        return True
    except Exception as exc:  # noqa: BLE001
        print(f"PostgreSQL no disponible ({exc}); se omite.")
        return False


def task_id(exp, actor):
    query = Tarea.select().where((Tarea.expediente == exp.id) & (Tarea.rol == actor.rol))
    if actor.rol == "oficina":
        query = query.where(Tarea.oficina_id == _office_ids[actor.oficina])
    return query.get().task_id


_office_ids: dict = {}


def run_backend(name, url, data_dir):
    from mpv.models import Oficina

    services = build_services(Settings(data_dir=data_dir, database_url=url), FakeClock(lima(2026, 3, 2, 9, 0)))
    try:
        users = [make_user("mesa", "mesa", "MP"), make_user("gdur", "oficina", "GDUR"),
                 make_user("rentas", "oficina", "SGAT")]
        mesa, gdur, rentas = (Actor.de_usuario(u) for u in users)
        _office_ids.update(dict(Oficina.select(Oficina.codigo, Oficina.id).tuples()))
        engine = services.engine
        results = {}
        for size in SIZES:
            exps = []
            for _ in range(SAMPLES):
                exp = file_tramite(services)
                engine.complete(exp.id, task_id(exp, mesa), mesa, {"accion": "conforme"})
                engine.complete(exp.id, task_id(exp, mesa), mesa,
                                {"oficina_destino": "GDUR", "prioridad": "normal", "plazo_dias": 7})
                engine.complete(exp.id, task_id(exp, gdur), gdur, {})  # the office receives it
                holder = gdur
                for i in range(size):
                    target, nxt = ("SGAT", rentas) if holder is gdur else ("GDUR", gdur)
                    engine.complete(exp.id, task_id(exp, holder), holder,
                                    {"accion": "derivar", "oficina": target, "plazo_dias": 5})
                    engine.complete(exp.id, task_id(exp, nxt), nxt, {})
                    holder = nxt
                exps.append((exp, holder))
            times = []
            for exp, holder in exps:
                target = "SGAT" if holder is gdur else "GDUR"
                tid = task_id(exp, holder)
                t0 = time.perf_counter()
                engine.complete(exp.id, tid, holder, {"accion": "derivar", "oficina": target, "plazo_dias": 5})
                times.append((time.perf_counter() - t0) * 1000)
            results[size] = statistics.median(times)
        pdf = sample_pdf("Solicitud", 2)
        count = 150
        t0 = time.perf_counter()
        for i in range(count):
            received = services.storage.receive(io.BytesIO(pdf), "s.pdf", services.limits.principal_bytes)
            presentar(services, {"tipo_persona": "natural", "tipo_documento_identidad": "DNI",
                                 "numero_documento_identidad": "45871236", "nombres": "Ana", "apellidos": "Rojas",
                                 "email": "ana@example.com", "direccion": "Jr. Loreto 215", "tipo_documento": "SOL",
                                 "asunto": f"Solicitud {i}", "folios": 1, "acepta_notificacion": "true"},
                      received, [])
        filings = count / (time.perf_counter() - t0)
        return results, filings
    finally:
        services.close()


def main():
    print(f"Máquina: {platform.machine()}, {platform.processor() or 'cpu'}, Python {platform.python_version()}, "
          f"{__import__('os').cpu_count()} núcleos")
    rows = []
    backends = [("SQLite", "sqlite")] + ([("PostgreSQL", "postgresql")] if pg_available() else [])
    for name, backend in backends:
        with tempfile.TemporaryDirectory() as tmp, fresh_database(backend, Path(tmp)) as url:
            rows.append((name,) + run_backend(backend, url, Path(tmp) / "data"))
    print()
    print("Costo por paso del motor (mediana de %d pasos, ms) según derivaciones previas" % SAMPLES)
    header = "| base | " + " | ".join(f"{s} deriv." for s in SIZES) + " | 20 vs 0 | 50 vs 0 | trámites/s |"
    print(header)
    print("|" + "---|" * (len(SIZES) + 4))
    for name, results, filings in rows:
        cells = " | ".join(f"{results[s]:.2f}" for s in SIZES)
        print(f"| {name} | {cells} | {results[20] / results[0]:.2f}× | {results[50] / results[0]:.2f}× | {filings:.0f} |")
    worst = max(r[20] / r[0] for _, r, _ in rows)
    print(f"\nObjetivo: paso con 20 derivaciones ≤ 2× paso con 0 → {'CUMPLE' if worst <= 2 else 'NO CUMPLE'} ({worst:.2f}×)")


if __name__ == "__main__":
    main()
