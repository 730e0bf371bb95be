"""The office's tray (/bandeja) in keyset pages: every task once across the pages, forwards and backwards, while
tasks come and go; a forged cursor opens the first page; each section counted up to a bound; its index exists
on a new database and on an older one, and a page walks it."""
from __future__ import annotations

import base64
import re
from html import unescape

import pytest
from helpers import derivar, file_tramite, recibir, step
from webclient import Browser

from mpv.demo.volumen import ESCENARIOS, sembrar
from mpv.models import Copia, Tarea
from mpv.tramites import bandeja
from mpv.web.app import create_app

SECCIONES_DE_TAREAS = ("por_recibir", "en_atencion", "escritos")
FILA = re.compile(r'<td class="numero" data-label="N° de expediente"><strong>(\d{4}-\d{6})</strong>')


@pytest.fixture
def llena(services, staff):
    """GDUR's tray with some 50 tasks to receive and 100 in atención (and whatever else the seeder's fallback left)."""
    pesos = {e: (0, 0, 0, 0) for e in ESCENARIOS} | {"derivado": (1, 1, 1, 1), "en_atencion": (2, 2, 2, 2)}
    sembrar(services, 150, dias=10, semilla=15, pesos=pesos, oficina="GDUR")
    return staff


def gdur_id() -> int:
    from mpv.models import Oficina
    return Oficina.por_codigo("GDUR").id


def esperadas(seccion: str, services) -> list[int]:
    """The ids of the section's tasks, oldest first, read without the pager."""
    revisiones = services.definitions.revisiones_de_escritos()
    query = Tarea.select().where(Tarea.oficina == gdur_id()).order_by(Tarea.desde, Tarea.id)
    keep = {"por_recibir": lambda t: t.spec == "recibir",
            "escritos": lambda t: t.spec in revisiones,
            "en_atencion": lambda t: t.spec != "recibir" and t.spec not in revisiones}[seccion]
    return [t.id for t in query if keep(t)]


def recorrer(services, actor, seccion: str, limite: int, atras: bool = False, cursor: str = "") -> list[list[int]]:
    """Every page of ``seccion`` from ``cursor``, as lists of task ids, in the order they are shown."""
    pages = []
    while True:
        b = bandeja.bandeja(services, actor, seccion, cursor, atras, limite=limite)
        pagina = getattr(b, seccion).pagina
        pages.append([t.id for t in pagina.filas])
        cursor = pagina.anterior if atras else pagina.siguiente
        if not cursor:
            return pages


@pytest.mark.parametrize("seccion", SECCIONES_DE_TAREAS)
def test_every_task_once_forwards_and_backwards(services, llena, seccion):
    expected = esperadas(seccion, services)
    if seccion != "escritos":
        assert len(expected) > 20, "the seeder filled the section"
    pages = recorrer(services, llena["gdur"], seccion, limite=7)
    walked = [i for page in pages for i in page]
    assert walked == expected  # none lost, none repeated, oldest first
    assert all(len(page) == 7 for page in pages[:-1])
    if len(pages) > 1:  # back from the last page: the same pages, the other way
        cursor = ""
        for _ in pages[:-1]:
            cursor = getattr(bandeja.bandeja(services, llena["gdur"], seccion, cursor, limite=7), seccion).pagina.siguiente
        ultima = getattr(bandeja.bandeja(services, llena["gdur"], seccion, cursor, limite=7), seccion).pagina
        back = recorrer(services, llena["gdur"], seccion, limite=7, atras=True, cursor=ultima.anterior)
        assert back == pages[:-1][::-1]
        assert getattr(bandeja.bandeja(services, llena["gdur"], limite=7), seccion).pagina.anterior == ""


def test_the_walk_holds_while_tasks_come_and_go(services, llena):
    gdur, mesa = llena["gdur"], llena["mesa"]
    before = esperadas("por_recibir", services)
    first = bandeja.bandeja(services, gdur, limite=10).por_recibir.pagina
    received = first.filas[0]
    recibir(services, received.expediente, gdur)  # a row of the page read leaves the section
    nuevo = file_tramite(services)
    step(services, nuevo, mesa, accion="conforme")
    derivar(services, nuevo, mesa, "GDUR")  # a new task, the newest
    seen = [t.id for t in first.filas]
    cursor = first.siguiente
    while cursor:
        pagina = bandeja.bandeja(services, gdur, "por_recibir", cursor, limite=10).por_recibir.pagina
        seen += [t.id for t in pagina.filas]
        cursor = pagina.siguiente
    nueva = Tarea.get((Tarea.expediente == nuevo.id) & (Tarea.spec == "recibir")).id
    assert seen == before + [nueva]  # the rest of the walk neither repeats nor loses a row


