"""Process diagrams in a real browser: bpmn-js draws the seguimiento with the path taken, and the modeler
saves a change as a new version (Debian's Chromium through Playwright, as tests/test_browser.py)."""
from __future__ import annotations

import re

import pytest
from helpers import file_tramite, make_user, step
from test_browser import actor, expect, site  # noqa: F401 - the browser fixtures of the staff tests

from mpv.models import Evento, ProcessDefinition

pytestmark = pytest.mark.browser


def test_seguimiento_diagram_marks_the_current_task(site):
    exp = file_tramite(site.services)
    step(site.services, exp, actor("mesa"), accion="conforme")
    page = site.page("mesa")
    page.goto(f"/expedientes/{exp.numero}/seguimiento")
    expect(page.locator("[data-bpmn][data-listo=true]")).to_have_count(1)
    expect(page.locator('.djs-element.mpv-actual[data-element-id="derivacion"]')).to_have_count(1)
    expect(page.locator('.djs-element.mpv-completada[data-element-id="recepcion"]')).to_have_count(1)
    expect(page.locator(".djs-element.mpv-actual")).to_have_count(1)


def test_modeler_saves_a_renamed_task_as_a_new_version(site):
    make_user("analista", "analista")
    first = ProcessDefinition.get(ProcessDefinition.activa == True).id  # noqa: E712
    page = site.page("analista")
    page.get_by_role("navigation", name="Menú principal").get_by_role("link", name="Procesos").click()
    page.get_by_role("link", name=re.compile(r"^[0-9a-f]{12}$")).click()
    page.get_by_role("link", name="Editar el diagrama").click()
    expect(page.locator("[data-bpmn][data-listo=true]")).to_have_count(1)
    rename = """([id, name]) => {
        const modeler = window.mpvDiagrama;
        modeler.get("modeling").updateLabel(modeler.get("elementRegistry").get(id), name);
    }"""
    page.evaluate(rename, ["lane_mesa", "Tesorería"])  # a lane no role works: refused, element marked
    page.get_by_role("button", name="Guardar como nueva versión").click()
    expect(page.locator("#resultado-guardar")).to_contain_text("lane_mesa")
    expect(page.locator('.djs-element.mpv-problema[data-element-id="lane_mesa"]')).to_have_count(1)
    assert ProcessDefinition.select().count() == 1

    page.evaluate(rename, ["lane_mesa", "Mesa de Partes"])
    page.evaluate(rename, ["recepcion", "Recepción y registro"])
    page.get_by_role("button", name="Guardar como nueva versión").click()
    page.get_by_role("link", name=re.compile("guardada y activa")).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("versión")
    new = ProcessDefinition.get(ProcessDefinition.activa == True)  # noqa: E712
    assert new.id != first and new.autor == "analista" and "Recepción y registro" in new.archivos
    assert Evento.select().where(Evento.tipo == "definicion").count() == 1
    expect(page.locator('[data-element-id="recepcion"]').first).to_be_visible()


def test_the_modeler_speaks_spanish(site):
    """Issue 16, item 5: the palette, the context pad and the popup menu of bpmn-js come in Spanish (npm's
    bpmn-js-i18n through bpmn-js's translate service), none of the English they ship with."""
    make_user("analista", "analista")
    version = ProcessDefinition.get(ProcessDefinition.activa == True).id  # noqa: E712
    page = site.page("analista")
    page.goto(f"/definiciones/{version}/editar")
    expect(page.locator("[data-bpmn][data-listo=true]")).to_have_count(1)
    palette = page.locator(".djs-palette")
    for nombre in ("Activar la herramienta de mano", "Crear evento inicial", "Crear tarea", "Crear compuerta"):
        expect(palette.get_by_role("button", name=nombre, exact=True)).to_have_count(1)
    for english in ("Activate hand tool", "Create start event", "Create task", "Create gateway"):
        expect(palette.get_by_role("button", name=english, exact=True)).to_have_count(0)
    page.locator('.djs-element[data-element-id="recepcion"]').first.click()  # a task: its context pad
    pad = page.locator(".djs-context-pad")
    expect(pad.locator('[title="Cambiar elemento"], [aria-label="Cambiar elemento"]')).to_have_count(1)
    expect(pad.locator('[title="Change element"], [aria-label="Change element"]')).to_have_count(0)
