"""The analyst's actions on process versions (mpv.tramites.procesos), driven directly against the database:
upload and edit a version (valid, or refused by element with nothing written), migrate running expedientes
(moved where safe, refused with the reason), and every other role refused."""
from __future__ import annotations

from pathlib import Path

import orjson
import pytest
from helpers import derivar, file_tramite, make_user, step

from mpv.engine import Actor
from mpv.engine.definitions import read_bundles
from mpv.errors import DefinitionError, NotAllowed, NotFound
from mpv.models import Evento, Expediente, ProcessDefinition
from mpv.tramites import procesos

WORKFLOWS = Path(__file__).resolve().parent.parent / "workflows"
RENOMBRADA = ('name="Derivación"', 'name="Derivación a oficinas"')  # changes the derivation's task spec


@pytest.fixture
def analista(services):
    return Actor.de_usuario(make_user("analista", "analista"), ip="192.0.2.7")


def bpmn(*cambio: str) -> str:
    text = read_bundles(WORKFLOWS)["tramite.bpmn"]["tramite.bpmn"]
    return text.replace(*cambio) if cambio else text


def activa() -> ProcessDefinition:
    return ProcessDefinition.get((ProcessDefinition.process_id == "tramite") & (ProcessDefinition.activa == True))  # noqa: E712


def nada_escrito(antes: int):
    assert ProcessDefinition.select().count() == antes
    assert not Evento.select().where(Evento.tipo.in_(("definicion", "migracion"))).exists()


def test_an_uploaded_version_takes_the_missing_forms_from_the_active_one(services, analista):
    anterior = activa()
    nueva = procesos.subir(services, analista, {"tramite.bpmn": bpmn(*RENOMBRADA)})
    assert nueva.fila.id == activa().id != anterior.id and nueva.fila.autor == "analista"
    archivos = orjson.loads(nueva.fila.archivos)
    assert "Derivación a oficinas" in archivos["tramite.bpmn"] and "derivacion.schema.json" in archivos
    assert nueva.avisos == [a.message for a in services.definitions.get(nueva.fila.id).avisos]
    evento = Evento.get(Evento.tipo == "definicion")
    assert (evento.actor_nombre, evento.rol, evento.ip) == ("analista", "analista", "192.0.2.7")
    assert procesos.subir(services, analista, {"tramite.bpmn": bpmn(*RENOMBRADA)}).fila.id == nueva.fila.id


@pytest.mark.parametrize("archivos, elemento, palabras", [
    ({}, "archivos", "se recibieron 0 archivos .bpmn"),
    ({"a.bpmn": bpmn(), "b.bpmn": bpmn()}, "archivos", "se recibieron 2 archivos .bpmn"),
    ({"tramite.bpmn": bpmn("</bpmn:definitions>", "\x00</bpmn:definitions>")}, "archivos", "caracteres NUL"),
    ({"tramite.bpmn": bpmn('name="Oficina"', 'name="Gerencia"')}, "lane_oficina", "Gerencia"),
    ({"tramite.bpmn": bpmn()[:-40]}, "tramite.bpmn", "XML mal formado"),
], ids=["sin-bpmn", "dos-bpmn", "nul", "carril", "mal-formado"])
def test_an_invalid_upload_names_the_element_and_writes_nothing(services, analista, archivos, elemento, palabras):
    antes = ProcessDefinition.select().count()
    with pytest.raises(DefinitionError) as refused:
        procesos.subir(services, analista, archivos)
    assert any(p.element == elemento and palabras in p.message for p in refused.value.problems), \
        refused.value.problems
    nada_escrito(antes)


