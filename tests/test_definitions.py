"""Process definitions: what is accepted, and each problem named by its BPMN element id."""
from __future__ import annotations

from pathlib import Path

import pytest

from mpv.engine.definitions import compile_bundle, read_bundles
from mpv.errors import DefinitionError
from mpv.engine.scripting import ScriptRefused, check_code, RestrictedEnvironment

WORKFLOWS = Path(__file__).resolve().parent.parent / "workflows"


def bundle():
    return dict(read_bundles(WORKFLOWS)["tramite.bpmn"])


def problems_of(files) -> list[str]:
    with pytest.raises(DefinitionError) as err:
        compile_bundle(files)
    return [str(p) for p in err.value.problems]


def test_repository_workflows_are_valid():
    definition = compile_bundle(bundle())
    assert definition.process_id == "tramite"
    assert set(definition.user_tasks) == {"recepcion", "subsanacion", "acuse", "derivacion", "recibir", "atencion",
                                          "revisar_escrito_mesa", "revisar_escrito_oficina [child]"}
    assert sorted(n for n, t in definition.user_tasks.items() if t.in_subprocess) == [
        "atencion", "recibir", "revisar_escrito_mesa", "revisar_escrito_oficina [child]"]
    assert {t.rol for t in definition.user_tasks.values()} == {"mesa", "oficina", "ciudadano"}


def test_missing_form_is_named_by_task():
    files = bundle()
    del files["derivacion.schema.json"]
    assert problems_of(files) == ["derivacion: falta el archivo de formulario derivacion.schema.json"]


def test_invalid_json_schema():
    files = bundle()
    files["atencion.schema.json"] = '{"type": "object", "properties": {"accion": {"type": "texto"}}}'
    assert any(p.startswith("atencion: atencion.schema.json: no es un JSON Schema válido") for p in problems_of(files))


def test_condition_that_does_not_compile():
    files = bundle()
    files["tramite.bpmn"] = files["tramite.bpmn"].replace('accion == "archivar"', 'accion == = "archivar"')
    assert any(p.startswith("gw_recepcion: condición") and "sintaxis" in p for p in problems_of(files))


def test_condition_with_unknown_variable():
    files = bundle()
    files["tramite.bpmn"] = files["tramite.bpmn"].replace('accion == "devolver"', 'decision == "devolver"')
    assert problems_of(files) == [
        'gw_atencion: condición «decision == "devolver"» usa la variable «decision», que ningún formulario define']


def test_condition_reaching_subclasses_is_refused():
    files = bundle()
    files["tramite.bpmn"] = files["tramite.bpmn"].replace(
        'accion == "archivar"', '().__class__.__base__.__subclasses__()')
    assert any(p.startswith("gw_recepcion: condición") and "__class__" in p for p in problems_of(files))


def test_unmapped_lane():
    files = bundle()
    files["tramite.bpmn"] = files["tramite.bpmn"].replace('name="Oficina"', 'name="Gerencia"')
    assert any(p.startswith("lane_oficina: el carril «Gerencia» no corresponde a ningún rol") for p in problems_of(files))


def test_a_task_no_flow_reaches_is_named():
    """A user task dropped on the canvas but never connected (no form either): the parser never reaches it,
    so without this check the version would be accepted and the step would silently never happen."""
    files = bundle()
    files["tramite.bpmn"] = files["tramite.bpmn"].replace(
        '</bpmn:process>', '<bpmn:userTask id="revision_suelta" name="Revisión" /></bpmn:process>', 1)
    assert problems_of(files) == [
        "revision_suelta: el elemento no está conectado: ningún flujo llega a él desde el inicio del proceso"]


def test_a_task_with_two_outgoing_flows_is_explained_in_spanish():
    files = bundle()
    text = files["tramite.bpmn"]
    flow = '<bpmn:sequenceFlow id="flujo_extra" sourceRef="derivacion" targetRef="fin_archivado" />'
    files["tramite.bpmn"] = text.replace('</bpmn:process>', flow + '</bpmn:process>', 1)
    problems = problems_of(files)
    assert any("varios flujos de salida" in p for p in problems), problems


def test_malformed_xml():
    files = bundle()
    files["tramite.bpmn"] = files["tramite.bpmn"][:-40]
    assert problems_of(files)[0].startswith("tramite.bpmn: XML mal formado")


def test_xxe_is_refused():
    files = bundle()
    files["tramite.bpmn"] = files["tramite.bpmn"].replace(
        "<?xml version='1.0' encoding='UTF-8'?>",
        '<?xml version="1.0"?><!DOCTYPE d [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>').replace(
        'name="Recepción"', 'name="&xxe;"')
    problems = problems_of(files)
    assert problems[0].startswith("tramite.bpmn:") and "DOCTYPE" in problems[0]


def test_script_importing_os_is_refused():
    files = bundle()
    files["tramite.bpmn"] = files["tramite.bpmn"].replace(
        '<bpmn:incoming>f_a_recepcion</bpmn:incoming>',
        '<bpmn:incoming>f_a_recepcion</bpmn:incoming>', 1).replace(
        '</spiffworkflow:properties>\n        <spiffworkflow:instructionsForEndUser>Revise',
        '</spiffworkflow:properties>\n        <spiffworkflow:preScript>import os\nos.system("id")</spiffworkflow:preScript>'
        '\n        <spiffworkflow:instructionsForEndUser>Revise', 1)
    assert "recepcion: script: no se permite importar módulos" in problems_of(files)


def test_restricted_environment_refuses_escapes_at_run_time():
    env = RestrictedEnvironment({})
    assert env.evaluate("accion == 'x'", {"accion": "x"}) is True
    with pytest.raises(ScriptRefused):
        env.evaluate("().__class__.__base__.__subclasses__()", {})
    with pytest.raises(ScriptRefused):
        env.execute("import os", {})
    with pytest.raises(NameError):
        env.evaluate("open('/etc/passwd')", {})
    data = {"a": 1}
    env.execute("b = a + 1\ndel a", data)
    assert data == {"b": 2}


def test_check_code_reports_syntax():
    assert check_code("a ==") and not check_code("a == 1")
