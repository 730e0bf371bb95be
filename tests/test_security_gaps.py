"""Tests for the ASVS rows SECURITY.md §8 listed as gaps: each fails without the fix it names."""
from __future__ import annotations

import logging

import pytest
from helpers import FakeClock, base_moment, build_services, file_tramite, make_user, step
from webclient import Browser

from mpv import history
from mpv.engine import Actor
from mpv.models import Evento, Sesion
from mpv.web.app import create_app


# -- V7.2.4 re-authentication ends the older session --------------------------------------------------
def test_login_while_signed_in_ends_the_older_session(services):
    make_user("mesa", "mesa", "MP")
    app = create_app(services)
    b = Browser(app)
    b.login("mesa")
    first = b.cookies["mpv_sesion"]
    b.login("mesa")  # a second POST /login with the first session's cookie
    second = b.cookies["mpv_sesion"]
    assert second != first and Sesion.select().count() == 1
    thief = Browser(app)
    thief.cookies["mpv_sesion"] = first
    assert thief.get("/inicio").status_code == 303
    assert b.get("/inicio").status_code == 200


# -- V16.4.1 log injection -------------------------------------------------------------------------------
def test_client_text_in_log_lines_is_escaped(services, caplog):
    app = create_app(services)
    b = Browser(app)
    b.get("/login")
    forged = "/expedientes/2026-000001/tareas/x%0D%0A2026-03-02 INFO mpv.web: Admin ingresó%1B[31m"
    with caplog.at_level(logging.INFO, logger="mpv"):
        assert b.post(forged, {}, csrf=False).status_code == 403
        assert b.post("/login", {"username": "ana\r\nINFO falso", "password": "x"}, csrf=False).status_code == 403
    lines = [r.getMessage() for r in caplog.records if r.name.startswith("mpv")]
    assert len(lines) == 2, lines
    for line in lines:
        assert "\n" not in line and "\r" not in line and "\x1b" not in line, line
    assert "x\\r\\n2026-03-02 INFO" in lines[0] and "\\x1b[31m" in lines[0]


# -- V2.4.1 refused requests fold into one audit row per address and minute -----------------------------
def _refusals(accion):
    return list(Evento.select().where((Evento.tipo == "acceso") & (Evento.accion == accion)).order_by(Evento.seq))


def test_refused_requests_fold_to_one_row_per_address_and_minute(services, clock, caplog):
    make_user("mesa", "mesa", "MP")
    app = create_app(services)
    flood, other = Browser(app, remote_addr="203.0.113.7"), Browser(app, remote_addr="203.0.113.8")
    flood.get("/login")
    other.get("/login")
    with caplog.at_level(logging.WARNING, logger="mpv.web"):
        for _ in range(50):
            assert flood.post("/logout", {}, csrf=False).status_code == 403  # CSRF failures
        assert other.post("/logout", {}, csrf=False).status_code == 403
    assert sum("Denied" in r.getMessage() for r in caplog.records) == 51  # the log keeps every refusal
    assert [(e.ip, e.actor_nombre) for e in _refusals("csrf")] == [("203.0.113.7", "anónimo"),
                                                                    ("203.0.113.8", "anónimo")]
    clock.advance(seconds=61)
    flood.post("/logout", {}, csrf=False)
    rows = _refusals("csrf")
    assert len(rows) == 3 and rows[-1].detalle.endswith("(y 49 más de esta dirección omitidas desde la fila anterior)")
    # A signed-in user's denial is still audited, apart from the anonymous flood from the same address.
    auditor = Browser(app, remote_addr="203.0.113.7")
    make_user("auditor", "auditor")
    auditor.login("auditor")
    assert auditor.get("/admin").status_code == 403
    assert [e.actor_nombre for e in _refusals("denegado")] == ["auditor"]
    assert history.verify().ok


