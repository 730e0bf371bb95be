"""Helpers the tests share: a movable clock, real services, users, filings and steps."""
from __future__ import annotations

import contextlib
import functools
import http.client
import io
import re
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from email import message_from_bytes, policy

from aiosmtpd.controller import Controller
from waitress import wasyncore
from waitress.server import create_server

from mpv.demo import OFICINAS, TIPOS_DOCUMENTO, sample_pdf
from mpv.tramites.presentacion import presentar
from mpv.models import Oficina, TipoDocumento, Usuario
from mpv.passwords import hash_password
from mpv.services import Services

LIMA = ZoneInfo("America/Lima")


class FakeClock:
    """A clock tests move by hand; thread-safe, always returns aware UTC datetimes."""

    def __init__(self, start: datetime):
        self._now = start.astimezone(timezone.utc)
        self._lock = threading.Lock()

    def __call__(self) -> datetime:
        with self._lock:
            return self._now

    def set(self, when: datetime):
        with self._lock:
            self._now = when.astimezone(timezone.utc)

    def advance(self, **delta):
        with self._lock:
            self._now += timedelta(**delta)


def lima(*args) -> datetime:
    return datetime(*args, tzinfo=LIMA)


# The day the tests' clocks start on. A test that needs *some* moment takes it from here (the ``clock``
# fixture, :func:`base_moment`), so ``pytest --fecha=YYYY-MM-DD`` can move it to any day of the year and
# prove the test does not depend on the date. A test about one day on purpose (a plazo counted from a
# Monday, a holiday) uses a literal date instead, or ``@pytest.mark.fecha_fija`` with the clock fixture.
LUNES = date(2026, 3, 2)  # a Monday with no holiday in the next two weeks: the default base day
_base = {"fecha": LUNES}


def set_base_date(day: date):
    """Move the tests' base day (conftest does it once, from ``--fecha``)."""
    _base["fecha"] = day


def base_date() -> date:
    """The tests' base day: Monday 2 March 2026, or the day of ``--fecha``."""
    return _base["fecha"]


def base_moment(hour: int = 9, minute: int = 30) -> datetime:
    """``hour:minute`` in Lima on the tests' base day (see :func:`base_date`)."""
    day = base_date()
    return lima(day.year, day.month, day.day, hour, minute)


PG_URL = "postgresql://postgres@127.0.0.1:5432/test"


@contextlib.contextmanager
def fresh_database(backend: str, folder: Path):
    """The URL of a database no other test uses: a SQLite file in ``folder``, or a new PostgreSQL schema of
    the ``test`` database, dropped on exit."""
    if backend == "sqlite":
        yield f"sqlite:///{folder / 'mpv.sqlite3'}"
        return
    import psycopg2

    schema = f"t_{uuid.uuid4().hex[:16]}"  # random-ok: a schema no concurrent test uses
    with psycopg2.connect(PG_URL) as conn, conn.cursor() as cur:
        cur.execute(f"CREATE SCHEMA {schema}")
    try:
        yield f"{PG_URL}?options=-csearch_path%3D{schema}"
    finally:
        conn = psycopg2.connect(PG_URL)
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute(f"DROP SCHEMA {schema} CASCADE")
        conn.close()


def build_services(settings, clock, **kwargs) -> Services:
    services = Services.build(settings, clock=clock, **kwargs)
    services.init_db()
    with services.db.write():
        for codigo, nombre, es_mesa in OFICINAS:
            Oficina.insert(codigo=codigo, nombre=nombre, es_mesa_partes=es_mesa).on_conflict_ignore().execute()
        for codigo, nombre in TIPOS_DOCUMENTO:
            TipoDocumento.insert(codigo=codigo, nombre=nombre).on_conflict_ignore().execute()
    return services


@functools.lru_cache(maxsize=16)
def _hash(password: str) -> str:
    # argon2 costs ~60 ms a hash by design; a test's users can share one real hash of their password.
    return hash_password(password)


def make_user(username, rol, oficina=None, password="contraseña-de-prueba-1") -> Usuario:
    oficina_row = Oficina.get(Oficina.codigo == oficina) if oficina else None
    return Usuario.create(username=username, nombre=username.title(), rol=rol, oficina=oficina_row,
                          password_hash=_hash(password))


FILING = {
    "tipo_persona": "natural", "tipo_documento_identidad": "DNI", "numero_documento_identidad": "45871236",
    "nombres": "Ana", "apellidos": "Rojas Villanueva", "email": "ana@example.com", "telefono": "987654321",
    "direccion": "Jr. Loreto 215", "tipo_documento": "SOL", "asunto": "Licencia de funcionamiento",
    "folios": 3, "acepta_notificacion": "true",
}


