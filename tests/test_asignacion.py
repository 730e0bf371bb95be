"""Inside an office (issue 16, item 1): its head assigns an expediente to one of its people, that person finds it
in «Mis expedientes» and works it, nobody else of the office can until it is reassigned; the office's history
lists every expediente it ever held; only an office's head reads its report."""
from __future__ import annotations

import re

import pytest
from helpers import derivar, file_tramite, make_user, recibir, step
from test_listados import app, browser  # noqa: F401 - the staff app and a signed-in client
from webclient import Browser

from mpv.engine import Actor
from mpv.models import Asignacion, Evento, Oficina, Paso, Tarea, Usuario
from mpv.tramites import asignacion, tareas


@pytest.fixture
def gente(services):
    """Mesa de partes; GDUR's head (jefa) and two of its people; someone of SGAT."""
    users = {name: make_user(name, rol, office) for name, rol, office in (
        ("mesa", "mesa", "MP"), ("jefa", "oficina", "GDUR"), ("ana", "oficina", "GDUR"), ("beto", "oficina", "GDUR"),
        ("rentas", "oficina", "SGAT"))}
    Usuario.update(jefe=True).where(Usuario.username == "jefa").execute()
    users["jefa"] = Usuario.get_by_id(users["jefa"].id)
    return users


def _actor(usuario) -> Actor:
    return Actor.de_usuario(usuario, ip="127.0.0.1")


def _derivado(services, gente, **extra):
    exp = file_tramite(services, **extra)
    step(services, exp, _actor(gente["mesa"]), accion="conforme")
    derivar(services, exp, _actor(gente["mesa"]), "GDUR")
    return exp


def _mios(b: Browser) -> list[str]:
    """The expedientes «Mis expedientes» lists (not a notice that names one)."""
    return re.findall(r'<td class="numero"[^>]*><strong>([0-9-]+)</strong>', b.get("/mis-expedientes").text)


def _tarea(exp) -> str:
    return Tarea.get(Tarea.expediente == exp.id).task_id


def test_the_head_assigns_the_person_works_it_and_nobody_else_can_until_reassigned(services, app, gente):
    exp = _derivado(services, gente)
    jefa, ana, beto = (browser(app, n) for n in ("jefa", "ana", "beto"))
    page = jefa.get(f"/expedientes/{exp.numero}")
    assert "Aún no está asignado a nadie" in page.text and f'href="/expedientes/{exp.numero}/asignar"' in page.text
    assert f"/expedientes/{exp.numero}/asignar" not in ana.get(f"/expedientes/{exp.numero}").text  # not the head

    form = jefa.get(f"/expedientes/{exp.numero}/asignar")
    assert form.status_code == 200 and "Ana (ana)" in form.text and "Beto (beto)" in form.text
    assert "Rentas" not in form.text  # only the office's own people
    done = jefa.post(f"/expedientes/{exp.numero}/asignar", {"usuario": str(gente["ana"].id)})
    assert done.status_code == 303 and done.headers["location"] == f"/expedientes/{exp.numero}"
    assert "Asignado a <strong>Ana</strong>" in jefa.get(f"/expedientes/{exp.numero}").text

    assert _mios(ana) == [exp.numero] and "Recepción en la oficina" in ana.get("/mis-expedientes").text
    assert _mios(beto) == [] and "No tiene expedientes asignados" in beto.get("/mis-expedientes").text
    # The staff API's «my tasks» leaves out what is assigned to another person of the office.
    assert [n for _, n in tareas.mis_tareas(services, _actor(gente["ana"]))[0]] == [exp.numero]
    assert tareas.mis_tareas(services, _actor(gente["beto"]))[0] == []

    # Beto, of the same office, cannot receive it: the message says who has it and how that changes.
    refused = beto.post(f"/expedientes/{exp.numero}/tareas/{_tarea(exp)}", {})
    assert refused.status_code == 403
    assert f"El expediente {exp.numero} está asignado a Ana" in refused.text and "reasigne" in refused.text
    assert ana.post(f"/expedientes/{exp.numero}/tareas/{_tarea(exp)}", {}).status_code == 303  # received

    # Reassigned to Beto: now Ana is refused and Beto attends it.
    assert jefa.post(f"/expedientes/{exp.numero}/asignar", {"usuario": str(gente["beto"].id)}).status_code == 303
    with pytest.raises(Exception, match="asignado a Beto"):
        step(services, exp, _actor(gente["ana"]), accion="atender", respuesta="Listo")
    assert _mios(beto) == [exp.numero] and _mios(ana) == []
    step(services, exp, _actor(gente["beto"]), accion="atender", respuesta="Listo")

    # It left the office: the assignment ended with it, and the history tells each change.
    assert not Asignacion.select().where(Asignacion.expediente == exp.id).exists()
    assert _mios(beto) == []
    filas = [(e.accion, e.descripcion, e.actor_nombre) for e in
             Evento.select().where((Evento.expediente == exp.id) & (Evento.tipo == "asignacion")).order_by(Evento.seq)]
    assert filas == [("asignar", "Asignado a Ana en Gerencia de Desarrollo Urbano y Rural", "jefa"),
                     ("reasignar", "Reasignado de Ana a Beto en Gerencia de Desarrollo Urbano y Rural", "jefa")]
    staff = jefa.get(f"/expedientes/{exp.numero}/seguimiento").text
    assert "Reasignado de Ana a Beto" in staff
    public = Browser(app).get(f"/seguimiento/{exp.codigo}").text
    assert "Asignado a" not in public and "Reasignado" not in public  # inside the office: not the citizen's


