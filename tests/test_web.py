"""The staff web app through falcon.testing: every screen of the manual, the office tray, bad input."""
from __future__ import annotations

import re
import shutil
from datetime import timedelta

import pytest
from helpers import base_date, build_services, derivar, file_tramite, lima, make_user, recibir, step
from webclient import Browser

from mpv.demo import sample_pdf
from mpv.models import Adjunto, Evento, Expediente, Tarea
from mpv.web.app import create_app


@pytest.fixture
def app(services):
    return create_app(services)


@pytest.fixture
def users(services):
    return {name: make_user(name, rol, office) for name, rol, office in (
        ("mesa", "mesa", "MP"), ("mesa2", "mesa", "MP"), ("gdur", "oficina", "GDUR"), ("rentas", "oficina", "SGAT"),
        ("social", "oficina", "GDS"), ("auditor", "auditor", None))}


def browser(app, username=None):
    b = Browser(app)
    if username:
        b.login(username)
    return b


def actor(user):
    from mpv.engine import Actor

    return Actor.de_usuario(user)


def text(html: str) -> str:
    """Visible text, whitespace collapsed."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_login_form_and_errors(app, users):
    b = Browser(app)
    page = b.get("/login")
    assert page.status_code == 200
    assert '<label for="username">Usuario</label>' in page.text
    assert '<label for="password">Contraseña</label>' in page.text
    assert ">Ingresar</button>" in page.text
    wrong = b.post("/login", {"username": "mesa", "password": "incorrecta-123456"})
    assert wrong.status_code == 401 and "Usuario o contraseña incorrectos." in wrong.text
    assert "mpv_sesion" not in b.cookies
    forged = Browser(app).post("/login", {"username": "mesa", "password": "contraseña-de-prueba-1"}, csrf=False)
    assert forged.status_code == 403
    ok = b.post("/login", {"username": "mesa", "password": "contraseña-de-prueba-1", "siguiente": "/tramites"})
    assert ok.status_code == 303 and ok.headers["location"].endswith("/tramites")
    cookie = ok.cookies["mpv_sesion"]
    assert cookie.http_only and cookie.same_site == "Lax"
    assert b.get("/inicio").status_code == 200
    out = b.post("/logout", {})
    assert out.status_code == 303 and b.get("/inicio").status_code == 303


def test_login_does_not_redirect_off_site(app, users):
    b = Browser(app)
    b.get("/login")
    result = b.post("/login", {"username": "mesa", "password": "contraseña-de-prueba-1",
                               "siguiente": "//evil.example/robo"})
    assert result.headers["location"].endswith("/inicio")


def test_anonymous_is_sent_to_login(app):
    for path in ("/inicio", "/tramites", "/bandeja", "/expedientes/2026-000001"):
        result = Browser(app).get(path)
        assert result.status_code == 303 and "/login" in result.headers["location"]


@pytest.mark.fecha_fija("a 1-day plazo from Monday 2 March is over on Wednesday 4")
def test_home_figures_for_mesa_and_office(services, app, users, clock):
    for _ in range(3):
        file_tramite(services)
    exp = file_tramite(services)
    step(services, exp, actor(users["mesa"]), accion="conforme")
    derivar(services, exp, actor(users["mesa"]), "GDUR", plazo_dias=1)
    page = text(browser(app, "mesa").get("/inicio").text)
    assert "4 presentados hoy" in page and "3 pendientes de recepción" in page and "1 en las oficinas" in page
    assert "Sus tareas pendientes" in page
    office = text(browser(app, "gdur").get("/inicio").text)
    assert "1 por recibir" in office and "1 por vencer" in office and "0 vencidos" in office
    clock.set(lima(2026, 3, 4, 8, 0))
    assert "1 vencidos" in text(browser(app, "gdur").get("/inicio").text)


def test_tramites_recibidos_table_and_actions(services, app, users):
    exp = file_tramite(services, asunto="Licencia de funcionamiento para bodega")
    page = browser(app, "mesa").get("/tramites")
    assert page.status_code == 200
    for header in ("N° de expediente", "Fecha de presentación", "Remitente", "Tipo de documento", "Asunto",
                   "Estado", "Plazo"):
        assert f">{header}</th>" in page.text
    for action in ("Ver datos del expediente", "Ver seguimiento del expediente", "Derivar trámite"):
        label = f"{action} {exp.numero}"  # each row's actions name their expediente
        assert f'aria-label="{label}" title="{label}"' in page.text
    assert exp.numero in page.text and "Licencia de funcionamiento para bodega" in page.text
    assert "Ana Rojas Villanueva" in page.text and "Solicitud" in page.text
    # Received and derived the same day (art. 143): its plazo ends tonight.
    assert 'class="plazo por-vencer">por vencer' in page.text


def test_search_filters_and_keyset_pages(services, app, users, clock):
    numbers = []
    for i in range(55):
        clock.advance(minutes=7)
        overrides = {"asunto": f"Solicitud número {i}"}
        if i == 3:
            overrides.update(nombres="José", apellidos="Ramírez Tello", numero_documento_identidad="09876543")
        numbers.append(file_tramite(services, **overrides).numero)
    step(services, Expediente.get(Expediente.numero == numbers[10]), actor(users["mesa"]), accion="observar",
         observacion="Falta firma")
    b = browser(app, "mesa")
    first = b.get("/tramites")
    shown = re.findall(r"<strong>(\d{4}-\d{6})</strong>", first.text)
    assert shown == list(reversed(numbers))[:50]
    after = re.search(r'despues=([^"&]+)', first.text).group(1)
    second = b.get("/tramites", despues=after)
    assert re.findall(r"<strong>(\d{4}-\d{6})</strong>", second.text) == list(reversed(numbers))[50:]
    before = re.search(r'antes=([^"&]+)', second.text).group(1)
    assert re.findall(r"<strong>(\d{4}-\d{6})</strong>", b.get("/tramites", antes=before).text) == shown
    oldest = re.findall(r"<strong>(\d{4}-\d{6})</strong>", b.get("/tramites", orden="antiguos").text)
    assert oldest[:3] == numbers[:3]

    def found(**params):
        return re.findall(r"<strong>(\d{4}-\d{6})</strong>", b.get("/tramites", **params).text)

    assert found(q=numbers[7]) == [numbers[7]]
    assert found(q=f"{base_date().year}-8") == [numbers[7]]  # zero padding is optional
    assert found(q="jose ramirez") == [numbers[3]]  # accents and case do not matter
    assert found(q="09876543") == [numbers[3]]
    assert found(q="número 42") == [numbers[42]]
    assert found(estado="Observado") == [numbers[10]]
    # The legal filing date: the base day, or the next business day when the test runs on a day off (Ley 31465).
    legal = Expediente.get(Expediente.numero == numbers[0]).fecha_presentacion
    hoy, manana = legal.isoformat(), (legal + timedelta(days=1)).isoformat()
    assert found(desde=manana) == []
    assert len(found(desde=hoy, hasta=hoy)) == 50  # all 55 were filed that day, between 9:37 and 15:55
    bad = b.get("/tramites", desde="02/30/2026")
    assert bad.status_code == 200 and "Use una fecha válida" in bad.text


def test_ver_datos_del_expediente_sections_and_files(services, app, users):
    exp = file_tramite(services, nombre="solicitud firmada ñ.pdf", anexos=[sample_pdf("Anexo", 2)])
    b = browser(app, "mesa")
    page = b.get(f"/expedientes/{exp.numero}")
    assert page.status_code == 200
    for section in ("Información del trámite", "Datos del remitente", "Archivos adjuntos"):
        assert f">{section}</h2>" in page.text
    assert "45871236" in page.text and "ana@example.com" in page.text and "Jr. Loreto 215" in page.text
    principal = Adjunto.get((Adjunto.expediente == exp.id) & (Adjunto.tipo == "principal"))
    assert f'data-pdf="/adjuntos/{principal.id}"' in page.text
    download = b.get(f"/adjuntos/{principal.id}")
    assert download.status_code == 200 and download.content.startswith(b"%PDF-")
    assert download.headers["content-disposition"] == (
        "attachment; filename=\"solicitud firmada _.pdf\"; filename*=UTF-8''solicitud%20firmada%20%C3%B1.pdf")
    assert download.headers["content-security-policy"].startswith("sandbox")
    assert b.get(f"/adjuntos/{principal.id}/ver").status_code == 404  # every file goes out as an attachment


def test_unknown_expediente_and_file_are_spanish_404s(app, users):
    b = browser(app, "mesa")
    page = b.get("/expedientes/2026-999999")
    assert page.status_code == 404 and "No existe el expediente 2026-999999" in page.text
    assert "Traceback" not in page.text
    assert b.get("/adjuntos/999").status_code == 404
    assert b.get("/no-existe").status_code == 404


def test_office_user_sees_only_what_passed_through_the_office(services, app, users):
    exp = file_tramite(services)
    other = browser(app, "rentas")
    assert other.get(f"/expedientes/{exp.numero}").status_code == 403
    step(services, exp, actor(users["mesa"]), accion="conforme")
    derivar(services, exp, actor(users["mesa"]), "SGAT")
    assert other.get(f"/expedientes/{exp.numero}").status_code == 200
    assert browser(app, "gdur").get(f"/expedientes/{exp.numero}/seguimiento").status_code == 403


@pytest.mark.fecha_fija("the plazo shown ends on Monday 9 March")
def test_seguimiento_timeline_current_step_and_plazo(services, app, users):
    exp = file_tramite(services)
    step(services, exp, actor(users["mesa"]), accion="conforme")
    derivar(services, exp, actor(users["mesa"]), "GDUR", proveido="Evaluar la licencia", plazo_dias=5)
    page = browser(app, "mesa").get(f"/expedientes/{exp.numero}/seguimiento")
    visible = text(page.text)
    assert "Trámite presentado" in visible and "Recepción: Conforme" in visible and "Derivación" in visible
    assert "Evaluar la licencia" in visible
    assert "Recepción en la oficina — Gerencia de Desarrollo Urbano y Rural" in visible
    assert "hasta el 09/03/2026 (fin del día)" in visible


def derive_form(b, numero):
    page = b.get(f"/expedientes/{numero}/derivar")
    assert page.status_code == 200
    return page


def test_derivar_tramite_form_confirmation_and_message(services, app, users):
    exp = file_tramite(services)
    b = browser(app, "mesa")
    page = derive_form(b, exp.numero)
    for label in ("Oficina destino", "Proveído", "Prioridad", "Plazo (días hábiles)"):
        assert f'>{label}<span aria-hidden="true"> *</span></label>' in page.text or f">{label}</label>" in page.text
    assert ">Derivar</button>" in page.text
    assert "al confirmar se registrarán la recepción (conforme) y la derivación" in page.text
    data = {"oficina_destino": "GDUR", "proveido": "Evaluar y responder", "prioridad": "urgente", "plazo_dias": "5"}
    confirm = b.post(f"/expedientes/{exp.numero}/derivar", {**data, "paso": "revisar"})
    assert confirm.status_code == 200
    assert (f"¿Confirma la derivación del expediente <strong>{exp.numero}</strong> a "
            "<strong>Gerencia de Desarrollo Urbano y Rural</strong>?") in confirm.text
    assert ">Confirmar</button>" in confirm.text
    assert not Evento.select().where((Evento.expediente == exp.id) & (Evento.tipo == "tarea")).exists()
    done = b.post(f"/expedientes/{exp.numero}/derivar", {**data, "paso": "confirmar"})
    assert done.status_code == 303 and done.headers["location"].endswith(f"/expedientes/{exp.numero}/derivado")
    message = text(b.get(f"/expedientes/{exp.numero}/derivado").text)
    assert f"El expediente {exp.numero} fue derivado a Gerencia de Desarrollo Urbano y Rural" in message
    tareas = list(Evento.select().where((Evento.expediente == exp.id) & (Evento.tipo == "tarea")).order_by(Evento.seq))
    assert [(e.tarea, e.accion) for e in tareas] == [("recepcion", "conforme"), ("derivacion", "derivacion")]
    assert tareas[0].momento == tareas[1].momento  # one step, one transaction
    assert tareas[1].detalle == "Evaluar y responder"
    assert Expediente.get_by_id(exp.id).oficina_actual.codigo == "GDUR"


def test_derivar_invalid_input_keeps_values_and_writes_nothing(services, app, users):
    exp = file_tramite(services)
    b = browser(app, "mesa")
    derive_form(b, exp.numero)
    before = Evento.select().count()
    bad = b.post(f"/expedientes/{exp.numero}/derivar", {"paso": "revisar", "oficina_destino": "", "proveido":
                                                        "Mi proveído", "prioridad": "normal", "plazo_dias": "99"})
    assert bad.status_code == 422
    assert 'id="error-oficina_destino">Este campo es obligatorio.' in bad.text
    assert 'id="error-plazo_dias">Debe ser 30 o menos.' in bad.text
    assert ">Mi proveído</textarea>" in bad.text and 'value="99"' in bad.text
    forged = b.post(f"/expedientes/{exp.numero}/derivar", {"paso": "confirmar", "oficina_destino": "NOPE",
                                                           "prioridad": "normal", "plazo_dias": "3"})
    assert forged.status_code == 422
    assert Evento.select().count() == before


def test_derivar_when_not_pending_shows_the_fresh_state(services, app, users):
    exp = file_tramite(services)
    step(services, exp, actor(users["mesa"]), accion="conforme")
    derivar(services, exp, actor(users["mesa"]), "GDUR")
    page = browser(app, "mesa").get(f"/expedientes/{exp.numero}/derivar")
    assert page.status_code == 409
    assert "no está pendiente de derivación" in page.text and "Recepción en la oficina" in page.text
    assert browser(app, "gdur").get(f"/expedientes/{exp.numero}/derivar").status_code == 403


def test_two_people_derive_the_same_expediente(services, app, users):
    exp = file_tramite(services)
    first, second = browser(app, "mesa"), browser(app, "mesa2")
    data = {"oficina_destino": "GDUR", "prioridad": "normal", "plazo_dias": "5", "paso": "confirmar"}
    derive_form(first, exp.numero)
    derive_form(second, exp.numero)
    assert first.post(f"/expedientes/{exp.numero}/derivar", data).status_code == 303
    late = second.post(f"/expedientes/{exp.numero}/derivar", {**data, "oficina_destino": "SGAT"})
    assert late.status_code == 409 and "no está pendiente de derivación" in late.text
    assert "Estado actual del expediente" in late.text and "Gerencia de Desarrollo Urbano y Rural" in late.text
    assert Expediente.get_by_id(exp.id).oficina_actual.codigo == "GDUR"


def test_recepcion_observar_through_the_task_page(services, app, users):
    exp = file_tramite(services)
    b = browser(app, "mesa")
    task = Tarea.get(Tarea.expediente == exp.id).task_id
    page = b.get(f"/expedientes/{exp.numero}/tareas/{task}")
    assert page.status_code == 200 and "Resultado de la revisión" in page.text and "Observar" in page.text
    bad = b.post(f"/expedientes/{exp.numero}/tareas/{task}", {"accion": "observar", "observacion": " "})
    assert bad.status_code == 422 and 'id="error-observacion">Este campo es obligatorio.' in bad.text
    ok = b.post(f"/expedientes/{exp.numero}/tareas/{task}", {"accion": "observar", "observacion": "Falta la firma"})
    assert ok.status_code == 303
    assert Expediente.get_by_id(exp.id).estado == "Observado"
    assert "se registró «Recepción: Observar»" in text(b.get(ok.headers["location"]).text)


def test_archivar_with_reason(services, app, users):
    exp = file_tramite(services)
    b = browser(app, "mesa")
    task = Tarea.get(Tarea.expediente == exp.id).task_id
    page = b.get(f"/expedientes/{exp.numero}/tareas/{task}", accion="archivar")
    assert "Motivo del archivo" in page.text and "Observación" not in page.text and ">Archivar</button>" in page.text
    b.post(f"/expedientes/{exp.numero}/tareas/{task}", {"accion": "archivar", "_vista": "archivar",
                                                        "motivo": "Presentado por duplicado"})
    assert Expediente.get_by_id(exp.id).estado == "Archivado"


def test_a_field_the_acciones_page_did_not_show_is_not_held_against_it(services, app, users):
    """Found by test_fuzz: the Archivar page has no «Observación»; a stray value for it (an old tab, a client
    that sends every field) is not the user's, so it neither stops the step nor gets an error nobody can see."""
    exp = file_tramite(services)
    b = browser(app, "mesa")
    task = Tarea.get(Tarea.expediente == exp.id).task_id
    result = b.post(f"/expedientes/{exp.numero}/tareas/{task}", {"accion": "archivar", "_vista": "archivar",
                                                                 "motivo": "Presentado por duplicado",
                                                                 "observacion": "x" * 5000})
    assert result.status_code == 303 and Expediente.get_by_id(exp.id).estado == "Archivado"


