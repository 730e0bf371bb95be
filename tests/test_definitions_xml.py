"""Any XML given to ``mpv workflows check`` or to the definition upload gets a verdict — accepted, or refused
with a Spanish reason naming the element (or the file and line) — never a traceback or a 500.

The named cases go through both faces (the CLI and the web upload, and the modeler's JSON save); the
Hypothesis fuzz tests feed the compiler mutated trees of workflows/tramite.bpmn and arbitrary bytes.
"""
from __future__ import annotations

import copy
import json
import re
import shutil
from pathlib import Path

import orjson
import pytest
from markupsafe import escape
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree
from webclient import Browser

from mpv.cli import main
from mpv.engine.definitions import compile_bundle, decode_file, read_bundles
from mpv.errors import DefinitionError
from mpv.models import Evento, ProcessDefinition

WORKFLOWS = Path(__file__).resolve().parent.parent / "workflows"
TEMPLATE = (WORKFLOWS / "tramite.bpmn").read_text(encoding="utf-8")
DECLARATION = "<?xml version='1.0' encoding='UTF-8'?>"
BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"
SOAK = 10  # the slow variants run this many times the bounded examples

# A message is Spanish: it has Spanish words, and does not open as SpiffWorkflow's or lxml's English does.
SPANISH = re.compile(r"\b(el|la|los|las|de|del|no|un|una|en|que|es|falta|hay|se|debe|usa|tiene|sin)\b")
ENGLISH = re.compile(r"(Element '|[A-Z]\w*(Error|Exception)\b|[A-Z][a-z]+ [a-z]+ [a-z]+)")


def bundle() -> dict[str, str]:
    return dict(read_bundles(WORKFLOWS)["tramite.bpmn"])


def assert_spanish_refusal(exc: DefinitionError):
    assert exc.message and exc.problems, exc
    for problem in exc.problems:
        assert isinstance(problem.element, str) and problem.element.strip(), problem
        assert SPANISH.search(problem.message) and not ENGLISH.match(problem.message), problem
        assert "Traceback" not in problem.message


def verdict(files: dict[str, str]) -> str:
    """«aceptado», or the refusal's problems: whatever the files, never another exception."""
    try:
        compile_bundle(files)
    except DefinitionError as exc:
        assert_spanish_refusal(exc)
        return "\n".join(str(p) for p in exc.problems)
    return "aceptado"


def _without_di(text):
    return text[:text.index("  <bpmndi:BPMNDiagram")] + "</bpmn:definitions>\n"


def _vendor_extensions(text):
    """The process as Camunda 7, Zeebe and Signavio would also annotate it."""
    namespaces = ('xmlns:camunda="http://camunda.org/schema/1.0/bpmn" xmlns:zeebe="http://camunda.org/schema/zeebe/1.0" '
                  'xmlns:signavio="http://www.signavio.com" ')
    extensions = ('<camunda:properties><camunda:property name="formJsonSchemaFilename" value="../../etc/passwd"/>'
                  '</camunda:properties><zeebe:taskDefinition type="revisar" retries="3"/>'
                  '<signavio:signavioMetaData metaKey="bgcolor" metaValue="#ffffcc"/>\n        <spiffworkflow:properties>')
    return (text.replace('<bpmn:definitions ', '<bpmn:definitions ' + namespaces, 1)
            .replace('<bpmn:userTask id="recepcion" name="Recepción">',
                     '<bpmn:userTask id="recepcion" name="Recepción" camunda:asyncBefore="true" '
                     'camunda:candidateGroups="mesa">', 1)
            .replace('<spiffworkflow:properties>', extensions, 1))


def _collaboration_only(text):
    start, end = text.index('  <bpmn:process id="tramite"'), text.index("</bpmn:process>") + len("</bpmn:process>\n")
    return _without_di(text[:start] + text[end:])


def _doctype(text):
    return text.replace(DECLARATION, '<?xml version="1.0"?><!DOCTYPE d [<!ENTITY xxe SYSTEM "file:///etc/passwd">'
                                     '<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]>').replace(
        'name="Recepción"', 'name="&xxe;&b;"')


def _encoded(codec, declared):
    def encode(text):
        return text.replace(DECLARATION, f"<?xml version='1.0' encoding='{declared}'?>").replace(
            'name="Recepción"', 'name="Recepción en ventanilla"').encode(codec)
    return encode


