"""The TUPA's upkeep (mpv.tramites.tupa, with the rules of mpv.tramites.tupa_ficha), its CSV file
(mpv.tramites.tupa_csv), its Administración pages, the ``mpv tupa`` commands and the demo's TUPA: refusals name
the field (or «Línea N, campo X») and write nothing; every change writes one audit row; exporting, importing and
exporting again gives the same bytes."""
from __future__ import annotations

from decimal import Decimal

import pytest
from helpers import file_tramite, make_user
from webclient import Browser, signed_in

from mpv.cli import main
from mpv.demo import TUPA, seed
from mpv.engine import SISTEMA, Actor
from mpv.errors import InvalidInput, NotAllowed
from mpv.models import Evento, Expediente, Oficina, Procedimiento
from mpv.tramites import tupa, tupa_csv
from mpv.tramites.tupa_ficha import MENSAJES, Ficha
from mpv.web.app import create_app

LF = Ficha(codigo=" lf-01 ", nombre="Licencia de funcionamiento (riesgo bajo o medio)",
           requisitos=("Solicitud con carácter de declaración jurada", " ", "Pago del derecho de trámite"),
           derecho_tramite="98.5", calificacion="positivo", plazo_dias="15", oficina="gde",
           base_legal="TUO de la Ley 28976 (D.S. 163-2020-PCM), art. 11")
LEA = Ficha(codigo="LE-A", nombre="Licencia de edificación modalidad A", requisitos=("FUE, por triplicado",),
            derecho_tramite="", calificacion="automatica", plazo_dias="", oficina="GDUR",
            base_legal="TUO de la Ley 29090, art. 10")
AIP = Ficha(codigo="AIP-01", nombre="Acceso a la información pública", requisitos=(
    'Solicitud con "expresión concreta" de lo pedido, nombres y domicilio', "Costo de reproducción: S/ 0.10"),
    derecho_tramite="0", calificacion="negativo", plazo_dias="10", oficina="SG",
    base_legal="TUO de la Ley 27806 (D.S. 021-2019-JUS), art. 11")


@pytest.fixture
def admin(services) -> Actor:
    return Actor.de_usuario(make_user("admin", "admin"), ip="203.0.113.9")


def admin_rows():
    return [(r.accion, r.descripcion) for r in Evento.select().where(Evento.tipo == "admin").order_by(Evento.seq)]


def snapshot():
    """Everything an action of the TUPA could write (a refused request's own audit row aside)."""
    return list(Procedimiento.select().order_by(Procedimiento.id).dicts()), admin_rows()


def refused(action, *args):
    """The :class:`InvalidInput` ``action`` raises; nothing written meanwhile."""
    before = snapshot()
    with pytest.raises(InvalidInput) as raised:
        action(*args)
    assert snapshot() == before
    return raised.value


def test_a_procedure_is_created_modified_deactivated_and_activated_with_one_audit_row_each(services, admin):
    p = tupa.crear(services, admin, LF)
    assert (p.codigo, p.calificacion, p.plazo_dias, p.oficina.codigo, p.activo) == ("LF-01", "positivo", 15, "GDE",
                                                                                   True)
    assert tupa.requisitos(p) == ["Solicitud con carácter de declaración jurada", "Pago del derecho de trámite"]
    assert (tupa.derecho(p), tupa.plazo(p)) == ("S/ 98.50", "15 días hábiles")
    cambiado = tupa.modificar(services, admin, p.id, Ficha(**{**LF.__dict__, "codigo": "OTRO", "plazo_dias": "1",
                                                             "oficina": "SGAT", "derecho_tramite": "S/ 100,00"}))
    assert (cambiado.codigo, cambiado.plazo_dias, cambiado.oficina.codigo) == ("LF-01", 1, "SGAT")
    assert (cambiado.derecho_tramite, tupa.plazo(cambiado)) == (Decimal("100.00"), "1 día hábil")
    assert not tupa.desactivar(services, admin, p.id).activo and tupa.activos() == []
    assert tupa.activar(services, admin, p.id).activo and tupa.activos() == [cambiado]
    assert admin_rows() == [("procedimiento_creado", "El procedimiento LF-01 fue creado."),
                            ("procedimiento_modificado", "El procedimiento LF-01 fue modificado."),
                            ("procedimiento_desactivado", "El procedimiento LF-01 quedó desactivado."),
                            ("procedimiento_activado", "El procedimiento LF-01 quedó activado.")]
    detalle = Evento.select().where(Evento.accion == "procedimiento_modificado").get().detalle
    assert detalle == "derecho_tramite: 98.50 → 100.00; plazo_dias: 15 → 1; oficina: GDE → SGAT"
    # Saving the same data again changes nothing and writes no row.
    tupa.modificar(services, admin, p.id, LF)
    tupa.modificar(services, admin, p.id, LF)
    assert len(admin_rows()) == 5


