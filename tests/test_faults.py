"""F3 faults: the disk full (ENOSPC) or an I/O error while an upload is written or kept, and a database that
refuses the unit of work at its end → a clear Spanish message, no partial record, no file left behind.

The disk faults are injected where MPV meets the operating system (the ``os`` functions ``mpv.storage``
calls), and ENOSPC also for real on a tiny tmpfs where the machine allows mounting one. The database
faults are real refusals by the database: a trigger the test creates raises on INSERT into ``evento``
(the last rows a unit of work writes), or at COMMIT through a deferred constraint.
"""
from __future__ import annotations

import contextlib
import errno
import os
import random
import re
import subprocess

import peewee
import pytest
from falcon import testing
from helpers import FILING, base_date, build_services, derivar, file_tramite, make_user, recibir, step
from webclient import Browser, multipart

import mpv.storage
from mpv import history
from mpv.demo import sample_pdf
from mpv.models import MODELS, Cadena, Expediente, Numeracion, Tarea
from mpv.storage import _storage_error
from mpv.web.app import create_app

MENSAJE_ENOSPC = _storage_error(OSError(errno.ENOSPC, "No space left on device"), "x").message
MENSAJE_EIO = _storage_error(OSError(errno.EIO, "Input/output error"), "x").message
INESPERADO = "Ocurrió un error inesperado; nada se guardó a medias."

WEB_FORM = [("tipo_persona", "natural"), ("tipo_documento_identidad", "DNI"), ("numero_documento_identidad", "45871236"),
            ("nombres", "Ana"), ("apellidos", "Rojas Villanueva"), ("email", "ana@example.com"),
            ("direccion", "Jr. Loreto 215"), ("tipo_documento", "SOL"), ("asunto", "Licencia de funcionamiento"),
            ("folios", "3"), ("declaracion", "true"), ("acepta_notificacion", "true")]


def documents():
    return [("archivo", "solicitud.pdf", sample_pdf("Solicitud", 3)), ("anexos", "plano.pdf", sample_pdf("Plano", 2))]


def file_by(channel: str, app, files=None):
    """File a trámite through the API or the public form; return (status, visible text, JSON or None)."""
    files = documents() if files is None else files
    if channel == "api":
        body, content_type = multipart([(k, str(v)) for k, v in FILING.items()], files)
        result = testing.TestClient(app).simulate_post("/api/v1/tramites", body=body,
                                                        headers={"Content-Type": content_type})
        assert result.headers["content-type"] == "application/json"
        return result.status_code, result.json.get("error", ""), result.json
    b = Browser(app)
    b.get("/presentar")
    result = b.post("/presentar", WEB_FORM, files=files)
    return result.status_code, re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", result.text)), None


def snapshot() -> dict:
    """Every table's rows (as tuples), so a failed unit of work can be shown to have written nothing."""
    return {model.__name__: sorted(model.select().tuples()) for model in MODELS
            if model.__name__ not in ("Sesion", "IntentoAcceso")}


def files_on_disk(services) -> set:
    root = services.settings.attachments_dir
    return {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()}


def assert_clear_page(text: str):
    assert "Traceback" not in text and "File \"" not in text and "Error:" not in text


# -- the disk ----------------------------------------------------------------------------------------------------
class FailingFile:
    """A file being written whose disk gives out after ``after`` bytes."""

    def __init__(self, real, error: int, after: int):
        self._real, self._error, self._left = real, error, after

    def write(self, data):
        if len(data) > self._left:
            self._real.write(data[:self._left])  # part of it reached the disk: a partial file to clean up
            self._left = 0
            raise OSError(self._error, os.strerror(self._error))
        self._left -= len(data)
        return self._real.write(data)

    def __getattr__(self, name):
        return getattr(self._real, name)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self._real.close()


class FaultyDisk:
    """The ``os`` module as ``mpv.storage`` sees it, with one failure where MPV meets the disk:
    ``write`` of the ``nth`` upload, ``fsync`` of an upload, ``replace`` (the move to the final name) or
    ``dirfsync`` (making that move durable), each on its ``nth`` call."""

    def __init__(self, where: str, error: int, nth: int = 1, after: int = 100_000):
        self.where, self.error, self.nth, self.after = where, error, nth, after
        self.calls = {"write": 0, "fsync": 0, "replace": 0, "dirfsync": 0}
        self._directories: set[int] = set()
        self.failed = False

    def _due(self, where: str) -> bool:
        self.calls[where] += 1
        due = where == self.where and self.calls[where] == self.nth
        self.failed |= due
        return due

    def __getattr__(self, name):
        return getattr(os, name)

    def fdopen(self, fd, *args, **kwargs):
        real = os.fdopen(fd, *args, **kwargs)
        return FailingFile(real, self.error, self.after) if self._due("write") else real

    def open(self, path, flags, *args):
        fd = os.open(path, flags, *args)
        if os.path.isdir(path):
            self._directories.add(fd)
        return fd

    def fsync(self, fd):
        kind = "dirfsync" if fd in self._directories else "fsync"
        self._directories.discard(fd)
        if self._due(kind):
            raise OSError(self.error, os.strerror(self.error))
        os.fsync(fd)

    def replace(self, src, dst):
        if self._due("replace"):
            raise OSError(self.error, os.strerror(self.error))
        os.replace(src, dst)


