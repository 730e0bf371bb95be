"""Process analytics (issue 6 item 3): the figures of a hand-made history, computed here by hand.

Percentiles are continuous (PostgreSQL's percentile_cont): for n sorted values v0…v(n−1), the p-th lies
at position p·(n−1), interpolated linearly between its two neighbours.
"""
from __future__ import annotations

import csv
import io
import json
import re
from datetime import date

import pytest
from helpers import derivar, file_tramite, lima, make_user, recibir, step
from webclient import Browser

from mpv.auditoria import analitica, tablero
from mpv.auditoria.tablero import Consulta
from mpv.engine import Actor
from mpv.errors import NotAllowed, NotFound
from mpv.models import TipoDocumento
from mpv.web.analitica import CalentadorAnalitica, Memoria
from mpv.web.app import create_app

MARZO = {"desde": "2026-03-01", "hasta": "2026-03-31"}
MIN, HORA, DIA = 60, 3600, 86400


@pytest.fixture
def history(services, clock, staff):
    """Five trámites with known step times (minutes after the previous step of the same trámite):

    =====  ====  =========  ==========  ========  ========  ==========================
    exp.   tipo  recepción  derivación  oficina   recibir   atención
    A      SOL   10 min     20 min      GDUR      2 h       1 día
    B      CAR   30 min     1 h         SGAT      3 h       2 días
    C      SOL   20 min     40 min      GDUR      1 h       4 h
    D      SOL   50 min     10 min      GDUR      (not received: its 1-day plazo runs out)
    E      SOL   5 min (in April: outside the range)
    =====  ====  =========  ==========  ========  ========  ==========================
    """
    mesa, gdur, rentas = staff["mesa"], staff["gdur"], staff["rentas"]

    def run(day, tipo, times, oficina, plazo_dias=7):
        clock.set(lima(2026, 3, day, 9, 0))
        exp = file_tramite(services, tipo_documento=tipo)
        clock.advance(seconds=times[0])
        step(services, exp, mesa, accion="conforme")
        clock.advance(seconds=times[1])
        derivar(services, exp, mesa, oficina, plazo_dias=plazo_dias)
        if len(times) > 2:
            actor = gdur if oficina == "GDUR" else rentas
            clock.advance(seconds=times[2])
            recibir(services, exp, actor)
            clock.advance(seconds=times[3])
            step(services, exp, actor, accion="atender", respuesta="Atendido")
        return exp

    run(2, "SOL", (10 * MIN, 20 * MIN, 2 * HORA, DIA), "GDUR")
    run(4, "CAR", (30 * MIN, HORA, 3 * HORA, 2 * DIA), "SGAT")
    run(9, "SOL", (20 * MIN, 40 * MIN, HORA, 4 * HORA), "GDUR")
    run(10, "SOL", (50 * MIN, 10 * MIN), "GDUR", plazo_dias=1)
    clock.set(lima(2026, 3, 16, 10, 0))
    assert services.engine.fire_due_timers() == 2  # D's «Plazo de atención vencido» (GDUR) and its end event
    clock.set(lima(2026, 4, 6, 9, 0))
    e = file_tramite(services)
    clock.advance(minutes=5)
    step(services, e, mesa, accion="conforme")
    return services


def figures(rows):
    return {r.clave: (r.cantidad, r.mediana, r.p90) for r in rows}


def counts(rows):
    return {r.clave: r.cantidad for r in rows}


def marzo(**kwargs):
    return analitica.Filtro(date(2026, 3, 1), date(2026, 3, 31), **kwargs)


# Expected, by hand (seconds). recepción [600, 1200, 1800, 3000]: median at 1.5 → 1200 + .5·600 = 1500;
# p90 at 2.7 → 1800 + .7·1200 = 2640. derivación [600, 1200, 2400, 3600]: 1800; 2400 + .7·1200 = 3240.
# recibir [3600, 7200, 10800]: 7200; at 1.8 → 7200 + .8·3600 = 10080.
# atención [14400, 86400, 172800]: 86400; 86400 + .8·86400 = 155520.
TAREAS = {"recepcion": (4, 1500, 2640), "derivacion": (4, 1800, 3240), "recibir": (3, 7200, 10080),
          "atencion": (3, 86400, 155520)}
