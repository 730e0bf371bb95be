"""E-mail to citizens through a real SMTP server on loopback (aiosmtpd): every notice, retries while the
server is down, the administrator's queue, the outbox folder, and two senders that never send twice."""
from __future__ import annotations

import io
import random
import threading
from datetime import timedelta
from email import message_from_bytes, policy

import pytest
from helpers import SmtpServer, build_services, derivar, file_tramite, free_port, lima, make_user, recibir, step, task_of
from webclient import Browser

from mpv.cli import main
from mpv.config import Settings
from mpv.correo.mailer import ESPERAS_MINUTOS, MAX_INTENTOS, RESERVA, Mailer
from mpv.correo_direccion import direccion
from mpv.demo import sample_pdf, seed
from mpv.errors import InvalidInput
from mpv.engine import Actor, NuevoAdjunto
from mpv.tramites.presentacion import referenced
from mpv.models import Adjunto, Correo, Expediente
from mpv.demo.personas import persona
from mpv.web.app import create_app

BASE = "https://mpv.muni.example.gob.pe"
ENTIDAD = "Municipalidad Distrital (demostración)"


def body(message) -> str:
    return message.get_body(("plain",)).get_content().replace("\r\n", "\n")


@pytest.fixture
def server():
    """An SMTP server on a free port, not started yet (nothing listens there until ``start()``)."""
    smtp = SmtpServer(free_port())
    yield smtp
    smtp.stop()


@pytest.fixture
def smtp(server):
    server.start()
    return server


@pytest.fixture
def settings(tmp_path, database_url, server):
    """This module's services send through ``server`` (started or not)."""
    return Settings(data_dir=tmp_path / "data", database_url=database_url, smtp_host="127.0.0.1",
                    smtp_port=server.port, smtp_starttls=False, base_url=BASE)


@pytest.fixture
def mailer(services):
    return Mailer(services, timeout=5)


def correo(tipo: str = "constancia") -> Correo:
    return Correo.get(Correo.tipo == tipo)


def atender_con_pdf(services, exp, oficina: Actor, pdf: bytes, nombre: str, **data):
    """The office answers with a response PDF, as the Atención form's file field sends it."""
    received = services.storage.receive(io.BytesIO(pdf), nombre, services.limits.principal_bytes)
    with services.storage.kept([received], referenced) as stored:
        adjuntos = [NuevoAdjunto(s.sha256, s.nombre, s.size, "archivo_respuesta") for s in stored]
        return services.engine.complete(exp.id, task_of(services, exp, oficina), oficina,
                                        {"accion": "atender", **data}, adjuntos)


# -- the notices -------------------------------------------------------------------------------------
@pytest.mark.fecha_fija("the mail says Monday 2 March, 09:30")
def test_filing_sends_the_constancia_once(services, mailer, smtp, clock):
    exp = file_tramite(services, anexos=[sample_pdf("Anexo")])
    assert mailer.send_due() == 1
    [(to, message)] = smtp.messages
    assert to == ["ana@example.com"]
    assert message["Subject"] == f"Expediente N° {exp.numero}: Constancia de presentación"
    assert message["From"] == services.settings.smtp_from
    assert message["To"].addresses[0].display_name == "Ana Rojas Villanueva"
    text = body(message)
    assert exp.numero in text and exp.codigo in text and ENTIDAD in text
    assert "Enviado el:             02/03/2026 a las 09:30" in text
    assert "Fecha de presentación:  02/03/2026" in text
    adjuntos = list(Adjunto.select().where(Adjunto.expediente == exp.id).order_by(Adjunto.id))
    assert [a.nombre for a in adjuntos] == ["solicitud.pdf", "anexo1.pdf"]
    for adjunto in adjuntos:
        assert f"SHA-256: {adjunto.sha256}" in text and adjunto.nombre in text
    assert f"{BASE}/constancia/{exp.codigo}" in text and f"{BASE}/seguimiento/{exp.codigo}" in text
    [pdf] = [part for part in message.iter_attachments()]
    assert pdf.get_filename() == f"constancia-{exp.numero}.pdf"
    assert pdf.get_content().startswith(b"%PDF-")
    row = correo()
    assert (row.estado, row.intentos, row.ultimo_error, row.enviado_en) == ("enviado", 1, "", clock())
    assert mailer.send_due() == 0 and len(smtp.messages) == 1


