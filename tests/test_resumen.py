"""The daily digest to staff (mpv.tramites.resumen, issue 13 item 7): on a business day, from the hour of
Parámetro resumen_hora, each office with «Enviar resumen diario» on and something vencido or por vencer gets one
e-mail per active user, once; the figures are its home page's. Real dates: Wednesday 2 December 2026, with
Saturday the 5th and Tuesday the 8th (Inmaculada Concepción, a national holiday) around it."""
from __future__ import annotations

import multiprocessing
from email import message_from_bytes, policy
from pathlib import Path

import pytest
from helpers import build_services, derivar, file_tramite, lima, make_user, recibir, step

from mpv.config import Settings
from mpv.correo.mailer import Mailer
from mpv.engine import Actor
from mpv.models import Correo, Oficina, Parametro, Resumen, Usuario
from mpv.services import Services
from mpv.tramites import catalogos, listados
from mpv.tramites.resumen import TIPO, enviar_resumenes, pendientes

MIERCOLES = lima(2026, 12, 2, 7, 5)
BASE = "https://mpv.example.gob.pe"


@pytest.fixture
def settings(tmp_path, database_url):
    return Settings(data_dir=tmp_path / "data", database_url=database_url, base_url=BASE)


def usuario(username, rol, oficina, email="", activo=True) -> Usuario:
    user = make_user(username, rol, oficina)
    Usuario.update(email=email, activo=activo).where(Usuario.id == user.id).execute()
    return Usuario.get_by_id(user.id)


@pytest.fixture
def oficina(services, clock):
    """GDUR with a vencido (derived on Monday 23 November, 3 business days), a por vencer (Monday 30 November,
    3 days: its last day is Thursday 3 December) and one en plazo (10 days); mesa de partes with a filing of
    this morning still to receive (due today). Their staff: two active users of GDUR with an address, one
    without, one inactive; one of mesa de partes. The clock: Wednesday 2 December, 07:05."""
    mesa = Actor.de_usuario(usuario("mesa", "mesa", "MP", "mesa@muni.gob.pe"))
    gdur = Actor.de_usuario(usuario("gdur", "oficina", "GDUR", "gdur@muni.gob.pe"))
    usuario("gdur2", "oficina", "GDUR", "urbano@muni.gob.pe")
    usuario("gdur3", "oficina", "GDUR")
    usuario("cesado", "oficina", "GDUR", "cesado@muni.gob.pe", activo=False)
    usuario("rentas", "oficina", "SGAT", "rentas@muni.gob.pe")  # SGAT has nothing pending
    exps = {}
    for nombre, dia, plazo in (("vencido", 23, 3), ("por_vencer", 30, 3), ("en_plazo", 30, 10)):
        clock.set(lima(2026, 11, dia, 9, 0))
        exp = file_tramite(services, asunto=f"Licencia {nombre.replace('_', ' ')}")
        step(services, exp, mesa, accion="conforme")
        derivar(services, exp, mesa, "GDUR", plazo_dias=plazo)
        recibir(services, exp, gdur)
        exps[nombre] = exp
    clock.set(lima(2026, 12, 2, 7, 1))
    exps["en_mesa"] = file_tramite(services, asunto="Constancia de posesión")
    clock.set(MIERCOLES)
    services.engine.fire_due_timers()  # the vencido's timer fired long ago, in a running server
    return exps


def digests():
    return list(Correo.select().where(Correo.tipo == TIPO).order_by(Correo.destinatario))


def sent_bodies(services) -> dict[str, tuple[str, str]]:
    """Send the queue to the outbox: each recipient's (subject, body) of its digest."""
    Mailer(services).send_due()
    messages = {}
    for path in sorted(services.settings.outbox_dir.glob(f"*-{TIPO}.eml")):
        message = message_from_bytes(path.read_bytes(), policy=policy.default)
        messages[message["To"]] = (message["Subject"], message.get_body().get_content())
    return messages


