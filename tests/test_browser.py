"""The staff screens in a real browser: Debian's headless Chromium, driven by Playwright, against the real
app served by waitress (one server and one SQLite file per test, so ``pytest -n 2`` runs them side by side).

Locators are the accessible names the staff manual uses; a missing /usr/bin/chromium skips with the reason.
"""
from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import quote_plus

import pytest
from helpers import build_services, derivar, file_tramite, make_user, step
from screenshots import PDF_PAINTED_JS, STEP_MS, LiveServer, row_of  # noqa: F401

from mpv.config import Settings
from mpv.demo import sample_pdf
from mpv.engine import Actor
from mpv.models import Expediente, Usuario
from mpv.web.app import VENDOR, create_app
from mpv.web.pages import NOTICE_COOKIE

pytestmark = pytest.mark.browser

playwright_api = pytest.importorskip("playwright.sync_api", reason="Playwright para Python no está instalado")
expect = playwright_api.expect
expect.set_options(timeout=STEP_MS)

GDUR = "Gerencia de Desarrollo Urbano y Rural"


class Site:
    """The app served on its own port over a fresh SQLite file, and the browser contexts a test opens."""

    def __init__(self, services, server, browser):
        self.services = services
        self.server = server
        self._browser = browser
        self._contexts = []
        self.server_errors: list[str] = []
        self.page_errors: list[str] = []

    def page(self, username: str | None = None, **options):
        """A page in a new browser context (its own cookies), signed in as ``username`` through the login form;
        ``options`` go to Playwright's ``new_context`` (``bypass_csp=True`` lets a test inject a script)."""
        context = self._browser.new_context(base_url=self.server.url, locale="es-PE", timezone_id="America/Lima",
                                            **options)
        context.set_default_timeout(STEP_MS)
        context.set_default_navigation_timeout(STEP_MS)
        self._contexts.append(context)
        page = context.new_page()
        page.on("response", lambda r: r.status >= 500 and self.server_errors.append(f"{r.status} {r.url}"))
        page.on("pageerror", lambda exc: self.page_errors.append(str(exc)))
        if username:
            page.goto("/login")
            page.get_by_label("Usuario").fill(username)
            page.get_by_label("Contraseña").fill("contraseña-de-prueba-1")
            page.get_by_role("button", name="Ingresar").click()
            expect(page).to_have_url(re.compile(r"/inicio$"))
        return page

    def close(self):
        for context in self._contexts:
            context.close()


@pytest.fixture
def site(chromium, tmp_path, clock):
    """A fresh SQLite database with staff users, served on a free port; stopped after the test."""
    settings = Settings(data_dir=tmp_path / "data", database_url=f"sqlite:///{tmp_path / 'mpv.sqlite3'}")
    services = build_services(settings, clock)
    for name, rol, oficina in (("mesa", "mesa", "MP"), ("mesa2", "mesa", "MP"), ("gdur", "oficina", "GDUR")):
        make_user(name, rol, oficina)
    server = LiveServer(create_app(services)).start()
    site = Site(services, server, chromium)
    try:
        yield site
    finally:
        site.close()
        server.stop()
        services.close()
    assert not site.server_errors, site.server_errors
    assert not site.page_errors, site.page_errors


def actor(username: str) -> Actor:
    return Actor.de_usuario(Usuario.get(Usuario.username == username), ip="127.0.0.1")


def derived_to_gdur(services, **overrides):
    """A filing that mesa de partes received and derived to GDUR (the office tray's «Por recibir»)."""
    expediente = file_tramite(services, **overrides)
    step(services, expediente, actor("mesa"), accion="conforme")
    derivar(services, expediente, actor("mesa"), "GDUR", proveido="Evaluar y responder")
    return expediente


