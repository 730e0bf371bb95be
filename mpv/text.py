"""Text helpers shared by search, sorting, matching and display."""
from __future__ import annotations

import unicodedata


def fold(text: str) -> str:
    """Lowercase without accents: what search and Spanish-friendly sorting compare."""
    text = unicodedata.normalize("NFKD", text or "")
    return "".join(c for c in text if not unicodedata.combining(c)).lower()


def tamano(n: int) -> str:
    """A file size as people read it: «1.5 MB», «12 KB», «900 bytes»."""
    if n >= 1024 * 1024:
        return f"{n / (1024 * 1024):.1f} MB"
    if n >= 1024:
        return f"{n / 1024:.0f} KB"
    return f"{n} bytes"