@pytest.fixture
def app(services):
    return create_app(services)


@pytest.mark.parametrize("channel", ["api", "web"])
@pytest.mark.parametrize("fault, message", [
    (("write", errno.ENOSPC), MENSAJE_ENOSPC),  # the disk fills up in the middle of the main PDF
    (("write", errno.EIO, 2, 0), MENSAJE_EIO),  # the annex, after the main PDF was written
    (("fsync", errno.EIO), MENSAJE_EIO),  # written, but the disk cannot make it durable
    (("replace", errno.EIO, 2), MENSAJE_EIO),  # the main PDF kept under its name, the annex cannot be moved
    (("dirfsync", errno.ENOSPC), MENSAJE_ENOSPC),  # moved to its name, the move not made durable
], ids=["enospc-write", "eio-write-annex", "eio-fsync", "eio-rename-annex", "enospc-dirfsync"])
def test_disk_failure_is_a_clear_503_and_leaves_nothing(services, app, monkeypatch, channel, fault, message):
    before = snapshot()
    fault = FaultyDisk(*fault)
    monkeypatch.setattr(mpv.storage, "os", fault)
    files = documents()
    if fault.where == "write":  # a main PDF big enough to fail in its middle
        files[0] = ("archivo", "escaneo.pdf", b"%PDF-1.7\n" + random.Random(3).randbytes(300_000) + b"\n%%EOF\n")
    status, text, body = file_by(channel, app, files)
    assert fault.failed
    assert status == 503 and message in text, text[:500]
    if body is not None:
        assert body == {"error": message, "campos": {}}
    assert_clear_page(text)
    assert snapshot() == before
    assert files_on_disk(services) == set()  # temporary uploads included

    monkeypatch.setattr(mpv.storage, "os", os)  # the disk is back: the same filing goes through
    status, _, _ = file_by(channel, app)
    assert status == (201 if channel == "api" else 303)
    assert Expediente.get().numero == f"{base_date().year}-000001"


@pytest.fixture
def tiny_disk(settings):
    """A real 256 KiB tmpfs mounted where the attachments go (root only); unmounted at the end."""
    target = settings.attachments_dir
    target.mkdir(parents=True)
    if os.geteuid() != 0:
        pytest.skip("montar un tmpfs de prueba requiere root")
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k,mode=0700", "mpv-disco-lleno", str(target)],
                             capture_output=True, text=True)
    if mounted.returncode:
        pytest.skip(f"no se pudo montar un tmpfs de prueba: {mounted.stderr.strip()}")
    try:
        yield target
    finally:
        subprocess.run(["umount", "-l", str(target)], check=True)


def test_a_really_full_disk(settings, clock, tiny_disk):
    services = build_services(settings, clock)
    try:
        app = create_app(services)
        before = snapshot()
        big = [("archivo", "escaneo.pdf", b"%PDF-1.7\n" + random.Random(4).randbytes(400_000) + b"\n%%EOF\n")]
        for channel in ("api", "web"):
            status, text, _ = file_by(channel, app, big)
            assert status == 503 and MENSAJE_ENOSPC in text
            assert snapshot() == before and files_on_disk(services) == set()
        status, _, body = file_by("api", app)  # a filing that fits still goes through
        assert status == 201 and body["numero"] == f"{base_date().year}-000001"
        assert len(files_on_disk(services)) == 2
    finally:
        services.close()


# -- the database ----------------------------------------------------------------------------------------------
@contextlib.contextmanager
def refusing_eventos(services, when: str):
    """The database refuses the history rows of every unit of work: on INSERT into ``evento`` (a trigger
    that raises), or only at COMMIT (a deferred constraint the inserted rows break)."""
    db = services.db
    if db.is_sqlite:
        create = {"insert": ["CREATE TRIGGER evento_rechazo BEFORE INSERT ON evento "
                             "BEGIN SELECT RAISE(ABORT, 'disco de la base lleno'); END"],
                  "commit": ["CREATE TABLE trampa (expediente_id INTEGER REFERENCES expediente (id) "
                             "DEFERRABLE INITIALLY DEFERRED)",
                             "CREATE TRIGGER evento_rechazo AFTER INSERT ON evento "
                             "BEGIN INSERT INTO trampa VALUES (-1); END"]}[when]
        drop = ["DROP TRIGGER evento_rechazo", "DROP TABLE IF EXISTS trampa"]
    else:
        trigger = {"insert": "CREATE TRIGGER evento_rechazo BEFORE INSERT ON evento",
                   "commit": "CREATE CONSTRAINT TRIGGER evento_rechazo AFTER INSERT ON evento "
                             "DEFERRABLE INITIALLY DEFERRED"}[when]
        create = ["CREATE FUNCTION rechazo() RETURNS trigger LANGUAGE plpgsql AS "
                  "$$ BEGIN RAISE EXCEPTION 'disco de la base lleno'; END $$",
                  f"{trigger} FOR EACH ROW EXECUTE FUNCTION rechazo()"]
        drop = ["DROP TRIGGER evento_rechazo ON evento", "DROP FUNCTION rechazo()"]
    with db.write():
        for statement in create:
            db.peewee.execute_sql(statement)
    try:
        yield
    finally:
        with db.write():
            for statement in drop:
                db.peewee.execute_sql(statement)


