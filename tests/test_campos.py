"""One definition of the filing's fields (mpv.tramites.campos) behind every face — the HTML form, the API and
its OpenAPI document, the CLI — and one hygiene through each: control characters in one-line fields, identity
numbers typed with other scripts' digits, e-mail addresses the mailer could never write to."""
from __future__ import annotations

import html
import re

import pytest
from falcon import testing
from helpers import FILING
from webclient import Browser, multipart

from mpv.tramites import campos as pc
from mpv.cli import main
from mpv.demo import sample_pdf
from mpv.models import Adjunto, Expediente, Remitente
from mpv.web.app import create_app
from mpv.web.openapi import document

FACES = ["web", "api"]
RUC = "20131312955"
JURIDICA = {"tipo_persona": "juridica", "tipo_documento_identidad": "RUC", "numero_documento_identidad": RUC,
            "razon_social": "Bodegas del Napo S.A.C.", "nombres": "", "apellidos": ""}


@pytest.fixture
def app(services):
    return create_app(services)


class Result:
    """A filing sent through a face: accepted or not, and the message next to each refused field."""

    def __init__(self, ok: bool, errores: dict[str, str]):
        self.ok, self.errores = ok, errores


def file_through(face: str, app, files=None, **changes) -> Result:
    """File FILING with ``changes`` through the HTML form (with its declaración) or the API, with a real PDF."""
    fields = {**FILING, **changes}
    files = files or [("archivo", "solicitud.pdf", sample_pdf("Solicitud"))]
    if face == "web":
        b = Browser(app)
        b.get("/presentar")
        result = b.post("/presentar", {**fields, "declaracion": "true"}, files=files)
        errores = {name: html.unescape(text) for name, text in
                   re.findall(r'<p class="error" id="error-(\w+)">(.*?)</p>', result.text)}
        assert result.status_code in (303, 422), result.text[:500]
        return Result(result.status_code == 303, errores)
    body, content_type = multipart([(k, str(v)) for k, v in fields.items()], files)
    result = testing.TestClient(app).simulate_post("/api/v1/tramites", body=body,
                                                   headers={"Content-Type": content_type})
    assert result.status_code in (201, 422), result.text
    return Result(result.status_code == 201, result.json.get("campos", {}))


def nothing_filed(services) -> bool:
    files = [p for p in services.settings.attachments_dir.rglob("*") if p.is_file()]
    return Expediente.select().count() == 0 and Adjunto.select().count() == 0 and not files


# -- defect 5: a line break in a one-line field ------------------------------------------------------------
ONE_LINE = [("nombres", "Ana\r\nBcc: x@evil.example"), ("apellidos", "Rojas\nVillanueva"),
            ("direccion", "Jr. Loreto\t215"), ("telefono", "987\x0b654321"), ("numero_documento", "Carta\r012"),
            ("nombres", "Ana\u2028María"), ("email", "ana@example.com\r\nBcc: x@evil.example")]


@pytest.mark.parametrize("face", FACES)
@pytest.mark.parametrize("field, value", ONE_LINE, ids=[f"{f}-{i}" for i, (f, _) in enumerate(ONE_LINE)])
def test_control_characters_in_one_line_fields_are_refused(services, app, face, field, value):
    result = file_through(face, app, **{field: value})
    assert not result.ok and "una sola línea" in result.errores[field], result.errores
    assert nothing_filed(services)


@pytest.mark.parametrize("face", FACES)
def test_the_request_text_may_span_lines(services, app, face):
    result = file_through(face, app, asunto="Licencia de funcionamiento\r\npara bodega")
    assert result.ok, result.errores
    assert Expediente.get().asunto.splitlines() == ["Licencia de funcionamiento", "para bodega"]


# -- defect 6: identity numbers in other scripts' digits --------------------------------------------------
TYPED = [({"numero_documento_identidad": "４５８７１２３６"}, "45871236"),  # full-width
         ({"numero_documento_identidad": "٤٥٨٧１２３６"}, "45871236"),  # Arabic-Indic and full-width
         ({"tipo_documento_identidad": "CE", "numero_documento_identidad": "ｃｅ００１２３４"}, "CE001234"),
         ({**JURIDICA, "numero_documento_identidad": "２０１３１３１２９５５"}, RUC)]


@pytest.mark.parametrize("face", FACES)
@pytest.mark.parametrize("changes, stored", TYPED, ids=["dni-ancho", "dni-arabigo", "ce-ancho", "ruc-ancho"])
def test_identity_numbers_are_stored_in_ascii_and_found_by_an_ascii_search(services, app, face, changes, stored):
    result = file_through(face, app, **changes)
    assert result.ok, result.errores
    expediente = Expediente.get()
    assert (expediente.remitente_documento, Remitente.get().numero_documento_identidad) == (stored, stored)
    for typed in (stored, changes["numero_documento_identidad"]):
        found = Browser(app).get("/seguimiento", numero=expediente.numero, documento=typed)
        assert found.status_code == 200 and f"Estado del expediente {expediente.numero}" in found.text