def test_mesa_finds_a_filing_opens_its_three_actions_and_derives_it(site):
    other = file_tramite(site.services, asunto="Constancia de no adeudo")
    exp = file_tramite(site.services, nombres="José", apellidos="Ramírez Tello", numero_documento_identidad="09876543",
                       asunto="Licencia de funcionamiento para bodega")
    page = site.page("mesa")
    page.get_by_role("navigation", name="Menú principal").get_by_role("link", name="Trámites recibidos").click()
    expect(page.get_by_role("heading", name="Trámites recibidos", level=1)).to_be_visible()
    expect(row_of(page, other.numero)).to_have_count(1)

    search = page.get_by_role("search")
    for query in ("ramirez tello", exp.numero):  # by sender (accents and case do not matter), then by number
        search.get_by_role("searchbox", name="Buscar").fill(query)
        search.get_by_role("button", name="Buscar").click()
        expect(page).to_have_url(re.compile(rf"[?&]q={re.escape(quote_plus(query))}(&|$)"))
        expect(row_of(page, exp.numero)).to_contain_text("José Ramírez Tello")
        expect(row_of(page, other.numero)).to_have_count(0)
    listing = page.url

    row_of(page, exp.numero).get_by_role("link", name=f"Ver datos del expediente {exp.numero}",
                                         exact=True).click()
    expect(page).to_have_url(re.compile(rf"/expedientes/{exp.numero}$"))
    for section in ("Información del trámite", "Datos del remitente", "Archivos adjuntos"):
        expect(page.get_by_role("heading", name=section, level=2)).to_be_visible()
    expect(page.get_by_role("region", name="Información del trámite")).to_contain_text(
        "Licencia de funcionamiento para bodega")
    expect(page.get_by_role("region", name="Datos del remitente")).to_contain_text("DNI 09876543")
    expect(page.get_by_role("region", name="Archivos adjuntos")).to_contain_text("solicitud.pdf")

    page.goto(listing)
    row_of(page, exp.numero).get_by_role("link", name=f"Ver seguimiento del expediente {exp.numero}",
                                         exact=True).click()
    expect(page.get_by_role("heading", name=f"Seguimiento del expediente {exp.numero}")).to_be_visible()
    movements = page.get_by_role("list").filter(has_text="Trámite presentado")
    expect(movements.get_by_role("listitem")).to_have_count(1)

    page.goto(listing)
    row_of(page, exp.numero).get_by_role("link", name=f"Derivar trámite {exp.numero}", exact=True).click()
    expect(page.get_by_role("heading", name="Derivar trámite", level=1)).to_be_visible()
    page.get_by_label("Oficina destino").select_option(label=GDUR)
    page.get_by_label("Proveído").fill("Evaluar la licencia y responder al administrado.")
    page.get_by_label("Prioridad").select_option(label="Urgente")
    page.get_by_label("Plazo (días hábiles)").fill("5")
    page.get_by_role("button", name="Derivar", exact=True).click()

    expect(page.get_by_text("¿Confirma la derivación")).to_contain_text(f"{exp.numero} a {GDUR}")
    page.get_by_role("button", name="Confirmar").click()
    expect(page).to_have_url(re.compile(rf"/expedientes/{exp.numero}/derivado$"))
    expect(page.get_by_role("status")).to_contain_text(f"El expediente {exp.numero} fue derivado a {GDUR}")
    expect(page.get_by_role("main")).to_contain_text("Evaluar la licencia y responder al administrado.")

    page.get_by_role("link", name="Ver seguimiento").click()
    timeline = page.get_by_role("list").filter(has_text="Trámite presentado")
    expect(timeline).to_contain_text("Recepción: Conforme")
    expect(timeline).to_contain_text("Derivación")
    expect(page.get_by_role("main")).to_contain_text(f"Recepción en la oficina — {GDUR}")


