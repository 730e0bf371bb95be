"""The database connection and the write transaction every unit of work runs in.

SQLite: one connection per thread (peewee's default), WAL, and write transactions opened with
``BEGIN IMMEDIATE`` behind a process-wide lock. SQLite's busy handler sleeps, so contending
writers without that lock saw p99 near 1 s on this machine; with it, ~70 ms.
PostgreSQL: a pool that keeps one connection per thread; rows are locked with ``FOR UPDATE``.
"""
from __future__ import annotations

import contextlib
import copy
import threading
from pathlib import Path
from urllib.parse import urlparse

import peewee
from playhouse.db_url import parse as parse_url
from playhouse.pool import PooledPostgresqlDatabase

proxy = peewee.DatabaseProxy()

SQLITE_PRAGMAS = {
    "journal_mode": "wal",
    "foreign_keys": 1,
    # Legal records: FULL survives a power loss, not only an application crash.
    "synchronous": "full",
    "busy_timeout": 15000,
    "cache_size": -64000,
    "temp_store": "memory",
}


class Database:
    """The one database MPV talks to, bound to the models through :data:`proxy`."""

    def __init__(self, url: str):
        self.url = url
        scheme = urlparse(url).scheme
        self.is_sqlite = scheme.startswith("sqlite")
        if self.is_sqlite:
            # sqlite:///relative/path and sqlite:////absolute/path, as SQLAlchemy reads them.
            path = url.split("://", 1)[1].removeprefix("/")
            if path != ":memory:":
                Path(path).parent.mkdir(parents=True, exist_ok=True)
            self.peewee = peewee.SqliteDatabase(path, pragmas=SQLITE_PRAGMAS, timeout=15)
            self._write_lock = threading.RLock()
        elif scheme in ("postgres", "postgresql"):
            kwargs = parse_url(url)
            self.peewee = PooledPostgresqlDatabase(
                kwargs.pop("database"), max_connections=64, stale_timeout=600, timeout=30, **kwargs)
            self._write_lock = contextlib.nullcontext()
        else:
            raise ValueError(f"MPV_DATABASE_URL: use sqlite:///ruta o postgresql://…, no {scheme!r}")
        proxy.initialize(self.peewee)

    @contextlib.contextmanager
    def write(self):
        """One write transaction: ``BEGIN IMMEDIATE`` on SQLite (behind the process lock), plain on PostgreSQL."""
        if proxy.obj is not self.peewee:
            raise RuntimeError("Otra conexión de base de datos reemplazó a esta: un proceso MPV usa una sola base.")
        with self._write_lock:
            if self.is_sqlite:
                with self.peewee.atomic("IMMEDIATE") as tx:
                    yield tx
            else:
                with self.peewee.atomic() as tx:
                    yield tx

    def locked(self, query):
        """``query`` with ``FOR UPDATE`` where the backend has it (SQLite's write lock is already held)."""
        return query if self.is_sqlite else query.for_update()

    def claimed(self, query):
        """``query`` with ``FOR UPDATE SKIP LOCKED`` on PostgreSQL: rows another transaction holds are
        left out instead of waited for (SQLite's write lock is already held: nobody else holds a row)."""
        return query if self.is_sqlite else query.for_update(skip_locked=True)

    def can_create_tables(self) -> bool:
        """Whether this connection's role may create tables: always on SQLite; on PostgreSQL, when it may
        create in its schema (the owner may; the application's role of docs/postgresql-permisos.sql may not)."""
        if self.is_sqlite:
            return True
        row = self.peewee.execute_sql("SELECT has_schema_privilege(current_schema(), 'CREATE')").fetchone()
        return bool(row and row[0])

    def tables(self) -> set[str]:
        """The tables of the schema this connection works in (the first of its search_path on PostgreSQL)."""
        if self.is_sqlite:
            return set(self.peewee.get_tables())
        cursor = self.peewee.execute_sql(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()")
        return {name for (name,) in cursor.fetchall()}

    def columns(self, table: str) -> set[str]:
        """The columns of ``table`` in the schema this connection works in."""
        if self.is_sqlite:
            return {column.name for column in self.peewee.get_columns(table)}
        cursor = self.peewee.execute_sql(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema() "
            "AND table_name = %s", (table,))
        return {name for (name,) in cursor.fetchall()}

    def add_missing_columns(self, added: list) -> list[str]:
        """Add to existing tables the ``(model, field name)`` columns they lack (a database created by an
        older MPV); return them as «table.column». Needs the rights to alter the tables."""
        from playhouse.migrate import SchemaMigrator, migrate

        missing = self.missing_columns(added)
        if missing:
            migrator = SchemaMigrator.from_database(self.peewee)
            operations = []
            for model, name in missing:
                field = model._meta.fields[name]
                # Added as NULL-able and filled with the default; then NOT NULL where the database can say so
                # in place. SQLite cannot: peewee would rebuild the table, and dropping the old one fails on
                # the rows that point at it (sessions, history). There the model still never writes NULL.
                nullable = copy.copy(field)
                nullable.null = True
                # By its column's name: a foreign key «registrado_por» is the column «registrado_por_id».
                operations.append(migrator.add_column(model._meta.table_name, field.column_name, nullable))
                if field.default is not None:
                    operations.append(migrator.apply_default(model._meta.table_name, field.column_name, field))
                if not field.null and not self.is_sqlite:
                    operations.append(migrator.add_not_null(model._meta.table_name, field.column_name))
            with self.write():
                migrate(*operations)
        return [f"{model._meta.table_name}.{name}" for model, name in missing]

    def missing_columns(self, added: list) -> list:
        return [(model, name) for model, name in added
                if model._meta.fields[name].column_name not in self.columns(model._meta.table_name)]

    def close(self):
        if not self.peewee.is_closed():
            self.peewee.close()
        if isinstance(self.peewee, PooledPostgresqlDatabase):
            self.peewee.close_all()
