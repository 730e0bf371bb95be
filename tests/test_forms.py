"""Task forms: JSON Schema → controls, Spanish messages, typed values from HTML strings."""
from __future__ import annotations

import json
from pathlib import Path

from mpv.engine import forms

WORKFLOWS = Path(__file__).resolve().parent.parent / "workflows"


def load(name):
    return json.loads((WORKFLOWS / name).read_text(encoding="utf-8"))


def test_fields_follow_ui_order_with_labels_and_choices():
    schema, ui = load("derivacion.schema.json"), load("derivacion.uischema.json")
    resolved = forms.resolve(schema, {"oficinas": [("GDUR", "Gerencia de Desarrollo Urbano y Rural")]})
    fields = forms.fields(resolved, ui)
    assert [(f.name, f.label, f.kind, f.required) for f in fields] == [
        ("oficina_destino", "Oficina destino", "select", True), ("proveido", "Proveído", "textarea", False),
        ("prioridad", "Prioridad", "select", True), ("plazo_dias", "Plazo (días hábiles)", "integer", True),
        ("oficinas_adicionales", "Otras oficinas destino (atienden en paralelo)", "checkboxes", False),
        ("con_copia", "Con copia a (solo para su conocimiento)", "checkboxes", False),
        ("documento", "Documento adjunto (PDF)", "file", False), ("folios", "Folios", "integer", False)]
    assert fields[0].choices == [("GDUR", "Gerencia de Desarrollo Urbano y Rural")]
    assert fields[4].choices == fields[0].choices and fields[4].multiple
    assert fields[3].default == 7 and fields[3].minimum == 1


def test_conditional_requirements_and_spanish_messages():
    schema = load("atencion.schema.json")
    assert forms.validate(schema, {}) == {"accion": "Este campo es obligatorio."}
    assert forms.validate(schema, {"accion": "atender"}) == {"respuesta": "Este campo es obligatorio."}
    assert forms.validate(schema, {"accion": "derivar"}) == {"oficina": "Este campo es obligatorio."}
    assert forms.validate(schema, {"accion": "archivar"}) == {"motivo": "Este campo es obligatorio."}
    assert forms.validate(schema, {"accion": "devolver", "proveido": "x", "folios": 0}) == {"folios": "Debe ser 1 o más."}
    assert forms.validate(schema, {"accion": "otra"}) == {"accion": "Elija una de las opciones de la lista."}
    assert forms.validate(schema, {"accion": "atender", "respuesta": "x" * 5001}) == {
        "respuesta": "Use como máximo 5000 caracteres."}


def test_coerce_html_strings():
    schema = {"type": "object", "properties": {
        "n": {"type": "integer"}, "ok": {"type": "boolean"}, "t": {"type": "string"}, "x": {"type": "number"}}}
    assert forms.coerce(schema, {"n": " 7 ", "t": " hola ", "x": "2.5"}) == {"n": 7, "ok": False, "t": "hola", "x": 2.5}
    assert forms.coerce(schema, {"n": "siete", "ok": "on"}) == {"n": "siete", "ok": True}
    assert forms.validate(schema, forms.coerce(schema, {"n": "siete"})) == {"n": "Debe ser un número entero."}


def test_history_only_fields_stay_out_of_process_data():
    schema = load("derivacion.schema.json")
    keep, notes = forms.split(schema, {"oficina_destino": "GDUR", "proveido": "Atender", "plazo_dias": 3,
                                       "con_copia": ["OAJ"]})
    assert keep == {"oficina_destino": "GDUR", "plazo_dias": 3}
    assert notes == {"proveido": "Atender", "con_copia": ["OAJ"]}
    assert "proveido" not in forms.task_data_fields(schema)


def test_check_schema_refuses_reserved_and_bad_names():
    bad = {"type": "object", "properties": {"typename": {"type": "string"}, "con espacio": {"type": "string"},
                                            "fin_plazo": {"type": "string"}}}
    problems = forms.check_schema(bad, reserved={"fin_plazo"})
    assert len(problems) == 3
