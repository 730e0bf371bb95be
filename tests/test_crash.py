"""F2 crash: ``kill -9`` of a real ``mpv serve`` at random moments while clients file through the API.

After every restart the register must hold each acknowledged filing whole (remitente, adjuntos, first
Evento, Recepción task, a loadable instance), each Adjunto's file with its SHA-256, no number used twice,
an intact database and a verifiable audit chain; the sweep then leaves no file that no row references.
Also the sweeper itself: grace period, references, files a request holds, crashed uploads, the CLI and
the server's thread.
"""
from __future__ import annotations

import collections
import dataclasses
import hashlib
import http.client
import io
import itertools
import json
import os
import random
import threading
import time
from pathlib import Path

import pytest
from fpdf import FPDF
from helpers import FILING, FakeClock, Server, base_moment, build_services, file_tramite, free_port
from PIL import Image
from webclient import multipart

from mpv import history
from mpv.cli import main
from mpv.config import Settings
from mpv.demo import sample_pdf
from mpv.tramites.presentacion import referenced, referenced_among
from mpv.models import Adjunto, Evento, Expediente, Numeracion, Oficina, Remitente, Tarea
from mpv.services import Services
from mpv.web.server import SweeperThread

HOUR = 3600


@pytest.fixture(params=["bounded", pytest.param("soak", marks=pytest.mark.slow)])
def long_run(request, soak) -> bool:
    """False for the bounded run (``make test``); True for the long variant, which runs only under --soak."""
    if request.param == "soak" and not soak:
        pytest.skip("long variant: run with --soak (pytest -m slow --soak)")
    return request.param == "soak"


def stored_files(storage) -> set[str]:
    return {p.name for p in storage.root.glob("??/??/*")}


def temp_files(storage) -> list[Path]:
    return list(storage.tmp.iterdir())


def age(path: Path, seconds: float):
    """Make ``path`` look ``seconds`` old (the sweep goes by modification time)."""
    when = time.time() - seconds  # clock-ok: an age on disk, against the OS clock Storage.sweep reads
    os.utime(path, (when, when))


def receive(services, content: bytes, nombre="doc.pdf"):
    return services.storage.receive(io.BytesIO(content), nombre, services.limits.principal_bytes)


def orphan(services, content: bytes) -> str:
    """A stored file no row references: what a process leaves when it dies between keeping a file and committing."""
    storage = services.storage
    stored = storage.keep(receive(services, content))
    storage.release([stored], referenced, failed=False)
    return stored.sha256


# -- the sweeper ---------------------------------------------------------------------------------------------
def test_sweep_removes_only_old_unreferenced_files_and_crashed_uploads(services):
    storage = services.storage
    kept = file_tramite(services, sample_pdf("Referenciado")).adjuntos[0].sha256
    old_orphan, young_orphan = orphan(services, sample_pdf("Huérfano")), orphan(services, sample_pdf("Reciente"))
    crashed = receive(services, sample_pdf("Subida interrumpida")).path  # a temp file nobody will keep
    young_upload = receive(services, sample_pdf("Subida en curso")).path
    for sha in (kept, old_orphan):
        age(storage.path(sha), 2 * HOUR)
    age(crashed, 2 * HOUR)

    removed = storage.sweep(referenced_among, grace_seconds=HOUR)

    assert sorted(removed) == sorted([old_orphan, crashed.name])
    assert stored_files(storage) == {kept, young_orphan}
    assert temp_files(storage) == [young_upload]
    assert storage.sweep(referenced_among, grace_seconds=HOUR) == []  # nothing more to do


def test_sweep_spares_a_file_a_request_holds_and_a_file_reused_by_a_new_filing(services):
    storage = services.storage
    held = receive(services, sample_pdf("En uso"))
    with pytest.raises(RuntimeError), storage.kept([held], referenced) as stored:  # its row not yet committed
        age(storage.path(stored[0].sha256), 2 * HOUR)
        assert storage.sweep(referenced_among, grace_seconds=0) == []
        raise RuntimeError("the request fails")
    # The request failed: its file goes at once, without waiting for the sweep.
    assert stored_files(storage) == set()

    content = sample_pdf("Reutilizado")
    sha = orphan(services, content)
    age(storage.path(sha), 2 * HOUR)
    file_tramite(services, content)  # the same bytes again: the stored file is fresh for a whole grace period
    assert time.time() - storage.path(sha).stat().st_mtime < 60  # clock-ok: an age on disk, as age()
    assert storage.sweep(referenced_among, grace_seconds=HOUR) == []
    assert referenced(sha) and stored_files(storage) == {sha}


