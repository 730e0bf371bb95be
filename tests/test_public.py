"""The citizen's side: the filing form, the constancia, public tracking and subsanación; the legal rules."""
from __future__ import annotations

import functools
import io
import re
import struct
import zlib
from datetime import date, timedelta

import pytest
from helpers import build_services, derivar, file_tramite, lima, make_user, recibir, step
from pypdf import PdfReader, PdfWriter
from webclient import Browser

from mpv.config import Settings
from mpv.demo import sample_pdf
from mpv.engine import Actor
from mpv.identidad import error_documento, ruc_check_digit
from mpv.models import Adjunto, Correo, Evento, Expediente, Feriado, Tarea
from mpv.web.app import create_app


@pytest.fixture
def app(services):
    return create_app(services)


@pytest.fixture
def mesa(services):
    return Actor.de_usuario(make_user("mesa", "mesa", "MP"))


def text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


FORM = [("tipo_persona", "natural"), ("tipo_documento_identidad", "DNI"), ("numero_documento_identidad", "45871236"),
        ("nombres", "Ana"), ("apellidos", "Rojas Villanueva"), ("email", "ana@example.com"), ("telefono", "987654321"),
        ("direccion", "Jr. Loreto 215, Santa Clotilde"), ("tipo_documento", "SOL"), ("numero_documento", ""),
        ("asunto", "Licencia de funcionamiento"), ("folios", "3"), ("declaracion", "true"),
        ("acepta_notificacion", "true")]


def presentar(b, fields=FORM, files=None):
    b.get("/presentar")
    return b.post("/presentar", fields, files=files if files is not None else [
        ("archivo", "solicitud firmada.pdf", sample_pdf("Solicitud", 2)), ("anexos", "dni.pdf", sample_pdf("DNI"))])


def nothing_written(services):
    root = services.settings.attachments_dir
    files = [p for p in root.rglob("*") if p.is_file()]
    return Expediente.select().count() == 0 and Adjunto.select().count() == 0 and not files


# -- the rules of Peruvian procedure ----------------------------------------------------------
@pytest.mark.parametrize("sent, filed, plazo_7", [
    (lima(2026, 3, 13, 23, 59), date(2026, 3, 13), date(2026, 3, 24)),  # Friday 23:59 counts Friday
    (lima(2026, 3, 14, 9, 0), date(2026, 3, 16), date(2026, 3, 25)),  # Saturday → Monday
    (lima(2026, 7, 28, 10, 0), date(2026, 7, 30), date(2026, 8, 11)),  # Fiestas Patrias (28, 29) → Thursday 30
    (lima(2026, 12, 8, 10, 0), date(2026, 12, 10), date(2026, 12, 21)),  # Inmaculada (8), Ayacucho (9)
    # a regional holiday from the Feriado table; the count skips 29 June (San Pedro y San Pablo)
    (lima(2026, 6, 24, 11, 0), date(2026, 6, 25), date(2026, 7, 7)),
])
def test_filing_date_and_deadlines(services, app, clock, sent, filed, plazo_7):
    Feriado.create(fecha=date(2026, 6, 24), nombre="Fiesta de San Juan (feriado regional)", tipo="regional")
    services.calendario.refresh()
    clock.set(sent)
    exp = file_tramite(services)
    assert exp.fecha_presentacion == filed
    over = plazo_7 + timedelta(days=1)  # the plazo covers its last day; it is over at the next midnight
    assert services.calendario.vencimiento(exp.fecha_presentacion, 7) == lima(over.year, over.month, over.day, 0, 0)
    page = text(Browser(app).get(f"/constancia/{exp.codigo}").text)
    assert f"Fecha de presentación {filed:%d/%m/%Y}" in page
    if filed != sent.date():
        assert "(Ley 31465)" in page


def test_observation_deadline_is_two_business_days_from_the_observation(services, mesa, clock):
    clock.set(lima(2026, 7, 24, 16, 0))  # Friday before Fiestas Patrias
    exp = file_tramite(services)
    step(services, exp, mesa, accion="observar", observacion="Falta la firma")
    # Monday 27 is day 1; 28 and 29 are holidays; Thursday 30 is day 2 → over at midnight.
    assert Expediente.get_by_id(exp.id).vence == lima(2026, 7, 31, 0, 0)


REAL_RUCS = ["20131312955", "20100047218", "20131380951", "20100070970", "20462509236"]


