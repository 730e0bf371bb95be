"""mpv.web.errors, the one place that turns a domain error into a status and a page (or JSON): a script that
sends JSON reads every error as JSON; a process definition that does not validate is a 422 with its problems."""
from __future__ import annotations


from mpv.models import ProcessDefinition


def _editor(analista, body, csrf=True, content_type="application/json"):
    first = ProcessDefinition.get(ProcessDefinition.activa == True).id  # noqa: E712
    analista.get(f"/definiciones/{first}/editar")
    headers = {"Content-Type": content_type, **({"X-CSRF-Token": analista.csrf} if csrf else {})}
    return analista.client.simulate_post(f"/definiciones/{first}/editar", body=body, headers=headers,
                                         cookies=analista.cookies)


def test_the_diagram_editor_reads_every_refusal_as_json(services, analista):
    """Its script parses the answer as JSON: a refusal answered with an HTML page used to show «No se pudo
    guardar: Unexpected token '<'…» instead of what to do."""
    forged = _editor(analista, '{"xml": "<x/>"}', csrf=False)
    assert forged.status_code == 403 and forged.headers["content-type"].startswith("application/json")
    assert "Vuelva a cargar la página" in forged.json["error"]
    broken = _editor(analista, '{"xml": ')
    assert broken.status_code == 400 and "no se pudo leer" in broken.json["error"]


def test_an_invalid_diagram_is_a_422_with_its_problems(services, analista):
    missing = _editor(analista, '{"xml": ""}')
    assert missing.status_code == 422
    assert missing.json["error"] == "No se recibió el diagrama"
    assert missing.json["problemas"] == [{"elemento": "diagrama", "mensaje": "el envío no trae el XML del diagrama"}]
    bad = _editor(analista, '{"xml": "<definitions/>"}')
    assert bad.status_code == 422 and bad.json["problemas"] and "Traceback" not in bad.text
    assert ProcessDefinition.select().count() == 1