# Per expediente and office, the sum of its tasks there. MP: A 600+1200, B 1800+3600, C 1200+2400,
# D 3000+600 → [1800, 3600, 3600, 5400]: 3600; 3600 + .7·1800 = 4860.
# GDUR: A 7200+86400, C 3600+14400 → [18000, 93600]: at .5 → 55800; at .9 → 18000 + .9·75600 = 86040.
# SGAT: B 10800+172800 = 183600 alone.
OFICINAS = {"MP": (4, 3600, 4860), "GDUR": (2, 55800, 86040), "SGAT": (1, 183600, 183600)}


def test_times_by_task_and_office(history):
    db, tz = history.db.peewee, history.calendario.tz
    tiempos = analitica.tiempos(db, marzo(), tz, {})
    assert figures(tiempos.por_tarea) == TAREAS
    assert figures(tiempos.por_oficina) == OFICINAS
    # By office: only the tasks GDUR did (A and C).
    gdur = analitica.tiempos(db, marzo(oficina="GDUR"), tz, {})
    assert figures(gdur.por_tarea) == {
        "recibir": (2, 5400, 6840), "atencion": (2, 50400, 79200)}  # [3600, 7200]; [14400, 86400]
    assert figures(gdur.por_oficina) == {"GDUR": OFICINAS["GDUR"]}
    # By document type: only B is a Carta.
    carta = TipoDocumento.get(TipoDocumento.codigo == "CAR").id
    b = analitica.tiempos(db, marzo(tipo_documento=carta), tz, {})
    assert figures(b.por_tarea) == {"recepcion": (1, 1800, 1800), "derivacion": (1, 3600, 3600),
                                    "recibir": (1, 10800, 10800), "atencion": (1, 172800, 172800)}
    assert figures(b.por_oficina) == {"MP": (1, 5400, 5400), "SGAT": (1, 183600, 183600)}
    # A range that ends on 9 March holds A's and B's tasks and C's (done that day), not D's.
    hasta_9 = analitica.tiempos(db, analitica.Filtro(date(2026, 3, 1), date(2026, 3, 9)), tz, {})
    assert counts(hasta_9.por_tarea) == {"recepcion": 3, "derivacion": 3, "recibir": 3, "atencion": 3}
    assert counts(hasta_9.por_oficina) == {"MP": 3, "GDUR": 2, "SGAT": 1}


def test_overdue_and_filings(history):
    tz = history.calendario.tz
    assert counts(analitica.plazos_vencidos(marzo(), tz)) == {"GDUR|Plazo de atención vencido": 1}
    assert counts(analitica.plazos_vencidos(marzo(oficina="SGAT"), tz)) == {}
    assert [(c.nombre, c.cantidad) for c in analitica.vencidos_ahora(marzo())] == [
        ("Gerencia de Desarrollo Urbano y Rural", 1)]
    p = analitica.presentaciones(marzo(), tz)
    assert p.total == 4
    assert {c.clave: c.cantidad for c in p.por_dia if c.cantidad} == {
        "2026-03-02": 1, "2026-03-04": 1, "2026-03-09": 1, "2026-03-10": 1}
    assert len(p.por_dia) == 31
    assert {c.nombre: c.cantidad for c in p.por_tipo} == {"Solicitud": 3, "Carta": 1}
    assert {c.nombre: c.cantidad for c in p.por_estado} == {"Atendido": 3, "Derivado": 1}


