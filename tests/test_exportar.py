"""Trámites recibidos exported with its current filters (issue 16, item 4): the .xlsx opens with openpyxl and has
exactly the rows the list shows, on both databases; the CSV too; an office exports only what waits in it; a
citizen's formula stays text."""
from __future__ import annotations

import csv
import io
import re
from datetime import date, datetime

import openpyxl
import pytest
from helpers import derivar, file_tramite, lima, make_user, step
from test_listados import app, browser, filas  # noqa: F401 - the list's fixtures and its page reader

from mpv.tramites import exportar

pytestmark = pytest.mark.fecha_fija


@pytest.fixture
def registro(services, clock):
    mesa = make_user("mesa", "mesa", "MP")
    make_user("gdur", "oficina", "GDUR")
    from mpv.engine import Actor

    mesa = Actor.de_usuario(mesa, ip="127.0.0.1")
    e = {name: file_tramite(services, asunto=name) for name in ("uno", "dos", "tres", "=HYPERLINK(\"x\")")}
    step(services, e["dos"], mesa, accion="conforme")
    derivar(services, e["dos"], mesa, "GDUR", plazo_dias=5)
    clock.set(lima(2026, 3, 3, 10, 0))
    e["martes"] = file_tramite(services, asunto="martes")
    return e


def _libro(respuesta) -> list[tuple]:
    assert respuesta.status_code == 200, respuesta.text
    assert respuesta.headers["content-type"].startswith("application/vnd.openxmlformats")
    hoja = openpyxl.load_workbook(io.BytesIO(respuesta.content)).active
    return [tuple(c.value for c in fila) for fila in hoja.iter_rows()]


def test_the_xlsx_has_the_rows_of_the_list_with_its_filters(app, registro):
    b = browser(app, "mesa")
    for consulta in ("", "q=martes", "desde=2026-03-03", "estado=Derivado", "hasta=2026-03-02&orden=antiguos"):
        en_lista = list(filas(b, "/tramites" + (f"?{consulta}" if consulta else "")))
        libro = _libro(b.client.simulate_get("/tramites/exportar", query_string=f"{consulta}&formato=xlsx",
                                             cookies=b.cookies))
        assert libro[0] == exportar.ENCABEZADOS
        assert [fila[0] for fila in libro[1:]] == en_lista, consulta  # same rows, same order
    todos = {fila[0]: fila for fila in _libro(b.client.simulate_get("/tramites/exportar", query_string="formato=xlsx",
                                                                    cookies=b.cookies))[1:]}
    dos = todos[registro["dos"].numero]
    assert dos[7] == "Derivado" and dos[8] == "Gerencia de Desarrollo Urbano y Rural" and dos[9] == "en plazo"
    assert isinstance(dos[1], datetime) and dos[1].date() == date(2026, 3, 2)  # a date cell, not text
    assert dos[10].date() == date(2026, 3, 9)  # derived on Monday with 5 business days
    uno = todos[registro["uno"].numero]  # waiting for its recepción: in mesa de partes
    assert uno[6] == "uno" and uno[7] == "Registrado" and uno[8].startswith("Mesa de Partes")


def test_the_csv_has_the_same_rows_and_a_formula_stays_text(app, registro):
    b = browser(app, "mesa")
    libro = _libro(b.client.simulate_get("/tramites/exportar", query_string="formato=xlsx", cookies=b.cookies))
    respuesta = b.client.simulate_get("/tramites/exportar", query_string="formato=csv", cookies=b.cookies)
    assert respuesta.status_code == 200 and respuesta.headers["content-type"].startswith("text/csv")
    filas_csv = list(csv.reader(io.StringIO(respuesta.text)))
    assert tuple(filas_csv[0]) == exportar.ENCABEZADOS
    assert [f[0] for f in filas_csv[1:]] == [f[0] for f in libro[1:]]
    formula = registro['=HYPERLINK("x")'].numero
    assert {f[0]: f[6] for f in filas_csv[1:]}[formula] == "'=HYPERLINK(\"x\")"
    hoja = openpyxl.load_workbook(io.BytesIO(b.client.simulate_get(
        "/tramites/exportar", query_string="formato=xlsx", cookies=b.cookies).content)).active
    celda = next(fila[6] for fila in hoja.iter_rows(min_row=2) if fila[0].value == formula)
    assert celda.data_type == "s" and celda.value == '=HYPERLINK("x")'


def test_an_office_exports_what_waits_in_it_and_the_page_links_the_export(app, registro):
    b = browser(app, "gdur")
    libro = _libro(b.client.simulate_get("/tramites/exportar", query_string="formato=xlsx", cookies=b.cookies))
    assert [fila[0] for fila in libro[1:]] == [registro["dos"].numero]
    page = b.get("/tramites?q=dos").text
    assert re.search(r'href="/tramites/exportar\?q=dos&amp;formato=xlsx"', page)


def test_too_many_rows_or_a_bad_date_are_refused_with_what_to_do(app, registro, monkeypatch):
    b = browser(app, "mesa")
    monkeypatch.setattr(exportar, "MAX_FILAS", 3)
    respuesta = b.client.simulate_get("/tramites/exportar", query_string="formato=xlsx", cookies=b.cookies)
    assert respuesta.status_code == 422 and "acote las fechas" in respuesta.text and "5 trámites" in respuesta.text
    respuesta = b.client.simulate_get("/tramites/exportar", query_string="desde=ayer&formato=csv", cookies=b.cookies)
    assert respuesta.status_code == 422 and "fecha válida" in respuesta.text
    assert b.client.simulate_get("/tramites/exportar", query_string="formato=csv").status_code in (302, 303, 401)
