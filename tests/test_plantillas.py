"""Administración › Plantillas (mpv.tramites.plantillas): each type's Jinja2 text, rendered in a sandbox with the
expediente's data, is what a new draft starts from; a template that does not compile, names an unknown variable or
tries to leave the sandbox is refused and nothing is written; every change leaves its audit row."""
from __future__ import annotations

import pytest
from helpers import derivar, file_tramite, make_user, recibir, step
from webclient import signed_in

from mpv import history
from mpv.engine import Actor
from mpv.errors import InvalidInput, NotAllowed
from mpv.models import Evento, Oficina, PlantillaDocumento
from mpv.tramites import documentos, plantillas
from mpv.tramites.hoja_pdf import fecha_larga

CUERPO = ("Expediente {{ numero_expediente }} del {{ fecha_presentacion }}, de {{ remitente }}: «{{ asunto_expediente }}»"
          "{% if procedimiento %} ({{ procedimiento }}){% else %} (documento simple){% endif %}. "
          "{{ oficina }} · {{ entidad }} · {{ fecha_hoy }}.")


@pytest.fixture
def admin(services):
    return Actor.de_usuario(make_user("admin", "admin"))


@pytest.fixture
def expediente(services, staff):
    exp = file_tramite(services)
    step(services, exp, staff["mesa"], accion="conforme")
    derivar(services, exp, staff["mesa"], "GDUR")
    recibir(services, exp, staff["gdur"])
    return exp


def test_a_new_draft_starts_from_its_types_template_with_the_expedientes_data(services, staff, admin, expediente):
    plantillas.guardar(services, admin, "oficio", "Oficio por {{ numero_expediente }}", CUERPO)
    hoy = services.calendario.fecha_local(services.clock())
    valores = documentos.inicial(services, staff["gdur"], expediente.numero, "oficio")
    assert valores["tipo"] == "oficio" and valores["asunto"] == f"Oficio por {expediente.numero}"
    assert valores["cuerpo"] == (
        f"Expediente {expediente.numero} del {fecha_larga(expediente.fecha_presentacion)}, de "
        f"{expediente.remitente_nombre}: «{expediente.asunto}» (documento simple). "
        f"{Oficina.por_codigo('GDUR').nombre} · {services.parametros.all()['entidad_nombre']} · {fecha_larga(hoy)}.")
    # A type no administrator changed starts from MPV's own text, filled in too; an unknown type is an informe.
    informe = documentos.inicial(services, staff["gdur"], expediente.numero, "nada")
    assert informe["tipo"] == "informe" and expediente.numero in informe["cuerpo"] and "{{" not in informe["cuerpo"]


@pytest.mark.parametrize("cuerpo, campo, mensaje", [
    ("Hola {{ remitente ", "cuerpo", "No se puede leer la plantilla (línea 1)"),
    ("{% if procedimiento %}sin cerrar", "cuerpo", "No se puede leer la plantilla"),
    ("Estimado {{ destinatario }} de {{ dni }}", "cuerpo", "Usa variables que no existen: «destinatario», «dni»"),
    ("{{ remitente|filtro_inexistente }}", "cuerpo", "No se puede leer la plantilla"),
    ("{{ remitente.__class__.__mro__[1].__subclasses__() }}", "cuerpo", "no está permitido"),
    ("{{ ''.__class__.__base__ }}", "cuerpo", "no está permitido"),
    ("{{ remitente.format.__globals__ }}", "cuerpo", "no está permitido"),
    # What would make the server build a huge text: calls, repetition, loops, assignments, globals.
    ("{{ remitente.ljust(999999999) }}", "cuerpo", "no puede llamar funciones ni métodos"),
    ("{{ remitente * 999999999 }}", "cuerpo", "el operador «*» no se puede usar"),
    ("{{ '%0999999999d' % 1 }}", "cuerpo", "el operador «%» no se puede usar"),
    ("{% for a in remitente %}{% for b in remitente %}x{% endfor %}{% endfor %}", "cuerpo", "no puede usar bucles"),
    ("{% set x = remitente ~ remitente %}{% set x = x ~ x %}{{ x }}", "cuerpo", "ni asignaciones"),
    ("{{ lipsum(99999) }}", "cuerpo", "Usa variables que no existen: «lipsum»"),
    ("", "cuerpo", "Escriba el texto del documento."),
])
def test_a_broken_or_escaping_template_is_refused_and_nothing_is_written(services, admin, cuerpo, campo, mensaje):
    antes = Evento.select().count()
    with pytest.raises(InvalidInput) as refused:
        plantillas.guardar(services, admin, "informe", "Asunto", cuerpo)
    assert mensaje in refused.value.campos[campo]
    assert PlantillaDocumento.select().count() == 0 and Evento.select().count() == antes


