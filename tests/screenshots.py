"""A PNG of each main screen, named after the staff manual's figures (``make screenshots``).

Usage: ``python tests/screenshots.py [output folder]`` (default ``docs/screenshots``). It builds a fresh demo
database in a temporary folder, serves the real app with waitress on a free 127.0.0.1 port and drives
Debian's headless Chromium through Playwright. The browser tests import :class:`LiveServer` and
:func:`launch_chromium` from here.
"""
from __future__ import annotations

import argparse
import re
import sys
import tempfile
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo


from helpers import LiveServer  # noqa: E402 - tests/ is on sys.path when run as a script

from mpv.config import Settings
from mpv.demo import seed
from mpv.models import Expediente, Oficina
from mpv.demo.volumen import sembrar
from mpv.services import Services
from mpv.web.app import create_app

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
STEP_MS = 5000  # the longest any single page action or wait may take
# True once pdf.js has painted every page of every preview: it appends each <canvas> before drawing on
# it, so a canvas counts only when it has dark (text) pixels.
PDF_PAINTED_JS = """() => {
    const canvases = [...document.querySelectorAll(".visor canvas")];
    const painted = (c) => {
        const {data} = c.getContext("2d").getImageData(0, 0, c.width, c.height);
        for (let i = 0; i < data.length; i += 4) if (data[i + 3] > 0 && data[i] < 128) return true;
        return false;
    };
    return canvases.length > 0 && !document.querySelector(".visor .cargando") && canvases.every(painted);
}"""
# bpmn-js sets data-listo on its box once the diagram is imported, fitted and its path marked.
DIAGRAM_DRAWN = ".diagrama[data-listo='true'] .djs-container > svg"
# True once Chart.js has drawn every chart of /analitica (it sizes each canvas when it draws).
CHARTS_DRAWN_JS = """() => {
    const canvases = [...document.querySelectorAll("canvas[data-grafico]")];
    return canvases.length > 0 && canvases.every((c) => window.Chart && window.Chart.getChart(c) && c.width > 0);
}"""
# In the modeler: a user task after «Oficinas destino», without its form, for the validation to point at.
ADD_TASK_JS = """(name) => {
    const modeler = window.mpvDiagrama;
    const registry = modeler.get("elementRegistry");
    const modeling = modeler.get("modeling");
    const before = registry.filter((e) => e.businessObject.name === "Oficinas destino")[0];
    const pool = registry.filter((e) => e.type === "bpmn:Participant")[0];
    const shape = modeler.get("elementFactory").createShape({type: "bpmn:UserTask"});
    const task = modeling.createShape(
        shape, {x: before.x + before.width + 110, y: before.y + before.height / 2}, pool);
    modeling.updateLabel(task, name);
    modeling.connect(before, task);
    return task.id;
}"""


class BrowserUnavailable(RuntimeError):
    """Chromium is not installed, or Playwright could not start it; the message says which."""


def launch_chromium(playwright):
    """Debian's Chromium, headless, with a fresh temporary profile (Playwright's default for ``launch``).

    :raise BrowserUnavailable: when /usr/bin/chromium is missing or does not start.
    """
    if not CHROMIUM.exists():
        raise BrowserUnavailable(f"No está instalado Chromium ({CHROMIUM}); en Debian: apt-get install chromium.")
    try:
        return playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS,
                                          timeout=30_000)
    except Exception as exc:  # noqa: BLE001 - any launch failure means the same thing to the caller
        raise BrowserUnavailable(f"Playwright no pudo iniciar {CHROMIUM}: {exc}") from exc


# ---------------------------------------------------------------------------------------------------------
# The script: a fresh demo database, the app on a free port, one PNG per screen of the staff manual.

DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
GDUR = "Gerencia de Desarrollo Urbano y Rural"
LIMA = ZoneInfo("America/Lima")
VOLUME = 1500  # expedientes seeded (mpv.demo.volumen) before the auditors' and analysts' screens


