"""Prepared queries: SQL that peewee writes once per database, then runs again with new values.

peewee writes a query's SQL anew every time it runs it: 0.05–0.3 ms of Python for each query of an engine step,
where SQLite runs it in 0.003–0.01 ms (tests/bench/bench_prepared.py). Only the measured hot path keeps its queries
prepared — the engine step and the history append; everything else is plain peewee. Only peewee's public API is
used: the SQL comes from ``Database.get_sql_context()``, rows come back through ``Model.raw()``.
"""
from __future__ import annotations

import dataclasses
import inspect
import weakref
from typing import Callable

import peewee

from .db import proxy


class Param(peewee.Node):
    """The place of the ``position``-th value of a :class:`PreparedQuery`; converted as ``field`` stores it (by
    default, as the field it is compared with)."""

    def __init__(self, position: int, field: peewee.Field | None = None):
        super().__init__()
        self.position, self.field = position, field

    def of(self, field: peewee.Field) -> "Param":
        """This place, holding a value of ``field`` (a value given to INSERT or UPDATE has no field beside it)."""
        return Param(self.position, field)

    def __sql__(self, ctx):
        converter = self.field.db_value if self.field is not None else ctx.state.converter
        return ctx.value(_Slot(self.position, converter), converter=False)


@dataclasses.dataclass(frozen=True)
class _Slot:
    position: int
    converter: Callable | None


@dataclasses.dataclass(frozen=True)
class _Compiled:
    sql: str
    params: list  # a _Slot where a value goes, else the constant peewee wrote


class PreparedQuery:
    """A query on one model whose SQL peewee writes once per database, then runs again with new values.

    ``build`` gets one :class:`Param` per value (``arity`` of them, by default as many as it has parameters) and
    returns the query; with ``lock`` a SELECT takes ``FOR UPDATE`` where the backend has it. An INSERT is made
    with :meth:`insertion`. Rows come back as the model's instances (:meth:`rows`) or tuples (:meth:`tuples`),
    each column converted by its field, as peewee does for its own queries.
    """

    def __init__(self, model, build: Callable[..., peewee.Query], lock: bool = False, arity: int | None = None,
                 returns_id: bool = False):
        self.model = model
        self._build = build
        self._arity = len(inspect.signature(build).parameters) if arity is None else arity
        self._lock = lock
        self._returns_id = returns_id
        self._compiled: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()

    @classmethod
    def insertion(cls, model, *columns: str) -> "PreparedQuery":
        """``INSERT INTO model (columns…) VALUES (…)``; the columns left out get their constant default.

        :raise ValueError: a column left out has no default and may not be NULL, or its default is computed
        (peewee would compute it once, when it writes the SQL)."""
        fields = [model._meta.fields[name] for name in columns]
        missing = [f.name for f in model._meta.sorted_fields
                   if not f.primary_key and f.name not in columns
                   and (callable(f.default) or (f.default is None and not f.null))]
        if missing:
            raise ValueError(f"{model.__name__}: la inserción debe dar {', '.join(missing)}")

        def build(*params):
            return model.insert({f: p.of(f) for f, p in zip(fields, params)})

        return cls(model, build, arity=len(fields), returns_id=True)

    def _compile(self, database) -> _Compiled:
        compiled = self._compiled.get(database)
        if compiled is None:
            query = self._build(*(Param(i) for i in range(self._arity)))
            if self._lock and database.for_update:  # peewee's own flag: False on SQLite
                query = query.for_update()
            if self._returns_id and database.returning_clause:
                query = query.returning(self.model._meta.primary_key)
            sql, params = database.get_sql_context().sql(query).query()
            compiled = self._compiled[database] = _Compiled(sql, params)
        return compiled

    def _sql(self, values) -> tuple[str, list]:
        if len(values) != self._arity:
            raise TypeError(f"se esperaban {self._arity} valores, no {len(values)}")
        compiled = self._compile(proxy.obj)
        params = [p if not isinstance(p, _Slot) else
                  p.converter(values[p.position]) if p.converter else values[p.position]
                  for p in compiled.params]
        return compiled.sql, params

    def rows(self, *values) -> list:
        """The rows of a SELECT, as instances of the model."""
        sql, params = self._sql(values)
        return list(self.model.raw(sql, *params))

    def tuples(self, *values) -> list[tuple]:
        """The rows of a SELECT, as tuples."""
        sql, params = self._sql(values)
        return list(self.model.raw(sql, *params).tuples())

    def first(self, *values):
        """The first row of a SELECT, as an instance of the model, or None."""
        rows = self.rows(*values)
        return rows[0] if rows else None

    def execute(self, *values) -> int:
        """Run an UPDATE or DELETE; the number of rows it changed."""
        database = proxy.obj
        return database.rows_affected(database.execute_sql(*self._sql(values)))

    def insert(self, *values) -> int:
        """Run an :meth:`insertion`; the new row's id."""
        if not self._returns_id:
            raise TypeError("insert() es para las consultas hechas con PreparedQuery.insertion")
        database = proxy.obj
        cursor = database.execute_sql(*self._sql(values))
        return cursor.fetchone()[0] if database.returning_clause else cursor.lastrowid
