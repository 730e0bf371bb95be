"""Keyset pages, the one pager of every list (Trámites recibidos, the Bandeja, the audit trail): a page is read
from a cursor, the (moment, id) of the row next to it, along an index; no OFFSET, so a page costs the same at
row 50 or at row 100,000, and rows inserted meanwhile neither repeat nor drop a row of the walk."""
from __future__ import annotations

import base64
import dataclasses
from datetime import datetime, timezone

PAGE = 50


@dataclasses.dataclass
class Pagina:
    """A keyset page: its rows, and the cursors of the next and previous pages ("" when there are none)."""

    filas: list
    siguiente: str = ""
    anterior: str = ""


def encode_cursor(values) -> str:
    raw = "|".join("" if v is None else (v.isoformat() if isinstance(v, datetime) else str(v)) for v in values)
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str):
    """The (moment, id) a cursor of :func:`encode_cursor` carries; None for anything else: a cursor comes
    from the address bar, so it may be tampered with (a naive or out-of-range moment, a huge id)."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        key, ident = raw.rsplit("|", 1)
        moment, number = (datetime.fromisoformat(key) if key else None), int(ident)
        if moment is not None:
            moment = moment.astimezone(timezone.utc) if moment.tzinfo else None
    except (ValueError, UnicodeDecodeError, OverflowError):
        return None
    if (key and moment is None) or not 0 <= number < 2**63:
        return None
    return moment, number


def paginar(rows: list, limite: int, cursor: str, atras: bool, clave) -> Pagina:
    """The page of ``rows``: up to ``limite + 1`` rows read in walking order from ``cursor`` (backwards when
    ``atras``), with the cursors of its neighbours; ``clave(row)`` is a row's (moment, id) key."""
    more = len(rows) > limite
    rows = rows[:limite]
    if atras:
        rows.reverse()
    pagina = Pagina(rows)
    if rows:
        if more if not atras else bool(cursor):
            pagina.siguiente = encode_cursor(clave(rows[-1]))
        if bool(cursor) if not atras else more:
            pagina.anterior = encode_cursor(clave(rows[0]))
    return pagina
