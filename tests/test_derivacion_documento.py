"""Issue 16: a document and its folios go with a derivation (mesa de partes' Derivación, on the task's form or on
the Derivar trámite page with its confirmation) and with an office's derivation onwards or return (Atención).

The document is kept on the expediente as an internal paper (staff see it; the citizen neither sees nor downloads
it); the history row of the step lists it with its folios, and so do the seguimiento and the hoja de ruta.
"""
from __future__ import annotations

import re

import orjson
import pytest
from helpers import derivar, file_tramite, make_user, recibir, step
from webclient import Browser

from mpv.demo import sample_pdf
from mpv.engine import Actor
from mpv.models import Adjunto, Evento, Expediente, Tarea
from mpv.tramites import hoja_ruta
from mpv.web.app import create_app


@pytest.fixture
def app(services):
    return create_app(services)


@pytest.fixture
def people(services):
    users = {"mesa": ("mesa", "MP"), "gdur": ("oficina", "GDUR"), "rentas": ("oficina", "SGAT")}
    return {name: make_user(name, rol, office) for name, (rol, office) in users.items()}


def signed(app, username) -> Browser:
    b = Browser(app)
    b.login(username)
    return b


def task_url(exp, spec) -> str:
    task = Tarea.get((Tarea.expediente == exp.id) & (Tarea.spec == spec)).task_id
    return f"/expedientes/{exp.numero}/tareas/{task}"


def recibido(services, people):
    """A trámite mesa de partes received as conforme: its Derivación waits."""
    exp = file_tramite(services)
    step(services, exp, Actor.de_usuario(people["mesa"]), accion="conforme")
    return exp


def fila(exp, tarea, accion=None) -> Evento:
    query = Evento.select().where((Evento.expediente == exp.id) & (Evento.tipo == "tarea") & (Evento.tarea == tarea))
    if accion:
        query = query.where(Evento.accion == accion)
    return query.order_by(Evento.seq.desc()).first()


def no_temporales(services):
    return not list(services.storage.tmp.iterdir())


def test_mesa_derives_with_a_document_and_its_folios(services, app, people):
    exp = recibido(services, people)
    b = signed(app, "mesa")
    url = task_url(exp, "derivacion")
    form = b.get(url)
    assert 'enctype="multipart/form-data"' in form.text and ">Documento adjunto (PDF)</label>" in form.text
    assert ">Folios</label>" in form.text
    ok = b.post(url, {"oficina_destino": "GDUR", "prioridad": "normal", "plazo_dias": "7", "folios": "5",
                      "proveido": "Emitir informe técnico"},
                files=[("documento", "informe previo.pdf", sample_pdf("Informe previo", pages=2))])
    assert ok.status_code == 303, ok.text

    adjunto = Adjunto.get((Adjunto.expediente == exp.id) & (Adjunto.tipo == "interno"))
    assert adjunto.nombre == "informe previo.pdf"
    row = fila(exp, "derivacion")
    payload = orjson.loads(row.payload)
    assert payload["folios"] == 5 and [a["nombre"] for a in payload["adjuntos"]] == ["informe previo.pdf"]
    assert payload["adjuntos"][0]["sha256"] == adjunto.sha256 and row.oficina_destino == "GDUR"

    seguimiento = b.get(f"/expedientes/{exp.numero}/seguimiento")
    assert "Documento adjunto: informe previo.pdf · 5 folios" in seguimiento.text
    hoja = hoja_ruta.hoja_de_ruta(services, Actor.de_usuario(people["mesa"]), exp.numero)
    paso = next(p for p in hoja.pasos if p.accion == row.descripcion)
    assert paso.folios == "5" and "Adjunta: informe previo.pdf" in paso.observaciones

    # An internal paper: the citizen's seguimiento neither lists it nor serves it.
    public = Browser(app)
    page = public.get(f"/seguimiento/{exp.codigo}")
    assert page.status_code == 200 and "informe previo.pdf" not in page.text
    assert public.get(f"/seguimiento/{exp.codigo}/archivos/{adjunto.id}").status_code == 404
    assert no_temporales(services)


@pytest.mark.parametrize("folios, mensaje", [("0", "Debe ser 1 o más."), ("tres", "Debe ser un número entero."),
                                             ("2.5", "Debe ser un número entero.")])
def test_folios_must_be_a_whole_number_from_one(services, app, people, folios, mensaje):
    exp = recibido(services, people)
    b = signed(app, "mesa")
    url = task_url(exp, "derivacion")
    refused = b.post(url, {"oficina_destino": "GDUR", "prioridad": "normal", "plazo_dias": "7", "folios": folios},
                     files=[("documento", "informe.pdf", sample_pdf("Informe"))])
    assert refused.status_code == 422
    assert f'id="error-folios">{mensaje}' in refused.text
    assert not Adjunto.select().where(Adjunto.tipo == "interno").exists()
    assert fila(exp, "derivacion") is None and no_temporales(services)