def test_constancia_of_a_saturday_filing_names_the_next_business_day(services, mailer, smtp, clock):
    clock.set(lima(2026, 3, 7, 22, 15))  # Saturday night
    file_tramite(services)
    mailer.send_due()
    text = body(smtp.subject("Constancia"))
    assert "07/03/2026 a las 22:15" in text
    assert "se considera presentado el 09/03/2026 (Ley 31465)" in text


@pytest.mark.fecha_fija("Monday's 2 business days end on Wednesday 4")
def test_observacion_says_what_to_correct_until_when_and_where(services, mailer, smtp, staff):
    exp = file_tramite(services)
    step(services, exp, staff["mesa"], accion="observar", observacion="Falta la copia del DNI\ny la firma")
    assert mailer.send_due() == 2
    message = smtp.subject("Observación")
    assert message["Subject"] == f"Expediente N° {exp.numero}: Observación: subsane su trámite dentro del plazo"
    text = body(message)
    assert "  Falta la copia del DNI\n  y la firma" in text
    # Observed on Monday 2 March: Tuesday 3 and Wednesday 4 are the two business days.
    assert "Plazo para subsanar: hasta el 04/03/2026, inclusive" in text
    assert text.count(f"{BASE}/seguimiento/{exp.codigo}") == 1 and "art. 136" in text
    assert "Para subsanar, ingrese a su trámite" in text


def test_a_late_observacion_notice_does_not_give_a_stale_deadline(services, mailer, smtp, staff):
    exp = file_tramite(services)
    step(services, exp, staff["mesa"], accion="observar", observacion="Falta firma")
    step(services, exp, Actor.ciudadano(Expediente.get_by_id(exp.id)), descripcion="Adjunto la firma")
    mailer.send_due()
    text = body(smtp.subject("Observación"))
    assert "Falta firma" in text and "ya cambió de estado desde entonces" in text
    assert "Plazo para subsanar" not in text and "queda en espera" not in text


def test_atencion_sends_the_answers_with_the_response_pdf(services, mailer, smtp, staff):
    exp = file_tramite(services)
    step(services, exp, staff["mesa"], accion="conforme")
    derivar(services, exp, staff["mesa"], "GDUR", "SGAT")
    recibir(services, exp, staff["gdur"])
    recibir(services, exp, staff["rentas"])
    pdf = sample_pdf("Resolución 015")
    atender_con_pdf(services, exp, staff["gdur"], pdf, "resolución 015.pdf", respuesta="Se otorga la licencia",
                    proveido="Nota interna: no mostrar al ciudadano")
    step(services, exp, staff["rentas"], accion="atender", respuesta="No registra deudas tributarias")
    assert Expediente.get_by_id(exp.id).estado == "Atendido"
    assert mailer.send_due() == 2
    message = smtp.subject("Respuesta a su trámite")
    text = body(message)
    assert "Respuesta de Gerencia de Desarrollo Urbano" in text and "  Se otorga la licencia" in text
    assert "Respuesta de Subgerencia de Administración Tributaria" in text and "No registra deudas" in text
    assert "Nota interna" not in text
    [attachment] = list(message.iter_attachments())
    assert attachment.get_filename() == "resolución 015.pdf" and attachment.get_content_type() == "application/pdf"
    stored = Adjunto.get(Adjunto.tipo == "archivo_respuesta")
    assert attachment.get_content() == services.storage.path(stored.sha256).read_bytes() == pdf


def test_response_files_too_big_for_mail_are_named_not_attached(services, mailer, smtp, staff):
    exp = file_tramite(services)
    step(services, exp, staff["mesa"], accion="conforme")
    derivar(services, exp, staff["mesa"], "GDUR")
    recibir(services, exp, staff["gdur"])
    big = b"%PDF-1.4\n" + b"0" * (16 * 1024 * 1024)  # over MAX_ADJUNTOS_BYTES (15 MB)
    atender_con_pdf(services, exp, staff["gdur"], big, "planos.pdf", respuesta="Se aprueban los planos")
    assert mailer.send_due() == 2
    message = smtp.subject("Respuesta a su trámite")
    assert not list(message.iter_attachments())
    text = body(message)
    assert "Documentos: planos.pdf" in text and "(16.0 MB) no se adjuntan" in text