def file_tramite(services, pdf: bytes | None = None, anexos=(), proceso="tramite", nombre="solicitud.pdf",
                 **overrides):
    """File a trámite as a citizen would, with a real small PDF."""
    principal = services.storage.receive(io.BytesIO(pdf or sample_pdf("Solicitud")), nombre,
                                         services.limits.principal_bytes)
    extra = [services.storage.receive(io.BytesIO(a), f"anexo{i}.pdf", services.limits.anexo_bytes)
             for i, a in enumerate(anexos, 1)]
    return presentar(services, {**FILING, **overrides}, principal, extra, ip="127.0.0.1", proceso=proceso)


def task_of(services, expediente, actor):
    """The id of the one ready task ``actor`` may complete on ``expediente``."""
    rows = list(services.engine.tasks_for(actor, expediente.id))
    assert len(rows) == 1, [r.spec for r in rows]
    return rows[0].task_id


def step(services, expediente, actor, **data):
    """Complete the actor's ready task on ``expediente`` with ``data``."""
    return services.engine.complete(expediente.id, task_of(services, expediente, actor), actor, data)


def derivar(services, expediente, mesa, *oficinas, con_copia=(), plazo_dias=7, **extra):
    """Mesa de partes derives ``expediente`` to ``oficinas`` (the first is the main destination)."""
    data = {"oficina_destino": oficinas[0], "oficinas_adicionales": list(oficinas[1:]),
            "con_copia": list(con_copia), "prioridad": "normal", "plazo_dias": plazo_dias, **extra}
    return step(services, expediente, mesa, **data)


def recibir(services, expediente, oficina):
    """The office receives the expediente derived to it (the «Recibir» of its tray)."""
    return step(services, expediente, oficina)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class SmtpServer:
    """An aiosmtpd server on a fixed loopback port that keeps every message; it can be started late."""

    def __init__(self, port: int, **smtp_options):
        self.port = port
        self.messages = []
        self.peers = set()  # the client end of every connection a message came in on
        self._lock = threading.Lock()
        self._controller = None
        self._options = smtp_options  # aiosmtpd's SMTP parameters, e.g. tls_context and require_starttls

    async def handle_DATA(self, server, session, envelope):
        message = message_from_bytes(envelope.content, policy=policy.default)
        with self._lock:
            self.messages.append((list(envelope.rcpt_tos), message))
            self.peers.add(tuple(session.peer))
        return "250 Message accepted for delivery"

    def start(self):
        self._controller = Controller(self, hostname="127.0.0.1", port=self.port, **self._options)
        self._controller.start()

    def stop(self):
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def subject(self, text: str):
        """The one message whose subject contains ``text``."""
        found = [m for _, m in self.messages if text in m["Subject"]]
        assert len(found) == 1, [m["Subject"] for _, m in self.messages]
        return found[0]


class LiveServer:
    """The WSGI ``app`` served by waitress on a free 127.0.0.1 port, in a background thread.

    Use as a context manager; leaving it stops the loop, the worker threads and every socket.
    """

    def __init__(self, app, threads: int = 4, **options):
        self._map: dict = {}  # our own socket map, so that stopping closes exactly this server's sockets
        self._server = create_server(app, map=self._map, host="127.0.0.1", port=0, threads=threads, ident="MPV",
                                     clear_untrusted_proxy_headers=True, **options)
        self.port = self._server.effective_port
        self.url = f"http://127.0.0.1:{self._server.effective_port}"
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"waitress-{self._server.effective_port}",
                                        daemon=True)

    def _run(self):
        # Short polls instead of server.run(): the loop notices the stop request, and every socket is
        # closed in this thread, the one that polls them.
        try:
            while not self._stop.is_set() and self._map:
                wasyncore.loop(timeout=0.05, map=self._map, count=1)
        finally:
            self._server.task_dispatcher.shutdown(timeout=5)
            wasyncore.close_all(self._map)

    def start(self) -> "LiveServer":
        self._thread.start()
        return self

    def stop(self):
        self._stop.set()
        self._thread.join(timeout=10)
        if self._thread.is_alive():
            raise RuntimeError(f"El servidor de {self.url} no se detuvo en 10 s.")

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


@contextlib.contextmanager
def served(services, threads=8):
    """The app under waitress on 127.0.0.1 (a free port) with the request limit ``mpv serve`` uses; yields the port."""
    from mpv.web.app import create_app
    from mpv.web.server import max_body_bytes

    with LiveServer(create_app(services), threads=threads,
                    max_request_body_size=max_body_bytes(services.limits)) as server:
        yield server.port


ROOT = Path(__file__).resolve().parent.parent


