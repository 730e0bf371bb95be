"""Sentencias: queries whose SQL peewee writes once per database, then runs again with new values.

peewee writes a query's SQL anew every time it runs it: 0.05–0.3 ms of Python for each query of an engine
step, where SQLite runs it in 0.003–0.01 ms (tests/bench/bench_sentencias.py). The hot paths (the session of
every request, an engine step, a filing) keep their queries as Sentencias.
"""
from __future__ import annotations

import dataclasses
import inspect
import weakref
from typing import Callable

import peewee

from .db import proxy


class Hueco(peewee.Node):
    """The place of the ``posicion``-th value of a :class:`Sentencia`; converted as ``campo`` stores it (by
    default, as the field it is compared with)."""

    def __init__(self, posicion: int, campo: peewee.Field | None = None):
        super().__init__()
        self.posicion, self.campo = posicion, campo

    def de(self, campo: peewee.Field) -> "Hueco":
        """This place, holding a value of ``campo`` (a value given to INSERT or UPDATE has no field beside it)."""
        return Hueco(self.posicion, campo)

    def __sql__(self, ctx):
        converter = self.campo.db_value if self.campo is not None else ctx.state.converter
        return ctx.value(_Lugar(self.posicion, converter), converter=False)


@dataclasses.dataclass(frozen=True)
class _Lugar:
    posicion: int
    converter: Callable | None


@dataclasses.dataclass(frozen=True)
class _Compilada:
    query: peewee.Query
    sql: str
    params: list  # a _Lugar where a value goes, else the constant peewee wrote


class Sentencia:
    """A query whose SQL peewee writes once per database, then runs again with new values.

    ``construir`` gets one :class:`Hueco` per value (``aridad`` of them, by default as many as it has
    parameters) and returns the query; with ``bloquear`` a SELECT takes ``FOR UPDATE`` where the backend has
    it. An INSERT is made with :meth:`insercion`.
    """

    def __init__(self, construir: Callable[..., peewee.Query], bloquear: bool = False, aridad: int | None = None,
                 model=None):
        self._construir = construir
        self._aridad = len(inspect.signature(construir).parameters) if aridad is None else aridad
        self._bloquear = bloquear
        self._model = model  # of an insertion, whose new id :meth:`insertar` returns
        self._compiladas: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()

    @classmethod
    def insercion(cls, model, *campos: str) -> "Sentencia":
        """``INSERT INTO model (campos…) VALUES (…)``; the columns left out get their constant default.

        :raise ValueError: a column left out has no default and may not be NULL, or its default is computed
        (peewee would compute it once, when it writes the SQL)."""
        fields = [model._meta.fields[name] for name in campos]
        faltan = [f.name for f in model._meta.sorted_fields
                  if not f.primary_key and f.name not in campos
                  and (callable(f.default) or (f.default is None and not f.null))]
        if faltan:
            raise ValueError(f"{model.__name__}: la inserción debe dar {', '.join(faltan)}")

        def construir(*huecos):
            return model.insert({f: h.de(f) for f, h in zip(fields, huecos)})

        return cls(construir, aridad=len(fields), model=model)

    def _compilada(self, database) -> _Compilada:
        compilada = self._compiladas.get(database)
        if compilada is None:
            query = self._construir(*(Hueco(i) for i in range(self._aridad)))
            if self._bloquear and database.for_update:  # peewee's own flag: False on SQLite
                query = query.for_update()
            if self._model is not None and database.returning_clause:
                query = query.returning(self._model._meta.primary_key)
            sql, params = database.get_sql_context().sql(query).query()
            compilada = self._compiladas[database] = _Compilada(query, sql, params)
        return compilada

    def _cursor(self, valores):
        if len(valores) != self._aridad:
            raise TypeError(f"se esperaban {self._aridad} valores, no {len(valores)}")
        database = proxy.obj
        compilada = self._compilada(database)
        params = [p if not isinstance(p, _Lugar) else
                  p.converter(valores[p.posicion]) if p.converter else valores[p.posicion]
                  for p in compilada.params]
        return compilada, database.execute_sql(compilada.sql, params)

    def filas(self, *valores) -> list:
        """The rows of a SELECT, as the query itself returns them (models, tuples or dicts)."""
        compilada, cursor = self._cursor(valores)
        return list(compilada.query._get_cursor_wrapper(cursor))  # peewee's own row conversion

    def primera(self, *valores):
        """The first row of a SELECT, or None."""
        filas = self.filas(*valores)
        return filas[0] if filas else None

    def ejecutar(self, *valores) -> int:
        """Run an UPDATE or DELETE; the number of rows it changed."""
        _, cursor = self._cursor(valores)
        return proxy.obj.rows_affected(cursor)

    def insertar(self, *valores) -> int:
        """Run an :meth:`insercion`; the new row's id."""
        if self._model is None:
            raise TypeError("insertar() es para las sentencias hechas con Sentencia.insercion")
        _, cursor = self._cursor(valores)
        return cursor.fetchone()[0] if proxy.obj.returning_clause else cursor.lastrowid
