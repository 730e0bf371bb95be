"""Filing against a procedure of the TUPA (issue 13, item 2): the portal, the API and the command line name the
procedure, the citizen ticks its requirements and gives the payment receipt where there is a fee; the
constancia, the staff's pages, the public seguimiento and the API show the procedure and its deadline; mesa de
partes finds the competent office preselected; silencio positivo gives the citizen a PDF that states it."""
from __future__ import annotations

import hashlib
import io
import json
import re

import pytest
from falcon import testing
from helpers import file_tramite, lima, make_user
from pypdf import PdfReader
from webclient import Browser, multipart

from mpv.cli import main
from mpv.demo import sample_pdf
from mpv.errors import InvalidInput
from mpv.models import Adjunto, Expediente, Oficina, Procedimiento
from mpv.web.app import create_app

pytestmark = pytest.mark.fecha_fija

FORM = [("tipo_persona", "natural"), ("tipo_documento_identidad", "DNI"), ("numero_documento_identidad", "45871236"),
        ("nombres", "Ana"), ("apellidos", "Rojas Villanueva"), ("email", "ana@example.com"), ("telefono", ""),
        ("direccion", "Jr. Loreto 215"), ("tipo_documento", "SOL"), ("numero_documento", ""),
        ("asunto", "Licencia de funcionamiento"), ("folios", "3"), ("declaracion", "true"),
        ("acepta_notificacion", "true")]


@pytest.fixture
def app(services):
    return create_app(services)


@pytest.fixture
def tupa(services):
    gdur = Oficina.get(Oficina.codigo == "GDUR")
    licencia = Procedimiento.create(
        codigo="LF-01", nombre="Licencia de funcionamiento para establecimientos de riesgo bajo",
        requisitos=json.dumps(["Solicitud con carácter de declaración jurada", "Copia del comprobante de pago",
                               "Declaración jurada de condiciones de seguridad"]),
        derecho_tramite="120.50", calificacion="positivo", plazo_dias=3, oficina=gdur, base_legal="Ley 28976")
    edificacion = Procedimiento.create(
        codigo="LE-A", nombre="Licencia de edificación, modalidad A", requisitos=json.dumps(["FUE por triplicado"]),
        derecho_tramite=None, calificacion="automatica", plazo_dias=None, oficina=gdur, base_legal="Ley 29090")
    return {"licencia": licencia, "edificacion": edificacion}


def text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def files():
    return [("archivo", "solicitud.pdf", sample_pdf("Solicitud", 2))]


def test_the_portal_shows_the_procedure_and_files_it_with_its_checklist(services, clock, app, tupa):
    clock.set(lima(2026, 12, 7, 10, 0))
    b = Browser(app)
    listado = text(b.get("/tupa").text)
    assert "LF-01 · Licencia de funcionamiento" in listado and "S/ 120.50" in listado and "3 días hábiles" in listado
    page = b.get("/presentar", procedimiento="LF-01")
    assert page.status_code == 200
    shown = text(page.text)
    assert "Evaluación previa con silencio positivo" in shown and "S/ 120.50" in shown
    assert "1. Solicitud con carácter de declaración jurada" in shown and 'name="recibo_pago"' in page.text
    result = b.post("/presentar", FORM + [("procedimiento", "LF-01"), ("requisitos", "1"), ("requisitos", "3"),
                                          ("recibo_pago", "001-004512")], files=files())
    assert result.status_code == 303, text(result.text)
    exp = Expediente.get()
    assert exp.procedimiento.codigo == "LF-01" and exp.recibo_pago == "001-004512"
    assert [r["marcado"] for r in json.loads(exp.requisitos)] == [True, False, True]
    # Monday 7 December: Thursday 10, Friday 11 and Monday 14 (8 and 9 are holidays); over at Tuesday 15, 00:00.
    assert exp.plazo_vence == lima(2026, 12, 15, 0, 0)
    constancia = text(b.get(result.headers["location"]).text)
    assert "LF-01 Licencia de funcionamiento" in constancia and "hasta el 14 de diciembre de 2026" in constancia
    assert "2 de 3 marcados; no marcados: Copia del comprobante de pago" in constancia
    assert "S/ 120.50 (recibo N° 001-004512)" in constancia
    pdf = b.get(f"/constancia/{exp.codigo}/pdf").content
    assert "silencio positivo" in "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages)
    seguimiento = text(b.get(f"/seguimiento/{exp.codigo}").text)
    assert "Plazo del procedimiento" in seguimiento and "hasta el 14/12/2026" in seguimiento