def test_archivado_gives_the_reason(services, mailer, smtp, staff):
    exp = file_tramite(services)
    step(services, exp, staff["mesa"], accion="archivar", motivo="Duplicado del expediente 2026-000010")
    mailer.send_due()
    text = body(smtp.subject("archivado"))
    assert exp.numero in text and "  Duplicado del expediente 2026-000010" in text


@pytest.mark.fecha_fija("Monday's 2 business days end on Wednesday 4")
def test_no_presentado_when_the_plazo_to_correct_runs_out(services, mailer, smtp, staff, clock):
    exp = file_tramite(services)
    step(services, exp, staff["mesa"], accion="observar", observacion="Falta el plano de ubicación")
    clock.set(lima(2026, 3, 5, 0, 1))
    assert services.engine.fire_due_timers() == 2
    assert mailer.send_due() == 3
    text = body(smtp.subject("no presentado"))
    assert exp.numero in text and "Falta el plano de ubicación" in text
    assert "artículo 136 del TUO de la Ley 27444" in text and "no presentada" in text


@pytest.mark.parametrize("tipo, destinatario, error", [
    ("felicitacion", "ana@example.com", "No hay plantilla de correo para el aviso «felicitacion»"),
    ("constancia", "ana.example.com", "La dirección del remitente no es válida: «ana.example.com»"),
])
def test_a_message_that_can_never_be_sent_fails_at_once(services, mailer, smtp, tipo, destinatario, error):
    exp = file_tramite(services)
    first = correo()
    with services.db.write():
        Correo.delete().execute()
        Correo.insert(expediente=exp.id, tipo=tipo, destinatario=destinatario, evento_seq=first.evento_seq,
                      proximo_intento=first.proximo_intento, creado_en=first.creado_en).execute()
    assert mailer.send_due() == 0 and not smtp.messages
    row = Correo.get()
    assert (row.estado, row.intentos) == ("fallido", 1) and error in row.ultimo_error


# -- the filing and the mailer agree on what an address is ---------------------------------------------
ADDRESSES = ["ana@example.com", "Ana.Rojas+mpv@Example.COM", "ana@münchen.de", "lucía@example.com",
             "josé@example.com", "ana..rojas@example.com", "ana@localhost", "ana.example.com"]


@pytest.mark.parametrize("address", ADDRESSES)
def test_the_filing_and_the_mailer_agree_on_every_address(services, mailer, smtp, address):
    """What the filing accepts, the mailer sends (a domain in another script in its ASCII form, which every
    relay reads); an address it could never send to, the filing refuses."""
    try:
        file_tramite(services, email=address)
        accepted = True
    except InvalidInput as exc:
        accepted = False
        assert "email" in exc.campos, exc.campos
        file_tramite(services)
        with services.db.write():  # as a row filed before the filing checked addresses this way
            Correo.update(destinatario=address).execute()
    mailer.send_due()
    row = correo()
    assert (row.estado == "enviado") == accepted, row.ultimo_error
    if accepted:
        [(to, message)] = smtp.messages
        assert to == [direccion(address).envio] and to[0].isascii()
        assert message["To"].addresses[0].addr_spec == to[0]
    else:
        assert row.estado == "fallido" and "La dirección del remitente no es válida" in row.ultimo_error


def test_the_demo_data_mails_every_constancia(services, mailer, smtp):
    """The trámites ``mpv demo`` files (``make run``) have addresses the mailer takes: no «no es válida» error."""
    seed(services, 8)
    while mailer.send_due():
        pass
    rows = list(Correo.select())
    assert rows and [r.estado for r in rows] == ["enviado"] * len(rows), [
        (r.destinatario, r.ultimo_error) for r in rows if r.estado != "enviado"]
    assert len(smtp.messages) == len(rows)


def test_seeded_senders_have_addresses_the_mailer_takes():
    rng = random.Random(20260302)
    for _ in range(3000):
        email = persona(rng)["email"]
        assert direccion(email).normalizada == email


