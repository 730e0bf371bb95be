"""Notification with proof (issue 14, item 4; DOMAIN rule 15): the casilla electrónica on real dates.

An observation deposited in the casilla waits, in the process, for the citizen's acuse de recibo or for the configured
business days (an engine timer); the 2-day subsanación starts the business day after the notification takes effect.
Every expected date is written out by hand from the 2026 calendar: Tuesday 8 and Wednesday 9 December are national
holidays (Inmaculada Concepción, Batalla de Ayacucho).
"""
from __future__ import annotations

import hashlib
import io
from datetime import date

import orjson
import pytest
from helpers import FILING, lima, make_user, sample_pdf, step
from webclient import Browser

from mpv.engine import Actor
from mpv.errors import NotFound
from mpv.models import (AperturaNotificacion, ConsentimientoCasilla, Correo, Evento, Expediente, Notificacion,
                        PdfEmitido, Tarea, Temporizador)
from mpv.tramites import casilla, feriados
from mpv.tramites.campos import API
from mpv.tramites.presentacion import presentar
from mpv.web.app import create_app

pytestmark = pytest.mark.fecha_fija

DNI = FILING["numero_documento_identidad"]
SIN_ACUSE = "Notificación surtió efecto sin acuse"  # the boundary timer of the citizen's task «Acuse de recibo»
SUBSANACION = "Plazo de subsanación vencido"


@pytest.fixture
def calendario(services, staff):
    """The December 2026 calendar of the issue: 8 and 9 December are holidays (9 December registered as a día no
    laborable if the national calendar lacked it)."""
    if services.calendario.feriado(date(2026, 12, 9)) is None:
        admin = Actor.de_usuario(make_user("admin", "admin"))
        feriados.registrar(services, admin, date(2026, 12, 9), "Día no laborable", "no laborable")
    assert services.calendario.feriado(date(2026, 12, 8)) and services.calendario.feriado(date(2026, 12, 9))
    return services.calendario


def presentar_con_casilla(services, clock, cuando, con_casilla=True) -> Expediente:
    clock.set(cuando)
    principal = services.storage.receive(io.BytesIO(sample_pdf("Solicitud")), "solicitud.pdf",
                                         services.limits.principal_bytes)
    datos = {**FILING, "folios": "3", "casilla": "true" if con_casilla else "false"}
    exp = presentar(services, datos, principal, [], ip="203.0.113.7", cara=API)
    return Expediente.get_by_id(exp.id)


def observar(services, clock, exp, staff, cuando):
    clock.set(cuando)
    step(services, exp, staff["mesa"], accion="observar", observacion="Falta la firma del solicitante")
    return Expediente.get_by_id(exp.id)


def timer(exp, nombre):
    row = Temporizador.get_or_none((Temporizador.expediente == exp.id) & (Temporizador.nombre == nombre))
    return row.vence if row else None


def subsanacion_pendiente(exp) -> bool:
    return Tarea.select().where((Tarea.expediente == exp.id) & (Tarea.spec == "subsanacion")).exists()


def acuse_pendiente(exp) -> bool:
    return Tarea.select().where((Tarea.expediente == exp.id) & (Tarea.spec == "acuse")).exists()


