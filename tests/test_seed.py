"""Seeding realistic volume: every seeded expediente is one the engine could have written, and can go on."""
from __future__ import annotations

import collections
import random
from datetime import date, timedelta

import orjson
import pytest
from helpers import base_moment, step

from mpv import history
from mpv.tramites import listados
from mpv.tramites.busqueda import Busqueda
from mpv.cli import main
from mpv.engine import Actor
from mpv.models import Adjunto, Evento, Expediente, Numeracion, Remitente, Tarea, Temporizador
from mpv.demo.volumen import PESOS, Informe, sembrar
from mpv.demo.escenarios import Dias

ESTADOS = {"Registrado", "Observado", "Recibido", "Derivado", "En atención", "Atendido", "Archivado",
           "No presentado"}


@pytest.fixture
def sembrado(services, staff) -> Informe:
    """270 expedientes of the last 60 days, then 30 more of the last 5 days, most of them still open."""
    informe = sembrar(services, 270, dias=60, semilla=7)
    recientes = sembrar(services, 30, dias=5, semilla=8, pesos={e: (w[0],) * 4 for e, w in PESOS.items()})
    for name in ("expedientes", "filas", "eventos", "por_estado"):
        setattr(informe, name, getattr(informe, name) + getattr(recientes, name))
    return informe


def all_pages(services, **filtro) -> list[dict]:
    rows, cursor = [], ""
    while True:
        pagina = listados.tramites(listados.Filtro(cursor=cursor, **filtro), services.calendario.tz,
                                   search=services.busqueda)
        rows += pagina.filas
        if not pagina.siguiente:
            return rows
        cursor = pagina.siguiente


def test_counts_numbers_chain_dates_search_and_pages(services, sembrado, clock):
    assert sembrado.expedientes == Expediente.select().count() == 300
    por_estado = collections.Counter(e for (e,) in Expediente.select(Expediente.estado).tuples())
    assert por_estado == sembrado.por_estado
    assert ESTADOS <= set(por_estado), por_estado
    assert sum(n for e, n in por_estado.items() if e in ("Atendido", "Archivado", "No presentado")) > 150
    assert Remitente.select().count() == 300 and Adjunto.select().count() == 300
    assert Evento.select().count() == sembrado.eventos

    for numeracion in Numeracion.select():  # consecutive per year, ending at the register's last number
        rows = list(Expediente.select(Expediente.numero, Expediente.correlativo, Expediente.presentado_en)
                    .where(Expediente.anio == numeracion.anio).order_by(Expediente.correlativo).tuples())
        assert [c for _, c, _ in rows] == list(range(1, numeracion.ultimo + 1))
        assert all(n == f"{numeracion.anio}-{c:06d}" for n, c, _ in rows)

    verification = history.verify()
    assert verification.ok, verification
    assert verification.checked == sembrado.eventos

    now = clock()
    calendario = services.calendario
    oldest = calendario.fecha_local(now) - timedelta(days=60)
    for e in Expediente.select():
        assert oldest <= calendario.fecha_local(e.presentado_en) and e.presentado_en <= now
        assert e.fecha_presentacion == calendario.fecha_presentacion(e.presentado_en)
        assert e.busqueda == listados.fold(f"{e.remitente_nombre} {e.asunto} {e.numero_documento}")
        moments = [m for (m,) in Evento.select(Evento.momento).where(Evento.expediente == e.id)
                   .order_by(Evento.seq).tuples()]
        assert moments[0] == e.presentado_en and moments == sorted(moments) and moments[-1] <= now
        assert e.actualizado_en == moments[-1]
        movimientos = len(history.seguimiento(e.id, calendario))
        assert 1 <= movimientos <= 10
        inicio = orjson.loads(Evento.get((Evento.expediente == e.id) & (Evento.tipo == "inicio")).payload)
        assert inicio["asunto"] == e.asunto and inicio["numero_documento_identidad"] == e.remitente_documento
        assert inicio["fecha_presentacion"] == e.fecha_presentacion.isoformat()
    # Open expedientes are recent; timers pending are all in the future: nothing is left to fire.
    assert services.engine.fire_due_timers() == 0

    # Trámites recibidos pages through all of them by keyset, forwards and backwards, with filters.
    everything = all_pages(services)
    expected = list(Expediente.select(Expediente.id).order_by(Expediente.presentado_en.desc(),
                                                              Expediente.id.desc()).tuples())
    assert [r["id"] for r in everything] == [i for (i,) in expected]
    # Backwards from the last page gives the same rows.
    last = listados.tramites(listados.Filtro(cursor=listados.encode_cursor(
        (everything[-1]["presentado_en"], everything[-1]["id"])), atras=True), services.calendario.tz)
    assert [r["id"] for r in last.filas] == [r["id"] for r in everything[-51:-1]]

    en_atencion = all_pages(services, estado="En atención")
    assert {r["estado"] for r in en_atencion} == {"En atención"}
    assert len(en_atencion) == Expediente.select().where(Expediente.estado == "En atención").count()
    por_vencer = all_pages(services, orden="vence")
    assert [r["vence"] for r in por_vencer] == sorted(r["vence"] for r in por_vencer)
    assert len(por_vencer) == Expediente.select().where(Expediente.vence.is_null(False)).count()

    # Search finds seeded senders by name, document and number.
    rng = random.Random(3)
    for remitente in rng.sample(list(Remitente.select().where(Remitente.tipo_persona == "natural")), 5):
        found = all_pages(services, q=f"{remitente.nombres} {remitente.apellidos}")
        assert remitente.id in {Expediente.get_by_id(r["id"]).remitente_id for r in found}
        by_dni = all_pages(services, q=remitente.numero_documento_identidad)
        assert by_dni and {r["remitente_documento"] for r in by_dni} == {remitente.numero_documento_identidad}
    e = Expediente.select().order_by(Expediente.id.desc()).first()
    assert [r["numero"] for r in all_pages(services, q=e.numero)] == [e.numero]
    if services.db.is_sqlite:  # the FTS index the triggers keep matches the table
        services.db.peewee.execute_sql("INSERT INTO expediente_fts(expediente_fts) VALUES('integrity-check')")