LINEAS = TEMPLATE.count("\n")  # the line the cut-off file ends on
# name: (the .bpmn file's bytes from tramite.bpmn's text, None when accepted or (element, words of the problem)).
CASES = {
    "malformado": (lambda t: t[:-40].encode(), ("tramite.bpmn", f"XML mal formado en la línea {LINEAS}, columna 4")),
    "utf16": (_encoded("utf-16", "UTF-16"), None),
    "iso_8859_1": (_encoded("iso-8859-1", "ISO-8859-1"), None),
    "utf8_con_bom": (lambda t: b"\xef\xbb\xbf" + t.encode(), None),
    "latin1_sin_declarar": (lambda t: t.replace(DECLARATION, "<?xml version='1.0'?>").encode("iso-8859-1"),
                            ("tramite.bpmn", "no está en la codificación que declara")),
    "dtd": (lambda t: _doctype(t).encode(), ("tramite.bpmn", "DOCTYPE")),
    "dtd_utf16": (lambda t: _doctype(t).replace("<?xml version=\"1.0\"?>", "").encode("utf-16"),
                  ("tramite.bpmn", "DOCTYPE")),
    "sin_di": (lambda t: _without_di(t).encode(), None),
    "comentarios": (lambda t: t.replace('<bpmn:userTask id="recepcion"', '<!-- revisar --><?mpv nota?>'
                                        '<bpmn:userTask id="recepcion"', 1)
                    .replace("<bpmn:script>", "<!-- el script --><bpmn:script>", 1).encode(), None),
    "extensiones": (lambda t: _vendor_extensions(t).encode(), None),
    "colaboracion_sin_proceso": (lambda t: _collaboration_only(t).encode(),
                                 ("Participant_tramite", "una colaboración solo con participantes no se puede ejecutar")),
    "vacio": (lambda t: b"", ("tramite.bpmn", "el archivo está vacío")),
    "binario": (lambda t: b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x01\x00" + bytes(range(256)),
                ("tramite.bpmn", "no es un documento XML")),
    "raiz_html": (lambda t: b"<html><body><p>Hola</p></body></html>", ("tramite.bpmn", "el elemento raíz es «html»")),
    "raiz_dmn": (lambda t: b'<definitions xmlns="https://www.omg.org/spec/DMN/20191111/MODEL/" id="d"/>',
                 ("tramite.bpmn", "un diagrama BPMN 2.0 empieza con bpmn:definitions")),
    "temporizador_vacio": (lambda t: t.replace(">fin_plazo(2, desde=notificada_en)</bpmn:timeDate>", "></bpmn:timeDate>").encode(),
                           ("timer_subsanacion", "el temporizador no tiene expresión")),
    "entidad_no_definida": (lambda t: t.replace('name="Recepción"', 'name="Recepci&oacute;n"').encode(),
                            ("tramite.bpmn", "usa la entidad «&oacute;», que XML no define")),
}


def test_every_case_gets_its_verdict_from_the_compiler():
    for name, (make, expected) in CASES.items():
        files = bundle()
        try:
            files["tramite.bpmn"] = decode_file("tramite.bpmn", make(TEMPLATE))
        except DefinitionError as exc:
            assert_spanish_refusal(exc)
            result = "\n".join(str(p) for p in exc.problems)
        else:
            result = verdict(files)
        if expected is None:
            assert result == "aceptado", (name, result)
        else:
            element, words = expected
            assert result.startswith(f"{element}: ") and words in result, (name, result)
            assert "root:" not in result and "aaaaaaaaaaaaaaaaaaaa" not in result, name  # no entity expanded


def test_other_encodings_are_stored_as_the_same_text_in_utf8():
    for name in ("utf16", "iso_8859_1"):
        text = decode_file("tramite.bpmn", CASES[name][0](TEMPLATE))
        assert text.startswith("<?xml version='1.0' encoding='UTF-8'?>")
        assert 'name="Recepción en ventanilla"' in text and "Trámite documentario" in text
        assert text == TEMPLATE.replace('name="Recepción"', 'name="Recepción en ventanilla"'), name


def test_a_diagram_without_di_is_accepted_with_a_notice():
    files = bundle()
    files["tramite.bpmn"] = _without_di(TEMPLATE)
    definition = compile_bundle(files)
    assert [str(a) for a in definition.avisos] == [
        "tramite.bpmn: el archivo no trae el dibujo del diagrama (BPMN DI): el motor lo ejecuta igual, pero la "
        "página de la versión no podrá mostrarlo; para verlo, expórtelo desde un modelador que guarde el dibujo"]
    assert compile_bundle(bundle()).avisos == []


