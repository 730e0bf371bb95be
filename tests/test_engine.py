"""The process: every path of tramite.bpmn, run by the real engine on a real database."""
from __future__ import annotations

import shutil
import threading
from datetime import timedelta

import pytest
from helpers import FILING, base_date, build_services, derivar, file_tramite, lima, recibir, step, task_of

from mpv import history
from mpv.engine import SISTEMA
from mpv.tramites import presentacion
from mpv.errors import Conflict, InvalidInput, NotAllowed, NotFound
from mpv.models import Evento, Expediente, Feriado, Numeracion, Remitente, Tarea, Temporizador


def eventos(expediente, tipo=None):
    query = Evento.select().where(Evento.expediente == expediente.id).order_by(Evento.seq)
    if tipo:
        query = query.where(Evento.tipo == tipo)
    return list(query)


def refresh(expediente) -> Expediente:
    return Expediente.get_by_id(expediente.id)


@pytest.mark.fecha_fija("5 business days from Monday 2 March end on Monday 9")
def test_happy_path_recepcion_derivacion_atencion(services, staff):
    exp = file_tramite(services)
    assert exp.numero == "2026-000001"
    assert exp.estado == "Registrado" and exp.tarea_actual == "Recepción"
    assert [t.spec for t in Tarea.select().where(Tarea.expediente == exp.id)] == ["recepcion"]

    step(services, exp, staff["mesa"], accion="conforme")
    assert refresh(exp).tarea_actual == "Derivación"
    derivar(services, exp, staff["mesa"], "GDUR", proveido="Evaluar la licencia", prioridad="urgente", plazo_dias=5)
    exp = refresh(exp)
    assert (exp.estado, exp.tarea_actual, exp.oficina_actual.codigo) == ("Derivado", "Recepción en la oficina", "GDUR")
    recibir(services, exp, staff["gdur"])
    exp = refresh(exp)
    assert (exp.estado, exp.tarea_actual, exp.oficina_actual.codigo) == ("En atención", "Atención", "GDUR")
    # 5 business days from Monday 2 March 2026 → Monday 9 March is the last day; over at midnight.
    assert exp.vence == lima(2026, 3, 10, 0, 0)

    step(services, exp, staff["gdur"], accion="atender", respuesta="Licencia otorgada")
    exp = refresh(exp)
    assert exp.terminado and exp.estado == "Atendido" and exp.vence is None
    assert not Tarea.select().where(Tarea.expediente == exp.id).exists()
    assert not Temporizador.select().where(Temporizador.expediente == exp.id).exists()
    tareas = [(e.tarea, e.accion, e.oficina_origen, e.oficina_destino) for e in eventos(exp, "tarea")]
    assert tareas == [("recepcion", "conforme", "MP", "MP"), ("derivacion", "derivacion", "MP", "GDUR"),
                      ("recibir", "recibir", "GDUR", "GDUR"), ("atencion", "atender", "GDUR", "")]
    assert eventos(exp)[-1].tipo == "fin" and eventos(exp)[-1].descripcion == "Atendido"
    assert history.verify().ok


def test_history_keeps_notes_out_of_process_data(services, staff):
    exp = file_tramite(services)
    step(services, exp, staff["mesa"], accion="conforme")
    derivar(services, exp, staff["mesa"], "GDUR", proveido="x" * 1500, plazo_dias=3)
    assert "x" * 1500 not in refresh(exp).estado_motor
    derivacion = eventos(exp, "tarea")[-1]
    assert derivacion.detalle == "x" * 1500 and "proveido" in derivacion.payload


