"""PreparedQuery: a query compiled once per database returns what peewee itself returns, with each run's values."""
from datetime import datetime, timedelta, timezone

import pytest

from mpv.prepared import PreparedQuery
from mpv.models import Adjunto, Correo, Oficina, Sesion, Tarea, Usuario

from helpers import file_tramite


def test_select_returns_the_same_rows_as_peewee_for_each_value(services, staff):
    por_codigo = PreparedQuery(Oficina, lambda codigo: Oficina.select().where(Oficina.codigo == codigo).limit(1))
    for oficina in Oficina.select():
        found = por_codigo.first(oficina.codigo)
        assert (found.id, found.codigo, found.nombre, found.activa) == \
               (oficina.id, oficina.codigo, oficina.nombre, oficina.activa)
    assert por_codigo.first("NO-EXISTE") is None


def test_tuples_foreign_keys_and_in_lists(services, staff):
    de_usuario = PreparedQuery(Usuario, lambda nombre: Usuario.select().where(Usuario.username == nombre))
    usuario = de_usuario.first("mesa")
    assert usuario.oficina_id == Usuario.get(Usuario.username == "mesa").oficina_id
    codigos = PreparedQuery(Oficina, lambda a, b: Oficina.select(Oficina.codigo).where(Oficina.codigo.in_((a, b)))
                            .order_by(Oficina.codigo))
    elegidas = [o.codigo for o in Oficina.select().order_by(Oficina.codigo).limit(2)]
    assert codigos.tuples(*elegidas) == [(c,) for c in elegidas]
    assert codigos.tuples("X", "Y") == []


def test_values_are_converted_as_their_field_stores_them(services, staff):
    """A datetime goes through the model's UTC field both ways, as when peewee writes the query itself."""
    expediente = file_tramite(services)
    insertar = PreparedQuery.insertion(Tarea, "expediente", "task_id", "spec", "nombre", "rol", "oficina", "desde")
    lima = timezone(timedelta(hours=-5))
    desde = datetime(2026, 3, 2, 9, 30, 15, 123456, tzinfo=lima)
    with services.db.write():
        nueva = insertar.insert(expediente.id, "t-1", "x", "Una tarea", "mesa", None, desde)
    guardada = Tarea.get(Tarea.task_id == "t-1")
    assert guardada.id == nueva
    assert guardada.desde == desde and guardada.desde.tzinfo == timezone.utc
    posteriores = PreparedQuery(Tarea, lambda momento: Tarea.select(Tarea.task_id).where(Tarea.desde > momento))
    assert ("t-1",) in posteriores.tuples(desde - timedelta(seconds=1))
    assert ("t-1",) not in posteriores.tuples(desde)
    assert PreparedQuery(Tarea, lambda t: Tarea.select().where(Tarea.task_id == t)).first("t-1").desde == desde


def test_update_and_delete_report_the_rows_they_changed(services, staff):
    expediente = file_tramite(services)
    marcar = PreparedQuery(Tarea, lambda estado, eid, version: Tarea.update(nombre=estado.of(Tarea.nombre))
                       .where((Tarea.expediente == eid) & (Tarea.id > version)))
    borrar = PreparedQuery(Tarea, lambda eid: Tarea.delete().where(Tarea.expediente == eid))
    with services.db.write():
        antes = Tarea.select().where(Tarea.expediente == expediente.id).count()
        assert antes >= 1
        assert marcar.execute("Otra", expediente.id, 0) == antes
        assert {t.nombre for t in Tarea.select().where(Tarea.expediente == expediente.id)} == {"Otra"}
        assert borrar.execute(expediente.id) == antes
        assert borrar.execute(expediente.id) == 0


def test_an_insert_must_name_each_column_without_a_constant_default():
    with pytest.raises(ValueError, match="creada"):  # no default, not NULL
        PreparedQuery.insertion(Sesion, "token_hash", "usuario", "csrf", "ultimo_uso", "ip")
    with pytest.raises(ValueError, match="creado_en"):  # a computed default (now) would be computed once
        PreparedQuery.insertion(Adjunto, "expediente", "sha256", "nombre", "tamano", "tipo")


def test_columns_left_out_get_their_constant_default(services, staff):
    expediente = file_tramite(services)
    insertar = PreparedQuery.insertion(Correo, "expediente", "tipo", "destinatario", "proximo_intento", "creado_en")
    ahora = datetime(2026, 3, 2, 9, 30, tzinfo=timezone.utc)
    with services.db.write():
        nuevo = insertar.insert(expediente.id, "constancia", "a@example.org", ahora, ahora)
    correo = Correo.get_by_id(nuevo)
    assert (correo.estado, correo.intentos, correo.ultimo_error, correo.evento_seq) == ("pendiente", 0, "", None)


def test_the_wrong_number_of_values_is_refused(services):
    por_codigo = PreparedQuery(Oficina, lambda codigo: Oficina.select().where(Oficina.codigo == codigo))
    with pytest.raises(TypeError, match="1 valores"):
        por_codigo.rows()
    with pytest.raises(TypeError, match="insertion"):  # only an insertion has a new id to give
        por_codigo.insert("MP")
