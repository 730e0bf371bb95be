"""Benchmark: the server's peak memory while 4 clients upload 20 MB PDFs at once through the JSON API, next to
a bare POST of the same body. (Filings per second with a 1 MB PDF are a row of bench_tabla.py's table.)

The bare POST (:class:`BarePost`, also the filing's baseline in bench_tabla.py) is a route added only by the
benchmark's server, in the same process, behind the same middleware: it streams the request body to a
temporary file in 64 KiB chunks and fsyncs it, as MPV's storage does, with no multipart parsing, validation,
PDF check or database. Goal: the peak resident memory (VmHWM / sampled VmRSS from /proc) grows by less than
64 MB over idle while the four 20 MB filings run.

Run: ``make bench`` or ``python tests/bench/bench_filing.py [--rondas N]``. The app is served by waitress (as
``mpv serve`` does, same request-size limit) in a separate process started and stopped by PID, on 127.0.0.1
only, on a SQLite database in a temporary folder. Each upload carries a different PDF (a serial number
written into it), as real ones do.
"""
from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from comun import MB, Servidor, machine, settings_for, vigilar  # noqa: E402

GOAL_MB = 64
SERIAL = b"%MPV-BENCH-" + b"0" * 16  # rewritten in place (same length) to make every upload unique
FILING = {
    "tipo_persona": "natural", "tipo_documento_identidad": "DNI", "numero_documento_identidad": "45871236",
    "nombres": "Ana", "apellidos": "Rojas Villanueva", "email": "ana@example.com", "telefono": "987654321",
    "direccion": "Jr. Loreto 215", "tipo_documento": "SOL", "asunto": "Licencia de funcionamiento",
    "folios": "1", "acepta_notificacion": "true",
}


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

    vigilar(padre)
    logging.getLogger("waitress").setLevel(logging.ERROR)  # "Task queue depth" is what a load test does
    services = Services.build(settings_for(carpeta))  # clock-ok: a server process on the wall clock, as mpv serve
    app = create_app(services)
    (carpeta / "bare").mkdir(exist_ok=True)
    app.add_route("/api/bench/bare", BarePost(carpeta / "bare"))  # under /api/: the same middleware path
    server = waitress.create_server(app, host="127.0.0.1", port=0, threads=hilos, ident="MPV",
                                    max_request_body_size=max_body_bytes(services.limits))
    print(f"PUERTO {server.effective_port}", flush=True)
    server.run()


# -- the benchmark process -------------------------------------------------------------------------------
def memory(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM of process ``pid``, in bytes."""
    values = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, rest = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            values[name] = int(rest.split()[0]) * 1024
    return values


def upload(conn: http.client.HTTPConnection, path: str, body: bytes, content_type: str) -> dict:
    conn.request("POST", path, body=body, headers={"Content-Type": content_type})
    response = conn.getresponse()
    data = response.read()
    if response.status != 201:
        raise RuntimeError(f"{path}: HTTP {response.status} {data[:300]!r}")
    return json.loads(data)


def peak_memory(servidor: Servidor, path: str, body: Body, clients: int, rounds: int) -> dict:
    """Idle RSS, then the peak while ``clients`` upload ``body`` at once (``rounds`` times), sampled every 5 ms
    and read from the kernel's high-water mark when it rose during the run."""
    time.sleep(1.0)
    idle = memory(servidor.proc.pid)["VmRSS"]
    hwm_before = memory(servidor.proc.pid)["VmHWM"]
    samples, done = [], threading.Event()

    def sampler():
        while not done.is_set():
            samples.append(memory(servidor.proc.pid)["VmRSS"])
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
    hwm_after = memory(servidor.proc.pid)["VmHWM"]
    peak = max(samples + ([hwm_after] if hwm_after > hwm_before else []))
    return {"idle": idle, "peak": peak, "growth": peak - idle, "after": memory(servidor.proc.pid)["VmRSS"],
            "seconds": elapsed / rounds}


def prepare(carpeta: Path):
    """The database with the demo offices and document types, as the tests prepare theirs."""
    from helpers import FakeClock, base_moment, build_services

    build_services(settings_for(carpeta), FakeClock(base_moment(9, 0))).close()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rondas", type=int, default=2, help="rondas de 4 subidas de 20 MB")
    parser.add_argument("--hilos", type=int, default=8, help="hilos de waitress (los de «mpv serve»)")
    parser.add_argument("--servir", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--padre", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.servir:
        servir(args.servir, args.padre, args.hilos)
        return 0

    print(machine())
    small = Body(scanned_pdf(1, 1024 * 1024, seed=1))
    large_pdf = scanned_pdf(20, 1020 * 1020, seed=2)  # just under the default 20 MB limit of the main PDF
    large = Body(large_pdf)
    print(f"PDF de {len(large_pdf) / MB:.2f} MB (20 páginas escaneadas; MB = 2^20 bytes, como MPV_MAX_*_MB); "
          f"waitress con {args.hilos} hilos; SQLite; cliente Python en el mismo equipo")
    routes = {"api": "/api/v1/tramites", "bare": "/api/bench/bare"}
    with tempfile.TemporaryDirectory(prefix="mpv-bench-filing-") as tmp:
        carpeta = Path(tmp)
        prepare(carpeta)
        memoria = {}
        for name, path in routes.items():  # each in a fresh process: freed memory would hide the next peak
            with Servidor(__file__, str(carpeta), "--hilos", str(args.hilos)) as servidor:
                for warm in routes.values():  # imports, caches, first rows
                    conn = http.client.HTTPConnection("127.0.0.1", servidor.port, timeout=60)
                    for _ in range(3):
                        upload(conn, warm, small.next(), small.content_type)
                    conn.close()
                memoria[name] = peak_memory(servidor, path, large, 4, args.rondas)
    return report(memoria, args)


def report(memoria: dict, args) -> int:
    print("\nMemoria residente del servidor, 4 clientes suben a la vez un PDF de 20 MB "
          f"({args.rondas} rondas); carga media al terminar: {os.getloadavg()[0]:.2f}")
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