def test_open_expedientes_are_engine_state_and_go_on(services, staff, sembrado, clock):
    """Asked to save each open instance again, the engine writes the very same projections; then
    seeded expedientes of every open state go on with the engine, and their timers fire on time."""
    abiertos = list(Expediente.select().where(Expediente.terminado == False))  # noqa: E712
    assert len(abiertos) > 20
    for e in abiertos:
        workflow = services.engine.load(e)
        assert workflow.task_tree.data["numero"] == e.numero
        assert workflow.task_tree.data["tipo_documento"] == e.tipo_documento.codigo
        before = snapshot(e)
        assert services.engine.fire_timers(e.id) == 0
        after = snapshot(Expediente.get_by_id(e.id))
        assert after == before, e.numero
    for e in Expediente.select().where(Expediente.terminado == True).limit(40):  # noqa: E712
        assert services.engine.load(e).is_completed()
        assert not Tarea.select().where(Tarea.expediente == e.id).exists()

    def first(estado):
        return (Expediente.select().where(Expediente.estado == estado)
                .order_by(Expediente.presentado_en.desc()).first())

    registrado = first("Registrado")
    step(services, registrado, staff["mesa"], accion="conforme")
    step(services, registrado, staff["mesa"], oficina_destino="GDUR", prioridad="normal", plazo_dias=5)
    step(services, registrado, staff["gdur"])
    step(services, registrado, staff["gdur"], accion="atender", respuesta="Atendido tras la siembra")
    assert Expediente.get_by_id(registrado.id).estado == "Atendido"

    en_atencion = first("En atención")
    oficina = Tarea.get(Tarea.expediente == en_atencion.id).oficina
    step(services, en_atencion, Actor.de_usuario(oficina.usuarios.first()), accion="atender", respuesta="Listo")
    assert Expediente.get_by_id(en_atencion.id).estado in ("Atendido", "En atención", "Derivado")  # paralelo

    derivado = first("Derivado")
    oficina = Tarea.get(Tarea.expediente == derivado.id).oficina
    step(services, derivado, Actor.de_usuario(oficina.usuarios.first()))

    observado = first("Observado")
    step(services, observado, Actor.ciudadano(observado), descripcion="Adjunto lo pedido")
    assert Expediente.get_by_id(observado.id).estado == "Registrado"

    # The timers fire when they are due, not a second before: subsanación and plazos de atención.
    earliest = Temporizador.select(Temporizador.vence).order_by(Temporizador.vence).scalar()
    clock.set(earliest - timedelta(seconds=1))
    assert services.engine.fire_due_timers() == 0
    clock.set(earliest + timedelta(seconds=1))
    assert services.engine.fire_due_timers() > 0
    clock.advance(days=60)
    services.engine.fire_due_timers()
    assert not Temporizador.select().exists()
    assert Expediente.select().where(Expediente.estado == "Observado").count() == 0  # → No presentado
    en_plazo = (Expediente.estado == "En atención") & (Expediente.vencido == False)  # noqa: E712
    assert not Expediente.select().where(en_plazo).exists()
    assert history.verify().ok


