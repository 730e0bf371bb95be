"""Serving: waitress in this process, plus background threads that fire due timers, send e-mails and
remove the files no row references."""
from __future__ import annotations

import logging
import threading

import waitress

from ..correo import SenderThread
from ..filing import referenced_among
from .app import create_app

log = logging.getLogger(__name__)


class TimerThread(threading.Thread):
    """Fires due timers every ``interval`` seconds until stopped (what ``mpv timers --loop`` does)."""

    def __init__(self, engine, interval: float):
        super().__init__(name="mpv-timers", daemon=True)
        self._engine = engine
        self._interval = interval
        self._stopping = threading.Event()

    def run(self):
        while not self._stopping.wait(self._interval):
            try:
                fired = self._engine.fire_due_timers()
                if fired:
                    log.info("Timers: %d event(s) recorded", fired)
            except Exception:  # noqa: BLE001 - keep the thread alive; the next round retries
                log.exception("Timer round failed; it will be retried")
            finally:
                self._engine.db.peewee.close()

    def stop(self):
        self._stopping.set()


class SweeperThread(threading.Thread):
    """Removes the files no row references once they are older than ``grace`` seconds — at start, then
    every ``interval`` seconds (what ``mpv archivos limpiar`` does once)."""

    def __init__(self, services, interval: float = 3600.0, grace: float = 3600.0):
        super().__init__(name="mpv-sweeper", daemon=True)
        self._services = services
        self._interval = interval
        self._grace = grace
        self._stopping = threading.Event()

    def run(self):
        wait = 0.0  # at start too: the files a crashed process left are the reason for the sweep
        while not self._stopping.wait(wait):
            wait = self._interval
            try:
                removed = self._services.storage.sweep(referenced_among, self._grace)
                if removed:
                    log.info("Sweeper: %d unreferenced file(s) removed: %s", len(removed), ", ".join(removed))
            except Exception:  # noqa: BLE001 - keep the thread alive; the next round retries
                log.exception("Sweeper round failed; it will be retried")
            finally:
                self._services.db.peewee.close()

    def stop(self):
        self._stopping.set()


def max_body_bytes(limits) -> int:
    """The largest request a filing can make (main PDF + annexes + form), with room for the form."""
    return limits.principal_bytes + limits.anexos * limits.anexo_bytes + 1024 * 1024


def serve(services, threads: int = 8, timers: bool = True, correos: bool = True,
          sweep_interval: float = 3600.0, sweep_grace: float = 3600.0):
    """Serve the app on MPV_HOST:MPV_PORT until interrupted; ``sweep_interval=0`` runs no sweeper."""
    settings = services.settings
    app = create_app(services)
    sweeper = SweeperThread(services, sweep_interval, sweep_grace) if sweep_interval else None
    if sweeper:
        sweeper.start()
    timer = TimerThread(services.engine, settings.timer_interval) if timers else None
    if timer:
        timer.start()
    # E-mails to citizens: several processes may send at once, each row is claimed by one (mpv.correo).
    sender = SenderThread(services, settings.timer_interval) if correos else None
    if sender:
        sender.start()
    log.info("MPV en http://%s:%s", settings.host, settings.port)
    try:
        proxy = {"trusted_proxy": settings.trusted_proxy, "trusted_proxy_count": 1,
                 "trusted_proxy_headers": "x-forwarded-for x-forwarded-proto x-forwarded-host"} if settings.trusted_proxy else {}
        waitress.serve(app, host=settings.host, port=settings.port, threads=threads, ident="MPV",
                       max_request_body_size=max_body_bytes(services.limits), clear_untrusted_proxy_headers=True,
                       **proxy)
    finally:
        if timer:
            timer.stop()
        if sender:
            sender.stop()
        if sweeper:
            sweeper.stop()
