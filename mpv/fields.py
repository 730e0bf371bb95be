"""The column type every time is stored with: aware UTC in Python, naive UTC text that sorts in the database."""
from __future__ import annotations

from datetime import datetime, timezone

import peewee as pw


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class UTCDateTimeField(pw.Field):
    """An aware UTC datetime, stored as naive UTC text that sorts in time order on every backend."""

    field_type = "DATETIME"

    def db_value(self, value):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"{self.name}: se esperaba una fecha con zona horaria")
        # isoformat, not strftime("%Y…"): strftime writes the year 99 as "99", which sorts and parses wrong.
        return value.astimezone(timezone.utc).replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")

    def python_value(self, value):
        if value is None:
            return None
        if isinstance(value, str):
            value = datetime.fromisoformat(value)
        return value.replace(tzinfo=timezone.utc)