def test_an_acknowledged_observation_takes_effect_that_day_and_the_subsanacion_runs_on_10_and_11_december(
        services, clock, staff, calendario):
    exp = presentar_con_casilla(services, clock, lima(2026, 12, 3, 10, 0))
    assert ConsentimientoCasilla.vigente(exp.id)
    assert ConsentimientoCasilla.get(ConsentimientoCasilla.expediente == exp.id).ip == "203.0.113.7"
    # Deposited on Friday 4 December at 17:00.
    exp = observar(services, clock, exp, staff, lima(2026, 12, 4, 17, 0))
    n = Notificacion.get(Notificacion.expediente == exp.id)
    assert (n.tipo, n.via, n.dias_efecto, n.acuse_en) == ("observacion", "casilla", 5, None)
    assert n.depositada_en == lima(2026, 12, 4, 17, 0)
    # The alert goes by e-mail, with no content of the act; the observation itself is not e-mailed.
    tipos = [c.tipo for c in Correo.select().where(Correo.expediente == exp.id)]
    assert "casilla" in tipos and "observacion" not in tipos
    # The process waits for the acuse (or 5 business days: 7, 10, 11, 14 and 15 December); nothing to correct yet.
    assert exp.estado == "Observado" and acuse_pendiente(exp) and not subsanacion_pendiente(exp)
    # The procedure's clock is suspended from the observation, as before (art. 136).
    assert exp.plazo_suspendido or exp.procedimiento_id is None
    assert timer(exp, SIN_ACUSE) == lima(2026, 12, 16, 0, 0)
    # Opened on Saturday and again on Monday morning: each opening is recorded with its time and address.
    clock.set(lima(2026, 12, 5, 9, 0))
    casilla.abrir(services, exp.codigo, DNI, n.id, ip="198.51.100.1")
    clock.set(lima(2026, 12, 7, 8, 15))
    _, vista = casilla.abrir(services, exp.codigo, DNI, n.id, ip="198.51.100.2")
    assert "Falta la firma del solicitante" in vista.contenido and vista.estado == "Leída, sin acuse de recibo"
    # Acknowledged on Monday 7 December.
    clock.set(lima(2026, 12, 7, 10, 0))
    casilla.acusar(services, exp.codigo, DNI, n.id, ip="198.51.100.2")
    aperturas = list(AperturaNotificacion.select().where(AperturaNotificacion.notificacion == n.id)
                     .order_by(AperturaNotificacion.id))
    assert [(a.tipo, a.momento, a.ip) for a in aperturas] == [
        ("apertura", lima(2026, 12, 5, 9, 0), "198.51.100.1"), ("apertura", lima(2026, 12, 7, 8, 15), "198.51.100.2"),
        ("acuse", lima(2026, 12, 7, 10, 0), "198.51.100.2")]
    exp = Expediente.get_by_id(exp.id)
    n = Notificacion.get_by_id(n.id)
    assert n.acuse_en == lima(2026, 12, 7, 10, 0)
    assert casilla.efecto(n, calendario, clock()) == (date(2026, 12, 7), None)
    # Effect on 7 December: the two business days are Thursday 10 and Friday 11 (8 and 9 are holidays).
    assert subsanacion_pendiente(exp) and not acuse_pendiente(exp) and timer(exp, SIN_ACUSE) is None
    assert timer(exp, SUBSANACION) == lima(2026, 12, 12, 0, 0)
    # The acuse is in the history, as the citizen's act through the engine.
    acuse = Evento.get((Evento.expediente == exp.id) & (Evento.tarea == "acuse") & (Evento.tipo == "tarea"))
    assert acuse.ip == "198.51.100.2" and acuse.descripcion == "Acuse de recibo" and acuse.rol == "ciudadano"
    # A second acuse changes nothing.
    casilla.acusar(services, exp.codigo, DNI, n.id)
    assert Notificacion.get_by_id(n.id).acuse_en == lima(2026, 12, 7, 10, 0)
    # Not presented only after Friday 11 December ends.
    clock.set(lima(2026, 12, 11, 23, 59))
    services.engine.fire_due_timers()
    assert Expediente.get_by_id(exp.id).estado == "Observado"
    clock.set(lima(2026, 12, 12, 0, 0))
    services.engine.fire_due_timers()
    assert Expediente.get_by_id(exp.id).estado == "No presentado"
    # The no presentado goes to the casilla too.
    assert Notificacion.select().where((Notificacion.expediente == exp.id) & (Notificacion.tipo == "no_presentado")
                                       & (Notificacion.via == "casilla")).exists()


