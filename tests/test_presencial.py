"""A trámite brought on paper (issue 16, item 2): mesa de partes registers it into the one register and numbering of
the virtual desk, its history says it came on paper and who registered it, and the cargo de recepción — a sealed PDF
with the QR of the expediente's verification — is printed at once, with the citizen's código de seguimiento on his
copy only. Bad input is refused with messages, and nothing is written."""
from __future__ import annotations

import io
import re
import threading

import pytest
from helpers import FILING, file_tramite, make_user, step
from test_hoja_ruta import qr_leidos, texto, verificacion_de
from webclient import Browser

from mpv import history
from mpv.demo import sample_pdf
from mpv.engine import Actor
from mpv.errors import InvalidInput, NotAllowed, NotFound
from mpv.models import Correo, Evento, Expediente, Numeracion, PdfEmitido
from mpv.tramites import hoja_ruta, presencial
from mpv.web.app import create_app

# What the clerk types from the paper: the citizen has no e-mail (optional at the counter).
PAPEL = {**{k: v for k, v in FILING.items() if k != "acepta_notificacion"}, "email": "",
         "asunto": "Solicitud de constancia de posesión", "folios": 7}


def recibido(services, pdf: bytes | None = None, nombre="escaneado.pdf"):
    return services.storage.receive(io.BytesIO(pdf if pdf is not None else sample_pdf("Escaneado")), nombre,
                                    services.limits.principal_bytes)


def en_fisico(services, mesa, pdf: bytes | None = None, anexos=(), **datos) -> Expediente:
    """Mesa de partes registers a filing brought on paper, scanned to a real small PDF."""
    extra = [services.storage.receive(io.BytesIO(a), f"anexo{i}.pdf", services.limits.anexo_bytes)
             for i, a in enumerate(anexos, 1)]
    return presencial.registrar(services, mesa, {**PAPEL, **datos}, recibido(services, pdf), extra)


def inicio(exp) -> Evento:
    return Evento.get((Evento.expediente == exp.id) & (Evento.tipo == "inicio"))


def nada_escrito(services):
    assert Expediente.select().count() == 0 and Numeracion.select().count() == 0
    assert Evento.select().where(Evento.tipo != "acceso").count() == 0
    assert not list(services.storage.tmp.iterdir())
    assert not [p for p in services.storage.root.rglob("*") if p.is_file() and services.storage.tmp not in p.parents]


