"""Serving: waitress in this process, plus background threads that fire due timers and send e-mails."""
from __future__ import annotations

import logging
import threading

import waitress

from ..correo import SenderThread
from .app import create_app

log = logging.getLogger(__name__)


class TimerThread(threading.Thread):
    """Fires due timers every ``interval`` seconds until stopped (what ``mpv timers --loop`` does)."""

    def __init__(self, engine, interval: float):
        super().__init__(name="mpv-timers", daemon=True)
        self._engine = engine
        self._interval = interval
        self._stop = threading.Event()

    def run(self):
        while not self._stop.wait(self._interval):
            try:
                fired = self._engine.fire_due_timers()
                if fired:
                    log.info("Timers: %d event(s) recorded", fired)
            except Exception:  # noqa: BLE001 - keep the thread alive; the next round retries
                log.exception("Timer round failed; it will be retried")
            finally:
                self._engine.db.peewee.close()

    def stop(self):
        self._stop.set()


def max_body_bytes(limits) -> int:
    """The largest request a filing can make (main PDF + annexes + form), with room for the form."""
    return limits.principal_bytes + limits.anexos * limits.anexo_bytes + 1024 * 1024


def serve(services, threads: int = 8, timers: bool = True, correos: bool = True):
    """Serve the app on MPV_HOST:MPV_PORT until interrupted."""
    settings = services.settings
    app = create_app(services)
    timer = TimerThread(services.engine, settings.timer_interval) if timers else None
    if timer:
        timer.start()
    # E-mails to citizens: several processes may send at once, each row is claimed by one (mpv.correo).
    sender = SenderThread(services, settings.timer_interval) if correos else None
    if sender:
        sender.start()
    log.info("MPV en http://%s:%s", settings.host, settings.port)
    try:
        waitress.serve(app, host=settings.host, port=settings.port, threads=threads, ident="MPV",
                       max_request_body_size=max_body_bytes(services.limits), clear_untrusted_proxy_headers=True)
    finally:
        if timer:
            timer.stop()
        if sender:
            sender.stop()
