"""Password hashing (argon2id) and the rules a new password must meet."""
from __future__ import annotations

import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from zxcvbn import zxcvbn

_hasher = PasswordHasher()  # argon2id with the library's current recommended parameters

MIN_LENGTH = 12
MAX_LENGTH = 128
MIN_SCORE = 3  # zxcvbn's 0–4 estimate: 3 and up resists an offline guessing attack

# Words of this system and its users' context that make a password guessable (ASVS 6.1.2), besides
# the user's own data; zxcvbn matches them and their variations (l33t, reversed, with digits…).
CONTEXT_WORDS = ["municipalidad", "municipal", "mesa de partes", "mesadepartes", "mesa", "partes", "mpv",
                 "tramite", "tramites", "expediente", "alcaldia", "gerencia", "oficina", "peru", "lima",
                 "contraseña", "clave", "password", "admin", "usuario"]
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


# 22 symbols of 56: 22 × log2(56) ≈ 127.8 bits; 23 clear the 128 bits of ASVS V11.5.1.
GENERATED_LENGTH = 23


def generate_password(length: int = GENERATED_LENGTH) -> str:
    """A random password (≥ 128 bits from ``secrets``), without look-alike characters, for demo and reset accounts."""
    return "".join(secrets.choice(_ALPHABET) for _ in range(length))


def password_problem(password: str, *user_inputs: str) -> str | None:
    """Why ``password`` is not acceptable, in Spanish; None when it is.

    Besides the length, it must not be a common password nor easy to guess from the user's own data
    (``user_inputs``: username, name…), as zxcvbn estimates with its dictionaries of leaked passwords.
    """
    if len(password) < MIN_LENGTH:
        return f"La contraseña debe tener al menos {MIN_LENGTH} caracteres."
    if len(password) > MAX_LENGTH:
        return f"La contraseña puede tener como máximo {MAX_LENGTH} caracteres."
    # zxcvbn refuses more than 72 characters (ValueError); the first 72 of a longer passphrase are enough to judge it.
    result = zxcvbn(password[:72], user_inputs=[u for u in user_inputs if u] + CONTEXT_WORDS)
    if result["score"] < MIN_SCORE:
        return ("La contraseña es demasiado común o fácil de adivinar (por ejemplo, palabras, fechas, "
                "secuencias o su propio nombre). Use una frase de varias palabras o una combinación más larga.")
    return None
