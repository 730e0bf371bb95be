"""Benchmark: filings per second through the JSON API with a 1 MB PDF, next to a bare POST of the same body;
and the server's peak memory while 4 clients upload 20 MB PDFs at once.

The bare POST is a route added only by this script's server, in the same process, behind the same
middleware: it streams the request body to a temporary file in 64 KiB chunks and fsyncs it, as MPV's
storage does, with no multipart parsing, validation, PDF check or database. Goal: the peak resident memory
(VmHWM / sampled VmRSS from /proc) grows by less than 64 MB over idle while the four 20 MB filings run.

Run: ``make bench`` or ``python tests/bench/bench_filing.py [--segundos N] [--clientes N]``. The app is served
by waitress (as ``mpv serve`` does, same request-size limit) in a separate process started and stopped by
PID, on 127.0.0.1 only, on a SQLite database in a temporary folder; the load comes from bounded Python
client threads. Each upload carries a different PDF (a serial number written into it), as real ones do.
"""
from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import random
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from mpv.config import Settings  # noqa: E402

MB = 1024 * 1024
GOAL_MB = 64
SERIAL = b"%MPV-BENCH-" + b"0" * 16  # rewritten in place (same length) to make every upload unique
FILING = {
    "tipo_persona": "natural", "tipo_documento_identidad": "DNI", "numero_documento_identidad": "45871236",
    "nombres": "Ana", "apellidos": "Rojas Villanueva", "email": "ana@example.com", "telefono": "987654321",
    "direccion": "Jr. Loreto 215", "tipo_documento": "SOL", "asunto": "Licencia de funcionamiento",
    "folios": "1", "acepta_notificacion": "true",
}


def settings_for(carpeta: Path) -> Settings:
    return Settings(data_dir=carpeta / "data", database_url=f"sqlite:///{carpeta / 'mpv.sqlite3'}", port=0)