def test_the_modeler_saves_a_new_version_with_the_forms_of_the_one_edited(services, analista):
    base = activa()
    antes = ProcessDefinition.select().count()
    for xml in (None, "", "  ", 12, "<a>\x00</a>"):
        with pytest.raises(DefinitionError, match="No se recibió el diagrama"):
            procesos.guardar_diagrama(services, analista, base.id, xml)
    with pytest.raises(DefinitionError) as refused:
        procesos.guardar_diagrama(services, analista, base.id, bpmn('name="Mesa de Partes"', 'name="Tesorería"'))
    assert "lane_mesa" in [p.element for p in refused.value.problems]
    with pytest.raises(NotFound, match="No existe la versión N° 999"):
        procesos.guardar_diagrama(services, analista, 999, bpmn())
    nada_escrito(antes)
    nueva = procesos.guardar_diagrama(services, analista, base.id, bpmn(*RENOMBRADA))
    assert nueva.fila.id == activa().id != base.id
    assert set(orjson.loads(nueva.fila.archivos)) == set(orjson.loads(base.archivos))


def test_migration_moves_what_is_safe_and_says_why_not_the_rest(services, staff, analista):
    en_recepcion = file_tramite(services)
    derivado = file_tramite(services)
    step(services, derivado, staff["mesa"], accion="conforme")
    derivar(services, derivado, staff["mesa"], "GDUR")
    anterior = activa().id
    nueva = procesos.subir(services, analista, {"tramite.bpmn": bpmn(*RENOMBRADA)}).fila.id
    version = procesos.version(analista, nueva)
    assert (version.en_curso, version.migrables, version.puede_cambiar) == (0, 2, True)

    migracion = procesos.migrar(services, analista, nueva)
    assert (migracion.fila.id, migracion.migrados, migracion.rechazados) == (nueva, 1, 1)
    motivos = {r.numero: r.motivo for r in migracion.resultados}
    assert motivos[en_recepcion.numero] == ""
    assert "«Derivación» (derivacion) cambió en la nueva versión y este expediente ya pasó por ella" in \
        motivos[derivado.numero]
    assert {e.numero: e.definicion_id for e in Expediente.select()} == {
        en_recepcion.numero: nueva, derivado.numero: anterior}
    [fila] = Evento.select().where(Evento.tipo == "migracion")
    assert (fila.expediente_id, fila.actor_nombre) == (en_recepcion.id, "analista")
    assert procesos.migrar(services, analista, nueva).resultados[0].motivo == "la tarea «Derivación» (derivacion) " \
        "cambió en la nueva versión y este expediente ya pasó por ella"
    with pytest.raises(NotFound):
        procesos.migrar(services, analista, 999)


def test_only_the_analyst_changes_the_process_and_staff_who_run_it_do_not_read_it(services, staff, analista):
    lectores = {"admin": Actor.de_usuario(make_user("admin", "admin")), "auditor": staff["auditor"]}
    file_tramite(services)
    base = activa().id
    antes = ProcessDefinition.select().count()
    for actor in [*lectores.values(), staff["mesa"], staff["gdur"]]:
        for intento in (lambda: procesos.subir(services, actor, {"tramite.bpmn": bpmn(*RENOMBRADA)}),
                        lambda: procesos.guardar_diagrama(services, actor, base, bpmn(*RENOMBRADA)),
                        lambda: procesos.migrar(services, actor, base),
                        lambda: procesos.diagrama(actor, base),
                        lambda: procesos.analista(actor)):
            with pytest.raises(NotAllowed, match="Su rol no tiene acceso"):
                intento()
    nada_escrito(antes)
    for actor in lectores.values():  # administrators and auditors read the versions, without the analyst's buttons
        assert not procesos.versiones(actor).puede_cambiar and not procesos.version(actor, base).puede_cambiar
    for actor in (staff["mesa"], staff["gdur"]):
        for lectura in (lambda: procesos.versiones(actor), lambda: procesos.version(actor, base)):
            with pytest.raises(NotAllowed):
                lectura()
    listado = procesos.versiones(analista)
    assert listado.puede_cambiar and listado.en_curso == {base: 1} and [f.id for f in listado.filas] == [base]
