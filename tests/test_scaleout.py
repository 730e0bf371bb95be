"""Several processes on one database (issue 7): three real ``mpv serve`` processes on one PostgreSQL, under
concurrent filings and derivations, with timers due — each timer fires exactly once, numbers stay gapless
and unique, no update is lost; and ``mpv serve --workers N`` shares one port among N processes."""
from __future__ import annotations

import collections
import http.client
import json
import os
import re
import threading
import time
from datetime import timedelta
from urllib.parse import urlencode

import pytest
from helpers import (FILING, FakeClock, Server, build_services, cookie_header, derivar, file_tramite, free_port,
                     http_login, lima, make_user, step)
from webclient import multipart

from mpv import history
from mpv.demo import sample_pdf
from mpv.engine import Actor
from mpv.models import Evento, Expediente, Numeracion, Temporizador

TRAMITES = "/api/v1/tramites"


def _env(tmp_path, database_url, port: int) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MPV_")}
    env.update(MPV_DATA_DIR=str(tmp_path / "datos"), MPV_DATABASE_URL=database_url, MPV_HOST="127.0.0.1",
               MPV_PORT=str(port), MPV_TIMER_INTERVAL="1", MPV_LIMITE_PRESENTACIONES="100000",
               MPV_LIMITE_INGRESOS="100000", PYTHONUNBUFFERED="1")
    return env


def _post(port: int, path: str, body: bytes, headers: dict) -> tuple[int, str]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        conn.request("POST", path, body=body, headers=headers)
        response = conn.getresponse()
        return response.status, response.read().decode()
    finally:
        conn.close()


