"""The Evento hash chain: verification names the first bad row."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest
from helpers import derivar, file_tramite, step

from mpv import history, registro
from mpv.models import Cadena, Evento


def build(services, staff, n=3):
    for _ in range(n):
        exp = file_tramite(services)
        step(services, exp, staff["mesa"], accion="conforme")
        derivar(services, exp, staff["mesa"], "GDUR")
    return list(Evento.select().order_by(Evento.seq))


def test_untouched_chain_verifies(services, staff):
    rows = build(services, staff)
    result = history.verify()
    assert result.ok and result.checked == len(rows) and "íntegra" in str(result)


def test_modified_row_is_named(services, staff):
    rows = build(services, staff)
    Evento.update(detalle="otro texto").where(Evento.seq == 5).execute()
    result = history.verify()
    assert (result.ok, result.seq) == (False, 5) and "modificado" in result.problem


def test_deleted_row_is_named(services, staff):
    build(services, staff)
    Evento.delete().where(Evento.seq == 4).execute()
    result = history.verify()
    assert (result.ok, result.seq) == (False, 4) and "eliminado" in result.problem


def test_deleted_last_row_is_detected(services, staff):
    rows = build(services, staff)
    Evento.delete().where(Evento.seq == len(rows)).execute()
    result = history.verify()
    assert (result.ok, result.seq) == (False, len(rows))


def test_reordered_rows_are_detected(services, staff):
    build(services, staff)
    Evento.update(seq=-1).where(Evento.seq == 3).execute()
    Evento.update(seq=3).where(Evento.seq == 4).execute()
    Evento.update(seq=4).where(Evento.seq == -1).execute()
    result = history.verify()
    assert (result.ok, result.seq) == (False, 3)


def test_appended_forged_row_is_detected(services, staff):
    rows = build(services, staff)
    last = rows[-1]
    forged = Evento(**{**last.__data__, "id": None, "seq": last.seq + 1, "prev_hash": last.hash})
    forged.hash = history.row_hash(forged)
    forged.save(force_insert=True)
    result = history.verify()
    assert (result.ok, result.seq) == (False, last.seq + 1)
    assert Cadena.get_by_id(1).seq == last.seq


def test_appending_without_the_chain_head_says_what_to_run_and_writes_nothing(services):
    with services.db.write():
        Cadena.delete().execute()
    fila = registro.evento(datetime(2026, 3, 2, tzinfo=timezone.utc), "admin", "prueba", "Una fila", None, "")
    with pytest.raises(Cadena.DoesNotExist, match="mpv init-db"):
        with services.db.write():
            history.append(services.db, [fila])
    assert Evento.select().count() == 0
