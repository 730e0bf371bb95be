"""Benchmark: the Bandeja (/bandeja) of an office holding 100 open tasks next to one holding 100,000 (issue 15,
item 6: within 1.25×).

Each database is made by ``mpv demo``'s base data and :func:`mpv.demo.volumen.sembrar` with every derivation sent
to GDUR (tasks to receive and in atención), and kept in ``MPV_BENCH_DIR`` (default ./data/bench) as
``bandeja-N`` so a second run does not seed again. Each is served by ``mpv serve`` as a user starts it (default
settings, its own process on 127.0.0.1, stopped by PID); GDUR's user signs in and the Bandeja is loaded with wrk
(or a bounded Python client), the two sizes interleaved, medians of the repetitions. The section goes to
docs/bench.md between its markers.
Run: ``make bench``, or ``python tests/bench/bench_bandeja.py [--tareas 100,100000] [--segundos 5]``.
"""
from __future__ import annotations

import argparse
import datetime
import os
import signal
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import comun  # noqa: E402
from comun import (ROOT, carga_media, demo_password, load_python, load_wrk, login, machine,  # noqa: E402
                   puerto_libre, settings_for, wrk_available)

OFICINA, USUARIO = "GDUR", "gdur"
# Derived to the office and waiting there: to receive, or received and in atención.
PESOS = {"derivado": (1, 1, 1, 1), "en_atencion": (2, 2, 2, 2)}
MARCAS = ("<!-- bandeja: inicio -->", "<!-- bandeja: fin -->")


def tareas_abiertas(oficina: str) -> int:
    from mpv.models import Oficina, Tarea

    return Tarea.select().where(Tarea.oficina == Oficina.por_codigo(oficina).id).count()


def preparar(base: Path, tareas: int, clock=None) -> Path:
    """The folder of a database whose office GDUR holds at least ``tareas`` open tasks, seeded when needed."""
    from mpv.demo import seed as demo_seed
    from mpv.demo.volumen import ESCENARIOS, Barra, sembrar
    from mpv.services import Services

    carpeta = base / f"bandeja-{tareas}"
    carpeta.mkdir(parents=True, exist_ok=True)
    services = Services.build(settings_for(carpeta), **({"clock": clock} if clock else {}))  # clock-ok: by default, today
    try:
        services.init_db()
        demo_seed(services, 0)
        pesos = {e: (0, 0, 0, 0) for e in ESCENARIOS} | PESOS
        ronda = 0
        while (have := tareas_abiertas(OFICINA)) < tareas:
            ronda += 1  # a clone that does not fit its day becomes another escenario: top up until there
            informe = sembrar(services, int((tareas - have) * 1.1) + 5, dias=30, semilla=tareas + ronda,
                              progreso=Barra(sys.stderr, f"Sembrando la bandeja de {tareas:,} tareas"),
                              pesos=pesos, oficina=OFICINA)
            print(f"{informe.expedientes:,} expedientes en {informe.segundos:.0f} s", file=sys.stderr)
        return carpeta
    finally:
        services.close()


def contar_ms(carpeta: Path) -> tuple[int, float, float]:
    """(open tasks, ms of counting them all, ms of counting up to the tray's bound): why the tray stops at it."""
    from mpv.models import Oficina, Tarea
    from mpv.services import Services
    from mpv.tramites.bandeja import TOPE

    services = Services.build(settings_for(carpeta))  # clock-ok: reads only
    try:
        oficina = Oficina.por_codigo(OFICINA).id
        query = Tarea.select(Tarea.id).where(Tarea.oficina == oficina)
        tiempos = {}
        for nombre, contar in (("todo", lambda: query.count()), ("tope", lambda: query.limit(TOPE + 1).count())):
            muestras = []
            for _ in range(7):
                t0 = time.perf_counter()
                contar()
                muestras.append((time.perf_counter() - t0) * 1000)
            tiempos[nombre] = statistics.median(muestras)
        return tareas_abiertas(OFICINA), tiempos["todo"], tiempos["tope"]
    finally:
        services.close()


class MpvServe:
    """``mpv serve`` on 127.0.0.1 over the database in ``carpeta``, as a user starts it; stopped by its PID."""

    def __init__(self, carpeta: Path):
        self.port = puerto_libre()
        settings = settings_for(carpeta)
        env = {**os.environ, "MPV_DATABASE_URL": settings.database_url, "MPV_DATA_DIR": str(settings.data_dir),
               "MPV_HOST": "127.0.0.1", "MPV_PORT": str(self.port), "PYTHONPATH": str(ROOT)}
        self.proc = subprocess.Popen([sys.executable, "-m", "mpv", "serve"], env=env, cwd=ROOT,
                                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        limite = time.monotonic() + 60
        while time.monotonic() < limite:
            if self.proc.poll() is not None:
                raise RuntimeError(f"mpv serve terminó al arrancar (código {self.proc.returncode})")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.2)
        self.stop()
        raise RuntimeError("mpv serve no escuchó en 60 s")

    def stop(self):
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait()


