"""Running pyHanko's coroutines from MPV's synchronous code.

pyHanko signs and validates with coroutines; its synchronous wrappers call ``asyncio.run``, which a thread that
already runs an event loop refuses (Playwright's in the browser tests, or any asynchronous host). :func:`esperar`
runs the coroutine on the calling thread when it can, and on a one-off thread of its own when it cannot.
"""
from __future__ import annotations

import asyncio
import concurrent.futures


def esperar(corrutina):
    """The result of ``corrutina``, run to its end."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(corrutina)
    with concurrent.futures.ThreadPoolExecutor(1) as hilo:
        return hilo.submit(asyncio.run, corrutina).result()
