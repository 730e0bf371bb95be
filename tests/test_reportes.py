"""Reports (issue 16, item 4): per office, per person and per TUPA procedure, equal to the figures worked out by hand
here, on both databases; the .xlsx opens with openpyxl and has the same rows as the page; an office reads its own
office only."""
from __future__ import annotations

import csv
import io
from datetime import date

import openpyxl
import pytest
from helpers import derivar, file_tramite, lima, make_user, recibir, step
from test_listados import app, browser  # noqa: F401 - the list's app and a signed-in client

from mpv.engine import Actor
from mpv.models import Expediente, Oficina, Procedimiento, Usuario
from mpv.tramites import reportes

pytestmark = pytest.mark.fecha_fija  # the scenario's days are those of March 2026


def _actor(nombre, rol, oficina=None):
    return Actor.de_usuario(make_user(nombre, rol, oficina), ip="127.0.0.1")


@pytest.fixture
def escenario(services, clock):
    """Monday 2 March 9:30: four filings, three derived to GDUR (two people receive them), one to SGAT."""
    mesa, gdur, gdur2, rentas = (_actor("mesa", "mesa", "MP"), _actor("gdur", "oficina", "GDUR"),
                                 _actor("gdur2", "oficina", "GDUR"), _actor("rentas", "oficina", "SGAT"))
    _actor("auditor", "auditor")
    Usuario.update(jefe=True).where(Usuario.username == "rentas").execute()  # heads SGAT: reads its report
    e = [file_tramite(services, asunto=f"e{i}") for i in range(4)]
    for exp, oficina in zip(e, ("GDUR", "GDUR", "SGAT", "GDUR")):
        step(services, exp, mesa, accion="conforme")
        derivar(services, exp, mesa, oficina, plazo_dias=10)
    recibir(services, e[0], gdur)
    recibir(services, e[1], gdur2)
    recibir(services, e[2], rentas)
    recibir(services, e[3], gdur)
    clock.set(lima(2026, 3, 3, 11, 30))  # 1 day 2 hours after «Recibir»
    step(services, e[0], gdur, accion="atender", respuesta="Listo")
    clock.set(lima(2026, 3, 4, 9, 30))  # 2 days after
    step(services, e[2], rentas, accion="atender", respuesta="Listo")
    step(services, e[3], gdur, accion="atender", respuesta="Listo")
    licencia = Procedimiento.create(codigo="LF-01", nombre="Licencia de funcionamiento", calificacion="negativo",
                                    plazo_dias=10, oficina=Oficina.get(Oficina.codigo == "GDUR"))
    Expediente.update(procedimiento=licencia).where(Expediente.id.in_([e[0].id, e[1].id])).execute()
    return e


def test_the_figures_are_those_worked_out_by_hand(services, escenario):
    r = reportes.reporte(services, _sistema(), reportes.Periodo(date(2026, 3, 1), date(2026, 3, 4)))
    oficinas = {f.codigo: f for f in r.oficinas}
    uno, dos = 1 + 2 / 24, 2.0  # days from «Recibir» to the answer
    gdur = oficinas["GDUR"]
    assert (gdur.recibidos, gdur.atendidos, gdur.pendientes, gdur.vencidos) == (3, 2, 1, 0)
    assert gdur.tiempos == reportes.Tiempos(round((uno + dos) / 2, 2), round(uno + 0.9 * (dos - uno), 2))
    sgat = oficinas["SGAT"]
    assert (sgat.recibidos, sgat.atendidos, sgat.pendientes, sgat.tiempos) == (1, 1, 0, reportes.Tiempos(2.0, 2.0))
    assert oficinas["GDS"].recibidos == 0 and oficinas["GDS"].tiempos == reportes.Tiempos(None, None)
    personas = {f.nombre: f for f in r.personas}
    assert {n: (p.recibidos, p.atendidos) for n, p in personas.items()} == {
        "gdur": (2, 2), "gdur2": (1, 0), "rentas": (1, 1)}
    assert personas["gdur2"].tiempos == reportes.Tiempos(None, None)
    assert [(p.codigo, p.presentados, p.concluidos, p.en_tramite) for p in r.procedimientos] == [("LF-01", 2, 1, 1)]
    # A period that ends before the answers counts the receptions only.
    antes = reportes.reporte(services, _sistema(), reportes.Periodo(date(2026, 3, 2), date(2026, 3, 2)))
    assert {f.codigo: (f.recibidos, f.atendidos) for f in antes.oficinas}["GDUR"] == (3, 0)


def _sistema():
    return Actor(rol="mesa", nombre="Mesa", oficina="MP")


def test_the_page_the_xlsx_and_the_csv_show_the_same_rows(app, escenario):
    b = browser(app, "mesa")
    consulta = "desde=2026-03-01&hasta=2026-03-04"
    page = b.client.simulate_get("/reportes", query_string=consulta, cookies=b.cookies)
    assert page.status_code == 200 and "Gerencia de Desarrollo Urbano y Rural" in page.text
    respuesta = b.client.simulate_get("/reportes/exportar", query_string=consulta + "&formato=xlsx", cookies=b.cookies)
    assert respuesta.status_code == 200
    libro = openpyxl.load_workbook(io.BytesIO(respuesta.content))
    assert libro.sheetnames == ["Por oficina", "Por persona", "Por procedimiento"]
    oficinas = [tuple(c.value for c in fila) for fila in libro["Por oficina"].iter_rows()]
    assert oficinas[0] == reportes.ENCABEZADOS["oficinas"]
    gdur = next(f for f in oficinas if f[0] == "Gerencia de Desarrollo Urbano y Rural")
    assert gdur[1:5] == (3, 2, 1, 0) and gdur[5] == 1.54
    for fila in oficinas[1:]:
        assert f"<th scope=\"row\">{fila[0]}</th>" in page.text
    texto = b.client.simulate_get("/reportes/exportar", query_string=consulta + "&formato=csv&tabla=personas",
                                  cookies=b.cookies).text
    filas = list(csv.reader(io.StringIO(texto)))
    assert tuple(filas[0]) == reportes.ENCABEZADOS["personas"]
    assert [f[:4] for f in filas[1:]] == [[str(v) for v in f[:4]]
                                          for f in libro["Por persona"].iter_rows(min_row=2, values_only=True)]


def test_an_office_reads_its_own_office_and_a_bad_period_is_explained(app, escenario):
    b = browser(app, "rentas")
    page = b.client.simulate_get("/reportes", query_string="desde=2026-03-01&hasta=2026-03-04", cookies=b.cookies)
    assert page.status_code == 200
    assert "Subgerencia de Administración Tributaria" in page.text and "Desarrollo Urbano" not in page.text
    assert "Por procedimiento" not in page.text
    mal = b.client.simulate_get("/reportes", query_string="desde=2026-03-05&hasta=2026-03-01", cookies=b.cookies)
    assert mal.status_code == 422 and "inviértalas" in mal.text
    # Only an office's head reads its report: another person of an office is told so, and has no such menu entry.
    otro = browser(app, "gdur2")
    refused = otro.client.simulate_get("/reportes", cookies=otro.cookies)
    assert refused.status_code == 403 and "es para su jefe" in refused.text
    assert 'href="/reportes"' not in otro.get("/inicio").text and 'href="/reportes"' in b.get("/inicio").text