class Server:
    """A real ``mpv serve`` in its own process on a fixed port and data folder; stopped by its PID only."""

    def __init__(self, env: dict, log: Path, port: int, args: tuple[str, ...] = ()):
        self._env, self._log, self.port, self._args = env, log, port, args
        self.proc: subprocess.Popen | None = None
        self.starts: list[float] = []  # seconds from spawn to the first answer

    def start(self, timeout: float = 60.0):
        t0 = time.monotonic()
        with self._log.open("ab") as log:
            self.proc = subprocess.Popen([sys.executable, "-m", "mpv", "serve", *self._args], cwd=ROOT, env=self._env,
                                         stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        while True:
            if self.proc.poll() is not None:
                raise AssertionError(f"mpv serve exited with {self.proc.returncode}:\n{self.log_tail()}")
            if time.monotonic() - t0 > timeout:
                self.kill()
                raise AssertionError(f"mpv serve did not answer within {timeout:.0f} s:\n{self.log_tail()}")
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
            try:
                conn.request("GET", "/api/v1/tipos-documento")
                if conn.getresponse().status == 200:
                    break
            except (OSError, http.client.HTTPException):
                pass
            finally:
                conn.close()
            time.sleep(0.05)
        self.starts.append(time.monotonic() - t0)

    def kill(self):
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
        if self.proc is not None:
            self.proc.wait(30)

    def stop(self, timeout: float = 20.0):
        """SIGTERM (what Ctrl+C or systemd sends), then SIGKILL if it has not exited within ``timeout``."""
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill()

    def log_tail(self, lines: int = 40) -> str:
        return "\n".join(self._log.read_text(errors="replace").splitlines()[-lines:])


def cookie_header(cookies: dict) -> str:
    return "; ".join(f"{k}={v}" for k, v in cookies.items())


def http_login(port: int, username: str) -> tuple[dict, str]:
    """Sign in through the login form of the server at ``port`` (password of :func:`make_user`): the
    session's cookies and the CSRF token of its pages."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request("GET", "/login")
    page = conn.getresponse()
    html = page.read().decode()
    cookies = {c.split("=", 1)[0]: c.split("=", 1)[1].split(";")[0] for c in page.headers.get_all("Set-Cookie")}
    csrf = re.search(r'name="csrf" value="([^"]+)"', html).group(1)
    conn.request("POST", "/login", body=urlencode({"csrf": csrf, "username": username,
                                                   "password": "contraseña-de-prueba-1"}),
                 headers={"Content-Type": "application/x-www-form-urlencoded", "Cookie": cookie_header(cookies)})
    result = conn.getresponse()
    result.read()
    assert result.status == 303, (username, result.status)
    for c in result.headers.get_all("Set-Cookie"):
        name, value = c.split("=", 1)
        cookies[name] = value.split(";")[0]
    conn.request("GET", "/inicio", headers={"Cookie": cookie_header(cookies)})
    html = conn.getresponse().read().decode()
    conn.close()
    return cookies, re.search(r'name="csrf" value="([^"]+)"', html).group(1)


def resolve_refs(node, spec):
    """An OpenAPI fragment with every ``$ref`` replaced by what it points to in ``spec``."""
    if isinstance(node, dict):
        if "$ref" in node:
            target = spec
            for key in node["$ref"].removeprefix("#/").split("/"):
                target = target[key]
            return resolve_refs(target, spec)
        return {k: resolve_refs(v, spec) for k, v in node.items()}
    if isinstance(node, list):
        return [resolve_refs(v, spec) for v in node]
    return node


class OtroProceso:
    """Another MPV process on the test's database, polling due timers (``mpv timers``) at the moment it is told:
    a real process of its own (spawned), with its own connection and calendar, under an injected clock."""

    def __init__(self, settings, momento: datetime):
        import concurrent.futures
        import multiprocessing

        self._pool = concurrent.futures.ProcessPoolExecutor(
            1, mp_context=multiprocessing.get_context("spawn"), initializer=_proceso_iniciar,
            initargs=(settings, momento))

    def disparar(self, momento: datetime):
        """Start firing the timers due at ``momento``; ``.result()`` of what it returns is how many fired."""
        return self._pool.submit(_proceso_disparar, momento)

    def close(self):
        self._pool.shutdown()


_PROCESO: dict = {}


def _proceso_iniciar(settings, momento):
    from mpv.services import Services

    _PROCESO["clock"] = FakeClock(momento)
    _PROCESO["services"] = Services.build(settings, clock=_PROCESO["clock"])


def _proceso_disparar(momento):
    _PROCESO["clock"].set(momento)
    return _PROCESO["services"].engine.fire_due_timers()