def test_search_plans_agree_and_an_old_search_index_is_rebuilt(services, sembrado):
    """Both ways SQLite can run a search (few or many matches) list the same rows in the same order."""
    if not services.db.is_sqlite:
        pytest.skip("the FTS5 index and its two plans are SQLite's")
    pocos, muchos = Busqueda(services.db, muchos=10**9), Busqueda(services.db, muchos=1)
    tz = services.calendario.tz
    for q in ("quispe", "licencia", "s.a.c.", "constancia predial", "ana", "zz"):
        for filtro in (dict(q=q), dict(q=q, orden="vence"), dict(q=q, estado="Atendido"), dict(q=q, orden="antiguos")):
            a = listados.tramites(listados.Filtro(**filtro), tz, search=pocos)
            b = listados.tramites(listados.Filtro(**filtro), tz, search=muchos)
            assert [r["id"] for r in a.filas] == [r["id"] for r in b.filas], filtro
    peewee = services.db.peewee
    with services.db.write():  # a database made before the prefix indexes
        peewee.execute_sql("DROP TABLE expediente_fts")
        peewee.execute_sql("CREATE VIRTUAL TABLE expediente_fts USING fts5(busqueda, content='expediente', "
                           "content_rowid='id', tokenize='unicode61 remove_diacritics 2')")
    services.busqueda.install()
    sql = peewee.execute_sql("SELECT sql FROM sqlite_master WHERE name = 'expediente_fts'").fetchone()[0]
    assert "prefix='1 2'" in sql
    peewee.execute_sql("INSERT INTO expediente_fts(expediente_fts) VALUES('integrity-check')")
    remitente = Remitente.select().first()
    assert all_pages(services, q=f"{remitente.nombres} {remitente.apellidos} {remitente.razon_social}")


def snapshot(e: Expediente):
    return (e.estado, e.tarea_actual, e.oficina_actual_id, e.vence, e.vencido, e.terminado,
            orjson.loads(e.estado_motor),
            sorted(Tarea.select(Tarea.task_id, Tarea.spec, Tarea.rol, Tarea.oficina, Tarea.desde)
                   .where(Tarea.expediente == e.id).tuples()),
            sorted(Temporizador.select(Temporizador.task_id, Temporizador.nombre, Temporizador.vence)
                   .where(Temporizador.expediente == e.id).tuples()))


def test_business_day_table_matches_the_calendar(services):
    calendario = services.calendario
    dias = Dias(calendario, date(2024, 1, 1), date(2027, 1, 31))
    rng = random.Random(5)
    for _ in range(300):
        d = date(2024, 1, 1) + timedelta(days=rng.randint(0, 900))
        n = rng.randint(0, 30)
        assert dias.sumar(d, n) == calendario.sumar_habiles(d, n)
        assert dias.vencimiento(d, n) == calendario.vencimiento(d, n)
        assert dias.plazo_de(d, calendario.vencimiento(d, n)) == n


def test_cli_demo_seeds_expedientes(capsys, settings):
    clock = lambda: base_moment(9, 30)  # noqa: E731
    assert main(["demo", "--tramites", "0", "--expedientes", "40", "--semilla", "11"], settings=settings,
                clock=clock) == 0
    out, err = capsys.readouterr()
    assert "Sembrados 40 expedientes" in out and "Sembrando expedientes" in err
    assert "Expedientes: 40" in out
    fechas = [p for (p,) in Expediente.select(Expediente.presentado_en).order_by(Expediente.id).tuples()]
    assert fechas == sorted(fechas)  # numbered in filing order
    assert main(["audit", "verify"], settings=settings, clock=clock) == 0
    assert main(["demo", "--expedientes", "-1"], settings=settings, clock=clock) == 1