def demo_services(folder: Path):
    """Services over a new SQLite database in ``folder``, seeded with the demo; returns (services, passwords)."""
    services = Services.build(Settings(data_dir=folder / "data"))  # clock-ok: the demo, dated today as `make run`
    services.init_db()
    created = seed(services, tramites=8)
    return services, {username: password for username, _rol, password in created}


class Shooter:
    """Signed-in browser pages and the PNGs taken from them."""

    def __init__(self, browser, url: str, passwords: dict, out: Path):
        self._browser = browser
        self._url = url
        self._passwords = passwords
        self._out = out
        self._contexts = []
        self.written: list[Path] = []

    def page(self, username: str | None = None, viewport=DESKTOP):
        context = self._browser.new_context(base_url=self._url, viewport=viewport, locale="es-PE",
                                            timezone_id="America/Lima", device_scale_factor=1,
                                            is_mobile=viewport is PHONE, has_touch=viewport is PHONE)
        context.set_default_timeout(STEP_MS)
        self._contexts.append(context)
        page = context.new_page()
        if username:
            page.goto("/login")
            page.get_by_label("Usuario").fill(username)
            page.get_by_label("Contraseña").fill(self._passwords[username])
            page.get_by_role("button", name="Ingresar").click()
            page.wait_for_url("**/inicio")
        return page

    def shot(self, page, name: str, full_page: bool = False, max_height: int | None = None):
        """The viewport (or the whole page, at most ``max_height`` pixels of it) as ``name``."""
        path = self._out / name
        clip = None
        if full_page and max_height:
            size = page.evaluate("[document.documentElement.clientWidth, document.documentElement.scrollHeight]")
            clip = {"x": 0, "y": 0, "width": size[0], "height": min(size[1], max_height)}
        page.screenshot(path=path, full_page=full_page, clip=clip, animations="disabled")
        self._written(path)

    def section(self, page, locator, name: str, max_height: int | None = None, margin: int = 12):
        """One section of a page, with a small margin, at most ``max_height`` pixels tall."""
        locator.scroll_into_view_if_needed()
        box = locator.bounding_box()
        scroll_y = page.evaluate("window.scrollY")
        height = box["height"] + 2 * margin
        clip = {"x": max(box["x"] - margin, 0), "y": max(box["y"] + scroll_y - margin, 0),
                "width": box["width"] + 2 * margin, "height": min(height, max_height or height)}
        path = self._out / name
        page.screenshot(path=path, clip=clip, full_page=True, animations="disabled")
        self._written(path)

    def _written(self, path: Path):
        self.written.append(path)
        print(f"  {path}")

    def close(self):
        for context in self._contexts:
            context.close()


def row_of(page, numero: str):
    """The table row whose cell reads exactly ``numero`` (an expediente's number)."""
    return page.get_by_role("row").filter(has=page.get_by_role("cell", name=numero, exact=True))


