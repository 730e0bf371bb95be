"""What staff may see (mpv.tramites.expedientes, mpv.tramites.listados), driven directly against the real database:
an expediente's data, its seguimiento, one attached file, Trámites recibidos and the home page's figures — and
each action's refusals (not staff, an office the expediente never reached, an office user with no office,
unknown numbers and ids), which write nothing."""
from __future__ import annotations

import pytest
from helpers import derivar, file_tramite, make_user, step
from webclient import Browser

from mpv.demo import sample_pdf
from mpv.engine import SISTEMA, Actor
from mpv.errors import NotAllowed, NotFound
from mpv.models import Evento, Tarea
from mpv.tramites import expedientes, listados
from mpv.web.app import create_app


@pytest.fixture
def derivado(services, staff):
    """An expediente with an annex, received by mesa de partes and derived to GDUR with a copy to GDS."""
    exp = file_tramite(services, anexos=[sample_pdf("Anexo")])
    step(services, exp, staff["mesa"], accion="conforme")
    derivar(services, exp, staff["mesa"], "GDUR", con_copia=["GDS"])
    return exp


@pytest.fixture
def sin_oficina(services) -> Actor:
    """An office user whose office is missing (the database allows it, though Administración does not)."""
    return Actor.de_usuario(make_user("huerfano", "oficina"), ip="127.0.0.1")


def principal(expediente):
    """The expediente's main document (its first file)."""
    return min(expediente.adjuntos, key=lambda a: a.id)


def refused(error, action, *args) -> str:
    """The message of ``error`` raised by ``action(*args)``; nothing is written meanwhile."""
    before = Evento.select().count()
    with pytest.raises(error) as raised:
        action(*args)
    assert Evento.select().count() == before
    return raised.value.message


# -- one expediente ------------------------------------------------------------------------------------------
def test_ver_gives_the_data_the_sender_the_files_and_what_the_actor_may_do(services, staff, derivado):
    detalle = expedientes.ver(services, staff["gdur"], derivado.numero)
    assert detalle.expediente.id == derivado.id and detalle.remitente.nombres == "Ana"
    assert [a.nombre for a in detalle.adjuntos] == ["solicitud.pdf", "anexo1.pdf"]
    assert [t.spec for t in detalle.tareas] == ["recibir"] and detalle.eventos == []
    assert [c.oficina.codigo for c in detalle.copias] == ["GDS"]
    mesa = expedientes.ver(services, staff["mesa"], derivado.numero)
    assert mesa.tareas == []  # the task waits in GDUR's tray, not in mesa de partes'
    assert [nombre for nombre, _ in mesa.eventos] == ["anulacion"]  # «Anular derivación», mesa de partes only
    auditor = expedientes.ver(services, staff["auditor"], derivado.numero)
    assert auditor.tareas == [] and auditor.eventos == [] and len(auditor.adjuntos) == 2


def test_ver_refuses_who_may_not_see_the_expediente(services, staff, derivado, sin_oficina):
    assert refused(NotAllowed, expedientes.ver, services, staff["rentas"], derivado.numero) == (
        f"El expediente {derivado.numero} no pasó por su oficina.")
    assert "Solo el personal" in refused(NotAllowed, expedientes.ver, services, Actor.ciudadano(derivado),
                                         derivado.numero)
    assert "no tiene una oficina asignada" in refused(NotAllowed, expedientes.ver, services, sin_oficina,
                                                      derivado.numero)
    assert "No existe el expediente 2026-999999" in refused(NotFound, expedientes.ver, services, staff["mesa"],
                                                            "2026-999999")


def test_an_office_sees_what_came_con_copia_and_nothing_before_it_arrives(services, staff):
    social = Actor.de_usuario(make_user("social", "oficina", "GDS"))
    exp = file_tramite(services)
    refused(NotAllowed, expedientes.ver, services, social, exp.numero)
    step(services, exp, staff["mesa"], accion="conforme")
    derivar(services, exp, staff["mesa"], "GDUR", con_copia=["GDS"])
    assert expedientes.ver(services, social, exp.numero).tareas == []


def test_ver_seguimiento_gives_the_movements_the_pending_steps_and_the_path(services, staff, derivado):
    vista = expedientes.ver_seguimiento(services, staff["gdur"], derivado.numero)
    assert vista.expediente.id == derivado.id
    assert len(vista.movimientos) >= 3 and vista.movimientos[-1].destino.startswith("Gerencia de Desarrollo Urbano")
    assert [(t.spec, t.oficina.codigo) for t in vista.pendientes] == [("recibir", "GDUR")]
    assert "<bpmn" in vista.bpmn and vista.recorrido["actuales"] == ["recibir"]
    assert {"recepcion", "derivacion"} <= set(vista.recorrido["completadas"])
    # the command line, as the system, reads the same movements
    assert expedientes.seguimiento(services, SISTEMA, derivado.numero)[1] == vista.movimientos


def test_ver_seguimiento_refusals(services, staff, derivado):
    refused(NotAllowed, expedientes.ver_seguimiento, services, staff["rentas"], derivado.numero)
    refused(NotAllowed, expedientes.ver_seguimiento, services, Actor.ciudadano(derivado), derivado.numero)
    refused(NotFound, expedientes.ver_seguimiento, services, staff["mesa"], "2026-999999")


