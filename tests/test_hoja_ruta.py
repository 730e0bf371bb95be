"""The hoja de ruta and the cargos de derivación (issue 14, item 6): every movement of the history on the PDF, a QR
that opens the expediente's public verification (never its código de seguimiento), a cargo for each derivation
reached from the history and from the confirmation page, staff only; Ver datos and the seguimientos print."""
from __future__ import annotations

import hashlib
import io
import re

import pytest
from helpers import derivar, file_tramite, recibir, step
from pypdf import PdfReader
from webclient import Browser

from mpv import history
from mpv.errors import NotAllowed, NotFound
from mpv.models import CodigoVerificacion, Evento, PdfEmitido
from mpv.tramites import hoja_ruta, verificacion
from mpv.web.app import create_app


@pytest.fixture
def derivado_dos_veces(services, staff, clock):
    """Filed, derived by mesa de partes to GDUR, received, derived by GDUR to SGAT, received: ten minutes apart."""
    exp = file_tramite(services)
    for hacer in (lambda: step(services, exp, staff["mesa"], accion="conforme"),
                  lambda: derivar(services, exp, staff["mesa"], "GDUR", proveido="Revisar la licencia"),
                  lambda: recibir(services, exp, staff["gdur"]),
                  lambda: step(services, exp, staff["gdur"], accion="derivar", oficina="SGAT",
                               proveido="Corresponde a rentas", plazo_dias=4),
                  lambda: recibir(services, exp, staff["rentas"])):
        clock.advance(minutes=10)
        hacer()
    return exp


