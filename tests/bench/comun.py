"""What the benchmarks of tests/bench share: the machine's description, a server process started and stopped
by PID (with a watchdog), staff sessions, and the load generators (wrk, or bounded Python clients), all on
127.0.0.1."""
from __future__ import annotations

import ctypes
import http.client
import os
import platform
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parents[2]
for _path in (str(ROOT), str(ROOT / "tests")):
    if _path not in sys.path:
        sys.path.insert(0, _path)

from mpv.config import Settings  # noqa: E402

CSRF = re.compile(r'name="csrf" value="([^"]+)"')
MB = 1024 * 1024
# A load test from one address is not an attack: the per-address limits of the public routes stay out of it.
SIN_LIMITES = {"limite_presentaciones": 10 ** 9, "limite_consultas": 10 ** 9, "limite_ingresos": 10 ** 9}


def settings_for(carpeta: Path, port: int = 0) -> Settings:
    """MPV's settings for a benchmark database in ``carpeta`` (SQLite file and data folder)."""
    return Settings(data_dir=carpeta / "data", database_url=f"sqlite:///{carpeta / 'mpv.sqlite3'}", port=port,
                    **SIN_LIMITES)


# docs/bench.md: bench_tabla.py writes the document; the sections other benchmarks write go after this line, each
# between its own markers (see :func:`seccion_en_bench_md`), and bench_tabla.py keeps them.
OTRAS_SECCIONES = "<!-- otras secciones: cada una la escribe su benchmark; bench_tabla.py las conserva -->"


def seccion_en_bench_md(nombre: str, texto: str, path: Path | None = None):
    """Put ``texto`` in docs/bench.md between the markers of section ``nombre``, replacing what was there."""
    path = path or ROOT / "docs" / "bench.md"
    doc = path.read_text(encoding="utf-8")
    if OTRAS_SECCIONES not in doc:
        doc = doc.rstrip("\n") + "\n\n" + OTRAS_SECCIONES + "\n"
    inicio, fin = f"<!-- {nombre}: inicio -->", f"<!-- {nombre}: fin -->"
    bloque = f"{inicio}\n{texto.strip()}\n{fin}"
    if inicio in doc and fin in doc:
        doc = doc[:doc.index(inicio)] + bloque + doc[doc.index(fin) + len(fin):]
    else:
        doc = doc.rstrip("\n") + "\n\n" + bloque + "\n"
    path.write_text(doc, encoding="utf-8")


# -- the machine -----------------------------------------------------------------------------------------
def carga_media() -> str:
    return " / ".join(f"{x:.2f}" for x in os.getloadavg())


def machine() -> str:
    """CPU, cores, memory, Python and SQLite of this machine, and its load average now (1/5/15 min)."""
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor() or "?")
    memory_kb = next((int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines()
                      if line.startswith("MemTotal")), 0)
    return (f"CPU: {cpu}; {os.cpu_count()} núcleos; memoria {memory_kb / MB:.1f} GiB; "
            f"Python {platform.python_version()}; SQLite {sqlite3.sqlite_version}; "
            f"carga media al empezar (1/5/15 min): {carga_media()}")


# -- server processes ------------------------------------------------------------------------------------
def vigilar(padre: int):
    """In a server process: exit when the benchmark ``padre`` that started it is gone, even if it was killed."""
    try:  # Linux: SIGTERM as soon as the parent dies
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass

    def watchdog():  # and in any case within a second
        while os.getppid() == padre:
            time.sleep(1)
        os._exit(1)

    threading.Thread(target=watchdog, daemon=True).start()
    if os.getppid() != padre:
        os._exit(1)


class Servidor:
    """A server process (``script --servir …``) started and stopped by its PID; it prints ``PUERTO n`` when
    it listens, and watches this process with :func:`vigilar`. Several may start at once: the first use of
    ``port`` waits for this one."""

    def __init__(self, script: Path | str, *args: str):
        self._script = script
        self._port = None
        self.proc = subprocess.Popen([sys.executable, str(script), "--servir", *args, "--padre", str(os.getpid())],
                                     stdout=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True)

    @property
    def port(self) -> int:
        if self._port is None:
            line = self.proc.stdout.readline()
            if not line.startswith("PUERTO "):
                self.stop()
                raise RuntimeError(f"el servidor de {self._script} no arrancó: {line!r}")
            self._port = int(line.split()[1])
        return self._port

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()

    def stop(self):
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self.proc.stdout.close()