def test_each_active_user_gets_one_digest_listing_the_vencido_and_the_por_vencer(services, oficina):
    envio = enviar_resumenes(services)
    assert envio.motivo == "" and [(p.oficina.codigo, p.cifras, n) for p, n in envio.enviados] == [
        ("GDUR", {"vencidos": 1, "por_vencer": 1, "procedimientos_por_vencer": 0}, 2),
        ("MP", {"vencidos": 0, "por_vencer": 1, "procedimientos_por_vencer": 0}, 1)]
    assert [(c.destinatario, c.expediente_id, c.estado) for c in digests()] == [
        ("gdur@muni.gob.pe", None, "pendiente"), ("mesa@muni.gob.pe", None, "pendiente"),
        ("urbano@muni.gob.pe", None, "pendiente")]
    # Every active office was looked at once today (SGAT: nothing to say), whatever it had to report.
    assert {r.fecha.isoformat() for r in Resumen.select()} == {"2026-12-02"}
    assert sorted(r.oficina.codigo for r in Resumen.select()) == sorted(o.codigo for o in Oficina.activas())

    messages = sent_bodies(services)
    assert set(messages) == {"gdur@muni.gob.pe", "urbano@muni.gob.pe", "mesa@muni.gob.pe"}
    subject, body = messages["urbano@muni.gob.pe"]
    assert messages["gdur@muni.gob.pe"] == (subject, body)
    assert subject == "Resumen diario del 02/12/2026, Gerencia de Desarrollo Urbano y Rural: 1 vencido(s), 1 por vencer"
    vencido, por_vencer = oficina["vencido"], oficina["por_vencer"]
    assert f"  * Expediente N° {vencido.numero}: Licencia vencido\n    Plazo vencido" in body
    assert (f"  * Expediente N° {por_vencer.numero}: Licencia por vencer\n    Último día del plazo: 03/12/2026"
            in body)
    assert oficina["en_plazo"].numero not in body and oficina["en_mesa"].numero not in body
    assert "  - Vencidos: 1\n" in body and f"{BASE}/tramites?plazo=vencido\n" in body
    assert f"{BASE}/tramites?plazo=por_vencer&orden=vence\n" in body
    subject, body = messages["mesa@muni.gob.pe"]
    assert subject.endswith(": 0 vencido(s), 1 por vencer") and oficina["en_mesa"].numero in body
    assert vencido.numero not in body and f"{BASE}/tramites?ubicacion=mesa&plazo=por_vencer&orden=vence" in body

    again = enviar_resumenes(services)  # the same day, later: nothing more
    assert (again.motivo, again.enviados) == ("", []) and len(digests()) == 3


def test_nothing_before_the_hour_on_a_saturday_or_on_a_holiday(services, clock, oficina):
    for moment, motivo in [(lima(2026, 12, 2, 6, 59), "el resumen sale desde las 07:00"),
                           (lima(2026, 12, 5, 9, 0), "el 05/12/2026 no es día hábil"),
                           (lima(2026, 12, 8, 9, 0), "el 08/12/2026 no es día hábil")]:
        clock.set(moment)
        envio = enviar_resumenes(services)
        assert (envio.motivo, envio.enviados) == (motivo, [])
    assert not digests() and not Resumen.select().exists()
    with services.db.write():
        Parametro.create(clave="resumen_hora", valor="07:30")
    services.parametros.refresh()
    clock.set(lima(2026, 12, 7, 7, 20))
    assert enviar_resumenes(services).motivo == "el resumen sale desde las 07:30"
    clock.set(lima(2026, 12, 7, 7, 30))
    assert [p.oficina.codigo for p, _ in enviar_resumenes(services).enviados] == ["GDUR", "MP"]
    assert {r.fecha.isoformat() for r in Resumen.select()} == {"2026-12-07"}