def test_the_page_shows_fifty_and_links_to_the_next_of_its_own_section(services, app, llena):
    b = browser(app, "gdur")
    page = b.get("/bandeja")
    assert page.status_code == 200
    total = len(esperadas("en_atencion", services))
    heading = re.search(r'<h2 id="en_atencion">En atención \((\d+)\)</h2>', page.text)
    assert heading and int(heading.group(1)) == total
    assert total > bandeja.PAGE, "the seeder filled more than a page"
    shown, backs = [], []
    href = "/bandeja"
    while href:
        page = b.get(href.split("?")[0], **dict(p.split("=", 1) for p in href.partition("?")[2].split("&") if p))
        assert page.status_code == 200
        section = page.text.split('<h2 id="en_atencion">')[1].split("<h2 ")[0]
        rows = FILA.findall(section)
        assert len(rows) <= bandeja.PAGE
        shown += rows
        backs.append(bool(re.search(r'href="\?seccion=en_atencion&amp;antes=', section)))
        nxt = re.search(r'href="(\?seccion=en_atencion&amp;despues=[^"#]+)#en_atencion"', section)
        href = "/bandeja" + unescape(nxt.group(1)) if nxt else ""
        assert not href or len(rows) == bandeja.PAGE
    assert len(shown) == total == len(set(shown))
    assert backs == [False] + [True] * (len(backs) - 1)  # the later pages link back
    assert 'aria-label="Páginas de en atención"' in page.text


@pytest.mark.parametrize("cursor", ["basura", "!!!", base64.urlsafe_b64encode(b"2026-01-01T00:00:00|99999999999999999999")
                                    .decode(), base64.urlsafe_b64encode(b"|5").decode(),
                                    base64.urlsafe_b64encode(b"2026-01-01T00:00:00|-1").decode(), "A" * 5000])
@pytest.mark.parametrize("param", ["despues", "antes"])
def test_a_forged_cursor_opens_the_first_page(services, app, llena, cursor, param):
    b = browser(app, "gdur")
    first = b.get("/bandeja").text
    page = b.get("/bandeja", seccion="en_atencion", **{param: cursor})
    assert page.status_code == 200
    assert FILA.findall(page.text) == FILA.findall(first)


def test_an_unknown_section_is_ignored(services, app, llena):
    b = browser(app, "gdur")
    page = b.get("/bandeja", seccion="'; DROP TABLE tarea; --", despues="x")
    assert page.status_code == 200 and FILA.findall(page.text) == FILA.findall(b.get("/bandeja").text)


def test_counts_stop_at_the_bound(services, app, llena, monkeypatch):
    monkeypatch.setattr(bandeja, "TOPE", 5)
    b = bandeja.bandeja(services, llena["gdur"], limite=3)
    assert b.en_atencion.total == 6 and b.en_atencion.mas_de_tope
    page = browser(app, "gdur").get("/bandeja").text
    assert '<h2 id="en_atencion">En atención (más de 5)</h2>' in page
    assert '<h2 id="escritos">Escritos por revisar (0)</h2>' in page


def test_con_copia_is_paged_newest_first(services, staff):
    exps = []
    for _ in range(5):
        e = file_tramite(services)
        step(services, e, staff["mesa"], accion="conforme")
        derivar(services, e, staff["mesa"], "SGAT", con_copia=["GDUR"])
        exps.append(e.id)
    expected = [c.id for c in Copia.select().where(Copia.oficina == gdur_id())
                .order_by(Copia.desde.desc(), Copia.id.desc())]
    assert len(expected) == 5
    pages = recorrer(services, staff["gdur"], "copias", limite=2)
    assert [i for p in pages for i in p] == expected and [len(p) for p in pages] == [2, 2, 1]


def test_a_page_walks_the_index_and_an_older_database_gets_it(services, llena):
    db = Tarea._meta.database
    name = "tarea_oficina_id_spec_desde_id"
    db.execute_sql(f"DROP INDEX {name}")
    services.init_db()  # an older database: «mpv init-db» adds the index
    assert name in {i.name for i in db.get_indexes("tarea")}
    if services.settings.database_url.startswith("sqlite"):
        query = (Tarea.select(Tarea.id).where((Tarea.oficina == gdur_id()) & (Tarea.spec == "atencion"))
                 .order_by(Tarea.desde, Tarea.id).limit(51))
        sql, params = query.sql()
        plan = " ".join(str(r[-1]) for r in db.execute_sql(f"EXPLAIN QUERY PLAN {sql}", params))
        assert name in plan and "TEMP B-TREE" not in plan, plan


@pytest.fixture
def app(services):
    return create_app(services)


def browser(app, username: str) -> Browser:
    b = Browser(app)
    b.login(username)
    return b