def test_sweep_asks_for_references_in_batches(services):
    storage = services.storage
    shas = [file_tramite(services, sample_pdf(f"Lote {i}")).adjuntos[0].sha256 for i in range(5)]
    lost = [orphan(services, sample_pdf(f"Perdido {i}")) for i in range(3)]
    for path in storage.root.glob("??/??/*"):
        age(path, 2 * HOUR)
    asked = []

    def counting(names):
        asked.append(len(names))
        return referenced_among(names)

    assert sorted(storage.sweep(counting, grace_seconds=HOUR, batch=4)) == sorted(lost)
    # Two batches (4 + 4 files), then each unreferenced file once more before it goes.
    assert collections.Counter(asked) == {4: 2, 1: 3}
    assert stored_files(storage) == set(shas)


def test_cli_archivos_limpiar_prints_what_it_removed(services, settings, clock, capsys):
    storage = services.storage
    kept = file_tramite(services).adjuntos[0].sha256
    old_orphan, young_orphan = orphan(services, sample_pdf("Viejo")), orphan(services, sample_pdf("Nuevo"))
    crashed = receive(services, sample_pdf("Cortada")).path
    for path in (storage.path(kept), storage.path(old_orphan), crashed):
        age(path, 3 * HOUR)

    assert main(["archivos", "limpiar"], settings=settings, clock=clock) == 0
    out = capsys.readouterr().out
    assert f"Eliminado {old_orphan} (ningún adjunto lo referencia)" in out
    assert f"Eliminado {crashed.name} (subida interrumpida)" in out
    assert "Archivos eliminados: 2 (sin referencia y con más de 1 h)." in out
    assert stored_files(storage) == {kept, young_orphan}

    assert main(["archivos", "limpiar", "--gracia", "0"], settings=settings, clock=clock) == 0
    assert "Archivos eliminados: 1 (sin referencia y con más de 0 h)." in capsys.readouterr().out
    assert stored_files(storage) == {kept}
    assert main(["archivos", "limpiar", "--gracia", "-1"], settings=settings, clock=clock) == 1
    assert "--gracia" in capsys.readouterr().err


def test_server_sweeps_at_start_and_then_periodically(services):
    storage = services.storage
    first = orphan(services, sample_pdf("Antes de arrancar"))
    age(storage.path(first), 2 * HOUR)
    sweeper = SweeperThread(services, interval=0.2, grace=HOUR)
    sweeper.start()
    try:
        _wait_for(lambda: first not in stored_files(storage), "the sweep at start")
        second = orphan(services, sample_pdf("Después"))
        kept = file_tramite(services).adjuntos[0].sha256
        for sha in (second, kept):
            age(storage.path(sha), 2 * HOUR)
        _wait_for(lambda: second not in stored_files(storage), "a periodic sweep")
        assert kept in stored_files(storage)
    finally:
        sweeper.stop()
        sweeper.join(5)
    assert not sweeper.is_alive()


def _wait_for(condition, what: str, timeout: float = 10.0):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


# -- kill -9 of a real server ----------------------------------------------------------------------------------
TRAMITES = "/api/v1/tramites"


def scanned_pdf(megabytes: float, seed: int) -> bytes:
    """A real PDF as big as a scan: one page with an image of noise, which does not compress."""
    side = int((megabytes * 1024 * 1024 / 3) ** 0.5)
    image = Image.frombytes("RGB", (side, side), random.Random(seed).randbytes(side * side * 3))
    pdf = FPDF()
    pdf.add_page()
    pdf.image(image, x=10, y=10, w=180)
    return bytes(pdf.output())


@dataclasses.dataclass
class Attempt:
    """One filing a client sent: what it sent, and what (if anything) it heard back."""

    asunto: str
    hashes: list[str]
    status: int | None = None
    body: dict | None = None
    error: str = ""