@pytest.mark.fecha_fija("the filing date kept is Monday 2 March")
def test_observar_subsanar_vuelve_a_recepcion(services, staff):
    exp = file_tramite(services)
    step(services, exp, staff["mesa"], accion="observar", observacion="Falta la copia del DNI")
    exp = refresh(exp)
    assert exp.estado == "Observado" and exp.tarea_actual == "Subsanación" and exp.oficina_actual is None
    ciudadano = type(staff["mesa"]).ciudadano(exp)
    step(services, exp, ciudadano, descripcion="Adjunto la copia del DNI")
    exp = refresh(exp)
    assert exp.estado == "Registrado" and exp.tarea_actual == "Recepción"
    assert exp.fecha_presentacion.isoformat() == "2026-03-02"  # the original filing date is kept


def test_observar_sin_subsanar_no_presentado_over_weekend_and_holiday(services, staff, clock):
    Feriado.create(fecha=lima(2026, 3, 9).date(), nombre="Aniversario del distrito", tipo="local")
    services.calendario.refresh()
    clock.set(lima(2026, 3, 5, 16, 0))  # Thursday
    exp = file_tramite(services)
    clock.set(lima(2026, 3, 6, 11, 0))  # observed on Friday 6 March
    step(services, exp, staff["mesa"], accion="observar", observacion="Falta el plano de ubicación")
    # Two business days after Friday: Monday 9 is a local holiday → Tuesday 10, Wednesday 11.
    assert refresh(exp).vence == lima(2026, 3, 12, 0, 0)

    clock.set(lima(2026, 3, 11, 23, 59))
    assert services.engine.fire_due_timers() == 0
    assert refresh(exp).estado == "Observado"
    clock.set(lima(2026, 3, 12, 0, 1))
    assert services.engine.fire_due_timers() == 2  # the timer and the end "No presentado"
    exp = refresh(exp)
    assert exp.terminado and exp.estado == "No presentado"
    assert [e.tipo for e in eventos(exp)][-2:] == ["temporizador", "fin"]
    assert services.engine.fire_due_timers() == 0  # fired exactly once


def test_late_subsanacion_is_refused_and_timer_fires(services, staff, clock):
    exp = file_tramite(services)
    step(services, exp, staff["mesa"], accion="observar", observacion="Falta firma")
    ciudadano = type(staff["mesa"]).ciudadano(exp)
    task_id = task_of(services, exp, ciudadano)
    clock.advance(days=7)
    with pytest.raises(Conflict, match="plazo venció"):
        services.engine.complete(exp.id, task_id, ciudadano, {"descripcion": "tarde"})
    assert refresh(exp).estado == "No presentado"


def test_rederivacion_a_segunda_oficina(services, staff):
    exp = file_tramite(services)
    step(services, exp, staff["mesa"], accion="conforme")
    derivar(services, exp, staff["mesa"], "GDUR")
    recibir(services, exp, staff["gdur"])
    step(services, exp, staff["gdur"], accion="derivar", oficina="SGAT", proveido="Corresponde a rentas",
         plazo_dias=3)
    exp = refresh(exp)
    assert exp.oficina_actual.codigo == "SGAT"
    assert not list(services.engine.tasks_for(staff["gdur"], exp.id))
    assert eventos(exp, "tarea")[-1].oficina_destino == "SGAT"
    recibir(services, exp, staff["rentas"])
    step(services, exp, staff["rentas"], accion="atender", respuesta="Se emitió la constancia")
    assert refresh(exp).estado == "Atendido"


def test_devolver_a_mesa_de_partes(services, staff):
    exp = file_tramite(services)
    step(services, exp, staff["mesa"], accion="conforme")
    derivar(services, exp, staff["mesa"], "GDUR")
    recibir(services, exp, staff["gdur"])
    step(services, exp, staff["gdur"], accion="devolver", proveido="No es de nuestra competencia")
    exp = refresh(exp)
    # Back at mesa de partes it is to be received again the same day (art. 143).
    hoy = services.calendario.fecha_presentacion(services.clock())
    assert exp.tarea_actual == "Recepción" and exp.oficina_actual.codigo == "MP"
    assert exp.vence == services.calendario.vencimiento(hoy, 0)
    assert eventos(exp, "tarea")[-1].oficina_destino == "MP"