# -- one register, under concurrency ---------------------------------------------------------------------------
def test_paper_and_online_filings_at_once_get_consecutive_numbers_of_one_register(services, staff):
    barrier = threading.Barrier(30)
    numeros, errores = {"virtual": [], "presencial": []}, []

    def presentar(i):
        barrier.wait()
        try:
            if i % 2:
                numeros["presencial"].append(en_fisico(services, staff["mesa"], asunto=f"En papel {i}").numero)
            else:
                numeros["virtual"].append(file_tramite(services, asunto=f"En línea {i}").numero)
        except Exception as exc:  # noqa: BLE001 - the test reports any failure
            errores.append(repr(exc))
        finally:
            services.db.peewee.close()

    threads = [threading.Thread(target=presentar, args=(i,)) for i in range(30)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errores
    assert len(numeros["virtual"]) == len(numeros["presencial"]) == 15
    anio = services.calendario.fecha_local(services.clock()).year
    assert sorted(numeros["virtual"] + numeros["presencial"]) == [f"{anio}-{n:06d}" for n in range(1, 31)]
    assert sorted(e.numero for e in Expediente.select().where(Expediente.via == "presencial")) == sorted(
        numeros["presencial"])
    assert Numeracion.get(Numeracion.anio == anio).ultimo == 30
    assert history.verify().ok


# -- the history and the pages say it came on paper, and who registered it --------------------------------------
def test_the_history_says_it_came_on_paper_and_who_registered_it(services, staff):
    exp = en_fisico(services, staff["mesa"])
    assert (exp.via, exp.registrado_por_id) == ("presencial", staff["mesa"].usuario_id)
    assert exp.numero.endswith("-000001") and exp.folios == 7 and exp.estado == "Registrado"
    fila = inicio(exp)
    assert fila.descripcion == "Trámite presentado en físico en mesa de partes"
    assert (fila.actor_id, fila.actor_nombre, fila.rol, fila.oficina_origen) == (
        staff["mesa"].usuario_id, "mesa", "mesa", "ciudadano")
    assert '"via":"presencial"' in fila.payload
    primero = history.seguimiento(exp.id, services.calendario)[0]
    assert (primero.descripcion, primero.usuario) == ("Trámite presentado en físico en mesa de partes", "mesa")
    publico = history.seguimiento(exp.id, services.calendario, publico=True)[0]
    assert publico.usuario.startswith("Mesa de Partes")  # the citizen sees the office, not the clerk's account
    # online, as ever
    online = file_tramite(services)
    assert online.via == "virtual" and online.registrado_por_id is None
    assert (inicio(online).descripcion, inicio(online).rol) == ("Trámite presentado", "ciudadano")
    assert history.verify().ok


def test_without_an_email_nothing_is_mailed_and_the_history_says_how_to_notify(services, staff):
    exp = en_fisico(services, staff["mesa"])
    assert Correo.select().where(Correo.expediente == exp.id).count() == 0  # no constancia to nowhere
    step(services, exp, staff["mesa"], accion="observar", observacion="Falta la firma del solicitante")
    assert Correo.select().where(Correo.expediente == exp.id).count() == 0
    observacion = Evento.get((Evento.expediente == exp.id) & (Evento.descripcion == "Notificar la observación"))
    assert "no dio correo electrónico: notifíquesele en su dirección" in observacion.detalle, observacion.detalle
    con_correo = en_fisico(services, staff["mesa"], email="ana@example.com")
    assert [c.tipo for c in Correo.select().where(Correo.expediente == con_correo.id)] == ["constancia"]


# -- the cargo de recepción --------------------------------------------------------------------------------------
def test_the_cargo_de_recepcion_has_the_number_the_qr_and_the_clerk(services, staff):
    exp = en_fisico(services, staff["mesa"], anexos=[sample_pdf("Anexo")])
    nombre, pdf = presencial.cargo_para_el_ciudadano(services, staff["mesa"], exp.codigo)
    assert nombre == f"cargo-de-recepcion-{exp.numero}.pdf" and pdf.startswith(b"%PDF")
    contenido = texto(pdf)
    for esperado in ("CARGO DE RECEPCIÓN", exp.numero, "Recibido por", "Mesa (mesa)", "presentado en físico",
                     "DNI 45871236", "Solicitud de constancia de posesión", "Folios", "escaneado.pdf", "anexo1.pdf",
                     "Código de seguimiento", exp.codigo):
        assert esperado in contenido, esperado
    assert re.search(r"Folios\s*7", contenido)
    assert qr_leidos(pdf) == [verificacion_de(exp)]  # the QR opens the verification, never the tracking code
    assert exp.codigo not in qr_leidos(pdf)[0]
    # reprinted later from the seguimiento (any staff who sees it): the same cargo, without the citizen's key
    _, copia = hoja_ruta.documento_cargo(services, staff["auditor"], exp.numero, inicio(exp).id)
    assert exp.numero in texto(copia) and "Código de seguimiento" not in texto(copia)
    assert exp.codigo not in texto(copia)
    assert [p.clase for p in PdfEmitido.select().where(PdfEmitido.expediente == exp.id)] == [
        "cargo_recepcion", "cargo_recepcion"]


def test_only_a_paper_filing_has_a_cargo_de_recepcion_and_only_mesa_hands_it_out(services, staff):
    online = file_tramite(services)
    with pytest.raises(NotFound, match="no tiene esa derivación"):
        hoja_ruta.documento_cargo(services, staff["mesa"], online.numero, inicio(online).id)
    with pytest.raises(NotFound, match="mesa de partes virtual"):
        presencial.registrado(services, staff["mesa"], online.codigo)
    exp = en_fisico(services, staff["mesa"])
    with pytest.raises(NotAllowed):
        presencial.registrado(services, staff["gdur"], exp.codigo)
    with pytest.raises(NotFound):
        presencial.registrado(services, staff["mesa"], "NOESUNCODIGOVALIDO")


def test_the_cargo_is_sealed_by_the_entity(sellados, clock):
    mesa = Actor.de_usuario(make_user("mesa", "mesa", "MP"))
    exp = en_fisico(sellados, mesa)
    _, pdf = presencial.cargo_para_el_ciudadano(sellados, mesa, exp.codigo)
    from pyhanko.pdf_utils.reader import PdfFileReader

    firmas = PdfFileReader(io.BytesIO(pdf)).embedded_signatures
    assert [f.field_name for f in firmas] == ["SelloEntidad"]
    assert PdfEmitido.get(PdfEmitido.expediente == exp.id).sellado


# -- bad input ----------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("caso, campo, mensaje", [
    ("sin PDF", "archivo", "Adjunte el documento principal en PDF."),
    ("DNI malo", "numero_documento_identidad", "8 dígitos"),
    ("no es un PDF", "archivo", "no es un PDF"),
    ("sin folios", "folios", "número de folios"),
    ("correo malo", "email", "correo electrónico válido"),
])
def test_bad_input_is_refused_with_its_message_and_nothing_is_written(services, staff, caso, campo, mensaje):
    datos = {**PAPEL, **({"numero_documento_identidad": "4587123"} if caso == "DNI malo" else {}),
             **({"folios": ""} if caso == "sin folios" else {}), **({"email": "ana@"} if caso == "correo malo" else {})}
    principal = None if caso == "sin PDF" else recibido(services, b"no soy un pdf" if caso == "no es un PDF" else None)
    with pytest.raises(InvalidInput) as refused:
        presencial.registrar(services, staff["mesa"], datos, principal, [])
    assert mensaje in refused.value.campos[campo], refused.value.campos
    nada_escrito(services)


def test_only_mesa_de_partes_registers_a_paper_filing(services, staff):
    with pytest.raises(NotAllowed, match="los registra mesa de partes"):
        presencial.registrar(services, staff["gdur"], PAPEL, recibido(services), [])
    nada_escrito(services)