def test_an_office_with_the_digest_off_gets_nothing(services, oficina):
    gdur = Oficina.por_codigo("GDUR")
    catalogos.cambiar_resumen(services, Actor.de_usuario(make_user("admin", "admin")), gdur.id, False)
    assert [p.oficina.codigo for p, _ in enviar_resumenes(services).enviados] == ["MP"]
    assert [c.destinatario for c in digests()] == ["mesa@muni.gob.pe"]
    assert not Resumen.select().where(Resumen.oficina == gdur.id).exists()


def test_the_home_page_shows_the_digests_figures(services, oficina):
    gdur = Actor.de_usuario(Usuario.get(Usuario.username == "gdur"))
    figuras = listados.inicio(services, gdur).figuras
    digest = pendientes(services, Oficina.por_codigo("GDUR"), services.clock())
    assert {k: figuras[k] for k in ("vencidos", "por_vencer", "procedimientos_por_vencer")} == digest.cifras == {
        "vencidos": 1, "por_vencer": 1, "procedimientos_por_vencer": 0}
    assert [f["numero"] for f in digest.filas["vencidos"]] == [oficina["vencido"].numero]


def test_a_procedures_deadline_por_vencer_is_a_figure_of_the_home_page_and_the_digest(services, oficina, clock):
    """An expediente of a TUPA procedure waiting in GDUR, whose own deadline (3 business days from Friday 27
    November: 1, 2 and 3 December) ends tomorrow, is counted apart from the step's plazo and listed with it."""
    import json

    from mpv.models import Procedimiento

    Procedimiento.create(codigo="LF-01", nombre="Licencia de funcionamiento", requisitos=json.dumps(["Solicitud"]),
                         calificacion="positivo", plazo_dias=3, oficina=Oficina.por_codigo("GDUR"), base_legal="Ley")
    mesa = Actor.de_usuario(Usuario.get(Usuario.username == "mesa"))
    clock.set(lima(2026, 11, 27, 9, 0))
    exp = file_tramite(services, procedimiento="LF-01", requisitos=[1], asunto="Licencia de la bodega")
    step(services, exp, mesa, accion="conforme")
    derivar(services, exp, mesa, "GDUR", plazo_dias=10)
    clock.set(MIERCOLES)
    gdur = Actor.de_usuario(Usuario.get(Usuario.username == "gdur"))
    figuras = listados.inicio(services, gdur).figuras
    digest = pendientes(services, Oficina.por_codigo("GDUR"), services.clock())
    assert figuras["procedimientos_por_vencer"] == digest.cifras["procedimientos_por_vencer"] == 1
    assert [f["numero"] for f in digest.filas["procedimientos_por_vencer"]] == [exp.numero]
    enviar_resumenes(services)
    subject, body = sent_bodies(services)["gdur@muni.gob.pe"]
    assert "1 plazo(s) de procedimiento por vencer" in subject
    assert f"Expediente N° {exp.numero}: Licencia de la bodega" in body and "Último día del plazo: 03/12/2026" in body


def test_the_cli_queues_when_due_and_forzar_sends_before_the_hour_but_never_twice(capsys, settings, clock,
                                                                                   services, oficina):
    from mpv.cli import main

    def run(*argv):
        code = main(["correos", "resumen", *argv], settings=settings, clock=clock)
        return code, capsys.readouterr().out

    clock.set(lima(2026, 12, 2, 6, 0))
    assert run() == (0, "Resumen diario del 02/12/2026: todavía no toca (el resumen sale desde las 07:00); use "
                        "--forzar para enviarlo ya.\n")
    code, out = run("--forzar")
    assert code == 0 and out.startswith("GDUR     1 vencido(s), 1 por vencer: 2 correo(s) en cola.\n")
    assert "Resumen diario del 02/12/2026: 2 oficina(s) con resumen en cola" in out
    clock.set(MIERCOLES)
    code, out = run("--forzar")
    assert code == 0 and out.startswith("Resumen diario del 02/12/2026: 0 oficina(s)") and len(digests()) == 3


