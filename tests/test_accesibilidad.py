"""WCAG 2.2 AA on the main screens, checked in Chromium by axe-core (npm, node_modules/axe-core).

axe-core runs the automatable rules of WCAG 2.0, 2.1 and 2.2 at levels A and AA on each screen, after its
scripts have drawn what they draw (pdf.js previews, bpmn-js diagrams, Chart.js charts). What axe leaves to a
person is checked here by hand: the contrast of the row actions' icons (1.4.11, 3:1) and of one-digit
counters (1.4.3), that each row action names its expediente (2.4.4: read out of context, a screen reader's
list of links still tells the rows apart), and the skip link (2.4.1). Without node_modules/axe-core
(``npm ci``) the module skips with the reason.
"""
from __future__ import annotations

import io
import re
from collections import Counter
from pathlib import Path

import pytest
from helpers import derivar, file_tramite, make_user, step
from screenshots import CHARTS_DRAWN_JS, DIAGRAM_DRAWN, PDF_PAINTED_JS, STEP_MS, row_of
from test_browser import actor, expect, site  # noqa: F401 - ``site`` is the fixture these tests use

from mpv.demo import sample_pdf
from mpv.engine import Actor
from mpv.models import Tarea, Usuario
from mpv.tramites import asignacion, escritos

pytestmark = pytest.mark.browser

AXE = Path(__file__).resolve().parent.parent / "node_modules" / "axe-core" / "axe.min.js"
WCAG_A_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
# The violations axe finds, with just enough to find each node: its CSS selector and why it fails.
AXE_RUN_JS = """(tags) => axe.run(document, {runOnly: {type: "tag", values: tags}}).then((result) =>
    result.violations.map((v) => ({id: v.id, impact: v.impact, help: v.help,
        nodes: v.nodes.map((n) => ({target: n.target.join(" "), summary: n.failureSummary}))})))"""
# WCAG's contrast ratio between an element's colour and the first opaque background behind it.
CONTRAST_JS = """(element) => {
    const rgb = (css) => css.match(/\\d+(\\.\\d+)?/g).map(Number);
    const luminance = (css) => {
        const [r, g, b] = rgb(css).slice(0, 3).map((c) => {
            c /= 255;
            return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
        });
        return 0.2126 * r + 0.7152 * g + 0.0722 * b;
    };
    let behind = element;
    while (rgb(getComputedStyle(behind).backgroundColor)[3] === 0) behind = behind.parentElement;
    const colours = [getComputedStyle(element).color, getComputedStyle(behind).backgroundColor];
    const [a, b] = colours.map(luminance).sort((x, y) => y - x);
    return (a + 0.05) / (b + 0.05);
}"""


@pytest.fixture(autouse=True)
def axe_installed():
    if not AXE.is_file():
        pytest.skip(f"axe-core no está instalado ({AXE}): npm ci en la raíz del proyecto")


def axe_violations(page) -> list[dict]:
    """The WCAG A/AA violations axe-core finds on ``page`` as it stands."""
    page.add_script_tag(path=str(AXE))
    return page.evaluate(AXE_RUN_JS, WCAG_A_AA)


def report(found: dict[str, list[dict]]) -> str:
    """Each screen's violations: rule, impact, help, and every failing node."""
    lines = []
    for screen, violations in found.items():
        for v in violations:
            lines.append(f"{screen}: {v['id']} ({v['impact']}) — {v['help']}")
            lines.extend(f"    {n['target']}: {n['summary']}" for n in v["nodes"])
    return "\n".join(lines)


def check_screens(site, username, screens):
    """Visit each ``(path, ready)`` as ``username`` (``ready`` waits for what scripts draw) and run axe on it;
    fail with every violation of every screen."""
    page = site.page(username, bypass_csp=True)  # the page's CSP would refuse the injected axe script
    found = {}
    for path, ready in screens:
        response = page.goto(path)
        assert response.status == 200, f"{path}: {response.status}"
        if ready:
            ready(page)
        violations = axe_violations(page)
        if violations:
            found[path] = violations
    assert not found, "axe-core (WCAG 2.2 A/AA):\n" + report(found)
    return page


def diagram_drawn(page):
    page.locator(DIAGRAM_DRAWN).wait_for()


def charts_drawn(page):
    page.wait_for_function(CHARTS_DRAWN_JS, timeout=STEP_MS)


def pdf_painted(page):
    page.wait_for_function(PDF_PAINTED_JS, timeout=STEP_MS)