RECEPCION = '<bpmn:userTask id="recepcion" name="Recepción">'
REFUSALS = {  # (change to tramite.bpmn, the problem it gets)
    "schema": ([(RECEPCION, RECEPCION[:-1] + ' prioridad="alta">')],
               "recepcion: no cumple el esquema BPMN 2.0 (bpmn:userTask, atributo «prioridad»): el atributo "
               "«prioridad» no está permitido aquí"),
    "schema_di": ([('<dc:Bounds x="', '<dc:Bounds x="a')],
                   "Participant_tramite_di: no cumple el esquema BPMN 2.0 (dc:Bounds, atributo «x»): «a"),
    "service": ([(RECEPCION, RECEPCION.replace("userTask", "serviceTask")),
                 ("</bpmn:userTask>", "</bpmn:serviceTask>")],
                "recepcion: la tarea de servicio no indica operador: MPV no ejecuta tareas de servicio"),
    "property": ([('<spiffworkflow:property name="estado" value="Registrado"/>', '<spiffworkflow:property name="estado"/>')],
                 "recepcion: le falta el atributo «value» (en el elemento o en sus extensiones)"),
    "start": ([('<bpmn:startEvent id="inicio"', '<bpmn:task id="inicio"'), ("</bpmn:startEvent>", "</bpmn:task>")],
              "tramite: el proceso no tiene evento de inicio"),
    "process_without_id": ([('<bpmn:process id="tramite" ', '<bpmn:process ')],
                           "tramite.bpmn: el bpmn:process no tiene id: póngale uno"),
    "process_name_too_long": ([('name="Trámite documentario" isExecutable', f'name="{"x" * 201}" isExecutable')],
                              "tramite: el nombre del proceso tiene 201 caracteres; use a lo más 200"),
    "not_executable": ([('isExecutable="true"', 'isExecutable="false"')],
                       'tramite: el proceso tiene isExecutable="false": márquelo como ejecutable en el modelador'),
}


@pytest.mark.parametrize("case", sorted(REFUSALS))
def test_spiffworkflow_refusals_are_in_spanish_and_name_the_element(case):
    changes, problem = REFUSALS[case]
    text = TEMPLATE
    for old, new in changes:
        assert old in text
        text = text.replace(old, new, 1)
    assert verdict({**bundle(), "tramite.bpmn": text}).startswith(problem)


# --- the CLI face --------------------------------------------------------------------------------------------


def run(capsys, settings, clock, *argv):
    code = main(list(argv), settings=settings, clock=clock)
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("case", sorted(CASES))
def test_cli_check_of_a_file(capsys, settings, clock, tmp_path, case):
    make, expected = CASES[case]
    folder = tmp_path / "wf"
    shutil.copytree(WORKFLOWS, folder)
    (folder / "tramite.bpmn").write_bytes(make(TEMPLATE))
    code, out, err = run(capsys, settings, clock, "workflows", "check", str(folder / "tramite.bpmn"))
    assert "Traceback" not in out + err
    if expected is None:
        assert code == 0 and out.startswith("tramite.bpmn: correcto (proceso tramite"), out + err
    else:
        element, words = expected
        assert code == 1 and out.startswith("tramite.bpmn: con problemas\n"), out + err
        assert f"  - {element}: " in out and words in out, out


def test_cli_check_names_what_it_cannot_check(capsys, settings, clock, tmp_path):
    code, out, err = run(capsys, settings, clock, "workflows", "check", str(tmp_path / "no-existe.bpmn"))
    assert code == 1 and "No existe" in err
    (tmp_path / "diagrama.xml").write_text(TEMPLATE, encoding="utf-8")
    code, out, err = run(capsys, settings, clock, "workflows", "check", str(tmp_path / "diagrama.xml"))
    assert code == 1 and "diagrama.xml: el diagrama debe tener la extensión .bpmn" in out
    folder = tmp_path / "wf"
    shutil.copytree(WORKFLOWS, folder)
    (folder / "sin_di.bpmn").write_text(_without_di(TEMPLATE), encoding="utf-8")
    code, out, err = run(capsys, settings, clock, "workflows", "check", str(folder))
    assert code == 0 and "sin_di.bpmn: correcto" in out and "tramite.bpmn: correcto" in out
    assert "  aviso: sin_di.bpmn: el archivo no trae el dibujo del diagrama (BPMN DI)" in out
    (folder / "atencion.schema.json").write_bytes('{"title": "Atención"}'.encode("utf-16"))
    code, out, err = run(capsys, settings, clock, "workflows", "check", str(folder))
    assert code == 1 and "Traceback" not in out + err
    assert "  - atencion.schema.json: el archivo no está en UTF-8 (byte 1): guárdelo en UTF-8" in out


# --- the web face --------------------------------------------------------------------------------------------