@pytest.mark.parametrize("ruc", REAL_RUCS)
def test_real_rucs_are_valid_and_one_digit_off_is_not(ruc):
    assert ruc_check_digit(ruc[:10]) == int(ruc[10])
    assert error_documento("RUC", ruc) is None
    wrong = ruc[:10] + str((int(ruc[10]) + 1) % 10)
    assert "dígito verificador" in error_documento("RUC", wrong)
    swapped = ruc[:4] + str((int(ruc[4]) + 1) % 10) + ruc[5:]
    assert error_documento("RUC", swapped) is not None


def test_identity_document_formats():
    assert error_documento("DNI", "45871236") is None
    assert error_documento("DNI", "4587123") == "El DNI tiene 8 dígitos."
    assert error_documento("DNI", "4587123A") == "El DNI tiene 8 dígitos."
    assert error_documento("CE", "001234567890") is None
    assert error_documento("CE", "0012345678901") is not None
    assert error_documento("RUC", "30131312955") == "El RUC debe empezar con 10, 15, 16, 17 o 20."
    assert error_documento("PASAPORTE", "AB123456") is None


# -- the public filing form and the constancia ---------------------------------------------------
@pytest.mark.fecha_fija("the constancia says Monday 2 March, 09:30")
def test_public_form_files_and_shows_the_constancia(services, app):
    b = Browser(app)
    form = b.get("/presentar")
    assert form.status_code == 200 and 'enctype="multipart/form-data"' in form.text
    for label in ("Tipo de documento de identidad", "Número de documento de identidad", "Nombres", "Apellidos",
                  "Razón social", "Correo electrónico", "Dirección", "Tipo de documento", "Asunto",
                  "Documento principal (PDF)", "Anexos (PDF)"):
        assert label in form.text, label
    result = presentar(b)
    assert result.status_code == 303
    exp = Expediente.get()
    assert result.headers["location"].endswith(f"/constancia/{exp.codigo}")
    page = b.get(f"/constancia/{exp.codigo}")
    visible = text(page.text)
    assert f"N° de expediente {exp.numero}" in visible and exp.codigo in visible
    assert "Enviado 02/03/2026 09:30:00 (hora de Lima)" in visible
    assert "Fecha de presentación 02/03/2026" in visible
    for adjunto in Adjunto.select():
        assert adjunto.sha256 in page.text and adjunto.nombre in page.text
    assert Correo.get().tipo == "constancia" and Correo.get().destinatario == "ana@example.com"
    pdf = b.get(f"/constancia/{exp.codigo}/pdf")
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    content = "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.content)).pages)
    assert "CONSTANCIA DE PRESENTACIÓN" in content and exp.numero in content and exp.codigo in content
    assert Adjunto.get(Adjunto.tipo == "principal").sha256 in content


def test_juridica_needs_ruc_and_razon_social(services, app):
    fields = [(k, v) for k, v in FORM if k not in ("nombres", "apellidos")]
    fields = [(k, {"tipo_persona": "juridica", "numero_documento_identidad": "20131312955"}.get(k, v))
              for k, v in fields]
    bad = presentar(Browser(app), fields)
    assert bad.status_code == 422
    assert "Una persona jurídica se identifica con su RUC." in bad.text and "Escriba la razón social." in bad.text
    fields = [(k, "RUC" if k == "tipo_documento_identidad" else v) for k, v in fields] + [
        ("razon_social", "Bodegas del Napo S.A.C.")]
    assert presentar(Browser(app), fields).status_code == 303
    assert Expediente.get().remitente_nombre == "Bodegas del Napo S.A.C."


def encrypted_pdf() -> bytes:
    writer = PdfWriter(clone_from=io.BytesIO(sample_pdf("Secreto")))
    writer.encrypt("clave")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


@functools.lru_cache(maxsize=1)
def flate_bomb_pdf(expanded_mb: int = 80) -> bytes:
    """A ~90 KB PDF whose cross-reference stream (FlateDecode) expands to ``expanded_mb`` MB of zeros,
    past pypdf's 75 MB cap on one decoded stream (pypdf >= 6, required by setup.cfg)."""
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
               b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] >>"]
    out, offsets = bytearray(b"%PDF-1.7\n"), []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref_at = len(out)
    rows = b"".join(struct.pack(">BIH", kind, offset, gen)
                    for kind, offset, gen in [(0, 0, 65535)] + [(1, o, 0) for o in offsets] + [(1, xref_at, 0)])
    deflate = zlib.compressobj(9)
    data = deflate.compress(rows) + b"".join(deflate.compress(bytes(1 << 20)) for _ in range(expanded_mb))
    data += deflate.flush()
    out += (b"4 0 obj\n<< /Type /XRef /Size 5 /W [1 4 2] /Root 1 0 R /Filter /FlateDecode /Length %d >>\nstream\n"
            % len(data)) + data + b"\nendstream\nendobj\nstartxref\n%d\n%%%%EOF\n" % xref_at
    return bytes(out)