@pytest.mark.parametrize("channel", ["api", "web"])
@pytest.mark.parametrize("when", ["insert", "commit"])
def test_a_filing_the_database_refuses_writes_nothing_and_keeps_no_file(services, app, channel, when):
    file_tramite(services, sample_pdf("Anterior"))  # the register already has a number and a file
    before, files_before = snapshot(), files_on_disk(services)
    with refusing_eventos(services, when):
        status, text, body = file_by(channel, app)
    assert status == 500 and INESPERADO in text, text[:500]
    assert_clear_page(text)
    if body is not None:
        assert re.fullmatch(r"[0-9A-F]{8}", body["incidente"])
    else:
        assert re.search(r"Código de incidente: [0-9A-F]{8}", text)
    assert snapshot() == before  # no expediente, remitente, number, adjunto, evento, tarea or correo
    assert files_on_disk(services) == files_before  # its files went at once, before any sweep
    assert history.verify().ok

    status, _, _ = file_by(channel, app)  # the database is back: the number was not used up
    assert status == (201 if channel == "api" else 303)
    assert Numeracion.get().ultimo == 2
    assert Expediente.select().order_by(Expediente.id.desc()).get().numero == f"{base_date().year}-000002"


def step_state(expediente_id: int) -> dict:
    exp = Expediente.get_by_id(expediente_id)
    return {"expediente": exp.__data__, "tablas": snapshot(), "cadena": Cadena.get_by_id(1).__data__}


@pytest.mark.parametrize("when", ["insert", "commit"])
def test_a_step_the_database_refuses_changes_nothing(services, staff, when):
    exp = file_tramite(services)
    step(services, exp, staff["mesa"], accion="conforme")
    before = step_state(exp.id)
    with refusing_eventos(services, when), pytest.raises(peewee.DatabaseError, match="disco de la base lleno|FOREIGN"):
        derivar(services, exp, staff["mesa"], "GDUR", "SGAT", con_copia=["GDS"])
    assert step_state(exp.id) == before  # the instance, its version, tareas, timers, copies, history

    result = derivar(services, exp, staff["mesa"], "GDUR", "SGAT", con_copia=["GDS"])  # the same step, now it goes
    assert result.expediente.version == before["expediente"]["version"] + 1
    assert sorted(t.oficina.codigo for t in Tarea.select().where(Tarea.expediente == exp.id)) == ["GDUR", "SGAT"]
    assert history.verify().ok


def test_an_answer_with_its_pdf_the_database_refuses(services, app, staff):
    """Through the office's task page: a 500 page with an incident code, the answer's PDF removed at once."""
    make_user("gdur_web", "oficina", "GDUR")
    exp = file_tramite(services)
    step(services, exp, staff["mesa"], accion="conforme")
    derivar(services, exp, staff["mesa"], "GDUR")
    recibir(services, exp, staff["gdur"])
    task = Tarea.get(Tarea.expediente == exp.id).task_id
    b = Browser(app)
    b.login("gdur_web")
    url = f"/expedientes/{exp.numero}/tareas/{task}"
    b.get(url, accion="atender")
    before, files_before = step_state(exp.id), files_on_disk(services)
    answer = [("accion", "atender"), ("_vista", "atender"), ("respuesta", "Licencia otorgada")]
    with refusing_eventos(services, "insert"):
        result = b.post(url, answer, files=[("archivo_respuesta", "resolución.pdf", sample_pdf("Resolución"))])
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", result.text))
    assert result.status_code == 500 and INESPERADO in text and re.search(r"Código de incidente: [0-9A-F]{8}", text)
    assert_clear_page(text)
    assert step_state(exp.id) == before
    assert files_on_disk(services) == files_before

    b.get(url, accion="atender")
    ok = b.post(url, answer, files=[("archivo_respuesta", "resolución.pdf", sample_pdf("Resolución"))])
    assert ok.status_code == 303 and Expediente.get_by_id(exp.id).estado == "Atendido"
    assert len(files_on_disk(services)) == len(files_before) + 1
