"""Password hashing (argon2id) and the rules a new password must meet."""
from __future__ import annotations

import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()  # argon2id with the library's current recommended parameters

MIN_LENGTH = 12
MAX_LENGTH = 128
_ALPHABET = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(stored_hash: str, password: str) -> tuple[bool, bool]:
    """(matches, needs a rehash with the current parameters)."""
    try:
        _hasher.verify(stored_hash, password)
    except (VerificationError, InvalidHashError):
        return False, False
    return True, _hasher.check_needs_rehash(stored_hash)


def generate_password(length: int = 16) -> str:
    """A random password, without look-alike characters, for demo and reset accounts."""
    return "".join(secrets.choice(_ALPHABET) for _ in range(length))


def password_problem(password: str) -> str | None:
    """Why ``password`` is not acceptable, in Spanish; None when it is."""
    if len(password) < MIN_LENGTH:
        return f"La contraseña debe tener al menos {MIN_LENGTH} caracteres."
    if len(password) > MAX_LENGTH:
        return f"La contraseña puede tener como máximo {MAX_LENGTH} caracteres."
    return None