# -- one attached file ---------------------------------------------------------------------------------------
def test_archivo_gives_the_stored_file_and_its_name(services, staff, derivado):
    adjunto = principal(derivado)
    archivo = expedientes.archivo(services, staff["gdur"], adjunto.id)
    assert archivo.adjunto.id == adjunto.id and archivo.nombre == "solicitud.pdf"
    assert archivo.path.read_bytes().startswith(b"%PDF")


def test_archivo_refusals(services, staff, derivado):
    adjunto = principal(derivado)
    assert refused(NotAllowed, expedientes.archivo, services, staff["rentas"], adjunto.id) == (
        f"El expediente {derivado.numero} no pasó por su oficina.")
    refused(NotAllowed, expedientes.archivo, services, Actor.ciudadano(derivado), adjunto.id)
    for missing in (0, -1, 999_999, 2**63, 2**70):
        assert refused(NotFound, expedientes.archivo, services, staff["mesa"], missing) == "Ese archivo no existe."
    services.storage.path(adjunto.sha256).unlink()
    assert "no está disponible en el servidor" in refused(NotFound, expedientes.archivo, services, staff["mesa"],
                                                          adjunto.id)


# -- the lists -----------------------------------------------------------------------------------------------
def test_recibidos_lists_within_what_the_actor_may_see(services, staff, derivado):
    otro = file_tramite(services)
    mesa = listados.recibidos(services, staff["mesa"], listados.Filtro())
    assert [f["numero"] for f in mesa.pagina.filas] == [otro.numero, derivado.numero]
    assert mesa.puede_derivar and "Registrado" in mesa.derivables and "Registrado" in mesa.estados
    gdur = listados.recibidos(services, staff["gdur"], listados.Filtro())
    assert [f["numero"] for f in gdur.pagina.filas] == [derivado.numero] and not gdur.puede_derivar
    assert listados.recibidos(services, staff["rentas"], listados.Filtro()).pagina.filas == []
    assert not listados.recibidos(services, staff["auditor"], listados.Filtro()).puede_derivar


def test_recibidos_refusals(services, staff, derivado, sin_oficina):
    assert "Solo el personal" in refused(NotAllowed, listados.recibidos, services, Actor.ciudadano(derivado),
                                         listados.Filtro())
    assert "no tiene una oficina asignada" in refused(NotAllowed, listados.recibidos, services, sin_oficina,
                                                      listados.Filtro())


def test_inicio_counts_each_figure_with_the_filter_of_its_list(services, staff, derivado, clock):
    nuevo = file_tramite(services)
    mesa = listados.inicio(services, staff["mesa"])
    assert mesa.hoy == services.calendario.fecha_local(clock())
    assert set(mesa.filtros) <= set(mesa.figuras) and mesa.figuras["por_recepcionar"] == 1
    assert mesa.figuras["en_oficinas"] == 1
    assert [(t.spec, t.expediente.numero) for t in mesa.tareas] == [("recepcion", nuevo.numero)]
    gdur = listados.inicio(services, staff["gdur"])
    assert set(gdur.filtros) == {"vencidos", "por_vencer", "procedimientos_por_vencer"}
    assert (gdur.figuras["por_recibir"], gdur.figuras["en_atencion"], gdur.figuras["con_copia"]) == (1, 0, 0)
    assert [t.expediente.numero for t in gdur.tareas] == [derivado.numero]
    assert listados.inicio(services, staff["rentas"]).tareas == []
    auditor = listados.inicio(services, staff["auditor"])
    assert auditor.tareas == [] and auditor.figuras["presentados_hoy"] == 2


def test_inicio_refusals(services, staff, derivado, sin_oficina):
    refused(NotAllowed, listados.inicio, services, Actor.ciudadano(derivado))
    refused(NotAllowed, listados.inicio, services, sin_oficina)


# -- defects the actions fixed, seen through the web -----------------------------------------------------------
def test_an_office_user_with_no_office_no_longer_lists_the_whole_register(services, derivado):
    """Before, «pendiente_en=None» narrowed nothing: such a user listed every expediente."""
    make_user("huerfano", "oficina")
    b = Browser(create_app(services))
    b.login("huerfano")
    page = b.get("/tramites")
    assert page.status_code == 403 and derivado.numero not in page.text
    assert "no tiene una oficina asignada" in page.text


def test_an_attachment_id_past_the_databases_integers_is_not_found(services, staff, derivado):
    """Before, SQLite could not bind the id: a 500 with an incident code."""
    make_user("mesa2", "mesa", "MP")
    b = Browser(create_app(services))
    b.login("mesa2")
    assert b.get(f"/adjuntos/{2**70}").status_code == 404


def test_an_anonymous_visitor_learns_nothing_of_which_attachment_ids_exist(services, derivado):
    """Before, an unknown id answered 404 and a known one sent to the login page."""
    b = Browser(create_app(services))
    adjunto = principal(derivado)
    for adjunto_id in (adjunto.id, 999_999):
        result = b.get(f"/adjuntos/{adjunto_id}")
        assert result.status_code == 303 and "/login" in result.headers["location"]
    assert Tarea.select().count() == 1