def office_tray(b):
    page = b.get("/bandeja")
    assert page.status_code == 200
    return page


def test_office_tray_receive_and_attend_with_pdf(services, app, users):
    exp = file_tramite(services)
    step(services, exp, actor(users["mesa"]), accion="conforme")
    derivar(services, exp, actor(users["mesa"]), "GDUR")
    b = browser(app, "gdur")
    tray = office_tray(b)
    assert exp.numero in tray.text and ">Recibir</button>" in tray.text
    for label in ("Ver datos del expediente", "Ver seguimiento del expediente"):
        assert f'aria-label="{label} {exp.numero}"' in tray.text
    task = re.search(r'/tareas/([0-9a-f-]{36})"', tray.text).group(1)
    assert b.post(f"/expedientes/{exp.numero}/tareas/{task}", {}).status_code == 303
    tray = office_tray(b)
    for action in ("Atender", "Derivar a otra oficina", "Devolver a mesa de partes"):
        assert f">{action}</a>" in tray.text
    task = re.search(r"/tareas/([0-9a-f-]{36})\?accion=atender", tray.text).group(1)
    form = b.get(f"/expedientes/{exp.numero}/tareas/{task}", accion="atender")
    assert ">Respuesta<" in form.text and ">Archivo de respuesta</label>" in form.text
    assert ">Registrar atención</button>" in form.text and 'enctype="multipart/form-data"' in form.text
    url = f"/expedientes/{exp.numero}/tareas/{task}"
    fake = b.post(url, [("accion", "atender"), ("_vista", "atender"), ("respuesta", "Otorgada")],
                  files=[("archivo_respuesta", "respuesta.pdf", b"<html>no soy un pdf</html>")])
    assert fake.status_code == 422 and "no es un PDF" in fake.text and ">Otorgada</textarea>" in fake.text
    assert not list((services.settings.attachments_dir / "tmp").iterdir())
    ok = b.post(url, [("accion", "atender"), ("_vista", "atender"), ("respuesta", "Licencia otorgada")],
                files=[("archivo_respuesta", "resolución 015.pdf", sample_pdf("Resolución"))])
    assert ok.status_code == 303
    exp = Expediente.get_by_id(exp.id)
    assert exp.estado == "Atendido"
    respuesta = Adjunto.get((Adjunto.expediente == exp.id) & (Adjunto.tipo == "archivo_respuesta"))
    assert respuesta.nombre == "resolución 015.pdf"
    assert services.storage.path(respuesta.sha256).exists()
    final = text(browser(app, "mesa").get(f"/expedientes/{exp.numero}/seguimiento").text)
    assert "Atención: Atender (responder)" in final and "Licencia otorgada" in final and "Atendido" in final