def test_archivar(services, staff):
    exp = file_tramite(services)
    step(services, exp, staff["mesa"], accion="archivar", motivo="Duplicado del expediente 2026-000010")
    exp = refresh(exp)
    assert exp.terminado and exp.estado == "Archivado"


@pytest.mark.fecha_fija("the plazo from Monday 2 March is over at midnight on Thursday 5")
def test_vencido_at_plazo_then_attended(services, staff, clock):
    exp = file_tramite(services)
    step(services, exp, staff["mesa"], accion="conforme")
    derivar(services, exp, staff["mesa"], "GDUR", plazo_dias=3)
    recibir(services, exp, staff["gdur"])
    assert refresh(exp).vence == lima(2026, 3, 6, 0, 0)
    clock.set(lima(2026, 3, 5, 23, 59))
    services.engine.fire_due_timers()
    assert not refresh(exp).vencido
    clock.set(lima(2026, 3, 6, 0, 0, 30))
    assert services.engine.fire_due_timers() == 2  # the timer and the end of its branch
    exp = refresh(exp)
    assert exp.vencido and exp.tarea_actual == "Atención"  # non-interrupting: still in atención
    timer, branch_end = eventos(exp)[-2:]
    assert (timer.tipo, timer.descripcion, timer.oficina_origen) == ("temporizador", "Plazo de atención vencido", "GDUR")
    assert (branch_end.tipo, branch_end.descripcion) == ("fin", "Plazo vencido")
    step(services, exp, staff["gdur"], accion="atender", respuesta="Atendido fuera de plazo")
    exp = refresh(exp)
    assert exp.estado == "Atendido" and not exp.vencido


def test_instance_survives_restart(settings, clock, services, staff):
    exp = file_tramite(services)
    step(services, exp, staff["mesa"], accion="conforme")
    services.close()
    restarted = build_services(settings, clock)
    try:
        derivar(restarted, exp, staff["mesa"], "GDUR")
        recibir(restarted, exp, staff["gdur"])
        step(restarted, exp, staff["gdur"], accion="atender", respuesta="Listo")
        assert refresh(exp).estado == "Atendido"
    finally:
        restarted.close()


def test_changed_bpmn_running_instances_keep_their_version(settings, clock, tmp_path, staff, services):
    workflows = tmp_path / "workflows"
    shutil.copytree(settings.workflows_dir, workflows)
    own = type(settings)(data_dir=settings.data_dir, database_url=settings.database_url, workflows_dir=workflows)
    services.close()
    services = build_services(own, clock)
    try:
        old = file_tramite(services)
        bpmn = workflows / "tramite.bpmn"
        bpmn.write_text(bpmn.read_text(encoding="utf-8").replace('name="Recepción"', 'name="Recepción y revisión"'),
                        encoding="utf-8")
        results = services.definitions.sync(services.db)
        assert [new for _, _, new in results] == [True]
        new = file_tramite(services)
        assert old.definicion_id != new.definicion_id
        assert refresh(old).tarea_actual == "Recepción"
        assert refresh(new).tarea_actual == "Recepción y revisión"
        for exp in (old, new):
            step(services, exp, staff["mesa"], accion="conforme")
            derivar(services, exp, staff["mesa"], "GDUR")
            recibir(services, exp, staff["gdur"])
            step(services, exp, staff["gdur"], accion="atender", respuesta="ok")
            assert refresh(exp).estado == "Atendido"
        assert refresh(old).definicion_id != refresh(new).definicion_id
    finally:
        services.close()