def test_office_receives_and_attends_with_a_pdf(site, tmp_path):
    exp = derived_to_gdur(site.services, asunto="Certificado de parámetros urbanísticos")
    respuesta = tmp_path / "resolución 015.pdf"
    respuesta.write_bytes(sample_pdf("Resolución de gerencia N° 015"))

    page = site.page("gdur")
    page.get_by_role("navigation", name="Menú principal").get_by_role("link", name="Bandeja de la oficina").click()
    expect(page.get_by_role("heading", name="Bandeja de la oficina", level=1)).to_be_visible()
    expect(page.get_by_role("heading", name="Por recibir (1)")).to_be_visible()
    row_of(page, exp.numero).get_by_role("button", name="Recibir").click()

    expect(page.get_by_role("status")).to_contain_text(exp.numero)
    expect(page.get_by_role("heading", name="Por recibir (0)")).to_be_visible()
    expect(page.get_by_role("heading", name="En atención (1)")).to_be_visible()
    row_of(page, exp.numero).get_by_role("link", name=f"Atender el expediente {exp.numero}", exact=True).click()

    expect(page.get_by_role("heading", name="Atender", level=1)).to_be_visible()
    page.get_by_label("Respuesta", exact=True).fill("Se otorga el certificado solicitado.")
    page.get_by_label("Archivo de respuesta").set_input_files(respuesta)
    page.get_by_role("button", name="Registrar atención").click()

    expect(page).to_have_url(re.compile(r"/bandeja$"))
    expect(page.get_by_role("status")).to_contain_text(f"Expediente {exp.numero}: se registró «Atención")
    expect(row_of(page, exp.numero)).to_have_count(0)

    for viewer in (page, site.page("mesa")):  # the office and mesa de partes see the same final state
        viewer.goto(f"/expedientes/{exp.numero}/seguimiento")
        expect(viewer.get_by_role("definition").filter(has_text=re.compile(r"^Atendido$"))).to_have_count(1)
        atencion = viewer.get_by_role("listitem").filter(has_text="Atención: Atender (responder)")
        expect(atencion).to_contain_text("Se otorga el certificado solicitado.")
        viewer.goto(f"/expedientes/{exp.numero}")
        expect(viewer.get_by_role("region", name="Archivos adjuntos")).to_contain_text("resolución 015.pdf")


def test_a_notice_shows_once_and_leaves_no_banner_behind(site):
    """The notice's cookie really expires: the pages after it show no (empty) banner."""
    exp = derived_to_gdur(site.services)
    page = site.page("gdur")
    page.goto("/bandeja")
    row_of(page, exp.numero).get_by_role("button", name=f"Recibir el expediente {exp.numero}").click()
    expect(page.get_by_role("status")).to_contain_text(exp.numero)
    for path in ("/inicio", "/bandeja", f"/expedientes/{exp.numero}"):
        page.goto(path)
        expect(page.get_by_role("heading", level=1)).to_be_visible()
        expect(page.get_by_role("status")).to_have_count(0)
    assert NOTICE_COOKIE not in {cookie["name"] for cookie in page.context.cookies()}


def test_second_person_completing_the_same_recepcion_sees_a_conflict(site):
    exp = file_tramite(site.services)
    first, second = site.page("mesa"), site.page("mesa2")
    for page in (first, second):
        page.goto(f"/expedientes/{exp.numero}")
        page.get_by_role("link", name="Recepción", exact=True).click()
        expect(page.get_by_role("radio", name="Conforme")).to_be_checked()

    first.get_by_role("button", name="Registrar recepción").click()
    expect(first).to_have_url(re.compile(rf"/expedientes/{exp.numero}$"))
    expect(first.get_by_role("status")).to_contain_text("se registró «Recepción: Conforme»")

    second.get_by_role("radio", name="Observar").check()
    second.get_by_label("Observación").fill("Falta la firma del solicitante.")
    with second.expect_response(lambda r: r.request.method == "POST") as posted:
        second.get_by_role("button", name="Registrar recepción").click()
    assert posted.value.status == 409
    expect(second.get_by_role("alert")).to_contain_text("ya fue realizada por otra persona")
    expect(second.get_by_role("main")).to_contain_text(f"Estado actual del expediente {exp.numero}: Recibido")
    second.get_by_role("link", name="Ver seguimiento").click()
    expect(second.get_by_role("listitem").filter(has_text="Recepción: Conforme")).to_have_count(1)
    expect(second.get_by_role("main")).not_to_contain_text("Falta la firma del solicitante.")