# -- V3.4.1 HSTS over HTTPS; V4.1.1 a charset on every text response -------------------------------------
def test_hsts_on_https_responses_and_a_charset_on_every_text_response(services):
    from falcon import testing

    make_user("admin", "admin")
    exp = file_tramite(services)
    app = create_app(services)
    b = Browser(app)
    b.login("admin")
    client = testing.TestClient(app)
    paths = ["/", "/login", "/presentar", "/seguimiento", f"/seguimiento/{exp.codigo}", f"/constancia/{exp.codigo}",
             "/no-existe", "/static/mpv.css", "/static/mpv.js", "/static/visor.js", "/api/v1/no-existe",
             "/static/vendor/pdfjs/pdf.min.mjs"]
    for path in paths:
        for protocol in ("http", "https"):
            result = client.simulate_get(path, protocol=protocol, cookies=b.cookies)
            if result.status_code == 404 and path.startswith("/static/vendor"):
                continue  # pdf.js not installed on this machine
            hsts = result.headers.get("strict-transport-security")
            assert hsts == ("max-age=31536000; includeSubDomains" if protocol == "https" else None), (path, hsts)
            content_type = result.headers.get("content-type", "")
            if content_type.startswith("text/"):
                assert content_type.endswith("; charset=utf-8"), (path, content_type)
    for path in ("/inicio", "/tramites", "/admin", "/admin/usuarios"):
        result = b.get(path)
        assert result.status_code == 200 and result.headers["content-type"] == "text/html; charset=utf-8", path
    assert client.simulate_get("/static/mpv.css").headers["content-type"] == "text/css; charset=utf-8"
    assert client.simulate_post("/login", protocol="https").headers["strict-transport-security"].startswith(
        "max-age=31536000")


# -- V5.2.2 file names end in .pdf; the active-content check refuses past its time budget ------------------
def _presentar(b, files):
    from test_public import FORM

    b.get("/presentar")
    return b.post("/presentar", FORM, files=files)


def test_an_uploaded_pdf_is_kept_and_served_under_a_pdf_name(services):
    from mpv.demo import sample_pdf
    from mpv.models import Adjunto

    app = create_app(services)
    b = Browser(app)
    result = _presentar(b, [("archivo", "programa.exe", sample_pdf("S")), ("anexos", "Anexo.PDF", sample_pdf("A"))])
    assert result.status_code == 303
    assert sorted(a.nombre for a in Adjunto.select()) == ["Anexo.PDF", "programa.exe.pdf"]
    codigo = result.headers["location"].rsplit("/", 1)[1]
    principal = Adjunto.get(Adjunto.tipo == "principal")
    served = b.get(f"/seguimiento/{codigo}/archivos/{principal.id}")
    assert served.status_code == 200 and 'filename="programa.exe.pdf"' in served.headers["content-disposition"]
    # A row kept before the rule is served under a .pdf name too.
    Adjunto.update(nombre="viejo.exe").where(Adjunto.id == principal.id).execute()
    assert 'filename="viejo.exe.pdf"' in b.get(f"/seguimiento/{codigo}/archivos/{principal.id}").headers[
        "content-disposition"]


def test_a_pdf_the_active_content_walk_cannot_finish_is_refused(services, monkeypatch):
    from mpv import pdf
    from mpv.demo import sample_pdf
    from mpv.models import Expediente

    monkeypatch.setattr(pdf, "TIME_BUDGET_S", 0.0)  # no time at all; the real budget is 10 s of processor time
    result = _presentar(Browser(create_app(services)), [("archivo", "s.pdf", sample_pdf("S"))])
    assert result.status_code == 422 and "tiene una estructura demasiado compleja" in result.text
    assert Expediente.select().count() == 0


# -- V11.5.1 generated passwords carry at least 128 bits ----------------------------------------------------
def test_generated_and_demo_passwords_carry_128_bits(services):
    import math

    from mpv import passwords
    from mpv.demo import seed

    alphabet = set(passwords._ALPHABET)
    bits_per_symbol = math.log2(len(alphabet))
    generated = [passwords.generate_password() for _ in range(50)] + [p for _, _, p in seed(services, tramites=0)]
    for password in generated:
        assert set(password) <= alphabet and len(password) * bits_per_symbol >= 128, password
    assert len(set(generated)) == len(generated)


# -- V16.3.3 every administrative change, rate-limit refusal and refused file is in the audit chain ---------
def _admin_rows():
    return list(Evento.select().where(Evento.tipo == "admin").order_by(Evento.seq))


