"""Tests for the ASVS rows SECURITY.md §8 listed as gaps: each fails without the fix it names."""
from __future__ import annotations

import logging

from helpers import file_tramite, make_user
from webclient import Browser

from mpv import history
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


# -- V5.2.2 file names end in .pdf; the active-content walk refuses past its limit -------------------------
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

    monkeypatch.setattr(pdf, "WALK_LIMIT", 3)  # sample_pdf has a handful of objects; the real limit is 20,000
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