def test_what_cannot_be_assigned_is_refused_and_nothing_is_written(services, app, gente):
    exp = _derivado(services, gente)
    jefa, ana = browser(app, "jefa"), browser(app, "ana")
    cambios = Evento.select().where(Evento.tipo != "acceso")  # a denial is audited: that row is no change
    before = cambios.count()
    denied = ana.get(f"/expedientes/{exp.numero}/asignar")
    assert denied.status_code == 403 and "Solo el jefe de la oficina" in denied.text
    assert ana.post(f"/expedientes/{exp.numero}/asignar", {"usuario": str(gente["ana"].id)}).status_code == 403
    for valor, mensaje in (("", "Elija a una persona activa de su oficina."),
                           (str(gente["rentas"].id), "Elija a una persona activa de su oficina."),
                           ("99999999999999999999999", "Elija a una persona activa de su oficina.")):
        bad = jefa.post(f"/expedientes/{exp.numero}/asignar", {"usuario": valor})
        assert bad.status_code == 422 and mensaje in bad.text, valor
    assert jefa.post(f"/expedientes/{exp.numero}/asignar", {"usuario": str(gente["ana"].id)}).status_code == 303
    again = jefa.post(f"/expedientes/{exp.numero}/asignar", {"usuario": str(gente["ana"].id)})
    assert again.status_code == 422 and "ya está asignado a Ana" in again.text
    assert cambios.count() == before + 1  # the one assignment

    # One that left the office (attended) cannot be assigned there any more; one that never reached it is not seen.
    otro = _derivado(services, gente)
    recibir(services, otro, _actor(gente["ana"]))
    step(services, otro, _actor(gente["ana"]), accion="atender", respuesta="Listo")
    conflict = jefa.post(f"/expedientes/{otro.numero}/asignar", {"usuario": str(gente["ana"].id)})
    assert conflict.status_code == 409 and "ya no está en su oficina" in conflict.text
    assert jefa.get(f"/expedientes/{otro.numero}/asignar").status_code == 409
    nunca = file_tramite(services)
    assert jefa.post(f"/expedientes/{nunca.numero}/asignar", {"usuario": str(gente["ana"].id)}).status_code == 403
    assert not Asignacion.select().where(Asignacion.expediente.in_([otro.id, nunca.id])).exists()


def test_the_office_history_lists_every_expediente_it_ever_held_searchable_and_paged(services, app, gente):
    held = [_derivado(services, gente, asunto=f"Licencia número {i}") for i in range(5)]
    recibir(services, held[0], _actor(gente["ana"]))
    step(services, held[0], _actor(gente["ana"]), accion="atender", respuesta="Listo")  # gone from the office
    never = file_tramite(services, asunto="Reclamo de arbitrios")
    jefa = browser(app, "jefa")
    page = jefa.get("/oficina/historial").text
    assert all(e.numero in page for e in held) and never.numero not in page
    fila = re.search(rf"{held[0].numero}.*?</tr>", page, re.S).group(0)
    assert "No</td>" in fila  # attended: no longer waits in the office
    assert "Sí, espera en ella" in re.search(rf"{held[1].numero}.*?</tr>", page, re.S).group(0)
    found = jefa.get("/oficina/historial", q=held[3].numero).text
    assert held[3].numero in found and held[2].numero not in found
    assert "Ningún expediente de su oficina coincide" in jefa.get("/oficina/historial", q="inexistente").text
    assert held[0].numero not in browser(app, "rentas").get("/oficina/historial").text

    # Paged newest first, two at a time, forwards and back, with nothing repeated or lost.
    actor = _actor(gente["jefa"])
    pages, cursor = [], ""
    while True:
        pagina = asignacion.historial(services, actor, cursor=cursor, limite=2)
        pages.append([f.expediente.numero for f in pagina.filas])
        if not pagina.siguiente:
            break
        cursor = pagina.siguiente
    assert [n for p in pages for n in p] == [e.numero for e in reversed(held)]
    back = asignacion.historial(services, actor, cursor=pagina.anterior, atras=True, limite=2)
    assert [f.expediente.numero for f in back.filas] == pages[-2]

    # A database older than the office's history gets it filled in from what the offices did and hold.
    Paso.delete().execute()
    Paso.rellenar()
    assert {p.expediente_id for p in Paso.select().join(Oficina).where(Oficina.codigo == "GDUR")} == \
        {e.id for e in held}