def test_without_acuse_it_takes_effect_after_the_configured_business_days(services, clock, staff, calendario):
    services.parametros.update({"dias_notificacion": "3"})
    exp = presentar_con_casilla(services, clock, lima(2026, 12, 3, 10, 0))
    exp = observar(services, clock, exp, staff, lima(2026, 12, 4, 17, 0))
    n = Notificacion.get(Notificacion.expediente == exp.id)
    assert n.dias_efecto == 3
    # Three business days after Friday 4: Monday 7, Thursday 10 and Friday 11 December.
    assert timer(exp, SIN_ACUSE) == lima(2026, 12, 12, 0, 0)
    assert casilla.efecto(n, calendario, clock()) == (None, date(2026, 12, 11))
    clock.set(lima(2026, 12, 11, 23, 59))
    services.engine.fire_due_timers()
    assert not subsanacion_pendiente(Expediente.get_by_id(exp.id))
    clock.set(lima(2026, 12, 12, 0, 0))
    services.engine.fire_due_timers()
    exp = Expediente.get_by_id(exp.id)
    # In effect on Friday 11: the subsanación runs on Monday 14 and Tuesday 15.
    assert subsanacion_pendiente(exp) and timer(exp, SUBSANACION) == lima(2026, 12, 16, 0, 0)
    assert casilla.efecto(Notificacion.get_by_id(n.id), calendario, clock()) == (date(2026, 12, 11), None)
    assert Evento.select().where((Evento.expediente == exp.id) & (Evento.tipo == "temporizador")
                                 & (Evento.descripcion == SIN_ACUSE)).exists()
    # A late acuse is recorded, but the notification had already taken effect.
    clock.set(lima(2026, 12, 14, 9, 0))
    casilla.acusar(services, exp.codigo, DNI, n.id, ip="198.51.100.9")
    assert casilla.efecto(Notificacion.get_by_id(n.id), calendario, clock()) == (date(2026, 12, 11), None)
    assert timer(Expediente.get_by_id(exp.id), SUBSANACION) == lima(2026, 12, 16, 0, 0)
    # The subsanación works as before.
    step(services, exp, Actor.ciudadano(exp), descripcion="Adjunto la solicitud firmada")
    assert Expediente.get_by_id(exp.id).estado == "Registrado"


def test_after_revoking_the_consent_the_next_act_goes_by_email(services, clock, staff, calendario):
    exp = presentar_con_casilla(services, clock, lima(2026, 12, 3, 10, 0))
    clock.set(lima(2026, 12, 3, 12, 0))
    assert casilla.cambiar_consentimiento(services, exp.codigo, False, ip="198.51.100.3")
    assert not casilla.cambiar_consentimiento(services, exp.codigo, False)  # already revoked: nothing recorded
    assert [c.accion for c in ConsentimientoCasilla.select().where(ConsentimientoCasilla.expediente == exp.id)
            .order_by(ConsentimientoCasilla.id)] == ["otorga", "revoca"]
    exp = observar(services, clock, exp, staff, lima(2026, 12, 4, 17, 0))
    n = Notificacion.get(Notificacion.expediente == exp.id)
    assert n.via == "correo"
    assert "observacion" in [c.tipo for c in Correo.select().where(Correo.expediente == exp.id)]
    # By e-mail the observation takes effect the day it is made, as before: Friday 4, then 7 and 10 December.
    assert subsanacion_pendiente(exp) and timer(exp, SUBSANACION) == lima(2026, 12, 11, 0, 0)
    fila = Evento.get((Evento.expediente == exp.id) & (Evento.tarea == "notificar_observacion"))
    assert orjson.loads(fila.payload)["via"] == "correo" and "por correo electrónico" in fila.detalle
    # The casilla does not hold an act notified by e-mail.
    with pytest.raises(NotFound):
        casilla.abrir(services, exp.codigo, DNI, n.id)


def test_the_casilla_page_refuses_a_wrong_document_without_saying_anything_of_the_expediente(
        services, clock, staff, calendario):
    exp = presentar_con_casilla(services, clock, lima(2026, 12, 3, 10, 0))
    exp = observar(services, clock, exp, staff, lima(2026, 12, 4, 17, 0))
    n = Notificacion.get(Notificacion.expediente == exp.id)
    browser = Browser(create_app(services))
    wrong_dni = browser.get("/casilla", codigo=exp.codigo, documento="12345678")
    wrong_code = browser.get("/casilla", codigo="X" * 30, documento=DNI)
    for page in (wrong_dni, wrong_code):
        assert page.status_code == 404 and casilla.NO_COINCIDE in page.text
        assert exp.numero not in page.text and exp.asunto not in page.text and "Falta la firma" not in page.text
    # The notification itself and its constancia are refused the same way.
    opened = browser.get(f"/casilla/notificaciones/{n.id}", codigo=exp.codigo, documento="12345678")
    assert opened.status_code == 404 and "Falta la firma" not in opened.text
    assert browser.get(f"/casilla/notificaciones/{n.id}/constancia.pdf", codigo=exp.codigo,
                       documento="12345678").status_code == 404
    assert not AperturaNotificacion.select().exists()


