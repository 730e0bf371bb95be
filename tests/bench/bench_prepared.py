"""Benchmark: what peewee spends writing a query's SQL, against running it, for the queries of an engine step.

For each query: the time of the query as peewee builds and runs it each time; of a ``mpv.prepared.PreparedQuery`` (SQL
written once, the same row conversion); and of the SQL alone through the driver (no conversion). On SQLite and,
when it answers, PostgreSQL. Run: ``make bench``.
"""
from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench_engine import pg_available  # noqa: E402
from helpers import FakeClock, base_moment, build_services, file_tramite, fresh_database, make_user  # noqa: E402

from mpv.config import Settings  # noqa: E402
from mpv.prepared import PreparedQuery  # noqa: E402
from mpv.models import Cadena, Expediente, Oficina, Tarea  # noqa: E402

REPEATS = 2000


def casos(expediente, ahora):
    """(name, the query as peewee builds it, the same as a PreparedQuery, its values)."""
    task_id = Tarea.select(Tarea.task_id).where(Tarea.expediente == expediente.id).scalar()
    por_numero = lambda n: Expediente.select().where(Expediente.numero == n).limit(1)  # noqa: E731
    desde = lambda e, t: Tarea.select(Tarea.desde).where(  # noqa: E731
        (Tarea.expediente == e) & (Tarea.task_id == t)).limit(1).tuples()
    oficinas = lambda: Oficina.select(Oficina.codigo, Oficina.nombre).where(Oficina.activa == True).tuples()  # noqa
    cabeza = lambda: Cadena.select().where(Cadena.id == 1)  # noqa: E731
    return [
        ("expediente por número", por_numero, PreparedQuery(Expediente, por_numero), expediente.numero),
        ("tarea de un expediente", desde, PreparedQuery(Tarea, desde), expediente.id, task_id),
        ("oficinas activas (catálogo)", oficinas, PreparedQuery(Oficina, oficinas)),
        ("cabeza de la cadena", cabeza, PreparedQuery(Cadena, cabeza)),
        ("guardar el expediente (UPDATE)",
         lambda estado, ahora, e: Expediente.update(estado=estado, actualizado_en=ahora).where(Expediente.id == e),
         PreparedQuery(Expediente, lambda estado, ahora, e: Expediente.update({
             Expediente.estado: estado.of(Expediente.estado),
             Expediente.actualizado_en: ahora.of(Expediente.actualizado_en)}).where(Expediente.id == e)),
         "Presentado", ahora, expediente.id),
    ]


def medir(f, db) -> float:
    """Median µs of ``f()`` over batches, each in a write transaction that is rolled back (an UPDATE leaves
    nothing, and each batch of each variant starts from the same row)."""
    lotes = []
    for i in range(11):
        with db.write() as tx:
            t0 = time.perf_counter()
            for _ in range(REPEATS // 10):
                f()
            if i:  # the first batch warms up
                lotes.append((time.perf_counter() - t0) / (REPEATS // 10) * 1e6)
            tx.rollback()
    return statistics.median(lotes)


def run_backend(url, data_dir) -> list[tuple[str, float, float, float]]:
    services = build_services(Settings(data_dir=data_dir, database_url=url), FakeClock(base_moment(9, 0)))
    try:
        make_user("mesa", "mesa", "MP")
        expediente = file_tramite(services)
        database = services.db.peewee
        filas = []
        for nombre, construir, prepared, *valores in casos(expediente, services.clock()):
            sql, params = construir(*valores).sql()
            escribe = not sql.lstrip().upper().startswith("SELECT")
            if escribe:
                variantes = (lambda: construir(*valores).execute(), lambda: prepared.execute(*valores),
                             lambda: database.execute_sql(sql, params))
            else:
                variantes = (lambda: list(construir(*valores)), lambda: prepared.rows(*valores),
                             lambda: database.execute_sql(sql, params).fetchall())
            peewee_us, prepared_us, driver_us = (medir(f, services.db) for f in variantes)
            filas.append((nombre, peewee_us, prepared_us, driver_us))
        return filas
    finally:
        services.close()


def main():
    backends = [("SQLite", "sqlite")] + ([("PostgreSQL", "postgresql")] if pg_available() else [])
    print("Consultas de un paso del motor: µs por ejecución (mediana), peewee la escribe cada vez / PreparedQuery "
          "(SQL escrito una vez) / solo el SQL en el controlador")
    print("| base | consulta | peewee | PreparedQuery | SQL solo | peewee ÷ PreparedQuery |")
    print("|---|---|---:|---:|---:|---:|")
    for name, backend in backends:
        with tempfile.TemporaryDirectory() as tmp, fresh_database(backend, Path(tmp)) as url:
            for consulta, peewee_us, prepared_us, driver_us in run_backend(url, Path(tmp) / "data"):
                print(f"| {name} | {consulta} | {peewee_us:.0f} | {prepared_us:.0f} | {driver_us:.0f} | "
                      f"{peewee_us / prepared_us:.1f}× |")


if __name__ == "__main__":
    main()
