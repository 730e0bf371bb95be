"""Benchmark: Trámites recibidos with 100k and 1M expedientes on SQLite, next to a baseline page.

The baseline renders the same template with the same 50 rows and context, fetched once at start-up and
kept in memory, in the same server process, behind the same middleware and session: what the list's
data access costs is the gap between the two. Goals: the real page reaches 60% of the baseline's
requests/s, and slows by at most 1.25× from 100k to 1M.

Run: ``make bench`` or ``python tests/bench/bench_list.py [--max N] [--carpeta DIR]``. The database is
seeded with ``mpv.seed`` (100k, then grown to 1M), the app is served by waitress in a separate process
started and stopped by PID, and the load comes from ``wrk`` (installed from Debian when missing and
root) or else a bounded Python client, on 127.0.0.1 only.
"""
from __future__ import annotations

import argparse
import http.client
import os
import platform
import re
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from mpv import listados  # noqa: E402
from mpv.config import Settings  # noqa: E402
from mpv.models import Expediente, Usuario  # noqa: E402

ROWS = listados.PAGE
CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def settings_for(carpeta: Path, port: int = 0) -> Settings:
    return Settings(data_dir=carpeta / "data", database_url=f"sqlite:///{carpeta / 'mpv.sqlite3'}", port=port)


# -- the server process ----------------------------------------------------------------------------------
class _Captura:
    """Stands in for Pages once, to keep the context the real resource renders."""

    def render(self, req, resp, template, status=None, **context):
        self.template, self.context = template, context


class Memoria:
    """The baseline: Trámites recibidos with the context it had at start-up, rendered by the same Pages."""

    def __init__(self, pages, template: str, context: dict):
        self._pages, self._template, self._context = pages, template, context

    def on_get(self, req, resp):
        self._pages.render(req, resp, self._template, **self._context)


def servir(carpeta: Path, padre: int, hilos: int):
    import logging

    import falcon.testing
    import waitress

    logging.getLogger("waitress").setLevel(logging.ERROR)  # "Task queue depth" is what a load test does

    from mpv.services import Services
    from mpv.web.app import create_app
    from mpv.web.expedientes import TramitesRecibidos

    services = Services.build(settings_for(carpeta))
    app = create_app(services)
    real = app._router.find("/tramites")[0]  # the app's own resource, for its Pages (same renderer)
    captura = _Captura()
    req = falcon.testing.create_req(path="/tramites")
    req.context.usuario = Usuario.get(Usuario.username == "mesa")
    TramitesRecibidos(captura, services).on_get(req, falcon.Response())
    assert len(captura.context["pagina"].filas) == ROWS
    app.add_route("/bench/memoria", Memoria(real._pages, captura.template, captura.context))
    server = waitress.create_server(app, host="127.0.0.1", port=0, threads=hilos, ident="MPV")
    print(f"PUERTO {server.effective_port}", flush=True)

    def watchdog():  # never outlive the benchmark that started us
        while os.getppid() == padre:
            time.sleep(1)
        os._exit(1)

    threading.Thread(target=watchdog, daemon=True).start()
    server.run()