def test_aprobacion_automatica_has_no_plazo_and_a_zero_fee_is_gratuito(services, admin):
    lea, aip = tupa.crear(services, admin, LEA), tupa.crear(services, admin, AIP)
    assert (lea.plazo_dias, tupa.plazo(lea), tupa.derecho(lea)) == (None, "—", "Gratuito")
    assert (aip.derecho_tramite, tupa.derecho(aip), tupa.calificacion(aip)) == (
        None, "Gratuito", "Evaluación previa con silencio negativo")


@pytest.mark.parametrize("cambios, campo, mensaje", [
    ({"codigo": "lf 01"}, "codigo", "letras mayúsculas sin tilde, números o guion"),
    ({"codigo": "Ñ-1"}, "codigo", "(por ejemplo, LF-01)"),
    ({"codigo": "A" * 21}, "codigo", "de 1 a 20 caracteres"),
    ({"nombre": "  "}, "nombre", "Escriba el nombre del procedimiento"),
    ({"requisitos": (" ", "")}, "requisitos", "al menos un requisito, uno por línea"),
    ({"requisitos": ("Uno", "Dos | tres")}, "requisitos", "El requisito 2 contiene «|»"),
    ({"requisitos": ("x" * 501,)}, "requisitos", "El requisito 1 pasa de 500 caracteres"),
    ({"derecho_tramite": "-5"}, "derecho_tramite", "no puede ser negativo"),
    ({"derecho_tramite": "12.345"}, "derecho_tramite", "hasta dos decimales (por ejemplo, 45.50)"),
    ({"derecho_tramite": "gratis"}, "derecho_tramite", "déjelo vacío si el procedimiento es gratuito"),
    ({"calificacion": "silencio"}, "calificacion", "automatica (aprobación automática), positivo o negativo"),
    ({"plazo_dias": ""}, "plazo_dias", "un número entero de 1 a 365"),
    ({"plazo_dias": "0"}, "plazo_dias", "un número entero de 1 a 365"),
    ({"plazo_dias": "366"}, "plazo_dias", "un número entero de 1 a 365"),
    ({"plazo_dias": "²"}, "plazo_dias", "un número entero de 1 a 365"),
    ({"calificacion": "automatica"}, "plazo_dias", "La aprobación automática no tiene plazo"),
    ({"oficina": ""}, "oficina", "Elija la oficina competente."),
    ({"oficina": "XYZ"}, "oficina", "No existe la oficina «XYZ»"),
    ({"oficina": "GM"}, "oficina", "La oficina GM está desactivada"),
    ({"base_legal": ""}, "base_legal", "Escriba la base legal"),
])
def test_bad_input_is_refused_field_by_field_and_nothing_is_written(services, admin, cambios, campo, mensaje):
    Oficina.update(activa=False).where(Oficina.codigo == "GM").execute()
    error = refused(tupa.crear, services, admin, Ficha(**{**LF.__dict__, **cambios}))
    assert error.message == "Revise los campos marcados."
    assert list(error.campos) == [campo] and mensaje in error.campos[campo]