@pytest.mark.parametrize("extra, campo, mensaje", [
    ([("procedimiento", "LF-01"), ("requisitos", "1")], "recibo_pago",
     "El derecho de trámite de este procedimiento es S/ 120.50: indique el número del recibo"),
    ([("procedimiento", "NO-EXISTE")], "procedimiento", "Elija un procedimiento del TUPA de la lista"),
    ([("procedimiento", "LF-01"), ("requisitos", "7"), ("recibo_pago", "1")], "requisitos",
     "El procedimiento LF-01 tiene 3 requisitos: el número 7 no es uno de ellos."),
    ([("requisitos", "1")], "requisitos", "Los requisitos son los de un procedimiento del TUPA"),
    ([("procedimiento", "LF-01"), ("requisitos", "uno")], "requisitos", "Indique los requisitos por su número"),
])
def test_a_bad_procedure_field_is_refused_with_what_to_fix_and_nothing_written(services, app, tupa, extra, campo,
                                                                               mensaje):
    b = Browser(app)
    b.get("/presentar")
    result = b.post("/presentar", FORM + extra, files=files())
    assert result.status_code == 422
    assert mensaje in result.text and f'id="error-{campo}"' in result.text
    assert Expediente.select().count() == 0 and Adjunto.select().count() == 0
    assert not [p for p in services.settings.attachments_dir.rglob("*") if p.is_file()]


def test_an_unknown_procedure_in_the_link_says_so(app, tupa):
    page = Browser(app).get("/presentar", procedimiento="XX-99")
    assert page.status_code == 404 and "no está en el TUPA vigente" in page.text


def test_aprobacion_automatica_is_stated_on_the_constancia(services, clock, app, tupa):
    clock.set(lima(2026, 12, 7, 10, 0))
    b = Browser(app)
    b.get("/presentar", procedimiento="LE-A")
    result = b.post("/presentar", FORM + [("procedimiento", "LE-A"), ("requisitos", "1")], files=files())
    assert result.status_code == 303
    exp = Expediente.get()
    assert exp.silencio == "automatica" and exp.plazo_vence is None and exp.recibo_pago == ""
    assert "APROBADO al presentarse (aprobación automática" in text(b.get(result.headers["location"]).text)


def test_the_api_names_the_procedure_and_answers_its_deadline(services, clock, app, tupa):
    clock.set(lima(2026, 12, 7, 10, 0))
    client = testing.TestClient(app)
    listado = client.simulate_get("/api/v1/procedimientos").json["procedimientos"]
    assert [(p["codigo"], p["derecho_tramite"], p["plazo_dias"]) for p in listado] == [
        ("LE-A", None, None), ("LF-01", "120.50", 3)]
    fields = [(k, v) for k, v in FORM if k != "declaracion"] + [
        ("procedimiento", "lf-01"), ("requisitos", "1, 2,3"), ("recibo_pago", "001-004512")]
    body, content_type = multipart(fields, files())
    result = client.simulate_post("/api/v1/tramites", body=body, headers={"Content-Type": content_type})
    assert result.status_code == 201, result.text
    assert (result.json["procedimiento"], result.json["plazo_vence"], result.json["silencio"]) == (
        "LF-01", "2026-12-15T00:00:00-05:00", None)
    seguimiento = client.simulate_get(f"/api/v1/tramites/{result.json['codigo']}/seguimiento").json
    assert seguimiento["plazo_vence"] == "2026-12-15T00:00:00-05:00" and not seguimiento["plazo_suspendido"]
    assert all(r["marcado"] for r in json.loads(Expediente.get().requisitos))
    body, content_type = multipart([(k, v) for k, v in fields if k != "recibo_pago"], files())
    refused = client.simulate_post("/api/v1/tramites", body=body, headers={"Content-Type": content_type})
    assert refused.status_code == 422 and "recibo_pago" in refused.json["campos"]


