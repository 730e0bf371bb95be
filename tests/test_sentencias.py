"""Sentencia: a query compiled once per database returns what peewee itself returns, with each run's values."""
from datetime import datetime, timedelta, timezone

import pytest

from mpv.sentencia import Sentencia
from mpv.models import Adjunto, Correo, Oficina, Sesion, Tarea, Usuario

from helpers import file_tramite


def test_select_returns_the_same_rows_as_peewee_for_each_value(services, staff):
    por_codigo = Sentencia(lambda codigo: Oficina.select().where(Oficina.codigo == codigo).limit(1))
    for oficina in Oficina.select():
        found = por_codigo.primera(oficina.codigo)
        assert (found.id, found.codigo, found.nombre, found.activa) == \
               (oficina.id, oficina.codigo, oficina.nombre, oficina.activa)
    assert por_codigo.primera("NO-EXISTE") is None


def test_joined_models_tuples_and_in_lists(services, staff):
    con_usuario = Sentencia(lambda nombre: Usuario.select(Usuario, Oficina).join(Oficina)
                            .where(Usuario.username == nombre))
    usuario = con_usuario.primera("mesa")
    assert usuario.oficina.codigo == Usuario.get(Usuario.username == "mesa").oficina.codigo
    codigos = Sentencia(lambda a, b: Oficina.select(Oficina.codigo).where(Oficina.codigo.in_((a, b)))
                        .order_by(Oficina.codigo).tuples())
    elegidas = [o.codigo for o in Oficina.select().order_by(Oficina.codigo).limit(2)]
    assert codigos.filas(*elegidas) == [(c,) for c in elegidas]
    assert codigos.filas("X", "Y") == []


def test_values_are_converted_as_their_field_stores_them(services, staff):
    """A datetime goes through the model's UTC field both ways, as when peewee writes the query itself."""
    expediente = file_tramite(services)
    insertar = Sentencia.insercion(Tarea, "expediente", "task_id", "spec", "nombre", "rol", "oficina", "desde")
    lima = timezone(timedelta(hours=-5))
    desde = datetime(2026, 3, 2, 9, 30, 15, 123456, tzinfo=lima)
    with services.db.write():
        nueva = insertar.insertar(expediente.id, "t-1", "x", "Una tarea", "mesa", None, desde)
    guardada = Tarea.get(Tarea.task_id == "t-1")
    assert guardada.id == nueva
    assert guardada.desde == desde and guardada.desde.tzinfo == timezone.utc
    posteriores = Sentencia(lambda momento: Tarea.select(Tarea.task_id).where(Tarea.desde > momento).tuples())
    assert ("t-1",) in posteriores.filas(desde - timedelta(seconds=1))
    assert ("t-1",) not in posteriores.filas(desde)


def test_update_and_delete_report_the_rows_they_changed(services, staff):
    expediente = file_tramite(services)
    marcar = Sentencia(lambda estado, eid, version: Tarea.update(nombre=estado.de(Tarea.nombre))
                       .where((Tarea.expediente == eid) & (Tarea.id > version)))
    borrar = Sentencia(lambda eid: Tarea.delete().where(Tarea.expediente == eid))
    with services.db.write():
        antes = Tarea.select().where(Tarea.expediente == expediente.id).count()
        assert antes >= 1
        assert marcar.ejecutar("Otra", expediente.id, 0) == antes
        assert {t.nombre for t in Tarea.select().where(Tarea.expediente == expediente.id)} == {"Otra"}
        assert borrar.ejecutar(expediente.id) == antes
        assert borrar.ejecutar(expediente.id) == 0


def test_an_insert_must_name_each_column_without_a_constant_default():
    with pytest.raises(ValueError, match="creada"):  # no default, not NULL
        Sentencia.insercion(Sesion, "token_hash", "usuario", "csrf", "ultimo_uso", "ip")
    with pytest.raises(ValueError, match="creado_en"):  # a computed default (now) would be computed once
        Sentencia.insercion(Adjunto, "expediente", "sha256", "nombre", "tamano", "tipo")


def test_columns_left_out_get_their_constant_default(services, staff):
    expediente = file_tramite(services)
    insertar = Sentencia.insercion(Correo, "expediente", "tipo", "destinatario", "proximo_intento", "creado_en")
    ahora = datetime(2026, 3, 2, 9, 30, tzinfo=timezone.utc)
    with services.db.write():
        nuevo = insertar.insertar(expediente.id, "constancia", "a@example.org", ahora, ahora)
    correo = Correo.get_by_id(nuevo)
    assert (correo.estado, correo.intentos, correo.ultimo_error, correo.evento_seq) == ("pendiente", 0, "", None)


def test_the_wrong_number_of_values_is_refused(services):
    por_codigo = Sentencia(lambda codigo: Oficina.select().where(Oficina.codigo == codigo))
    with pytest.raises(TypeError, match="1 valores"):
        por_codigo.filas()
    with pytest.raises(TypeError, match="insercion"):  # only an insertion has a new id to give
        por_codigo.insertar("MP")