# -- several processes at once ----------------------------------------------------------------------------
def test_an_office_another_process_did_meanwhile_is_left_to_it(services, oficina, monkeypatch):
    """Another process writes GDUR's digest while this one counts it: this one's insert hits the unique key,
    its transaction (the Resumen row and the e-mails) rolls back, and it goes on with the next office."""
    from mpv.tramites import resumen

    contar = resumen.pendientes

    def otro_proceso_primero(services, oficina, ahora):
        if oficina.codigo == "GDUR":
            with services.db.write():
                Resumen.create(oficina=oficina.id, fecha=ahora.date(), creado_en=ahora)
        return contar(services, oficina, ahora)

    monkeypatch.setattr(resumen, "pendientes", otro_proceso_primero)
    assert [p.oficina.codigo for p, _ in enviar_resumenes(services).enviados] == ["MP"]
    assert [c.destinatario for c in digests()] == ["mesa@muni.gob.pe"]


def _proceso(database_url: str, data_dir: str, barrier, results):
    """Another MPV process on the same database, at 07:05 of Wednesday 2 December: its own services."""
    services = Services.build(Settings(data_dir=Path(data_dir), database_url=database_url), clock=_miercoles)
    try:
        barrier.wait(60)
        results.put(sum(n for _, n in enviar_resumenes(services).enviados))
    except Exception as exc:  # noqa: BLE001 - reported to the test
        results.put(repr(exc))
    finally:
        services.close()


def _miercoles():
    return MIERCOLES


def test_two_processes_at_once_queue_each_digest_once(settings, oficina):
    context = multiprocessing.get_context("spawn")
    barrier, results = context.Barrier(3), context.Queue()
    procs = [context.Process(target=_proceso, args=(settings.database_url, str(settings.data_dir), barrier, results))
             for _ in range(3)]
    for proc in procs:
        proc.start()
    outcomes = [results.get(timeout=120) for _ in procs]
    for proc in procs:
        proc.join(60)
    # Each office's digest queued by one of them, whichever (on PostgreSQL they may share the offices out).
    assert all(isinstance(n, int) for n in outcomes) and sum(outcomes) == 3, outcomes
    assert [c.destinatario for c in digests()] == ["gdur@muni.gob.pe", "mesa@muni.gob.pe", "urbano@muni.gob.pe"]
    assert Resumen.select().count() == Oficina.select().where(Oficina.activa == True).count()  # noqa: E712


def test_the_office_page_has_the_digest_checkbox(services):
    from webclient import signed_in

    from mpv.models import Evento

    admin = signed_in(services, "admin", "admin")
    gdur = Oficina.por_codigo("GDUR")
    page = admin.get(f"/admin/oficinas/{gdur.id}")
    assert 'name="alertas" value="true" checked' in page.text and "Enviar resumen diario" in page.text
    result = admin.post(f"/admin/oficinas/{gdur.id}/resumen", {})
    assert result.status_code == 303
    page = admin.get(result.headers["location"])
    assert "La oficina GDUR ya no recibirá el resumen diario por correo." in page.text
    assert 'name="alertas" value="true" aria-describedby' in page.text and not Oficina.por_codigo("GDUR").alertas
    admin.post(f"/admin/oficinas/{gdur.id}/resumen", {"alertas": "true"})
    assert Oficina.por_codigo("GDUR").alertas
    assert [(r.accion, r.descripcion) for r in Evento.select().where(Evento.tipo == "admin").order_by(Evento.seq)] == [
        ("oficina_resumen_desactivado",
         "La oficina GDUR ya no recibirá el resumen diario de sus expedientes vencidos y por vencer."),
        ("oficina_resumen_activado",
         "La oficina GDUR recibirá el resumen diario de sus expedientes vencidos y por vencer.")]
    assert "Enviar resumen diario" not in admin.get("/admin/tipos-documento/1").text
    assert admin.post("/admin/tipos-documento/1/resumen", {}).status_code == 404
