"""Identity documents of Peruvian filers: DNI, carné de extranjería, pasaporte and RUC."""
from __future__ import annotations

import re
import unicodedata

TIPOS = {
    "DNI": "DNI",
    "CE": "Carné de extranjería",
    "PASAPORTE": "Pasaporte",
    "RUC": "RUC",
}

RUC_PREFIXES = ("10", "15", "16", "17", "20")
_RUC_WEIGHTS = (5, 4, 3, 2, 7, 6, 5, 4, 3, 2)


def ruc_check_digit(first_ten: str) -> int:
    """SUNAT's modulo-11 check digit for the first ten digits of a RUC."""
    total = sum(int(d) * w for d, w in zip(first_ten, _RUC_WEIGHTS))
    digit = 11 - total % 11
    return {10: 0, 11: 1}.get(digit, digit)


def normalizar(numero: str) -> str:
    """An identity number as MPV stores and searches it: without surrounding spaces, in upper case, its
    digits and letters in ASCII. Full-width forms (``４５８７１２３６``) become ASCII by NFKC, and the digits
    of other scripts (``٤٥٨٧``) by their value, so a number typed on any keyboard is the one an ASCII
    search finds. Anything else outside ASCII stays, for :func:`error_documento` to refuse."""
    text = unicodedata.normalize("NFKC", numero or "").strip()
    return "".join(str(unicodedata.decimal(c)) if c.isdecimal() else c for c in text).upper()


def error_documento(tipo: str, numero: str) -> str | None:
    """What is wrong with an identity document number, in Spanish; None when it is valid. Only ASCII digits
    and letters are valid: call :func:`normalizar` first to accept other scripts' digits."""
    numero = (numero or "").strip()
    if tipo not in TIPOS:
        return "Elija DNI, carné de extranjería, pasaporte o RUC."
    if not numero:
        return "Escriba el número de documento."
    if tipo == "DNI" and not re.fullmatch(r"[0-9]{8}", numero):
        return "El DNI tiene 8 dígitos."
    if tipo == "RUC":
        if not re.fullmatch(r"[0-9]{11}", numero):
            return "El RUC tiene 11 dígitos."
        if not numero.startswith(RUC_PREFIXES):
            return "El RUC debe empezar con 10, 15, 16, 17 o 20."
        if ruc_check_digit(numero[:10]) != int(numero[10]):
            return "El RUC no es válido: revise los dígitos (el dígito verificador no coincide)."
    if tipo == "CE" and not re.fullmatch(r"[A-Za-z0-9]{1,12}", numero):
        return "El carné de extranjería tiene hasta 12 letras o dígitos."
    if tipo == "PASAPORTE" and not re.fullmatch(r"[A-Za-z0-9]{5,15}", numero):
        return "El pasaporte tiene de 5 a 15 letras o dígitos."
    return None
