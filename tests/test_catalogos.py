"""The catalogues' upkeep (mpv.tramites.catalogos): create, rename, activate and deactivate offices and document
types, each with its audit row; refusals name the field and write nothing; only an administrator acts."""
from __future__ import annotations

import sqlite3
import threading
import time

import pytest
from helpers import make_user

from mpv.engine import SISTEMA, Actor
from mpv.errors import InvalidInput, NotAllowed, NotFound
from mpv.models import Evento, Oficina, TipoDocumento
from mpv.tramites import catalogos
from mpv.tramites.catalogos import OFICINAS, TIPOS_DOCUMENTO


@pytest.fixture
def admin(services) -> Actor:
    return Actor.de_usuario(make_user("admin", "admin"), ip="203.0.113.9")


def admin_rows():
    return list(Evento.select().where(Evento.tipo == "admin").order_by(Evento.seq))


def snapshot():
    """Everything an action of this module could write."""
    return (list(Oficina.select().order_by(Oficina.id).dicts()), list(TipoDocumento.select().order_by(
        TipoDocumento.id).dicts()), Evento.select().count())


def refused(error, action, *args, **kwargs):
    """The ``error`` that ``action`` raises; nothing written meanwhile."""
    before = snapshot()
    with pytest.raises(error) as raised:
        action(*args, **kwargs)
    assert snapshot() == before
    return raised.value


def oficina(codigo) -> Oficina:
    return Oficina.get(Oficina.codigo == codigo)


def test_an_office_is_created_renamed_deactivated_and_activated_with_one_audit_row_each(services, admin):
    creada = catalogos.crear(services, admin, OFICINAS, " gtr-2 ", " Gerencia de Transportes ")
    assert (creada.codigo, creada.nombre, creada.activa) == ("GTR-2", "Gerencia de Transportes", True)
    renombrada = catalogos.renombrar(services, admin, OFICINAS, creada.id, "Gerencia de Transporte Urbano")
    assert renombrada.nombre == oficina("GTR-2").nombre == "Gerencia de Transporte Urbano"
    assert not catalogos.desactivar(services, admin, OFICINAS, creada.id).activa
    assert "GTR-2" not in dict(services.engine.catalogs()["oficinas"])
    assert catalogos.activar(services, admin, OFICINAS, creada.id).activa and oficina("GTR-2").activa
    assert [(r.accion, r.descripcion, r.detalle) for r in admin_rows()] == [
        ("oficina_creado", "La oficina GTR-2 fue creada.", "nombre: Gerencia de Transportes"),
        ("oficina_renombrado", "La oficina GTR-2 cambió de nombre.",
         "antes: Gerencia de Transportes; después: Gerencia de Transporte Urbano"),
        ("oficina_desactivado", "La oficina GTR-2 quedó desactivada.", ""),
        ("oficina_activado", "La oficina GTR-2 quedó activada.", ""),
    ]
    assert {(r.actor_id, r.actor_nombre, r.rol, r.ip) for r in admin_rows()} == {
        (admin.usuario_id, "admin", "admin", "203.0.113.9")}


def test_document_types_speak_of_themselves_in_the_masculine(services, admin):
    acta = catalogos.crear(services, admin, TIPOS_DOCUMENTO, "ACTA", "Acta")
    catalogos.desactivar(services, admin, TIPOS_DOCUMENTO, acta.id)
    assert [r.descripcion for r in admin_rows()] == ["El tipo de documento ACTA fue creado.",
                                                     "El tipo de documento ACTA quedó desactivado."]
    assert not TipoDocumento.get_by_id(acta.id).activo


def test_the_list_shows_the_active_entries_first_then_by_code(services, admin):
    Oficina.update(activa=False).where(Oficina.codigo == "GDUR").execute()
    entradas = catalogos.entradas(admin, OFICINAS)
    activas = [e.fila.codigo for e in entradas if e.activo]
    assert activas == sorted(activas) and [e.fila.codigo for e in entradas][-1] == "GDUR"
    assert not entradas[-1].activo
    assert catalogos.entrada(admin, OFICINAS, oficina("MP").id).es_mesa_partes


@pytest.mark.parametrize("catalogo, codigo, nombre, campos", [
    (OFICINAS, "GD UR", "Con espacio", {"codigo": "Use de 1 a 20 caracteres: letras mayúsculas sin tilde, números "
                                                  "o guion."}),
    (OFICINAS, "Ñ", "Con eñe", {"codigo": "Use de 1 a 20 caracteres"}),
    (OFICINAS, "A" * 21, "Muy larga", {"codigo": "Use de 1 a 20 caracteres"}),
    (OFICINAS, "", "", {"codigo": "Use de 1 a 20 caracteres", "nombre": "Escriba el nombre (hasta 200 caracteres)."}),
    (OFICINAS, "NUEVA", "x" * 201, {"nombre": "Escriba el nombre (hasta 200 caracteres)."}),
    (TIPOS_DOCUMENTO, "ACTA", "x" * 121, {"nombre": "Escriba el nombre (hasta 120 caracteres)."}),
    (OFICINAS, "gdur", "Repetida", {"codigo": "Ya existe la oficina GDUR; use otro código."}),
    (TIPOS_DOCUMENTO, "SOL", "Otra solicitud", {"codigo": "Ya existe el tipo de documento SOL; use otro código."}),
])
def test_creating_refuses_bad_input_naming_the_field(services, admin, catalogo, codigo, nombre, campos):
    error = refused(InvalidInput, catalogos.crear, services, admin, catalogo, codigo, nombre)
    assert error.campos.keys() == campos.keys()
    for field, message in campos.items():
        assert error.campos[field].startswith(message), error.campos