def test_page_and_csv(history):
    make_user("analista", "analista")
    browser = Browser(create_app(history))
    browser.login("analista")
    page = browser.get("/analitica", **MARZO)
    assert page.status_code == 200
    assert 'href="/analitica"' in page.text and ">Analítica<" in page.text  # in the menu
    assert "/static/vendor/chartjs/chart.umd.min.js" in page.text
    # The accessible table has the numbers in hours: atención 86400 s → 24.0 h, p90 155520 s → 43.2 h.
    assert re.search(r"<th scope=\"row\">Atención</th><td>3</td><td>24\.0 h</td><td>43\.2 h</td>", page.text)
    data = json.loads(re.search(r'<script type="application/json" id="analitica-datos">(.*?)</script>',
                                page.text, re.S).group(1))
    charts = {c["id"]: c for c in data}
    assert charts["tareas"]["labels"][0] == "Atención" and charts["tareas"]["series"][0]["data"][0] == 24.0
    assert sum(charts["por-dia"]["series"][0]["data"]) == 4

    result = browser.get("/analitica/oficinas.csv", **MARZO)
    assert result.status_code == 200 and result.headers["content-type"].startswith("text/csv")
    assert result.headers["content-disposition"] == 'attachment; filename="analitica-oficinas-2026-03-01-2026-03-31.csv"'
    rows = list(csv.DictReader(io.StringIO(result.text.lstrip("\ufeff"))))
    assert {r["clave"]: (int(r["cantidad"]), float(r["mediana_segundos"]), float(r["p90_segundos"]))
            for r in rows} == OFICINAS
    estado = list(csv.DictReader(io.StringIO(browser.get("/analitica/por-estado.csv", **MARZO).text.lstrip("\ufeff"))))
    assert {r["clave"]: int(r["cantidad"]) for r in estado} == {"Atendido": 3, "Derivado": 1}
    assert browser.get("/analitica/nada.csv").status_code == 404


def test_who_may_read_and_bad_filters(history):
    app = create_app(history)
    for username, rol, oficina in (("auditor2", "auditor", None), ("admin", "admin", None)):
        make_user(username, rol, oficina)
        browser = Browser(app)
        browser.login(username)
        assert browser.get("/analitica").status_code == 200
    for username in ("mesa", "gdur"):  # staff fixture users: they run the process, they do not compare offices
        browser = Browser(app)
        browser.login(username)
        assert browser.get("/analitica").status_code == 403
        assert browser.get("/analitica/tareas.csv").status_code == 403
    assert Browser(app).get("/analitica").status_code == 303
    make_user("analista", "analista")
    browser = Browser(app)
    browser.login("analista")
    page = browser.get("/analitica", desde="2026-03-31", hasta="2026-03-01", oficina="NO", tipo="x")
    assert page.status_code == 200
    assert "anterior a «desde»" in page.text and "Esa oficina no existe" in page.text
    assert "Ese tipo de documento no existe" in page.text
    assert "Elija un periodo de hasta" in browser.get("/analitica", desde="2020-01-01", hasta="2026-03-31").text
    for params in ({"hasta": "9999-12-31"}, {"desde": "0001-01-01"}, {"tipo": "9" * 30}, {"tipo": "٣"}):
        result = browser.get("/analitica", **params)
        assert result.status_code == 200 and 'role="alert"' in result.text, params
        assert browser.get("/analitica/tareas.csv", **params).status_code == 200, params


def test_figures_are_kept_a_few_minutes():
    now = [0.0]
    memoria = Memoria(ttl=300, size=2, reloj=lambda: now[0])
    calls = []
    compute = lambda: calls.append(1) or len(calls)  # noqa: E731
    assert memoria.get("a", compute) == 1
    now[0] = 299
    assert memoria.get("a", compute) == 1  # still fresh
    now[0] = 300
    assert memoria.get("a", compute) == 2  # recomputed after 5 minutes
    memoria.get("b", compute)
    memoria.get("c", compute)  # full: the oldest entry goes
    assert memoria.get("a", compute) == 5


def test_the_server_keeps_the_page_everyone_opens_first_computed(history, monkeypatch):
    """``mpv serve`` runs CalentadorAnalitica: the default page (last 90 days, no filter) is computed before
    anyone asks and again before it leaves the memory, so opening /analitica computes nothing."""
    background = []
    app = create_app(history, background)
    [calentador] = [t for t in background if isinstance(t, CalentadorAnalitica)]
    assert not calentador.is_alive()  # the server starts it, not create_app
    calls = []
    original = analitica.tiempos
    monkeypatch.setattr(analitica, "tiempos", lambda *a, **k: calls.append(a[1]) or original(*a, **k))
    calentador.round()
    assert len(calls) == 1
    make_user("analista", "analista")
    browser = Browser(app)
    browser.login("analista")
    assert browser.get("/analitica").status_code == 200
    assert len(calls) == 1  # served from what the warmer computed
    calentador.round()  # a minute before the memory forgets: computed anew even though still kept
    assert len(calls) == 2
    assert browser.get("/analitica", **MARZO).status_code == 200  # another filter: computed when asked
    assert len(calls) == 3 and calls[2] != calls[0]


