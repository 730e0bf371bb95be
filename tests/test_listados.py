"""Trámites recibidos and the home page's figures: each figure opens exactly the rows it counts, with one
definition of «vencido» / «por vencer»; the list shows and filters the legal filing date (Ley 31465)."""
from __future__ import annotations

import csv
import io
import re
from html import unescape

import pytest
from helpers import derivar, file_tramite, lima, make_user, recibir, step
from webclient import Browser

from mpv.tramites import listados
from mpv.engine import Actor
from mpv.models import Expediente
from mpv.web.app import create_app

FIGURA = re.compile(r'<a class="cifra[^"]*" href="([^"]+)"><strong>(\d+)</strong>([^<]+)</a>')
FILA = re.compile(r'<strong>(\d{4}-\d{6})</strong>.*?class="plazo ([a-z-]+)"', re.S)


pytestmark = pytest.mark.fecha_fija  # the registro's plazos are written out on the days of March 2026


@pytest.fixture
def app(services):
    return create_app(services)


@pytest.fixture
def actores(services):
    users = {name: make_user(name, rol, office) for name, rol, office in (
        ("mesa", "mesa", "MP"), ("gdur", "oficina", "GDUR"), ("rentas", "oficina", "SGAT"),
        ("social", "oficina", "GDS"), ("auditor", "auditor", None))}
    return {name: Actor.de_usuario(user, ip="127.0.0.1") for name, user in users.items()}


def browser(app, username: str) -> Browser:
    b = Browser(app)
    b.login(username)
    return b


def figuras(page: str) -> dict[str, tuple[int, str]]:
    """The home page's figures: {label: (count, link)}."""
    return {label.strip(): (int(count), unescape(href)) for href, count, label in FIGURA.findall(page)}


def filas(b: Browser, href: str) -> dict[str, str]:
    """The rows a link of /tramites lists, every page of them: {número: plazo badge class}."""
    found: dict[str, str] = {}
    while href:
        page = b.client.simulate_get(href.split("?")[0], query_string=href.partition("?")[2], cookies=b.cookies)
        assert page.status_code == 200, href
        found.update(FILA.findall(page.text))
        nxt = re.search(r'href="(\?[^"]*despues=[^"]+)"', page.text)
        href = "/tramites" + unescape(nxt.group(1)) if nxt else ""
    return found


@pytest.fixture
def registro(services, actores, clock):
    """Expedientes in every estado and plazo situation; the clock ends on Thursday 5 March 2026, 10:00."""
    mesa = actores["mesa"]
    e = {name: file_tramite(services, asunto=name) for name in (
        "registrado", "recibido", "observado", "derivado_vencio", "derivado_vence_ayer", "atencion_por_vencer",
        "atencion_en_plazo", "paralelo", "atendido")}
    step(services, e["recibido"], mesa, accion="conforme")
    step(services, e["observado"], mesa, accion="observar", observacion="Falta la firma")
    for name, oficinas, dias in (("derivado_vencio", ("GDUR",), 1), ("derivado_vence_ayer", ("GDUR",), 2),
                                 ("atencion_por_vencer", ("SGAT",), 4), ("atencion_en_plazo", ("SGAT",), 10),
                                 ("paralelo", ("GDUR", "GDS"), 10), ("atendido", ("GDUR",), 5)):
        step(services, e[name], mesa, accion="conforme")
        derivar(services, e[name], mesa, *oficinas, plazo_dias=dias)
    for name in ("atencion_por_vencer", "atencion_en_plazo"):
        recibir(services, e[name], actores["rentas"])
    recibir(services, e["atendido"], actores["gdur"])
    step(services, e["atendido"], actores["gdur"], accion="atender", respuesta="Listo")
    clock.set(lima(2026, 3, 4, 0, 0, 30))  # «derivado_vencio»'s plazo ended on Tuesday: its timer fires
    services.engine.fire_due_timers()
    clock.set(lima(2026, 3, 5, 10, 0))  # «derivado_vence_ayer» ended on Wednesday: no timer has run since
    e["hoy"] = file_tramite(services, asunto="hoy")
    return {name: Expediente.get_by_id(exp.id) for name, exp in e.items()}