def test_every_admin_post_writes_one_audit_row_naming_the_change(services):
    from mpv.models import Feriado, Oficina, Procedimiento, TipoDocumento, Usuario

    make_user("admin", "admin")
    gdur = make_user("gdur", "oficina", "GDUR")
    app = create_app(services)
    admin = Browser(app, remote_addr="198.51.100.4")
    admin.login("admin")
    typed = "una-clave-bien-larga-y-secreta"
    steps = [
        ("/admin/usuarios/nuevo", {"username": "jperez", "nombre": "Juan Pérez", "email": "", "rol": "oficina",
                                   "oficina": "GDUR", "password": typed}, "usuario_creado", "jperez"),
        ("/admin/usuarios/nuevo", {"username": "lrojas", "nombre": "Luz Rojas", "email": "", "rol": "auditor",
                                   "oficina": "", "password": ""}, "usuario_creado", "lrojas"),
        (f"/admin/usuarios/{gdur.id}", {"nombre": "Gerencia Urbana", "email": "g@muni.example.gob.pe",
                                        "rol": "oficina", "oficina": "GDUR"}, "usuario_modificado", "Gerencia Urbana"),
        (f"/admin/usuarios/{gdur.id}/contrasena", {}, "contrasena_restablecida", "gdur"),
        (f"/admin/usuarios/{gdur.id}/sesiones", {}, "sesiones_cerradas", "gdur"),
        (f"/admin/usuarios/{gdur.id}/desactivar", {}, "usuario_desactivado", "gdur"),
        (f"/admin/usuarios/{gdur.id}/activar", {}, "usuario_activado", "gdur"),
        ("/admin/oficinas", {"codigo": "GTR", "nombre": "Gerencia de Transportes"}, "oficina_creado", "GTR"),
        ("/admin/oficinas/{GTR}", {"nombre": "Gerencia de Transporte Urbano"}, "oficina_renombrado",
         "Gerencia de Transporte Urbano"),
        ("/admin/oficinas/{GTR}/desactivar", {}, "oficina_desactivado", "GTR"),
        ("/admin/oficinas/{GTR}/activar", {}, "oficina_activado", "GTR"),
        ("/admin/tipos-documento", {"codigo": "ACTA", "nombre": "Acta"}, "tipo_documento_creado", "ACTA"),
        ("/admin/tipos-documento/{ACTA}", {"nombre": "Acta de constatación"}, "tipo_documento_renombrado", "constatación"),
        ("/admin/tipos-documento/{ACTA}/desactivar", {}, "tipo_documento_desactivado", "ACTA"),
        ("/admin/feriados", {"fecha": "2026-03-03", "nombre": "Aniversario del distrito", "tipo": "local"},
         "feriado_registrado", "Aniversario del distrito"),
        ("/admin/feriados/{feriado}/eliminar", {}, "feriado_eliminado", "03/03/2026"),
        ("/admin/oficinas/{GTR}/resumen", {}, "oficina_resumen_desactivado", "GTR"),
        ("/admin/tupa/nuevo", {"codigo": "LF-01", "nombre": "Licencia de funcionamiento", "requisitos": "Solicitud",
                               "derecho_tramite": "98.50", "calificacion": "positivo", "plazo_dias": "15",
                               "oficina": "GDUR", "base_legal": "Ley 28976"}, "procedimiento_creado", "LF-01"),
        ("/admin/tupa/{LF-01}", {"nombre": "Licencia de funcionamiento", "requisitos": "Solicitud",
                                 "derecho_tramite": "98.50", "calificacion": "positivo", "plazo_dias": "12",
                                 "oficina": "GDUR", "base_legal": "Ley 28976"}, "procedimiento_modificado", "15 → 12"),
        ("/admin/tupa/{LF-01}/desactivar", {}, "procedimiento_desactivado", "LF-01"),
        ("/admin/tupa/{LF-01}/activar", {}, "procedimiento_activado", "LF-01"),
        ("/admin/parametros", {"entidad_nombre": "Municipalidad de Ejemplo", "horario_inicio": "07:30",
                               "horario_fin": "15:30", "corte_presentacion": "17:00", "resumen_hora": "07:00",
                               "entidad_sigla": "MDE", "formato_numero_documento": "{TIPO} N° {correlativo:03d}-{anio}-"
                                                                                  "{oficina}/{sigla}"}, "parametros",
         "«17:00»"),
    ]
    for url, data, accion, names in steps:
        ids = {"{GTR}": Oficina.get_or_none(Oficina.codigo == "GTR"), "{ACTA}": TipoDocumento.get_or_none(
            TipoDocumento.codigo == "ACTA"), "{feriado}": Feriado.select().first(),
               "{LF-01}": Procedimiento.get_or_none(Procedimiento.codigo == "LF-01")}
        for key, row in ids.items():
            url = url.replace(key, str(row.id) if row else key)
        before = _admin_rows()
        assert admin.post(url, data).status_code == 303, url
        new = _admin_rows()[len(before):]
        assert [r.accion for r in new] == [accion], (url, [r.accion for r in new])
        row = new[0]
        assert names in f"{row.descripcion} {row.detalle}", (url, row.descripcion, row.detalle)
        assert (row.actor_nombre, row.rol, row.ip) == ("admin", "admin", "198.51.100.4")
    everything = " ".join(f"{r.descripcion} {r.detalle} {r.payload}" for r in Evento.select())
    assert typed not in everything
    shown = [c for c in Usuario.select() if c.username == "lrojas"]
    assert shown and shown[0].cambiar_clave
    assert history.verify().ok


