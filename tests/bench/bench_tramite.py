"""Benchmark: whole trámites, as people carry them out, against ``mpv serve`` as a user starts it.

N concurrent clients (16 by default), each in a loop for a bounded time: a citizen files a trámite through
``POST /api/v1/tramites`` with a ~50 KB PDF; mesa de partes derives it through the staff form (the form, the
«revisar» step, the confirmation); the office receives it («Recibir») and attends it with a PDF from its
Bandeja; the citizen looks at the public seguimiento. Every answer is checked (status and content).

The server is a real ``python -m mpv serve`` (one process on SQLite, ``--workers 2`` on PostgreSQL) on a database
made by ``mpv demo``, started and stopped by its PID, on 127.0.0.1 only; the rate limits of the public routes are
raised by configuration (MPV_LIMITE_*), as an operator would. Printed: trámites/s, p50/p99 of each step and of
the whole trámite, and the server's CPU per trámite (utime+stime of the server's processes from /proc, before
and after the run).

Run: ``make bench`` or
``python tests/bench/bench_tramite.py [--clientes N] [--segundos S] [--bases sqlite,postgresql] [--serie N]``.
With ``--serie N`` (30 by default) it also runs N trámites in a row with one client and waits until the mail they
queued is sent: the CPU per trámite with every e-mail paid (under load the queue may grow past the window).
"""
from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_tabla  # noqa: E402
from comun import (CSRF, ROOT, Servidor, carga_media, csrf_token, demo_password, login, machine,  # noqa: E402
                   puerto_libre)
from bench_filing import FILING, SERIAL, scanned_pdf  # noqa: E402
from helpers import PG_URL, FakeClock, Server, base_moment, fresh_database  # noqa: E402
from webclient import multipart  # noqa: E402

PASOS = ("presentación", "derivación", "recepción", "atención", "seguimiento público")
DERIVAR = {"oficina_destino": "GDUR", "proveido": "Evaluar y atender", "prioridad": "normal", "plazo_dias": "5"}
LIMITES = {"MPV_LIMITE_PRESENTACIONES": "100000", "MPV_LIMITE_CONSULTAS": "100000", "MPV_LIMITE_INGRESOS": "100000"}


def pdf_de(kb: int = 50) -> bytes:
    """A valid PDF of about ``kb`` KB, one scanned page, whose serial number is rewritten for each upload."""
    return scanned_pdf(1, kb * 1024 - 1500, seed=kb)


class Cuerpos:
    """Multipart bodies, each PDF with its own serial number (as every real file differs)."""

    def __init__(self, fields, file_field: str, nombre: str, pdf: bytes):
        self.data, self.content_type = multipart(list(fields), [(file_field, nombre, pdf)])
        self._serial, self._lock = 0, threading.Lock()

    def next(self) -> bytes:
        with self._lock:
            self._serial += 1
            return self.data.replace(SERIAL, b"%%MPV-BENCH-%016d" % self._serial, 1)