def mesa_desk(services):
    """A filing waiting for mesa de partes' recepción and one received, waiting for its derivación."""
    nueva = file_tramite(services, asunto="Constancia de no adeudo")
    recibida = file_tramite(services, pdf=sample_pdf("Solicitud de licencia"), asunto="Licencia de funcionamiento")
    step(services, recibida, actor("mesa"), accion="conforme")
    return nueva, recibida


def office_tray(services):
    """For GDUR: one filing to receive, due tomorrow («por vencer»), and one received, being attended."""
    por_recibir, en_atencion = (file_tramite(services, asunto=a) for a in ("Certificado de parámetros",
                                                                            "Licencia de edificación"))
    for expediente in (por_recibir, en_atencion):
        step(services, expediente, actor("mesa"), accion="conforme")
        derivar(services, expediente, actor("mesa"), "GDUR", plazo_dias=1)
    step(services, en_atencion, actor("gdur"))  # «Recibir»
    return por_recibir, en_atencion


def test_citizen_screens_meet_wcag_aa(site):
    expediente = file_tramite(site.services)
    check_screens(site, None, [("/", None), ("/presentar", None), (f"/constancia/{expediente.codigo}", None),
                               ("/seguimiento", None), (f"/seguimiento/{expediente.codigo}", None),
                               ("/verificar", None), (f"/verificar/{expediente.codigo}", None), ("/login", None)])


def test_mesa_de_partes_screens_meet_wcag_aa(site):
    _nueva, recibida = mesa_desk(site.services)
    numero = recibida.numero
    check_screens(site, "mesa", [("/inicio", None), ("/tramites", None), (f"/expedientes/{numero}", pdf_painted),
                                 (f"/expedientes/{numero}/seguimiento", diagram_drawn),
                                 (f"/expedientes/{numero}/derivar", None), (f"/expedientes/{numero}/acumulados", None),
                                 ("/cuenta", None)])


def test_paper_counter_screens_meet_wcag_aa(site):
    from mpv.tramites import presencial

    escaneado = site.services.storage.receive(io.BytesIO(sample_pdf("Escaneado")), "escaneado.pdf",
                                              site.services.limits.principal_bytes)
    datos = {"tipo_persona": "natural", "tipo_documento_identidad": "DNI", "numero_documento_identidad": "45871236",
             "nombres": "Ana", "apellidos": "Rojas", "direccion": "Jr. Loreto 215", "tipo_documento": "SOL",
             "asunto": "Constancia de posesión", "folios": "4"}
    exp = presencial.registrar(site.services, actor("mesa"), datos, escaneado, [])
    check_screens(site, "mesa", [("/presencial", None), (f"/presencial/{exp.codigo}", None),
                                 (f"/expedientes/{exp.numero}/seguimiento", diagram_drawn)])


def test_office_screens_meet_wcag_aa_before_and_after_a_notice(site):
    por_recibir, _en_atencion = office_tray(site.services)
    page = check_screens(site, "gdur", [("/inicio", None), ("/bandeja", None)])
    row_of(page, por_recibir.numero).get_by_role("button", name=f"Recibir el expediente {por_recibir.numero}").click()
    expect(page.get_by_role("status")).to_contain_text(por_recibir.numero)  # the green notice, checked too
    violations = axe_violations(page)
    assert not violations, report({"/bandeja (con aviso)": violations})


def test_the_office_heads_screens_meet_wcag_aa(site):
    """The head of GDUR assigns to themself, then reads Mis expedientes, the office's history and its report."""
    por_recibir, en_atencion = office_tray(site.services)
    Usuario.update(jefe=True).where(Usuario.username == "gdur").execute()
    asignacion.asignar(site.services, Actor.de_usuario(Usuario.get(Usuario.username == "gdur")), en_atencion.numero,
                       Usuario.get(Usuario.username == "gdur").id)
    check_screens(site, "gdur", [(f"/expedientes/{por_recibir.numero}/asignar", None), ("/mis-expedientes", None),
                                 ("/oficina/historial", None), ("/reportes", None)])


def test_escrito_screens_meet_wcag_aa(site):
    """Presentar un escrito (from the seguimiento, and with number and document), its constancia, the seguimiento
    that lists it; mesa de partes' paper escrito and the expediente's «Escritos»; the office's tray and review."""
    _por_recibir, en_atencion = office_tray(site.services)
    principal = site.services.storage.receive(io.BytesIO(sample_pdf("Escrito")), "escrito.pdf", 10**6)
    escrito = escritos.presentar(site.services, en_atencion, "Adjunto el plano", principal, [],
                                 Actor.ciudadano(en_atencion))
    numero, codigo = en_atencion.numero, en_atencion.codigo
    check_screens(site, None, [(f"/escritos/nuevo?codigo={codigo}", None),
                               (f"/escritos/nuevo?numero={numero}&documento=45871236", None),
                               (f"/escritos/{escrito.codigo}", None), (f"/seguimiento/{codigo}", None)])
    check_screens(site, "mesa", [(f"/expedientes/{numero}", pdf_painted), (f"/expedientes/{numero}/escritos", None)])
    revision = Tarea.get((Tarea.expediente == en_atencion.id) & (Tarea.nombre == "Revisar escrito"))
    check_screens(site, "gdur", [("/bandeja", None), (f"/expedientes/{numero}/tareas/{revision.task_id}", None)])


