"""Per-client rate limits for the public, unauthenticated routes (filing, lookups, login): a token
bucket per client address in each process, answering 429 with Retry-After when it is empty.

Several processes each keep their own buckets, so N workers allow up to N times the rate; the limits
are there to stop floods and enumeration, not to meter fair use.
"""
from __future__ import annotations

import math
import threading
import time

from ..errors import Throttled


class TokenBuckets:
    """``per_minute`` requests a minute per key, in bursts of up to ``per_minute``."""

    def __init__(self, per_minute: int, clock=time.monotonic):
        self.capacity = float(per_minute)
        self.rate = per_minute / 60.0
        self._clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def take(self, key: str) -> float:
        """Spend one token of ``key``; return 0, or the seconds to wait when there is none."""
        now = self._clock()
        with self._lock:
            tokens, last = self._buckets.get(key, (self.capacity, now))
            tokens = min(self.capacity, tokens + (now - last) * self.rate)
            if tokens >= 1:
                self._buckets[key] = (tokens - 1, now)
                if len(self._buckets) > 50_000:
                    self._forget_full(now)
                return 0.0
            self._buckets[key] = (tokens, now)
            return (1 - tokens) / self.rate

    def _forget_full(self, now):
        full = [k for k, (tokens, last) in self._buckets.items()
                if tokens + (now - last) * self.rate >= self.capacity]
        for key in full:
            del self._buckets[key]


class RateLimitMiddleware:
    """Applies one bucket per rule: (HTTP method, path prefix or exact path, bucket, message)."""

    def __init__(self, rules):
        self._rules = rules

    def process_resource(self, req, resp, resource, params):
        for method, path, buckets, message in self._rules:
            if req.method == method and (req.path == path or (path.endswith("/") and req.path.startswith(path))):
                wait = buckets.take(req.remote_addr or "?")
                if wait:
                    raise Throttled(message, math.ceil(wait))
                return


def public_limits(settings):
    """The rules MPV applies, from the MPV_LIMITE_* settings."""
    filings = TokenBuckets(settings.limite_presentaciones)
    lookups = TokenBuckets(settings.limite_consultas)
    logins = TokenBuckets(settings.limite_ingresos)
    espere = "Se recibieron demasiadas solicitudes desde su conexión. Espere un momento y vuelva a intentarlo."
    return RateLimitMiddleware([
        ("POST", "/presentar", filings, espere),
        ("POST", "/api/v1/tramites", filings, espere),
        ("POST", "/escritos/nuevo", filings, espere),
        ("POST", "/api/v1/tramites/", filings, espere),  # an escrito: /api/v1/tramites/{codigo}/escritos
        ("GET", "/escritos/", lookups, espere),
        ("GET", "/seguimiento", lookups, espere),
        ("GET", "/seguimiento/", lookups, espere),
        ("GET", "/api/v1/tramites/", lookups, espere),
        ("GET", "/casilla", lookups, espere),
        ("GET", "/casilla/", lookups, espere),
        ("POST", "/casilla/", lookups, espere),
        ("GET", "/verificar/", lookups, espere),
        ("POST", "/verificar", lookups, espere),
        ("POST", "/login", logins, espere),
    ])