# -- the server and its CPU ------------------------------------------------------------------------------
def cpu_seconds(pid: int) -> float:
    """utime+stime of ``pid`` and of every live child process of it (the workers of ``--workers``)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(stat.parent.name) == pid or int(fields[1]) == pid:  # fields[1]: the parent's PID
            total += (int(fields[11]) + int(fields[12])) / ticks
    return total


def server_pids(pid: int) -> list[int]:
    """``pid`` and its children (for a profiler)."""
    pids = [pid]
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == pid:
                pids.append(int(stat.parent.name))
        except OSError:
            continue
    return pids


@contextmanager
def base_de_datos(nombre: str, carpeta: Path):
    """The URL of a fresh database (:func:`helpers.fresh_database`); None when PostgreSQL does not answer."""
    if nombre == "postgresql":
        import psycopg2

        try:
            psycopg2.connect(PG_URL, connect_timeout=3).close()
        except psycopg2.Error as exc:
            print(f"PostgreSQL no responde en 127.0.0.1:5432 (base test): se omite ({str(exc).strip()})")
            yield None
            return
    with fresh_database(nombre, carpeta) as url:
        yield url


@contextmanager
def servidor(base: str, prefijo: str):
    """``mpv serve`` as a user starts it (one process on SQLite, ``--workers 2`` on PostgreSQL) on a database made
    by ``mpv demo``: (url, port, passwords, server), or None when PostgreSQL does not answer. Stopped after; its
    log must hold no traceback."""
    with tempfile.TemporaryDirectory(prefix=prefijo) as tmp, base_de_datos(base, Path(tmp)) as url:
        if url is None:
            yield None
            return
        carpeta, port = Path(tmp), puerto_libre()
        env = entorno(carpeta, url, port)
        claves = demo(env)
        server = Server(env, carpeta / "servidor.log", port, args=("--workers", "2") if base == "postgresql" else ())
        server.start()
        try:
            yield url, port, claves, server
        finally:
            server.stop()
        if "Traceback" in (log := (carpeta / "servidor.log").read_text(errors="replace")):
            raise RuntimeError(f"el servidor registró un error:\n{log[-3000:]}")


def cuerpos() -> tuple["Cuerpos", "Cuerpos"]:
    """The bodies of a trámite: the filing (with its PDF) and the atención (with the answer's PDF)."""
    pdf = pdf_de(50)
    return (Cuerpos(((k, str(v)) for k, v in FILING.items()), "archivo", "solicitud.pdf", pdf),
            Cuerpos([("csrf", "CSRF-TOKEN-BENCH"), ("accion", "atender"), ("_vista", "atender"),
                     ("respuesta", "Licencia otorgada")], "archivo_respuesta", "resolución.pdf", pdf))


def entorno(carpeta: Path, url: str, port: int) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MPV_")}
    env.update(MPV_DATA_DIR=str(carpeta / "datos"), MPV_DATABASE_URL=url, MPV_HOST="127.0.0.1", MPV_PORT=str(port),
               PYTHONUNBUFFERED="1", **LIMITES)
    return env


def demo(env: dict) -> dict[str, str]:
    """``mpv demo`` on the database of ``env``: the passwords it printed, by user name."""
    out = subprocess.run([sys.executable, "-m", "mpv", "demo", "--tramites", "0"], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=300)
    if out.returncode:
        raise RuntimeError(f"mpv demo falló:\n{out.stderr[-2000:]}")
    claves = {}
    for line in out.stdout.splitlines():
        parts = line.split()
        if len(parts) >= 3 and parts[0] in ("mesa", "gdur"):
            claves[parts[0]] = parts[2]
    return claves


# -- one client ------------------------------------------------------------------------------------------
class Cliente:
    """One keep-alive connection per person; the staff signed in through the login form."""

    def __init__(self, port: int, claves: dict[str, str]):
        self.port = port
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        self.mesa = self._login("mesa", claves["mesa"])
        self.gdur = self._login("gdur", claves["gdur"])

    def close(self):
        self.conn.close()

    def pedir(self, method, path, body=None, headers=None, esperado=200) -> tuple[str, http.client.HTTPResponse]:
        self.conn.request(method, path, body=body, headers=headers or {})
        resp = self.conn.getresponse()
        text = resp.read().decode()
        if resp.status != esperado:
            raise RuntimeError(f"{method} {path}: HTTP {resp.status} (se esperaba {esperado}): {text[:300]!r}")
        return text, resp

    def _login(self, username, password) -> tuple[str, str]:
        """(Cookie header, CSRF token) of a session of ``username``."""
        page, resp = self.pedir("GET", "/login")
        cookie = re.search(r"mpv_csrf=([^;]+)", resp.getheader("Set-Cookie", "")).group(1)
        body = urlencode({"csrf": CSRF.search(page).group(1), "username": username, "password": password,
                          "siguiente": "/inicio"})
        _, resp = self.pedir("POST", "/login", body, {"Content-Type": "application/x-www-form-urlencoded",
                                                      "Cookie": f"mpv_csrf={cookie}"}, esperado=303)
        sesion = re.search(r"mpv_sesion=([^;]+)", resp.getheader("Set-Cookie", "")).group(1)
        cookies = f"mpv_sesion={sesion}; mpv_csrf={cookie}"
        page, _ = self.pedir("GET", "/inicio", headers={"Cookie": cookies})
        return cookies, CSRF.search(page).group(1)

    def tramite(self, presentacion: Cuerpos, respuesta: Cuerpos) -> dict[str, float]:
        """One whole trámite; seconds of each step."""
        tiempos, t0 = {}, time.perf_counter()

        def marca(paso):
            nonlocal t0
            t1 = time.perf_counter()
            tiempos[paso], t0 = t1 - t0, t1

        text, _ = self.pedir("POST", "/api/v1/tramites", presentacion.next(),
                             {"Content-Type": presentacion.content_type}, esperado=201)
        filed = json.loads(text)
        numero, codigo = filed["numero"], filed["codigo"]
        marca("presentación")

        cookie, csrf = self.mesa
        path = f"/expedientes/{numero}/derivar"
        page, _ = self.pedir("GET", path, headers={"Cookie": cookie})
        if ">Derivar</button>" not in page:
            raise RuntimeError(f"{path}: el formulario de derivación no aparece")
        form = {"Content-Type": "application/x-www-form-urlencoded", "Cookie": cookie}
        page, _ = self.pedir("POST", path, urlencode({"csrf": csrf, **DERIVAR, "paso": "revisar"}), form)
        if f"¿Confirma la derivación del expediente <strong>{numero}</strong>" not in page:
            raise RuntimeError(f"{path}: no pidió confirmación")
        _, resp = self.pedir("POST", path, urlencode({"csrf": csrf, **DERIVAR, "paso": "confirmar"}), form, 303)
        if not resp.getheader("Location", "").endswith(f"/expedientes/{numero}/derivado"):
            raise RuntimeError(f"{path}: la confirmación no llevó al mensaje de derivado")
        marca("derivación")

        cookie, csrf = self.gdur
        tarea = self._en_bandeja(cookie, rf'action="/expedientes/{numero}/tareas/([0-9a-f-]{{36}})"')
        self.pedir("POST", f"/expedientes/{numero}/tareas/{tarea}", urlencode({"csrf": csrf}),
                   {"Content-Type": "application/x-www-form-urlencoded", "Cookie": cookie}, 303)
        marca("recepción")

        tarea = self._en_bandeja(cookie, rf'/expedientes/{numero}/tareas/([0-9a-f-]{{36}})\?accion=atender')
        path = f"/expedientes/{numero}/tareas/{tarea}"
        page, _ = self.pedir("GET", f"{path}?accion=atender", headers={"Cookie": cookie})
        if ">Registrar atención</button>" not in page:
            raise RuntimeError(f"{path}: el formulario de atención no aparece")
        self.pedir("POST", path, respuesta.next().replace(b"CSRF-TOKEN-BENCH", csrf.encode()),
                   {"Content-Type": respuesta.content_type, "Cookie": cookie}, 303)
        marca("atención")

        page, _ = self.pedir("GET", f"/seguimiento/{codigo}")
        if numero not in page or "Atendido" not in page:
            raise RuntimeError(f"/seguimiento/{codigo}: no muestra el expediente {numero} atendido")
        marca("seguimiento público")
        return tiempos

    def _en_bandeja(self, cookie, pattern) -> str:
        page, _ = self.pedir("GET", "/bandeja", headers={"Cookie": cookie})
        found = re.search(pattern, page)
        if not found:
            raise RuntimeError(f"la Bandeja de GDUR no muestra {pattern}")
        return found.group(1)


def carga(personas: list[Cliente], segundos: float) -> tuple[list[dict], float]:
    """(the step times of every trámite completed, seconds elapsed) of the clients ``personas`` for ``segundos``."""
    presentacion, respuesta = cuerpos()
    hechos, errores, lock = [], [], threading.Lock()
    deadline = time.monotonic() + segundos

    def bucle(persona):
        try:
            while time.monotonic() < deadline:
                tiempos = persona.tramite(presentacion, respuesta)
                with lock:
                    hechos.append(tiempos)
        except (RuntimeError, OSError, http.client.HTTPException) as exc:
            errores.append(f"{type(exc).__name__}: {exc}")
        finally:
            persona.close()

    threads = [threading.Thread(target=bucle, args=(p,)) for p in personas]
    started = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - started
    if errores:
        raise RuntimeError(f"errores durante la carga: {errores[:3]}")
    if not hechos:
        raise RuntimeError("ningún trámite se completó")
    return hechos, elapsed


def medir(base: str, clientes: int, segundos: float, perfil: str | None = None) -> dict | None:
    """The figures of one run on ``base`` ("sqlite": one process; "postgresql": ``--workers 2``); None when
    PostgreSQL does not answer. ``perfil``: a py-spy command run on the server during the load."""
    with servidor(base, "mpv-bench-tramite-") as arrancado:
        if arrancado is None:
            return None
        url, port, claves, server = arrancado
        calentar = Cliente(port, claves)  # imports, caches, first rows of each page
        for _ in range(2):
            calentar.tramite(*cuerpos())
        calentar.close()
        personas = [Cliente(port, claves) for _ in range(clientes)]  # signed in before: a login is not a trámite
        perfilador = None
        if perfil:
            pids = server_pids(server.proc.pid)
            perfilador = subprocess.Popen(perfil.format(pid=pids[-1], segundos=int(segundos)).split())
        cola = Cola(url)  # the mail queue the run leaves: it must stay bounded (issue 15, item 4)
        cpu0 = cpu_seconds(server.proc.pid)
        hechos, elapsed = carga(personas, segundos)
        cpu = cpu_seconds(server.proc.pid) - cpu0
        correos = cola.terminar()
        if perfilador:
            perfilador.wait(segundos + 60)
    return {"base": base, "tramites": len(hechos), "por_s": len(hechos) / elapsed, "cpu_ms": cpu / len(hechos) * 1000,
            "pasos": {p: [h[p] for h in hechos] for p in PASOS}, "total": [sum(h.values()) for h in hechos],
            "carga": carga_media(), "correos": correos}


def en_serie(base: str, tramites: int) -> dict | None:
    """One client, ``tramites`` trámites in a row against the same server as :func:`medir`, then the wait until the
    mail they queued is sent: the server's CPU per trámite with nothing queued left unpaid (under load the queue may
    grow and leave its work out of the window), and each step's mean time with no one else waiting."""
    with servidor(base, "mpv-bench-serie-") as arrancado:
        if arrancado is None:
            return None
        url, port, claves, server = arrancado
        cliente, (presentacion, respuesta) = Cliente(port, claves), cuerpos()
        for _ in range(3):  # imports, caches, first rows of each page
            cliente.tramite(presentacion, respuesta)
        pendientes(url, hasta=0)
        cpu0, t0 = cpu_seconds(server.proc.pid), time.perf_counter()
        hechos = [cliente.tramite(presentacion, respuesta) for _ in range(tramites)]
        elapsed = time.perf_counter() - t0
        pendientes(url, hasta=0)
        cpu = cpu_seconds(server.proc.pid) - cpu0
        cliente.close()
    return {"base": base, "tramites": tramites, "cpu_ms": cpu / tramites * 1000, "ms": elapsed / tramites * 1000,
            "pasos": {p: sum(h[p] for h in hechos) / tramites * 1000 for p in PASOS}}


def pendientes(url: str, hasta: int, espera: float = 120.0):
    """Wait until the mail queue holds at most ``hasta`` pending rows. :raise RuntimeError: not within ``espera`` s."""
    conn, deadline = conectar(url), time.monotonic() + espera
    try:
        while correos(conn)[0] > hasta:
            if time.monotonic() > deadline:
                raise RuntimeError(f"la cola de correo no bajó a {hasta} pendientes en {espera:.0f} s")
            time.sleep(0.5)
    finally:
        conn.close()


class Cola:
    """Samples the pending e-mails every 2 s on its own connection, from now until :meth:`terminar`."""

    def __init__(self, url: str):
        self._url, self._hecho, self.pendientes = url, threading.Event(), []
        self._hilo = threading.Thread(target=self._muestrear, daemon=True)
        self._hilo.start()

    def _muestrear(self):
        conn = conectar(self._url)
        try:
            while not self._hecho.wait(2.0):
                self.pendientes.append(correos(conn)[0])
            self.final = correos(conn)
        finally:
            conn.close()

    def terminar(self) -> dict:
        self._hecho.set()
        self._hilo.join()
        return {"pendientes": self.pendientes, "al_terminar": self.final[0], "enviados": self.final[1]}


def conectar(url: str):
    """A DB-API connection of its own to the database ``url`` (SQLite file or PostgreSQL), autocommit."""
    if url.startswith("sqlite"):
        import sqlite3

        return sqlite3.connect(url.split(":///", 1)[1], timeout=30, isolation_level=None)
    import psycopg2

    conn = psycopg2.connect(url)
    conn.autocommit = True
    return conn


def correos(conn) -> tuple[int, int]:
    """(pending, sent) rows of the mail queue."""
    cur = conn.cursor()
    cur.execute("SELECT COUNT(*) FILTER (WHERE estado = 'pendiente'), COUNT(*) FILTER (WHERE estado = 'enviado') "
                "FROM correo")
    return tuple(cur.fetchone())


class ClienteBase:
    """The physical reference: each step of a trámite as its bare baseline of ``make bench`` (bench_tabla's
    server, SQLite, one process): the filing and the atención as the bare POST of the same multipart body to
    disk with fsync, the derivation and the reception as the bare derivation (one row loaded and saved, one
    appended, in a write transaction), the public seguimiento as hello world in Falcon."""

    def __init__(self, port: int, cookie: str, csrf: str, numeros: list[str]):
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        self.cookie, self.numeros = cookie, numeros
        self.form = urlencode({"csrf": csrf, **DERIVAR})
        self._n = 0

    def close(self):
        self.conn.close()

    def _pedir(self, method, path, body, headers, esperado):
        self.conn.request(method, path, body=body, headers=headers)
        resp = self.conn.getresponse()
        data = resp.read()
        if resp.status != esperado:
            raise RuntimeError(f"{method} {path}: HTTP {resp.status}: {data[:300]!r}")

    def tramite(self, presentacion: Cuerpos, respuesta: Cuerpos) -> dict[str, float]:
        self._n += 1
        numero = self.numeros[self._n % len(self.numeros)]
        form = {"Content-Type": "application/x-www-form-urlencoded", "Cookie": self.cookie}
        pasos = {
            "presentación": ("POST", "/api/bench/bare", presentacion.next,
                             {"Content-Type": presentacion.content_type}, 201),
            "derivación": ("POST", f"/bench/derivar/{numero}", lambda: self.form, form, 303),
            "recepción": ("POST", f"/bench/derivar/{numero}", lambda: self.form, form, 303),
            "atención": ("POST", "/api/bench/bare", respuesta.next, {"Content-Type": respuesta.content_type}, 201),
            "seguimiento público": ("GET", "/bench/hola", lambda: None, {}, 200),
        }
        tiempos = {}
        for paso, (method, path, body, headers, esperado) in pasos.items():
            t0 = time.perf_counter()
            self._pedir(method, path, body(), headers, esperado)
            tiempos[paso] = time.perf_counter() - t0
        return tiempos


def referencia(clientes: int, segundos: float) -> dict:
    """The same figures for the five bare baselines of :class:`ClienteBase`."""
    with tempfile.TemporaryDirectory(prefix="mpv-bench-tramite-base-") as tmp:
        carpeta = Path(tmp)
        numeros = bench_tabla.trabajo(carpeta, 20, FakeClock(base_moment(9, 30)))
        with Servidor(bench_tabla.__file__, str(carpeta), "--hilos", "8", "--papel", "escritura") as servidor:
            cookie = login(servidor.port, "mesa", demo_password(carpeta, "mesa"))
            csrf = csrf_token(servidor.port, cookie)
            personas = [ClienteBase(servidor.port, cookie, csrf, numeros[i::clientes] or numeros)
                        for i in range(clientes)]
            cpu0 = cpu_seconds(servidor.proc.pid)
            hechos, elapsed = carga(personas, segundos)
            cpu = cpu_seconds(servidor.proc.pid) - cpu0
    return {"base": "referencia física", "tramites": len(hechos),
            "por_s": len(hechos) / elapsed, "cpu_ms": cpu / len(hechos) * 1000,
            "pasos": {p: [h[p] for h in hechos] for p in PASOS}, "total": [sum(h.values()) for h in hechos],
            "carga": carga_media()}


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(len(values) * q))] * 1000