def test_the_derivar_page_carries_the_document_through_its_confirmation(services, app, people):
    exp = file_tramite(services)  # still in Recepción: the confirmation records both steps
    b = signed(app, "mesa")
    page = b.get(f"/expedientes/{exp.numero}/derivar")
    assert 'enctype="multipart/form-data"' in page.text and 'name="documento"' in page.text
    datos = {"paso": "revisar", "oficina_destino": "GDUR", "prioridad": "normal", "plazo_dias": "7"}
    revisado = b.post(f"/expedientes/{exp.numero}/derivar", datos,
                      files=[("documento", "plano.pdf", sample_pdf("Plano", pages=3))])
    assert revisado.status_code == 200 and "Confirmar derivación" in revisado.text
    assert "<dt>Documento adjunto</dt><dd>plano.pdf</dd>" in revisado.text
    assert "<dt>Folios</dt><dd>3</dd>" in revisado.text  # left empty: the PDF's pages
    ocultos = dict(re.findall(r'<input type="hidden" name="(_documento_\w+)" value="([^"]*)">', revisado.text))
    assert set(ocultos) == {"_documento_campo", "_documento_espera", "_documento_sha256", "_documento_nombre"}

    forged = b.post(f"/expedientes/{exp.numero}/derivar",
                    {**datos, "folios": "3", "paso": "confirmar", **ocultos, "_documento_sha256": "0" * 64})
    assert forged.status_code == 422 and "Vuelva a adjuntar el documento." in forged.text
    assert not Adjunto.select().where(Adjunto.tipo == "interno").exists()

    # The name comes back from the page: it is read as any uploaded file's name (no folders, at most 200 characters).
    largo = "C:\\planos\\" + "p" * 300 + ".pdf"
    hecho = b.post(f"/expedientes/{exp.numero}/derivar",
                   {**datos, "folios": "3", "paso": "confirmar", **ocultos, "_documento_nombre": largo})
    assert hecho.status_code == 303 and hecho.headers["location"].endswith("/derivado")
    nombre = Adjunto.get((Adjunto.expediente == exp.id) & (Adjunto.tipo == "interno")).nombre
    assert nombre.startswith("ppp") and nombre.endswith(".pdf") and len(nombre) <= 200
    assert orjson.loads(fila(exp, "derivacion").payload)["folios"] == 3
    assert Expediente.get_by_id(exp.id).estado == "Derivado" and no_temporales(services)


def test_correcting_the_derivation_drops_the_waiting_document(services, app, people):
    exp = recibido(services, people)
    b = signed(app, "mesa")
    datos = {"paso": "revisar", "oficina_destino": "GDUR", "prioridad": "normal", "plazo_dias": "7"}
    revisado = b.post(f"/expedientes/{exp.numero}/derivar", datos,
                      files=[("documento", "plano.pdf", sample_pdf("Plano"))])
    ocultos = dict(re.findall(r'<input type="hidden" name="(_documento_\w+)" value="([^"]*)">', revisado.text))
    assert not no_temporales(services)
    corregir = b.post(f"/expedientes/{exp.numero}/derivar", {**datos, "paso": "corregir", **ocultos})
    assert corregir.status_code == 200 and "Vuelva a adjuntar el documento." in corregir.text
    assert no_temporales(services)


def test_a_document_that_is_not_a_pdf_is_refused_at_the_review(services, app, people):
    exp = recibido(services, people)
    b = signed(app, "mesa")
    refused = b.post(f"/expedientes/{exp.numero}/derivar",
                     {"paso": "revisar", "oficina_destino": "GDUR", "prioridad": "normal", "plazo_dias": "7"},
                     files=[("documento", "nota.pdf", b"<html>no soy un pdf</html>")])
    assert refused.status_code == 422 and "no es un PDF" in refused.text
    assert no_temporales(services)


@pytest.mark.parametrize("accion, datos", [
    ("derivar", {"oficina": "SGAT", "proveido": "Verificar deudas"}),
    ("devolver", {"proveido": "Falta el plano firmado"}),
])
def test_the_office_derives_onwards_or_returns_with_a_document(services, app, people, accion, datos):
    exp = recibido(services, people)
    derivar(services, exp, Actor.de_usuario(people["mesa"]), "GDUR")
    recibir(services, exp, Actor.de_usuario(people["gdur"]))
    b = signed(app, "gdur")
    url = task_url(exp, "atencion")
    form = b.get(url, accion=accion)
    assert ">Documento adjunto (PDF)</label>" in form.text and ">Folios</label>" in form.text
    ok = b.post(url, {"accion": accion, "_vista": accion, "folios": "4", **datos},
                files=[("documento", "informe.pdf", sample_pdf("Informe"))])
    assert ok.status_code == 303, ok.text
    row = fila(exp, "atencion", accion)
    payload = orjson.loads(row.payload)
    assert payload["folios"] == 4 and payload["adjuntos"][0]["nombre"] == "informe.pdf"
    assert Adjunto.get((Adjunto.expediente == exp.id) & (Adjunto.tipo == "interno")).nombre == "informe.pdf"
    assert row.oficina_destino == ("SGAT" if accion == "derivar" else "MP")
    seguimiento = signed(app, "mesa").get(f"/expedientes/{exp.numero}/seguimiento")
    assert "Documento adjunto: informe.pdf · 4 folios" in seguimiento.text