def test_the_command_line_files_against_a_procedure(capsys, services, settings, clock, tupa, tmp_path):
    pdf = tmp_path / "solicitud.pdf"
    pdf.write_bytes(sample_pdf("Solicitud"))
    args = ["tramites", "presentar", "--dni", "45871236", "--nombres", "Ana", "--apellidos", "Rojas",
            "--email", "ana@example.com", "--direccion", "Jr. Loreto 215", "--tipo-documento", "SOL",
            "--asunto", "Licencia", "--archivo", str(pdf), "--procedimiento", "LF-01", "--requisitos", "1,2,3"]
    assert main(args, settings=settings, clock=clock) == 1
    assert "recibo_pago: El derecho de trámite de este procedimiento es S/ 120.50" in capsys.readouterr().err
    assert main(args + ["--recibo-pago", "001-1"], settings=settings, clock=clock) == 0, capsys.readouterr().err
    assert Expediente.get().procedimiento.codigo == "LF-01"


def test_staff_see_the_procedure_and_mesa_finds_the_competent_office_preselected(services, clock, app, tupa):
    clock.set(lima(2026, 12, 7, 10, 0))
    exp = file_tramite(services, procedimiento="LF-01", requisitos=[1, 3], recibo_pago="001-004512")
    make_user("mesa", "mesa", "MP")
    b = Browser(app)
    b.login("mesa")
    page = text(b.get(f"/expedientes/{exp.numero}").text)
    assert "LF-01 Licencia de funcionamiento" in page and "No marcado: Copia del comprobante de pago" in page
    assert "hasta el 14/12/2026" in page and "recibo N° 001-004512" in page
    assert "Procedimiento: " in text(b.get("/tramites").text)  # the list's badge of the procedure's deadline
    derivar = b.get(f"/expedientes/{exp.numero}/derivar").text
    assert re.search(r'<option value="GDUR"[^>]*selected', derivar)
    assert "Oficina competente: Gerencia de Desarrollo Urbano" in text(derivar)


def test_silencio_positivo_gives_the_citizen_a_pdf_that_states_it(services, clock, app, tupa):
    clock.set(lima(2026, 12, 7, 10, 0))
    exp = file_tramite(services, procedimiento="LF-01", requisitos=[1, 2, 3], recibo_pago="001-004512")
    b = Browser(app)
    assert b.get(f"/seguimiento/{exp.codigo}/silencio.pdf").status_code == 404  # not yet
    clock.set(lima(2026, 12, 15, 0, 0, 5))
    services.engine.fire_due_timers()
    seguimiento = text(b.get(f"/seguimiento/{exp.codigo}").text)
    assert "Aprobado por silencio administrativo positivo" in seguimiento
    result = b.get(f"/seguimiento/{exp.codigo}/silencio.pdf")
    assert result.status_code == 200 and result.headers["content-type"] == "application/pdf"
    contenido = "".join(p.extract_text() for p in PdfReader(io.BytesIO(result.content)).pages)
    assert "SILENCIO ADMINISTRATIVO POSITIVO" in contenido and exp.numero in contenido
    assert "14 de diciembre de 2026" in contenido
    # the public verification lists it, so a third party shown the PDF can check it (tests/test_verificar.py)
    verificacion = b.get(f"/verificar/{exp.codigo}").text
    assert "Constancia de silencio administrativo" in verificacion
    assert hashlib.sha256(result.content).hexdigest() in verificacion


def test_a_procedure_withdrawn_meanwhile_is_a_clear_refusal(services, tupa):
    Procedimiento.update(activo=False).where(Procedimiento.codigo == "LF-01").execute()
    with pytest.raises(InvalidInput) as err:
        file_tramite(services, procedimiento="LF-01", requisitos=[1], recibo_pago="1")
    assert "procedimiento" in err.value.campos