def test_multipart_without_csrf_is_refused_before_reading_files(services, app, users):
    exp = file_tramite(services)
    step(services, exp, actor(users["mesa"]), accion="conforme")
    derivar(services, exp, actor(users["mesa"]), "GDUR")
    recibir(services, exp, actor(users["gdur"]))
    b = browser(app, "gdur")
    task = Tarea.get(Tarea.expediente == exp.id).task_id
    refused = b.post(f"/expedientes/{exp.numero}/tareas/{task}", [("accion", "atender"), ("respuesta", "x")],
                     files=[("archivo_respuesta", "r.pdf", sample_pdf("R"))], csrf=False)
    assert refused.status_code == 403
    assert not list((services.settings.attachments_dir / "tmp").iterdir())
    assert Expediente.get_by_id(exp.id).estado == "En atención"


def test_three_offices_in_parallel_through_the_web(services, app, users):
    exp = file_tramite(services)
    b = browser(app, "mesa")
    derive_form(b, exp.numero)
    data = [("oficina_destino", "GDUR"), ("oficinas_adicionales", "SGAT"), ("oficinas_adicionales", "GDS"),
            ("con_copia", "OAJ"), ("prioridad", "normal"), ("plazo_dias", "7"), ("proveido", "Informe de cada área")]
    confirm = b.post(f"/expedientes/{exp.numero}/derivar", data + [("paso", "revisar")])
    assert "Subgerencia de Administración Tributaria, Gerencia de Desarrollo Social" in text(confirm.text)
    assert b.post(f"/expedientes/{exp.numero}/derivar", data + [("paso", "confirmar")]).status_code == 303
    assert "Gerencia de Desarrollo Urbano y Rural, Subgerencia de Administración Tributaria, Gerencia de " \
           "Desarrollo Social" in text(b.get(f"/expedientes/{exp.numero}/derivado").text)
    for name in ("gdur", "rentas", "social"):
        office = browser(app, name)
        task = re.search(r'/tareas/([0-9a-f-]{36})"', office_tray(office).text).group(1)
        office.post(f"/expedientes/{exp.numero}/tareas/{task}", {})
        task = re.search(r"/tareas/([0-9a-f-]{36})\?accion=atender", office_tray(office).text).group(1)
        office.post(f"/expedientes/{exp.numero}/tareas/{task}", {"accion": "atender", "_vista": "atender",
                                                                 "respuesta": f"Informe de {name}"})
        done = Expediente.get_by_id(exp.id).terminado
        assert done == (name == "social")
    copied = browser(app, "social")  # a real office user of OAJ is not needed: the Copia row is the tray's
    assert copied.get("/bandeja").status_code == 200