# -- through the web ----------------------------------------------------------------------------------------------
@pytest.fixture
def mesa_web(services, staff):
    b = Browser(create_app(services))
    b.login("mesa")
    return b


def enviar(b: Browser, datos: dict, archivos):
    return b.post("/presencial", [(k, v) for k, v in datos.items()], files=archivos)


def test_the_clerk_registers_a_paper_filing_and_gets_the_cargo_at_once(services, mesa_web):
    b = mesa_web
    inicio_pagina = b.get("/inicio")
    assert 'href="/presencial"' in inicio_pagina.text  # in mesa de partes' menu
    form = b.get("/presencial")
    assert form.status_code == 200 and "Registrar trámite presentado en físico" in form.text
    for nombre in ("tipo_persona", "numero_documento_identidad", "email", "direccion", "tipo_documento", "asunto",
                   "folios", "archivo", "anexos", "procedimiento"):
        assert f'name="{nombre}"' in form.text, nombre
    assert 'name="declaracion"' not in form.text and 'name="acepta_notificacion"' not in form.text
    result = enviar(b, PAPEL, [("archivo", "escaneado.pdf", sample_pdf("Escaneado"))])
    assert result.status_code == 303, result.text
    exp = Expediente.get()
    assert result.headers["location"].endswith(f"/presencial/{exp.codigo}")
    pagina = b.get(f"/presencial/{exp.codigo}")
    assert pagina.status_code == 200
    assert f"Trámite registrado con el expediente {exp.numero}" in pagina.text  # the notice
    assert exp.codigo in pagina.text and f'href="/presencial/{exp.codigo}/cargo"' in pagina.text
    cargo = b.get(f"/presencial/{exp.codigo}/cargo")
    assert cargo.status_code == 200 and cargo.headers["content-type"] == "application/pdf"
    assert exp.numero in texto(cargo.content) and exp.codigo in texto(cargo.content)
    seguimiento = b.get(f"/expedientes/{exp.numero}/seguimiento").text
    assert "Trámite presentado en físico en mesa de partes" in seguimiento
    assert "Presentado en físico en mesa de partes</strong>, registrado por Mesa (mesa)" in seguimiento
    assert f'href="/expedientes/{exp.numero}/cargos/{inicio(exp).id}"' in seguimiento
    assert exp.codigo not in seguimiento  # staff pages never show the citizen's key
    datos = b.get(f"/expedientes/{exp.numero}").text
    assert "Presentado en físico en mesa de partes</strong>, registrado por Mesa (mesa)" in datos
    reimpreso = b.get(f"/expedientes/{exp.numero}/cargos/{inicio(exp).id}")
    assert reimpreso.status_code == 200 and "CARGO DE RECEPCIÓN" in texto(reimpreso.content)


def test_the_form_with_mistakes_comes_back_with_messages_and_values(services, mesa_web):
    b = mesa_web
    b.get("/presencial")
    result = enviar(b, {**PAPEL, "numero_documento_identidad": "4587123"}, [])
    assert result.status_code == 422 and "el trámite no se registró" in result.text
    assert "Adjunte el documento principal en PDF." in result.text and "8 dígitos" in result.text
    assert 'value="Rojas Villanueva"' in result.text  # what the clerk typed stays
    result = enviar(b, {**PAPEL, "numero_documento_identidad": "4587123"},
                    [("archivo", "escaneado.pdf", sample_pdf("Escaneado"))])
    assert result.status_code == 422 and "Vuelva a adjuntar los archivos." in result.text
    nada_escrito(services)


def test_the_form_chooses_a_tupa_procedure_first(services, mesa_web):
    b = mesa_web
    assert b.get("/presencial", procedimiento="NO-EXISTE").status_code == 404
    assert "Documento simple (no es un procedimiento del TUPA)" in b.get("/presencial").text


def test_other_staff_may_not_register_nor_see_the_handover_page(services, staff):
    exp = en_fisico(services, staff["mesa"])
    b = Browser(create_app(services))
    b.login("gdur")
    assert b.get("/presencial").status_code == 403
    assert b.get(f"/presencial/{exp.codigo}").status_code == 403
    assert b.get(f"/presencial/{exp.codigo}/cargo").status_code == 403
    b.get("/inicio")
    assert enviar(b, PAPEL, [("archivo", "escaneado.pdf", sample_pdf("Escaneado"))]).status_code == 403
    assert Expediente.select().count() == 1


def test_init_db_adds_the_columns_to_an_older_database(services, staff):
    online = file_tramite(services)
    services.db.peewee.execute_sql("ALTER TABLE expediente DROP COLUMN via")  # as an older MPV made it
    if not services.db.is_sqlite:  # SQLite drops no column of a foreign key
        services.db.peewee.execute_sql("ALTER TABLE expediente DROP COLUMN registrado_por_id")
    assert "via" not in services.db.columns("expediente")
    services.init_db()
    assert {"via", "registrado_por_id"} <= set(services.db.columns("expediente"))
    assert Expediente.get_by_id(online.id).via == "virtual"  # what every filing was before
    assert en_fisico(services, staff["mesa"]).via == "presencial"