def test_rate_limit_refusals_and_refused_files_are_audited_and_folded(settings, clock):
    import dataclasses

    from test_public import FORM

    services = build_services(dataclasses.replace(settings, limite_consultas=2), clock)
    try:
        app = create_app(services)
        b = Browser(app, remote_addr="203.0.113.9")
        statuses = [b.get("/seguimiento", codigo="X" * 26).status_code for _ in range(6)]
        assert statuses[:2] == [303, 303] and statuses[2:] == [429] * 4
        rows = _refusals("limite")
        assert [(r.ip, r.descripcion) for r in rows] == [("203.0.113.9", "Límite de solicitudes: GET /seguimiento")]
        b.get("/presentar")
        for content in (b"<html>no</html>", b"%PDF-1.4 /JavaScript (app.alert(1)) %%EOF"):
            result = b.post("/presentar", FORM, files=[("archivo", "malo.pdf", content)])
            assert result.status_code == 422
        rows = _refusals("archivo_rechazado")
        assert len(rows) == 1 and rows[0].descripcion == "Archivo rechazado: malo.pdf" and "no es un PDF" in rows[0].detalle
        clock.advance(seconds=61)
        b.post("/presentar", FORM, files=[("archivo", "otro.pdf", b"nada")])
        assert len(_refusals("archivo_rechazado")) == 2
    finally:
        services.close()


# -- V6.2.2/V6.2.3/V6.4.1/V7.5.2 Mi cuenta; V7.4.5 «Cerrar sesiones» -------------------------------------
NEW = "tres gatos pardos cruzan el rio de noche"


def test_change_own_password_needs_the_current_one_and_ends_the_other_sessions(services):
    from mpv.models import Usuario

    make_user("mesa", "mesa", "MP")
    app = create_app(services)
    laptop, phone = Browser(app, remote_addr="10.0.0.1"), Browser(app, remote_addr="10.0.0.2")
    laptop.login("mesa")
    phone.login("mesa")
    page = laptop.get("/cuenta")
    # Three to change the password, and the passphrase of the signing certificate's upload.
    assert page.status_code == 200 and page.text.count('type="password"') == 4
    assert page.text.count('autocomplete="off"') == 1
    assert 'autocomplete="current-password"' in page.text and page.text.count('autocomplete="new-password"') == 2
    assert "Esta sesión" in page.text and "10.0.0.2" in page.text and 'href="/cuenta"' in laptop.get("/inicio").text
    for data, field, message in [
        ({"actual": "equivocada-123456", "nueva": NEW, "confirmacion": NEW}, "actual", "La contraseña actual no es correcta."),
        ({"actual": "contraseña-de-prueba-1", "nueva": "mesa12345678", "confirmacion": "mesa12345678"}, "nueva",
         "demasiado común"),
        ({"actual": "contraseña-de-prueba-1", "nueva": NEW, "confirmacion": NEW + "x"}, "confirmacion", "no coincide"),
    ]:
        result = laptop.post("/cuenta/clave", data)
        assert result.status_code == 422 and message in result.text, field
        assert 'id="error-' + field + '"' in result.text
    assert phone.get("/inicio").status_code == 200  # nothing changed yet
    done = laptop.post("/cuenta/clave", {"actual": "contraseña-de-prueba-1", "nueva": NEW, "confirmacion": NEW})
    assert done.status_code == 303 and "Se cambió su contraseña" in laptop.get("/cuenta").text
    assert laptop.get("/inicio").status_code == 200 and phone.get("/inicio").status_code == 303
    row = Evento.select().where(Evento.accion == "cambio_clave").get()
    assert row.actor_nombre == "mesa" and NEW not in f"{row.descripcion} {row.detalle}"
    assert Browser(app).login("mesa", NEW) and not Usuario.get(Usuario.username == "mesa").cambiar_clave