def test_signing_screens_meet_wcag_aa(site):
    """Mi cuenta with a certificate, an issued document's row and its signing page, with and without an error."""
    from firmas_pki import Autoridad

    from mpv.models import Usuario
    from mpv.tramites import certificado_usuario, documentos

    _por_recibir, en_atencion = office_tray(site.services)
    borrador = documentos.redactar(site.services, actor("gdur"), en_atencion.numero, "informe", "Gerencia Municipal",
                                   "Opinión técnica", "Texto del informe.")
    documentos.emitir(site.services, actor("gdur"), borrador.id)
    autoridad = Autoridad(site.services.clock())
    certificado_usuario.subir(site.services, Usuario.get(Usuario.username == "gdur"),
                              autoridad.firmante("Jorge Mendoza Ríos").pkcs12("clave"), "clave")
    page = check_screens(site, "gdur", [("/cuenta", None), (f"/expedientes/{en_atencion.numero}", pdf_painted),
                                        (f"/documentos/{borrador.id}/firmar", None)])
    page.get_by_label("Contraseña del certificado").fill("equivocada")
    page.get_by_role("button", name="Firmar documento").click()
    expect(page.locator("#error-clave")).to_contain_text("La contraseña no abre el certificado")
    violations = axe_violations(page)
    assert not violations, report({"/documentos/…/firmar (con error)": violations})
    page.get_by_label("Contraseña del certificado").fill("clave")
    page.get_by_role("button", name="Firmar documento").click()
    expect(page.get_by_role("status")).to_contain_text("Se firmó digitalmente")
    expect(page.locator("#documentos")).to_contain_text("Firmado por Jorge Mendoza Ríos")


def test_api_token_screens_meet_wcag_aa(site):
    """Mi cuenta's tokens: a refused form, a new token shown once, the list with a live and a revoked token."""
    from mpv.models import Usuario
    from mpv.tramites import tokens

    mesa = Usuario.get(Usuario.username == "mesa")
    _secreto, viejo = tokens.crear(site.services, mesa, "Integración anterior", "lectura", 30)
    tokens.revocar(site.services, mesa, viejo.id)
    page = check_screens(site, "mesa", [("/cuenta", None)])
    page.get_by_role("button", name="Crear token").click()
    expect(page.locator("#error-nombre")).to_be_visible()
    violations = axe_violations(page)
    assert not violations, report({"/cuenta (token con error)": violations})
    page.get_by_label("Nombre", exact=True).fill("Integración con el archivo")
    page.get_by_label("Lectura y escritura (también completar tareas y derivar)").check()
    page.get_by_role("button", name="Crear token").click()
    expect(page.locator("#token-nuevo")).to_contain_text("no se volverá a mostrar")
    violations = axe_violations(page)
    assert not violations, report({"/cuenta (token nuevo)": violations})


def test_administration_screens_meet_wcag_aa(site):
    make_user("admin", "admin")
    check_screens(site, "admin", [("/admin", None), ("/admin/usuarios", None), ("/admin/usuarios/nuevo", None),
                                  ("/admin/parametros", None), ("/admin/correos", None), ("/admin/feriados", None),
                                  ("/admin/plantillas", None), ("/admin/plantillas/resolucion", None),
                                  ("/cuenta", None)])


def test_oversight_screens_meet_wcag_aa(site):
    """Those who audit and analyse: the registers, an expediente's full history, the charts, the processes."""
    _nueva, recibida = mesa_desk(site.services)
    for username in ("auditor", "analista"):
        make_user(username, username)
    check_screens(site, "auditor", [("/auditoria/expedientes", None), ("/auditoria/eventos", None),
                                    (f"/auditoria/expedientes/{recibida.numero}", None),
                                    ("/analitica", charts_drawn)])
    check_screens(site, "analista", [("/definiciones", None),
                                     (f"/definiciones/{recibida.definicion_id}", diagram_drawn)])