def test_every_bad_field_is_named_at_once_and_a_taken_code_is_refused(services, admin):
    error = refused(tupa.crear, services, admin, Ficha())
    assert set(error.campos) == {"codigo", "nombre", "requisitos", "calificacion", "oficina", "base_legal"}
    tupa.crear(services, admin, LF)
    error = refused(tupa.crear, services, admin, LF)
    assert error.campos == {"codigo": "Ya existe el procedimiento LF-01; use otro código."}
    p = tupa.por_codigo("lf-01")
    error = refused(tupa.modificar, services, admin, p.id, Ficha(**{**LF.__dict__, "plazo_dias": "x"}))
    assert list(error.campos) == ["plazo_dias"]


def test_only_an_administrator_keeps_the_tupa(services, admin):
    p = tupa.crear(services, admin, LF)
    mesa = Actor.de_usuario(make_user("mesa", "mesa", "MP"))
    for action, args in ((tupa.crear, (services, mesa, LEA)), (tupa.modificar, (services, mesa, p.id, LF)),
                         (tupa.desactivar, (services, mesa, p.id)), (tupa_csv.importar, (services, mesa, b"x"))):
        with pytest.raises(NotAllowed):
            action(*args)
    for action in (tupa.lista, tupa_csv.exportar):
        with pytest.raises(NotAllowed):
            action(mesa)
    assert tupa.lista(SISTEMA) == [p]


def test_a_procedure_with_expedientes_is_deactivated_and_they_keep_it(services, admin):
    p = tupa.crear(services, admin, LF)
    expediente = file_tramite(services)
    Expediente.update(procedimiento=p).where(Expediente.id == expediente.id).execute()
    Oficina.update(activa=False).where(Oficina.codigo == "GDE").execute()
    tupa.desactivar(services, admin, p.id)
    assert Expediente.get_by_id(expediente.id).procedimiento.codigo == "LF-01"
    error = refused(tupa.activar, services, admin, p.id)
    assert "La oficina competente GDE está desactivada" in error.message
    # An inactive procedure may keep naming its deactivated office while it is edited.
    assert tupa.modificar(services, admin, p.id, Ficha(**{**LF.__dict__, "nombre": "Licencia"})).nombre == "Licencia"


def test_export_import_export_gives_the_same_bytes_and_import_restores_every_field(services, admin):
    for ficha in (LF, LEA, AIP):
        tupa.crear(services, admin, ficha)
    tupa.desactivar(services, admin, tupa.por_codigo("LE-A").id)
    exportado = tupa_csv.exportar(admin)
    assert exportado.splitlines()[0] == "codigo,nombre,requisitos,derecho_tramite,calificacion,plazo_dias,oficina," \
                                        "base_legal,activo"
    assert ('AIP-01,Acceso a la información pública,"Solicitud con ""expresión concreta"" de lo pedido, nombres y '
            'domicilio | Costo de reproducción: S/ 0.10",,negativo,10,SG,') in exportado
    assert "\r\nLE-A,Licencia de edificación modalidad A,\"FUE, por triplicado\",,automatica,,GDUR," in exportado
    assert ",GDUR,\"TUO de la Ley 29090, art. 10\",no\r\n" in exportado and ",98.50,positivo,15,GDE," in exportado
    filas = list(Procedimiento.select().order_by(Procedimiento.codigo).dicts())
    resumen = tupa_csv.importar(services, admin, exportado.encode(), "tupa.csv")
    assert (resumen.creados, resumen.modificados, resumen.sin_cambios) == ((), (), 3)
    assert list(Procedimiento.select().order_by(Procedimiento.codigo).dicts()) == filas
    assert tupa_csv.exportar(admin).encode() == exportado.encode()
    # Changed meanwhile, then imported again: every field comes back, one audit row per procedure changed.
    p = tupa.por_codigo("LF-01")
    tupa.modificar(services, admin, p.id, Ficha(**{**LF.__dict__, "requisitos": ("Otro",), "oficina": "SGAT"}))
    tupa.activar(services, admin, tupa.por_codigo("LE-A").id)
    Procedimiento.delete().where(Procedimiento.codigo == "AIP-01").execute()
    antes = len(admin_rows())
    resumen = tupa_csv.importar(services, admin, ("\ufeff" + exportado).encode(), "tupa.csv")  # a spreadsheet's BOM
    assert (resumen.creados, resumen.modificados, resumen.sin_cambios) == (("AIP-01",), ("LE-A", "LF-01"), 0)
    assert str(resumen) == ("TUPA importado: 1 procedimiento creado (AIP-01); 2 procedimientos modificados "
                            "(LE-A, LF-01); 0 sin cambios.")
    assert tupa_csv.exportar(admin) == exportado
    assert len(admin_rows()) == antes + 3
    assert Evento.select().order_by(Evento.seq.desc()).first().detalle.startswith("importado de tupa.csv; ")