# -- failures and retries ----------------------------------------------------------------------------
def test_smtp_down_keeps_the_filing_and_retries_later(services, mailer, server, clock):
    exp = file_tramite(services)  # nothing listens on the port: the filing does not care
    assert Expediente.get_by_id(exp.id).estado == "Registrado"
    assert mailer.send_due() == 0
    row = correo()
    assert (row.estado, row.intentos) == ("pendiente", 1)
    assert "conexión rechazada" in row.ultimo_error and str(server.port) in row.ultimo_error
    assert row.proximo_intento == clock() + timedelta(minutes=ESPERAS_MINUTOS[0])
    server.start()
    assert mailer.send_due() == 0  # not due yet
    clock.advance(minutes=ESPERAS_MINUTOS[0])
    assert mailer.send_due() == 1
    assert len(server.messages) == 1
    row = correo()
    assert (row.estado, row.intentos, row.ultimo_error) == ("enviado", 2, "")


def test_after_the_last_attempt_it_is_fallido_and_the_admin_retries_it(services, mailer, server, clock):
    exp = file_tramite(services)
    for intento in range(1, MAX_INTENTOS + 1):
        assert mailer.send_due() == 0
        row = correo()
        assert row.intentos == intento
        if intento < MAX_INTENTOS:
            assert row.estado == "pendiente"
            clock.advance(minutes=ESPERAS_MINUTOS[intento - 1])
    assert row.estado == "fallido" and "conexión rechazada" in row.ultimo_error
    clock.advance(days=2)
    assert mailer.send_due() == 0 and correo().intentos == MAX_INTENTOS  # no more attempts by itself

    make_user("admin", "admin")
    admin = Browser(create_app(services))
    admin.login("admin")
    page = admin.get("/admin/correos", estado="fallido")
    assert page.status_code == 200
    for text in (exp.numero, "Constancia de presentación", "ana@example.com", "conexión rechazada",
                 f"<td data-label=\"Intentos\">{MAX_INTENTOS}</td>", "Fallidos (1)", "Reintentar"):
        assert text in page.text, text
    assert "No hay correos enviados" in admin.get("/admin/correos", estado="enviado").text
    assert admin.post(f"/admin/correos/{row.id}/reintentar", {"estado": "fallido"}, csrf=False).status_code == 403
    result = admin.post(f"/admin/correos/{row.id}/reintentar", {"estado": "fallido"})
    assert result.status_code == 303 and result.headers["location"] == "/admin/correos?estado=fallido"
    assert f"El correo N° {row.id} del expediente {exp.numero}" in admin.get(result.headers["location"]).text
    row = correo()
    assert (row.estado, row.proximo_intento) == ("pendiente", clock())

    server.start()
    assert mailer.send_due() == 1 and len(server.messages) == 1
    assert correo().estado == "enviado"
    page = admin.get("/admin/correos", estado="enviado")
    assert exp.numero in page.text and "Reintentar" not in page.text.split("<tbody>")[1]
    again = admin.post(f"/admin/correos/{row.id}/reintentar", {"estado": "enviado"})
    assert "ya se envió" in admin.get(again.headers["location"]).text
    assert admin.post("/admin/correos/999999/reintentar", {}).status_code == 404


def test_the_queue_is_for_administrators_only(services, smtp):
    make_user("mesa", "mesa", "MP")
    browser = Browser(create_app(services))
    browser.login("mesa")
    assert browser.get("/admin/correos").status_code == 403
    anonymous = Browser(create_app(services)).get("/admin/correos")
    assert anonymous.headers["location"] == "/login?siguiente=%2Fadmin%2Fcorreos"


def test_the_queue_pages_by_fifty_newest_first(services, smtp, clock):
    file_tramite(services)
    first = correo()
    with services.db.write():
        Correo.insert_many([{"expediente": first.expediente_id, "tipo": "atencion",
                             "destinatario": f"c{i}@example.com", "evento_seq": first.evento_seq,
                             "proximo_intento": clock(), "creado_en": clock()} for i in range(54)]).execute()
    make_user("admin", "admin")
    admin = Browser(create_app(services))
    admin.login("admin")
    page = admin.get("/admin/correos", estado="pendiente")
    assert "Pendientes (55)" in page.text and page.text.count('data-label="N°"') == 50
    assert "c53@example.com" in page.text and "ana@example.com" not in page.text
    assert "estado=pendiente&amp;antes=6" in page.text
    older = admin.get("/admin/correos", estado="pendiente", antes=6)
    assert older.text.count('data-label="N°"') == 5 and "ana@example.com" in older.text
    assert "Anteriores" not in older.text and "Más recientes" in older.text