# -- the benchmark process -------------------------------------------------------------------------------
class Servidor:
    """The app in a separate process, started and stopped by PID."""

    def __init__(self, carpeta: Path, hilos: int):
        self.proc = subprocess.Popen([sys.executable, __file__, "--servir", str(carpeta), "--padre", str(os.getpid()),
                                      "--hilos", str(hilos)], stdout=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        if not line.startswith("PUERTO "):
            self.stop()
            raise RuntimeError(f"el servidor no arrancó: {line!r}")
        self.port = int(line.split()[1])

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def request(port, method, path, body=None, headers=None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request(method, path, body=body, headers=headers or {})
    resp = conn.getresponse()
    data = resp.read().decode()
    conn.close()
    return resp.status, resp.getheader("Set-Cookie", ""), data


def login(port, username, password) -> str:
    """Sign in through the login form; the Cookie header of the session."""
    status, set_cookie, page = request(port, "GET", "/login")
    csrf_cookie = re.search(r"mpv_csrf=([^;]+)", set_cookie).group(1)
    body = urlencode({"csrf": CSRF.search(page).group(1), "username": username, "password": password,
                      "siguiente": "/tramites"})
    status, set_cookie, _ = request(port, "POST", "/login", body, {
        "Content-Type": "application/x-www-form-urlencoded", "Cookie": f"mpv_csrf={csrf_cookie}"})
    if status != 303:
        raise RuntimeError(f"no se pudo iniciar sesión como {username}: HTTP {status}")
    return f"mpv_sesion={re.search(r'mpv_sesion=([^;]+)', set_cookie).group(1)}; mpv_csrf={csrf_cookie}"


def check_page(port, path, cookie):
    status, _, page = request(port, "GET", path, headers={"Cookie": cookie})
    rows = page.count("<tr>") - 1  # the header row is one
    if status != 200 or rows < ROWS:
        raise RuntimeError(f"{path}: HTTP {status}, {rows} filas (se esperaban {ROWS})")


def wrk_available() -> bool:
    if shutil.which("wrk"):
        return True
    if os.geteuid() == 0 and shutil.which("apt-get"):
        print("Instalando wrk (paquete de Debian)…", file=sys.stderr)
        subprocess.run("apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk",
                       shell=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return bool(shutil.which("wrk"))


def _ms(value: str, unit: str) -> float:
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def load_wrk(port, path, cookie, seconds, connections) -> tuple[float, float]:
    command = ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", "-H", f"Cookie: {cookie}",
               f"http://127.0.0.1:{port}{path}"]
    out = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 60).stdout
    if "Non-2xx" in out or "Socket errors" in out:
        raise RuntimeError(f"wrk informó errores:\n{out}")
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p99 = _ms(*re.search(r"99%\s+([\d.]+)(us|ms|s)\b", out).groups())
    return rps, p99


def load_python(port, path, cookie, seconds, connections) -> tuple[float, float]:
    """A bounded client: one keep-alive connection per thread, for ``seconds``."""
    latencies, errors, lock = [], [], threading.Lock()
    deadline = time.monotonic() + seconds

    def worker():
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        mine = []
        while time.monotonic() < deadline:
            t0 = time.perf_counter()
            conn.request("GET", path, headers={"Cookie": cookie})
            resp = conn.getresponse()
            resp.read()
            mine.append(time.perf_counter() - t0)
            if resp.status != 200:
                errors.append(resp.status)
        conn.close()
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=worker) for _ in range(connections)]
    started = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise RuntimeError(f"respuestas con error: {errors[:5]}")
    latencies.sort()
    return len(latencies) / (time.monotonic() - started), latencies[int(len(latencies) * 0.99)] * 1000


def query_timings(services, repeats=15) -> list[tuple[str, float, int]]:
    """(filter, median ms, rows) of the queries behind the page, at this size."""
    tz, search = services.calendario.tz, services.busqueda
    hoy = services.calendario.fecha_local(services.clock())
    primera = listados.tramites(listados.Filtro(), tz, search)
    remitente = Expediente.select().order_by(Expediente.id.desc()).first()
    casos = [
        ("primera página", listados.Filtro()),
        ("página siguiente", listados.Filtro(cursor=primera.siguiente)),
        ("página anterior", listados.Filtro(cursor=primera.siguiente, atras=True)),
        ("estado = En atención", listados.Filtro(estado="En atención")),
        ("estado = Observado", listados.Filtro(estado="Observado")),
        ("estado = Atendido", listados.Filtro(estado="Atendido")),
        ("último mes", listados.Filtro(desde=hoy - timedelta(days=30), hasta=hoy)),
        ("un mes de hace un año", listados.Filtro(desde=hoy - timedelta(days=395), hasta=hoy - timedelta(days=365))),
        ("orden = vence", listados.Filtro(orden="vence")),
        ("orden = antiguos", listados.Filtro(orden="antiguos")),
        ("buscar apellido común «quispe»", listados.Filtro(q="quispe")),
        ("buscar nombre completo", listados.Filtro(q=remitente.remitente_nombre)),
        ("buscar asunto «licencia edificación»", listados.Filtro(q="licencia edificación")),
        ("buscar DNI/RUC", listados.Filtro(q=remitente.remitente_documento)),
        ("buscar número", listados.Filtro(q=remitente.numero)),
        ("estado + meses + búsqueda", listados.Filtro(
            estado="Atendido", q="constancia", desde=hoy - timedelta(days=200), hasta=hoy - timedelta(days=100))),
    ]
    result = []
    for nombre, filtro in casos:
        times = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            pagina = listados.tramites(filtro, tz, search)
            times.append((time.perf_counter() - t0) * 1000)
        result.append((nombre, statistics.median(times), len(pagina.filas)))
    return result