def scanned_pdf(pages: int, image_bytes: int, seed: int = 0) -> bytes:
    """A valid PDF like a scan: each page one grey noise image of ``image_bytes`` bytes, uncompressed, so
    the file weighs what is asked (noise would not compress anyway)."""
    rng = random.Random(seed)
    side = int(image_bytes ** 0.5)
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>", None]
    kids = []
    for _ in range(pages):
        page, content, image = len(objects) + 1, len(objects) + 2, len(objects) + 3
        kids.append(f"{page} 0 R")
        draw = b"q 595 0 0 842 0 0 cm /Im0 Do Q"
        objects.append(f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents {content} 0 R "
                       f"/Resources << /XObject << /Im0 {image} 0 R >> >> >>".encode())
        objects.append(b"<< /Length %d >>\nstream\n%s\nendstream" % (len(draw), draw))
        pixels = rng.randbytes(side * side)
        objects.append(b"<< /Type /XObject /Subtype /Image /Width %d /Height %d /ColorSpace /DeviceGray "
                       b"/BitsPerComponent 8 /Length %d >>\nstream\n%s\nendstream" % (side, side, len(pixels), pixels))
    objects[1] = f"<< /Type /Pages /Kids [{' '.join(kids)}] /Count {pages} >>".encode()
    out = bytearray(b"%PDF-1.7\n" + SERIAL + b"\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


class Body:
    """One multipart filing whose PDF gets a new serial number for each upload."""

    def __init__(self, pdf: bytes):
        from webclient import multipart

        self.data, self.content_type = multipart(list(FILING.items()), [("archivo", "escaneo.pdf", pdf)])
        self._serial = 0
        self._lock = threading.Lock()

    def next(self) -> bytes:
        with self._lock:
            self._serial += 1
            serial = self._serial
        return self.data.replace(SERIAL, b"%%MPV-BENCH-%016d" % serial, 1)


# -- the server process ----------------------------------------------------------------------------------
class BarePost:
    """The baseline: the request body streamed to a temporary file and fsynced, nothing else."""

    def __init__(self, folder: Path):
        self._folder = folder

    def on_post(self, req, resp):
        size = 0
        with tempfile.NamedTemporaryFile(dir=self._folder) as out:
            while chunk := req.bounded_stream.read(64 * 1024):
                size += len(chunk)
                out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
        resp.status = "201 Created"
        resp.media = {"bytes": size}


def servir(carpeta: Path, padre: int, hilos: int):
    import logging

    import waitress

    from mpv.services import Services
    from mpv.web.app import create_app
    from mpv.web.server import max_body_bytes

    logging.getLogger("waitress").setLevel(logging.ERROR)  # "Task queue depth" is what a load test does
    services = Services.build(settings_for(carpeta))
    app = create_app(services)
    (carpeta / "bare").mkdir(exist_ok=True)
    app.add_route("/api/bench/bare", BarePost(carpeta / "bare"))  # under /api/: the same middleware path
    server = waitress.create_server(app, host="127.0.0.1", port=0, threads=hilos, ident="MPV",
                                    max_request_body_size=max_body_bytes(services.limits))
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

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()

    def memory(self) -> dict[str, int]:
        """VmRSS and VmHWM of the server, in bytes."""
        values = {}
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            name, _, rest = line.partition(":")
            if name in ("VmRSS", "VmHWM"):
                values[name] = int(rest.split()[0]) * 1024
        return values

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def upload(conn: http.client.HTTPConnection, path: str, body: bytes, content_type: str) -> dict:
    conn.request("POST", path, body=body, headers={"Content-Type": content_type})
    response = conn.getresponse()
    data = response.read()
    if response.status != 201:
        raise RuntimeError(f"{path}: HTTP {response.status} {data[:300]!r}")
    return json.loads(data)


def rate(port: int, path: str, body: Body, seconds: float, clients: int) -> tuple[float, float]:
    """(requests/s, p99 ms) of ``clients`` keep-alive connections posting ``body`` for ``seconds``."""
    latencies, errors, lock = [], [], threading.Lock()
    deadline = time.monotonic() + seconds

    def worker():
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        mine = []
        try:
            while time.monotonic() < deadline:
                data = body.next()
                t0 = time.perf_counter()
                upload(conn, path, data, body.content_type)
                mine.append(time.perf_counter() - t0)
        except Exception as exc:  # noqa: BLE001 - reported after the run
            errors.append(repr(exc))
        finally:
            conn.close()
            with lock:
                latencies.extend(mine)

    threads = [threading.Thread(target=worker) for _ in range(clients)]
    started = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise RuntimeError(f"errores durante la carga: {errors[:3]}")
    latencies.sort()
    return len(latencies) / (time.monotonic() - started), latencies[int(len(latencies) * 0.99)] * 1000


def peak_memory(servidor: Servidor, path: str, body: Body, clients: int, rounds: int) -> dict:
    """Idle RSS, then the peak while ``clients`` upload ``body`` at once (``rounds`` times), sampled every 5 ms
    and read from the kernel's high-water mark when it rose during the run."""
    time.sleep(1.0)
    idle = servidor.memory()["VmRSS"]
    hwm_before = servidor.memory()["VmHWM"]
    samples, done = [], threading.Event()

    def sampler():
        while not done.is_set():
            samples.append(servidor.memory()["VmRSS"])
            time.sleep(0.005)

    def client():
        conn = http.client.HTTPConnection("127.0.0.1", servidor.port, timeout=300)
        try:
            upload(conn, path, body.next(), body.content_type)
        finally:
            conn.close()

    watcher = threading.Thread(target=sampler)
    watcher.start()
    started = time.monotonic()
    try:
        for _ in range(rounds):
            threads = [threading.Thread(target=client) for _ in range(clients)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
    finally:
        done.set()
        watcher.join()
    elapsed = time.monotonic() - started
    hwm_after = servidor.memory()["VmHWM"]
    peak = max(samples + ([hwm_after] if hwm_after > hwm_before else []))
    return {"idle": idle, "peak": peak, "growth": peak - idle, "after": servidor.memory()["VmRSS"],
            "seconds": elapsed / rounds}


def prepare(carpeta: Path):
    from mpv.demo import OFICINAS, TIPOS_DOCUMENTO
    from mpv.models import Oficina, TipoDocumento
    from mpv.services import Services

    services = Services.build(settings_for(carpeta))
    try:
        services.init_db()
        with services.db.write():
            for codigo, nombre, es_mesa in OFICINAS:
                Oficina.insert(codigo=codigo, nombre=nombre, es_mesa_partes=es_mesa).on_conflict_ignore().execute()
            for codigo, nombre in TIPOS_DOCUMENTO:
                TipoDocumento.insert(codigo=codigo, nombre=nombre).on_conflict_ignore().execute()
    finally:
        services.close()


def machine() -> str:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor() or "?")
    memory_kb = next((int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines()
                      if line.startswith("MemTotal")), 0)
    return (f"CPU: {cpu}; {os.cpu_count()} núcleos; memoria {memory_kb / MB:.1f} GiB; "
            f"Python {platform.python_version()}; "
            f"SQLite {sqlite3.sqlite_version}; carga media al empezar: {os.getloadavg()[0]:.2f}")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--segundos", type=float, default=8, help="duración de cada medición de ritmo")
    parser.add_argument("--repeticiones", type=int, default=2)
    parser.add_argument("--clientes", type=int, default=4, help="conexiones que presentan a la vez")
    parser.add_argument("--rondas", type=int, default=2, help="rondas de 4 subidas de 20 MB")
    parser.add_argument("--hilos", type=int, default=8, help="hilos de waitress (los de «mpv serve»)")
    parser.add_argument("--servir", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--padre", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.servir:
        servir(args.servir, args.padre, args.hilos)
        return 0

    print(machine())
    small_pdf = scanned_pdf(1, 1024 * 1024, seed=1)
    large_pdf = scanned_pdf(20, 1020 * 1020, seed=2)  # just under the default 20 MB limit of the main PDF
    small, large = Body(small_pdf), Body(large_pdf)
    print(f"PDF de {len(small_pdf) / MB:.2f} MB (1 página) y de {len(large_pdf) / MB:.2f} MB (20 páginas "
          f"escaneadas; MB = 2^20 bytes, como MPV_MAX_*_MB); waitress con {args.hilos} hilos; SQLite; "
          "cliente Python en el mismo equipo")
    routes = {"api": "/api/v1/tramites", "bare": "/api/bench/bare"}
    with tempfile.TemporaryDirectory(prefix="mpv-bench-filing-") as tmp:
        carpeta = Path(tmp)
        prepare(carpeta)
        memoria = {}
        for name, path in routes.items():  # each in a fresh process: freed memory would hide the next peak
            with Servidor(carpeta, args.hilos) as servidor:
                for warm in routes.values():  # imports, caches, first rows
                    rate(servidor.port, warm, small, 1.0, 2)
                memoria[name] = peak_memory(servidor, path, large, 4, args.rondas)
        runs = {name: [] for name in routes}
        with Servidor(carpeta, args.hilos) as servidor:
            for path in routes.values():
                rate(servidor.port, path, small, 1.0, 2)
            for _ in range(args.repeticiones):  # interleaved: both see the same machine
                for name, path in routes.items():
                    runs[name].append(rate(servidor.port, path, small, args.segundos, args.clientes))
    return report(runs, memoria, args)


def report(runs: dict, memoria: dict, args) -> int:
    api, bare = (statistics.median(r for r, _ in runs[k]) for k in ("api", "bare"))
    api_p99, bare_p99 = (statistics.median(p for _, p in runs[k]) for k in ("api", "bare"))
    print(f"\nRitmo con un PDF de 1 MB, {args.clientes} clientes, {args.repeticiones}×{args.segundos:g} s "
          f"(medianas); carga media al terminar: {os.getloadavg()[0]:.2f}")
    print("| ruta | solicitudes/s | p99 ms |")
    print("|---|---:|---:|")
    print(f"| POST /api/v1/tramites (presentación completa) | {api:,.1f} | {api_p99:,.0f} |")
    print(f"| POST simple del mismo cuerpo a disco (base) | {bare:,.1f} | {bare_p99:,.0f} |")
    print(f"| presentación / base | {api / bare:.0%} | |")
    print("\nMemoria residente del servidor, 4 clientes suben a la vez un PDF de 20 MB "
          f"({args.rondas} rondas)")
    print("| ruta | en reposo MB | pico MB | crecimiento MB | después MB | s por ronda |")
    print("|---|---:|---:|---:|---:|---:|")
    for key, name in (("api", "POST /api/v1/tramites"), ("bare", "POST simple (base)")):
        m = memoria[key]
        print(f"| {name} | {m['idle'] / MB:.1f} | {m['peak'] / MB:.1f} | {m['growth'] / MB:.1f} | "
              f"{m['after'] / MB:.1f} | {m['seconds']:.2f} |")
    growth = memoria["api"]["growth"] / MB
    print(f"\nObjetivo: el pico de memoria crece menos de {GOAL_MB} MB sobre el reposo → "
          f"{'CUMPLE' if growth < GOAL_MB else 'NO CUMPLE'} ({growth:.1f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