def test_a_bad_subject_is_named_too(services, admin):
    with pytest.raises(InvalidInput) as refused:
        plantillas.guardar(services, admin, "carta", "Para {{ alguien }}", "Texto")
    assert "«alguien»" in refused.value.campos["asunto"] and "cuerpo" not in refused.value.campos


def test_each_change_is_audited_and_only_an_administrator_may_make_it(services, staff, admin):
    plantillas.guardar(services, admin, "carta", "", "Primera versión para {{ remitente }}")
    plantillas.guardar(services, admin, "carta", "Asunto", "Segunda versión")
    assert PlantillaDocumento.select().count() == 1
    assert PlantillaDocumento.get().cuerpo == "Segunda versión"
    filas = list(Evento.select().where((Evento.tipo == "admin") & (Evento.accion == "plantilla")).order_by(Evento.seq))
    assert [f.descripcion for f in filas] == ["Se cambió la plantilla de Carta."] * 2
    assert "Primera versión para {{ remitente }}" in filas[1].detalle and "Segunda versión" in filas[1].detalle
    assert history.verify().ok
    with pytest.raises(NotAllowed):
        plantillas.guardar(services, staff["gdur"], "carta", "", "Texto")


def test_the_preview_fills_the_example_and_writes_nothing(services, admin):
    antes = Evento.select().count()
    asunto, cuerpo = plantillas.vista_previa(services, admin, "informe", "De {{ remitente }}", CUERPO)
    assert asunto == f"De {plantillas.EJEMPLO['remitente']}" and plantillas.EJEMPLO["procedimiento"] in cuerpo
    assert PlantillaDocumento.select().count() == 0 and Evento.select().count() == antes


def test_every_built_in_and_demo_template_passes_the_checks():
    from mpv.demo.plantillas import PLANTILLAS

    for asunto, cuerpo in [*plantillas.PREDETERMINADAS.values(), *PLANTILLAS.values()]:
        plantillas.validar(asunto, cuerpo)


def test_the_administracion_page_previews_refuses_and_saves(services, staff, expediente):
    b = signed_in(services, "admin", "admin")
    assert "/admin/plantillas" in b.get("/admin").text
    lista = b.get("/admin/plantillas")
    assert lista.status_code == 200 and "Resolución" in lista.text
    pagina = b.get("/admin/plantillas/resolucion")
    assert pagina.status_code == 200 and "{{ numero_expediente }}" in pagina.text
    assert b.get("/admin/plantillas/acta").status_code == 404
    previa = b.post("/admin/plantillas/oficio", {"accion": "vista_previa", "asunto": "", "cuerpo": CUERPO})
    assert previa.status_code == 200 and plantillas.EJEMPLO["remitente"] in previa.text
    malo = b.post("/admin/plantillas/oficio", {"accion": "guardar", "asunto": "", "cuerpo": "{{ ''.__class__ }}"})
    assert malo.status_code == 422 and "no está permitido" in malo.text
    assert PlantillaDocumento.select().count() == 0
    bueno = b.post("/admin/plantillas/oficio", {"accion": "guardar", "asunto": "", "cuerpo": CUERPO})
    assert bueno.status_code == 303 and PlantillaDocumento.get().tipo == "oficio"

    gdur = signed_in(services, "gdur2", "oficina", "GDUR")
    assert gdur.get("/admin/plantillas/oficio").status_code == 403
    form = gdur.get(f"/expedientes/{expediente.numero}/documentos", tipo="oficio")
    assert form.status_code == 200 and f"Expediente {expediente.numero} del" in form.text