def test_own_sessions_are_listed_and_another_one_can_be_ended(services):
    make_user("mesa", "mesa", "MP")
    make_user("gdur", "oficina", "GDUR")
    app = create_app(services)
    a, b, other = Browser(app), Browser(app), Browser(app)
    a.login("mesa")
    b.login("mesa")
    other.login("gdur")
    mine = Sesion.select().where(Sesion.token_hash != "").order_by(Sesion.id)
    a_id, b_id, other_id = [s.id for s in mine]
    page = a.get("/cuenta")
    assert f"/cuenta/sesiones/{b_id}/cerrar" in page.text and f"/cuenta/sesiones/{a_id}/cerrar" not in page.text
    assert f"/cuenta/sesiones/{other_id}/cerrar" not in page.text
    assert a.post(f"/cuenta/sesiones/{other_id}/cerrar", {}).status_code == 404  # not mine
    assert other.get("/inicio").status_code == 200
    assert a.post(f"/cuenta/sesiones/{a_id}/cerrar", {}).status_code == 422  # this one ends with «Salir»
    assert a.post(f"/cuenta/sesiones/{b_id}/cerrar", {}).status_code == 303
    assert b.get("/inicio").status_code == 303 and a.get("/inicio").status_code == 200
    assert Evento.select().where(Evento.accion == "sesion_cerrada").count() == 1


def test_a_password_set_by_an_administrator_must_be_changed_at_the_next_login(services):
    import re

    make_user("admin", "admin")
    app = create_app(services)
    admin = Browser(app)
    admin.login("admin")
    created = admin.post("/admin/usuarios/nuevo", {"username": "jperez", "nombre": "Juan Pérez", "email": "",
                                                   "rol": "mesa", "oficina": "", "password": ""})
    password = re.search(r"<code[^>]*>([^<]+)</code>", admin.get(created.headers["location"]).text).group(1)
    user = Browser(app)
    user.get("/login")
    result = user.post("/login", {"username": "jperez", "password": password, "siguiente": "/tramites"})
    assert result.status_code == 303 and result.headers["location"] == "/cuenta"
    for path in ("/inicio", "/tramites", "/admin"):
        blocked = user.get(path)
        assert blocked.status_code == 303 and blocked.headers["location"] == "/cuenta", path
    page = user.get("/cuenta")
    assert "Elija su propia contraseña." in page.text and "Sesiones abiertas" not in page.text
    assert user.post("/cuenta/clave", {"actual": password, "nueva": NEW, "confirmacion": NEW}).status_code == 303
    assert user.get("/tramites").status_code == 200
    # A reset flags it again; «Cerrar sesiones» ends the user's sessions and leaves the account active.
    from mpv.models import Usuario

    jperez = Usuario.get(Usuario.username == "jperez")
    assert "Cerrar sesiones" in admin.get(f"/admin/usuarios/{jperez.id}").text
    assert admin.post(f"/admin/usuarios/{jperez.id}/sesiones", {}).status_code == 303
    assert user.get("/tramites").status_code == 303 and Usuario.get_by_id(jperez.id).activo
    admin.post(f"/admin/usuarios/{jperez.id}/contrasena", {})
    assert Usuario.get_by_id(jperez.id).cambiar_clave


def test_demo_users_are_not_asked_to_change_their_password(services):
    from mpv.demo import seed
    from mpv.models import Usuario

    assert seed(services, tramites=0)
    assert not Usuario.select().where(Usuario.cambiar_clave == True).exists()  # noqa: E712


def test_init_db_adds_the_new_column_to_an_older_database(services):
    from mpv.models import Usuario

    antiguo = make_user("mesa", "mesa", "MP")
    exp = file_tramite(services)  # rows that point at the user: its session and the history it wrote
    step(services, exp, Actor.de_usuario(antiguo), accion="conforme")
    suyos = Evento.select().where(Evento.actor == antiguo.id).count()
    assert suyos >= 1
    services.db.peewee.execute_sql("ALTER TABLE usuario DROP COLUMN cambiar_clave")  # as an older MPV made it
    assert "cambiar_clave" not in services.db.columns("usuario")
    services.init_db()
    assert "cambiar_clave" in services.db.columns("usuario")
    assert Usuario.get_by_id(antiguo.id).cambiar_clave is False
    services.init_db()  # idempotent
    assert Evento.select().where(Evento.actor == antiguo.id).count() == suyos


# -- V16.2.2 process-log timestamps in UTC with an offset --------------------------------------------------
def test_process_log_lines_are_stamped_in_utc_with_an_offset():
    from mpv.cli import UTCFormatter

    record = logging.LogRecord("mpv.web", logging.WARNING, __file__, 1, "Denied %s", ("x",), None)
    record.created, record.msecs = 1772461800.25, 250.0  # 2026-03-02 14:30:00.25 UTC = 09:30 in Lima
    line = UTCFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s").format(record)
    assert line == "2026-03-02T14:30:00.250+00:00 WARNING mpv.web: Denied x"