def upload(b: Browser, files: dict[str, bytes]):
    b.get("/definiciones")
    return b.post("/definiciones", {}, files=list(("archivos", name, data) for name, data in files.items()))


def active_id() -> int:
    return ProcessDefinition.get((ProcessDefinition.process_id == "tramite") & (ProcessDefinition.activa == True)).id  # noqa: E712


@pytest.mark.parametrize("case", sorted(CASES))
def test_web_upload_of_a_file(services, analista, case):
    make, expected = CASES[case]
    before, count = active_id(), ProcessDefinition.select().count()
    result = upload(analista, {"tramite.bpmn": make(TEMPLATE)})
    assert "Traceback" not in result.text
    if expected is None:
        assert result.status_code == 303, result.text
        assert active_id() != before or case == "utf8_con_bom"  # the BOM alone changes nothing
        stored = orjson.loads(ProcessDefinition.get_by_id(active_id()).archivos)["tramite.bpmn"]
        assert "Trámite documentario" in stored and stored.startswith("<?xml version='1.0' encoding='UTF-8'?>")
        return
    element, words = expected
    assert result.status_code == 422, result.text
    assert f'<code class="elemento">{element}</code>' in result.text and escape(words) in result.text
    assert "root:x:0:0" not in result.text
    assert active_id() == before and ProcessDefinition.select().count() == count
    assert not Evento.select().where(Evento.tipo == "definicion").exists()


def test_web_upload_without_di_tells_the_analyst(services, analista):
    result = upload(analista, {"tramite.bpmn": _without_di(TEMPLATE).replace("Trámite documentario", "Trámite").encode()})
    assert result.status_code == 303
    page = analista.get(result.headers["location"])
    assert "Aviso: el archivo no trae el dibujo del diagrama (BPMN DI)" in page.text


def test_modeler_save_gets_the_same_verdicts(services, analista):
    first = active_id()
    analista.get(f"/definiciones/{first}/editar")

    def save(xml):  # json.dumps escapes a lone surrogate as \\ud800, which a JSON reader accepts
        return analista.client.simulate_post(f"/definiciones/{first}/editar", body=json.dumps({"xml": xml}),
                                             cookies=analista.cookies, headers={
                                                 "X-CSRF-Token": analista.csrf, "Content-Type": "application/json"})
    for case in ("malformado", "dtd", "colaboracion_sin_proceso", "raiz_html", "entidad_no_definida"):
        element, words = CASES[case][1]
        result = save(CASES[case][0](TEMPLATE).decode("utf-8"))
        assert result.status_code == 422, (case, result.text)
        assert any(p["elemento"] == element and words in p["mensaje"] for p in result.json["problemas"]), result.json
    lone_surrogate = save(TEMPLATE.replace("Recepción", "Recepci\ud800n"))
    assert lone_surrogate.status_code == 422 and "sustitutos sueltos" in lone_surrogate.text
    # The text is Unicode already: a declaration of another encoding does not garble it.
    utf16 = save(TEMPLATE.replace(DECLARATION, "<?xml version='1.0' encoding='UTF-16'?>")
                 .replace('name="Recepción"', 'name="Recepción y registro"'))
    assert utf16.status_code == 201, utf16.text
    assert compile_bundle(orjson.loads(ProcessDefinition.get_by_id(utf16.json["id"]).archivos)).user_tasks[
        "recepcion"].label == "Recepción y registro"
    assert active_id() == utf16.json["id"]


# --- fuzzing -------------------------------------------------------------------------------------------------


@pytest.fixture(params=["bounded", pytest.param("soak", marks=pytest.mark.slow)])
def scale(request, soak):
    """1 for the bounded run; SOAK for the long variant, which runs only under --soak."""
    if request.param == "soak" and not soak:
        pytest.skip("long variant: run with --soak (pytest -m slow --soak)")
    return SOAK if request.param == "soak" else 1


def fuzz_settings(max_examples: int) -> settings:
    # derandomize: the same examples on every run, so the suite passes on any day; no example database either.
    return settings(max_examples=max_examples, deadline=None, derandomize=True, database=None,
                    suppress_health_check=list(HealthCheck), print_blob=True)


FORMS = {name: text for name, text in bundle().items() if name.endswith(".json")}
TREE = etree.fromstring(TEMPLATE.encode())
ATTRIBUTES = ["id", "name", "sourceRef", "targetRef", "processRef", "isExecutable", "default", "attachedToRef",
              "calledElement", "signalRef", "messageRef", "cancelActivity", "value", "bpmnElement", "x",
              "{http://camunda.org/schema/1.0/bpmn}asyncBefore"]