def test_a_message_being_sent_cannot_be_retried_by_hand(services, mailer, smtp, clock):
    file_tramite(services)
    row = correo()
    with services.db.write():  # what a sender's claim looks like while it talks to the server
        Correo.update(intentos=1, proximo_intento=clock() + RESERVA).where(Correo.id == row.id).execute()
    make_user("admin", "admin")
    admin = Browser(create_app(services))
    admin.login("admin")
    assert "Enviándose" in admin.get("/admin/correos").text
    result = admin.post(f"/admin/correos/{row.id}/reintentar", {"estado": ""})
    assert "se está enviando en este momento" in admin.get(result.headers["location"]).text
    assert correo().proximo_intento == clock() + RESERVA
    clock.advance(minutes=16)  # the sender died: once the claim lapses, another one sends it
    assert mailer.send_due() == 1 and correo().intentos == 2


def test_retrying_is_the_administrators_action_and_audits_itself(services, staff, server, clock):
    """mpv.correo.cola: the row made due and its audit row in one transaction; a refusal writes neither."""
    from mpv.correo import cola
    from mpv.errors import Conflict, NotAllowed, NotFound
    from mpv.models import Evento

    exp = file_tramite(services)
    row = correo()
    with services.db.write():
        Correo.update(estado="fallido", intentos=MAX_INTENTOS, ultimo_error="conexión rechazada").where(
            Correo.id == row.id).execute()
    admin = Actor.de_usuario(make_user("admin", "admin"), ip="203.0.113.9")

    def written():
        return list(Correo.select().order_by(Correo.id).dicts()), Evento.select().count()

    before = written()
    for refused, action in [(NotAllowed, lambda: cola.reintentar(services, staff["mesa"], row.id)),
                            (NotAllowed, lambda: cola.pagina(services, staff["auditor"])),
                            (NotFound, lambda: cola.reintentar(services, admin, 999999))]:
        with pytest.raises(refused):
            action()
        assert written() == before
    pagina = cola.pagina(services, admin, "fallido")
    assert ([c.id for c, _ in pagina.filas], pagina.cuentas["fallido"], pagina.siguiente) == ([row.id], 1, None)
    assert cola.pagina(services, admin, "cualquiera").estado == ""

    retried = cola.reintentar(services, admin, row.id)
    assert (retried.estado, retried.proximo_intento, retried.expediente.numero) == ("pendiente", clock(), exp.numero)
    audit = Evento.select().where(Evento.tipo == "admin").get()
    assert (audit.accion, audit.descripcion, audit.actor_nombre, audit.ip) == (
        "correo_reintentado", f"Se programó el reintento del correo N° {row.id} del expediente {exp.numero}.",
        "admin", "203.0.113.9")
    with services.db.write():
        Correo.update(estado="enviado").where(Correo.id == row.id).execute()
    before = written()
    with pytest.raises(Conflict, match="ya se envió"):
        cola.reintentar(services, admin, row.id)
    assert written() == before


# -- without an SMTP server, and several senders at once -----------------------------------------------
def test_without_smtp_host_messages_go_to_the_outbox(tmp_path, database_url, clock):
    settings = Settings(data_dir=tmp_path / "data", database_url=database_url, base_url=BASE)
    services = build_services(settings, clock)
    try:
        exp = file_tramite(services)
        assert Mailer(services).send_due() == 1
        [path] = list(settings.outbox_dir.iterdir())
        assert path.name.endswith(f"-{correo().id:06d}-constancia.eml")
        message = message_from_bytes(path.read_bytes(), policy=policy.default)
        assert message["Subject"] == f"Expediente N° {exp.numero}: Constancia de presentación"
        assert exp.codigo in body(message) and correo().estado == "enviado"
    finally:
        services.close()


