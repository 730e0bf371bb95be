"""Procesos: versions uploaded and edited by the analyst, validated before they are active; migration of
running instances; the path an expediente took, for its diagram. The new version is written by bpmn-moddle,
the library of the bpmn.io modelers (tests/fixtures/agregar_tarea.mjs), when node is installed."""
from __future__ import annotations

import json
import shutil
import subprocess
from datetime import timedelta
from pathlib import Path

import orjson
import pytest
from helpers import derivar, file_tramite, make_user, step
from webclient import Browser

from mpv.engine import migration
from mpv.engine.definitions import read_bundles
from mpv.engine import Actor
from mpv.models import Evento, Expediente, ProcessDefinition, Tarea
from mpv.engine.path import recorrido
from mpv.web.app import create_app

ROOT = Path(__file__).resolve().parent.parent
WORKFLOWS = ROOT / "workflows"
VISTO_BUENO_FORM = json.dumps({"title": "Visto bueno", "type": "object", "properties": {
    "visto": {"type": "boolean", "title": "Conforme con la derivación", "default": True}}})


@pytest.fixture(scope="module")
def moddle_bpmn(tmp_path_factory) -> str:
    """tramite.bpmn with the task «visto_bueno» added between Derivación and the offices, by bpmn-moddle."""
    node = shutil.which("node")
    if node is None or not (ROOT / "node_modules" / "bpmn-moddle").is_dir():
        pytest.skip("node o node_modules/bpmn-moddle no están instalados (make test los instala)")
    out = tmp_path_factory.mktemp("moddle") / "tramite.bpmn"
    subprocess.run([node, str(ROOT / "tests" / "fixtures" / "agregar_tarea.mjs"), str(WORKFLOWS / "tramite.bpmn"),
                    str(out)], check=True, timeout=60)
    return out.read_text(encoding="utf-8")


@pytest.fixture
def mesa(services):
    return Actor.de_usuario(make_user("mesa", "mesa", "MP"))


def upload(b: Browser, files: dict[str, str]):
    b.get("/definiciones")
    return b.post("/definiciones", {}, files=[("archivos", name, text.encode()) for name, text in files.items()])


def active_id() -> int:
    return ProcessDefinition.get((ProcessDefinition.process_id == "tramite") & (ProcessDefinition.activa == True)).id  # noqa: E712


def test_moddle_version_is_accepted_and_only_new_filings_use_it(services, analista, mesa, moddle_bpmn):
    old = file_tramite(services)
    first = active_id()
    result = upload(analista, {"tramite.bpmn": moddle_bpmn, "visto_bueno.schema.json": VISTO_BUENO_FORM})
    assert result.status_code == 303, result.text
    new = active_id()
    assert new != first and result.headers["location"] == f"/definiciones/{new}"
    row = ProcessDefinition.get_by_id(new)
    assert row.autor == "analista" and set(orjson.loads(row.archivos)) >= {"tramite.bpmn", "visto_bueno.schema.json",
                                                                            "derivacion.schema.json"}
    audit = Evento.get(Evento.tipo == "definicion")
    assert audit.actor_nombre == "analista" and orjson.loads(audit.payload)["definicion"] == new

    listing = analista.get("/definiciones")
    assert row.sha256[:12] in listing.text and "Activa" in listing.text
    fresh = file_tramite(services)
    assert fresh.definicion_id == new and Expediente.get_by_id(old.id).definicion_id == first
    for exp in (old, fresh):
        step(services, exp, mesa, accion="conforme")
        derivar(services, exp, mesa, "GDUR")
    assert [t.spec for t in Tarea.select().where(Tarea.expediente == old.id)] == ["recibir"]
    assert [t.spec for t in Tarea.select().where(Tarea.expediente == fresh.id)] == ["visto_bueno"]
    step(services, fresh, mesa, visto=True)
    assert [t.spec for t in Tarea.select().where(Tarea.expediente == fresh.id)] == ["recibir"]


def _bundle():
    return dict(read_bundles(WORKFLOWS)["tramite.bpmn"])


def _xxe(text):
    return text.replace("<?xml version='1.0' encoding='UTF-8'?>",
                        '<?xml version="1.0"?><!DOCTYPE d [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>').replace(
        'name="Recepción"', 'name="&xxe;"')