def action_names(page) -> list[str]:
    """The accessible names of the links and buttons in the rows of the page's tables."""
    names = []
    for table in page.locator("table").all():
        snapshot = table.aria_snapshot()
        names += re.findall(r'- (?:link|button) "([^"]+)"', snapshot)
    return names


def test_each_row_action_names_its_expediente(site):
    nueva, recibida = mesa_desk(site.services)
    page = site.page("mesa")
    page.goto("/tramites")
    for expediente in (nueva, recibida):
        row = row_of(page, expediente.numero)
        for name in (f"Ver datos del expediente {expediente.numero}",
                     f"Ver seguimiento del expediente {expediente.numero}", f"Derivar trámite {expediente.numero}"):
            expect(row.get_by_role("link", name=name, exact=True)).to_have_count(1)
    names = action_names(page)
    assert len(names) == 6
    assert [name for name, n in Counter(names).items() if n > 1] == []

    por_recibir, en_atencion = office_tray(site.services)
    office = site.page("gdur")
    office.goto("/bandeja")
    expect(row_of(office, por_recibir.numero).get_by_role(
        "button", name=f"Recibir el expediente {por_recibir.numero}", exact=True)).to_have_count(1)
    for action in ("Atender", "Derivar a otra oficina", "Devolver a mesa de partes", "Archivar"):
        expect(row_of(office, en_atencion.numero).get_by_role(
            "link", name=f"{action} el expediente {en_atencion.numero}", exact=True)).to_have_count(1)
    names = action_names(office)
    assert len(names) == 3 + 6
    assert [name for name, n in Counter(names).items() if n > 1] == []


def test_icons_and_counters_contrast(site):
    """What axe does not measure: an icon's colour (WCAG 1.4.11, 3:1) — the red and yellow magnifiers and
    the orange arrow of «Trámites recibidos» — and a one-digit counter of «Inicio» (1.4.3, 4.5:1; axe
    leaves text that short for a person to review)."""
    mesa_desk(site.services)
    page = site.page("mesa")
    for path, css, least in (("/tramites", ".lupa-roja", 3), ("/tramites", ".lupa-amarilla", 3),
                             ("/tramites", ".icono-naranja", 3), ("/inicio", ".cifra.vencido strong", 4.5),
                             ("/inicio", ".cifra.por-vencer strong", 4.5)):
        page.goto(path)
        ratio = page.locator(css).first.evaluate(CONTRAST_JS)
        assert ratio >= least, f"{path} {css}: {ratio:.2f}:1"


def test_skip_link_is_the_first_stop_and_reaches_the_content(site):
    for username, path in ((None, "/"), ("mesa", "/tramites")):
        page = site.page(username)
        page.goto(path)
        skip = page.get_by_role("link", name="Saltar al contenido")
        assert skip.bounding_box()["y"] < 0  # out of sight until the keyboard reaches it
        page.keyboard.press("Tab")
        expect(skip).to_be_focused()
        assert skip.bounding_box()["y"] >= 0  # then shown, for the sighted keyboard user
        skip.press("Enter")
        expect(page).to_have_url(re.compile(r"#contenido$"))
        page.keyboard.press("Tab")  # the next stop is inside the main content, past the menus
        assert page.evaluate("document.activeElement.closest('main') !== null")



def test_official_document_screens_meet_wcag_aa(site):
    """An office's draft with an annex (its upload form), the new draft's form, and the atención that may answer
    with an issued document."""
    from mpv.tramites import anexos, documentos, tareas

    _por_recibir, en_atencion = office_tray(site.services)
    gdur = actor("gdur")
    borrador = documentos.redactar(site.services, gdur, en_atencion.numero, "informe", "Ing. Rosa Quispe",
                                   "Opinión técnica", "Texto del informe.")
    anexo = site.services.storage.receive(io.BytesIO(sample_pdf("Plano")), "plano.pdf", 10**6)
    anexos.anexar(site.services, gdur, borrador.id, [anexo])
    emitido = documentos.redactar(site.services, gdur, en_atencion.numero, "oficio", "Sra. Ana Rojas", "Respuesta",
                                  "Texto del oficio.")
    documentos.emitir(site.services, gdur, emitido.id)
    [tarea] = [t for t in site.services.engine.tasks_for(gdur, en_atencion.id)]
    assert tareas.catalogos(site.services, gdur, en_atencion)["documentos_emitidos"]
    check_screens(site, "gdur", [(f"/documentos/{borrador.id}", None),
                                 (f"/expedientes/{en_atencion.numero}/documentos?tipo=resolucion", None),
                                 (f"/expedientes/{en_atencion.numero}", None),
                                 (f"/expedientes/{en_atencion.numero}/tareas/{tarea.task_id}?accion=atender", None)])