class Run:
    """Client threads that file until ``target`` filings were acknowledged, and a killer thread."""

    def __init__(self, server: Server, target: int, deadline: float, rng: random.Random, clients: int = 4,
                 min_kills: int = 5):
        self.server, self.target, self.deadline, self.rng = server, target, deadline, rng
        self.min_kills = min_kills  # on a fast machine the target may be reached before enough crashes
        self.clients = clients
        self.attempts: list[Attempt] = []
        self.kills = 0
        self.errors: list[str] = []
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._up = threading.Event()
        self._done = threading.Event()
        self._shared = scanned_pdf(1, seed=1)  # an annex many filings share: stored once, referenced by many

    def acknowledged(self) -> list[Attempt]:
        return [a for a in self.attempts if a.status == 201]

    def go(self):
        self._up.set()
        workers = [threading.Thread(target=self._client, args=(i,), name=f"client-{i}") for i in range(self.clients)]
        killer = threading.Thread(target=self._killer, name="killer")
        for t in [*workers, killer]:
            t.start()
        for t in [*workers, killer]:
            t.join()

    def _finished(self) -> bool:
        with self._lock:
            enough = (sum(a.status == 201 for a in self.attempts) >= self.target
                      and self.kills >= self.min_kills)
        if enough or time.monotonic() > self.deadline or self.errors:
            self._done.set()
        return self._done.is_set()

    def _client(self, index: int):
        rng = random.Random(self.rng.random())
        while not self._finished():
            if not self._up.wait(1):
                continue
            n = next(self._ids)
            files = [("archivo", f"solicitud-{n}.pdf", sample_pdf(f"Solicitud {n}", rng.randint(1, 30)))]
            if rng.random() < 0.3:
                files.append(("anexos", "escaneo.pdf", self._shared))
            attempt = Attempt(f"Prueba de caída {n}", [hashlib.sha256(f[2]).hexdigest() for f in files])
            with self._lock:
                self.attempts.append(attempt)
            body, content_type = multipart([(k, str(v)) for k, v in {**FILING, "asunto": attempt.asunto}.items()],
                                           files)
            conn = http.client.HTTPConnection("127.0.0.1", self.server.port, timeout=30)
            try:
                conn.request("POST", TRAMITES, body=body, headers={"Content-Type": content_type})
                response = conn.getresponse()
                attempt.body = json.loads(response.read())
                attempt.status = response.status
            except (OSError, http.client.HTTPException) as exc:  # the server died under this request
                attempt.error = type(exc).__name__
            finally:
                conn.close()
            if attempt.status not in (None, 201):
                with self._lock:
                    self.errors.append(f"{attempt.asunto}: {attempt.status} {attempt.body}")

    def _killer(self):
        try:
            while not self._done.wait(self.rng.uniform(0.1, 1.5)):
                self._up.clear()
                self.server.kill()
                self.kills += 1
                if self._finished():
                    break
                self.server.start()
                self._up.set()
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            self.errors.append(f"restart failed: {exc}")
            self._done.set()


@pytest.fixture
def server_env(tmp_path, database_url):
    data = tmp_path / "servidor"
    env = {k: v for k, v in os.environ.items() if not k.startswith("MPV_")}
    env.update(MPV_DATA_DIR=str(data), MPV_DATABASE_URL=database_url, MPV_HOST="127.0.0.1",
               MPV_PORT=str(free_port()), MPV_LIMITE_PRESENTACIONES="100000", PYTHONUNBUFFERED="1")
    return env


def test_kill_9_during_api_filings_loses_nothing_acknowledged(server_env, backend, long_run, tmp_path):
    target, budget = (5000, 3600) if long_run else (500, 240)
    settings = Settings(data_dir=Path(server_env["MPV_DATA_DIR"]), database_url=server_env["MPV_DATABASE_URL"])
    _prepare(settings)
    seed = 20260302 + long_run  # the clients' choices repeat; where the kills land depends on timing
    server = Server(server_env, tmp_path / "servidor.log", int(server_env["MPV_PORT"]))
    run = Run(server, target, time.monotonic() + budget, random.Random(seed))
    started = time.monotonic()
    try:
        server.start()
        run.go()
    finally:
        server.kill()
    elapsed = time.monotonic() - started
    context = f"(semilla {seed}; registro del servidor:\n{server.log_tail()})"
    assert not run.errors, f"{run.errors[:5]} {context}"
    acknowledged = run.acknowledged()
    assert len(acknowledged) >= target, f"only {len(acknowledged)} of {target} in {budget} s {context}"
    assert run.kills >= 5, context

    services = Services.build(settings, clock=FakeClock(base_moment(9, 30)))
    try:
        observed = _check_after_crashes(services, run, backend)
    finally:
        services.close()
    print(f"\n[F2 {backend}] {len(run.attempts)} envíos, {len(acknowledged)} confirmados (201), {run.kills} kill -9 "
          f"en {elapsed:.1f} s ({len(acknowledged) / elapsed:.1f} confirmados/s); arranque medio "
          f"{sum(server.starts) / len(server.starts):.2f} s; {observed}; semilla {seed}")


def _prepare(settings):
    """Tables, offices and document types, as ``mpv init-db`` and ``mpv demo --tramites 0`` leave them."""
    build_services(settings, FakeClock(base_moment(9, 30))).close()


