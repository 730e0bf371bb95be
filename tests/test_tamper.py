"""F9 tamper: over more than 10,000 Evento rows, each single modification (of every hashed field in turn),
deletion, reordering or insertion is detected at the first bad row, and ``mpv audit verify`` says so.

The chain is seeded once per module with ``mpv.demo.volumen`` (clones of instances the real engine ran). Each
tampering runs in a transaction that is rolled back after ``history.verify()`` has looked at it, so every
check starts from the intact chain. The bounded run tampers with a few hundred positions of each kind spread
over the chain, the first and last rows included; ``--soak`` tampers with every row.
"""
from __future__ import annotations

import contextlib
import os
import random
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
from helpers import FakeClock, base_moment, build_services, fresh_database

from mpv import db as mpv_db
from mpv import history
from mpv.config import Settings
from mpv.models import Cadena, Evento, Expediente, Oficina, Usuario
from mpv.demo.volumen import sembrar

ROOT = Path(__file__).resolve().parent.parent
# Scenarios with long, varied histories: derivations, parallel offices, annulments, timers, observations.
ESCENARIOS = ("atendido", "atendido_rederivado", "atendido_paralelo", "atendido_anulado", "atendido_obs",
              "archivado_obs", "no_presentado", "en_atencion", "vencido", "devuelto")
FIELDS = (*history.HASHED, "hash")  # every hashed field, and the stored hash itself


@pytest.fixture(params=["bounded", pytest.param("soak", marks=pytest.mark.slow)])
def long_run(request, soak) -> bool:
    """False for the bounded run (``make test``); True for the long variant, which runs only under --soak."""
    if request.param == "soak" and not soak:
        pytest.skip("long variant: run with --soak (pytest -m slow --soak)")
    return request.param == "soak"


class Chain:
    """The seeded database and the intact chain's rows, by position."""

    def __init__(self, services):
        self.services = services
        self.rows = list(Evento.select().order_by(Evento.seq))
        self.n = len(self.rows)
        self.expedientes = [i for (i,) in Expediente.select(Expediente.id).order_by(Expediente.id).tuples()]
        self.usuarios = [i for (i,) in Usuario.select(Usuario.id).order_by(Usuario.id).tuples()]

    def row(self, seq: int) -> Evento:
        return self.rows[seq - 1]

    def hash_before(self, seq: int) -> str:
        return self.row(seq - 1).hash if seq > 1 else history.GENESIS


@pytest.fixture(scope="module")
def chain(backend, tmp_path_factory):
    with fresh_database(backend, tmp_path_factory.mktemp("cadena")) as url:
        settings = Settings(data_dir=tmp_path_factory.mktemp("datos"), database_url=url)
        services = build_services(settings, FakeClock(base_moment(9, 30)))
        try:
            Oficina.update(activa=False).where(Oficina.codigo.not_in(["MP", "GDUR", "SGAT", "GDS", "ORC"])).execute()
            started = time.perf_counter()
            informe = sembrar(services, 900, dias=365, semilla=20260302, pesos={e: (1, 1, 1, 1) for e in ESCENARIOS})
            built = Chain(services)
            assert built.n == informe.eventos >= 10_000
            print(f"\n[F9 {backend}] cadena de {built.n:,} eventos ({informe.expedientes} expedientes) sembrada en "
                  f"{time.perf_counter() - started:.1f} s")
            yield built
        finally:
            services.close()


@pytest.fixture(autouse=True)
def bound(chain):
    """This module's database is the one the models use (another module's test may have bound its own)."""
    mpv_db.proxy.initialize(chain.services.db.peewee)