BUENA = ("codigo,nombre,requisitos,derecho_tramite,calificacion,plazo_dias,oficina,base_legal,activo\r\n"
         "CPU-01,Certificado de parámetros,Solicitud | Plano de ubicación,62.30,positivo,5,GDUR,Ley 29090,sí\r\n")


def test_a_bad_file_is_refused_whole_with_every_bad_line_and_nothing_is_written(services, admin):
    archivo = BUENA + (
        "NUM-01,Certificado de numeración,Solicitud,35.5,positivo,cinco,GDUR,Ley 27972,sí\r\n"
        "\r\n"
        'PAR-01,"Copia certificada\nde partida",Solicitud,12,automatica,3,ORC,Ley 26497,quizá\r\n'
        "cpu-01,Repetido,Solicitud,,negativo,10,XX,Ley,no\r\n"
        "MAL,solo tres,valores\r\n"
        "LE-A,Licencia modalidad A,FUE,180,automatica,,GDUR,Ley 29090,no\r\n")
    error = refused(tupa_csv.importar, services, admin, archivo.encode())
    assert error.message == ("El archivo no se importó: 4 líneas con errores. Corríjalas y vuelva a importarlo; no se "
                             "guardó ningún cambio.")
    assert error.campos == {
        "Línea 3, campo plazo_dias": MENSAJES["plazo_dias"],
        "Línea 5, campo plazo_dias": MENSAJES["plazo_automatica"],
        "Línea 5, campo activo": "Escriba sí o no.",
        "Línea 7, campo codigo": "El código CPU-01 ya aparece en la línea 2.",
        "Línea 7, campo oficina": "No existe la oficina «XX»: use el código de una oficina activa "
                                  "(Administración › Oficinas).",
        "Línea 8": "Tiene 3 valores y se esperaban 9; un valor con comas va entre comillas dobles.",
    }


@pytest.mark.parametrize("datos, mensaje, campos", [
    (b"", "El archivo está vacío", {}),
    ("codigo,nombre\r\n".encode("latin-1"), "", {"Línea 1, campo requisitos": "Falta esta columna."}),
    ("código;nombre\r\n".encode("latin-1"), "no está en UTF-8", {}),
    ("codigo;nombre;requisitos\r\n".encode(), "",
     {"Línea 1": "Las columnas deben ir separadas por comas, no por punto y coma."}),
    (BUENA.replace("activo", "activo,notas").encode(), "", {"Línea 1, columna «notas»": "Columna desconocida; las "
     "columnas son: codigo, nombre, requisitos, derecho_tramite, calificacion, plazo_dias, oficina, base_legal, "
     "activo."}),
    (BUENA.replace("base_legal", "nombre").encode(), "",
     {"Línea 1, campo base_legal": "Falta esta columna.",
      "Línea 1, campo nombre": "Esta columna aparece más de una vez."}),
    (b"\x00\x01", "caracteres no válidos", {}),
])
def test_a_file_that_is_not_the_tupa_csv_is_refused_with_what_to_fix(services, admin, datos, mensaje, campos):
    error = refused(tupa_csv.importar, services, admin, datos)
    assert mensaje in error.message
    for clave, texto in campos.items():
        assert error.campos[clave] == texto