def machine() -> str:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor() or "?")
    return (f"CPU: {cpu}; {os.cpu_count()} núcleos; Python {platform.python_version()}; "
            f"SQLite {sqlite3.sqlite_version}; carga media al empezar: {os.getloadavg()[0]:.2f}")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max", type=int, default=1_000_000, help="tamaño mayor (por defecto 1 000 000)")
    parser.add_argument("--segundos", type=int, default=10, help="duración de cada medición")
    parser.add_argument("--repeticiones", type=int, default=3)
    parser.add_argument("--conexiones", type=int, default=16)
    parser.add_argument("--carpeta", type=Path, help="conserva (y reutiliza) la base sembrada en esta carpeta")
    parser.add_argument("--hilos", type=int, default=8, help="hilos de waitress (los de «mpv serve»)")
    parser.add_argument("--servir", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--padre", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.servir:
        servir(args.servir, args.padre, args.hilos)
        return 0
    from mpv.demo import seed as demo_seed
    from mpv.seed import Barra, sembrar
    from mpv.services import Services

    print(machine())
    sizes = sorted({min(100_000, args.max), args.max})
    carga = load_wrk if wrk_available() else load_python
    print(f"Carga: {'wrk' if carga is load_wrk else 'cliente Python'}, {args.conexiones} conexiones, "
          f"{args.repeticiones}×{args.segundos} s por página y tamaño (medianas)")
    tmp = None if args.carpeta else tempfile.TemporaryDirectory(prefix="mpv-bench-")
    carpeta = args.carpeta or Path(tmp.name)
    carpeta.mkdir(parents=True, exist_ok=True)
    results = {}
    try:
        for size in sizes:
            services = Services.build(settings_for(carpeta))
            try:
                services.init_db()
                demo_seed(services, 0)  # offices, document types and the demo users, once
                have = Expediente.select().count()
                if have > size:
                    print(f"La base de {carpeta} ya tiene {have:,} expedientes: se omite el tamaño {size:,}.")
                    continue
                if have < size:
                    informe = sembrar(services, size - have, progreso=Barra(sys.stderr))
                    print(f"Siembra hasta {size:,}: {informe.expedientes:,} expedientes en {informe.segundos:.0f} s "
                          f"({informe.expedientes / informe.segundos:,.0f} expedientes/s, "
                          f"{informe.filas / informe.segundos:,.0f} filas/s)")
                print(f"\nConsultas de la lista con {size:,} expedientes (mediana, ms):")
                for nombre, ms, filas in query_timings(services):
                    print(f"  {nombre:40} {ms:8.2f} ms  {filas:3d} filas")
            finally:
                services.close()
            results[size] = measure(carpeta, mesa_password(carpeta), carga, args)
    except KeyboardInterrupt:
        print("Interrumpido.", file=sys.stderr)
    finally:
        if tmp:
            tmp.cleanup()
    return report(results)


def mesa_password(carpeta: Path) -> str:
    from mpv.demo import credentials_path

    for line in credentials_path(settings_for(carpeta)).read_text(encoding="utf-8").splitlines():
        if line.split()[:2] == ["mesa", "mesa"]:
            return line.split()[2]
    raise RuntimeError("no se encontró la contraseña del usuario mesa en las credenciales de demostración")


def measure(carpeta, password, carga, args) -> dict:
    servidor = Servidor(carpeta, args.hilos)
    try:
        cookie = login(servidor.port, "mesa", password)
        pages = {"real": "/tramites", "memoria": "/bench/memoria"}
        for path in pages.values():
            check_page(servidor.port, path, cookie)
            carga(servidor.port, path, cookie, 3, args.conexiones)  # warm-up
        runs = {name: [] for name in pages}
        for _ in range(args.repeticiones):
            for name, path in pages.items():  # interleaved: both see the same machine
                runs[name].append(carga(servidor.port, path, cookie, args.segundos, args.conexiones))
        for path in pages.values():
            check_page(servidor.port, path, cookie)
    finally:
        servidor.stop()
    return {name: (statistics.median(r for r, _ in values), statistics.median(p for _, p in values))
            for name, values in runs.items()}


def report(results: dict) -> int:
    print(f"\nTrámites recibidos, {ROWS} filas por página (SQLite), carga media al terminar: {os.getloadavg()[0]:.2f}")
    print("| expedientes | página real req/s | base en memoria req/s | real / base | p99 real ms | p99 base ms |")
    print("|---:|---:|---:|---:|---:|---:|")
    for size, r in results.items():
        ratio = r["real"][0] / r["memoria"][0]
        print(f"| {size:,} | {r['real'][0]:,.0f} | {r['memoria'][0]:,.0f} | {ratio:.0%} | {r['real'][1]:.1f} | "
              f"{r['memoria'][1]:.1f} |")
    sizes = sorted(results)
    ratios = [results[s]["real"][0] / results[s]["memoria"][0] for s in sizes]
    print(f"\nObjetivo: página real ≥ 60% de la base → {'CUMPLE' if min(ratios) >= 0.60 else 'NO CUMPLE'} "
          f"(mínimo {min(ratios):.0%})")
    if len(sizes) > 1:
        slowdown = results[sizes[0]]["real"][0] / results[sizes[-1]]["real"][0]
        print(f"Objetivo: de {sizes[0]:,} a {sizes[-1]:,} la página real se frena ≤ 1,25× → "
              f"{'CUMPLE' if slowdown <= 1.25 else 'NO CUMPLE'} ({slowdown:.2f}×)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
