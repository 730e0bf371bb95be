"""In Chromium, Ver datos prints its content only (issue 14, item 6): no navigation, buttons or actions, the whole
width of the sheet; the «Imprimir» button is there on screen."""
from __future__ import annotations

import pytest
from helpers import file_tramite, step
from test_browser import actor, site  # noqa: F401 - ``site`` is the fixture these tests use

pytestmark = pytest.mark.browser


def test_in_chromium_ver_datos_prints_its_content_only(site):
    exp = file_tramite(site.services)
    step(site.services, exp, actor("mesa"), accion="conforme")
    page = site.page("mesa")
    page.goto(f"/expedientes/{exp.numero}")
    imprimir = page.get_by_role("button", name="Imprimir")
    assert imprimir.is_visible()  # the script shows it; without script the browser's own print remains
    assert page.locator("header.barra").is_visible()
    page.emulate_media(media="print")
    for hidden in ("header.barra", "footer", "text=Hoja de ruta (PDF)", "text=Acciones disponibles"):
        assert not page.locator(hidden).first.is_visible(), hidden
    assert not imprimir.is_visible()
    assert page.get_by_role("heading", name=f"Expediente {exp.numero}").is_visible()
    assert page.locator(".solo-impresion").first.is_visible()
    main, body = (page.locator(s).bounding_box()["width"] for s in ("main", "body"))
    assert main >= body - 2  # the whole width of the sheet