# -- the actions behind the page (mpv.auditoria.tablero), driven directly -------------------------------
def test_the_page_and_a_table_for_a_reader(history, staff):
    lector = Actor.de_usuario(make_user("analista", "analista"))
    memoria = Memoria()
    datos = tablero.ver_tablero(history, lector, memoria, Consulta(**MARZO))
    assert datos.errores == {} and (datos.filtro.desde, datos.filtro.hasta) == (date(2026, 3, 1), date(2026, 3, 31))
    assert figures(datos.tablas["tareas"]) == TAREAS and figures(datos.tablas["oficinas"]) == OFICINAS
    assert set(datos.tablas) == set(tablero.TABLAS) and datos.total == 4
    assert ("GDUR", "Gerencia de Desarrollo Urbano y Rural") in datos.oficinas
    assert {t.codigo for t in datos.tipos} >= {"SOL", "CAR"}
    exportacion = tablero.exportar_tabla(history, staff["auditor"], memoria, "por-estado", Consulta(**MARZO))
    assert exportacion.nombre == "analitica-por-estado-2026-03-01-2026-03-31.csv"
    contenido = b"".join(exportacion.contenido).decode("utf-8")
    assert contenido.startswith("\ufeffclave,estado,cantidad\r\n")
    assert {r["clave"]: int(r["cantidad"]) for r in csv.DictReader(io.StringIO(contenido.lstrip("\ufeff")))} == {
        "Atendido": 3, "Derivado": 1}
    with pytest.raises(NotFound, match="No existe esa tabla"):
        tablero.exportar_tabla(history, lector, memoria, "nada", Consulta())
    for actor in (staff["mesa"], staff["gdur"]):  # they run the process; they do not compare offices
        with pytest.raises(NotAllowed, match="Su rol no tiene acceso"):
            tablero.ver_tablero(history, actor, memoria, Consulta(**MARZO))
        with pytest.raises(NotAllowed):
            tablero.exportar_tabla(history, actor, memoria, "tareas", Consulta(**MARZO))


@pytest.mark.parametrize("consulta, errores, desde, hasta", [
    (Consulta(), set(), date(2026, 1, 7), date(2026, 4, 6)),  # the last 90 days by the services' clock
    (Consulta(desde="ayer", hasta="2026-03-31"), {"desde"}, date(2026, 1, 7), date(2026, 3, 31)),
    (Consulta(desde="2026-03-31", hasta="2026-03-01"), {"hasta"}, date(2026, 1, 7), date(2026, 4, 6)),
    (Consulta(desde="2020-01-01", hasta="2026-03-31"), {"desde"}, date(2025, 3, 31), date(2026, 3, 31)),
    (Consulta(hasta="9999-12-31"), {"hasta"}, date(2026, 1, 7), date(2026, 4, 6)),
    (Consulta(oficina="NO", tipo="٣"), {"oficina", "tipo"}, date(2026, 1, 7), date(2026, 4, 6)),
    (Consulta(tipo="999"), {"tipo"}, date(2026, 1, 7), date(2026, 4, 6)),
])
def test_a_bad_filter_is_named_and_its_default_used(history, consulta, errores, desde, hasta):
    filtro, found = tablero.revisar_filtro(history, consulta)
    assert set(found) == errores and (filtro.desde, filtro.hasta) == (desde, hasta)
    assert (filtro.oficina, filtro.tipo_documento) == ("", None)
    assert (filtro.hasta - filtro.desde).days < analitica.MAX_DIAS


def test_a_good_filter_is_kept(history):
    carta = TipoDocumento.get(TipoDocumento.codigo == "CAR").id
    filtro, errores = tablero.revisar_filtro(history, Consulta(oficina="GDUR", tipo=str(carta), **MARZO))
    assert errores == {} and filtro == marzo(oficina="GDUR", tipo_documento=carta)