def take_all(shooter: Shooter, numeros: dict):
    """Every screen, in the order of the staff manual; ``numeros`` names the demo expedientes to use."""
    login = shooter.page()
    login.goto("/login")
    shooter.shot(login, "fig1-ingreso.png")

    # The office first: it receives two trámites and answers one, so Fig. 7 has a full history to show.
    office = shooter.page("gdur")
    shooter.shot(office, "inicio-oficina.png")
    office.get_by_role("link", name="Bandeja de la oficina").click()
    for numero in (numeros["atendido"], numeros["en_atencion"]):
        row_of(office, numero).get_by_role("button", name="Recibir").click()
        row_of(office, numero).get_by_role("link", name=f"Atender el expediente {numero}", exact=True).wait_for()
    row_of(office, numeros["atendido"]).get_by_role(
        "link", name=f"Atender el expediente {numeros['atendido']}", exact=True).click()
    office.get_by_label("Respuesta", exact=True).fill(
        "Se otorga la licencia de funcionamiento; la resolución se adjunta a este expediente.")
    office.get_by_role("button", name="Registrar atención").click()
    office.wait_for_url("**/bandeja")

    mesa = shooter.page("mesa")
    shooter.shot(mesa, "fig2-inicio.png")
    mesa.get_by_role("navigation", name="Menú principal").get_by_role("link", name="Trámites recibidos").click()
    shooter.shot(mesa, "fig3-tramites-recibidos.png")

    row_of(mesa, numeros["por_derivar"]).get_by_role(
        "link", name=f"Ver datos del expediente {numeros['por_derivar']}", exact=True).click()
    for region, name in (("Información del trámite", "fig4-informacion-del-tramite.png"),
                         ("Datos del remitente", "fig5-datos-del-remitente.png")):
        shooter.section(mesa, mesa.get_by_role("region", name=region), name)
    mesa.wait_for_function(PDF_PAINTED_JS, timeout=STEP_MS)
    shooter.section(mesa, mesa.get_by_role("region", name="Archivos adjuntos"), "fig6-archivo-adjunto.png",
                    max_height=DESKTOP["height"])

    mesa.goto(f"/expedientes/{numeros['atendido']}/seguimiento")
    mesa.locator(DIAGRAM_DRAWN).wait_for()
    shooter.shot(mesa, "fig7-seguimiento.png", full_page=True)

    mesa.goto(f"/expedientes/{numeros['por_derivar']}/derivar")
    mesa.get_by_label("Oficina destino").select_option(label=GDUR)
    mesa.get_by_label("Proveído").fill("Evaluar la solicitud y emitir el informe técnico correspondiente.")
    mesa.get_by_label("Prioridad").select_option(label="Normal")
    mesa.get_by_label("Plazo (días hábiles)").fill("7")
    mesa.get_by_label("Plazo (días hábiles)").blur()
    shooter.shot(mesa, "fig8-derivar-tramite.png", full_page=True)  # down to the «Derivar» button
    mesa.get_by_role("button", name="Derivar", exact=True).click()
    mesa.get_by_text("¿Confirma la derivación").wait_for()
    mesa.get_by_role("button", name="Confirmar").click()
    mesa.wait_for_url("**/derivado")
    shooter.shot(mesa, "fig9-confirmacion.png")

    office.goto("/bandeja")
    shooter.shot(office, "bandeja-oficina.png", full_page=True)

    phone = shooter.page("mesa", viewport=PHONE)
    phone.goto("/tramites")
    shooter.shot(phone, "movil-tramites-recibidos.png")

    citizen = shooter.page()
    citizen.goto("/presentar")
    citizen.get_by_label("Número de documento de identidad").fill("45871236")
    citizen.get_by_label(re.compile("^Nombres")).fill("Ana")
    citizen.get_by_label(re.compile("^Apellidos")).fill("Rojas Villanueva")
    citizen.get_by_label(re.compile("^Correo electrónico")).fill("ana@example.com")
    citizen.get_by_label(re.compile("^Dirección")).fill("Jr. Loreto 215, Santa Clotilde")
    citizen.get_by_label(re.compile(r"^Tipo de documento( \*)?$")).select_option(label="Solicitud")
    citizen.get_by_label(re.compile("^Asunto")).fill("Licencia de funcionamiento para bodega")
    citizen.get_by_label(re.compile("^Folios")).fill("2")
    shooter.shot(citizen, "ciudadano-presentar.png", full_page=True)
    citizen.goto(f"/constancia/{Expediente.get(Expediente.numero == numeros['por_derivar']).codigo}")
    shooter.shot(citizen, "ciudadano-constancia.png", full_page=True)
    citizen.goto(f"/seguimiento/{Expediente.get(Expediente.numero == numeros['atendido']).codigo}")
    shooter.shot(citizen, "ciudadano-seguimiento.png", full_page=True)


