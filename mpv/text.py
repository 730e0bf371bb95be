"""Text helpers shared by search, sorting and matching."""
from __future__ import annotations

import unicodedata


def fold(text: str) -> str:
    """Lowercase without accents: what search and Spanish-friendly sorting compare."""
    text = unicodedata.normalize("NFKD", text or "")
    return "".join(c for c in text if not unicodedata.combining(c)).lower()