def test_anular_derivacion_before_and_after_reception(services, app, users):
    exp = file_tramite(services)
    step(services, exp, actor(users["mesa"]), accion="conforme")
    derivar(services, exp, actor(users["mesa"]), "GDUR")
    b = browser(app, "mesa")
    page = b.get(f"/expedientes/{exp.numero}")
    assert "Anular derivación</a>" in page.text
    confirm = b.get(f"/expedientes/{exp.numero}/eventos/anulacion")
    assert confirm.status_code == 200 and "¿Confirma «Anular derivación»" in confirm.text
    assert b.post(f"/expedientes/{exp.numero}/eventos/anulacion", {}).status_code == 303
    assert Expediente.get_by_id(exp.id).tarea_actual == "Derivación"
    assert "Derivación anulada" in text(b.get(f"/expedientes/{exp.numero}/seguimiento").text)
    derivar(services, exp, actor(users["mesa"]), "GDUR")
    recibir(services, exp, actor(users["gdur"]))
    assert "Anular derivación</a>" not in b.get(f"/expedientes/{exp.numero}").text
    late = b.post(f"/expedientes/{exp.numero}/eventos/anulacion", {})
    assert late.status_code == 409 and "solo ella puede devolverlo" in late.text
    assert browser(app, "gdur").post(f"/expedientes/{exp.numero}/eventos/anulacion", {}).status_code == 403