TAGS = [f"{{{BPMN}}}{local}" for local in (
    "task", "userTask", "manualTask", "scriptTask", "serviceTask", "sendTask", "receiveTask", "businessRuleTask",
    "callActivity", "subProcess", "exclusiveGateway", "parallelGateway", "inclusiveGateway", "eventBasedGateway",
    "startEvent", "endEvent", "boundaryEvent", "intermediateCatchEvent", "timerEventDefinition",
    "conditionExpression", "process", "collaboration", "participant", "lane", "dataObject")]
WORDS = st.sampled_from(["", "tramite", "recepcion", "derivacion", "inicio", "f_conforme", "false", "true", "0",
                         "1'2", '"', "ñ", "x y", 'accion == "x"', "1 +", "PT1H", "P-1D", "R/PT1M",
                         "import os", "None", "fin_plazo(3)", "recepcion.schema.json", "formJsonSchemaFilename"])
VALUES = st.one_of(WORDS, st.text(max_size=20))
MUTATION = st.tuples(st.sampled_from(["drop", "duplicate", "move", "attribute", "unset", "text", "rename", "comment"]),
                     st.booleans(), st.integers(0, 10_000), st.integers(0, 10_000), st.sampled_from(ATTRIBUTES),
                     VALUES, st.sampled_from(TAGS))


def mutate(mutations) -> etree._Element:
    """tramite.bpmn with elements dropped, duplicated, moved, renamed; attributes and text changed."""
    root = copy.deepcopy(TREE)
    for op, in_process, i, j, attribute, value, tag in mutations:
        # Half the file is its drawing (DI): aim most changes at the process, which the engine reads.
        process = next(root.iter(f"{{{BPMN}}}process"), None) if in_process else None
        elements = list((root if process is None else process).iter(etree.Element))
        element = elements[1 + i % (len(elements) - 1)] if len(elements) > 1 else elements[0]  # not the container
        other = elements[j % len(elements)]
        parent = element.getparent()
        try:
            if op == "drop" and parent is not None:
                parent.remove(element)
            elif op == "duplicate" and parent is not None:
                parent.insert(j % (len(parent) + 1), copy.deepcopy(element))
            elif op == "move" and parent is not None and element not in other.iterancestors() and other is not element:
                other.append(element)
            elif op == "attribute":
                element.set(attribute, value)
            elif op == "unset":
                element.attrib.pop(attribute if attribute in element.attrib else next(iter(element.attrib), ""), None)
            elif op == "text":
                element.text = value
            elif op == "rename":
                element.tag = tag
            elif op == "comment":
                element.insert(j % (len(element) + 1), etree.Comment(value) if i % 2 else etree.PI("mpv", value))
        except ValueError:  # text XML cannot hold (control characters): not a document anyone can send
            pass
    return root


@given(mutations=st.lists(MUTATION, min_size=1, max_size=5),
       encoding=st.sampled_from(["UTF-8", "UTF-16", "ISO-8859-1"]))
def _fuzz_trees(mutations, encoding):
    data = etree.tostring(mutate(mutations), xml_declaration=True, encoding=encoding)
    verdict({**FORMS, "tramite.bpmn": decode_file("tramite.bpmn", data)})


def test_fuzz_mutated_trees_get_a_verdict(scale):
    fuzz_settings(200 * scale)(_fuzz_trees)()


TEMPLATE_BYTES = TEMPLATE.encode()
SPLICE = st.tuples(st.integers(0, len(TEMPLATE_BYTES)), st.integers(0, 400), st.binary(max_size=40))
DECLARED = st.sampled_from(["UTF-8", "UTF-16", "UTF-16BE", "ISO-8859-1", "windows-1252", "UTF-32", "ascii",
                            "klingon", ""])


@given(data=st.one_of(
    st.binary(max_size=600),
    SPLICE.map(lambda s: TEMPLATE_BYTES[:s[0]] + s[2] + TEMPLATE_BYTES[s[0] + s[1]:]),
    st.tuples(DECLARED, st.sampled_from(["utf-8", "utf-16", "utf-16-be", "latin-1", "utf-32"])).map(
        lambda e: TEMPLATE.replace(DECLARATION, f"<?xml version='1.0' encoding='{e[0]}'?>").encode(e[1], "replace"))))
def _fuzz_bytes(data):
    try:
        text = decode_file("tramite.bpmn", data)
    except DefinitionError as exc:
        assert_spanish_refusal(exc)
        return
    verdict({**FORMS, "tramite.bpmn": text})


def test_fuzz_bytes_get_a_verdict(scale):
    fuzz_settings(200 * scale)(_fuzz_bytes)()