def run(capsys, settings, clock, *argv):
    code = main(list(argv), settings=settings, clock=clock)
    out, err = capsys.readouterr()
    return code, out, err


def test_the_cli_exports_and_imports_the_tupa(capsys, services, settings, clock, tmp_path):
    archivo = tmp_path / "tupa.csv"
    archivo.write_text(BUENA, encoding="utf-8", newline="")
    code, out, err = run(capsys, settings, clock, "tupa", "importar", str(archivo))
    assert (code, out) == (0, "TUPA importado: 1 procedimiento creado (CPU-01); 0 procedimientos modificados; "
                              "0 sin cambios.\n"), err
    code, out, _ = run(capsys, settings, clock, "tupa", "exportar")
    assert code == 0 and out == BUENA
    copia = tmp_path / "copia.csv"
    assert run(capsys, settings, clock, "tupa", "exportar", "--archivo", str(copia))[0] == 0
    assert copia.read_bytes() == archivo.read_bytes()
    archivo.write_text(BUENA.replace(",5,", ",cinco,"), encoding="utf-8")
    code, out, err = run(capsys, settings, clock, "tupa", "importar", str(archivo))
    assert code == 1 and "Error: El archivo no se importó: 1 línea con errores." in err
    assert f"  - Línea 2, campo plazo_dias: {MENSAJES['plazo_dias']}" in err
    code, _, err = run(capsys, settings, clock, "tupa", "importar", str(tmp_path / "no-existe.csv"))
    assert code == 1 and "Error: No se pudo leer" in err and "Traceback" not in err


def test_the_demo_seeds_a_tupa_of_active_procedures_once(services):
    seed(services, 0)
    activos = tupa.activos()
    assert len(activos) >= 12
    for p in activos:
        assert p.oficina.activa and tupa.requisitos(p) and p.base_legal, p.codigo
        assert (p.plazo_dias is None) == (p.calificacion == "automatica"), p.codigo
    aip = tupa.por_codigo("AIP-01")
    assert (aip.plazo_dias, aip.calificacion, tupa.derecho(aip)) == (10, "negativo", "Gratuito")
    assert "27806" in aip.base_legal and "021-2019-JUS" in aip.base_legal
    assert {p.calificacion for p in activos} == {"automatica", "positivo", "negativo"}
    # The demo's file is in the export's own format; a second run changes nothing.
    assert tupa_csv.exportar(SISTEMA).encode() == TUPA.read_bytes()
    antes = snapshot()
    seed(services, 0)
    assert snapshot() == antes
    assert str(tupa_csv.importar(services, SISTEMA, TUPA.read_bytes())).startswith("TUPA importado: ningún cambio")


@pytest.fixture
def browser(services):
    return signed_in(services, "admin", "admin")


FORM = {"codigo": "lf-01", "nombre": LF.nombre, "requisitos": "Solicitud\r\n\r\nPago del derecho de trámite\r\n",
        "derecho_tramite": "98.50", "calificacion": "positivo", "plazo_dias": "15", "oficina": "GDE",
        "base_legal": LF.base_legal}


