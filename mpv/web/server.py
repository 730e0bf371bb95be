"""Serving: waitress in this process, plus background threads that fire due timers (and queue the offices' daily
digests), send e-mails and remove the files no row references."""
from __future__ import annotations

import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time

import waitress

from ..correo.mailer import ESPERA_VACIA, SenderThread
from ..tramites.presentacion import referenced_among
from ..tramites.resumen import enviar_resumenes
from ..periodic import Periodic
from .app import create_app

log = logging.getLogger(__name__)


class TimerThread(Periodic):
    """Fires due timers, then queues the offices' daily digests when they are due, every ``interval`` seconds
    until stopped (what ``mpv timers --loop`` does)."""

    def __init__(self, services, interval: float):
        super().__init__("mpv-timers", services.db, interval)
        self._services = services

    def round(self):
        fired = self._services.engine.fire_due_timers()
        if fired:
            log.info("Timers: %d event(s) recorded", fired)
        for pendientes, correos in enviar_resumenes(self._services).enviados:
            log.info("Daily digest of %s queued: %d e-mail(s)", pendientes.oficina.codigo, correos)


class SweeperThread(Periodic):
    """Removes the files no row references once they are older than ``grace`` seconds — at start (the files
    a crashed process left are the reason for the sweep), then every ``interval`` seconds (what
    ``mpv archivos limpiar`` does once)."""

    def __init__(self, services, interval: float = 3600.0, grace: float = 3600.0):
        super().__init__("mpv-sweeper", services.db, interval, first=0.0)
        self._storage = services.storage
        self._grace = grace

    def round(self):
        removed = self._storage.sweep(referenced_among, self._grace)
        if removed:
            log.info("Sweeper: %d unreferenced file(s) removed: %s", len(removed), ", ".join(removed))


def max_body_bytes(limits) -> int:
    """The largest request a filing can make (main PDF + annexes + form), with room for the form."""
    return limits.principal_bytes + limits.anexos * limits.anexo_bytes + 1024 * 1024


def warn_plaintext(settings):
    """Log a warning for each connection to another host the settings leave unencrypted (MPV still starts:
    a private network may be protected otherwise, but the operator must know)."""
    for problem in settings.plaintext_connections():
        log.warning("Conexión sin cifrar: %s", problem)


def serve(services, threads: int = 8, timers: bool = True, correos: bool = True,
          sweep_interval: float = 3600.0, sweep_grace: float = 3600.0, reuse_port: bool = False):
    """Serve the app on MPV_HOST:MPV_PORT until interrupted; ``sweep_interval=0`` runs no sweeper.
    With ``reuse_port`` the listening socket is shared (SO_REUSEPORT) with the other workers of
    :func:`serve_workers`, and the kernel spreads the connections among them."""
    settings = services.settings
    warn_plaintext(settings)
    background = []
    app = create_app(services, background)
    for thread in background:
        thread.start()
    sweeper = SweeperThread(services, sweep_interval, sweep_grace) if sweep_interval else None
    if sweeper:
        sweeper.start()
    # Timers: with several processes each expediente is claimed by one of them (Engine.fire_due_timers);
    # each office's daily digest is queued by one of them (mpv.tramites.resumen).
    timer = TimerThread(services, settings.timer_interval) if timers else None
    if timer:
        timer.start()
    # E-mails to citizens: several processes may send at once, each row is claimed by one (mpv.correo.mailer);
    # the queue is drained whenever something is due and looked at every few seconds while it is empty.
    sender = SenderThread(services, min(settings.timer_interval, ESPERA_VACIA)) if correos else None
    if sender:
        sender.start()
    log.info("MPV en http://%s:%s (proceso %d)", settings.host, settings.port, os.getpid())
    try:
        proxy = {"trusted_proxy": settings.trusted_proxy, "trusted_proxy_count": 1,
                 "trusted_proxy_headers": "x-forwarded-for x-forwarded-proto x-forwarded-host"} if settings.trusted_proxy else {}
        where = ({"sockets": [shared_socket(settings.host, settings.port)]} if reuse_port
                 else {"host": settings.host, "port": settings.port})
        waitress.serve(app, threads=threads, ident="MPV", max_request_body_size=max_body_bytes(services.limits),
                       clear_untrusted_proxy_headers=True, **where, **proxy)
    finally:
        if timer:
            timer.stop()
        if sender:
            sender.stop()
        if sweeper:
            sweeper.stop()
        for thread in background:
            thread.stop()


def shared_socket(host: str, port: int) -> socket.socket:
    """A listening socket on host:port that other processes may bind too (SO_REUSEPORT)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    sock.listen(1024)
    return sock


def serve_workers(workers: int, threads: int, timers: bool = True, restart_delay: float = 1.0) -> int:
    """Run ``workers`` processes of ``mpv serve`` on one port and supervise them until SIGINT/SIGTERM.

    On 2 cores one process with many threads spends most of its time waiting for the GIL; separate
    processes do not. Each worker is a full ``mpv serve --reuse-port`` (its own connections, timer and
    mail threads; only the first one sweeps files). A worker that dies is started again after
    ``restart_delay`` seconds; stopping the supervisor stops every worker it started, by PID."""
    if not hasattr(socket, "SO_REUSEPORT"):
        raise OSError("Este sistema no permite compartir el puerto entre procesos (SO_REUSEPORT).")
    stopping = threading.Event()

    def command(index: int) -> list[str]:
        args = [sys.executable, "-m", "mpv", "serve", "--threads", str(threads), "--reuse-port",
                "--worker", str(index)]
        return args + ([] if timers else ["--sin-temporizadores"])

    def on_signal(signum, frame):
        stopping.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    children = {i: subprocess.Popen(command(i)) for i in range(workers)}
    log.info("MPV: %d procesos en el puerto compartido (PID %s)", workers,
             ", ".join(str(c.pid) for c in children.values()))
    try:
        while not stopping.wait(0.5):
            for index, child in list(children.items()):
                if child.poll() is not None:
                    log.error("El proceso %d (PID %d) terminó con código %s; se reinicia.", index, child.pid,
                              child.returncode)
                    if stopping.wait(restart_delay):
                        break
                    children[index] = subprocess.Popen(command(index))
    finally:
        for child in children.values():
            if child.poll() is None:
                child.terminate()
        deadline = time.monotonic() + 15
        for child in children.values():
            try:
                child.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 0