@pytest.mark.skipif(not VENDOR["pdfjs"].is_dir(), reason="pdf.js no está instalado (npm ci en la raíz del proyecto)")
def test_pdf_preview_draws_the_pages_on_canvases(site):
    exp = file_tramite(site.services, pdf=sample_pdf("Solicitud de licencia", 2))
    page = site.page("mesa")
    page.goto(f"/expedientes/{exp.numero}")
    visor = page.locator(".visor").first
    expect(visor.locator("canvas")).to_have_count(2)
    for n in (1, 2):
        expect(visor.get_by_role("img", name=f"Página {n} de 2")).to_be_visible()
    expect(visor).not_to_contain_text("No se pudo mostrar la vista previa")
    page.wait_for_function(PDF_PAINTED_JS, timeout=STEP_MS)


def test_citizen_files_a_tramite_and_gets_the_constancia(site, tmp_path):
    principal = tmp_path / "solicitud firmada.pdf"
    principal.write_bytes(sample_pdf("Solicitud de licencia", 2))
    anexo = tmp_path / "copia dni.pdf"
    anexo.write_bytes(sample_pdf("Copia de DNI"))
    page = site.page()
    page.goto("/")
    page.get_by_role("navigation", name="Menú del ciudadano").get_by_role("link", name="Presentar un trámite").click()
    expect(page.get_by_role("heading", name="Presentar un trámite", level=1)).to_be_visible()
    expect(page.get_by_label("Razón social")).to_be_hidden()  # persona natural by default
    page.get_by_label("Número de documento de identidad").fill("45871236")
    page.get_by_label(re.compile("^Nombres")).fill("Ana")
    page.get_by_label(re.compile("^Apellidos")).fill("Rojas Villanueva")
    page.get_by_label(re.compile("^Correo electrónico")).fill("ana@example.com")
    page.get_by_label("Dirección").fill("Jr. Loreto 215, Santa Clotilde")
    page.get_by_label(re.compile("^Tipo de documento( \\*)?$")).select_option(label="Solicitud")
    page.get_by_label("Asunto").fill("Licencia de funcionamiento para bodega")
    page.get_by_label("Folios (número de páginas)").fill("3")
    page.get_by_label("Documento principal (PDF)").set_input_files(str(principal))
    page.get_by_label("Anexos (PDF)").set_input_files(str(anexo))
    page.get_by_role("button", name="Presentar").click()
    expect(page.get_by_role("alert")).to_contain_text("Revise los datos marcados")  # the two declarations
    expect(page.get_by_text("Debe declarar que los datos y documentos son verdaderos.")).to_be_visible()
    page.get_by_label("Anexos (PDF)").set_input_files(str(anexo))
    page.get_by_label("Documento principal (PDF)").set_input_files(str(principal))
    page.get_by_label(re.compile("Declaro que los datos consignados")).check()
    page.get_by_label(re.compile("Acepto ser notificado")).check()
    page.get_by_role("button", name="Presentar").click()
    expect(page.get_by_role("heading", name="Constancia de presentación", level=1)).to_be_visible()
    expediente = Expediente.get()
    expect(page.locator("main")).to_contain_text(expediente.numero)
    expect(page.locator("main")).to_contain_text(expediente.codigo)
    expect(page.locator("main")).to_contain_text("solicitud firmada.pdf")
    expect(page.get_by_role("button", name="Imprimir")).to_be_visible()
    with page.expect_download() as download:
        page.get_by_role("link", name="Descargar constancia (PDF)").click()
    assert download.value.suggested_filename == f"constancia-{expediente.numero}.pdf"
    assert Path(download.value.path()).read_bytes().startswith(b"%PDF-")
    page.get_by_role("link", name="Ver el seguimiento").click()
    expect(page.get_by_role("heading", name=f"Seguimiento del expediente {expediente.numero}")).to_be_visible()
    expect(page.locator("main")).to_contain_text("Trámite presentado")