@pytest.mark.parametrize("face", FACES)
def test_a_digit_that_is_not_one_is_still_refused(services, app, face):
    result = file_through(face, app, numero_documento_identidad="4587123٫")  # an Arabic decimal separator
    assert not result.ok and result.errores["numero_documento_identidad"] == "El DNI tiene 8 dígitos."


# -- defect 4: addresses the mailer cannot write to -------------------------------------------------------
@pytest.mark.parametrize("face", FACES)
def test_an_accented_letter_before_the_at_sign_is_refused_with_a_clear_message(services, app, face):
    result = file_through(face, app, email="lucía@example.com")
    assert not result.ok
    assert "sin tildes ni ñ antes de la @" in result.errores["email"] and "«í»" in result.errores["email"]
    assert nothing_filed(services)


@pytest.mark.parametrize("face", FACES)
@pytest.mark.parametrize("email", ["ana..rojas@example.com", "ana@example", "ana@localhost", "<ana>@example.com"])
def test_malformed_addresses_are_refused(services, app, face, email):
    result = file_through(face, app, email=email)
    assert not result.ok and "Escriba un correo electrónico válido" in result.errores["email"]


@pytest.mark.parametrize("face", FACES)
def test_the_address_is_stored_normalised(services, app, face):
    assert file_through(face, app, email="Ana.Rojas@Example.COM").ok
    assert Remitente.get().email == "Ana.Rojas@example.com"


# -- one multipart reader -------------------------------------------------------------------------------
@pytest.mark.parametrize("face", FACES)
def test_an_empty_file_with_a_name_is_refused_as_no_pdf(services, app, face):
    """A chosen file of 0 bytes is a file (refused by the PDF check); only a part without a name is no file."""
    files = [("archivo", "solicitud.pdf", sample_pdf("Solicitud")), ("anexos", "vacio.pdf", b""), ("anexos", "", b"")]
    result = file_through(face, app, files=files)
    assert not result.ok and "no es un PDF" in result.errores["anexos"], result.errores
    assert nothing_filed(services) and not list(services.storage.tmp.iterdir())


# -- one definition, every face --------------------------------------------------------------------------
def test_the_openapi_filing_schema_is_the_definitions_api_face(services):
    schema = document(services.settings, services.limits)["components"]["schemas"]["SolicitudTramite"]
    api = pc.de_cara(pc.API)
    assert list(schema["properties"]) == [c.nombre for c in api]
    assert schema["required"] == [c.nombre for c in api if c.requerido is True]
    for campo in api:
        prop = schema["properties"][campo.nombre]
        if campo.tipo in (pc.LINEA, pc.TEXTO, pc.IDENTIDAD, pc.CORREO, pc.CATALOGO):
            assert prop["maxLength"] == campo.maximo, campo.nombre
        if campo.tipo == pc.OPCION:
            assert prop["enum"] == [v for v, _ in campo.opciones]
    assert "declaracion" not in schema["properties"]  # the HTML form's own (see mpv.tramites.campos)


def test_the_html_form_shows_the_definitions_web_face(services, app):
    page = Browser(app).get("/presentar").text
    for campo in pc.de_cara(pc.WEB):
        assert f'name="{campo.nombre}"' in page, campo.nombre
        assert html.escape(campo.etiqueta, quote=False) in page, campo.etiqueta
        if campo.tipo in (pc.LINEA, pc.TEXTO, pc.IDENTIDAD, pc.CORREO):
            assert re.search(rf'name="{campo.nombre}"[^>]*maxlength="{campo.maximo}"', page), campo.nombre
    form = page[page.index("<form"):page.index("</form>")]
    assert not set(re.findall(r'name="(\w+)"', form)) - {c.nombre for c in pc.de_cara(pc.WEB)} - {"csrf"}


def test_the_cli_takes_the_definitions_cli_face(capsys, settings, clock, tmp_path):
    pdf = tmp_path / "solicitud.pdf"
    pdf.write_bytes(sample_pdf("Solicitud"))
    main(["demo", "--tramites", "0"], settings=settings, clock=clock)
    args = ["tramite", "new", "--dni", "４５８７１２３６", "--nombres", "Ana", "--apellidos", "Rojas",
            "--email", "ana@example.com", "--direccion", "Jr. Loreto 215", "--tipo-documento", "SOL",
            "--asunto", "Licencia", "--archivo", str(pdf)]
    capsys.readouterr()
    assert main(args[:5] + ["Ana\nMaría"] + args[6:], settings=settings, clock=clock) == 1
    assert "nombres: Nombres: escriba una sola línea" in capsys.readouterr().err
    assert main(args, settings=settings, clock=clock) == 0, capsys.readouterr().err
    assert "Expediente 2026-000001 presentado." in capsys.readouterr().out
    main(["tramite", "show", "2026-000001"], settings=settings, clock=clock)
    assert "(DNI 45871236)" in capsys.readouterr().out
    help_text = main_help(capsys)
    for campo in pc.de_cara(pc.CLI):
        flag = "--" + campo.nombre.replace("_", "-")
        assert (flag[:-1] if campo.multiple else flag) in help_text, flag
    assert "--declaracion" not in help_text and "--acepta-notificacion" not in help_text


def main_help(capsys) -> str:
    with pytest.raises(SystemExit):
        main(["tramite", "new", "--help"])
    return capsys.readouterr().out