INVALID = {
    "malformed": (lambda t: t[:-40], {}, "tramite.bpmn", "XML mal formado"),
    "xxe": (_xxe, {}, "tramite.bpmn", "DOCTYPE"),
    "condition": (lambda t: t.replace('accion == "archivar"', 'accion == = "archivar"'), {}, "gw_recepcion", "sintaxis"),
    "lane": (lambda t: t.replace('name="Oficina"', 'name="Gerencia"'), {}, "lane_oficina", "Gerencia"),
    "schema": (lambda t: t, {"atencion.schema.json": '{"type": "object", "properties": {"a": {"type": "texto"}}}'},
               "atencion", "no es un JSON Schema válido"),
}


@pytest.mark.parametrize("case", sorted(INVALID))
def test_invalid_upload_names_the_element_and_changes_nothing(services, analista, case):
    change, forms, element, words = INVALID[case]
    files = _bundle()
    files["tramite.bpmn"] = change(files["tramite.bpmn"])
    before, count = active_id(), ProcessDefinition.select().count()
    result = upload(analista, {**files, **forms})
    assert result.status_code == 422
    assert f'<code class="elemento">{element}</code>' in result.text and words in result.text
    assert "la versión activa no cambió" in result.text and "root:x:0:0" not in result.text
    assert active_id() == before and ProcessDefinition.select().count() == count
    assert not Evento.select().where(Evento.tipo == "definicion").exists()


def test_missing_form_is_refused_by_task(services, analista, moddle_bpmn):
    before = active_id()
    result = upload(analista, {"tramite.bpmn": moddle_bpmn})
    assert result.status_code == 422
    assert '<code class="elemento">visto_bueno</code>: falta el archivo de formulario visto_bueno.schema.json' in result.text
    assert active_id() == before


def test_modeler_save_posts_json_through_the_same_validation(services, analista):
    first = active_id()
    page = analista.get(f"/definiciones/{first}/editar")
    assert page.status_code == 200 and 'data-bpmn="editor"' in page.text
    xml = _bundle()["tramite.bpmn"]
    post = lambda body: analista.client.simulate_post(  # noqa: E731
        f"/definiciones/{first}/editar", json=body, cookies=analista.cookies, headers={"X-CSRF-Token": analista.csrf})
    bad = post({"xml": xml.replace('name="Mesa de Partes"', 'name="Tesorería"')})
    assert bad.status_code == 422
    assert {"elemento": "lane_mesa", "mensaje": bad.json["problemas"][0]["mensaje"]} in bad.json["problemas"]
    assert active_id() == first
    good = post({"xml": xml.replace('name="Recepción"', 'name="Recepción y registro"')})
    assert good.status_code == 201, good.json
    assert active_id() == good.json["id"] != first
    files = orjson.loads(ProcessDefinition.get_by_id(good.json["id"]).archivos)
    assert "Recepción y registro" in files["tramite.bpmn"] and "recepcion.schema.json" in files  # forms of the base
    forged = analista.client.simulate_post(f"/definiciones/{first}/editar", json={"xml": xml}, cookies=analista.cookies)
    assert forged.status_code == 403


def test_migration_allowed_and_refused(services, analista, mesa, moddle_bpmn):
    en_recepcion = file_tramite(services)
    en_derivacion = file_tramite(services)
    step(services, en_derivacion, mesa, accion="conforme")
    en_oficina = file_tramite(services)
    step(services, en_oficina, mesa, accion="conforme")
    derivar(services, en_oficina, mesa, "GDUR")
    old = active_id()
    assert upload(analista, {"tramite.bpmn": moddle_bpmn, "visto_bueno.schema.json": VISTO_BUENO_FORM}).status_code == 303
    new = active_id()
    page = analista.get(f"/definiciones/{new}")
    assert "3 expediente(s) en curso usan versiones anteriores" in page.text
    result = analista.post(f"/definiciones/{new}/migrar", {})
    assert result.status_code == 200
    assert "<strong>2</strong> expediente(s) migrado(s), <strong>1</strong> sin migrar" in result.text
    assert "la tarea «Derivación» (derivacion) cambió en la nueva versión y este expediente ya pasó por ella" in result.text
    assert {e.numero: e.definicion_id for e in Expediente.select()} == {
        en_recepcion.numero: new, en_derivacion.numero: new, en_oficina.numero: old}
    rows = list(Evento.select().where(Evento.tipo == "migracion").order_by(Evento.seq))
    assert [r.expediente_id for r in rows] == [en_recepcion.id, en_derivacion.id]
    assert orjson.loads(rows[0].payload)["hacia"] == new and rows[0].actor_nombre == "analista"
    # The migrated instance runs through the new task; its ready task kept its id (trays stay valid).
    derivar(services, en_derivacion, mesa, "GDUR")
    assert [t.spec for t in Tarea.select().where(Tarea.expediente == en_derivacion.id)] == ["visto_bueno"]
    again = migration.migrar(services.engine, en_derivacion.id, new)
    assert not again.migrado and again.motivo == "ya usa esa versión"