def test_twenty_threads_complete_the_same_task(services, staff):
    exp = file_tramite(services)
    step(services, exp, staff["mesa"], accion="conforme")
    task_id = task_of(services, exp, staff["mesa"])  # the Derivación
    before = Evento.select().count()  # == the last seq of the chain
    barrier = threading.Barrier(20)
    results = []

    def attempt():
        barrier.wait()
        try:
            services.engine.complete(exp.id, task_id, staff["mesa"],
                                     {"oficina_destino": "GDUR", "prioridad": "normal", "plazo_dias": 5})
            results.append("ok")
        except Conflict as exc:
            results.append(("conflict", exc.message))
        except Exception as exc:  # noqa: BLE001 - the test reports any other outcome
            results.append(("error", repr(exc)))
        finally:
            services.db.peewee.close()

    threads = [threading.Thread(target=attempt) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results.count("ok") == 1
    conflicts = [r for r in results if isinstance(r, tuple) and r[0] == "conflict"]
    assert len(conflicts) == 19, results
    assert all("ya fue realizada" in message for _, message in conflicts)
    new = list(Evento.select().where(Evento.seq > before))
    assert [(e.tipo, e.tarea) for e in new] == [("tarea", "derivacion")]
    assert refresh(exp).oficina_actual.codigo == "GDUR"


def test_fifty_concurrent_filings_get_consecutive_numbers(services):
    barrier = threading.Barrier(50)
    numbers, errors = [], []

    def file_one(i):
        barrier.wait()
        try:
            numbers.append(file_tramite(services, asunto=f"Solicitud {i}").numero)
        except Exception as exc:  # noqa: BLE001
            errors.append(repr(exc))
        finally:
            services.db.peewee.close()

    threads = [threading.Thread(target=file_one, args=(i,)) for i in range(50)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert sorted(numbers) == [f"{base_date().year}-{n:06d}" for n in range(1, 51)]
    assert Expediente.select().count() == 50
    assert history.verify().ok


@pytest.mark.fecha_fija("business days between 2, 4 and 9 March")
def test_seguimiento_lists_exactly_the_actions_in_order(services, staff, clock):
    exp = file_tramite(services)
    clock.advance(hours=2)
    step(services, exp, staff["mesa"], accion="observar", observacion="Falta la firma")
    step(services, exp, type(staff["mesa"]).ciudadano(exp), descripcion="Firmado")
    clock.set(lima(2026, 3, 4, 10, 0))
    step(services, exp, staff["mesa"], accion="conforme")
    derivar(services, exp, staff["mesa"], "GDUR", proveido="Atender")
    clock.set(lima(2026, 3, 9, 10, 0))
    recibir(services, exp, staff["gdur"])
    step(services, exp, staff["gdur"], accion="derivar", oficina="SGAT", proveido="Rentas")
    recibir(services, exp, staff["rentas"])
    step(services, exp, staff["rentas"], accion="atender", respuesta="Resuelto")
    movimientos = history.seguimiento(exp.id, services.calendario)
    # The corrected filing was not received the day it came back (art. 143): that same-day timer fired first. The
    # derivation, made the day it was received, was on time.
    assert [m.descripcion for m in movimientos] == [
        "Trámite presentado", "Recepción: Observar", "Subsanación", "Plazo de recepción vencido", "Recepción: Conforme",
        "Derivación", "Recepción en la oficina", "Atención: Derivar a otra oficina", "Recepción en la oficina",
        "Atención: Atender (responder)"]
    assert [m.usuario for m in movimientos] == [
        "Ana Rojas Villanueva", "mesa", "Ana Rojas Villanueva", SISTEMA.nombre, "mesa", "mesa", "gdur",
        "gdur", "rentas", "rentas"]
    assert [m.dias_habiles for m in movimientos] == [0, 0, 0, 2, 0, 0, 3, 0, 0, 0]
    assert movimientos[5].destino == "Gerencia de Desarrollo Urbano y Rural" and movimientos[5].detalle == "Atender"
    assert movimientos[1].detalle == "Falta la firma"


def test_bad_form_value_is_a_clear_error_and_writes_nothing(services, staff):
    exp = file_tramite(services)
    step(services, exp, staff["mesa"], accion="conforme")
    before = (Evento.select().count(), refresh(exp).version)
    task_id = task_of(services, exp, staff["mesa"])
    with pytest.raises(InvalidInput) as err:
        services.engine.complete(exp.id, task_id, staff["mesa"],
                                 {"oficina_destino": "NOEXISTE", "prioridad": "normal", "plazo_dias": 90})
    assert err.value.campos == {"oficina_destino": "Elija una de las opciones de la lista.",
                                "plazo_dias": "Debe ser 30 o menos."}
    with pytest.raises(InvalidInput) as err:
        services.engine.complete(exp.id, task_id, staff["mesa"], {"prioridad": "normal", "plazo_dias": "siete"})
    assert err.value.campos == {"oficina_destino": "Este campo es obligatorio.",
                                "plazo_dias": "Debe ser un número entero."}
    assert (Evento.select().count(), refresh(exp).version) == before


def test_observar_needs_the_observation(services, staff):
    exp = file_tramite(services)
    with pytest.raises(InvalidInput) as err:
        step(services, exp, staff["mesa"], accion="observar", observacion="  ")
    assert err.value.campos == {"observacion": "Este campo es obligatorio."}


def test_unknown_task_and_expediente(services, staff):
    exp = file_tramite(services)
    with pytest.raises(NotFound):
        services.engine.complete(exp.id, "no-es-un-id", staff["mesa"], {})
    with pytest.raises(Conflict):
        services.engine.complete(exp.id, "00000000-0000-0000-0000-000000000000", staff["mesa"], {})
    with pytest.raises(NotFound):
        services.engine.complete(999999, "00000000-0000-0000-0000-000000000000", staff["mesa"], {})


def test_wrong_role_and_wrong_office_are_refused(services, staff):
    exp = file_tramite(services)
    task_id = task_of(services, exp, staff["mesa"])
    before = Evento.select().count()
    for actor in (staff["gdur"], staff["auditor"]):
        with pytest.raises(NotAllowed, match="la realiza mesa de partes"):
            services.engine.complete(exp.id, task_id, actor, {"accion": "conforme"})
    step(services, exp, staff["mesa"], accion="conforme")
    derivar(services, exp, staff["mesa"], "GDUR")
    recibir_task = task_of(services, exp, staff["gdur"])
    with pytest.raises(NotAllowed, match="Gerencia de Desarrollo Urbano"):
        services.engine.complete(exp.id, recibir_task, staff["rentas"], {})
    new = Evento.select().where(Evento.seq > before).order_by(Evento.seq)
    assert [(e.tipo, e.actor_nombre) for e in new] == [
        ("tarea", "mesa"), ("decision", "mesa"), ("tarea", "mesa")]


def test_citizen_of_another_expediente_cannot_subsanar(services, staff):
    exp = file_tramite(services)
    other = file_tramite(services)
    step(services, exp, staff["mesa"], accion="observar", observacion="Falta firma")
    ciudadano = type(staff["mesa"]).ciudadano(exp)
    task_id = task_of(services, exp, ciudadano)
    with pytest.raises(NotAllowed):
        services.engine.complete(exp.id, task_id, type(staff["mesa"]).ciudadano(other), {"descripcion": "x"})


def test_pruned_and_unpruned_instances_behave_the_same(clock, staff, services):
    """Dropping the finished part of the task tree must not change what the process does."""
    outcomes = []
    start = clock()
    for prune in (True, False):
        services.engine.prune = prune
        clock.set(start)
        exp = file_tramite(services)
        step(services, exp, staff["mesa"], accion="observar", observacion="Falta firma")
        step(services, exp, type(staff["mesa"]).ciudadano(exp), descripcion="Firmado")
        step(services, exp, staff["mesa"], accion="conforme")
        for _ in range(4):
            derivar(services, exp, staff["mesa"], "GDUR", plazo_dias=2)
            recibir(services, exp, staff["gdur"])
            step(services, exp, staff["gdur"], accion="derivar", oficina="SGAT", plazo_dias=4)
            recibir(services, exp, staff["rentas"])
            step(services, exp, staff["rentas"], accion="devolver", proveido="Revisar")
            step(services, exp, staff["mesa"], accion="conforme")
        derivar(services, exp, staff["mesa"], "GDUR", "SGAT", plazo_dias=2)
        services.engine.send_event(exp.id, "anulacion", staff["mesa"])
        derivar(services, exp, staff["mesa"], "GDUR", plazo_dias=2)
        recibir(services, exp, staff["gdur"])
        # Past the 2-business-day plazo, however many calendar days that is (a weekend, a holiday).
        clock.set(refresh(exp).vence + timedelta(minutes=1))
        services.engine.fire_due_timers()
        step(services, exp, staff["gdur"], accion="atender", respuesta="ok")
        exp = refresh(exp)
        outcomes.append(([(e.tipo, e.accion, e.oficina_origen, e.oficina_destino) for e in eventos(exp)],
                         exp.estado, exp.terminado, len(exp.estado_motor)))
    (ev_a, estado_a, fin_a, size_a), (ev_b, estado_b, fin_b, size_b) = outcomes
    assert ("temporizador", "timer_plazo", "GDUR", "") in ev_a
    assert (ev_a, estado_a, fin_a) == (ev_b, estado_b, fin_b)
    assert size_a < size_b / 3  # the pruned state stays small


def test_a_step_returns_the_expediente_as_it_was_saved(services, staff):
    """An engine step does not read the row back: what it returns must equal what a new read gives."""
    def campos(expediente):
        return {f.name: getattr(expediente, f.column_name) for f in Expediente._meta.sorted_fields}

    presentado = file_tramite(services)
    assert campos(presentado) == campos(refresh(presentado))
    pasos = (lambda: step(services, presentado, staff["mesa"], accion="conforme"),
             lambda: derivar(services, presentado, staff["mesa"], "GDUR", "SGAT", plazo_dias=3),
             lambda: recibir(services, presentado, staff["gdur"]))
    vences = []
    for paso in pasos:
        resultado = paso()
        assert campos(resultado.expediente) == campos(refresh(presentado))
        vences.append(resultado.expediente.vence)
    assert any(vences)  # a plazo (a datetime) was compared too


def test_a_document_type_gone_between_validation_and_filing_is_a_clear_error_and_nothing_stays(services, staff):
    """validar() checks the type before the transaction; if it is removed meanwhile, the filing's transaction
    refuses it by field and rolls back the sender and the number it had written."""
    file_tramite(services)  # the register of the year exists
    antes = (Remitente.select().count(), list(Numeracion.select().tuples()), Expediente.select().count())
    limpio = presentacion.validar(FILING)
    with pytest.raises(InvalidInput) as exc:
        presentacion._registrar(services, {**limpio, "tipo_documento": "YA-NO-EXISTE"}, [], "127.0.0.1", "tramite")
    assert exc.value.campos == {"tipo_documento": "Elija un tipo de documento de la lista."}
    assert (Remitente.select().count(), list(Numeracion.select().tuples()), Expediente.select().count()) == antes


def test_each_task_row_records_since_when_its_task_waited(services, staff, clock):
    """tarea_desde (what the analytics' durations are computed from) is when the task became ready: the moment
    of the step that made it ready, for a task completed alone and for each of two completed in one step."""
    def fila(expediente, tarea):
        return Evento.select().where((Evento.expediente == expediente.id) & (Evento.tarea == tarea)).get()

    solo = file_tramite(services)
    clock.advance(hours=2)
    step(services, solo, staff["mesa"], accion="conforme")
    clock.advance(hours=3)
    derivar(services, solo, staff["mesa"], "GDUR")
    assert fila(solo, "recepcion").tarea_desde == fila(solo, "recepcion").momento - timedelta(hours=2)
    assert fila(solo, "derivacion").tarea_desde == fila(solo, "recepcion").momento
    clock.advance(hours=1)
    recibir(services, solo, staff["gdur"])
    assert fila(solo, "recibir").tarea_desde == fila(solo, "derivacion").momento