def test_each_home_figure_opens_exactly_the_rows_it_counts(app, registro):
    n = {name: exp.numero for name, exp in registro.items()}
    b = browser(app, "mesa")
    shown = figuras(b.get("/inicio").text)
    assert set(shown) == {"presentados hoy", "pendientes de recepción", "pendientes de derivación",
                          "en las oficinas", "observados", "vencidos", "por vencer",
                          "plazos de procedimiento por vencer"}  # none here: no filing names a TUPA procedure
    rows = {label: filas(b, href) for label, (count, href) in shown.items()}
    for label, (count, href) in shown.items():
        assert count == len(rows[label]), (label, href, sorted(rows[label]))
    assert set(rows["presentados hoy"]) == {n["hoy"]}
    assert set(rows["pendientes de recepción"]) == {n["registrado"], n["hoy"]}
    assert set(rows["pendientes de derivación"]) == {n["recibido"]}
    assert set(rows["observados"]) == {n["observado"]}
    # Derived but not yet received (estado Derivado) is in an office as much as what is in atención.
    assert registro["derivado_vencio"].estado == registro["derivado_vence_ayer"].estado == "Derivado"
    assert set(rows["en las oficinas"]) == {n[k] for k in ("derivado_vencio", "derivado_vence_ayer",
                                                           "atencion_por_vencer", "atencion_en_plazo", "paralelo")}
    # Vencido: the plazo ran out, whether its timer already fired (vence cleared) or not yet; never one attended.
    # The observed filing's 2 days to correct it ended on Wednesday too; and what mesa de partes did not receive
    # or derive the day it was filed (Monday) is vencido since Tuesday 00:00 (art. 143).
    assert registro["derivado_vencio"].vencido and registro["derivado_vencio"].vence is None
    assert rows["vencidos"] == {n[k]: "vencido" for k in ("derivado_vencio", "derivado_vence_ayer", "observado",
                                                          "registrado", "recibido")}
    # Por vencer: the plazo's last day is today or one of the next DIAS_POR_VENCER business days, on the
    # figure, in the list's filter and on every row's badge alike.
    assert listados.DIAS_POR_VENCER == 2
    # Today's filing is to be received and derived by tonight.
    assert rows["por vencer"] == {n["atencion_por_vencer"]: "por-vencer", n["hoy"]: "por-vencer"}
    everything = filas(b, "/tramites")
    assert everything[n["atencion_en_plazo"]] == everything[n["paralelo"]] == "en-plazo"
    assert everything[n["atendido"]] == "cerrado" and everything[n["registrado"]] == "vencido"
    assert filas(b, "/tramites?plazo=en_plazo") == {n["atencion_en_plazo"]: "en-plazo", n["paralelo"]: "en-plazo"}


def test_an_office_figures_open_what_waits_in_that_office(app, registro):
    n = {name: exp.numero for name, exp in registro.items()}
    for user, vencidos, por_vencer in (("gdur", {"derivado_vencio", "derivado_vence_ayer"}, set()),
                                       ("rentas", set(), {"atencion_por_vencer"}), ("social", set(), set())):
        b = browser(app, user)
        shown = figuras(b.get("/inicio").text)
        for label, esperados in (("vencidos", vencidos), ("por vencer", por_vencer)):
            count, href = shown[label]
            assert href.startswith("/tramites?"), href
            assert count == len(esperados) and set(filas(b, href)) == {n[k] for k in esperados}, (user, label)
    # A parallel derivation waits in both offices: each one's list has it, not only the first office's.
    assert n["paralelo"] in filas(browser(app, "social"), "/tramites")
    assert n["paralelo"] in filas(browser(app, "gdur"), "/tramites")


def test_a_saturday_filing_shows_both_dates_and_is_found_by_its_filing_date(app, services, actores, clock):
    clock.set(lima(2026, 3, 6, 17, 40))  # Friday
    viernes = file_tramite(services, asunto="Enviado el viernes")
    clock.set(lima(2026, 3, 7, 10, 15))  # Saturday: filed on Monday 9 March (Ley 31465)
    sabado = file_tramite(services, asunto="Enviado el sábado")
    assert sabado.fecha_presentacion.isoformat() == "2026-03-09"
    clock.set(lima(2026, 3, 9, 8, 0))
    b = browser(app, "mesa")
    page = b.get("/tramites").text
    fila = re.search(rf"<strong>{sabado.numero}</strong>.*?</tr>", page, re.S).group(0)
    assert "Presentado: lun 09/03/2026" in fila and "Enviado: sáb 07/03/2026 10:15" in fila
    assert "Presentado desde" in page and "fecha de presentación" in page

    def found(path="/tramites", **params):
        return set(re.findall(r"<strong>(\d{4}-\d{6})</strong>", b.get(path, **params).text))

    assert found(desde="2026-03-09", hasta="2026-03-09") == {sabado.numero}
    assert found(desde="2026-03-07", hasta="2026-03-08") == set()
    assert found(hasta="2026-03-06") == {viernes.numero}
    assert found(desde="2026-03-07") == {sabado.numero}
    shown = figuras(b.get("/inicio").text)
    assert shown["presentados hoy"] == (1, "/tramites?desde=2026-03-09&hasta=2026-03-09")

    auditor = browser(app, "auditor")
    lista = auditor.get("/auditoria/expedientes", desde="2026-03-09", hasta="2026-03-09").text
    assert set(re.findall(r'href="/auditoria/expedientes/(\d{4}-\d{6})"', lista)) == {sabado.numero}
    assert "lun 09/03/2026" in lista and "Enviado: sáb 07/03/2026 10:15" in lista
    assert not re.findall(r'href="/auditoria/expedientes/(\d{4}-\d{6})"',
                          auditor.get("/auditoria/expedientes", desde="2026-03-07", hasta="2026-03-08").text)
    exported = auditor.get("/auditoria/expedientes/csv", desde="2026-03-09", hasta="2026-03-09")
    rows = list(csv.reader(io.StringIO(exported.content.decode("utf-8-sig"))))
    assert [(r[0], r[1], r[2]) for r in rows[1:]] == [(sabado.numero, "07/03/2026 10:15:00", "09/03/2026")]