def test_three_processes_on_one_postgresql_fire_each_timer_once_and_number_without_gaps(
        backend, database_url, tmp_path):
    if backend != "postgresql":
        pytest.skip("varios procesos sobre una base compartida: lo prueba la corrida con --db=postgresql")
    # The past, seeded on a fixed day before this test was written: derivations with a plazo of 1 business
    # day, whose timers are all due whenever the test runs (the servers run on the wall clock: MPV has no
    # setting to fix it), and expedientes waiting for their derivation.
    env0 = _env(tmp_path, database_url, 0)
    from mpv.config import Settings

    settings = Settings(data_dir=tmp_path / "datos", database_url=database_url)
    clock = FakeClock(lima(2026, 3, 2, 9, 30))
    services = build_services(settings, clock)
    mesas = [make_user(f"mesa{i}", "mesa", "MP") for i in range(6)]
    mesa = Actor.de_usuario(mesas[0])
    con_plazo = []
    for _ in range(30):
        exp = file_tramite(services)
        step(services, exp, mesa, accion="conforme")
        derivar(services, exp, mesa, "GDUR", plazo_dias=1)
        con_plazo.append(exp.id)
        clock.advance(minutes=7)
    por_derivar = []
    for _ in range(8):
        exp = file_tramite(services)
        step(services, exp, mesa, accion="conforme")
        por_derivar.append(exp)
    now = clock() + timedelta(days=30)  # every 1-day plazo above is over by then, and it is long past
    # (The expedientes waiting for their derivation have a due timer too, art. 143's same-day one: not counted.)
    due = collections.Counter(eid for (eid,) in Temporizador.select(Temporizador.expediente)
                              .where(Temporizador.vence <= now, Temporizador.nombre == "Plazo de atención vencido")
                              .tuples())
    assert sum(due.values()) >= 30 and set(due) == set(con_plazo)
    before = {eid: Evento.select().where(Evento.expediente == eid, Evento.tipo == "temporizador").count()
              for eid in con_plazo}
    services.close()

    ports = [free_port() for _ in range(3)]
    servers = [Server({**env0, "MPV_PORT": str(port)}, tmp_path / f"servidor-{i}.log", port)
               for i, port in enumerate(ports)]
    started = []
    try:
        for server in servers:  # all three poll the same due timers within a second of each other
            server.start()
            started.append(server)
        filed: list[tuple[int, dict]] = []
        lock = threading.Lock()

        def file_many(index: int):
            for n in range(12):
                port = ports[(index + n) % 3]
                body, content_type = multipart(
                    [(k, str(v)) for k, v in {**FILING, "asunto": f"Carga {index}-{n}"}.items()],
                    [("archivo", "solicitud.pdf", sample_pdf(f"Carga {index}-{n}"))])
                status, text = _post(port, TRAMITES, body, {"Content-Type": content_type})
                with lock:
                    filed.append((status, json.loads(text)))

        sessions = [http_login(ports[i % 3], u.username) for i, u in enumerate(mesas)]
        race_results: list[list[int]] = []

        def race(exp):
            barrier = threading.Barrier(len(sessions))
            statuses = []

            def derive(i, cookies, csrf):
                body = urlencode({"csrf": csrf, "paso": "confirmar", "oficina_destino": ("GDUR", "SGAT")[i % 2],
                                  "prioridad": "normal", "plazo_dias": "5"}).encode()
                barrier.wait()
                status, _ = _post(ports[i % 3], f"/expedientes/{exp.numero}/derivar", body, {
                    "Content-Type": "application/x-www-form-urlencoded", "Cookie": cookie_header(cookies)})
                with lock:
                    statuses.append(status)

            threads = [threading.Thread(target=derive, args=(i, *s)) for i, s in enumerate(sessions)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            race_results.append(sorted(statuses))

        filers = [threading.Thread(target=file_many, args=(i,)) for i in range(6)]
        for t in filers:
            t.start()
        for exp in por_derivar:
            race(exp)
        for t in filers:
            t.join()

        deadline = time.monotonic() + 60
        while Temporizador.select().where(Temporizador.vence <= now).exists():
            assert time.monotonic() < deadline, "los temporizadores vencidos no se dispararon en 60 s"
            time.sleep(0.5)
    finally:
        for server in started:
            server.stop()
    logs = "\n".join(s.log_tail(400) for s in servers)
    assert "Traceback" not in logs, logs[-4000:]

    services = build_services(settings, clock)
    try:
        # Each due timer fired once: one Evento per timer, whichever process fired it.
        fired = {eid: Evento.select().where(Evento.expediente == eid, Evento.tipo == "temporizador").count()
                 - before[eid] for eid in con_plazo}
        assert fired == dict(due), fired
        assert all(Expediente.get_by_id(eid).vencido for eid in con_plazo)
        # Every filing over HTTP acknowledged; numbers unique and consecutive in each year's register (the
        # seeded ones are of 2026, those over HTTP of the year the test runs in), none lost or reused.
        assert [status for status, _ in filed] == [201] * 72, [s for s, _ in filed if s != 201]
        por_anio = collections.defaultdict(list)
        for (numero,) in Expediente.select(Expediente.numero).tuples():
            anio, correlativo = numero.split("-")
            por_anio[int(anio)].append(int(correlativo))
        assert sum(len(c) for c in por_anio.values()) == 30 + 8 + 72
        for anio, correlativos in por_anio.items():
            assert sorted(correlativos) == list(range(1, len(correlativos) + 1)), anio
        assert {n.anio: n.ultimo for n in Numeracion.select()} == {a: len(c) for a, c in por_anio.items()}
        # Six people on three processes deriving one expediente: exactly one wins each time.
        assert race_results == [[303] + [409] * 5] * len(por_derivar), race_results
        for exp in por_derivar:
            assert Evento.select().where(Evento.expediente == exp.id, Evento.tarea == "derivacion").count() == 1
        assert history.verify().ok
    finally:
        services.close()


def test_workers_share_one_port_and_stop_with_the_supervisor(backend, database_url, tmp_path):
    """``mpv serve --workers 2``: two processes answer on one port; stopping the supervisor stops both."""
    port = free_port()
    server = Server(_env(tmp_path, database_url, port), tmp_path / "servidor.log", port, args=("--workers", "2"))
    server.start()
    try:
        deadline = time.monotonic() + 30
        workers = set()
        while len(workers) < 2 and time.monotonic() < deadline:
            workers = set(re.findall(r"\(proceso (\d+)\)", server.log_tail(100)))
            time.sleep(0.2)
        assert len(workers) == 2, server.log_tail()
        answered = 0
        for _ in range(20):
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            conn.request("GET", "/api/v1/tipos-documento")
            answered += conn.getresponse().status == 200
            conn.close()
        assert answered == 20
    finally:
        server.stop()
    assert server.proc.returncode == 0, server.log_tail()
    for pid in workers:
        assert not os.path.exists(f"/proc/{pid}") or "zombie" in open(f"/proc/{pid}/status").read().lower(), pid