def take_oversight(shooter: Shooter, numeros: dict):
    """The screens of those who audit, analyse and redesign the process, and every user's «Mi cuenta»."""
    auditor = shooter.page("auditor")
    # Filtered to the seeded expedientes still in an office: the demo's eight, filed last, carry the first numbers.
    ayer = (datetime.now(LIMA) - timedelta(days=1)).date().isoformat()  # clock-ok: the demo is seeded today
    auditor.goto(f"/auditoria/expedientes?hasta={ayer}&estado=En+atenci%C3%B3n")
    shooter.shot(auditor, "auditoria-expedientes.png", full_page=True, max_height=1400)
    auditor.goto(f"/auditoria/expedientes/{numeros['atendido']}")
    shooter.shot(auditor, "auditoria-historial.png", full_page=True, max_height=1600)
    auditor.goto("/auditoria/eventos")
    shooter.shot(auditor, "auditoria-eventos.png", full_page=True, max_height=1400)

    analista = shooter.page("analista")
    analista.goto("/definiciones")
    shooter.shot(analista, "procesos-versiones.png", full_page=True)
    analista.get_by_role("row").filter(has_text="Activa").get_by_role("link").first.click()
    analista.locator(DIAGRAM_DRAWN).wait_for()
    shooter.shot(analista, "procesos-diagrama.png", full_page=True)
    analista.get_by_role("link", name="Editar el diagrama").click()
    analista.locator(DIAGRAM_DRAWN).wait_for()
    analista.evaluate(ADD_TASK_JS, "Revisión legal")
    analista.get_by_role("button", name="Guardar como nueva versión").click()
    analista.locator("#resultado-guardar .problemas").wait_for()
    shooter.shot(analista, "procesos-modelador.png", full_page=True)

    mesa = shooter.page("mesa")  # her third session (desktop, phone, this one): «Mi cuenta» lists them
    mesa.goto(f"/expedientes/{numeros['en_atencion']}/seguimiento")
    mesa.locator(DIAGRAM_DRAWN).wait_for()
    shooter.section(mesa, mesa.locator(".diagrama"), "seguimiento-diagrama.png")

    analista.goto("/analitica")
    analista.wait_for_function(CHARTS_DRAWN_JS, timeout=STEP_MS)
    shooter.shot(analista, "analitica.png", full_page=True, max_height=2400)

    mesa.goto("/cuenta")
    shooter.shot(mesa, "cuenta.png", full_page=True)


def pick_expedientes() -> dict:
    """The demo expedientes the figures use: two already derived to GDUR, and one waiting in mesa de partes."""
    gdur = Oficina.get(Oficina.codigo == "GDUR")
    derived = list(Expediente.select().where(Expediente.oficina_actual == gdur).order_by(Expediente.id))
    waiting = (Expediente.select().where(Expediente.estado == "Registrado").order_by(Expediente.id.desc()).first())
    if len(derived) < 2 or waiting is None:
        raise RuntimeError("Los datos de demostración cambiaron: se esperaban dos trámites en GDUR y uno registrado.")
    return {"atendido": derived[0].numero, "en_atencion": derived[1].numero, "por_derivar": waiting.numero}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("salida", nargs="?", default=str(ROOT / "docs" / "screenshots"),
                        help="carpeta donde se escriben los PNG (por omisión docs/screenshots)")
    args = parser.parse_args(argv)
    out = Path(args.salida)
    out.mkdir(parents=True, exist_ok=True)

    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory(prefix="mpv-capturas-") as folder, sync_playwright() as playwright:
        try:
            browser = launch_chromium(playwright)
        except BrowserUnavailable as exc:
            print(f"screenshots: {exc}", file=sys.stderr)
            return 2
        services, passwords = demo_services(Path(folder))
        try:
            with LiveServer(create_app(services)) as server:
                print(f"Capturas de {server.url} en {out}/")
                shooter = Shooter(browser, server.url, passwords, out)
                try:
                    numeros = pick_expedientes()
                    take_all(shooter, numeros)
                    # Two years of filings behind the eight of the demo, for the auditors' and analysts' pages.
                    sembrar(services, VOLUME, semilla=2026)
                    take_oversight(shooter, numeros)
                finally:
                    shooter.close()
        finally:
            browser.close()
            services.close()
    print(f"{len(shooter.written)} capturas escritas.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
