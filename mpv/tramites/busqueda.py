"""Full-text search over the register (sender, subject, document number), accent-insensitive:
SQLite FTS5 (external content, kept by triggers) or a PostgreSQL GIN index on a tsvector.

Every word searched is a prefix. On SQLite the FTS table also indexes one- and two-letter prefixes
(``prefix='1 2'``): without them a word like the "s" of "S.A.C." merged the postings of every token
starting with "s" (21 ms per search with 100k expedientes, 1.4 ms with them)."""
from __future__ import annotations

import re

from peewee import SQL

from ..models import Expediente

_WORD = re.compile(r"[0-9a-zñ]+")
# From this many matches on, walking the list's index and probing the matches beats fetching and
# sorting every match (100k expedientes: 3,200 matches 23 → 0.8 ms; 7 matches 0.9 → 22 ms the other way).
MUCHOS = 1000

SQLITE_FTS = ("CREATE VIRTUAL TABLE expediente_fts USING fts5(busqueda, content='expediente', "
              "content_rowid='id', tokenize='unicode61 remove_diacritics 2', prefix='1 2')")
SQLITE = [
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

    def __init__(self, database, muchos: int = MUCHOS):
        self._db = database
        self._muchos = muchos

    def install(self):
        if self._db.is_sqlite:
            self._install_fts()
        for statement in SQLITE if self._db.is_sqlite else POSTGRES:
            self._db.peewee.execute_sql(statement)

    def _install_fts(self):
        """Create the FTS table, or rebuild one made without the prefix indexes (once, from the table)."""
        row = self._db.peewee.execute_sql(
            "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'expediente_fts'").fetchone()
        if row is not None and "prefix=" in row[0]:
            return
        with self._db.write():
            if row is not None:
                self._db.peewee.execute_sql("DROP TABLE expediente_fts")
            self._db.peewee.execute_sql(SQLITE_FTS)
            self._db.peewee.execute_sql("INSERT INTO expediente_fts(expediente_fts) VALUES('rebuild')")

    def __call__(self, query, folded: str):
        words = _WORD.findall(folded)[:8]
        if not words:
            return query
        if self._db.is_sqlite:
            match = " ".join(f'"{w}"*' for w in words)
            matches = SQL("(SELECT rowid FROM expediente_fts WHERE expediente_fts MATCH ?)", (match,))
            many = self._db.peewee.execute_sql(
                "SELECT count(*) FROM (SELECT 1 FROM expediente_fts WHERE expediente_fts MATCH ? LIMIT ?)",
                (match, self._muchos)).fetchone()[0] >= self._muchos
            # With many matches, "id + 0" keeps SQLite from fetching every match by id to sort them all:
            # it walks the index of the list's order instead and stops at the page's last row.
            return query.where((Expediente.id + 0 if many else Expediente.id).in_(matches))
        tsquery = " & ".join(f"{w}:*" for w in words)
        return query.where(SQL("to_tsvector('simple', busqueda) @@ to_tsquery('simple', %s)", (tsquery,)))