def test_conflict_when_two_users_complete_the_same_task(services, app, users):
    exp = file_tramite(services)
    task = Tarea.get(Tarea.expediente == exp.id).task_id
    first, second = browser(app, "mesa"), browser(app, "mesa2")
    first.get(f"/expedientes/{exp.numero}/tareas/{task}")
    second.get(f"/expedientes/{exp.numero}/tareas/{task}")
    assert first.post(f"/expedientes/{exp.numero}/tareas/{task}", {"accion": "conforme"}).status_code == 303
    late = second.post(f"/expedientes/{exp.numero}/tareas/{task}", {"accion": "archivar", "motivo": "x"})
    assert late.status_code == 409
    assert "ya fue realizada por otra persona" in late.text and "Estado actual del expediente" in late.text
    assert Expediente.get_by_id(exp.id).estado == "Recibido"


def test_auditor_reads_but_cannot_act(services, app, users):
    exp = file_tramite(services)
    b = browser(app, "auditor")
    assert b.get("/tramites").status_code == 200
    assert b.get(f"/expedientes/{exp.numero}").status_code == 200
    assert b.get(f"/expedientes/{exp.numero}/derivar").status_code == 403
    task = Tarea.get(Tarea.expediente == exp.id).task_id
    assert b.post(f"/expedientes/{exp.numero}/tareas/{task}", {"accion": "conforme"}).status_code == 403
    assert Expediente.get_by_id(exp.id).estado == "Registrado"


