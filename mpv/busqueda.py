"""Full-text search over the register (sender, subject, document number), accent-insensitive:
SQLite FTS5 (external content, kept by triggers) or a PostgreSQL GIN index on a tsvector."""
from __future__ import annotations

import re

from peewee import SQL

from .models import Expediente

_WORD = re.compile(r"[0-9a-zñ]+")

SQLITE = [
    "CREATE VIRTUAL TABLE IF NOT EXISTS expediente_fts USING fts5(busqueda, content='expediente', "
    "content_rowid='id', tokenize='unicode61 remove_diacritics 2')",
    "CREATE TRIGGER IF NOT EXISTS expediente_fts_ai AFTER INSERT ON expediente BEGIN "
    "INSERT INTO expediente_fts(rowid, busqueda) VALUES (new.id, new.busqueda); END",
    "CREATE TRIGGER IF NOT EXISTS expediente_fts_ad AFTER DELETE ON expediente BEGIN "
    "INSERT INTO expediente_fts(expediente_fts, rowid, busqueda) VALUES ('delete', old.id, old.busqueda); END",
    "CREATE TRIGGER IF NOT EXISTS expediente_fts_au AFTER UPDATE OF busqueda ON expediente BEGIN "
    "INSERT INTO expediente_fts(expediente_fts, rowid, busqueda) VALUES ('delete', old.id, old.busqueda); "
    "INSERT INTO expediente_fts(rowid, busqueda) VALUES (new.id, new.busqueda); END",
]
POSTGRES = [
    "CREATE INDEX IF NOT EXISTS expediente_busqueda_gin ON expediente USING gin (to_tsvector('simple', busqueda))",
]


class Busqueda:
    """Filters a list query by the words of a (folded) search text, each word as a prefix."""

    def __init__(self, database):
        self._db = database

    def install(self):
        for statement in SQLITE if self._db.is_sqlite else POSTGRES:
            self._db.peewee.execute_sql(statement)

    def __call__(self, query, folded: str):
        words = _WORD.findall(folded)[:8]
        if not words:
            return query
        if self._db.is_sqlite:
            match = " ".join(f'"{w}"*' for w in words)
            return query.where(Expediente.id.in_(
                SQL("(SELECT rowid FROM expediente_fts WHERE expediente_fts MATCH ?)", (match,))))
        tsquery = " & ".join(f"{w}:*" for w in words)
        return query.where(SQL("to_tsvector('simple', busqueda) @@ to_tsquery('simple', %s)", (tsquery,)))