def test_a_taken_code_names_the_entry_that_has_it(services, admin):
    error = refused(InvalidInput, catalogos.crear, services, admin, OFICINAS, "GDUR", "Repetida")
    assert error.message == "Ya existe la oficina GDUR: Gerencia de Desarrollo Urbano y Rural."


def test_renaming_to_nothing_or_too_long_is_refused(services, admin):
    gdur = oficina("GDUR")
    for nombre in (" ", "x" * 201):
        error = refused(InvalidInput, catalogos.renombrar, services, admin, OFICINAS, gdur.id, nombre)
        assert error.campos == {"nombre": "Escriba el nombre (hasta 200 caracteres)."}


def test_the_mesa_de_partes_office_cannot_be_deactivated(services, admin):
    error = refused(InvalidInput, catalogos.desactivar, services, admin, OFICINAS, oficina("MP").id)
    assert error.message == ("La oficina MP es la mesa de partes: recibe todos los trámites presentados y no se "
                             "puede desactivar.")
    assert oficina("MP").activa


@pytest.mark.parametrize("action, args", [
    (catalogos.renombrar, ("Otro nombre",)), (catalogos.activar, ()), (catalogos.desactivar, ())])
def test_an_unknown_entry_is_not_found(services, admin, action, args):
    error = refused(NotFound, action, services, admin, TIPOS_DOCUMENTO, 9999, *args)
    assert error.message == "No existe el tipo de documento N° 9999; vuelva a la lista y elíjalo de nuevo."
    with pytest.raises(NotFound, match="No existe la oficina N° 9999"):
        catalogos.entrada(admin, OFICINAS, 9999)


@pytest.mark.parametrize("rol", ["mesa", "gdur", "auditor"])
def test_only_an_administrator_keeps_the_catalogues(services, staff, rol):
    actor = staff[rol]
    gdur = oficina("GDUR").id
    for action, args in [(catalogos.crear, ("NUEVA", "Oficina nueva")), (catalogos.renombrar, (gdur, "Otro")),
                         (catalogos.desactivar, (gdur,)), (catalogos.activar, (gdur,))]:
        refused(NotAllowed, action, services, actor, OFICINAS, *args)
    with pytest.raises(NotAllowed):
        catalogos.entradas(actor, OFICINAS)
    with pytest.raises(NotAllowed):
        catalogos.entrada(actor, OFICINAS, gdur)


def test_the_system_may_keep_them_too(services):
    catalogos.crear(services, SISTEMA, OFICINAS, "GTR", "Gerencia de Transportes")
    [row] = admin_rows()
    assert (row.accion, row.actor_id, row.actor_nombre, row.rol) == ("oficina_creado", None, "sistema", "sistema")


# -- two requests creating the same code at once ----------------------------------------------------------------
def other_connection(backend: str, database_url: str):
    """A connection of another process, holding an open write transaction."""
    if backend == "sqlite":
        conn = sqlite3.connect(database_url.split("://", 1)[1].removeprefix("/"))
        conn.execute("BEGIN IMMEDIATE")  # as MPV's writers do: held until commit()
        return conn
    import psycopg2

    return psycopg2.connect(database_url)


def wait_until_blocked(backend: str, database_url: str):
    """Until a transaction waits for a lock (PostgreSQL); SQLite's writer waits in BEGIN IMMEDIATE, unseen."""
    if backend == "sqlite":
        time.sleep(0.3)
        return
    import psycopg2

    watcher = psycopg2.connect(database_url)
    watcher.autocommit = True
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            with watcher.cursor() as cur:
                cur.execute("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                            "AND datname = current_database() AND query ILIKE '%oficina%'")
                if cur.fetchone()[0]:
                    return
            time.sleep(0.05)
        pytest.fail("la segunda transacción nunca esperó el índice único")
    finally:
        watcher.close()


def test_a_code_another_request_takes_meanwhile_is_a_clear_refusal(services, admin, backend, database_url):
    """On PostgreSQL the other insert is not visible to the check, so the unique index refuses this one: the
    refusal is the same message, and nothing of this request stays written."""
    other = other_connection(backend, database_url)
    outcome = {}

    def crear():
        try:
            catalogos.crear(services, admin, OFICINAS, "GTR", "Gerencia de Tránsito")
        except InvalidInput as exc:
            outcome["error"] = exc
        finally:
            services.db.peewee.close()

    try:
        other.cursor().execute("INSERT INTO oficina (codigo, nombre, es_mesa_partes, activa, alertas) "
                               "VALUES ('GTR', 'Gerencia de Transportes', false, true, true)")
        thread = threading.Thread(target=crear)
        thread.start()
        wait_until_blocked(backend, database_url)
        other.commit()
        thread.join(timeout=30)
    finally:
        other.close()
    assert outcome["error"].campos == {"codigo": "Ya existe la oficina GTR; use otro código."}
    assert oficina("GTR").nombre == "Gerencia de Transportes"
    assert admin_rows() == []