def positions(chain: Chain, every: bool, count: int, salt: int = 0, last: int | None = None) -> list[int]:
    """``count`` positions spread over 1..``last``: the first, the last, evenly spaced ones and random ones
    (``every``: all of them)."""
    last = last or chain.n
    if every:
        return list(range(1, last + 1))
    rng = random.Random(salt)
    spread = {1, 2, last - 1, last} | {1 + (i * (last - 1)) // (count // 2) for i in range(count // 2)}
    while len(spread) < count:
        spread.add(rng.randint(1, last))
    return sorted(spread)


@contextlib.contextmanager
def undone(chain: Chain):
    """A change to the history that the database forgets afterwards (the transaction rolls back)."""
    with chain.services.db.peewee.atomic() as tx:
        yield
        tx.rollback()


def verified_after(chain: Chain, tamper) -> history.Verification:
    with undone(chain):
        tamper()
        return history.verify()


def check(chain: Chain, kind: str, cases) -> list[str]:
    """Tamper with each case ``(position, expected seq, tamper)``; return a line for each one not named right."""
    wrong, started = [], time.perf_counter()
    for position, expected, tamper in cases:
        result = verified_after(chain, tamper)
        if result.ok or result.seq != expected:
            wrong.append(f"{kind} at {position}: expected seq {expected}, got {result}")
    print(f"\n[F9] {kind}: {len(cases)} alteraciones en {time.perf_counter() - started:.1f} s")
    return wrong


# -- the changes -------------------------------------------------------------------------------------------------
def _other_text(value: str) -> str:
    """The same length (columns have a maximum), one character different; or one character if empty."""
    if not value:
        return "x"
    return value[:-1] + ("y" if value[-1] == "x" else "x")


def changed_value(chain: Chain, row: Evento, field: str):
    """A new value for ``field`` of ``row`` that a forger might write: one microsecond, one character, another id."""
    if field == "seq":
        return chain.n + 1000 + row.seq
    if field == "expediente":
        ids = chain.expedientes
        return ids[0] if row.expediente_id is None else ids[(ids.index(row.expediente_id) + 1) % len(ids)]
    if field == "actor":
        ids = chain.usuarios
        return ids[0] if row.actor_id is None else None if row.seq % 2 else ids[(ids.index(row.actor_id) + 1) % len(ids)]
    if field in ("momento", "tarea_desde"):
        value = getattr(row, field)
        return row.momento if value is None else value + timedelta(microseconds=1)
    if field == "payload":  # the same JSON with one more space: the text is what the hash covers
        return row.payload.replace(":", ": ", 1) if ":" in row.payload else row.payload + " "
    if field in ("prev_hash", "hash"):
        value = getattr(row, field)
        return ("1" if value[0] == "0" else "0") + value[1:]
    return _other_text(getattr(row, field))


def modify(chain: Chain, seq: int, field: str):
    value = changed_value(chain, chain.row(seq), field)
    assert value != getattr(chain.row(seq), f"{field}_id" if field in ("expediente", "actor") else field)
    return lambda: Evento.update({getattr(Evento, field): value}).where(Evento.seq == seq).execute()


def delete(seq: int):
    return lambda: Evento.delete().where(Evento.seq == seq).execute()


def swap(seq: int):
    """Rows ``seq`` and ``seq + 1`` exchange their places in the chain."""
    def tamper():
        Evento.update(seq=-1).where(Evento.seq == seq).execute()
        Evento.update(seq=seq).where(Evento.seq == seq + 1).execute()
        Evento.update(seq=seq + 1).where(Evento.seq == -1).execute()
    return tamper


def forged_row(chain: Chain, seq: int, prev_hash: str, model: Evento) -> Evento:
    """A row that looks right: copied from a real one, with its own text, the given link and a correct hash."""
    forged = Evento(**{**model.__data__, "id": None, "seq": seq, "prev_hash": prev_hash,
                       "detalle": "Documento agregado con posterioridad"})
    forged.hash = history.row_hash(forged)
    return forged


def insert(chain: Chain, seq: int, chained: bool):
    """A forged row slipped in at ``seq``: the rows from there on move one place down. ``chained``: its
    prev_hash is the hash of the row before it, as a careful forger would write it."""
    def tamper():
        Evento.update(seq=Evento.seq * -1 - 1).where(Evento.seq >= seq).execute()  # two steps: seq is unique
        Evento.update(seq=Evento.seq * -1).where(Evento.seq < 0).execute()
        link = chain.hash_before(seq) if chained else chain.row(seq).hash
        forged_row(chain, seq, link, chain.row(seq)).save(force_insert=True)
    return tamper


def append(chain: Chain, chained: bool):
    last = chain.row(chain.n)
    link = last.hash if chained else "ab" * 32
    return lambda: forged_row(chain, chain.n + 1, link, last).save(force_insert=True)


# -- the checks --------------------------------------------------------------------------------------------------
def test_the_intact_chain_verifies_and_how_fast(chain, backend):
    times = []
    for _ in range(3):
        started = time.perf_counter()
        result = history.verify()
        times.append(time.perf_counter() - started)
        assert result.ok and result.checked == chain.n, str(result)
    best = min(times)
    print(f"\n[F9 {backend}] verificación de {chain.n:,} eventos: {best:.3f} s, {chain.n / best:,.0f} eventos/s")
    assert chain.n / best > 5_000  # linear in the rows, not slower per row as the chain grows


def test_each_modified_field_is_named_at_its_row(chain, long_run):
    if long_run:
        cases = [(s, s, modify(chain, s, FIELDS[s % len(FIELDS)])) for s in range(1, chain.n + 1)]
        cases += [(s, s, modify(chain, s, f)) for f in FIELDS for s in (1, chain.n)]
    else:
        cases = [(s, s, modify(chain, s, field)) for i, field in enumerate(FIELDS)
                 for s in positions(chain, long_run, 10, salt=i)]
    wrong = check(chain, "modificación", cases)
    assert not wrong, wrong[:10]


def test_each_deleted_row_is_named(chain, long_run):
    wrong = check(chain, "eliminación", [(s, s, delete(s)) for s in positions(chain, long_run, 100, salt=101)])
    assert not wrong, wrong[:10]
    with undone(chain):
        delete(chain.n)()
        assert "eliminado" in history.verify().problem


def test_each_swap_of_neighbours_is_named_at_the_first(chain, long_run):
    cases = [(s, s, swap(s)) for s in positions(chain, long_run, 100, salt=102, last=chain.n - 1)]
    wrong = check(chain, "reordenamiento", cases)
    assert not wrong, wrong[:10]


def test_each_forged_insertion_is_named_at_its_row(chain, long_run):
    places = positions(chain, long_run, 50, salt=103)  # each moves half the chain on average: fewer than the others
    cases = [(s, s, insert(chain, s, chained=True)) for s in places]
    cases += [(s, s, insert(chain, s, chained=False)) for s in places[::5]]
    wrong = check(chain, "inserción", cases)
    assert not wrong, wrong[:10]
    with undone(chain):
        insert(chain, chain.n // 2, chained=True)()
        assert "fue insertado" in history.verify().problem


def test_a_forged_row_after_the_last_is_named(chain):
    n = chain.n
    for chained in (True, False):
        result = verified_after(chain, append(chain, chained))
        assert (result.ok, result.seq) == (False, n + 1), str(result)
    with undone(chain):  # moving the head back is also seen
        Cadena.update(seq=n - 1, hash=chain.hash_before(n)).execute()
        assert not history.verify().ok


def test_mpv_audit_verify_exit_codes_and_message(chain, tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("MPV_")}
    env.update(MPV_DATA_DIR=str(tmp_path), MPV_DATABASE_URL=chain.services.db.url)

    def audit():
        done = subprocess.run([sys.executable, "-m", "mpv", "audit", "verify"], cwd=ROOT, env=env,
                              capture_output=True, text=True, timeout=120)
        return done.returncode, done.stdout

    code, out = audit()
    assert code == 0 and f"Cadena de auditoría íntegra: {chain.n} eventos verificados." in out, out
    seq = chain.n * 2 // 3
    original = chain.row(seq).detalle
    with chain.services.db.write():  # committed: another process has to see it
        Evento.update(detalle=_other_text(original)).where(Evento.seq == seq).execute()
    try:
        code, out = audit()
        assert code == 1 and f"Cadena de auditoría ALTERADA en el evento {seq}: su contenido fue modificado" in out, out
    finally:
        with chain.services.db.write():
            Evento.update(detalle=original).where(Evento.seq == seq).execute()
    assert audit()[0] == 0
