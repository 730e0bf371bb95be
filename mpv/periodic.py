"""Background work a server process repeats: fire timers, send e-mails, sweep files."""
from __future__ import annotations

import logging
import threading

log = logging.getLogger(__name__)


class Periodic(threading.Thread):
    """Runs :meth:`round` every ``interval`` seconds until stopped — the first time after ``first`` seconds
    (``interval`` unless given). A round that raises is logged and the next one retries; after each round
    the thread gives its database connection back, so an idle thread holds none."""

    def __init__(self, name: str, db, interval: float, first: float | None = None):
        super().__init__(name=name, daemon=True)
        self._db = db
        self._interval = interval
        self._first = interval if first is None else first
        self._stopping = threading.Event()

    def run(self):
        wait = self._first
        while not self._stopping.wait(wait):
            wait = self._interval
            try:
                self.round()
            except Exception:  # noqa: BLE001 - keep the thread alive; the next round retries
                log.exception("%s: the round failed; it will be retried", self.name)
            finally:
                self._db.peewee.close()

    def round(self):
        raise NotImplementedError

    def stop(self):
        self._stopping.set()