def texto(pdf: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


def enlaces(pdf: bytes) -> set[str]:
    """The URIs of the PDF's link annotations."""
    uris = set()
    for page in PdfReader(io.BytesIO(pdf)).pages:
        for annot in page.get("/Annots", []):
            action = annot.get_object().get("/A")
            if action is not None and action.get("/S") == "/URI":
                uris.add(str(action["/URI"]))
    return uris


def qr_leidos(pdf: bytes) -> list[str]:
    """What the QR codes printed on the PDF's pages say, read back from their images by zxing-cpp."""
    zxingcpp = pytest.importorskip("zxingcpp", reason="zxing-cpp (extras [test]) lee los códigos QR")
    leidos = []
    for page in PdfReader(io.BytesIO(pdf)).pages:
        for imagen in page.images:
            leidos += [b.text for b in zxingcpp.read_barcodes(imagen.image)]
    return leidos


def verificacion_de(exp) -> str:
    return verificacion.url("http://127.0.0.1:8080",
                            CodigoVerificacion.get(CodigoVerificacion.expediente == exp.id).codigo)


def navegador(services, username: str) -> Browser:
    b = Browser(create_app(services))
    b.login(username)
    return b


def test_the_hoja_de_ruta_lists_every_movement_and_its_qr_opens_the_verification(services, staff,
                                                                                 derivado_dos_veces):
    exp = derivado_dos_veces
    movimientos = history.seguimiento(exp.id, services.calendario)
    assert [m.descripcion for m in movimientos] == [
        "Trámite presentado", "Recepción: Conforme", "Derivación", "Recepción en la oficina",
        "Atención: Derivar a otra oficina", "Recepción en la oficina"]
    nombre, pdf = hoja_ruta.documento_hoja_de_ruta(services, staff["auditor"], exp.numero)
    assert nombre == f"hoja-de-ruta-{exp.numero}.pdf"
    leido = texto(pdf)
    plano = " ".join(leido.split())
    assert "HOJA DE RUTA" in leido and "Movimientos (6)" in leido
    for etiqueta, valor in (("N° de expediente", exp.numero), ("Remitente", "Ana Rojas Villanueva"),
                            ("Asunto", "Licencia de funcionamiento"), ("Procedimiento", "Documento simple"),
                            ("Fecha de presentación", "")):
        assert f"{etiqueta} {valor}".strip() in plano
    # every movement, in order, at its own time, with its plazo and its indication
    momentos = [m.momento.strftime("%d/%m/%Y %H:%M") for m in movimientos]
    assert len(set(momentos)) == 6
    posiciones = [leido.index(f"{n} {momento}") for n, momento in enumerate(momentos, 1)]
    assert posiciones == sorted(posiciones)
    for fragmento in ("Derivación", "Atención: Derivar a otra oficina", "7 días hábiles", "4 días hábiles",
                      "Revisar la licencia", "Corresponde a rentas", "Gerencia de Desarrollo", "gdur", "rentas"):
        assert fragmento in plano, fragmento
    # the QR: the expediente's verification code, never its código de seguimiento
    url = verificacion_de(exp)
    assert re.fullmatch(r"http://127\.0\.0\.1:8080/verificar/([A-Z2-7]{4}-){3}[A-Z2-7]{4}", url)
    assert exp.codigo not in leido and exp.codigo not in url
    assert enlaces(pdf) == {url}
    assert url in plano
    assert qr_leidos(pdf) == [url]
    # registered by its SHA-256; asked for again, the same code
    assert PdfEmitido.get(PdfEmitido.clase == "hoja_ruta").expediente_id == exp.id
    _, otra = hoja_ruta.documento_hoja_de_ruta(services, staff["mesa"], exp.numero)
    assert CodigoVerificacion.select().count() == 1 and enlaces(otra) == {url}


def test_a_cargo_for_each_derivation(services, staff, derivado_dos_veces, clock):
    exp = derivado_dos_veces
    derivaciones = [m for m in history.seguimiento(exp.id, services.calendario) if m.deriva]
    assert [(m.origen, m.destino) for m in derivaciones] == [
        ("Mesa de Partes - Unidad de Trámite Documentario y Archivo", "Gerencia de Desarrollo Urbano y Rural"),
        ("Gerencia de Desarrollo Urbano y Rural", "Subgerencia de Administración Tributaria")]
    esperado = [("mesa", "7 días hábiles", "Revisar la licencia"), ("gdur", "4 días hábiles", "Corresponde a rentas")]
    for m, (quien, plazo, proveido) in zip(derivaciones, esperado):
        nombre, pdf = hoja_ruta.documento_cargo(services, staff["auditor"], exp.numero, m.evento)
        assert nombre == f"cargo-{exp.numero}-{m.evento}.pdf"
        plano = " ".join(texto(pdf).split())
        for fragmento in ("CARGO DE DERIVACIÓN", f"N° de expediente {exp.numero}",
                          f"Derivado el {m.momento:%d/%m/%Y %H:%M}", f"De {m.origen}", f"A {m.destino}",
                          f"Derivado por {quien}", f"Plazo {plazo}", f"Observaciones {proveido}"):
            assert fragmento in plano, fragmento
        assert enlaces(pdf) == {verificacion_de(exp)} and qr_leidos(pdf) == [verificacion_de(exp)]
    assert PdfEmitido.select().where(PdfEmitido.clase == "cargo").count() == 2
    # a movement that sent it nowhere has no cargo, nor has another expediente's derivation
    recepcion = Evento.get((Evento.expediente == exp.id) & (Evento.tarea == "recibir"))
    otro = file_tramite(services)
    for numero, evento in ((exp.numero, recepcion.id), (otro.numero, derivaciones[0].evento), (exp.numero, 2**63)):
        with pytest.raises(NotFound, match="no tiene esa derivación"):
            hoja_ruta.cargo(services, staff["mesa"], numero, evento)


def test_staff_reach_the_pdfs_from_ver_datos_the_history_and_the_confirmation(services, staff, derivado_dos_veces):
    exp = derivado_dos_veces
    b = navegador(services, "mesa")
    ver = b.get(f"/expedientes/{exp.numero}")
    assert f'href="/expedientes/{exp.numero}/hoja-de-ruta"' in ver.text and "Hoja de ruta (PDF)" in ver.text
    assert "data-imprimir" in ver.text
    seguimiento = b.get(f"/expedientes/{exp.numero}/seguimiento")
    cargos = re.findall(rf'href="/expedientes/{exp.numero}/cargos/(\d+)"', seguimiento.text)
    assert [int(c) for c in cargos] == [m.evento for m in history.seguimiento(exp.id, services.calendario) if m.deriva]
    assert "Hoja de ruta (PDF)" in seguimiento.text and "data-imprimir" in seguimiento.text
    hecho = b.get(f"/expedientes/{exp.numero}/derivado")
    assert f'href="/expedientes/{exp.numero}/cargos/{cargos[0]}"' in hecho.text
    for path in (f"/expedientes/{exp.numero}/hoja-de-ruta", f"/expedientes/{exp.numero}/cargos/{cargos[1]}"):
        result = b.get(path)
        assert result.status_code == 200 and result.headers["content-type"] == "application/pdf"
        assert result.content.startswith(b"%PDF") and "attachment" in result.headers["content-disposition"]
    assert b.get(f"/expedientes/{exp.numero}/cargos/999999").status_code == 404
    assert b.get("/expedientes/2026-999999/hoja-de-ruta").status_code == 404


def test_the_pdfs_are_for_staff_who_may_see_the_expediente(services, staff):
    exp = file_tramite(services)
    step(services, exp, staff["mesa"], accion="conforme")
    derivar(services, exp, staff["mesa"], "GDUR")
    evento = Evento.get((Evento.expediente == exp.id) & (Evento.tarea == "derivacion")).id
    paths = (f"/expedientes/{exp.numero}/hoja-de-ruta", f"/expedientes/{exp.numero}/cargos/{evento}")
    anonimo = Browser(create_app(services))
    for path in paths:
        result = anonimo.get(path)
        assert result.status_code == 303 and "/login" in result.headers["location"]
        assert not result.content.startswith(b"%PDF")
    ajena = navegador(services, "rentas")  # SGAT: the expediente never reached it
    for path in paths:
        assert ajena.get(path).status_code == 403
    with pytest.raises(NotAllowed):
        hoja_ruta.hoja_de_ruta(services, staff["rentas"], exp.numero)
    assert not CodigoVerificacion.select().exists() and not PdfEmitido.select().exists()  # nothing was written
    assert navegador(services, "gdur").get(paths[1]).status_code == 200


def test_ver_datos_and_the_seguimientos_print_without_navigation_nor_buttons(services, staff):
    exp = file_tramite(services)
    css = Browser(create_app(services)).get("/static/mpv.css").text
    impresion = css[css.index("@media print"):]
    for regla in (".barra", "footer", ".no-imprimir", ".botones", "button", "form", "break-inside: avoid",
                  "max-width: none", "thead { display: table-header-group; }"):
        assert regla in impresion, regla
    publico = Browser(create_app(services)).get(f"/seguimiento/{exp.codigo}")
    assert "data-imprimir" in publico.text and 'class="solo-impresion"' in publico.text



def test_a_long_route_runs_over_several_pages_with_its_headings(services, staff, derivado_dos_veces, clock):
    exp = derivado_dos_veces
    for _ in range(12):  # back and forth between the two offices, each time with a long indication
        for de, a, codigo in ((staff["rentas"], staff["gdur"], "GDUR"), (staff["gdur"], staff["rentas"], "SGAT")):
            clock.advance(minutes=3)
            step(services, exp, de, accion="derivar", oficina=codigo, plazo_dias=2,
                 proveido="Revisar los planos y la memoria descriptiva; " * 6)
            recibir(services, exp, a)
    movimientos = history.seguimiento(exp.id, services.calendario)
    assert len(movimientos) == 6 + 48
    _, pdf = hoja_ruta.documento_hoja_de_ruta(services, staff["mesa"], exp.numero)
    paginas = [page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages]
    assert len(paginas) > 2 and "Movimientos (54)" in paginas[0]
    assert all("Fecha y hora" in p for p in paginas)  # the table's headings repeat on every page
    ultimo = movimientos[-1].momento.strftime("%d/%m/%Y %H:%M")
    assert f"54 {ultimo}" in paginas[-1]


def test_the_hoja_de_ruta_and_the_cargo_are_sealed_by_the_entity(sellados, clock, tmp_path):
    from helpers import make_user

    from mpv.engine import Actor
    from mpv.firmas import verificar

    mesa = Actor.de_usuario(make_user("mesa", "mesa", "MP"))
    exp = file_tramite(sellados)
    step(sellados, exp, mesa, accion="conforme")
    derivar(sellados, exp, mesa, "GDUR", proveido="Revisar")
    evento = Evento.get((Evento.expediente == exp.id) & (Evento.tarea == "derivacion")).id
    for clase, (_, pdf) in (("hoja_ruta", hoja_ruta.documento_hoja_de_ruta(sellados, mesa, exp.numero)),
                            ("cargo", hoja_ruta.documento_cargo(sellados, mesa, exp.numero, evento))):
        archivo = tmp_path / f"{clase}.pdf"
        archivo.write_bytes(pdf)
        [sello] = verificar(archivo, clock(), sellados.raices)
        assert sello.firmante == "MUNICIPALIDAD DE PRUEBA" and sello.intacto and sello.confiable, sello
        assert sello.firmado_en == clock()  # the services' clock, not the wall clock
        assert "HOJA DE RUTA" in texto(pdf) or "CARGO DE DERIVACIÓN" in texto(pdf)
        assert enlaces(pdf) == {verificacion_de(exp)}
        fila = PdfEmitido.get(PdfEmitido.clase == clase)
        assert fila.sellado and fila.sha256 == hashlib.sha256(pdf).hexdigest()
    html = Browser(create_app(sellados)).get(f"/verificar/{exp.codigo}").text
    assert html.count("Sellado digitalmente por la entidad") == 3  # the constancia, the hoja de ruta, the cargo