def test_the_administracion_pages_create_edit_deactivate_export_and_import(browser):
    assert 'href="/admin/tupa"' in browser.get("/admin").text
    assert "El TUPA no tiene procedimientos todavía" in browser.get("/admin/tupa").text
    page = browser.get("/admin/tupa/nuevo")
    assert page.status_code == 200 and 'name="requisitos"' in page.text
    page = browser.post("/admin/tupa/nuevo", {**FORM, "plazo_dias": "400", "oficina": ""})
    assert page.status_code == 422 and "un número entero de 1 a 365" in page.text
    assert "Elija la oficina competente." in page.text and LF.nombre in page.text  # the values typed stay
    result = browser.post("/admin/tupa/nuevo", FORM)
    assert result.status_code == 303 and result.headers["location"].endswith("/admin/tupa")
    p = tupa.por_codigo("LF-01")
    assert tupa.requisitos(p) == ["Solicitud", "Pago del derecho de trámite"]
    lista = browser.get("/admin/tupa").text
    for texto in ("LF-01", "Evaluación previa con silencio positivo", "15 días hábiles", "S/ 98.50", "GDE", "Activo"):
        assert texto in lista
    editar = browser.get(f"/admin/tupa/{p.id}").text
    assert "Solicitud\nPago del derecho de trámite</textarea>" in editar
    page = browser.post(f"/admin/tupa/{p.id}", {**FORM, "calificacion": "automatica"})
    assert page.status_code == 422 and "La aprobación automática no tiene plazo" in page.text
    assert browser.post(f"/admin/tupa/{p.id}", {**FORM, "calificacion": "automatica", "plazo_dias": ""}
                        ).status_code == 303
    assert tupa.por_codigo("LF-01").plazo_dias is None
    assert browser.post(f"/admin/tupa/{p.id}/desactivar", {}).status_code == 303
    assert not tupa.por_codigo("LF-01").activo and "Desactivado" in browser.get("/admin/tupa").text

    descarga = browser.get("/admin/tupa/exportar")
    assert descarga.headers["content-type"].startswith("text/csv")
    assert 'filename="tupa.csv"' in descarga.headers["content-disposition"]
    assert descarga.text == tupa_csv.exportar(SISTEMA)
    result = browser.post("/admin/tupa/importar", files=[("archivo", "tupa.csv", BUENA.encode())])
    assert result.status_code == 303 and tupa.por_codigo("CPU-01").activo
    assert "1 procedimiento creado (CPU-01)" in browser.get("/admin/tupa").text
    antes = snapshot()
    page = browser.post("/admin/tupa/importar", files=[("archivo", "tupa.csv", BUENA.replace(",5,", ",0,").encode())])
    assert page.status_code == 422 and "Línea 2, campo plazo_dias: Escriba el plazo" in page.text
    page = browser.post("/admin/tupa/importar", {})
    assert page.status_code == 422 and "Elija el archivo CSV" in page.text
    assert snapshot() == antes
    assert "importado de tupa.csv" in Evento.select().where(Evento.accion == "procedimiento_creado").order_by(
        Evento.seq.desc()).first().detalle


def test_other_roles_are_refused_on_every_tupa_page_and_a_post_needs_the_csrf_token(services, browser):
    p = tupa.crear(services, SISTEMA, LF)
    refused_browser = Browser(create_app(services))
    make_user("mesa", "mesa", "MP")
    refused_browser.login("mesa")
    for path in ("/admin/tupa", "/admin/tupa/nuevo", f"/admin/tupa/{p.id}", "/admin/tupa/exportar"):
        page = refused_browser.get(path)
        assert page.status_code == 403 and "Su rol no tiene acceso a esta página." in page.text, path
    antes = snapshot()
    for path, data in (("/admin/tupa/nuevo", {**FORM, "codigo": "OTRO"}), (f"/admin/tupa/{p.id}", FORM),
                       (f"/admin/tupa/{p.id}/desactivar", {}), ("/admin/tupa/importar", {})):
        assert refused_browser.post(path, data).status_code == 403, path
    assert refused_browser.post("/admin/tupa/importar", files=[("archivo", "t.csv", BUENA.encode())]).status_code == 403
    browser.get("/admin/tupa")
    assert browser.post(f"/admin/tupa/{p.id}/desactivar", {}, csrf=False).status_code == 403
    assert browser.post("/admin/tupa/importar", files=[("archivo", "t.csv", BUENA.encode())], csrf=False
                        ).status_code == 403
    assert snapshot() == antes