def test_the_citizen_opens_acknowledges_and_downloads_the_constancia_on_the_portal(
        services, clock, staff, calendario):
    exp = presentar_con_casilla(services, clock, lima(2026, 12, 3, 10, 0))
    exp = observar(services, clock, exp, staff, lima(2026, 12, 4, 17, 0))
    n = Notificacion.get(Notificacion.expediente == exp.id)
    browser = Browser(create_app(services), remote_addr="198.51.100.20")
    clock.set(lima(2026, 12, 7, 10, 0))
    lista = browser.get("/casilla", codigo=exp.codigo, documento=DNI)
    assert lista.status_code == 200 and "Observación de su trámite" in lista.text and "Depositada" in lista.text
    seguimiento = browser.get(f"/seguimiento/{exp.codigo}")
    assert "acuse recibo para subsanar" in seguimiento.text
    pagina = browser.get(f"/casilla/notificaciones/{n.id}", codigo=exp.codigo, documento=DNI)
    assert pagina.status_code == 200 and "Falta la firma del solicitante" in pagina.text and "Acusar recibo" in pagina.text
    acuse = browser.post(f"/casilla/notificaciones/{n.id}/acuse", {"codigo": exp.codigo, "documento": DNI})
    assert acuse.status_code == 303
    assert Notificacion.get_by_id(n.id).acuse_ip == "198.51.100.20"
    assert subsanacion_pendiente(Expediente.get_by_id(exp.id))
    constancia = browser.get(f"/casilla/notificaciones/{n.id}/constancia.pdf", codigo=exp.codigo, documento=DNI)
    assert constancia.status_code == 200 and constancia.content.startswith(b"%PDF")
    # Staff see which way it went and download the same constancia.
    mesa = Browser(create_app(services))
    mesa.login("mesa")
    detalle = mesa.get(f"/expedientes/{exp.numero}")
    assert "Casilla electrónica" in detalle.text and "07/12/2026" in detalle.text
    pdf = mesa.get(f"/expedientes/{exp.numero}/notificaciones/{n.id}/constancia.pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")


def test_the_citizen_opts_in_from_the_seguimiento_and_the_filing_api_takes_the_box(services, clock, staff, calendario):
    exp = presentar_con_casilla(services, clock, lima(2026, 12, 3, 10, 0), con_casilla=False)
    assert not ConsentimientoCasilla.vigente(exp.id)
    browser = Browser(create_app(services), remote_addr="198.51.100.30")
    browser.get(f"/seguimiento/{exp.codigo}")
    assert browser.post(f"/seguimiento/{exp.codigo}/casilla", {"accion": "otorga"}).status_code == 303
    consentimiento = ConsentimientoCasilla.get(ConsentimientoCasilla.expediente == exp.id)
    assert (consentimiento.accion, consentimiento.ip, consentimiento.momento) == (
        "otorga", "198.51.100.30", lima(2026, 12, 3, 10, 0))
    assert Evento.select().where((Evento.expediente == exp.id) & (Evento.accion == "otorgar_casilla")).exists()
    exp = observar(services, clock, exp, staff, lima(2026, 12, 4, 17, 0))
    assert Notificacion.get(Notificacion.expediente == exp.id).via == "casilla"


