"""The users' use cases (mpv.tramites.usuarios): one set of rules for Administración, ``mpv create-user``, the demo
and the seeder — office by role, case-insensitive usernames, passwords, and one audit row per change."""
from __future__ import annotations

import pytest
from helpers import derivar, file_tramite, make_user, step

from mpv.engine import SISTEMA, Actor
from mpv.errors import InvalidInput, NotAllowed, NotFound
from mpv.models import Evento, Expediente, Oficina, Usuario
from mpv.tramites import usuarios
from mpv.tramites.usuarios import crear_usuario, modificar_usuario

TYPED = "tres gatos pardos cruzan el rio de noche"


@pytest.fixture
def admin(services) -> Actor:
    return Actor.de_usuario(make_user("admin", "admin"), ip="203.0.113.9")


def admin_rows():
    return list(Evento.select().where(Evento.tipo == "admin").order_by(Evento.seq))


def refused(services, actor, **values) -> InvalidInput:
    """The InvalidInput creating a user with ``values`` raises; nothing written meanwhile."""
    users, events = Usuario.select().count(), Evento.select().count()
    with pytest.raises(InvalidInput) as raised:
        crear_usuario(services, actor, **{"username": "nuevo", "nombre": "Nuevo Usuario", "rol": "oficina",
                                          "oficina": "GDUR", **values})
    assert (Usuario.select().count(), Evento.select().count()) == (users, events)
    return raised.value


def test_a_mesa_user_without_office_gets_mesa_de_partes_and_can_derive(services, admin):
    """Defect 1 of issue 12: such a user was created with no office, and every derivation failed."""
    usuario, generada = crear_usuario(services, admin, "mesa2", "Mesa Dos", "mesa")
    assert usuario.oficina.codigo == "MP" and usuario.oficina.es_mesa_partes and generada
    mesa = Actor.de_usuario(Usuario.get_by_id(usuario.id))
    exp = file_tramite(services)
    step(services, exp, mesa, accion="conforme")
    derivar(services, exp, mesa, "GDUR", proveido="Evaluar")
    assert Expediente.get_by_id(exp.id).oficina_actual.codigo == "GDUR"


@pytest.mark.parametrize("values, field, message", [
    ({"rol": "oficina", "oficina": ""}, "oficina", "Elija la oficina del usuario: el rol Oficina la necesita."),
    ({"rol": "oficina", "oficina": "MP"}, "oficina", "La oficina MP es la mesa de partes"),
    ({"rol": "mesa", "oficina": "GDUR"}, "oficina", "El rol Mesa de partes trabaja en la oficina MP"),
    ({"rol": "auditor", "oficina": "GDUR"}, "oficina", "El rol Auditor no pertenece a ninguna oficina"),
    ({"rol": "admin", "oficina": "GDUR"}, "oficina", "El rol Administrador no pertenece a ninguna oficina"),
    ({"rol": "jefe"}, "rol", "Elija un rol de la lista."),
    ({"username": "a b"}, "username", "Use de 3 a 60 caracteres"),
    ({"password": "corta"}, "password", "al menos 12 caracteres"),
    ({"password": "nuevo usuario 1"}, "password", "demasiado común o fácil de adivinar"),
    ({"email": "sin-arroba"}, "email", "Escriba un correo como"),
    # the one e-mail rule (mpv.correo_direccion) the filing and the mailer apply: MPV could not write to these
    ({"email": "lucía@muni.gob.pe"}, "email", "Escriba un correo como"),
    ({"email": "jefe@muni"}, "email", "Escriba un correo como"),
])
def test_each_rule_names_its_field_and_writes_nothing(services, admin, values, field, message):
    error = refused(services, admin, **values)
    assert message in error.campos[field], error.campos


def test_mesa_users_are_refused_when_no_office_is_mesa_de_partes(services, admin):
    Oficina.update(es_mesa_partes=False).execute()
    error = refused(services, admin, rol="mesa", oficina="")
    assert "No hay ninguna oficina marcada como mesa de partes" in error.campos["oficina"]


def test_usernames_are_unique_whatever_their_case(services, admin):
    crear_usuario(services, admin, "Mesa2", "Mesa Dos", "mesa", password=TYPED)
    error = refused(services, SISTEMA, username="mesa2")
    assert error.campos["username"] == "Ya existe el usuario Mesa2; elija otro nombre de usuario."
    error = refused(services, admin, username=" MESA2 ")
    assert "Ya existe el usuario Mesa2" in error.campos["username"]