# -- V12.3.1 a plaintext connection to another host is warned about at start --------------------------------
def test_plaintext_database_or_mail_to_another_host_is_warned_about(tmp_path, caplog):
    from mpv.config import Settings
    from mpv.web.server import warn_plaintext

    cases = [
        ({"database_url": "postgresql://mpv@db.muni.internal/mpv", "smtp_host": "smtp.muni.internal",
          "smtp_starttls": False}, ["db.muni.internal", "smtp.muni.internal"]),
        ({"database_url": "postgresql://mpv@db.muni.internal/mpv?sslmode=verify-full", "smtp_host": "smtp.muni.internal"}, []),
        ({"database_url": "postgresql://mpv@127.0.0.1/mpv", "smtp_host": "localhost", "smtp_starttls": False}, []),
        ({"database_url": "postgresql:///mpv?host=/var/run/postgresql"}, []),
        ({}, []),  # SQLite
    ]
    for options, hosts in cases:
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="mpv.web.server"):
            warn_plaintext(Settings(data_dir=tmp_path, **options))
        warned = [r.getMessage() for r in caplog.records]
        assert len(warned) == len(hosts), (options, warned)
        for host, line in zip(hosts, warned):
            assert line.startswith("Conexión sin cifrar:") and host in line


# -- cheap tests for the "Gap (test)" rows ----------------------------------------------------------------
HOSTILE = '<script>alert(1)</script>"><img src=x onerror=alert(2)>{{ 7 * 7 }}'


def test_hostile_text_filed_by_a_citizen_comes_out_escaped_and_literal(services):
    """V1.1.2, V1.2.1, V1.3.7: asunto, nombres and file name with markup and template syntax."""
    exp = file_tramite(services, asunto=f"Licencia {HOSTILE}", nombres=f"Ana {HOSTILE}"[:120],
                       nombre=f"plano{HOSTILE}.pdf")
    make_user("mesa", "mesa", "MP")
    app = create_app(services)
    staff = Browser(app)
    staff.login("mesa")
    citizen = Browser(app)
    pages = [staff.get("/tramites"), staff.get(f"/expedientes/{exp.numero}"),
             staff.get(f"/expedientes/{exp.numero}/seguimiento"), citizen.get(f"/seguimiento/{exp.codigo}"),
             citizen.get(f"/constancia/{exp.codigo}")]
    for page in pages:
        assert page.status_code == 200
        assert "<script>alert(1)" not in page.text and "<img src=x" not in page.text, page.text[:200]
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text
        assert "{{ 7 * 7 }}" in page.text


def test_the_bpmn_sandbox_refuses_python_internals_and_shows_the_text_as_written(services, caplog):
    """V1.3.7: an analyst's instruction cannot reach Python's internals; task data stays data."""
    from mpv.web.render import Renderer

    renderer = Renderer(services.calendario, services.clock)
    with caplog.at_level(logging.WARNING, logger="mpv.web.render"):
        shown = renderer.bpmn_text("{{ ''.__class__.__mro__[1].__subclasses__() }}", {})
    assert str(shown) == "{{ &#39;&#39;.__class__.__mro__[1].__subclasses__() }}"
    assert "unsafe" in caplog.records[0].getMessage()
    assert str(renderer.bpmn_text("Revise: {{ asunto }}", {"asunto": "{{ 7 * 7 }}<b>"})) == "Revise: {{ 7 * 7 }}&lt;b&gt;"


def test_a_name_with_cr_lf_injects_no_mail_header(services):
    """V1.3.11: a CR or LF in the sender's name is refused at filing (nothing is written, nothing will be
    mailed); a name that got in before that rule still goes into To: on one line, with no header of its own."""
    from mpv.correo.mensajes import Mensajes
    from mpv.errors import InvalidInput
    from mpv.models import Correo, Expediente

    with pytest.raises(InvalidInput) as refused:
        file_tramite(services, nombres="Ana\r\nBcc: x@evil.example")
    assert "una sola línea" in refused.value.campos["nombres"]
    assert not Expediente.select().exists() and not Correo.select().exists()

    exp = file_tramite(services)
    with services.db.write():  # as a row filed before the rule would read
        Expediente.update(remitente_nombre="Ana\r\nBcc: x@evil.example").where(Expediente.id == exp.id).execute()
    correo = Correo.get(Correo.expediente == exp.id)
    msg = Mensajes(services).build(correo, services.clock())
    headers = msg.as_bytes().split(b"\n\n")[0]  # the body may quote the name as it is: it is text, not headers
    assert b"\nBcc:" not in headers and msg["Bcc"] is None
    assert b'\nTo: "Ana Bcc: x@evil.example" <ana@example.com>\n' in headers
    assert msg["To"].addresses[0].addr_spec == "ana@example.com"