def report(filas: list[dict], clientes: int, segundos: float):
    print(f"\nTrámites completos ({clientes} clientes, {segundos:.0f} s; presentación con PDF de 50 KB, derivación "
          "con confirmación, recepción, atención con PDF, seguimiento público)")
    print("| base | servidor | trámites/s | CPU del servidor ms/trámite | trámite p50 ms | p99 ms "
          "| carga media al terminar |")
    print("|---|---|---:|---:|---:|---:|---|")
    for f in filas:
        servidor = {"postgresql": "mpv serve --workers 2", "sqlite": "mpv serve"}.get(
            f["base"], "líneas de base de bench_tabla.py, SQLite, 1 proceso")
        print(f"| {f['base']} | {servidor} | {f['por_s']:.1f} | {f['cpu_ms']:.0f} | {pct(f['total'], .5):.0f} | "
              f"{pct(f['total'], .99):.0f} | {f['carga']} |")
    for f in filas:
        if "correos" in f:
            c = f["correos"]
            print(f"Correos de {f['base']}: pendientes cada 2 s {' → '.join(map(str, c['pendientes'])) or '-'}; "
                  f"al terminar {c['al_terminar']} pendientes y {c['enviados']} enviados.")
    print("\n| paso | " + " | ".join(f"{f['base']} p50 ms | p99 ms" for f in filas) + " |")
    print("|---|" + "---:|---:|" * len(filas))
    for paso in PASOS:
        print(f"| {paso} | " + " | ".join(f"{pct(f['pasos'][paso], .5):.0f} | {pct(f['pasos'][paso], .99):.0f}"
                                         for f in filas) + " |")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clientes", type=int, default=16)
    parser.add_argument("--segundos", type=float, default=15.0)
    parser.add_argument("--bases", default="sqlite,postgresql", help="sqlite, postgresql o ambas, separadas por coma")
    parser.add_argument("--sin-referencia", action="store_true", help="sin la referencia física (líneas de base)")
    parser.add_argument("--serie", type=int, default=30, metavar="N",
                        help="además, N trámites seguidos de un solo cliente y la espera de su correo (0: no)")
    parser.add_argument("--perfil", default=None, help=argparse.SUPPRESS)  # e.g. "py-spy record --pid {pid} ..."
    args = parser.parse_args(argv)
    print(machine())
    bases = [base.strip() for base in args.bases.split(",")]
    filas = [f for base in bases if (f := medir(base, args.clientes, args.segundos, args.perfil))]
    if not args.sin_referencia:
        filas.append(referencia(args.clientes, args.segundos))
    report(filas, args.clientes, args.segundos)
    if args.serie:
        report_serie([f for base in bases if (f := en_serie(base, args.serie))])
    return 0


def report_serie(filas: list[dict]):
    print(f"\nUn cliente, en serie ({filas[0]['tramites'] if filas else 0} trámites seguidos; la CPU incluye enviar "
          "los correos que dejaron, hasta vaciar la cola)")
    print("| base | servidor | ms por trámite | CPU del servidor ms/trámite | "
          + " | ".join(f"{p} ms" for p in PASOS) + " |")
    print("|---|---|---:|---:|" + "---:|" * len(PASOS))
    for f in filas:
        servidor = "mpv serve --workers 2" if f["base"] == "postgresql" else "mpv serve"
        print(f"| {f['base']} | {servidor} | {f['ms']:.0f} | {f['cpu_ms']:.0f} | "
              + " | ".join(f"{f['pasos'][p]:.1f}" for p in PASOS) + " |")


if __name__ == "__main__":
    sys.exit(main())