def test_the_filing_form_and_the_api_take_the_casilla_box(services, clock, staff):
    from test_public import FORM

    browser = Browser(create_app(services), remote_addr="198.51.100.40")
    browser.get("/presentar")
    assert 'name="casilla"' in browser.get("/presentar").text
    sent = browser.post("/presentar", FORM + [("casilla", "true")], files=[("archivo", "s.pdf", sample_pdf("S"))])
    assert sent.status_code == 303
    codigo = sent.headers["location"].rsplit("/", 1)[1]
    exp = Expediente.get(Expediente.codigo == codigo)
    consentimiento = ConsentimientoCasilla.get(ConsentimientoCasilla.expediente == exp.id)
    assert (consentimiento.accion, consentimiento.ip) == ("otorga", "198.51.100.40")
    # Left unticked, nothing is recorded and the acts go by e-mail.
    sent = browser.post("/presentar", FORM, files=[("archivo", "s.pdf", sample_pdf("S"))])
    otro = Expediente.get(Expediente.codigo == sent.headers["location"].rsplit("/", 1)[1])
    assert not ConsentimientoCasilla.select().where(ConsentimientoCasilla.expediente == otro.id).exists()
    # The API takes casilla=true.
    api = Browser(create_app(services))
    fields = [(k, str(v)) for k, v in FILING.items()]
    ok = api.post("/api/v1/tramites", fields + [("casilla", "true")], files=[("archivo", "s.pdf", sample_pdf("S"))],
                  csrf=False)
    assert ok.status_code == 201, ok.text
    assert ConsentimientoCasilla.vigente(Expediente.get(Expediente.codigo == ok.json["codigo"]).id)


def test_the_constancia_de_notificacion_is_sealed_and_lists_what_was_recorded(sellados, pki_sello, clock):
    from pypdf import PdfReader
    from test_sello import validar_fuera_de_mpv

    staff = {"mesa": Actor.de_usuario(make_user("mesa", "mesa", "MP"))}
    exp = presentar_con_casilla(sellados, clock, lima(2026, 12, 3, 10, 0))
    exp = observar(sellados, clock, exp, staff, lima(2026, 12, 4, 17, 0))
    n = Notificacion.get(Notificacion.expediente == exp.id)
    clock.set(lima(2026, 12, 7, 9, 0))
    casilla.abrir(sellados, exp.codigo, DNI, n.id, ip="198.51.100.50")
    casilla.acusar(sellados, exp.codigo, DNI, n.id, ip="198.51.100.50")
    browser = Browser(create_app(sellados))
    respuesta = browser.get(f"/casilla/notificaciones/{n.id}/constancia.pdf", codigo=exp.codigo, documento=DNI)
    assert respuesta.status_code == 200
    firma, estado = validar_fuera_de_mpv(respuesta.content, pki_sello, clock())
    assert estado.bottom_line and estado.intact and estado.trusted
    assert firma.sig_object["/Reason"] == f"Constancia de notificación del expediente {exp.numero}"
    texto = " ".join(" ".join(p.extract_text() for p in PdfReader(io.BytesIO(respuesta.content)).pages).split())
    # Registered as handed out: the public verification recognises this copy.
    registro = PdfEmitido.get(PdfEmitido.sha256 == hashlib.sha256(respuesta.content).hexdigest())
    assert (registro.clase, registro.expediente_id, registro.sellado) == ("notificacion", exp.id, True)
    for esperado in (exp.numero, "Observación de su trámite", "Casilla electrónica", "04/12/2026 17:00:00",
                     "07/12/2026 09:00:00 (hora de Lima) desde 198.51.100.50", "7 de diciembre de 2026"):
        assert esperado in texto, esperado


def test_the_alert_says_the_kind_of_act_and_the_link_and_nothing_of_its_content(services, clock, staff):
    from mpv.correo.mensajes import Mensajes

    exp = presentar_con_casilla(services, clock, lima(2026, 12, 3, 10, 0))
    exp = observar(services, clock, exp, staff, lima(2026, 12, 4, 17, 0))
    correo = Correo.get((Correo.expediente == exp.id) & (Correo.tipo == "casilla"))
    mensaje = Mensajes(services).build(correo, clock())
    assert mensaje["Subject"] == f"Expediente N° {exp.numero}: Tiene una notificación en su casilla electrónica"
    cuerpo = mensaje.get_content()
    assert "Observación de su trámite" in cuerpo and f"/casilla?codigo={exp.codigo}" in cuerpo
    assert "04/12/2026 a las 17:00" in cuerpo
    assert "Falta la firma" not in cuerpo and not list(mensaje.iter_attachments())