def run(argv=None, clock=None) -> tuple[dict, str]:
    args = parse(argv)
    base = args.carpeta or Path(os.environ.get("MPV_BENCH_DIR") or ROOT / "data" / "bench")
    inicio = datetime.datetime.now().astimezone()  # clock-ok: the report's date
    maquina = machine()
    carpetas = {n: preparar(base, n, clock) for n in args.tareas}
    conteos = {n: contar_ms(carpetas[n]) for n in args.tareas}
    cargar = load_wrk if not args.python and wrk_available() else load_python
    servidores = {n: MpvServe(carpetas[n]) for n in args.tareas}
    medidas: dict[int, list[tuple[float, float]]] = {n: [] for n in args.tareas}
    try:
        cookies = {n: login(s.port, USUARIO, demo_password(carpetas[n], USUARIO)) for n, s in servidores.items()}
        for n, s in servidores.items():  # warm up: templates compiled, definitions parsed, pages cached
            cargar(s.port, "/bandeja", cookies[n], args.calentar, args.conexiones)
        for _ in range(args.repeticiones):
            for n, s in servidores.items():
                medidas[n].append(cargar(s.port, "/bandeja", cookies[n], args.segundos, args.conexiones))
    finally:
        for s in servidores.values():
            s.stop()
    filas = {n: (statistics.median(r for r, _ in m), statistics.median(p for _, p in m)) for n, m in medidas.items()}
    menor, mayor = min(args.tareas), max(args.tareas)
    razon = filas[menor][0] / filas[mayor][0]  # time per request, larger ÷ smaller
    doc = documento(filas, conteos, razon, menor, mayor, args, inicio, maquina, cargar is load_wrk)
    return {"filas": filas, "razon": razon, "conteos": conteos}, doc


def documento(filas, conteos, razon, menor, mayor, args, inicio, maquina, con_wrk) -> str:
    lineas = [MARCAS[0], "## Bandeja", "",
              f"Medido el {inicio:%Y-%m-%d %H:%M} con `tests/bench/bench_bandeja.py`. {maquina}; carga media al "
              f"terminar: {carga_media()}.",
              f"`mpv serve` tal como lo inicia un usuario, un proceso, sobre SQLite; la bandeja de la oficina GDUR "
              f"(`GET /bandeja`, sesión de su usuario) con {'wrk' if con_wrk else 'un cliente Python acotado'}, "
              f"{args.conexiones} conexiones, {args.repeticiones} repeticiones de {args.segundos:g} s alternando "
              "los tamaños; medianas.", "",
              "| tareas abiertas de la oficina | peticiones/s | p99 (ms) |", "|---|---|---|"]
    for n, (rps, p99) in sorted(filas.items()):
        lineas.append(f"| {conteos[n][0]:,} | {rps:.0f} | {p99:.0f} |")
    meta = "CUMPLE" if razon <= 1.25 else "NO CUMPLE"
    lineas += ["", f"Tiempo por petición con {mayor:,} ÷ con {menor:,}: **{razon:.2f}×** (meta ≤ 1.25×: {meta}).", "",
               "Cada sección es una página por clave (50 filas, «Siguientes»/«Anteriores») que recorre el índice "
               "(oficina, spec, desde, id) y se detiene en la fila 51. Los contadores de cada sección se detienen "
               f"en 1,000 («más de 1000»): contar las {conteos[mayor][0]:,} tareas toma "
               f"{conteos[mayor][1]:.1f} ms y crece con ellas; contar hasta el tope, {conteos[mayor][2]:.2f} ms.",
               "", "La máquina es compartida: la carga media de arriba dice cuánto pesaron otros procesos en la "
               "medición; la razón entre los dos tamaños, medidos alternados, pesa menos que las cifras absolutas.",
               MARCAS[1]]
    return "\n".join(lineas)


def escribir(path: Path, seccion: str):
    """Put ``seccion`` (with its markers) in ``path``, among the sections bench_tabla.py keeps."""
    comun.seccion_en_bench_md("bandeja", seccion[len(MARCAS[0]):-len(MARCAS[1])], path)


def parse(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tareas", type=lambda s: [int(x) for x in s.split(",")], default=[100, 100_000],
                        help="tareas abiertas de la oficina en cada base (separadas por comas)")
    parser.add_argument("--segundos", type=float, default=5)
    parser.add_argument("--calentar", type=float, default=2)
    parser.add_argument("--repeticiones", type=int, default=3)
    parser.add_argument("--conexiones", type=int, default=8)
    parser.add_argument("--python", action="store_true", help="cargar con el cliente Python, no con wrk")
    parser.add_argument("--carpeta", type=Path, help="dónde guardar las bases (por defecto MPV_BENCH_DIR)")
    parser.add_argument("--salida", type=Path, default=ROOT / "docs" / "bench.md",
                        help="el documento donde escribir la sección «Bandeja»")
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse(argv)
    resultado, doc = run(argv)
    print(doc)
    escribir(args.salida, doc)
    print(f"Escrito en {args.salida}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