def test_the_system_and_an_administrator_write_the_same_audit_row(services, admin):
    crear_usuario(services, SISTEMA, "desde-consola", "Ana Ruiz", "mesa", email="ana@muni.example.gob.pe")
    crear_usuario(services, admin, "desde-web", "Ana Ruiz", "mesa", email="ana@muni.example.gob.pe")
    consola, web = admin_rows()
    assert (consola.accion, web.accion) == ("usuario_creado", "usuario_creado")
    assert consola.descripcion == "Se creó el usuario desde-consola."
    assert web.descripcion == "Se creó el usuario desde-web."
    assert consola.detalle == web.detalle == (
        "nombre=Ana Ruiz, email=ana@muni.example.gob.pe, rol=mesa, oficina=MP; contraseña generada, temporal")
    assert (consola.actor_id, consola.actor_nombre, consola.rol) == (None, "sistema", "sistema")
    assert (web.actor_id, web.actor_nombre, web.rol, web.ip) == (admin.usuario_id, "admin", "admin", "203.0.113.9")
    assert TYPED not in f"{consola.detalle}{web.detalle}"


def test_a_typed_password_works_and_is_temporary_unless_its_owner_typed_it(services, admin):
    usuario, generada = crear_usuario(services, admin, "jperez", "Juan Pérez", "auditor", password=TYPED)
    assert generada is None and usuario.cambiar_clave
    propia, _ = crear_usuario(services, SISTEMA, "operador", "Operador", "admin", password=TYPED, cambiar_clave=False)
    assert not propia.cambiar_clave
    assert admin_rows()[-1].detalle.endswith("contraseña escrita al crearlo")
    assert usuario.creado_en == services.clock()  # the injected clock, not the wall clock


def test_editing_a_mesa_user_left_without_office_gives_them_mesa_de_partes(services, admin):
    """A mesa user an older MPV created without office is repaired by saving their data."""
    viejo = make_user("viejo", "mesa")
    modificar_usuario(services, admin, viejo.id, "Usuario Viejo", "mesa")
    assert Usuario.get_by_id(viejo.id).oficina.codigo == "MP"
    row = admin_rows()[-1]
    assert row.accion == "usuario_modificado" and "oficina=—" in row.detalle and "oficina=MP" in row.detalle


def test_only_an_administrator_or_the_system_manages_users(services):
    mesa = Actor.de_usuario(make_user("mesa", "mesa", "MP"))
    with pytest.raises(NotAllowed):
        crear_usuario(services, mesa, "otro", "Otro", "auditor")
    with pytest.raises(NotAllowed):
        modificar_usuario(services, mesa, mesa.usuario_id, "Mesa", "admin")
    assert Usuario.select().count() == 1 and Usuario.get_by_id(mesa.usuario_id).rol == "mesa"


def test_the_list_and_a_users_form_are_for_administrators(services, admin):
    gdur = make_user("gdur", "oficina", "GDUR")
    inactivo = make_user("inactivo", "auditor")
    Usuario.update(activo=False).where(Usuario.id == inactivo.id).execute()
    assert [u.username for u in usuarios.lista(admin)] == ["admin", "gdur", "inactivo"]
    nuevo = usuarios.ficha(admin)
    assert nuevo.usuario is None and [o.codigo for o in nuevo.oficinas] == [o.codigo for o in Oficina.activas()]
    mesa = Actor.de_usuario(make_user("mesa", "mesa", "MP"))
    for action in (lambda: usuarios.lista(mesa), lambda: usuarios.ficha(mesa, gdur.id)):
        with pytest.raises(NotAllowed):
            action()
    with pytest.raises(NotFound, match="No existe el usuario N° 9999"):
        usuarios.ficha(admin, 9999)


def test_a_users_form_keeps_offering_the_deactivated_office_they_work_in(services, admin):
    gdur = make_user("gdur", "oficina", "GDUR")
    Oficina.update(activa=False).where(Oficina.codigo == "GDUR").execute()
    assert "GDUR" not in [o.codigo for o in usuarios.ficha(admin).oficinas]
    ficha = usuarios.ficha(admin, gdur.id)
    assert ficha.usuario.username == "gdur" and [o.codigo for o in ficha.oficinas][-1] == "GDUR"


def test_the_head_of_an_office_is_a_user_of_that_office(services, admin):
    """Issue 16: «Jefe de la oficina» heads an office, so a role without one cannot be it; the audit row says it."""
    assert "no puede ser su jefe" in refused(services, admin, rol="auditor", oficina="", jefe=True).campos["jefe"]
    usuario, _ = crear_usuario(services, admin, "jefa", "Jefa GDUR", "oficina", "GDUR", jefe=True)
    assert Usuario.get_by_id(usuario.id).jefe and Actor.de_usuario(Usuario.get_by_id(usuario.id)).jefe
    assert admin_rows()[-1].detalle.startswith("nombre=Jefa GDUR, email=—, rol=oficina, oficina=GDUR, jefe de la oficina;")
    modificar_usuario(services, admin, usuario.id, "Jefa GDUR", "oficina", "GDUR")
    assert not Usuario.get_by_id(usuario.id).jefe
    assert admin_rows()[-1].detalle.endswith("después: nombre=Jefa GDUR, email=—, rol=oficina, oficina=GDUR")