def test_static_scripts_use_no_html_sinks():
    """V3.2.2: the scripts write text with textContent only."""
    from pathlib import Path

    import mpv.web

    scripts = list((Path(mpv.web.__file__).parent / "static").glob("*.js"))
    assert scripts
    for script in scripts:
        code = script.read_text(encoding="utf-8")
        for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function"):
            assert sink not in code, (script.name, sink)
        assert "paste" not in code  # V6.2.7: nothing interferes with pasting a password


def test_password_fields_are_type_password_with_autocomplete(services):
    """V6.2.6, V6.2.7."""
    import re

    make_user("admin", "admin")
    app = create_app(services)
    b = Browser(app)
    login = b.get("/login").text
    assert re.search(r'<input type="password" id="password" name="password" autocomplete="current-password"', login)
    assert 'autocomplete="username"' in login
    b.login("admin")
    form = b.get("/admin/usuarios/nuevo").text
    assert re.search(r'<input type="password" id="f-password" name="password" autocomplete="new-password"', form)
    assert not re.search(r'<input type="(text|hidden)"[^>]*name="(password|actual|nueva|confirmacion)"',
                         form + b.get("/cuenta").text)


def test_passphrases_of_64_and_more_characters_are_accepted_up_to_128():
    """V6.2.9."""
    from mpv.passwords import MAX_LENGTH, password_problem

    long = "el cóndor pasa sobre los andes nevados mientras la llama duerme tranquila"
    assert len(long) >= 64 and password_problem(long) is None
    # Past zxcvbn's 72-character limit too (it raises there; the check looks at the first 72).
    assert password_problem(long + " y el río suena") is None
    assert password_problem((long * 2)[:128]) is None
    assert "como máximo 128" in password_problem((long * 2)[:129]) and MAX_LENGTH == 128


def test_a_fresh_database_has_no_user(settings, clock, capsys):
    """V6.3.2: `mpv init-db` creates no account."""
    from mpv.cli import main
    from mpv.models import Usuario

    assert main(["init-db"], settings=settings, clock=clock) == 0
    from mpv.services import Services

    services = Services.build(settings, clock=clock)
    try:
        assert Usuario.select().count() == 0
    finally:
        services.close()


def test_trace_is_405_and_static_folders_are_not_listed(services):
    """V13.4.3, V13.4.4."""
    from falcon import testing

    client = testing.TestClient(create_app(services))
    for path in ("/", "/login", "/seguimiento"):
        assert client.simulate_request("TRACE", path).status_code == 405, path
    for path in ("/static/", "/static", "/static/vendor/pdfjs/", "/static/vendor/"):
        result = client.simulate_get(path)
        assert result.status_code == 404 and "visor.js" not in result.text and "pdf.min.mjs" not in result.text, path


def test_every_staff_page_shows_the_logout_form(services):
    """V7.4.4."""
    make_user("admin", "admin")
    make_user("mesa", "mesa", "MP")
    make_user("gdur", "oficina", "GDUR")
    exp = file_tramite(services)
    app = create_app(services)
    for role, paths in {"admin": ["/inicio", "/tramites", "/admin", "/admin/usuarios", "/admin/oficinas",
                                  "/admin/feriados", "/admin/parametros", "/admin/correos", "/cuenta",
                                  f"/expedientes/{exp.numero}"],
                        "mesa": ["/inicio", "/tramites", f"/expedientes/{exp.numero}/derivar", "/cuenta"],
                        "gdur": ["/inicio", "/bandeja", "/cuenta"]}.items():
        b = Browser(app)
        b.login(role)
        for path in paths:
            page = b.get(path)
            assert page.status_code == 200, (role, path)
            assert '<form method="post" action="/logout">' in page.text and ">Salir</button>" in page.text, (role, path)