@pytest.mark.parametrize("name, content, message", [
    ("html", b"<html><body>no soy un pdf</body></html>", "no es un PDF"),
    ("encrypted", None, "protegido con contraseña"),
    ("truncated", None, "está incompleto o dañado"),
    ("flate-bomb", None, "contiene datos comprimidos que se expanden a un tamaño excesivo"),
])
def test_bad_files_are_refused_with_a_clear_message(services, app, name, content, message):
    if name == "flate-bomb":
        content = flate_bomb_pdf()
        assert len(content) < 200_000
    if name == "encrypted":
        content = encrypted_pdf()
    if name == "truncated":
        content = sample_pdf("Cortado", 3)[:-300]
    result = presentar(Browser(app), files=[("archivo", "solicitud.pdf", content)])
    assert result.status_code == 422 and message in result.text
    assert 'value="Licencia de funcionamiento"' not in result.text  # asunto is a textarea, kept as text
    assert ">Licencia de funcionamiento</textarea>" in result.text and 'value="45871236"' in result.text
    assert nothing_written(services)


def test_pdf_over_the_limit_is_413_and_nothing_is_on_disk(settings, clock, database_url, tmp_path):
    small = Settings(data_dir=tmp_path / "small", database_url=database_url, max_principal_mb=1)
    services = build_services(small, clock)
    try:
        big = sample_pdf("Grande") + b"%" + b"0" * (1024 * 1024 + 10)
        result = presentar(Browser(create_app(services)), files=[("archivo", "grande.pdf", big)])
        assert result.status_code == 413
        assert "supera el tamaño máximo de 1 MB" in result.text and 'value="45871236"' in result.text
        assert nothing_written(services)
    finally:
        services.close()


def test_six_annexes_are_refused(services, app):
    files = [("archivo", "s.pdf", sample_pdf("S"))] + [("anexos", f"a{i}.pdf", sample_pdf(f"A{i}")) for i in range(6)]
    result = presentar(Browser(app), files=files)
    assert result.status_code == 422 and "Puede adjuntar como máximo 5 anexos." in result.text
    assert nothing_written(services)


@pytest.mark.parametrize("missing, message", [
    ("email", "Escriba un correo electrónico válido"), ("direccion", "Escriba su dirección."),
    ("asunto", "Escriba el asunto"), ("nombres", "Escriba sus nombres."), ("tipo_documento", "Elija un tipo de documento"),
    ("acepta_notificacion", "debe aceptar la notificación"), ("declaracion", "Debe declarar que los datos"),
    ("numero_documento_identidad", "Escriba el número de documento."),
])
def test_missing_required_field(services, app, missing, message):
    result = presentar(Browser(app), [(k, v) for k, v in FORM if k != missing])
    assert result.status_code == 422 and message in result.text
    assert f'id="error-{missing}"' in result.text
    assert nothing_written(services)


def test_missing_main_document(services, app):
    result = presentar(Browser(app), files=[("anexos", "a.pdf", sample_pdf("A"))])
    assert result.status_code == 422 and "Adjunte el documento principal en PDF." in result.text
    assert nothing_written(services)


def test_public_form_needs_its_csrf_token(services, app):
    b = Browser(app)
    b.get("/presentar")
    refused = b.post("/presentar", FORM, files=[("archivo", "s.pdf", sample_pdf("S"))], csrf=False)
    assert refused.status_code == 403 and nothing_written(services)


# -- public tracking --------------------------------------------------------------------------------
def test_public_seguimiento_hides_staff_names_and_internal_notes(services, app, mesa):
    gdur = Actor.de_usuario(make_user("gdur", "oficina", "GDUR"))
    exp = file_tramite(services)
    step(services, exp, mesa, accion="conforme")
    derivar(services, exp, mesa, "GDUR", proveido="NOTA INTERNA: revisar con cuidado")
    recibir(services, exp, gdur)
    step(services, exp, gdur, accion="atender", respuesta="Se otorgó la licencia N° 123-2026")
    page = Browser(app).get(f"/seguimiento/{exp.codigo}")
    visible = text(page.text)
    assert page.status_code == 200 and "Atendido" in visible
    assert "Se otorgó la licencia N° 123-2026" in visible
    assert "NOTA INTERNA" not in page.text
    assert "mesa" not in re.findall(r"Usuario: (\w+)", page.text)
    assert "Gerencia de Desarrollo Urbano y Rural" in visible