def _check_after_crashes(services, run: Run, backend: str) -> str:
    attempts = {a.asunto: a for a in run.attempts}
    acknowledged = run.acknowledged()
    numeros = [a.body["numero"] for a in acknowledged]
    assert len(set(numeros)) == len(numeros), "a number was given twice"
    assert len({a.body["codigo"] for a in acknowledged}) == len(acknowledged)

    rows = {e.asunto: e for e in Expediente.select()}
    for attempt in acknowledged:  # every acknowledged filing is there, whole
        expediente = rows.get(attempt.asunto)
        assert expediente is not None, f"acknowledged {attempt.body['numero']} is missing"
        assert (expediente.numero, expediente.codigo) == (attempt.body["numero"], attempt.body["codigo"])
    mesa = Oficina.mesa_de_partes()
    for expediente in rows.values():  # every committed filing, acknowledged or not, is whole
        attempt = attempts[expediente.asunto]
        assert Remitente.get_or_none(Remitente.id == expediente.remitente_id) is not None
        adjuntos = list(expediente.adjuntos.order_by(Adjunto.id))
        assert [a.sha256 for a in adjuntos] == attempt.hashes, expediente.numero
        assert [a.tipo for a in adjuntos] == ["principal"] + ["anexo"] * (len(adjuntos) - 1)
        eventos = list(history.eventos(expediente.id))
        assert eventos and eventos[0].tipo == "inicio" and eventos[0].accion == "presentar", expediente.numero
        tareas = list(Tarea.select().where(Tarea.expediente == expediente.id))
        assert [(t.spec, t.oficina_id) for t in tareas] == [("recepcion", mesa.id)], expediente.numero
        assert [t.spec for t in services.engine.ready_tasks(expediente)] == ["recepcion"]
        assert (expediente.estado, expediente.terminado) == ("Registrado", False), expediente.numero
    for adjunto in Adjunto.select():  # every file is there and is what the row says
        path = services.storage.path(adjunto.sha256)
        assert path.is_file(), f"{adjunto.sha256} of {adjunto.expediente_id} is missing"
        assert hashlib.sha256(path.read_bytes()).hexdigest() == adjunto.sha256

    # The register: no number twice; committed numbers have no gap (the number and the row share a transaction).
    # One register per year: the server runs on the wall clock, and a run may cross New Year's midnight.
    por_anio = collections.defaultdict(list)
    for anio, correlativo in Expediente.select(Expediente.anio, Expediente.correlativo).tuples():
        por_anio[anio].append(correlativo)
    assert sorted(por_anio) == sorted(n.anio for n in Numeracion.select())
    for anio, correlativos in por_anio.items():
        correlativos.sort()
        ultimo = Numeracion.get(Numeracion.anio == anio).ultimo
        gaps = sorted(set(range(1, ultimo + 1)) - set(correlativos))
        assert correlativos == list(range(1, len(correlativos) + 1)) and ultimo == len(correlativos), (anio, gaps[:20])
    lost = [a for a in run.attempts if a.status is None]
    unacknowledged = [a for a in lost if a.asunto in rows]
    assert len(rows) == len(acknowledged) + len(unacknowledged)

    storage = services.storage
    before = collections.Counter("temporal" if p.parent == storage.tmp else "guardado"
                                 for p in storage.root.rglob("*") if p.is_file())
    removed = storage.sweep(referenced_among, grace_seconds=0)
    uploads = sum(name.startswith("up-") for name in removed)
    assert temp_files(storage) == []
    remaining = stored_files(storage)
    assert remaining == {sha for (sha,) in Adjunto.select(Adjunto.sha256).distinct().tuples()}

    if backend == "sqlite":
        db = services.db.peewee
        assert db.execute_sql("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert db.execute_sql("PRAGMA foreign_key_check").fetchall() == []
    verification = history.verify()
    assert verification.ok, str(verification)
    assert verification.checked == Evento.select().count()
    refused = sum(a.error == "ConnectionRefusedError" for a in lost)
    return (f"{len(rows)} expedientes ({len(unacknowledged)} guardados sin respuesta, "
            f"{len(lost) - len(unacknowledged) - refused} perdidos en vuelo, {refused} envíos con el servidor caído), "
            f"números 1–{ultimo} sin huecos; "
            f"antes de barrer {before['guardado']} archivos guardados y {before['temporal']} temporales; "
            f"el barrido quitó {uploads} subidas interrumpidas y {len(removed) - uploads} archivos sin referencia; "
            f"{verification.checked} eventos verificados")