def puerto_libre() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# -- sessions --------------------------------------------------------------------------------------------
def request(port, method, path, body=None, headers=None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        resp = conn.getresponse()
        return resp.status, resp.getheader("Set-Cookie", ""), resp.read().decode()
    finally:
        conn.close()


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


def csrf_token(port, cookie) -> str:
    """The CSRF token the forms of this session carry."""
    status, _, page = request(port, "GET", "/inicio", headers={"Cookie": cookie})
    if status != 200:
        raise RuntimeError(f"/inicio: HTTP {status}")
    return CSRF.search(page).group(1)


def demo_password(carpeta: Path, username: str) -> str:
    """The password ``mpv demo`` generated for ``username`` in the database of ``carpeta``."""
    from mpv.demo import credentials_path

    for line in credentials_path(settings_for(carpeta)).read_text(encoding="utf-8").splitlines():
        if line.split()[:1] == [username]:
            return line.split()[2]
    raise RuntimeError(f"no se encontró la contraseña de {username} en las credenciales de demostración")


# -- load ------------------------------------------------------------------------------------------------
def wrk_available() -> bool:
    """Whether wrk is here; installed from Debian's packages when missing and we are root."""
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
    """(requests/s, p99 ms) of wrk GETting ``path`` on ``connections`` keep-alive connections.

    :raise RuntimeError: when wrk saw a non-2xx answer or a socket error."""
    command = ["wrk", "-t2", f"-c{connections}", f"-d{max(1, round(seconds))}s", "--latency",
               *(["-H", f"Cookie: {cookie}"] if cookie else []), f"http://127.0.0.1:{port}{path}"]
    out = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 60).stdout
    if "Non-2xx" in out or "Socket errors" in out:
        raise RuntimeError(f"wrk informó errores en {path}:\n{out}")
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p99 = _ms(*re.search(r"99%\s+([\d.]+)(us|ms|s)\b", out).groups())
    return rps, p99


def load_python(port, path, cookie, seconds, connections) -> tuple[float, float]:
    """The same as :func:`load_wrk` from a bounded Python client: one keep-alive connection per thread."""
    def siguiente():
        return "GET", path, None, {"Cookie": cookie} if cookie else {}

    rps, p99, _ = load_requests(port, siguiente, seconds, connections, (200,))
    return rps, p99


def load_requests(port, siguiente, seconds, connections, expected=(200,)) -> tuple[float, float, bool]:
    """(requests/s, p99 ms, ran out) of ``connections`` keep-alive connections, each sending the requests
    ``siguiente()`` returns — (method, path, body, headers), or None when there are no more — for ``seconds``.

    :raise RuntimeError: on an answer whose status is not in ``expected``, or a connection error."""
    latencies, errors, lock = [], [], threading.Lock()
    deadline = time.monotonic() + seconds
    ran_out = threading.Event()

    def worker():
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        mine = []
        try:
            while time.monotonic() < deadline:
                item = siguiente()
                if item is None:
                    ran_out.set()
                    break
                method, path, body, headers = item
                t0 = time.perf_counter()
                conn.request(method, path, body=body, headers=headers)
                resp = conn.getresponse()
                data = resp.read()
                mine.append(time.perf_counter() - t0)
                if resp.status not in expected:
                    errors.append(f"{method} {path}: HTTP {resp.status} {data[:200]!r}")
                    break
        except (OSError, http.client.HTTPException) as exc:
            errors.append(f"{type(exc).__name__}: {exc}")
        finally:
            conn.close()
            with lock:
                latencies.extend(mine)

    threads = [threading.Thread(target=worker) for _ in range(connections)]
    started = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - started
    if errors:
        raise RuntimeError(f"errores durante la carga: {errors[:3]}")
    if not latencies:
        raise RuntimeError("la carga no completó ninguna solicitud")
    latencies.sort()
    return len(latencies) / elapsed, latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000, \
        ran_out.is_set()