@pytest.mark.fecha_fija("the filing date shown is Monday 2 March")
def test_lookup_by_number_and_identity_document(services, app):
    exp = file_tramite(services)
    b = Browser(app)
    found = b.get("/seguimiento", numero=exp.numero.replace("00000", ""), documento="45871236")
    # Número + documento (neither is a secret) shows only the state: never the tracking code, nor what it opens.
    assert found.status_code == 200 and f"Estado del expediente {exp.numero}" in found.text
    assert exp.estado in found.text and "02/03/2026" in found.text and "Mesa de Partes" in found.text
    assert exp.codigo not in found.text and exp.codigo.lower() not in found.text
    for hidden in ("/archivos/", "/constancia/", "/subsanar", "solicitud.pdf", exp.asunto):
        assert hidden not in found.text, hidden
    assert "location" not in found.headers and exp.codigo not in str(found.headers)
    wrong = b.get("/seguimiento", numero=exp.numero, documento="11111111")
    assert wrong.status_code == 404 and "No encontramos un trámite con ese número" in wrong.text
    assert b.get("/seguimiento/codigo-que-no-existe-123").status_code == 404
    by_code = b.get("/seguimiento", codigo=exp.codigo)
    assert by_code.headers["location"].endswith(f"/seguimiento/{exp.codigo}")


# -- subsanación ------------------------------------------------------------------------------------
def test_observacion_email_link_and_subsanacion_back_to_recepcion(services, app, mesa):
    exp = file_tramite(services)
    step(services, exp, mesa, accion="observar", observacion="Falta el plano de ubicación firmado")
    correo = Correo.get(Correo.tipo == "observacion")
    assert correo.destinatario == "ana@example.com" and correo.expediente_id == exp.id
    assert Evento.get(Evento.seq == correo.evento_seq).tarea == "notificar_observacion"
    b = Browser(app)
    page = b.get(f"/seguimiento/{exp.codigo}")
    assert "Su trámite fue observado." in page.text and f"/seguimiento/{exp.codigo}/subsanar" in page.text
    form = b.get(f"/seguimiento/{exp.codigo}/subsanar")
    assert form.status_code == 200 and "Falta el plano de ubicación firmado" in form.text
    bad = b.post(f"/seguimiento/{exp.codigo}/subsanar", [("descripcion", "Adjunto el plano")],
                 files=[("archivo", "plano.pdf", b"no es pdf")])
    assert bad.status_code == 422 and "no es un PDF" in bad.text
    ok = b.post(f"/seguimiento/{exp.codigo}/subsanar", [("descripcion", "Adjunto el plano firmado")],
                files=[("archivo", "plano firmado.pdf", sample_pdf("Plano"))])
    assert ok.status_code == 303
    exp = Expediente.get_by_id(exp.id)
    assert exp.estado == "Registrado" and exp.tarea_actual == "Recepción"
    assert Adjunto.get(Adjunto.tipo == "subsanacion").nombre == "plano firmado.pdf"
    assert "Recibimos su subsanación" in b.get(ok.headers["location"]).text
    assert b.get(f"/seguimiento/{exp.codigo}/subsanar").status_code == 409


@pytest.mark.fecha_fija("Monday's 2 business days end on Wednesday 4")
def test_no_subsanacion_in_time_is_no_presentado_and_the_citizen_is_told(services, app, mesa, clock):
    exp = file_tramite(services)
    step(services, exp, mesa, accion="observar", observacion="Falta la firma")
    clock.set(lima(2026, 3, 5, 0, 1))  # Monday's observation: Tue 3 and Wed 4 are the two days
    assert services.engine.fire_due_timers() >= 1
    exp = Expediente.get_by_id(exp.id)
    assert exp.estado == "No presentado" and exp.terminado
    assert Correo.select().where(Correo.tipo == "no_presentado").count() == 1
    b = Browser(app)
    assert "No presentado" in b.get(f"/seguimiento/{exp.codigo}").text
    late = b.get(f"/seguimiento/{exp.codigo}/subsanar")
    assert late.status_code == 409 and "no tiene una observación pendiente" in late.text
    assert not Tarea.select().where(Tarea.expediente == exp.id).exists()


def test_citizen_files_are_reachable_only_through_the_code(services, app):
    exp = file_tramite(services)
    other = file_tramite(services)
    b = Browser(app)
    mine = Adjunto.get(Adjunto.expediente == exp.id)
    theirs = Adjunto.get(Adjunto.expediente == other.id)
    assert b.get(f"/seguimiento/{exp.codigo}/archivos/{mine.id}").status_code == 200
    assert b.get(f"/seguimiento/{exp.codigo}/archivos/{theirs.id}").status_code == 404
    assert b.get(f"/adjuntos/{mine.id}").status_code == 303  # the staff route wants a login