def test_two_senders_at_once_send_each_message_once(services, smtp):
    file_tramite(services)
    first = correo()
    with services.db.write():
        Correo.insert_many([{"expediente": first.expediente_id, "tipo": "constancia",
                             "destinatario": f"c{i}@example.com", "evento_seq": first.evento_seq,
                             "proximo_intento": first.proximo_intento, "creado_en": first.creado_en}
                            for i in range(29)]).execute()
    start = threading.Barrier(2)
    results, errors = [], []

    def sender():
        try:
            start.wait()
            results.append(Mailer(services, timeout=5).send_due())
        except Exception as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)
        finally:
            services.db.peewee.close()

    threads = [threading.Thread(target=sender) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors and sum(results) == 30
    assert len(smtp.messages) == 30
    assert len({m["Message-ID"] for _, m in smtp.messages}) == 30
    assert sorted(to for tos, _ in smtp.messages for to in tos) == sorted(
        ["ana@example.com"] + [f"c{i}@example.com" for i in range(29)])
    assert Correo.select().where((Correo.estado == "enviado") & (Correo.intentos == 1)).count() == 30


def test_cli_sends_the_pending_mail(capsys, settings, clock, smtp, tmp_path):
    def run(*argv):
        code = main(list(argv), settings=settings, clock=clock)
        return code, capsys.readouterr().out

    assert run("demo", "--tramites", "0")[0] == 0
    pdf = tmp_path / "solicitud.pdf"
    pdf.write_bytes(sample_pdf("Solicitud"))
    code, _ = run("tramite", "new", "--dni", "45871236", "--nombres", "Ana", "--apellidos", "Rojas",
                  "--email", "ana@example.com", "--direccion", "Jr. Loreto 215", "--tipo-documento", "SOL",
                  "--asunto", "Licencia", "--archivo", str(pdf))
    assert code == 0
    assert run("correos") == (0, "Correos: 1 enviado(s); 0 pendiente(s), 0 fallido(s).\n")
    assert len(smtp.messages) == 1


def test_a_relay_whose_certificate_does_not_verify_gets_nothing(tmp_path, clock, database_url):
    """STARTTLS checks the relay's certificate (ASVS V12.3.2): a self-signed one fails the handshake, the
    message stays pending with that reason for the administrator, and the relay receives nothing."""
    import ssl
    import subprocess

    cert, key = tmp_path / "relay.pem", tmp_path / "relay.key"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    relay = SmtpServer(free_port(), tls_context=context, require_starttls=True)
    relay.start()
    try:
        tls = build_services(Settings(data_dir=tmp_path / "tls", database_url=database_url, smtp_host="127.0.0.1",
                                      smtp_port=relay.port, smtp_starttls=True, base_url=BASE), clock)
        try:
            file_tramite(tls)
            assert Mailer(tls, timeout=5).send_due() == 0
            row = correo()
            assert (row.estado, row.intentos) == ("pendiente", 1)
            assert "falló la conexión cifrada (STARTTLS)" in row.ultimo_error
            assert "CERTIFICATE_VERIFY_FAILED" in row.ultimo_error
        finally:
            tls.close()
    finally:
        relay.stop()
    assert relay.messages == []


# -- draining: many connections, no rounds, the same retries --------------------------------------------
def queue(services, n: int, destinatario=lambda i: f"c{i}@example.com"):
    """``n`` more constancias of the one filed trámite, due now (as a burst of filings leaves them)."""
    first = correo()
    with services.db.write():
        Correo.insert_many([{"expediente": first.expediente_id, "tipo": "constancia", "destinatario": destinatario(i),
                             "evento_seq": first.evento_seq, "proximo_intento": first.proximo_intento,
                             "creado_en": first.creado_en} for i in range(n)]).execute()


def test_one_drain_sends_every_due_message_over_a_few_reused_connections(services, smtp, clock):
    file_tramite(services)
    queue(services, 499)
    before = clock()
    assert Mailer(services, timeout=5, conexiones=4).send_due() == 500  # no round of 100, no waiting
    assert clock() == before and len(smtp.messages) == 500
    assert len({m["Message-ID"] for _, m in smtp.messages}) == 500
    assert 2 <= len(smtp.peers) <= 4  # every connection carried many messages
    assert Correo.select().where((Correo.estado == "enviado") & (Correo.intentos == 1)).count() == 500


def test_a_server_that_is_down_costs_one_attempt_of_one_message(services, server, clock):
    file_tramite(services)
    queue(services, 59)
    due = clock()
    assert Mailer(services, timeout=5, conexiones=4).send_due() == 0
    tried = list(Correo.select().where(Correo.intentos > 0))
    assert len(tried) == 1 and "conexión rechazada" in tried[0].ultimo_error
    assert tried[0].proximo_intento == clock() + timedelta(minutes=ESPERAS_MINUTOS[0])
    # The rows claimed with it and not tried are given back as they were: due, untouched.
    untouched = Correo.select().where((Correo.intentos == 0) & (Correo.ultimo_error == "")
                                      & (Correo.proximo_intento == due) & (Correo.estado == "pendiente"))
    assert untouched.count() == 59
    server.start()
    assert Mailer(services, timeout=5).send_due() == 59  # the failed one waits its minute
    clock.advance(minutes=ESPERAS_MINUTOS[0])
    assert Mailer(services, timeout=5).send_due() == 1
    assert Correo.get_by_id(tried[0].id).intentos == 2 and len(server.messages) == 60


class Exigente(SmtpServer):
    """Refuses «tarde…» recipients for now (451) and «nunca…» for good (550)."""

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.startswith("tarde"):
            return "451 4.3.0 Intente más tarde"
        if address.startswith("nunca"):
            return "550 5.1.1 No existe el buzón"
        envelope.rcpt_tos.append(address)
        return "250 OK"


def test_refusals_during_a_drain_follow_the_retry_policy(tmp_path, database_url, clock):
    relay = Exigente(free_port())
    relay.start()
    services = build_services(Settings(data_dir=tmp_path / "data", database_url=database_url, smtp_host="127.0.0.1",
                                       smtp_port=relay.port, smtp_starttls=False, base_url=BASE), clock)
    try:
        file_tramite(services)
        queue(services, 80, lambda i: f"tarde{i}@example.com" if i % 20 == 3 else
              f"nunca{i}@example.com" if i % 20 == 7 else f"c{i}@example.com")
        assert Mailer(services, timeout=5, conexiones=4).send_due() == 73
        tarde = list(Correo.select().where(Correo.destinatario.startswith("tarde")))
        assert len(tarde) == 4 and all(
            (c.estado, c.intentos, c.proximo_intento) == ("pendiente", 1, clock() + timedelta(minutes=1))
            and "451" in c.ultimo_error for c in tarde)
        nunca = list(Correo.select().where(Correo.destinatario.startswith("nunca")))
        assert len(nunca) == 4 and all((c.estado, c.intentos) == ("fallido", 1) and "550" in c.ultimo_error
                                       for c in nunca)
        for intento in range(2, MAX_INTENTOS + 1):
            clock.advance(minutes=ESPERAS_MINUTOS[intento - 2])
            assert Mailer(services, timeout=5).send_due() == 0
            assert {(c.estado, c.intentos) for c in Correo.select().where(Correo.destinatario.startswith("tarde"))} \
                == {("fallido" if intento == MAX_INTENTOS else "pendiente", intento)}
        assert len(relay.messages) == 73
    finally:
        services.close()
        relay.stop()


def test_a_stopped_drain_gives_back_what_it_did_not_try(services, smtp):
    file_tramite(services)
    queue(services, 9)
    stop = threading.Event()
    stop.set()
    assert Mailer(services, timeout=5).send_due(stop) == 0
    assert not smtp.messages and Correo.select().where(Correo.intentos == 0).count() == 10


def test_two_draining_processes_never_send_a_message_twice(services, smtp):
    """Two senders of four connections each, as two ``mpv serve`` workers, on one queue of 500."""
    file_tramite(services)
    queue(services, 499)
    start = threading.Barrier(2)
    results, errors = [], []

    def sender():
        try:
            start.wait()
            results.append(Mailer(services, timeout=5, conexiones=4).send_due())
        except Exception as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)
        finally:
            services.db.peewee.close()

    threads = [threading.Thread(target=sender) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors and sum(results) == 500 and len(smtp.messages) == 500
    assert sorted(to for tos, _ in smtp.messages for to in tos) == sorted(
        ["ana@example.com"] + [f"c{i}@example.com" for i in range(499)])
    assert Correo.select().where((Correo.estado == "enviado") & (Correo.intentos == 1)).count() == 500


def test_smtp_conexiones_is_read_from_the_environment():
    from mpv.config import SettingsError

    assert Settings().smtp_conexiones == 4
    assert Settings.from_env({"MPV_SMTP_CONEXIONES": "8"}).smtp_conexiones == 8
    for bad in ("0", "33", "cuatro"):
        with pytest.raises(SettingsError, match="MPV_SMTP_CONEXIONES"):
            Settings.from_env({"MPV_SMTP_CONEXIONES": bad})