def test_an_unexpected_error_logs_its_incident_code_with_the_traceback(services, monkeypatch, caplog):
    """V16.3.4."""
    import re

    make_user("mesa", "mesa", "MP")
    b = Browser(create_app(services))
    b.login("mesa")
    monkeypatch.setattr("mpv.tramites.listados.tramites", lambda *a, **k: 1 / 0)
    with caplog.at_level(logging.ERROR, logger="mpv.web"):
        crashed = b.get("/tramites")
    assert crashed.status_code == 500 and "Traceback" not in crashed.text
    code = re.search(r"\b([0-9A-F]{8})\b", crashed.text.split("incidente", 1)[1]).group(1)
    [record] = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert code in record.getMessage() and record.exc_info and record.exc_info[0] is ZeroDivisionError


def test_allowed_gets_change_nothing(services):
    """V3.5.3: reading pages leaves the expediente, its tasks and its history as they were."""
    from mpv.models import Expediente, Tarea

    make_user("mesa", "mesa", "MP")
    exp = file_tramite(services)
    app = create_app(services)
    b = Browser(app)
    b.login("mesa")

    def state():
        e = Expediente.get_by_id(exp.id)
        tareas = sorted((t.task_id, t.rol) for t in Tarea.select().where(Tarea.expediente == exp.id))
        return e.version, e.estado, tareas, Evento.select().where(Evento.tipo != "acceso").count()

    before = state()
    task_id = Tarea.get(Tarea.expediente == exp.id).task_id
    for path in ("/inicio", "/tramites", f"/expedientes/{exp.numero}", f"/expedientes/{exp.numero}/seguimiento",
                 f"/expedientes/{exp.numero}/derivar", f"/expedientes/{exp.numero}/tareas/{task_id}",
                 f"/seguimiento/{exp.codigo}", f"/constancia/{exp.codigo}", f"/constancia/{exp.codigo}/pdf"):
        assert b.get(path).status_code in (200, 303, 403), path
    assert state() == before


# -- V4.1.3, V15.3.4 proxy headers believed only from MPV_TRUSTED_PROXY, against a real `mpv serve` -----------
@pytest.mark.parametrize("trusted", [False, True], ids=["sin-proxy-de-confianza", "proxy-de-confianza"])
def test_forged_forwarded_headers_change_nothing_unless_from_the_trusted_proxy(trusted, database_url, tmp_path):
    """A client sends X-Forwarded-For/-Proto itself. Without MPV_TRUSTED_PROXY waitress drops them: the audit
    row keeps the peer's address and the cookies are not marked Secure. From the trusted proxy (here the
    test itself, on 127.0.0.1) they are believed: the client's address is audited and cookies are Secure."""
    import http.client
    import os
    import re
    from urllib.parse import urlencode

    from helpers import Server, free_port

    from mpv.config import Settings

    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("MPV_")}
    env.update(MPV_DATA_DIR=str(tmp_path / "datos"), MPV_DATABASE_URL=database_url, MPV_HOST="127.0.0.1",
               MPV_PORT=str(port), PYTHONUNBUFFERED="1", **({"MPV_TRUSTED_PROXY": "127.0.0.1"} if trusted else {}))
    server = Server(env, tmp_path / "servidor.log", port)
    forged = {"X-Forwarded-For": "203.0.113.7", "X-Forwarded-Proto": "https", "X-Forwarded-Host": "evil.example"}
    server.start()
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        conn.request("GET", "/login", headers=forged)
        page = conn.getresponse()
        html = page.read().decode()
        set_cookies = page.headers.get_all("Set-Cookie")
        csrf = re.search(r'name="csrf" value="([^"]+)"', html).group(1)
        cookie = "; ".join(c.split(";")[0] for c in set_cookies)
        conn.request("POST", "/login", body=urlencode({"csrf": csrf, "username": "nadie", "password": "x" * 12}),
                     headers={**forged, "Content-Type": "application/x-www-form-urlencoded", "Cookie": cookie})
        answer = conn.getresponse()
        answer.read()
        conn.close()
    finally:
        server.stop()
    assert answer.status in (401, 422), server.log_tail()
    assert all(("Secure" in c) == trusted for c in set_cookies), set_cookies
    assert ("strict-transport-security" in {k.lower() for k, _ in page.getheaders()}) == trusted
    services = build_services(Settings(data_dir=tmp_path / "datos", database_url=database_url),
                              FakeClock(base_moment(9, 30)))
    try:
        row = Evento.get(Evento.accion == "ingreso_fallido")
        assert row.ip == ("203.0.113.7" if trusted else "127.0.0.1")
    finally:
        services.close()