def test_migration_refused_when_a_waiting_timer_changed(services, mesa):
    exp = file_tramite(services)
    step(services, exp, mesa, accion="observar", observacion="Falta la firma")
    files = _bundle()
    files["tramite.bpmn"] = files["tramite.bpmn"].replace("fin_plazo(2, desde=notificada_en)", "fin_plazo(5, desde=notificada_en)")
    row = services.definitions.add_version(services.db, files, "analista")
    result = migration.migrar(services.engine, exp.id, row.id)
    assert not result.migrado
    assert "«Plazo de subsanación vencido» (timer_subsanacion)" in result.motivo and "ya comenzó" in result.motivo
    assert Expediente.get_by_id(exp.id).definicion_id != row.id
    assert not Evento.select().where(Evento.tipo == "migracion").exists()


def test_a_new_version_and_its_audit_event_are_dated_by_the_services_clock(services, clock):
    clock.advance(days=3, hours=2)
    files = _bundle()
    files["tramite.bpmn"] = files["tramite.bpmn"].replace("fin_plazo(2, desde=notificada_en)", "fin_plazo(3, desde=notificada_en)")
    row = services.definitions.add_version(services.db, files, "analista")
    assert ProcessDefinition.get_by_id(row.id).creado_en == clock()
    assert Evento.get(Evento.accion == "nueva_version").momento == clock()
    # The versions of the workflows folder, stored when the services started, are dated by it too.
    assert ProcessDefinition.get_by_id(row.id - 1).creado_en == clock() - timedelta(days=3, hours=2)


def test_seguimiento_passes_the_path_taken_to_the_diagram(services, analista, mesa):
    exp = file_tramite(services)
    step(services, exp, mesa, accion="conforme")
    path = recorrido(exp.id, services.definitions.get(exp.definicion_id))
    # A documento simple: the procedure deadline's branch ended at once; derivación waits with its same-day timer.
    assert path == {"completadas": ["inicio", "gw_calificacion", "fin_sin_plazo", "recepcion", "gw_recepcion"],
                    "actuales": ["derivacion"], "temporizadores": [], "esperando": ["plazo_derivacion"]}
    page = analista.get(f"/expedientes/{exp.numero}/seguimiento")
    assert '<script type="application/json" id="bpmn-recorrido">' in page.text
    assert '"actuales": ["derivacion"]' in page.text and 'data-bpmn="visor"' in page.text
    # Derived to an office: the plazo of atención runs — a waiting timer — until it is attended.
    derivar(services, exp, mesa, "GDUR", plazo_dias=3)
    path = recorrido(exp.id, services.definitions.get(exp.definicion_id))
    assert path["esperando"] == ["timer_plazo"] and path["temporizadores"] == []
    assert "Plazo en curso" in analista.get(f"/expedientes/{exp.numero}/seguimiento").text


def test_readers_see_versions_only_the_analyst_changes_them(services, analista):
    make_user("auditor", "auditor")
    auditor = Browser(create_app(services))
    auditor.login("auditor")
    first = active_id()
    listing = auditor.get("/definiciones")
    assert listing.status_code == 200 and "Subir una nueva versión" not in listing.text
    detail = auditor.get(f"/definiciones/{first}")
    assert detail.status_code == 200 and "Migrar a esta versión" not in detail.text
    assert auditor.get(f"/definiciones/{first}/editar").status_code == 403
    assert auditor.post(f"/definiciones/{first}/migrar", {}).status_code == 403
    assert "Subir una nueva versión" in analista.get("/definiciones").text


def test_cli_migrates_to_the_active_version(services, settings, clock, mesa, capsys):
    from mpv.cli import main

    waiting = file_tramite(services)
    files = _bundle()
    files["tramite.bpmn"] = files["tramite.bpmn"].replace('name="Derivación"', 'name="Derivación a oficinas"')
    new = services.definitions.add_version(services.db, files, "analista").id
    assert main(["definiciones", "migrar"], settings=settings, clock=clock) == 0
    out = capsys.readouterr().out
    assert f"{waiting.numero}: migrado" in out and f"1 migrado(s), 0 sin migrar, a la versión {new}." in out
    assert Expediente.get_by_id(waiting.id).definicion_id == new