@pytest.fixture
def permiso_services(settings, clock, tmp_path, users):
    """Services on the same database whose workflows folder also holds a second process, permiso.bpmn."""
    workflows = tmp_path / "workflows"
    shutil.copytree(settings.workflows_dir, workflows)
    for name in ("permiso.bpmn", "permiso.schema.json", "permiso.uischema.json", "opinion.schema.json"):
        shutil.copy(f"tests/workflows/{name}", workflows / name)
    own = type(settings)(data_dir=settings.data_dir, database_url=settings.database_url, workflows_dir=workflows)
    services = build_services(own, clock)
    yield services
    services.close()


def test_generic_task_page_runs_any_diagram_without_new_code(permiso_services, users):
    """A second BPMN with its own forms: every kind of control, rendered and completed from its schema."""
    services = permiso_services
    app = create_app(services)
    exp = file_tramite(services, proceso="permiso", asunto="Permiso para festival")
    task = Tarea.get(Tarea.expediente == exp.id).task_id
    b = browser(app, "mesa")
    page = b.get(f"/expedientes/{exp.numero}/tareas/{task}")
    assert page.status_code == 200 and "Evalúe el permiso del expediente " + exp.numero in page.text
    for control in ('type="text" value="" maxlength="100" id="f-nombre_evento"', 'type="date"', 'step="1" min="1"',
                    'step="any" min="0"', '<select id="f-tipo"', '<option value="GDUR">', '<textarea id="f-descripcion"',
                    'type="checkbox" id="f-acepta"', 'type="file"', ">Registrar evaluación</button>"):
        assert control in page.text, control
    url = f"/expedientes/{exp.numero}/tareas/{task}"
    fields = [("nombre_evento", "Festival de la cosecha"), ("tipo", "cultural"), ("fecha", "2026-13-40"),
              ("asistentes", "3000"), ("monto", "150.50"), ("oficina_apoyo", "OGRD"), ("descripcion", "En la plaza")]
    bad = b.post(url, fields, files=[("plano", "plano.pdf", sample_pdf("Plano"))])
    assert bad.status_code == 422
    assert 'id="error-fecha">Escriba una fecha válida (AAAA-MM-DD).' in bad.text
    assert 'id="error-acepta">' in bad.text and 'value="Festival de la cosecha"' in bad.text
    fields[2] = ("fecha", "2026-04-18")
    ok = b.post(url, fields + [("acepta", "true")], files=[("plano", "plano.pdf", sample_pdf("Plano"))])
    assert ok.status_code == 303
    exp = Expediente.get_by_id(exp.id)
    assert exp.estado == "En opinión" and exp.oficina_actual.codigo == "OGRD"  # the gateway read the form
    row = Evento.get((Evento.expediente == exp.id) & (Evento.tarea == "evaluacion"))
    assert '"asistentes":3000' in row.payload and '"monto":150.5' in row.payload and row.detalle == "En la plaza"
    assert Adjunto.get((Adjunto.expediente == exp.id) & (Adjunto.tipo == "plano")).nombre == "plano.pdf"


def test_error_pages_never_show_a_traceback(services, app, users, monkeypatch):
    b = browser(app, "mesa")
    monkeypatch.setattr("mpv.tramites.listados.tramites", lambda *a, **k: 1 / 0)
    page = b.get("/tramites")
    assert page.status_code == 500 and "Código de incidente" in page.text
    assert "Traceback" not in page.text and "ZeroDivisionError" not in page.text
    assert page.headers["content-security-policy"].startswith("default-src 'self'")
